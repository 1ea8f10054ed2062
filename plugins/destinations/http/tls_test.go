package httpdest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
)

// pki is a private CA with a server certificate for 127.0.0.1/localhost and a client one.
type pki struct {
	caFile, certFile, keyFile string // the CA; the client's certificate and key
	pool                      *x509.CertPool
	server                    tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, server bool) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if server {
			tmpl.DNSNames = []string{"localhost", "siem.internal"}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := &pki{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = write("ca.pem", "CERTIFICATE", caDER)
	sDER, sKey := leaf(2, "server", x509.ExtKeyUsageServerAuth, true)
	p.server = tls.Certificate{Certificate: [][]byte{sDER}, PrivateKey: sKey}
	cDER, cKey := leaf(3, "client", x509.ExtKeyUsageClientAuth, false)
	p.certFile = write("client.pem", "CERTIFICATE", cDER)
	kb, _ := x509.MarshalECPrivateKey(cKey)
	p.keyFile = write("client-key.pem", "EC PRIVATE KEY", kb)
	return p
}

func (p *pki) serve(t *testing.T, mtls bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mtls && len(r.TLS.PeerCertificates) == 0 {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	if mtls {
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		srv.TLS.ClientCAs = p.pool
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	plain := p.serve(t, false)
	mutual := p.serve(t, true)
	cases := []struct {
		name    string
		url     string
		tls     netconf.TLS
		wantErr string
	}{
		{"unknown CA", plain.URL, netconf.TLS{}, "tls.ca_file"},
		{"private CA", plain.URL, netconf.TLS{CAFile: p.caFile}, ""},
		{"wrong server name", plain.URL, netconf.TLS{CAFile: p.caFile, ServerName: "other.example"}, "server_name"},
		{"server name override", strings.Replace(plain.URL, "127.0.0.1", "127.0.0.1", 1), netconf.TLS{CAFile: p.caFile, ServerName: "siem.internal"}, ""},
		{"insecure", plain.URL, netconf.TLS{InsecureSkipVerify: true}, ""},
		{"mtls without a client certificate", mutual.URL, netconf.TLS{CAFile: p.caFile}, "certificate"},
		{"mtls", mutual.URL, netconf.TLS{CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDest(t, cfgFor(t, tc.url, func(c *Config) { c.TLS = tc.tls }))
			err := d.Write(t.Context(), records(2, "tls"))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Write: %v, want an error mentioning %q", err, tc.wantErr)
			}
			cerr := d.Check(t.Context())
			if (cerr == nil) != (tc.wantErr == "") {
				t.Fatalf("Check: %v", cerr)
			}
		})
	}
}

// An explicit proxy carries the requests, with its credentials; none goes direct.
func TestProxy(t *testing.T) {
	var viaProxy atomic.Int32
	var proxyAuth atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		viaProxy.Add(1)
		proxyAuth.Store(r.Header.Get("Proxy-Authorization"))
		if !r.URL.IsAbs() || r.URL.Host != "siem.invalid:9000" {
			t.Errorf("proxy got %s %s", r.Method, r.URL)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(proxy.Close)
	px := netconf.Proxy{URL: proxy.URL, Username: "puser", Password: config.NewSecret("ppass")}
	d := newDest(t, cfgFor(t, "http://siem.invalid:9000/in", func(c *Config) {
		c.Proxy = px
		c.Token = config.NewSecret("t")
	}))
	if err := d.Write(t.Context(), records(3, "p")); err != nil {
		t.Fatal(err)
	}
	if viaProxy.Load() != 1 {
		t.Fatalf("%d requests through the proxy", viaProxy.Load())
	}
	if a, _ := proxyAuth.Load().(string); a != "Basic cHVzZXI6cHBhc3M=" {
		t.Errorf("Proxy-Authorization %q", a)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", px, px, px, px); strings.Contains(s, "ppass") {
		t.Errorf("proxy prints its password: %s", s)
	}
	// Direct: the name does not resolve, and nothing reaches the proxy.
	direct := newDest(t, cfgFor(t, "http://siem.invalid:9000/in", func(c *Config) { c.Proxy = netconf.Proxy{URL: netconf.ProxyNone} }))
	if err := direct.Write(t.Context(), records(1, "d")); err == nil {
		t.Fatal("a direct write to siem.invalid succeeded")
	}
	if viaProxy.Load() != 1 {
		t.Fatal("proxy none went through the proxy")
	}
}

// TestExplainBrokenConnection: a TLS 1.3 server that refuses a missing client certificate
// often shows the client only a broken pipe or a reset; the error then says what to set.
func TestExplainBrokenConnection(t *testing.T) {
	for _, cause := range []error{os.NewSyscallError("write", syscall.EPIPE), os.NewSyscallError("read", syscall.ECONNRESET), net.ErrClosed, io.EOF} {
		errno := cause
		err := fmt.Errorf("POST https://siem: %w", &net.OpError{Op: "write", Net: "tcp", Err: cause})
		if got := explainTLS(err, true).Error(); !strings.Contains(got, "tls.cert_file") {
			t.Errorf("%v with no client certificate: %q gives no hint", errno, got)
		}
		if got := explainTLS(err, false); got != err {
			t.Errorf("%v with a client certificate: %v, want the error unchanged", errno, got)
		}
	}
}
