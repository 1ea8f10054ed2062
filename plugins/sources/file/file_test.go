package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/state"
)

// fixture is one source instance with a publisher acknowledging in Publish, driven either scan by
// scan (deterministic) or by Run.
type fixture struct {
	t     *testing.T
	cfg   *Config
	store state.Store
	set   plugin.Settings
	src   *Source
	pub   *plugintest.Publisher
}

func newFixture(t *testing.T, cfg *Config, store state.Store) *fixture {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	if store == nil {
		store = state.NewMemory().Namespace("plugin/src")
	}
	set := plugintest.Settings(t, "src", store)
	return &fixture{t: t, cfg: cfg, store: store, set: set, src: New(cfg, set), pub: plugintest.NewPublisher(plugintest.AckInPublish)}
}

// restart returns a new instance over the same store and configuration.
func (f *fixture) restart() *fixture {
	f.t.Helper()
	return newFixture(f.t, f.cfg, f.store)
}

// scan runs one scan to its end.
func (f *fixture) scan() {
	f.t.Helper()
	if err := f.src.scan(context.Background(), f.pub); err != nil {
		f.t.Fatalf("scan: %v", err)
	}
}

// runToEnd runs the source (follow must be off) until it returns on its own.
func (f *fixture) runToEnd() {
	f.t.Helper()
	if f.cfg.Follow {
		f.t.Fatal("runToEnd needs follow: false")
	}
	if err := plugintest.Start(f.t, f.src, f.pub).Wait(f.t); err != nil {
		f.t.Fatalf("Run: %v", err)
	}
}

func (f *fixture) ids() []string { return f.pub.Keys(plugintest.IDKey) }

func (f *fixture) drops() []plugintest.Drop { return plugintest.DropperOf(f.t, f.set).Drops() }

// expectIDs checks the records published so far are exactly want, in order.
func (f *fixture) expectIDs(want ...string) {
	f.t.Helper()
	if got := f.ids(); !slices.Equal(got, want) {
		f.t.Fatalf("published %q, want %q", got, want)
	}
}

// expectDrops checks the drops so far have exactly the reasons want, in order.
func (f *fixture) expectDrops(want ...plugin.Reason) []plugintest.Drop {
	f.t.Helper()
	d := f.drops()
	var got []plugin.Reason
	for _, x := range d {
		got = append(got, x.Reason)
	}
	if !slices.Equal(got, want) {
		f.t.Fatalf("drops %v, want %v (%+v)", got, want, d)
	}
	return d
}

// saved returns the saved positions by path.
func (f *fixture) saved() map[string]int64 {
	f.t.Helper()
	ctx := context.Background()
	keys, err := f.store.Keys(ctx, "file/")
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, k := range keys {
		v, err := f.store.Get(ctx, k)
		if err != nil {
			f.t.Fatal(err)
		}
		var p position
		if err := json.Unmarshal(v, &p); err != nil {
			f.t.Fatal(err)
		}
		out[p.Path] = p.Offset
	}
	return out
}

func lines(ids ...string) string {
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "{\"id\":%q}\n", id)
	}
	return b.String()
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestGlobOverSeveralFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.ndjson"), lines("a1", "a2"))
	writeFile(t, filepath.Join(dir, "b.ndjson"), lines("b1"))
	writeFile(t, filepath.Join(dir, "sub", "c.ndjson"), lines("c1"))
	writeFile(t, filepath.Join(dir, "notes.txt"), lines("txt"))
	writeFile(t, filepath.Join(dir, "dir.ndjson", "x.ndjson"), lines("in-a-directory-named-like-a-file"))
	if err := os.Symlink(filepath.Join(dir, "b.ndjson"), filepath.Join(dir, "link-to-b.ndjson")); err != nil {
		t.Fatal(err)
	}
	// Overlapping globs: a.ndjson is matched twice, b.ndjson under two names.
	cfg := testConfig(t, filepath.Join(dir, "*.ndjson"), filepath.Join(dir, "sub", "*.ndjson"), filepath.Join(dir, "a.ndjson"))
	cfg.Follow = false
	f := newFixture(t, cfg, nil)
	f.runToEnd()
	f.expectIDs("a1", "a2", "b1", "c1")
	f.expectDrops()
	for _, r := range f.pub.Records() {
		if r.Source != "src" {
			t.Fatalf("record source %q, want the plugin name", r.Source)
		}
	}
}

