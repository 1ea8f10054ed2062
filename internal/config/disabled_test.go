package config_test

import (
	"slices"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
)

// A disabled plugin configuration stays in the configuration; the mappings that name it do not
// run, and validate says so for each, as a warning.
func TestDisabledPlugin(t *testing.T) {
	const file = `
plugins:
  - {name: in, type: file, paths: ["./in/*.ndjson"], disabled: true}
  - {name: in2, type: file, paths: ["./in2/*.ndjson"]}
  - {name: out, type: stdout}
siem_mappings:
  - {source: in, destination: out}
  - {source: in2, destination: out}
`
	cfg, err := config.Parse([]byte(file), "d.yaml", testRegistry(t), testResolver())
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := cfg.Plugin("in"); !ok || !p.Disabled {
		t.Fatalf("plugin in: %+v, %v; want it, disabled", p, ok)
	}
	if got := cfg.ActiveMappings(); len(got) != 1 || got[0].Name != "in2->out" {
		t.Errorf("active mappings %+v; want in2->out alone", got)
	}
	for _, w := range []string{
		`siem_mappings[0] (in->out): "in" is disabled: the mapping does not run`,
		`plugin "in" (file) is disabled: it will not run`,
	} {
		if !slices.Contains(cfg.Warnings, w) {
			t.Errorf("warnings %q lack %q", cfg.Warnings, w)
		}
	}
	if len(cfg.Warnings) != 2 {
		t.Errorf("warnings %q; want the two of the disabled plugin", cfg.Warnings)
	}
}

// disabled is a boolean, on a source as on a destination.
func TestDisabledIsABoolean(t *testing.T) {
	_, err := config.Parse([]byte("plugins:\n  - {name: out, type: stdout, disabled: maybe}\n"), "d.yaml", testRegistry(t), testResolver())
	if err == nil {
		t.Fatal("disabled: maybe accepted")
	}
}
