package netconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadCAFile(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("ca.pem", "# a comment\n"+string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("skipped")}))+string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	certs, err := ReadCAFile(good)
	if err != nil || len(certs) != 1 || certs[0].Subject.CommonName != "test CA" {
		t.Fatalf("ReadCAFile = %v, %v", certs, err)
	}
	if pool, err := SystemPoolWith(good); err != nil || pool == nil {
		t.Fatalf("SystemPoolWith = %v, %v", pool, err)
	}
	for name, content := range map[string]string{
		"empty.pem":  "not pem at all",
		"broken.pem": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")})),
	} {
		p := write(name, content)
		if _, err := SystemPoolWith(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v; want an error naming the file", name, err)
		}
	}
	if _, err := ReadCAFile(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("a missing file accepted")
	}
}
