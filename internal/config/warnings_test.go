package config_test

import (
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
)

func TestAdminWarnings(t *testing.T) {
	tests := []struct {
		listen string
		pprof  bool
		want   string // "" = no warning
	}{
		{"0.0.0.0:9870", false, ""},
		{"127.0.0.1:9870", true, ""},
		{"[::1]:9870", true, ""},
		{"localhost:9870", true, ""},
		{"", true, ""},
		{"0.0.0.0:9870", true, "serves it on every address of this machine"},
		{":9870", true, "serves it on every address of this machine"},
		{"10.1.2.3:9870", true, "serves it on 10.1.2.3"},
	}
	for _, tc := range tests {
		w := config.AdminConfig{Listen: tc.listen, PProf: tc.pprof}.Warnings()
		switch {
		case tc.want == "" && len(w) != 0:
			t.Errorf("%q pprof=%v: %q, want none", tc.listen, tc.pprof, w)
		case tc.want != "" && (len(w) != 1 || !strings.Contains(w[0], tc.want)):
			t.Errorf("%q pprof=%v: %q, want %q", tc.listen, tc.pprof, w, tc.want)
		}
	}
}

// A struct's warnings reach Config.Warnings with their path, as problems do.
func TestLoadCollectsWarnings(t *testing.T) {
	cfg, err := config.Parse([]byte("admin: {listen: \"0.0.0.0:9870\", pprof: true}\n"), "w.yaml", testRegistry(t), testResolver())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range cfg.Warnings {
		found = found || strings.HasPrefix(w, "admin: pprof: on")
	}
	if !found {
		t.Errorf("warnings %q lack the admin one", cfg.Warnings)
	}
}
