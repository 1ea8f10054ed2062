package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const reloadConfig = `
data_dir: ./data
admin: {listen: ""}
log: {level: info, format: json}
plugins:
  - {name: in1, type: file, paths: ["./in1/*.ndjson"], poll_interval: 20ms}
  - {name: out1, type: file, path: ./out1.ndjson, batch: {max_wait: 10ms}}
  - {name: in2, type: file, paths: ["./in2/*.ndjson"], poll_interval: 20ms}
  - {name: out2, type: file, path: ./out2.ndjson, batch: {max_wait: 10ms, max_records: %d}}
siem_mappings:
  - {source: in1, destination: out1}
  - {source: in2, destination: out2}
`

// A running shipper applies a changed file on SIGHUP, and with --watch-config when the file
// changes: the changed pipeline restarts and delivers every record once, the other never
// stops; a file with problems is refused with its line and everything keeps running.
func TestE2EReload(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	for _, tt := range []struct {
		name    string
		args    []string
		trigger func(t *testing.T, p *proc)
	}{
		{name: "SIGHUP", args: nil, trigger: func(t *testing.T, p *proc) {
			if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "watch-config", args: []string{"--watch-config"}, trigger: func(*testing.T, *proc) {}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			conf := func(content string) {
				// Written aside and renamed, as an editor saves: the watcher never reads half a file.
				tmp := filepath.Join(dir, ".c.yaml.tmp")
				writeFile(t, tmp, content)
				if err := os.Rename(tmp, filepath.Join(dir, "c.yaml")); err != nil {
					t.Fatal(err)
				}
			}
			n := map[string]int{}
			add := func(src string, count int) {
				path := filepath.Join(dir, src, "r.ndjson")
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				for range count {
					fmt.Fprintf(f, "{\"_id\":\"%s-%d\"}\n", src, n[src])
					n[src]++
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
			}
			all := func(src, out string) bool {
				got := delivered(t, filepath.Join(dir, out))
				return len(got) == n[src]
			}
			once := func(src, out string) {
				t.Helper()
				got := delivered(t, filepath.Join(dir, out))
				for i := range n[src] {
					if id := fmt.Sprintf("%s-%d", src, i); got[id] != 1 {
						t.Errorf("%s: %s delivered %d times; want once", out, id, got[id])
					}
				}
			}
			conf(fmt.Sprintf(reloadConfig, 500))
			add("in1", 100)
			add("in2", 100)
			p := startShipper(t, dir, append([]string{"run", "-c", "c.yaml"}, tt.args...)...)
			waitFor(t, 30*time.Second, "the first records", func() bool { return all("in1", "out1.ndjson") && all("in2", "out2.ndjson") })

			// out2 changes: in2 and out2 restart, in1 and out1 go on.
			add("in2", 200)
			conf(fmt.Sprintf(reloadConfig, 7))
			tt.trigger(t, p)
			waitFor(t, 30*time.Second, "the reload", func() bool { return countLog(t, p, "configuration reloaded", "") == 1 })
			add("in1", 100)
			add("in2", 100)
			waitFor(t, 30*time.Second, "the records after the reload", func() bool { return all("in1", "out1.ndjson") && all("in2", "out2.ndjson") })
			if got := countLog(t, p, "source started", "in1"); got != 1 {
				t.Errorf("in1 started %d times; want once: its pipeline did not change", got)
			}
			if got := countLog(t, p, "source started", "in2"); got != 2 {
				t.Errorf("in2 started %d times; want twice", got)
			}

			// A file with a problem is refused whole, with its line; everything keeps running.
			conf(strings.Replace(fmt.Sprintf(reloadConfig, 9), "poll_interval: 20ms}", "poll_intervall: 20ms}", 1))
			tt.trigger(t, p)
			waitFor(t, 30*time.Second, "the refusal", func() bool { return countLog(t, p, "configuration not reloaded", "") == 1 })
			if s := p.stderr.String(); !strings.Contains(s, `line 6: plugins[0] (in1): poll_intervall: unknown key (did you mean \"poll_interval\"?)`) {
				t.Errorf("the refusal does not name the line and the key:\n%s", lastChars(s, 3000))
			}
			add("in1", 50)
			add("in2", 50)
			waitFor(t, 30*time.Second, "the records after the refusal", func() bool { return all("in1", "out1.ndjson") && all("in2", "out2.ndjson") })

			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("exit %d:\n%s", code, lastChars(p.stderr.String(), 4000))
			}
			once("in1", "out1.ndjson")
			once("in2", "out2.ndjson")
			if got := countLog(t, p, "source started", "in1"); got != 1 {
				t.Errorf("in1 started %d times; want once", got)
			}
		})
	}
}

// countLog counts the JSON log lines of p with message msg (and plugin, when not "").
func countLog(t *testing.T, p *proc, msg, plugin string) int {
	t.Helper()
	n := 0
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct{ Msg, Plugin string }
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		if l.Msg == msg && (plugin == "" || l.Plugin == plugin) {
			n++
		}
	}
	return n
}