func TestFormats(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		content string
		ids     []string
		drops   []plugin.Reason
	}{
		{"auto reads NDJSON", "auto", lines("1", "2"), []string{"1", "2"}, nil},
		{"auto reads an array", "auto", "\n \t[ {\"id\":\"1\"},\n {\"id\":\"2\"} ]\n", []string{"1", "2"}, nil},
		{"auto reads a pretty array", "auto", "[\n  {\n    \"id\": \"1\"\n  },\n  {\n    \"id\": \"2\"\n  }\n]\n", []string{"1", "2"}, nil},
		{"auto empty array", "auto", "[]", nil, nil},
		{"auto array with non-objects", "auto", `[{"id":"1"}, 2, "x", null, [], {"id":"2"}]`, []string{"1", "2"},
			[]plugin.Reason{plugin.ReasonInvalid, plugin.ReasonInvalid, plugin.ReasonInvalid, plugin.ReasonInvalid}},
		{"ndjson takes an array file line by line", "ndjson", "[\n" + `{"id":"1"}` + "\n]\n", []string{"1"},
			[]plugin.Reason{plugin.ReasonInvalid, plugin.ReasonInvalid}},
		{"json reads an array", "json", `[{"id":"1"},{"id":"2"}]`, []string{"1", "2"}, nil},
		{"json refuses NDJSON", "json", lines("1", "2"), nil, []plugin.Reason{plugin.ReasonInvalid}},
		{"json refuses an object", "json", `{"id":"1"}`, nil, []plugin.Reason{plugin.ReasonInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "in.log"), tt.content)
			cfg := testConfig(t, filepath.Join(dir, "*.log"))
			cfg.Format, cfg.Follow = tt.format, false
			f := newFixture(t, cfg, nil)
			f.runToEnd()
			f.expectIDs(tt.ids...)
			f.expectDrops(tt.drops...)
			// Everything was consumed: a restart reads and drops nothing again.
			g := f.restart()
			g.runToEnd()
			g.expectIDs()
			g.expectDrops()
		})
	}
}

func TestArrayRecordsAreTheElementsBytes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.json"), "[ {\"id\":\"1\",  \"v\" : [1, 2]} ,\n{\"id\":\"2\"}]")
	cfg := testConfig(t, filepath.Join(dir, "a.json"))
	cfg.Follow = false
	f := newFixture(t, cfg, nil)
	f.runToEnd()
	want := []string{`{"id":"1",  "v" : [1, 2]}`, `{"id":"2"}`}
	if got := f.pub.Raws(); !slices.Equal(got, want) {
		t.Fatalf("raws %q, want %q", got, want)
	}
}

func TestFollowPicksUpAppendedLinesAndNewFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	writeFile(t, a, lines("a1"))
	f := newFixture(t, testConfig(t, filepath.Join(dir, "*.ndjson")), nil)
	run := plugintest.Start(t, f.src, f.pub)
	f.pub.WaitKeys(t, plugintest.IDKey, []string{"a1"})
	appendFile(t, a, lines("a2", "a3"))
	f.pub.WaitKeys(t, plugintest.IDKey, []string{"a2", "a3"})
	writeFile(t, filepath.Join(dir, "b.ndjson"), lines("b1"))
	f.pub.WaitKeys(t, plugintest.IDKey, []string{"b1"})
	appendFile(t, a, lines("a4"))
	f.pub.WaitKeys(t, plugintest.IDKey, []string{"a4"})
	run.Stop(t)
	got := f.ids()
	slices.Sort(got)
	if want := []string{"a1", "a2", "a3", "a4", "b1"}; !slices.Equal(got, want) {
		t.Fatalf("published %q, want each of %q once", got, want)
	}
}

