package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/state"
)

// seedState writes a single process's state into dataDir: two sources' positions and a spool
// index.
func seedState(t *testing.T, dataDir string) map[string]string {
	t.Helper()
	db, err := state.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]string{
		"plugin/acme alerts/dlp":    `{"iterator":"a"}`,
		"plugin/acme events/page":   `{"iterator":"b"}`,
		"plugin/cw us-east-1/trail": "\x00binary\xff",
		"spool/lake head":           "12",
	}
	for k, v := range want {
		ns, key, _ := strings.Cut(k, " ")
		if err := db.Namespace(ns).Put(context.Background(), key, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// state export then state import carries the sources' positions of a data directory into the
// cluster's store, byte for byte, as internal/app opens them; the spool index stays behind.
func TestStateExportImport(t *testing.T) {
	path, dir := writeClusterConfig(t)
	want := seedState(t, filepath.Join(dir, "data"))
	dump := filepath.Join(dir, "state.jsonl")

	out, errOut, code := execute(t, clusterDial{}, "", "state", "export", "-c", path, "-o", dump)
	if code != 0 || !strings.Contains(errOut, "exported 4 keys of "+filepath.Join(dir, "data", "state.db")) {
		t.Fatalf("export: exit %d:\n%s%s", code, out, errOut)
	}

	mem := state.NewMemory()
	f := &fakeCluster{store: mem, st: cluster.Status{Members: []cluster.Member{{Node: "ls-1-import"}}}}
	var nodes []string
	out, errOut, code = execute(t, fakeDial(f, nil, &nodes), "", "state", "import", "-c", path, "-i", dump)
	if code != 0 {
		t.Fatalf("import: exit %d:\n%s%s", code, out, errOut)
	}
	for _, w := range []string{"imported 3 keys (0 unchanged) of 2 sources", "kept out: 1 keys of spool/lake"} {
		if !strings.Contains(out, w) {
			t.Errorf("import output lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(errOut, `has no plugin configuration "cw"`) {
		t.Errorf("no warning for the state of a source the configuration lacks:\n%s", errOut)
	}
	if len(nodes) != 1 || nodes[0] != "ls-1-import" || !f.closed {
		t.Errorf("joined as %q, closed %v; want ls-1-import, closed", nodes, f.closed)
	}
	store := f.Store()
	for k, v := range want {
		ns, key, _ := strings.Cut(k, " ")
		got, err := store.Namespace(ns).Get(context.Background(), key)
		if ns == "spool/lake" {
			if !errors.Is(err, state.ErrNotFound) {
				t.Errorf("%s was imported (%q, %v)", k, got, err)
			}
			continue
		}
		if err != nil || string(got) != v {
			t.Errorf("%s = %q, %v; want %q", k, got, err, v)
		}
	}

	// Again: every key is there with its value.
	out, errOut, code = execute(t, fakeDial(f, nil, &nodes), "", "state", "import", "-c", path, "-i", dump)
	if code != 0 || !strings.Contains(out, "imported 0 keys (3 unchanged)") {
		t.Fatalf("second import: exit %d:\n%s%s", code, out, errOut)
	}
}

func TestStateImportRefuses(t *testing.T) {
	path, dir := writeClusterConfig(t)
	seedState(t, filepath.Join(dir, "data"))
	dump := filepath.Join(dir, "state.jsonl")
	if _, errOut, code := execute(t, clusterDial{}, "", "state", "export", "-c", path, "-o", dump); code != 0 {
		t.Fatal(errOut)
	}
	var nodes []string
	running := &fakeCluster{store: state.NewMemory(), st: cluster.Status{Members: []cluster.Member{{Node: "ls-1-import"}, {Node: "ls-2"}}}}
	conflicting := &fakeCluster{store: state.NewMemory()}
	if err := conflicting.Store().Namespace("plugin/acme").Put(context.Background(), "alerts/dlp", []byte("newer")); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	writeFile(t, bad, "{\"namespace\":\"plugin/acme\",\"key\":\"k\",\"value\":\"eA==\"}\n{\"namespace\":\"plugin/acme\"}\n")
	tests := []struct {
		name string
		dial clusterDial
		args []string
		want string
	}{
		{"members running", fakeDial(running, nil, &nodes), nil, "members ls-2 are running: stop them first"},
		{"conflict", fakeDial(conflicting, nil, &nodes), nil, "already holds 1 of these keys with other values (plugin/acme alerts/dlp): nothing written; --overwrite replaces them"},
		{"unreachable", fakeDial(nil, errors.New("nats: no servers available for connection"), &nodes), nil, "cannot reach the cluster through nats://n1:4222, nats://n2:4222"},
		{"not an export", fakeDial(running, nil, &nodes), []string{"-i", bad}, "line 2: not a state entry: namespace and key are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"state", "import", "-c", path, "-i", dump}, tt.args...)
			out, errOut, code := execute(t, tt.dial, "", args...)
			if code != 1 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, want 1; stderr lacks %q:\n%s%s", code, tt.want, out, errOut)
			}
		})
	}
	// Nothing of the refused import was written.
	if keys, _ := conflicting.Store().Namespace("plugin/acme").Keys(context.Background(), ""); len(keys) != 1 {
		t.Errorf("after the refused import the cluster holds %q", keys)
	}
	// --overwrite replaces the conflicting key.
	out, errOut, code := execute(t, fakeDial(conflicting, nil, &nodes), "", "state", "import", "-c", path, "-i", dump, "--overwrite")
	if code != 0 || !strings.Contains(out, "imported 3 keys") {
		t.Fatalf("--overwrite: exit %d:\n%s%s", code, out, errOut)
	}
	if v, _ := conflicting.Store().Namespace("plugin/acme").Get(context.Background(), "alerts/dlp"); string(v) != `{"iterator":"a"}` {
		t.Errorf("after --overwrite alerts/dlp = %q", v)
	}
}

// importState on the stores of internal/state: bbolt to bbolt (a data directory moved to
// another) and nested namespaces opened one name at a time.
func TestImportStateBolt(t *testing.T) {
	ctx := context.Background()
	src, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_ = src.Namespace("plugin/acme").Put(ctx, "alerts/dlp", []byte("1"))
	_ = src.Namespace("plugin/acme").Namespace("dedup").Put(ctx, "w", []byte("2"))
	var buf bytes.Buffer
	if _, err := state.Export(ctx, src, &buf); err != nil {
		t.Fatal(err)
	}
	var entries []state.Entry
	if err := state.ReadEntries(&buf, func(_ int, e state.Entry) error { entries = append(entries, e); return nil }); err != nil {
		t.Fatal(err)
	}
	dst, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	res, err := importState(ctx, dst, entries, false)
	if err != nil || res.written != 2 {
		t.Fatalf("importState = %+v, %v", res, err)
	}
	mem := state.NewMemory()
	if _, err := importState(ctx, mem, entries, false); err != nil {
		t.Fatal(err)
	}
	for name, root := range map[string]namespacer{"bbolt": dst, "memory": mem} {
		if v, err := root.Namespace("plugin/acme").Namespace("dedup").Get(ctx, "w"); err != nil || string(v) != "2" {
			t.Errorf("%s: nested namespace: %q, %v", name, v, err)
		}
	}
}

// Export of a data directory where logshipper never ran creates nothing and says so.
func TestStateExportNoStateFile(t *testing.T) {
	path, dir := writeClusterConfig(t)
	out, errOut, code := execute(t, clusterDial{}, "", "state", "export", "-c", path)
	if code != 0 || out != "" || !strings.Contains(errOut, "exported 0 keys: there is no") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("export created the data directory (%v)", err)
	}
}
