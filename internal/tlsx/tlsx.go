// Package tlsx holds the TLS trust every plugin that dials a server shares: the system's
// certificate authorities plus those of a PEM file (a private CA, a TLS-inspecting proxy).
package tlsx

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

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
