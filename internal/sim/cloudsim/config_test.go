package cloudsim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cloudsim's configuration errors read as logshipper's: line, path, a suggestion for a
// misspelt key, types in words, every problem at once.
func TestLoadReportsProblemsAsLogshipperDoes(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"misspelt key", "netskope:\n  generate:\n    rat: 5\n",
			[]string{"c.yaml: line 3: netskope.generate.rat: unknown key", `did you mean "rate"`}},
		{"wrong type", "aws:\n  lake:\n    duplicate_mode: reject\nnetskope:\n  rate_limit: fast\n",
			[]string{"c.yaml: line 5: netskope.rate_limit: cannot use a string `fast` as a whole number"}},
		{"every problem", "seed: x\nadmin:\n  listn: \":0\"\n",
			[]string{"line 1: seed: cannot use a string `x` as a whole number", "line 3: admin.listn: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(p)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
