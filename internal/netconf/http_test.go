package netconf_test

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
)

// connectProxy is a CONNECT proxy on 127.0.0.1 that wants Basic credentials and counts the
// tunnels it opened.
type connectProxy struct {
	*httptest.Server
	tunnels, refused atomic.Int32
}

func newConnectProxy(t *testing.T, wantAuth string) *connectProxy {
	p := &connectProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("Proxy-Authorization") != wantAuth {
			p.refused.Add(1)
			http.Error(w, "who are you", http.StatusProxyAuthRequired)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		p.tunnels.Add(1)
		w.WriteHeader(http.StatusOK)
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() { _, _ = io.Copy(up, rw); up.Close() }()
		_, _ = io.Copy(conn, up)
		conn.Close()
	}))
	t.Cleanup(p.Close)
	return p
}

// An HTTPS server with a private CA and mutual TLS, reached through a CONNECT proxy with
// credentials: everything NewHTTP builds is used on one request.
func TestHTTPThroughConnectProxy(t *testing.T) {
	pk := newPKI(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "no client certificate", http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pk.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pk.pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	// "Basic " + base64("shipper:" + secretPW)
	proxy := newConnectProxy(t, "Basic c2hpcHBlcjpwcjB4eS1zM2NyZXQ=")

	get := func(p netconf.Proxy, tc netconf.TLS) error {
		h, err := netconf.NewHTTP(p, tc, slog.New(slog.DiscardHandler), "test")
		if err != nil {
			return err
		}
		tr := h.Transport()
		defer tr.CloseIdleConnections()
		resp, err := netconf.Client(tr, 10*time.Second).Get(srv.URL)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %s", resp.Status)
		}
		return nil
	}
	good := netconf.Proxy{URL: proxy.URL, Username: "shipper", Password: config.NewSecret(secretPW)}
	mtls := netconf.TLS{CAFile: pk.caFile, CertFile: pk.certFile, KeyFile: pk.keyFile}
	if err := get(good, mtls); err != nil {
		t.Fatal(err)
	}
	if proxy.tunnels.Load() != 1 {
		t.Fatalf("%d tunnels through the proxy, want 1", proxy.tunnels.Load())
	}
	// A wrong password: the proxy refuses, and the error does not show the password.
	bad := good
	bad.Password = config.NewSecret("wr0ng-s3cret")
	err := get(bad, mtls)
	if err == nil || proxy.refused.Load() != 1 {
		t.Fatalf("wrong password: %v (refused %d)", err, proxy.refused.Load())
	}
	if strings.Contains(err.Error(), "wr0ng-s3cret") {
		t.Fatalf("the password in %v", err)
	}
	// none goes direct.
	if err := get(netconf.Proxy{URL: "none"}, mtls); err != nil {
		t.Fatal(err)
	}
	if proxy.tunnels.Load() != 1 {
		t.Fatal("proxy none went through the proxy")
	}
	// Without ca_file the private CA is not trusted.
	if err := get(good, netconf.TLS{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted server: %v", err)
	}
}

// The client follows no redirect: the caller sees the 3xx.
func TestClientFollowsNoRedirect(t *testing.T) {
	srv := httptest.NewServer(http.RedirectHandler("http://elsewhere.invalid/", http.StatusFound))
	t.Cleanup(srv.Close)
	h, err := netconf.NewHTTP(netconf.Proxy{URL: "none"}, netconf.TLS{}, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := netconf.Client(h.Transport(), time.Second).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// Configure gives a transport built elsewhere the proxy and its own copy of the TLS settings.
func TestConfigure(t *testing.T) {
	h, err := netconf.NewHTTP(netconf.Proxy{URL: "http://p:1"}, netconf.TLS{ServerName: "x"}, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	a, b := &http.Transport{}, &http.Transport{}
	h.Configure(a)
	h.Configure(b)
	if a.Proxy == nil || a.TLSClientConfig == nil || a.TLSClientConfig.ServerName != "x" || a.TLSClientConfig == b.TLSClientConfig {
		t.Fatalf("%+v", a)
	}
}
