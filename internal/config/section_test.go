package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
)

// pool is a caller's top-level section, as internal/cluster's `cluster:` is: a secret, a nested
// section with a Validate of its own, a warning.
type pool struct {
	URLs    []string      `yaml:"urls"`
	Token   config.Secret `yaml:"token"`
	Size    int           `yaml:"size"`
	Limits  poolLimits    `yaml:"limits"`
	Verbose bool          `yaml:"verbose"`
}

type poolLimits struct {
	Max int `yaml:"max"`
}

func (p *pool) Validate() error {
	var v config.Problems
	if len(p.URLs) == 0 {
		v.Addf("urls: missing")
	}
	if p.Size != 1 && p.Size != 3 {
		v.Addf("size: %d: must be 1 or 3", p.Size)
	}
	return v.Err()
}

func (p *pool) Warnings() []string {
	if p.Verbose {
		return []string{"verbose: logs every call"}
	}
	return nil
}

func (l *poolLimits) Validate() error {
	if l.Max < 0 {
		return errors.New("max: must not be negative")
	}
	return nil
}

func newPool() any { return &pool{Size: 3} }

const sectionPlugins = `
plugins:
  - {name: in, type: file, paths: [/tmp/in.log]}
  - {name: out, type: stdout}
siem_mappings:
  - {source: in, destination: out}
`

func TestSection(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		want    *pool    // the decoded section; nil: no entry
		errs    []string // each must be in the error; none: the file loads
		notErrs []string // must not be in the error
		warn    string
	}{
		{name: "absent", yaml: sectionPlugins},
		{
			name: "defaults kept, keys decoded",
			yaml: "pool:\n  urls: [a, b]\n  limits: {max: 4}\n" + sectionPlugins,
			want: &pool{URLs: []string{"a", "b"}, Size: 3, Limits: poolLimits{Max: 4}},
		},
		{
			name: "warning with its path",
			yaml: "pool:\n  urls: [a]\n  verbose: true\n" + sectionPlugins,
			want: &pool{URLs: []string{"a"}, Size: 3, Verbose: true},
			warn: "pool: verbose: logs every call",
		},
		{
			name: "problems with paths and lines",
			yaml: "pool:\n  size: 2\n  limits:\n    max: -1\n" + sectionPlugins,
			errs: []string{"line 2: pool: urls: missing", "line 2: pool: size: 2: must be 1 or 3", "line 4: pool.limits: max: must not be negative"},
		},
		{
			name: "unknown key suggests",
			yaml: "pool:\n  urls: [a]\n  tokn: x\n" + sectionPlugins,
			errs: []string{`line 3: pool.tokn: unknown key (did you mean "token"?)`},
		},
		{
			name: "misspelt section suggests it",
			yaml: "pol:\n  urls: [a]\n" + sectionPlugins,
			errs: []string{`line 1: pol: unknown key (did you mean "pool"?)`},
		},
		{
			name:    "type error with its path, secret redacted",
			yaml:    "pool:\n  urls: [a]\n  token: ${TOKEN}\n  size: ${TOKEN}\n" + sectionPlugins,
			env:     map[string]string{"TOKEN": "s3cr3t-value"},
			errs:    []string{"line 4: pool.size: cannot use a string"},
			notErrs: []string{"s3cr3t"},
		},
		{
			name: "a broken section leaves the others checked",
			yaml: "pool:\n  size: [1]\ndata_dir: ''\n" + sectionPlugins,
			errs: []string{"pool.size: cannot use a list", "data_dir: must not be empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.yaml), "t.yaml", testRegistry(t), config.Resolver{Env: fakeEnv(tt.env)}, config.Section("pool", newPool))
			if len(tt.errs) > 0 {
				if err == nil {
					t.Fatalf("loaded; want errors %q", tt.errs)
				}
				for _, w := range tt.errs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				for _, w := range tt.notErrs {
					if strings.Contains(err.Error(), w) {
						t.Errorf("error shows %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok := cfg.Sections["pool"]
			if tt.want == nil {
				if ok {
					t.Fatalf("Sections[pool] = %+v; want no entry", got)
				}
				return
			}
			p, _ := got.(*pool)
			if p == nil || strings.Join(p.URLs, ",") != strings.Join(tt.want.URLs, ",") || p.Size != tt.want.Size || p.Limits != tt.want.Limits || p.Verbose != tt.want.Verbose {
				t.Errorf("Sections[pool] = %+v; want %+v", got, tt.want)
			}
			if tt.warn != "" && !strings.Contains(strings.Join(cfg.Warnings, "\n"), tt.warn) {
				t.Errorf("warnings %q lack %q", cfg.Warnings, tt.warn)
			}
		})
	}
}

// Without the option, the key is unknown as before.
func TestSectionNotAdded(t *testing.T) {
	_, err := config.Parse([]byte("pool:\n  urls: [a]\n"+sectionPlugins), "t.yaml", testRegistry(t), config.Resolver{Env: fakeEnv(nil)})
	if err == nil || !strings.Contains(err.Error(), "line 1: pool: unknown key") {
		t.Fatalf("err = %v; want pool an unknown key", err)
	}
}
