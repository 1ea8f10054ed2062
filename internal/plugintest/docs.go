package plugintest

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
)

// CheckSampleConfig loads the configuration file at path as `logshipper validate` does, with the
// plugin types of reg (pass plugins/all.Registry() from an external test package), and fails
// the test if it has a problem or a warning. It returns the loaded configuration.
func CheckSampleConfig(t testing.TB, path string, reg *plugin.Registry) *config.Config {
	t.Helper()
	cfg, err := config.Load(path, reg, config.Resolver{Env: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("%s is not a valid configuration:\n%v", path, err)
	}
	for _, w := range cfg.Warnings {
		t.Errorf("%s: warning: %s", path, w)
	}
	return cfg
}

// CheckDocumentedOptions fails the test for every yaml key of the plugin configuration opts (a
// pointer to its struct) that the README at path does not mention as `key`.
func CheckDocumentedOptions(t testing.TB, path string, opts plugin.Config) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	typ := reflect.TypeOf(opts)
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if !strings.Contains(readme, "`"+name+"`") {
			t.Errorf("%s does not document the option `%s`", path, name)
		}
	}
}