func TestPartialLastLine(t *testing.T) {
	t.Run("kept back while following", func(t *testing.T) {
		dir := t.TempDir()
		a := filepath.Join(dir, "a.ndjson")
		writeFile(t, a, lines("1")+`{"id":"2"`)
		f := newFixture(t, testConfig(t, a), nil)
		f.scan()
		f.scan()
		f.expectIDs("1")
		f.expectDrops()
		if got := f.saved()[a]; got != int64(len(lines("1"))) {
			t.Fatalf("saved offset %d, want the end of the last complete line", got)
		}
		appendFile(t, a, "}\n")
		f.scan()
		f.expectIDs("1", "2")
		if got := f.pub.Raws()[1]; got != `{"id":"2"}` {
			t.Fatalf("completed line published as %q", got)
		}
		// Under Run too: the unterminated line stays back while a later file is read.
		appendFile(t, a, `{"id":"3"}`)
		writeFile(t, filepath.Join(dir, "z.ndjson"), lines("marker"))
		cfg := testConfig(t, filepath.Join(dir, "*.ndjson"))
		g := newFixture(t, cfg, f.store)
		run := plugintest.Start(t, g.src, g.pub)
		g.pub.WaitKeys(t, plugintest.IDKey, []string{"marker"}) // a.ndjson was read before z.ndjson
		g.expectIDs("marker")
		appendFile(t, a, "\n")
		g.pub.WaitKeys(t, plugintest.IDKey, []string{"3"})
		run.Stop(t)
	})
	t.Run("taken when not following", func(t *testing.T) {
		dir := t.TempDir()
		a := filepath.Join(dir, "a.ndjson")
		writeFile(t, a, lines("1")+"  {\"id\":\"2\"}  ")
		cfg := testConfig(t, a)
		cfg.Follow = false
		f := newFixture(t, cfg, nil)
		f.runToEnd()
		f.expectIDs("1", "2")
		if got := f.saved()[a]; got != size(t, a) {
			t.Fatalf("saved offset %d, want the file's size %d", got, size(t, a))
		}
	})
}

func TestEmptyLinesAreSkipped(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	writeFile(t, a, "\n\n"+`{"id":"1"}`+"\n   \n\t\r\n"+`  {"id":"2"}  `+"\r\n\n\n")
	f := newFixture(t, testConfig(t, a), nil)
	f.scan()
	f.expectIDs("1", "2")
	f.expectDrops()
	if got := f.pub.Raws(); got[1] != `{"id":"2"}` {
		t.Fatalf("record with spaces and CRLF around it published as %q", got[1])
	}
	if got := f.saved()[a]; got != size(t, a) {
		t.Fatalf("saved offset %d, want past the trailing blank lines (%d)", got, size(t, a))
	}
}

func TestInvalidLinesAreDropped(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	bad := []string{`{"id": broken`, `[1,2]`, `"just a string"`, `42`, `null`, `not json at all`, `{"id":"3"} trailing`, `{"id":"4"`}
	content := lines("1") + bad[0] + "\n" + bad[1] + "\n" + bad[2] + "\n" + bad[3] + "\n" + lines("2") +
		bad[4] + "\n" + bad[5] + "\n" + bad[6] + "\n" + bad[7] + "\n"
	writeFile(t, a, content)
	f := newFixture(t, testConfig(t, a), nil)
	f.scan()
	f.expectIDs("1", "2")
	drops := f.expectDrops(slices.Repeat([]plugin.Reason{plugin.ReasonInvalid}, len(bad))...)
	for i, d := range drops {
		if string(d.Raw) != bad[i] {
			t.Errorf("drop %d kept %q, want the line %q", i, d.Raw, bad[i])
		}
		if d.Err == nil || !strings.Contains(d.Err.Error(), a) {
			t.Errorf("drop %d: error %v does not name the file", i, d.Err)
		}
	}
	// The invalid lines at the end were consumed: the position is past them.
	if got := f.saved()[a]; got != size(t, a) {
		t.Fatalf("saved offset %d, want the file's size %d", got, size(t, a))
	}

	g := f.restart()
	appendFile(t, a, lines("5"))
	g.scan()
	g.expectIDs("5")
	g.expectDrops()
}

