package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/plugins/all"
)

// fuzzSecret is the value of $TOKEN in FuzzParse: no error message may show it.
const fuzzSecret = "Zx7-hunter2-secret-Q9"

// FuzzParse: any bytes given as a configuration, with the real plugin registry, give either a
// valid configuration or an *config.Error listing at least one problem, never a panic; and no
// problem shows the value an environment variable put into the file.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml", "../../plugins/*/*/sample.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("plugins:\n  - {name: in, type: file, paths: [x.log]}\n  - {name: out, type: stdout, token: ${TOKEN}}\nsiem_mappings:\n  - {source: in, destination: out}\n"))
	f.Add([]byte("plugins:\n  - name: lake\n    type: cloudtraillake\n    channel_arn: ${TOKEN}\n"))
	f.Add([]byte("log: {level: ${TOKEN}}\nadmin: {listen: \"${TOKEN}\"}\n"))
	env := map[string]string{"TOKEN": fuzzSecret, "EPS": "5", "EMPTY": "", "INJECT": "a: x\n- y", "DATA_DIR": "/data"}
	for k, v := range goldenEnv {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	res := config.Resolver{Env: fakeEnv(env), Dir: "testdata/good"}
	reg := all.Registry()
	quoted := strconv.Quote(fuzzSecret)
	quoted = quoted[1 : len(quoted)-1]
	f.Fuzz(func(t *testing.T, data []byte) {
		// ${file:...}, ca_file and mapping read files: keep to the test's own folders (a device
		// such as /dev/zero never ends).
		for _, s := range []string{"/dev", "/proc", "/sys", ".."} {
			if bytes.Contains(data, []byte(s)) {
				return
			}
		}
		cfg, err := config.Parse(data, "fuzz.yaml", reg, res)
		if err == nil {
			if cfg == nil {
				t.Fatal("Parse = nil, nil")
			}
			for _, p := range cfg.Plugins {
				if got, ok := cfg.Plugin(p.Name); !ok || got != p {
					t.Fatalf("Plugin(%q) = %v, %v", p.Name, got, ok)
				}
			}
			return
		}
		if cfg != nil {
			t.Fatalf("Parse = %v with error %v", cfg, err)
		}
		var ce *config.Error
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			t.Fatalf("error %T %v: want a *config.Error with problems", err, err)
		}
		for _, p := range ce.Problems {
			if p == nil || p.Error() == "" {
				t.Fatalf("empty problem in %v", ce.Problems)
			}
		}
		if !bytes.Contains(data, []byte(fuzzSecret)) && !bytes.Contains(data, []byte(quoted)) {
			if msg := err.Error(); strings.Contains(msg, fuzzSecret) || strings.Contains(msg, quoted) {
				t.Fatalf("the error shows $TOKEN's value:\n%s", msg)
			}
		}
	})
}

// FuzzParseByteSize: a size either parses to a non-negative number of bytes whose String form
// parses back to the same number, or is refused with an error naming it.
func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"0", "10", "1KiB", "1 MiB", "5mb", "2GB", "9223372036854775807", "8589934591GiB", "-1", "1.5MB", " 7 B ", "KiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := config.ParseByteSize(s)
		if err != nil {
			if b != 0 || !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("ParseByteSize(%q) = %d, %v", s, b, err)
			}
			return
		}
		if b < 0 {
			t.Fatalf("ParseByteSize(%q) = %d", s, b)
		}
		back, err := config.ParseByteSize(b.String())
		if err != nil || back != b {
			t.Fatalf("ParseByteSize(%q) = %d, String %q, which parses to %d, %v", s, b, b.String(), back, err)
		}
	})
}
