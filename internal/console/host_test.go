package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestOnlyTheConsolesOwnHostIsAnswered(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	for _, tc := range []struct {
		name   string
		listen string
		tls    bool
		host   string
		want   int
	}{
		{"localhost", "127.0.0.1:9871", false, "localhost:9871", http.StatusOK},
		{"127.0.0.1", "127.0.0.1:9871", false, "127.0.0.1:9871", http.StatusOK},
		{"[::1]", "127.0.0.1:9871", false, "[::1]:9871", http.StatusOK},
		{"no port", "127.0.0.1:9871", false, "localhost", http.StatusOK},
		{"upper case", "127.0.0.1:9871", false, "LOCALHOST:9871", http.StatusOK},
		{"the listen address", "127.0.0.2:9871", false, "127.0.0.2:9871", http.StatusOK},
		{"a rebound name", "127.0.0.1:9871", false, "evil.example:9871", http.StatusMisdirectedRequest},
		{"a rebound name without port", "127.0.0.1:9871", false, "evil.example", http.StatusMisdirectedRequest},
		{"another loopback address", "127.0.0.1:9871", false, "127.0.0.2:9871", http.StatusMisdirectedRequest},
		{"empty", "127.0.0.1:9871", false, "", http.StatusMisdirectedRequest},
		{"any name with TLS", "0.0.0.0:9871", true, "console.example.com", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Listen = tc.listen
			if tc.tls {
				cfg.TLS = TLS{CertFile: cert, KeyFile: key}
			}
			s, err := New(cfg, newFakeBackend(), nil)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/login", nil)
			req.Host = tc.host
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("Host %q: %d, want %d", tc.host, rec.Code, tc.want)
			}
		})
	}
}
