package cloudwatch

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/logshipper/logshipper/internal/plugin"
)

// pinError is a server certificate that is not the pinned one.
type pinError struct {
	host, file string
	want, got  string // SHA-256 fingerprints
}

func (e *pinError) Error() string {
	return fmt.Sprintf("the server certificate of %s changed: pinned SHA-256 %s (in %s), presented %s; "+
		"if the change is expected, delete %s to pin the new certificate on the next start",
		e.host, e.want, e.file, e.got, e.file)
}

// fingerprint is the SHA-256 of a certificate's DER bytes, as colon-separated hex.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// endpointURL is the CloudWatch Logs endpoint of a region, or the endpoint override.
func (s *Source) endpointURL(region string) (*url.URL, error) {
	ep := s.awsCfg.Endpoint
	if ep == "" {
		ep = "https://logs." + region + ".amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			ep += ".cn"
		}
	}
	return url.Parse(ep)
}

// pin makes cfg's HTTP client trust only the pinned certificate of the region's endpoint,
// fetching and saving it under data_dir first if there is none yet.
func (s *Source) pin(ctx context.Context, cfg *aws.Config, region string) error {
	u, err := s.endpointURL(region)
	if err != nil {
		return err
	}
	if u.Scheme != "https" {
		s.logger(region).Warn("acquire_server_certificate: the endpoint is not https; nothing to pin", "endpoint", u.Redacted())
		return nil
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	if s.set.DataDir == "" {
		return fmt.Errorf("acquire_server_certificate: no data_dir to keep the certificate in")
	}
	file := filepath.Join(s.set.DataDir, "certs", strings.NewReplacer(":", "_", "/", "_", "[", "", "]", "").Replace(host)+".pem")
	pinned, err := readPinned(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		der, err := s.fetchCertificate(ctx, u)
		if err != nil {
			return fmt.Errorf("acquire_server_certificate: fetching the certificate of %s: %w", host, err)
		}
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return fmt.Errorf("acquire_server_certificate: %w", err)
		}
		if err := writeFileAtomic(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
			return fmt.Errorf("acquire_server_certificate: %w", err)
		}
		pinned = der
		s.logger(region).Warn("acquired and pinned the server certificate; only it is trusted from now on",
			"host", host, "sha256", fingerprint(der), "file", file)
	case err != nil:
		// Pinning again would trust whatever answers now: stop and say what to do.
		return plugin.Fatal(fmt.Errorf("acquire_server_certificate: the pinned certificate %s cannot be read: %w (fix or delete it to pin again)", file, err))
	default:
		s.logger(region).Info("trusting only the pinned server certificate", "host", host, "sha256", fingerprint(pinned), "file", file)
	}
	bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		return fmt.Errorf("acquire_server_certificate: unexpected HTTP client %T", cfg.HTTPClient)
	}
	want := fingerprint(pinned)
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return &pinError{host: host, file: file, want: want, got: "none"}
		}
		if got := fingerprint(raw[0]); got != want {
			return &pinError{host: host, file: file, want: want, got: got}
		}
		return nil
	}
	cfg.HTTPClient = bc.WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		// The pinned certificate replaces the chain check: exactly it is trusted.
		tr.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // replaced by VerifyPeerCertificate
		tr.TLSClientConfig.VerifyPeerCertificate = verify
	})
	return nil
}

// writeFileAtomic writes b to file through a temporary file in the same directory, synced
// and renamed, so that a crash never leaves a partial pin file.
func writeFileAtomic(file string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// readPinned returns the DER bytes of the pinned certificate in file.
func readPinned(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate; delete it to pin again", file)
	}
	return blk.Bytes, nil
}

// fetchCertificate connects to u (through the configured proxy) and returns the leaf
// certificate the server presents, without judging it: trust on first use.
func (s *Source) fetchCertificate(ctx context.Context, u *url.URL) ([]byte, error) {
	var leaf []byte
	// The configured proxy, through netconf as for the SDK's client; the TLS configuration is
	// this fetch's own: it records the certificate without judging it.
	proxy, err := s.awsCfg.Proxy.Func()
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy: proxy,
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, //nolint:gosec // we only record the certificate
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) > 0 {
					leaf = cs.PeerCertificates[0].Raw
				}
				return nil
			},
		},
		TLSHandshakeTimeout: 10 * time.Second,
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.Scheme+"://"+u.Host+"/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil && leaf == nil {
		return nil, err
	}
	if resp != nil {
		resp.Body.Close()
	}
	if leaf == nil {
		return nil, errors.New("the server presented no certificate")
	}
	return leaf, nil
}
