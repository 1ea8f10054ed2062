package cloudwatch

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// The pinned certificate is used, and a changed one stops the configuration with both
// fingerprints.
func TestPinning(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	// a TLS server in front of the same handler, whose certificate the test can swap
	a := httptest.NewUnstartedServer(w.srv.Config.Handler)
	a.StartTLS()
	defer a.Close()
	var swapped atomic.Bool
	certA := a.TLS.Certificates[0]
	certB := selfSigned(t)
	a.TLS.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		if swapped.Load() {
			return &certB, nil
		}
		return &certA, nil
	}
	a.TLS.Certificates = nil
	want := w.put("us-east-1", ctStream("us-east-1"), 3, time.Second)
	cfg := w.config("us-east-1")
	cfg.AWS = awsauth.Config{AccessKeyID: config.NewSecret(testKeyID), SecretAccessKey: config.NewSecret(testSecret), Endpoint: a.URL, Proxy: netconf.Proxy{URL: netconf.ProxyNone}}
	cfg.AcquireServerCertificate = true
	set := plugintest.Settings(t, "cw", nil)
	s, err := New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	s.tune.backoffBase = 5 * time.Millisecond
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitKeys(t, rawKey, want)
	run.Stop(t)
	files, _ := filepath.Glob(filepath.Join(set.DataDir, "certs", "*.pem"))
	if len(files) != 1 {
		t.Fatalf("pin files %v", files)
	}
	st, _ := os.Stat(files[0])
	t.Logf("pinned %s (%v)", files[0], st.Mode())

	swapped.Store(true)
	a.CloseClientConnections()
	s2, err := New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	s2.tune.backoffBase = 5 * time.Millisecond
	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	run2 := plugintest.Start(t, s2, pub2)
	err = run2.Wait(t)
	if err == nil || !plugin.IsFatal(err) || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("Run = %v; want a fatal pin error", err)
	}
	t.Logf("Run: %v", err)
	if n := len(pub2.Records()); n != 0 {
		t.Fatalf("%d records read through a changed certificate", n)
	}
}

// A pin file that cannot be read stops the configuration (pinning again would trust whatever
// answers now), and the pin file is written whole (no temporary file left next to it).
func TestUnreadablePinFileFatal(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	a := httptest.NewUnstartedServer(w.srv.Config.Handler)
	a.StartTLS()
	defer a.Close()
	cfg := w.config("us-east-1")
	cfg.AWS = awsauth.Config{AccessKeyID: config.NewSecret(testKeyID), SecretAccessKey: config.NewSecret(testSecret), Endpoint: a.URL, Proxy: netconf.Proxy{URL: netconf.ProxyNone}}
	cfg.AcquireServerCertificate = true
	set := plugintest.Settings(t, "cw", nil)
	s, err := New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := s.endpointURL("us-east-1")
	if err := s.pin(context.Background(), &aws.Config{HTTPClient: awshttp.NewBuildableClient()}, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	all, _ := filepath.Glob(filepath.Join(set.DataDir, "certs", "*"))
	if len(all) != 1 {
		t.Fatalf("files in certs/: %v; want the pin file alone", all)
	}
	if err := os.WriteFile(all[0], []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = s.pin(context.Background(), &aws.Config{HTTPClient: awshttp.NewBuildableClient()}, "us-east-1")
	if err == nil || !plugin.IsFatal(err) || !strings.Contains(err.Error(), all[0]) {
		t.Fatalf("pin with an unreadable pin file for %s: %v; want a fatal error naming the file", u.Host, err)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "attacker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
