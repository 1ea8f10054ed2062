package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/config"
)

// secretText has characters that %q escapes, so a quoted copy differs from the value.
const secretText = `s3cr3t"T0ken\with-quote`

// assertHidden fails if out holds the secret, its quoted form, or any six characters of it in a
// row (a cut or partly replaced copy).
func assertHidden(t *testing.T, what, out string) {
	t.Helper()
	q := strconv.Quote(secretText)
	for _, s := range []string{secretText, q[1 : len(q)-1]} {
		for i := 0; i+6 <= len(s); i++ {
			if strings.Contains(out, s[i:i+6]) {
				t.Errorf("%s shows %q of the secret:\n%s", what, s[i:i+6], out)
				return
			}
		}
	}
}

// loadSecret loads a configuration whose vault token comes from ${file:token.txt}.
func loadSecret(t *testing.T) *vaultConfig {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte(secretText+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`
plugins:
  - {name: in, type: file, paths: [x]}
  - name: v
    type: vault
    endpoint: https://vault.example
    token: ${file:token.txt}
siem_mappings: [{source: in, destination: v}]
`), "s.yaml", testRegistry(t), config.Resolver{Env: fakeEnv(nil), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cfg.Plugin("v")
	return p.Options.(*vaultConfig)
}

func TestSecretValue(t *testing.T) {
	v := loadSecret(t)
	if v.Token.Value() != secretText || !v.Token.IsSet() {
		t.Fatalf("Value() = %q, IsSet %v", v.Token.Value(), v.Token.IsSet())
	}
	s := config.NewSecret("abc")
	if s.Value() != "abc" || !s.IsSet() || s.String() != "[redacted]" {
		t.Errorf("NewSecret: %q %v %q", s.Value(), s.IsSet(), s.String())
	}
	var zero config.Secret
	if zero.IsSet() || zero.String() != "" || zero.Value() != "" {
		t.Errorf("zero secret: %v %q", zero.IsSet(), zero.String())
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	v := loadSecret(t)
	type wrapper struct {
		Name   string
		Config vaultConfig
		Ptr    *vaultConfig
		Any    any
	}
	values := map[string]any{
		"pointer":  v,
		"struct":   *v,
		"secret":   v.Token,
		"&secret":  &v.Token,
		"wrapper":  wrapper{Name: "w", Config: *v, Ptr: v, Any: v.Token},
		"slice":    []config.Secret{v.Token},
		"map":      map[string]config.Secret{"k": v.Token},
		"anyslice": []any{v.Token, *v},
		// %s of a plugin reaches the options through a pointer with a verb that does not fit
		// it: fmt then prints without calling any method.
		"plugin": &config.Plugin{Name: "v", Options: v},
		"config": &config.Config{Plugins: []*config.Plugin{{Name: "v", Options: v}}},
	}
	for name, val := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			assertHidden(t, name+" "+verb, fmt.Sprintf(verb, val))
		}
		assertHidden(t, name+" Sprint", fmt.Sprint(val))
		assertHidden(t, name+" Sprintln", fmt.Sprintln(val))

		b, err := json.Marshal(val)
		if err != nil {
			t.Errorf("%s: json: %v", name, err)
		}
		assertHidden(t, name+" json", string(b))

		y, err := yaml.Marshal(val)
		if err != nil {
			t.Errorf("%s: yaml: %v", name, err)
		}
		assertHidden(t, name+" yaml", string(y))

		for _, h := range []struct {
			name string
			new  func(*bytes.Buffer) slog.Handler
		}{
			{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
			{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		} {
			var buf bytes.Buffer
			log := slog.New(h.new(&buf))
			log.Info("configuration", "value", val)
			log.Info("configuration", slog.Any("any", val), slog.Group("g", "value", val))
			log.With("value", val).Info("with")
			if buf.Len() == 0 {
				t.Fatalf("slog %s wrote nothing", h.name)
			}
			assertHidden(t, name+" slog "+h.name, buf.String())
		}
	}

	// What the secret does print.
	if got := fmt.Sprintf("%v|%s|%q|%#v", v.Token, v.Token, v.Token, v.Token); got != `[redacted]|[redacted]|[redacted]|[redacted]` {
		t.Errorf("verbs: %s", got)
	}
	if got := v.Token.GoString(); got != `config.Secret{"[redacted]"}` {
		t.Errorf("GoString() = %s", got)
	}
	if b, _ := json.Marshal(v); !strings.Contains(string(b), `"Token":"[redacted]"`) {
		t.Errorf("json: %s", b)
	}
	if y, _ := yaml.Marshal(v); !strings.Contains(string(y), "token: '[redacted]'") {
		t.Errorf("yaml: %s", y)
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "token", v.Token)
	if !strings.Contains(buf.String(), "token=[redacted]") {
		t.Errorf("slog: %s", buf.String())
	}
}

// Values interpolated into the file are hidden in the loader's messages, whatever the message:
// a type error (which the decoder cuts to seven characters), a validation message quoting it
// with %q, a size error, a name that appears in every path.
func TestLoadErrorsHideInterpolatedValues(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token.txt"), []byte(secretText+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"TOKEN":  secretText,
		"PREFIX": secretText[:4], // a short value that is part of the secret
	}
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"type error", `
plugins:
  - name: v
    type: vault
    endpoint: https://x
    token: ${file:token.txt}
    retries: ${file:token.txt}
`, []string{"line 7: plugins[0] (v): retries: cannot use a string `[redacted]` as a whole number"}},
		{"type error on a value with a prefix", `
plugins:
  - name: v
    type: vault
    endpoint: https://x
    token: x
    retries: ab${TOKEN}
`, []string{"line 7: plugins[0] (v): retries: cannot use a string `[redacted]` as a whole number"}},
		{"validation message with %q", `
data_dir: /d/${PREFIX}
plugins:
  - name: out
    type: stdout
    stream: ${TOKEN}
`, []string{`plugins[0] (out): stream: "[redacted]" is not one of stdout, stderr`}},
		{"size", `
plugins:
  - name: out
    type: stdout
    batch: {max_bytes: "${TOKEN}"}
`, []string{`plugins[0] (out): batch.max_bytes: "[redacted]" is not a size`}},
		{"in the plugin's name", `
plugins:
  - name: ${TOKEN}
    type: stdout
`, []string{`plugins[0] ([redacted]): name: "[redacted]" must be`}},
		{"secret given a list", `
plugins:
  - name: v
    type: vault
    endpoint: https://x
    token: [a, b]
`, []string{"line 6: plugins[0] (v): token: a secret must be a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.doc), "s.yaml", testRegistry(t), config.Resolver{Env: fakeEnv(env), Dir: dir})
			if err == nil {
				t.Fatal("no error")
			}
			assertHidden(t, "error", err.Error())
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
		})
	}
}

// A value of three characters or less is not hidden: it would hide too much of every message.
func TestLoadErrorsShowShortValues(t *testing.T) {
	_, err := config.Parse([]byte("plugins:\n  - {name: out, type: stdout, workers: '${W}'}\n"), "s.yaml", testRegistry(t),
		config.Resolver{Env: fakeEnv(map[string]string{"W": "abc"})})
	if err == nil || !strings.Contains(err.Error(), "cannot use a string `abc` as a whole number") {
		t.Fatalf("err = %v", err)
	}
}
