package netconf_test

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/netconf"
)

func TestTLSValidate(t *testing.T) {
	pk := newPKI(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		t    netconf.TLS
		want []string
	}{
		{"empty", netconf.TLS{}, nil},
		{"everything", netconf.TLS{CAFile: pk.caFile, CertFile: pk.certFile, KeyFile: pk.keyFile, ServerName: "siem.internal", MinVersion: "1.3"}, nil},
		{"insecure", netconf.TLS{InsecureSkipVerify: true, MinVersion: "1.2"}, nil},
		{"ca file missing", netconf.TLS{CAFile: missing}, []string{"ca_file:", "missing.pem"}},
		{"ca file not PEM", netconf.TLS{CAFile: notPEM}, []string{"ca_file:", "holds no PEM certificate"}},
		{"cert without key", netconf.TLS{CertFile: pk.certFile}, []string{"key_file: missing (cert_file is set"}},
		{"key without cert", netconf.TLS{KeyFile: pk.keyFile}, []string{"cert_file: missing (key_file is set"}},
		{"cert file missing", netconf.TLS{CertFile: missing, KeyFile: pk.keyFile}, []string{"cert_file, key_file:"}},
		{"key of another cert", netconf.TLS{CertFile: pk.certFile, KeyFile: pk.caKeyFile}, []string{"cert_file, key_file:"}},
		{"min version", netconf.TLS{MinVersion: "1.1"}, []string{`min_version: "1.1" is not 1.2 or 1.3`}},
		{"every problem", netconf.TLS{CAFile: missing, CertFile: pk.certFile, MinVersion: "tls13"}, []string{"ca_file:", "key_file: missing", "min_version:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.t.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %q", tc.want)
			}
			at := 0
			for _, w := range tc.want {
				i := strings.Index(err.Error()[at:], w)
				if i < 0 {
					t.Fatalf("%q lacks %q (in order)", err, w)
				}
				at += i
			}
		})
	}
}

func TestClientConfig(t *testing.T) {
	pk := newPKI(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil)).With("plugin", "p1")

	tc, err := netconf.TLS{}.ClientConfig(log, "peer")
	if err != nil || tc.MinVersion != tls.VersionTLS12 || tc.RootCAs != nil || tc.InsecureSkipVerify || len(tc.Certificates) != 0 {
		t.Fatalf("defaults: %+v, %v", tc, err)
	}
	tc, err = netconf.TLS{CAFile: pk.caFile, CertFile: pk.certFile, KeyFile: pk.keyFile, ServerName: "siem.internal", MinVersion: "1.3"}.ClientConfig(log, "peer")
	if err != nil || tc.MinVersion != tls.VersionTLS13 || tc.RootCAs == nil || tc.ServerName != "siem.internal" || len(tc.Certificates) != 1 {
		t.Fatalf("everything: %+v, %v", tc, err)
	}
	if logs.Len() != 0 {
		t.Fatalf("a warning without insecure_skip_verify: %s", logs.String())
	}
	tc, err = netconf.TLS{InsecureSkipVerify: true}.ClientConfig(log, "syslog siem:6514")
	if err != nil || !tc.InsecureSkipVerify {
		t.Fatalf("insecure: %+v, %v", tc, err)
	}
	for _, w := range []string{"level=WARN", "insecure_skip_verify", "plugin=p1", `peer="syslog siem:6514"`} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("warning %q lacks %q", logs.String(), w)
		}
	}
	if _, err := (netconf.TLS{CAFile: filepath.Join(t.TempDir(), "none.pem")}).ClientConfig(log, "p"); err == nil || !strings.HasPrefix(err.Error(), "tls.ca_file:") {
		t.Errorf("a missing ca_file: %v", err)
	}
}
