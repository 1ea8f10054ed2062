package netconf_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/netconf"
)

func TestCleartextWarning(t *testing.T) {
	tests := []struct {
		url  string
		want string // "" = no warning
	}{
		{"https://tenant.example.com", ""},
		{"http://127.0.0.1:8080/x", ""},
		{"http://[::1]:8080/x", ""},
		{"http://localhost:8080", ""},
		{"http://tenant.example.com", "api_token is sent over plain http to tenant.example.com"},
		{"http://10.0.0.5:8088/services/collector", "to 10.0.0.5:8088"},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		got := netconf.CleartextWarning(u, "api_token")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.url, got, tc.want)
		}
	}
}

func TestTLSWarnings(t *testing.T) {
	if w := (netconf.TLS{}).Warnings(); len(w) != 0 {
		t.Errorf("verification on: %q", w)
	}
	w := netconf.TLS{InsecureSkipVerify: true}.Warnings()
	if len(w) != 1 || !strings.HasPrefix(w[0], "insecure_skip_verify: ") {
		t.Errorf("verification off: %q", w)
	}
}
