package file

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/state"
)

// fastNacks makes s read a file again soon after a nack: from 5ms doubling to 50ms.
func fastNacks(s *Source) *Source {
	s.nackBackoff = retry.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond}
	return s
}

// testConfig returns the defaults with paths, polling every 10ms (the least Validate allows).
func testConfig(t *testing.T, paths ...string) *Config {
	t.Helper()
	c := NewConfig().(*Config)
	c.Paths = paths
	c.PollInterval = 10 * time.Millisecond
	return c
}

// TestSourceSuiteNDJSON runs the conformance suite over NDJSON files that grow by appended lines;
// every fourth Produce starts another file, so the suite sees several cursors.
func TestSourceSuiteNDJSON(t *testing.T) {
	var (
		dir   string
		n     int
		calls int
	)
	plugintest.RunSourceSuite(t, plugintest.SourceHarness{
		Setup: func(t *testing.T) { dir, n, calls = t.TempDir(), 0, 0 },
		New: func(t *testing.T, store state.Store) plugin.Source {
			cfg := testConfig(t, filepath.Join(dir, "*.ndjson"))
			cfg.BatchSize = 2
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			return fastNacks(New(cfg, plugintest.Settings(t, "src", store)))
		},
		Produce: func(t *testing.T, k int) []string {
			calls++
			name := filepath.Join(dir, fmt.Sprintf("part-%d.ndjson", (calls-1)/4))
			var b strings.Builder
			var keys []string
			for range k {
				n++
				key := fmt.Sprintf("rec-%d", n)
				fmt.Fprintf(&b, `{"id":%q,"n":%d,"msg":"hello ünïcode"}`+"\n", key, n)
				keys = append(keys, key)
			}
			appendFile(t, name, b.String())
			return keys
		},
		Key: plugintest.IDKey,
	})
}

// TestSourceSuiteJSONArrays runs the conformance suite over JSON-array files: each Produce drops
// a new, complete, pretty-printed array file into the directory (written under another name and
// renamed into place), which is how array files are meant to arrive.
func TestSourceSuiteJSONArrays(t *testing.T) {
	var (
		dir   string
		n     int
		calls int
	)
	plugintest.RunSourceSuite(t, plugintest.SourceHarness{
		Setup: func(t *testing.T) { dir, n, calls = t.TempDir(), 0, 0 },
		New: func(t *testing.T, store state.Store) plugin.Source {
			cfg := testConfig(t, filepath.Join(dir, "*.json"))
			cfg.BatchSize = 2
			return fastNacks(New(cfg, plugintest.Settings(t, "src", store)))
		},
		Produce: func(t *testing.T, k int) []string {
			calls++
			var b strings.Builder
			var keys []string
			b.WriteString("[\n")
			for i := range k {
				n++
				key := fmt.Sprintf("arr-%d", n)
				sep := ","
				if i == k-1 {
					sep = ""
				}
				fmt.Fprintf(&b, "  {\n    \"id\": %q,\n    \"n\": %d\n  }%s\n", key, n, sep)
				keys = append(keys, key)
			}
			b.WriteString("]\n")
			name := filepath.Join(dir, fmt.Sprintf("export-%03d.json", calls))
			writeFile(t, name+".tmp", b.String())
			if err := os.Rename(name+".tmp", name); err != nil {
				t.Fatal(err)
			}
			return keys
		},
		Key: plugintest.IDKey,
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
