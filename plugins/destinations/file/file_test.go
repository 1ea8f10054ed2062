package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

func newDest(t *testing.T, cfg *Config) *Destination {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	d, err := New(cfg, plugintest.Settings(t, "dst", nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

func configAt(path string) *Config {
	c := NewConfig().(*Config)
	c.Path = path
	return c
}

// readLines returns the lines of path, an unterminated last line included; none if it is absent.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// delivered returns the lines of the rotated files, oldest first, then of the current file.
func delivered(t *testing.T, path string, maxFiles int) []string {
	t.Helper()
	var out []string
	for i := maxFiles; i >= 1; i-- {
		out = append(out, readLines(t, fmt.Sprintf("%s.%d", path, i))...)
	}
	return append(out, readLines(t, path)...)
}

func TestDestinationSuite(t *testing.T) {
	for _, v := range []struct {
		name string
		edit func(*Config)
	}{
		{"defaults", func(*Config) {}},
		{"rotating without sync", func(c *Config) { c.MaxSize, c.MaxFiles, c.Sync = 4096, 1000, false }},
	} {
		t.Run(v.name, func(t *testing.T) {
			var cfg *Config
			plugintest.RunDestinationSuite(t, plugintest.DestinationHarness{
				New: func(t *testing.T) plugin.Destination {
					cfg = configAt(filepath.Join(t.TempDir(), "out", "records.ndjson"))
					v.edit(cfg)
					d, err := New(cfg, plugintest.Settings(t, "dst", nil))
					if err != nil {
						t.Fatal(err)
					}
					return d
				},
				Delivered: func(t *testing.T) []string { return delivered(t, cfg.Path, cfg.MaxFiles) },
				Key:       plugintest.RawKey,
			})
		})
	}
}

// batchOf returns records whose lines are n bytes long, newline included.
func batchOf(tag string, n int, count int) []*event.Record {
	var out []*event.Record
	for i := range count {
		head := fmt.Sprintf(`{"id":"%s-%d","pad":"`, tag, i)
		pad := n - 1 - len(head) - len(`"}`)
		out = append(out, &event.Record{Raw: []byte(head + strings.Repeat("p", pad) + `"}`)})
	}
	return out
}

func raws(recs ...[]*event.Record) []string {
	var out []string
	for _, b := range recs {
		for _, r := range b {
			out = append(out, string(r.Raw))
		}
	}
	return out
}

func write(t *testing.T, d *Destination, recs []*event.Record) {
	t.Helper()
	if err := d.Write(context.Background(), recs); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func TestRotationBySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	cfg := configAt(path)
	cfg.MaxSize, cfg.MaxFiles = 4096, 2
	d := newDest(t, cfg)
	a := batchOf("a", 1000, 3) // 3000 bytes
	b := batchOf("b", 1000, 2) // 2000: 5000 > 4096, rotates first
	c := batchOf("c", 1000, 1) // 3000 in all: fits
	big := batchOf("big", 5000, 1)
	e := batchOf("e", 100, 1)
	check := func(want map[string][]string) {
		t.Helper()
		for _, name := range []string{path, path + ".1", path + ".2", path + ".3"} {
			if got := readLines(t, name); !slices.Equal(got, want[name]) {
				t.Fatalf("%s holds %d lines %.60q, want %d", filepath.Base(name), len(got), got, len(want[name]))
			}
		}
	}
	write(t, d, a)
	write(t, d, b)
	check(map[string][]string{path + ".1": raws(a), path: raws(b)})
	write(t, d, c)
	check(map[string][]string{path + ".1": raws(a), path: raws(b, c)})
	// A batch larger than max_size goes whole into a file of its own.
	write(t, d, big)
	check(map[string][]string{path + ".2": raws(a), path + ".1": raws(b, c), path: raws(big)})
	// max_files 2: the oldest is removed.
	write(t, d, e)
	check(map[string][]string{path + ".2": raws(b, c), path + ".1": raws(big), path: raws(e)})
	// Sizes count what was there before the destination opened the file.
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	d2 := newDest(t, cfg)
	f := batchOf("f", 4000, 1) // 100 + 4000 > 4096
	write(t, d2, f)
	check(map[string][]string{path + ".2": raws(big), path + ".1": raws(e), path: raws(f)})
}

func TestRotationWithoutKeptFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.ndjson")
	cfg := configAt(path)
	cfg.MaxSize, cfg.MaxFiles = 4096, 0
	d := newDest(t, cfg)
	a, b := batchOf("a", 3000, 1), batchOf("b", 3000, 1)
	write(t, d, a)
	write(t, d, b)
	if got := readLines(t, path); !slices.Equal(got, raws(b)) {
		t.Fatalf("file holds %.40q, want only the newest batch", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files, want 1 (max_files 0 keeps no rotated file)", len(entries))
	}
}

func TestNoRotationWithMaxSizeZero(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	cfg := configAt(path)
	cfg.MaxSize = 0
	d := newDest(t, cfg)
	var all [][]*event.Record
	for i := range 20 {
		b := batchOf(fmt.Sprint(i), 1000, 10)
		all = append(all, b)
		write(t, d, b)
	}
	if got := readLines(t, path); !slices.Equal(got, raws(all...)) {
		t.Fatalf("file holds %d lines, want %d", len(got), 200)
	}
	if _, err := os.Stat(path + ".1"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("rotated although max_size is 0: %v", err)
	}
}

func TestAppendsToAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	if err := os.WriteFile(path, []byte(`{"id":"before"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newDest(t, configAt(path))
	write(t, d, []*event.Record{{Raw: []byte(`{"id":"after"}`)}})
	if got := readLines(t, path); !slices.Equal(got, []string{`{"id":"before"}`, `{"id":"after"}`}) {
		t.Fatalf("file holds %q", got)
	}
}

func TestSync(t *testing.T) {
	for _, sync := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.ndjson")
			cfg := configAt(path)
			cfg.Sync = sync
			d := newDest(t, cfg)
			b := batchOf("s", 200, 5)
			write(t, d, b)
			// Written through to the file before Write returns, without Close.
			if got := readLines(t, path); !slices.Equal(got, raws(b)) {
				t.Fatalf("file holds %d lines before Close, want %d", len(got), len(b))
			}
		})
	}
}

func TestReopenAfterAWriteFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	d := newDest(t, configAt(path))
	first := batchOf("first", 100, 2)
	write(t, d, first)
	// The descriptor goes bad under the destination: the write fails and the file is dropped.
	_ = d.f.Close()
	second := batchOf("second", 100, 2)
	if err := d.Write(context.Background(), second); err == nil {
		t.Fatal("Write on a closed descriptor succeeded")
	}
	if d.f != nil {
		t.Fatal("the failed descriptor was kept")
	}
	// The retry reopens the file and appends.
	write(t, d, second)
	if got := readLines(t, path); !slices.Equal(got, raws(first, second)) {
		t.Fatalf("file holds %.50q", got)
	}
	// The file removed under the destination while it holds no descriptor: the next write
	// recreates it.
	_ = d.f.Close()
	_ = d.Write(context.Background(), second)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	third := batchOf("third", 100, 1)
	write(t, d, third)
	if got := readLines(t, path); !slices.Equal(got, raws(third)) {
		t.Fatalf("file holds %.50q", got)
	}
}

// A failed write to a full disk drops the descriptor; the retry reopens the file.
func TestReopenAfterAFullDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	cfg := configAt("/dev/full") // takes the open, fails every write
	d, err := New(cfg, plugintest.Settings(t, "dst", nil))
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	b := batchOf("b", 100, 1)
	if err := d.Write(context.Background(), b); err == nil {
		t.Fatal("a write to /dev/full succeeded")
	}
	if d.f != nil {
		t.Fatal("the descriptor whose write failed was kept")
	}
	cfg.Path = path
	write(t, d, b)
	if got := readLines(t, path); !slices.Equal(got, raws(b)) {
		t.Fatalf("file holds %.50q", got)
	}
}

// A line torn by a crash during a write stays a line of its own: the next record is whole.
func TestTornLineFromACrashIsEnded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	if err := os.WriteFile(path, []byte("{\"whole\":1}\n{\"torn"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := newDest(t, configAt(path))
	b := batchOf("b", 100, 2)
	write(t, d, b)
	want := append([]string{`{"whole":1}`, `{"torn`}, raws(b)...)
	if got := readLines(t, path); !slices.Equal(got, want) {
		t.Fatalf("file holds %q, want %q", got, want)
	}
}

func TestOpenFailure(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(configAt(filepath.Join(blocker, "sub", "out.ndjson")), plugintest.Settings(t, "dst", nil)); err == nil {
		t.Fatal("New succeeded under a regular file")
	}
	if _, err := New(configAt(dir), plugintest.Settings(t, "dst", nil)); err == nil {
		t.Fatal("New succeeded on a directory")
	}
}

func TestCloseThenWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	d := newDest(t, configAt(path))
	b := batchOf("b", 100, 1)
	write(t, d, b)
	for range 2 {
		if err := d.Close(context.Background()); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if err := d.Write(context.Background(), b); !errors.Is(err, errClosed) {
		t.Fatalf("Write after Close returned %v", err)
	}
	if d.f != nil {
		t.Fatal("Write after Close reopened the file")
	}
	if got := readLines(t, path); !slices.Equal(got, raws(b)) {
		t.Fatalf("file holds %.50q", got)
	}
}

func TestRecordsSpanningLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	d := newDest(t, configAt(path))
	recs := []*event.Record{
		{Raw: []byte("{\n  \"id\": \"pretty\",\n  \"msg\": \"a\\nb\"\r\n}")},
		{Raw: []byte("{\"id\":\n")},
		{Raw: []byte(`{"id":"plain"}`)},
	}
	err := d.Write(context.Background(), recs)
	var be *plugin.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 {
		t.Fatalf("Write returned %v, want a BatchError for record 1", err)
	}
	var re *plugin.RefusedError
	if !errors.As(be.Failed[1], &re) {
		t.Fatalf("record 1 failed with %v, want a refusal", be.Failed[1])
	}
	want := []string{`{"id":"pretty","msg":"a\nb"}`, `{"id":"plain"}`}
	if got := readLines(t, path); !slices.Equal(got, want) {
		t.Fatalf("file holds %q, want %q", got, want)
	}
}

func TestConcurrentWritesAndRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.ndjson")
	cfg := configAt(path)
	cfg.MaxSize, cfg.MaxFiles, cfg.Sync = 8192, 1000, false
	d := newDest(t, cfg)
	done := make(chan []*event.Record)
	for w := range 4 {
		go func() {
			var mine []*event.Record
			for i := range 25 {
				b := batchOf(fmt.Sprintf("w%d-%d", w, i), 300, 3)
				if err := d.Write(context.Background(), b); err != nil {
					t.Error(err)
				}
				mine = append(mine, b...)
			}
			done <- mine
		}()
	}
	var want []string
	for range 4 {
		want = append(want, raws(<-done)...)
	}
	got := delivered(t, path, cfg.MaxFiles)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%d lines across the files, want %d", len(got), len(want))
	}
	for i := 1; ; i++ {
		fi, err := os.Stat(fmt.Sprintf("%s.%d", path, i))
		if err != nil {
			if i < 3 {
				t.Fatalf("only %d rotations", i-1)
			}
			break
		}
		if fi.Size() > int64(cfg.MaxSize) {
			t.Fatalf("rotated file %d holds %d bytes, more than max_size", i, fi.Size())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"defaults with a path", func(*Config) {}, nil},
		{"no rotation", func(c *Config) { c.MaxSize = 0 }, nil},
		{"smallest max size", func(c *Config) { c.MaxSize = 4096 }, nil},
		{"max files bounds", func(c *Config) { c.MaxFiles = 0 }, nil},
		{"max files upper bound", func(c *Config) { c.MaxFiles = 1000 }, nil},
		{"no path", func(c *Config) { c.Path = "" }, []string{"path: missing"}},
		{"max size too small", func(c *Config) { c.MaxSize = 4095 }, []string{"max_size"}},
		{"max size negative", func(c *Config) { c.MaxSize = -1 }, []string{"max_size"}},
		{"max files negative", func(c *Config) { c.MaxFiles = -1 }, []string{"max_files"}},
		{"max files too many", func(c *Config) { c.MaxFiles = 1001 }, []string{"max_files"}},
		{"group may read", func(c *Config) { c.Mode = 0o640 }, nil},
		{"owner may not write", func(c *Config) { c.Mode = 0o400 }, []string{"mode: 0400"}},
		{"every problem", func(c *Config) { *c = Config{MaxSize: 1, MaxFiles: -1} }, []string{"path", "max_size", "max_files", "mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configAt("/var/lib/logshipper/out.ndjson")
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
				t.Fatalf("problems %q, want %d", msgs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(msgs[i], w) {
					t.Errorf("problem %q does not mention %q", msgs[i], w)
				}
			}
		})
	}
}

func TestDefaultsAndFactory(t *testing.T) {
	f := Factory()
	if f.Type != "file" || f.Kind != plugin.KindDestination {
		t.Fatalf("factory %s %s", f.Type, f.Kind)
	}
	c := f.NewConfig().(*Config)
	if c.Path != "" || c.MaxSize != config.ByteSize(100<<20) || c.MaxFiles != 5 || !c.Sync {
		t.Fatalf("defaults %+v (the README lists them)", *c)
	}
	c.Path = filepath.Join(t.TempDir(), "x.ndjson")
	d, err := f.NewDestination(c, plugintest.Settings(t, "dst", nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The files written, and a directory made for them, are their owner's alone by default; mode
// widens them.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for _, tc := range []struct {
		mode      config.FileMode
		file, dir os.FileMode
	}{{0o600, 0o600, 0o700}, {0o640, 0o640, 0o750}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "made", "out.ndjson")
			cfg := configAt(path)
			cfg.Mode = tc.mode
			d, err := New(cfg, plugintest.Settings(t, "out", nil))
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Write(context.Background(), []*event.Record{plugintest.NewRecord("a", nil)}); err != nil {
				t.Fatal(err)
			}
			_ = d.Close(context.Background())
			for p, want := range map[string]os.FileMode{path: tc.file, filepath.Dir(path): tc.dir} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("%s: mode %v, want %v", p, got, want)
				}
			}
		})
	}
}
