package netconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"

	"github.com/logshipper/logshipper/internal/config"
)

// TLS is the `tls` section: how a plugin checks the server it dials and, for mutual TLS, the
// certificate it shows.
type TLS struct {
	// CAFile is a PEM file of certificates trusted besides the system's (a private CA, a
	// TLS-inspecting proxy's).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate and its key (mutual TLS); both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name the server's certificate must carry (and the SNI); empty: the
	// host of the address dialled.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any server certificate. Tests only: anyone on the path can then
	// read and change the traffic. ClientConfig logs a warning when it is on.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// MinVersion is the lowest TLS version accepted: "1.2" (empty: the default) or "1.3".
	MinVersion string `yaml:"min_version"`
}

var _ config.Validator = TLS{}

// DefaultMinVersion is the TLS version used when min_version is empty.
const DefaultMinVersion = "1.2"

var tlsVersions = map[string]uint16{"": tls.VersionTLS12, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// IsZero reports whether no key of the section is set.
func (t TLS) IsZero() bool { return t == TLS{} }

// Validate implements config.Validator; each problem starts with its key below tls.
func (t TLS) Validate() error {
	var p config.Problems
	if t.CAFile != "" {
		if _, err := ReadCAFile(t.CAFile); err != nil {
			p.Addf("ca_file: %v", err)
		}
	}
	CheckKeyPair(&p, t.CertFile, t.KeyFile, t.MinVersion)
	return p.Err()
}

// CheckKeyPair adds to p the problems of a certificate and key given as cert_file and
// key_file (both or neither, loadable as a pair) and of min_version: the checks every TLS
// section makes, the clients' (TLS) and the console's server.
func CheckKeyPair(p *config.Problems, certFile, keyFile, minVersion string) {
	switch {
	case certFile != "" && keyFile == "":
		p.Addf("key_file: missing (cert_file is set; give both or neither)")
	case keyFile != "" && certFile == "":
		p.Addf("cert_file: missing (key_file is set; give both or neither)")
	case certFile != "":
		if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			p.Addf("cert_file, key_file: %v", err)
		}
	}
	if _, ok := TLSVersion(minVersion); !ok {
		p.Addf("min_version: %q is not 1.2 or 1.3", minVersion)
	}
}

// TLSVersion is the TLS version of a min_version setting: "" and "1.2" are TLS 1.2, "1.3" is
// TLS 1.3; ok is false for anything else.
func TLSVersion(minVersion string) (v uint16, ok bool) {
	v, ok = tlsVersions[minVersion]
	return v, ok
}

var _ config.Warner = TLS{}

// ClientConfig builds the client's TLS configuration: the system's CAs plus ca_file, the client
// certificate, server_name and min_version. When insecure_skip_verify is on it logs a warning
// on log (which carries the plugin's name); what names the peer goes in peer ("tenant
// https://..."), for that warning.
func (t TLS) ClientConfig(log *slog.Logger, peer string) (*tls.Config, error) {
	v, ok := tlsVersions[t.MinVersion]
	if !ok {
		return nil, fmt.Errorf("tls.min_version: %q is not 1.2 or 1.3", t.MinVersion)
	}
	tc := &tls.Config{MinVersion: v, ServerName: t.ServerName}
	if t.CAFile != "" {
		pool, err := SystemPoolWith(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file, tls.key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	if t.InsecureSkipVerify {
		if log == nil {
			log = slog.Default()
		}
		log.Warn("TLS CERTIFICATE VERIFICATION IS OFF (tls.insecure_skip_verify): anyone on the network path "+
			"can read and change the traffic, credentials included. Trust a private CA with tls.ca_file instead; "+
			"never run like this in production.", "peer", peer)
		tc.InsecureSkipVerify = true //nolint:gosec // asked for, and warned about
	}
	return tc, nil
}

// ReadCAFile returns the certificates of a PEM file; a file without one is an error naming it.
func ReadCAFile(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return certs, nil
}

// SystemPoolWith returns the system's certificate pool (an empty one where the system has
// none) with the certificates of the PEM file at path added.
func SystemPoolWith(path string) (*x509.CertPool, error) {
	certs, err := ReadCAFile(path)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}
