package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	filesrc "github.com/logshipper/logshipper/plugins/sources/file"
)

func TestLoadInterpolated(t *testing.T) {
	cfg := loadGood(t, "interpolated.yaml", goldenEnv)
	if cfg.DataDir != "/data" {
		t.Errorf("DataDir = %q", cfg.DataDir)
	}
	if cfg.Log.Level != "warn" { // EMPTY_LEVEL is set but empty: the default
		t.Errorf("Level = %q", cfg.Log.Level)
	}
	if cfg.Log.Format != "json" { // UNSET_FORMAT is not set: the default
		t.Errorf("Format = %q", cfg.Log.Format)
	}
	if cfg.Admin.Listen != "127.0.0.1:9000" {
		t.Errorf("Listen = %q", cfg.Admin.Listen)
	}
	paths := mustPlugin(t, cfg, "in").Options.(*filesrc.Config).Paths
	want := []string{"${literal}/*.log", "a: x\n- y", "cost: $5 and end"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
	v := mustPlugin(t, cfg, "vault").Options.(*vaultConfig)
	if v.Endpoint != "https://vault.example/v1" {
		t.Errorf("endpoint = %q", v.Endpoint)
	}
	// Read relative to the configuration's folder; the trailing "\r\n\n" is trimmed.
	if v.Token.Value() != "tok-from-file" {
		t.Errorf("token = %q", v.Token.Value())
	}
}

// parseValue puts raw (YAML text) as a business rule's description, the one free-text key, and
// returns what it decodes to.
func parseValue(t *testing.T, raw string, res config.Resolver) (string, error) {
	t.Helper()
	doc := "business_rules:\n  - name: r\n    expr: 'true'\n    description: " + raw + "\n"
	cfg, err := config.Parse([]byte(doc), "v.yaml", testRegistry(t), res)
	if err != nil {
		return "", err
	}
	return cfg.BusinessRules[0].Description, nil
}

func TestInterpolation(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("from a file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.txt"), make([]byte, 1<<20+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "crlf.txt"), []byte("windows\r\n\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inner.txt"), []byte("  keeps spaces \nand lines\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(t.TempDir(), "abs.txt")
	if err := os.WriteFile(abs, []byte("absolute"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"A":      "alpha",
		"B":      "beta",
		"EMPTY":  "",
		"NUM":    "5",
		"INJECT": "key: x\n- y\n{z: 1}",
		"DOLLAR": "${B}", // substituted values are not expanded again
		"lower":  "ok",
	}
	res := config.Resolver{Env: fakeEnv(env), Dir: dir}
	tests := []struct {
		name, raw, want string
		wantErr         string
	}{
		{"variable", "${A}", "alpha", ""},
		{"inside text", "pre-${A}-post", "pre-alpha-post", ""},
		{"two", "${A}${B}", "alphabeta", ""},
		{"lower-case name", "${lower}", "ok", ""},
		{"quoted", `"${A}"`, "alpha", ""},
		{"default when unset", "${UNSET:-fallback}", "fallback", ""},
		{"default when empty", "${EMPTY:-fallback}", "fallback", ""},
		{"default not used when set", "${A:-fallback}", "alpha", ""},
		{"empty default", "x${UNSET:-}y", "xy", ""},
		{"default holding :-", "${UNSET:-a:-b}", "a:-b", ""},
		{"empty without default", "'[${EMPTY}]'", "[]", ""},
		{"literal", "$${A}", "${A}", ""},
		{"literal then variable", "$${A} is ${A}", "${A} is alpha", ""},
		{"dollar without brace", "costs $5 or $A", "costs $5 or $A", ""},
		{"value not expanded again", "${DOLLAR}", "${B}", ""},
		{"value is not YAML", "${INJECT}", "key: x\n- y\n{z: 1}", ""},
		{"number stays text", "${NUM}", "5", ""},
		{"file", "${file:plain.txt}", "from a file", ""},
		{"file CRLF trimmed", "${file:crlf.txt}", "windows", ""},
		{"file inner whitespace kept", "${file:inner.txt}", "  keeps spaces \nand lines", ""},
		{"file absolute", "${file:" + abs + "}", "absolute", ""},
		{"file in text", "<${file:plain.txt}>", "<from a file>", ""},

		{"unset", "${UNSET}", "", "line 4: business_rules[0].description: ${UNSET}: environment variable UNSET is not set"},
		{"unclosed", "x ${A", "", `unclosed "${A" (write $${ for a literal ${)`},
		{"unclosed after a good one", "${A} ${B", "", `unclosed "${B"`},
		{"empty name", "${}", "", `${}: "" is not an environment variable name`},
		{"digit first", "${1A}", "", `${1A}: "1A" is not an environment variable name`},
		{"shell default without colon", "${A-x}", "", `"A-x" is not an environment variable name`},
		{"file without path", "${file:}", "", "${file:} needs a path"},
		{"missing file", "${file:nope.txt}", "", "nope.txt: no such file or directory"},
		{"a device, not a file", "${file:/dev/zero}", "", "/dev/zero: not a regular file"},
		{"a directory", "${file:/}", "", "not a regular file"},
		{"too large", "${file:big.txt}", "", "a value file holds at most 1048576"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseValue(t, tt.raw, res)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Keys are never interpolated: ${A} as a key is an unknown key.
func TestInterpolationNotInKeys(t *testing.T) {
	_, err := config.Parse([]byte("${A}: x\n"), "k.yaml", testRegistry(t), config.Resolver{Env: fakeEnv(map[string]string{"A": "data_dir"})})
	if err == nil || !strings.Contains(err.Error(), "line 1: ${A}: unknown key") {
		t.Fatalf("err = %v", err)
	}
}

// A substituted value is a string: it fills string keys only, even when it looks like a number
// or a boolean. An explicit tag makes it something else.
func TestInterpolatedValueIsString(t *testing.T) {
	res := config.Resolver{Env: fakeEnv(map[string]string{"N": "7", "B": "false", "D": "250ms", "S": "64KiB"})}
	cfg, err := config.Parse([]byte(`
data_dir: ${N}
shutdown_timeout: ${D}
plugins:
  - name: in
    type: file
    paths: ["${B}"]
    max_record_size: ${S}
    eps: !!int ${N}
    follow: !!bool ${B}
  - {name: out, type: stdout}
siem_mappings: [{source: in, destination: out}]
`), "s.yaml", testRegistry(t), res)
	if err != nil {
		t.Fatal(err)
	}
	in := mustPlugin(t, cfg, "in")
	o := in.Options.(*filesrc.Config)
	if cfg.DataDir != "7" || cfg.ShutdownTimeout.String() != "250ms" || o.Paths[0] != "false" || o.MaxRecordSize != 64<<10 {
		t.Errorf("data_dir %q, timeout %v, paths %q, size %d", cfg.DataDir, cfg.ShutdownTimeout, o.Paths, o.MaxRecordSize)
	}
	if in.EPS != 7 || o.Follow {
		t.Errorf("explicit tags: eps %d follow %v", in.EPS, o.Follow)
	}

	// Plain scalars take the type their substituted text reads as; quoted ones stay strings.
	cfg, err = config.Parse([]byte("plugins:\n  - name: in\n    type: file\n    kind: source\n    paths: [x]\n    eps: ${N}\n    follow: ${B}\n"), "s.yaml", testRegistry(t), res)
	if err != nil {
		t.Fatal(err)
	}
	if p := mustPlugin(t, cfg, "in"); p.EPS != 7 || p.Options.(*filesrc.Config).Follow {
		t.Errorf("plain scalars: eps %d, follow %v", p.EPS, p.Options.(*filesrc.Config).Follow)
	}
	_, err = config.Parse([]byte("plugins:\n  - name: in\n    type: file\n    kind: source\n    paths: [x]\n    eps: \"${N}\"\n"), "s.yaml", testRegistry(t), res)
	if err == nil || !strings.Contains(err.Error(), "line 6: plugins[0] (in): ") || !strings.Contains(err.Error(), "cannot use a string") {
		t.Errorf("quoted: err = %v", err)
	}
}

// With no Env, the resolver reads the process environment.
func TestResolverDefaultsToProcessEnv(t *testing.T) {
	t.Setenv("LOGSHIPPER_CONFIG_TEST_VAR", "from the environment")
	got, err := parseValue(t, "${LOGSHIPPER_CONFIG_TEST_VAR}", config.Resolver{})
	if err != nil || got != "from the environment" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// Load anchors ${file:} at the configuration's folder unless the resolver names one.
func TestLoadFileRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "conf.d")
	if err := os.MkdirAll(filepath.Join(sub, "secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(sub, "secrets", "dir.txt"), "/from/conf.d\n")
	write(filepath.Join(dir, "secrets.txt"), "/from/elsewhere\n")
	write(filepath.Join(sub, "c.yaml"), "data_dir: ${file:secrets/dir.txt}\n")
	write(filepath.Join(sub, "d.yaml"), "data_dir: ${file:secrets.txt}\n")

	cfg, err := config.Load(filepath.Join(sub, "c.yaml"), testRegistry(t), config.Resolver{Env: fakeEnv(nil)})
	if err != nil || cfg.DataDir != "/from/conf.d" {
		t.Fatalf("relative to the file: %v %+v", err, cfg)
	}
	cfg, err = config.Load(filepath.Join(sub, "d.yaml"), testRegistry(t), config.Resolver{Env: fakeEnv(nil), Dir: dir})
	if err != nil || cfg.DataDir != "/from/elsewhere" {
		t.Fatalf("relative to Resolver.Dir: %v %+v", err, cfg)
	}
}

// Every problem of interpolation is reported, not only the first.
func TestInterpolationReportsEveryProblem(t *testing.T) {
	_, err := config.Parse([]byte("data_dir: ${A}\nlog:\n  level: ${B}\n  format: ${C\n"), "m.yaml", testRegistry(t), config.Resolver{Env: fakeEnv(nil)})
	var ce *config.Error
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("err = %v", err)
	}
	want := "m.yaml: line 1: data_dir: ${A}: environment variable A is not set\n" +
		"m.yaml: line 3: log.level: ${B}: environment variable B is not set\n" +
		"m.yaml: line 4: log.format: unclosed \"${C\" (write $${ for a literal ${)"
	if err.Error() != want {
		t.Errorf("got:\n%s\nwant:\n%s", err, want)
	}
}