func TestOverlongLineIsDroppedWithoutReadingItWhole(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	const limit = 1024
	exact := `{"id":"exact","pad":"` + strings.Repeat("e", limit-len(`{"id":"exact","pad":""}`)) + `"}`
	over := `{"id":"over","pad":"` + strings.Repeat("o", limit+1-len(`{"id":"over","pad":""}`)) + `"}`
	if len(exact) != limit || len(over) != limit+1 {
		t.Fatal("test bug: padding")
	}
	const huge = 32 << 20
	fh, err := os.Create(a)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fh.WriteString(lines("1") + `{"id":"huge","pad":"`)
	chunk := []byte(strings.Repeat("h", 1<<20))
	for range huge >> 20 {
		if _, err := fh.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = fh.WriteString("\"}\n" + lines("2") + exact + "\n" + over + "\n" + lines("3"))
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	chunk = nil

	cfg := testConfig(t, a)
	cfg.MaxRecordSize = config.ByteSize(limit)
	f := newFixture(t, cfg, nil)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f.scan()
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > huge/4 {
		t.Errorf("reading a %d MiB line allocated %d MiB: it was read into memory", huge>>20, alloc>>20)
	}
	f.expectIDs("1", "2", "exact", "3")
	drops := f.expectDrops(plugin.ReasonTooLarge, plugin.ReasonTooLarge)
	for i, d := range drops {
		if len(d.Raw) > limit {
			t.Errorf("drop %d kept %d bytes, more than max_record_size", i, len(d.Raw))
		}
	}
	if !strings.HasPrefix(string(drops[0].Raw), `{"id":"huge"`) || !strings.HasPrefix(string(drops[1].Raw), `{"id":"over"`) {
		t.Errorf("drops kept %.20q and %.20q, want the lines' first bytes", drops[0].Raw, drops[1].Raw)
	}
	if got := f.saved()[a]; got != size(t, a) {
		t.Fatalf("saved offset %d, want the file's size %d", got, size(t, a))
	}
}

func TestTruncation(t *testing.T) {
	t.Run("while running", func(t *testing.T) {
		dir := t.TempDir()
		a := filepath.Join(dir, "a.ndjson")
		writeFile(t, a, lines("long-record-1", "long-record-2", "long-record-3"))
		f := newFixture(t, testConfig(t, a), nil)
		f.scan()
		writeFile(t, a, lines("t1")) // truncates in place: same inode, shorter
		f.scan()
		f.expectIDs("long-record-1", "long-record-2", "long-record-3", "t1")
		if got := f.saved()[a]; got != size(t, a) {
			t.Fatalf("saved offset %d, want %d", got, size(t, a))
		}
	})
	t.Run("while stopped", func(t *testing.T) {
		dir := t.TempDir()
		a := filepath.Join(dir, "a.ndjson")
		writeFile(t, a, lines("long-record-1", "long-record-2"))
		f := newFixture(t, testConfig(t, a), nil)
		f.scan()
		writeFile(t, a, lines("t1", "t2"))
		g := f.restart()
		g.scan()
		g.expectIDs("t1", "t2")
	})
}

func TestRotationByRename(t *testing.T) {
	for _, tc := range []struct {
		name string
		glob string // the rotated name app.log.1 matches it or not
	}{
		{"glob matches the rotated name", "app.log*"},
		{"glob does not match the rotated name", "*.log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			app, rotated := filepath.Join(dir, "app.log"), filepath.Join(dir, "app.log.1")
			writeFile(t, app, lines("l1", "l2"))
			f := newFixture(t, testConfig(t, filepath.Join(dir, tc.glob)), nil)
			f.scan()
			f.expectIDs("l1", "l2")

			// Lines written before the rotation, not read yet; then the rotation.
			appendFile(t, app, lines("l3", "l4"))
			if err := os.Rename(app, rotated); err != nil {
				t.Fatal(err)
			}
			writeFile(t, app, lines("n1", "n2"))
			f.scan()
			// The writer still had the old file open for a moment.
			appendFile(t, rotated, lines("l5"))
			f.scan()
			appendFile(t, app, lines("n3"))
			f.scan()
			f.scan()
			got := f.ids()
			slices.Sort(got)
			if want := []string{"l1", "l2", "l3", "l4", "l5", "n1", "n2", "n3"}; !slices.Equal(got, want) {
				t.Fatalf("published %q, want each of %q once", got, want)
			}
			f.expectDrops()
			saved := f.saved()
			if saved[app] != size(t, app) || saved[rotated] != size(t, rotated) {
				t.Fatalf("saved positions %v, want both files at their ends", saved)
			}
			if tc.glob == "*.log" {
				// Once the renamed file stayed unchanged long enough, it is forgotten with its
				// position (so a new file reusing its inode starts afresh).
				for _, tr := range f.src.files {
					if tr.path == rotated {
						tr.quiet = time.Now().Add(-time.Hour)
					}
				}
				f.scan()
				if _, ok := f.saved()[rotated]; ok || len(f.src.files) != 1 {
					t.Fatalf("renamed file still tracked (%d files) or its position kept: %v", len(f.src.files), f.saved())
				}
			}
			// A restart reads nothing again.
			g := f.restart()
			g.scan()
			g.expectIDs()
		})
	}
}

