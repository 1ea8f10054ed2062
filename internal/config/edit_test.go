package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/plugins/all"
)

// editor returns an Editor of a copy of testdata/edit/base.yaml, with the file's mode.
func editor(t *testing.T, mode os.FileMode) config.Editor {
	t.Helper()
	data, err := os.ReadFile("testdata/edit/base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "logshipper.yaml")
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TENANT": "https://acme.goskope.com", "TOKEN": "s3cret-token"}
	return config.Editor{
		Path:     path,
		Registry: all.Registry(),
		Resolver: config.Resolver{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }},
	}
}

// Each edit changes its entry and keeps the rest of the file: its comments, order and style
// (the golden files).
func TestEditorGolden(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(e config.Editor) (*config.Config, error)
		check func(t *testing.T, cfg *config.Config)
		// dropped is the comment the edit removes with its entry.
		dropped string
	}{
		{
			name: "edit-source",
			// The tenant given is the value ${TENANT} resolves to, and the token is empty, as the
			// console sends a secret it does not show: both stay as written.
			edit: func(e config.Editor) (*config.Config, error) {
				return e.SetPlugin("acme", map[string]any{
					"name": "acme", "type": "netskope", "tenant": "https://acme.goskope.com", "api_token": "",
					"alert_types": []any{"dlp", "malware", "uba"}, "start": "-24h", "max_backoff": "30s",
				})
			},
			check: func(t *testing.T, cfg *config.Config) {
				p, _ := cfg.Plugin("acme")
				if got := reflect.ValueOf(p.Options).Elem().FieldByName("APIToken").Interface().(config.Secret).Value(); got != "s3cret-token" {
					t.Errorf("api_token = %q; want the file's", got)
				}
			},
		},
		{
			name: "edit-destination-with-merge-key",
			// workers and retry are the values the merged anchor gives: not written again.
			edit: func(e config.Editor) (*config.Config, error) {
				return e.SetPlugin("archive", map[string]any{
					"name": "archive", "type": "file", "kind": "destination", "path": "./archive-2.ndjson",
					"workers": 2, "retry": map[string]any{"initial_interval": "1s", "max_interval": "1m"},
				})
			},
			check: func(t *testing.T, cfg *config.Config) {
				p, _ := cfg.Plugin("archive")
				if p.Workers != 2 {
					t.Errorf("workers = %d; want 2, from the anchor", p.Workers)
				}
			},
		},
		{
			name: "add-plugin-and-mapping",
			edit: func(e config.Editor) (*config.Config, error) {
				// A file plugin without kind is told a destination by the mapping added with it.
				return e.Apply(
					config.SetPlugin("", map[string]any{
						"name": "copy", "type": "file", "path": "./copy.ndjson", "batch": map[string]any{"max_records": 10},
					}),
					config.SetMapping("", config.RouteConfig{Source: "local", Destination: "copy"}))
			},
			check: func(t *testing.T, cfg *config.Config) {
				if n := len(cfg.SIEMMappings); n != 3 || cfg.SIEMMappings[2].Name != "local->copy" {
					t.Errorf("mappings %+v; want local->copy added", cfg.SIEMMappings)
				}
			},
		},
		{
			name: "edit-mapping",
			edit: func(e config.Editor) (*config.Config, error) {
				return e.SetMapping("acme->archive", config.RouteConfig{Source: "acme", Destination: "archive", Rule: "dlp-only"})
			},
		},
		{
			name: "set-rule",
			// The rule's comment stays; the expr becomes a CE filter, written as its JSON text.
			edit: func(e config.Editor) (*config.Config, error) {
				return e.Apply(config.SetRule("dlp-only", config.RuleConfig{Name: "dlp-only", Description: "DLP alerts",
					Filter: "{\"alert_type\": {\"$eq\": \"dlp\"},\n \"severity\": {\"$in\": [\"high\", \"critical\"]}}"}))
			},
			check: func(t *testing.T, cfg *config.Config) {
				if r, ok := cfg.Rules.Get("dlp-only"); !ok || r.MatchesAll() {
					t.Errorf("rule dlp-only = %v, %v; want the filter compiled", r, ok)
				}
			},
		},
		{
			name: "add-rule",
			edit: func(e config.Editor) (*config.Config, error) {
				return e.Apply(config.SetRule("", config.RuleConfig{Name: "malware", Expr: `alert_type == "malware"`}))
			},
			check: func(t *testing.T, cfg *config.Config) {
				if _, ok := cfg.Rules.Get("malware"); !ok {
					t.Errorf("rule malware not added: %v", cfg.Rules.Names())
				}
			},
		},
		{
			name: "rename-rule-and-plugin",
			// The mappings follow both renames; the unnamed mapping's name follows its source.
			edit: func(e config.Editor) (*config.Config, error) {
				return e.Apply(
					config.SetRule("dlp-only", config.RuleConfig{Name: "dlp", Expr: `alert_type == "dlp"`}),
					config.RenameRule("dlp-only", "dlp"),
					config.SetPlugin("acme", map[string]any{
						"name": "acme-prod", "type": "netskope", "tenant": "https://acme.goskope.com",
						"alert_types": []any{"dlp", "malware"}, "start": "-24h",
					}),
					config.RenamePlugin("acme", "acme-prod"))
			},
			check: func(t *testing.T, cfg *config.Config) {
				if got := cfg.SIEMMappings[0].Name; got != "acme-prod->archive" {
					t.Errorf("mapping name %q; want acme-prod->archive", got)
				}
				if got := cfg.SIEMMappings[1].Rule; got != "dlp" {
					t.Errorf("mapping rule %q; want dlp", got)
				}
			},
		},
		{
			name: "disable-plugin",
			edit: func(e config.Editor) (*config.Config, error) {
				return e.Apply(config.SetPluginDisabled("local", true), config.SetPluginDisabled("acme", false))
			},
			check: func(t *testing.T, cfg *config.Config) {
				if p, _ := cfg.Plugin("local"); !p.Disabled {
					t.Errorf("local not disabled")
				}
				if got := cfg.ActiveMappings(); len(got) != 1 || got[0].Source != "acme" {
					t.Errorf("active mappings %+v; want acme's alone", got)
				}
			},
		},
		{
			name:    "delete-rule-used-by-none",
			dropped: "# CE's rule 12",
			edit: func(e config.Editor) (*config.Config, error) {
				return e.Apply(config.SetMapping("local-archive", config.RouteConfig{Name: "local-archive", Source: "local", Destination: "archive"}),
					config.DeleteRule("dlp-only"))
			},
			check: func(t *testing.T, cfg *config.Config) {
				if len(cfg.BusinessRules) != 0 {
					t.Errorf("rules %+v; want none", cfg.BusinessRules)
				}
			},
		},
		{
			name: "delete-mapping-and-plugin",
			edit: func(e config.Editor) (*config.Config, error) {
				return e.Apply(config.DeleteMapping("local-archive"), config.DeletePlugin("local"))
			},
			check: func(t *testing.T, cfg *config.Config) {
				if _, ok := cfg.Plugin("local"); ok || len(cfg.SIEMMappings) != 1 {
					t.Errorf("local or its mapping is still there")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := editor(t, 0o640)
			cfg, err := tt.edit(e)
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, cfg)
			}
			got, err := os.ReadFile(e.Path)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "edit", tt.name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the file after the edit differs from %s (go test -run TestEditorGolden -update rewrites it):\n%s", golden, got)
			}
			for _, c := range []string{"# logshipper: the production configuration.", "# from the environment", "# CE's rule 12", "${TOKEN}"} {
				if c != tt.dropped && !bytes.Contains(got, []byte(c)) {
					t.Errorf("%q lost", c)
				}
			}
			if fi, err := os.Stat(e.Path); err != nil || fi.Mode().Perm() != 0o640 {
				t.Errorf("mode after the edit: %v, %v; want 0640 kept", fi.Mode().Perm(), err)
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(e.Path), ".*tmp*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// An edit whose result has a problem is refused as Load refuses the file, and the file is
// left as it was.
func TestEditorRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(e config.Editor) (*config.Config, error)
		want string
	}{
		{name: "a plugin a mapping uses", edit: func(e config.Editor) (*config.Config, error) { return e.DeletePlugin("local") },
			want: `source: no plugin configuration is named "local"`},
		{name: "an unknown option", edit: func(e config.Editor) (*config.Config, error) {
			return e.SetPlugin("local", map[string]any{"name": "local", "type": "file", "paths": []any{"./in/*.ndjson"}, "folow": true})
		}, want: `folow: unknown key (did you mean "follow"?)`},
		{name: "a value of the wrong type", edit: func(e config.Editor) (*config.Config, error) {
			return e.SetPlugin("local", map[string]any{"name": "local", "type": "file", "paths": []any{"./in/*.ndjson"}, "follow": "sometimes"})
		}, want: "cannot use a string `sometimes` as true or false"},
		{name: "a plugin alone whose kind only a mapping tells", edit: func(e config.Editor) (*config.Config, error) {
			return e.SetPlugin("", map[string]any{"name": "copy", "type": "file", "path": "./copy.ndjson"})
		}, want: `kind: type "file" is both a source and a destination`},
		{name: "a mapping to nothing", edit: func(e config.Editor) (*config.Config, error) {
			return e.SetMapping("", config.RouteConfig{Source: "local", Destination: "nowhere"})
		}, want: `destination: no plugin configuration is named "nowhere"`},
		{name: "no such mapping", edit: func(e config.Editor) (*config.Config, error) { return e.DeleteMapping("nope") },
			want: `no mapping is named "nope"`},
		{name: "a rule a mapping uses", edit: func(e config.Editor) (*config.Config, error) { return e.Apply(config.DeleteRule("dlp-only")) },
			want: `rule: no business rule is named "dlp-only"`},
		{name: "a rule that does not compile", edit: func(e config.Editor) (*config.Config, error) {
			return e.Apply(config.SetRule("", config.RuleConfig{Name: "bad", Filter: `{"severity": {"$nope": 1}}`}))
		}, want: `business_rules[1] (bad): filter:`},
		{name: "disable no such plugin", edit: func(e config.Editor) (*config.Config, error) {
			return e.Apply(config.SetPluginDisabled("nope", true))
		}, want: `no entry is named "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := editor(t, 0o600)
			before, _ := os.ReadFile(e.Path)
			_, err := tt.edit(e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want one saying %q", err, tt.want)
			}
			missing := strings.Contains(tt.want, "is named \"nope\"")
			if missing && !errors.Is(err, config.ErrNoEntry) {
				t.Errorf("error %v; want it to be config.ErrNoEntry", err)
			}
			var ce *config.Error
			if strings.Contains(tt.want, ":") && !missing && !errors.As(err, &ce) {
				t.Errorf("error %T; want a *config.Error as Load gives", err)
			}
			after, _ := os.ReadFile(e.Path)
			if !bytes.Equal(before, after) {
				t.Errorf("the file changed though the edit was refused:\n%s", after)
			}
			entries, _ := os.ReadDir(filepath.Dir(e.Path))
			if names := dirNames(entries); !slices.Equal(names, []string{"logshipper.yaml"}) {
				t.Errorf("directory holds %v; want the file alone", names)
			}
		})
	}
}

func dirNames(es []os.DirEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// Check makes the edits and checks their result as Apply does, and writes nothing.
func TestEditorCheckWritesNothing(t *testing.T) {
	e := editor(t, 0o600)
	before, _ := os.ReadFile(e.Path)
	cfg, err := e.Check(config.SetPluginDisabled("local", true))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := cfg.Plugin("local"); !p.Disabled {
		t.Errorf("the configuration checked does not have the edit")
	}
	if _, err := e.Check(config.DeletePlugin("local")); err == nil {
		t.Errorf("Check of an invalid edit: no error")
	}
	after, _ := os.ReadFile(e.Path)
	if !bytes.Equal(before, after) {
		t.Errorf("Check changed the file:\n%s", after)
	}
}

// PluginEntries reads what the file writes: references as written, merge keys expanded.
func TestEditorPluginEntries(t *testing.T) {
	e := editor(t, 0o600)
	got, err := e.PluginEntries()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries; want 3", len(got))
	}
	if got[0].Name != "acme" || got[0].Values["tenant"] != "${TENANT}" || got[0].Values["api_token"] != "${TOKEN}" {
		t.Errorf("acme = %+v; want the references as written", got[0])
	}
	if got[1].Kind != "destination" || got[1].Values["workers"] != 2 {
		t.Errorf("archive = %+v; want kind destination and workers 2 from the anchor", got[1])
	}
}
