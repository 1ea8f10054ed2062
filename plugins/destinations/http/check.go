package httpdest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
)

// Check implements plugin.Checker for `validate --check`. It sends no record.
//
// In splunk_hec mode it asks GET <base>/services/collector/health whether HEC takes data, then
// POSTs an empty body to the event endpoint with the token: HEC answers "No data" (code 5) to
// a token it accepts and codes 1-4 to one it does not.
//
// In http mode it sends OPTIONS to the url with the configured headers and credentials, through
// the proxy: any answer proves the name resolves, the proxy and TLS (the server's certificate,
// a client certificate) work; 401/403/407 say the credentials were refused. Most ingest
// endpoints answer OPTIONS with 2xx, 204 or 405; each counts as reachable.
func (d *Destination) Check(ctx context.Context) error {
	if d.cfg.Mode == ModeSplunkHEC {
		return d.checkHEC(ctx)
	}
	status, hdr, body, err := d.do(ctx, http.MethodOptions, d.url, nil)
	if err != nil {
		return err
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired:
		return d.class.classify(status, hdr, body, time.Now())
	}
	if status >= 300 && status < 400 {
		return d.class.classify(status, hdr, body, time.Now())
	}
	d.log.Info("check: the endpoint answered", "url", d.safeURL, "method", "OPTIONS", "status", status)
	return nil
}

func (d *Destination) checkHEC(ctx context.Context) error {
	u, _ := hecURL(d.cfg.URL) // validated
	health := hecHealthURL(u).String()
	status, hdr, body, err := d.do(ctx, http.MethodGet, health, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("HEC health %s: %w", redactURL(hecHealthURL(u)), d.class.statusError(status, body))
	}
	status, hdr, body, err = d.do(ctx, http.MethodPost, d.url, []byte{})
	if err != nil {
		return err
	}
	var a hecAnswer
	switch cerr := d.class.classify(status, hdr, body, time.Now()); {
	case cerr == nil:
		return nil
	case plugin.IsFatal(cerr):
		return cerr
	case jsonCode(body, &a) && *a.Code == 5: // "No data": the token was accepted
		return nil
	default:
		return fmt.Errorf("HEC did not take an empty request as expected: %w", cerr)
	}
}

// do makes one request with the configured headers and reads the answer; the error names the
// URL and, for TLS, what to change.
func (d *Destination) do(ctx context.Context, method, target string, payload []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = strings.NewReader(string(payload))
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = d.header.Clone()
	req.Header.Del("Content-Encoding") // the check's bodies are empty, not gzip
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, nil, explainTLS(fmt.Errorf("%s %s: %w", method, d.safeURL, unwrapURLError(err)), d.maybeNeedsCert())
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, resp.Header, body, nil
}

// explainTLS adds what to change to certificate errors. maybeNeedsCert says the url is https
// and no client certificate is configured: a connection the server breaks then (TLS 1.3
// servers refuse a missing client certificate after the handshake, so the client often sees
// only a broken pipe, a reset, a closed connection or an early EOF) gets a hint too.
func explainTLS(err error, maybeNeedsCert bool) error {
	var (
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		ci  x509.CertificateInvalidError
		rec tls.RecordHeaderError
		ve  *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &ua):
		return fmt.Errorf("%w: the server's certificate is not signed by a CA this machine trusts; add the CA to tls.ca_file", err)
	case errors.As(err, &hn):
		return fmt.Errorf("%w: the certificate is not for this host name; fix url or set tls.server_name", err)
	case errors.As(err, &ci):
		return fmt.Errorf("%w: the server's certificate is not valid (expired or not yet valid?)", err)
	case errors.As(err, &rec):
		return fmt.Errorf("%w: the server does not speak TLS; use an http:// url", err)
	case errors.As(err, &ve):
		return fmt.Errorf("%w: check tls.ca_file and tls.server_name", err)
	case strings.Contains(err.Error(), "certificate required"), strings.Contains(err.Error(), "bad certificate"):
		return fmt.Errorf("%w: the server wants a client certificate it trusts; check tls.cert_file and tls.key_file", err)
	case maybeNeedsCert && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		return fmt.Errorf("%w: the server closed the connection; if it requires a client certificate, set tls.cert_file and tls.key_file", err)
	}
	return err
}

// maybeNeedsCert: https without a client certificate (see explainTLS).
func (d *Destination) maybeNeedsCert() bool {
	return strings.HasPrefix(d.cfg.URL, "https://") && d.cfg.TLS.CertFile == ""
}