func TestRotationWhileStopped(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.log")
	writeFile(t, app, lines("l1", "l2"))
	f := newFixture(t, testConfig(t, filepath.Join(dir, "*.log")), nil)
	f.scan()
	appendFile(t, app, lines("l3"))
	if err := os.Rename(app, app+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, app, lines("n1"))
	g := f.restart()
	g.scan()
	got := g.ids()
	slices.Sort(got)
	if want := []string{"l3", "n1"}; !slices.Equal(got, want) {
		t.Fatalf("after a rotation while stopped, published %q, want %q", got, want)
	}
}

func TestSavedPositionsOfGoneFilesAreDeleted(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	writeFile(t, a, lines("a1"))
	writeFile(t, b, lines("b1"))
	f := newFixture(t, testConfig(t, filepath.Join(dir, "*.log")), nil)
	f.scan()
	if len(f.saved()) != 2 {
		t.Fatalf("saved %v", f.saved())
	}
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	f.scan()
	if _, ok := f.saved()[a]; ok {
		t.Fatalf("position of a removed file kept: %v", f.saved())
	}
	// Removed while stopped: forgotten at the first scan after the restart. A position saved
	// for a path the globs do not match (another configuration's) is left alone.
	if err := f.store.Put(context.Background(), "file/other", []byte(`{"path":"/elsewhere/x.log","offset":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	g := f.restart()
	g.scan()
	if s := g.saved(); len(s) != 1 || s["/elsewhere/x.log"] != 3 {
		t.Fatalf("saved positions after the restart: %v", s)
	}
}

func TestStartAtEnd(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, lines("old1", "old2"))
	cfg := testConfig(t, filepath.Join(dir, "*.log"))
	cfg.StartAt = "end"
	f := newFixture(t, cfg, nil)
	f.scan()
	f.expectIDs()
	appendFile(t, a, lines("new1"))
	// A file appearing after the start (the new file of a rotation) is read from its start.
	writeFile(t, filepath.Join(dir, "b.log"), lines("b1", "b2"))
	f.scan()
	f.expectIDs("new1", "b1", "b2")

	// After a restart the saved positions win; a file that came while stopped is there at the
	// start, so it is read from its end.
	writeFile(t, filepath.Join(dir, "c.log"), lines("c-while-stopped"))
	appendFile(t, a, lines("new2"))
	g := f.restart()
	g.scan()
	g.expectIDs("new2")
	appendFile(t, filepath.Join(dir, "c.log"), lines("c1"))
	g.scan()
	g.expectIDs("new2", "c1")
}

func TestJSONArrayWithASyntaxErrorMidFile(t *testing.T) {
	for _, follow := range []bool{false, true} {
		t.Run(fmt.Sprintf("follow=%v", follow), func(t *testing.T) {
			dir := t.TempDir()
			a := filepath.Join(dir, "a.json")
			writeFile(t, a, `[{"id":"1"},{"id":"2"},{"id": oops},{"id":"4"}]`)
			cfg := testConfig(t, a)
			cfg.Follow = follow
			f := newFixture(t, cfg, nil)
			f.scan()
			f.expectIDs("1", "2")
			d := f.expectDrops(plugin.ReasonInvalid)
			if !strings.Contains(string(d[0].Raw), "oops") || !strings.Contains(d[0].Err.Error(), "rest of the file is skipped") {
				t.Fatalf("drop kept %q (%v), want the rest of the file from the error", d[0].Raw, d[0].Err)
			}
			if got := f.saved()[a]; got != size(t, a) {
				t.Fatalf("saved offset %d, want the file's size %d", got, size(t, a))
			}
			g := f.restart()
			g.scan()
			g.expectIDs()
			g.expectDrops()
		})
	}
}

func TestJSONArrayStillBeingWritten(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	writeFile(t, a, `[{"id":"1"},{"id":"2"`)
	f := newFixture(t, testConfig(t, a), nil)
	f.scan()
	f.scan()
	f.expectIDs("1")
	f.expectDrops()
	appendFile(t, a, `},{"id":"3"}`)
	f.scan()
	f.expectIDs("1", "2", "3")
	appendFile(t, a, "]\n")
	f.scan()
	f.expectIDs("1", "2", "3")
	f.expectDrops()
	if got := f.saved()[a]; got != size(t, a) {
		t.Fatalf("saved offset %d, want the file's size %d", got, size(t, a))
	}

	// Not following, an unfinished array is invalid past its last complete element.
	b := filepath.Join(dir, "b.json")
	writeFile(t, b, `[{"id":"1"},{"id":"2"`)
	cfg := testConfig(t, b)
	cfg.Follow = false
	g := newFixture(t, cfg, nil)
	g.runToEnd()
	g.expectIDs("1")
	g.expectDrops(plugin.ReasonInvalid)
}

func TestAckedPositionOnly(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	writeFile(t, a, lines("1", "2", "3", "4", "5"))
	cfg := testConfig(t, a)
	cfg.BatchSize = 2
	f := newFixture(t, cfg, nil)
	f.pub = plugintest.NewPublisher(plugintest.Manual)
	f.scan()
	bs := f.pub.Batches()
	if len(bs) != 3 {
		t.Fatalf("%d batches, want 3 of at most 2 records", len(bs))
	}
	bs[1].Ack()
	if _, ok := f.saved()[a]; ok {
		t.Fatal("a position was saved past an unacknowledged batch")
	}
	bs[0].Ack()
	if got, want := f.saved()[a], int64(len(lines("1", "2", "3", "4"))); got != want {
		t.Fatalf("saved %d, want %d (the end of the second batch)", got, want)
	}
	bs[2].Nack()
	g := f.restart()
	g.scan()
	g.expectIDs("5")
}

func TestRunStopsOnAFatalStoreError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.log"), lines("1"))
	cfg := testConfig(t, filepath.Join(dir, "*.log"))
	set := plugintest.Settings(t, "src", failingStore{})
	err := New(cfg, set).Run(context.Background(), plugintest.NewPublisher(plugintest.AckInPublish))
	if !plugin.IsFatal(err) {
		t.Fatalf("Run returned %v, want a fatal error", err)
	}
}

type failingStore struct{ state.Store }

func (failingStore) Keys(context.Context, string) ([]string, error) {
	return nil, fmt.Errorf("store unavailable")
}

func TestFactory(t *testing.T) {
	fac := Factory()
	if fac.Type != "file" || fac.Kind != plugin.KindSource {
		t.Fatalf("factory %s %s", fac.Type, fac.Kind)
	}
	cfg := fac.NewConfig().(*Config)
	cfg.Paths = []string{"/nonexistent/*.log"}
	src, err := fac.NewSource(cfg, plugintest.Settings(t, "src", nil))
	if err != nil || src == nil {
		t.Fatalf("NewSource: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings of the problems, in order; none for a valid configuration
	}{
		{"defaults with a path", func(*Config) {}, nil},
		{"every format", func(c *Config) { c.Format = "json"; c.StartAt = "end" }, nil},
		{"smallest values", func(c *Config) {
			c.PollInterval, c.BatchSize, c.MaxRecordSize = 10*time.Millisecond, 1, 64
		}, nil},
		{"largest batch", func(c *Config) { c.BatchSize = 100000 }, nil},
		{"no paths", func(c *Config) { c.Paths = nil }, []string{"paths: at least one"}},
		{"bad glob", func(c *Config) { c.Paths = []string{"/var/log/*.log", "/var/[log"} }, []string{"paths[1]:"}},
		{"format", func(c *Config) { c.Format = "csv" }, []string{`format: "csv"`}},
		{"poll interval", func(c *Config) { c.PollInterval = 9 * time.Millisecond }, []string{"poll_interval"}},
		{"batch size zero", func(c *Config) { c.BatchSize = 0 }, []string{"batch_size"}},
		{"batch size too big", func(c *Config) { c.BatchSize = 100001 }, []string{"batch_size"}},
		{"max record size", func(c *Config) { c.MaxRecordSize = 63 }, []string{"max_record_size"}},
		{"start at", func(c *Config) { c.StartAt = "middle" }, []string{`start_at: "middle"`}},
		{"record kind cloudtrail", func(c *Config) { c.RecordKind = "cloudtrail" }, nil},
		{"record kind netskope", func(c *Config) { c.RecordKind = "netskope" }, nil},
		{"record kind", func(c *Config) { c.RecordKind = "CloudTrail" }, []string{`record_kind: "CloudTrail"`}},
		{"every problem at once", func(c *Config) {
			*c = Config{RecordKind: "syslog"}
		}, []string{"paths", "format", "poll_interval", "batch_size", "max_record_size", "start_at", "record_kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConfig().(*Config)
			c.Paths = []string{"/var/log/app/*.log"}
			tt.edit(c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected problems: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no problem reported, want %q", tt.want)
			}
			msgs := strings.Split(err.Error(), "\n")
			if len(msgs) != len(tt.want) {
				t.Fatalf("problems %q, want %d matching %q", msgs, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(msgs[i], w) {
					t.Errorf("problem %q does not mention %q", msgs[i], w)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := NewConfig().(*Config)
	want := Config{Format: "auto", Follow: true, PollInterval: time.Second, BatchSize: 1000, MaxRecordSize: 1 << 20, StartAt: "beginning"}
	if c.Format != want.Format || c.Follow != want.Follow || c.PollInterval != want.PollInterval ||
		c.BatchSize != want.BatchSize || c.MaxRecordSize != want.MaxRecordSize || c.StartAt != want.StartAt || c.Paths != nil || c.RecordKind != "" {
		t.Fatalf("defaults %+v, want %+v (the README lists them)", *c, want)
	}
}

// putFailing is a store whose writes fail.
type putFailing struct{ state.Store }

func (putFailing) Put(context.Context, string, []byte) error { return fmt.Errorf("disk full") }

func TestPositionSaveFailureIsReported(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, lines("1"))
	f := newFixture(t, testConfig(t, a), putFailing{state.NewMemory().Namespace("x")})
	f.scan()
	appendFile(t, a, lines("2"))
	f.scan()
	f.scan()
	f.expectIDs("1", "2")
	if got := testutil.ToFloat64(f.set.Metrics.Errors); got != 1 {
		t.Fatalf("errors counted %v, want 1 (reported once)", got)
	}
}

func TestReadChecksItOpenedTheTrackedFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	writeFile(t, a, lines("a1"))
	f := newFixture(t, testConfig(t, a), nil)
	f.scan()
	// Another file now sits under the tracked file's name (renamed again between the look and
	// the open): it is not read with the tracked file's position.
	writeFile(t, b, lines("b1", "b2", "b3"))
	var tr *tracked
	for _, x := range f.src.files {
		tr = x
	}
	tr.path = b
	if err := f.src.read(context.Background(), f.pub, tr, size(t, b), false); err != nil {
		t.Fatal(err)
	}
	f.expectIDs("a1")
}

// Input that cannot be kept in the dead-letter store is not skipped: the records before it are
// published, the position stays before it, and the next scan tries it again.
func TestDropThatCannotBeKeptIsNotSkipped(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	writeFile(t, a, lines("1")+"not json\n"+lines("2"))
	f := newFixture(t, testConfig(t, a), nil)
	dropper := plugintest.DropperOf(t, f.set)
	dropper.Fail(errors.New("dead-letter disk full"))
	f.scan()
	f.expectIDs("1")
	if got, want := f.saved()[a], int64(len(lines("1"))); got != want {
		t.Fatalf("saved offset %d, want %d (just before the line that could not be kept)", got, want)
	}
	dropper.Fail(nil)
	f.scan()
	f.expectIDs("1", "2")
	f.expectDrops(plugin.ReasonInvalid)
	if got := f.saved()[a]; got != size(t, a) {
		t.Fatalf("saved offset %d, want the file's size", got)
	}
}

// A restart while a rotated file (renamed out of the globs) is still being drained must not
// forget it: its position was saved under its new name, in a directory the globs cover.
func TestRestartWhileDrainingARotatedFile(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.log")
	writeFile(t, app, lines("l1"))
	f := newFixture(t, testConfig(t, filepath.Join(dir, "*.log")), nil)
	f.scan()
	if err := os.Rename(app, app+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, app, lines("n1"))
	appendFile(t, app+".1", lines("l2")) // the writer still appends to the rotated file
	f.scan()                             // finds app.log.1 by inode: l2 is saved under that name
	f.expectIDs("l1", "n1", "l2")
	appendFile(t, app+".1", lines("l3"))
	g := f.restart()
	g.scan()
	if got := g.ids(); !slices.Equal(got, []string{"l3"}) {
		t.Fatalf("after a restart, published %q, want the rotated file's tail [l3]", got)
	}
}

// A saved position whose fingerprint does not match the file now at that device and inode
// (inode reuse) is not trusted: the file is read from its start.
func TestInodeReuseIsDetectedByTheFilesFirstBytes(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	writeFile(t, a, lines("x1", "x2", "x3"))
	fi, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	store := state.NewMemory().Namespace("plugin/src")
	stale, _ := json.Marshal(position{Path: a, Offset: int64(len(lines("o1"))), Head: strings.Repeat("0", 64), HeadLen: 10})
	if err := store.Put(context.Background(), cursorKey(fileID(a, fi)), stale); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, testConfig(t, filepath.Join(dir, "*.log")), store)
	f.scan()
	f.expectIDs("x1", "x2", "x3")

	// A matching fingerprint is trusted: the restart goes on from the saved offset.
	appendFile(t, a, lines("x4"))
	g := f.restart()
	g.scan()
	g.expectIDs("x4")
}
