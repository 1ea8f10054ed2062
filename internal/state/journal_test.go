package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// kill stops d as a kill -9 would: nothing more is committed, the journal file stays as it is
// and the lock is released (the process is gone).
func kill(t *testing.T, d *DB) {
	t.Helper()
	if d.j != nil {
		close(d.j.stop)
		<-d.j.done
		_ = d.j.f.Close()
	}
	if err := d.db.Close(); err != nil {
		t.Fatal(err)
	}
}

// committed reads key of bucket from the state file itself, leaving the journal out.
func committed(t *testing.T, d *DB, bucket, key string) (string, bool) {
	t.Helper()
	var v []byte
	err := d.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			v = b.Get([]byte(key))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(v), v != nil
}

// Writes between two commits are in the journal only; a process killed then leaves them to
// the next Open, which finds every one.
func TestJournalKeepsWritesAcrossAKill(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenWith(dir, Options{SyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ns := d.Namespace("plugin/src")
	mustPut(t, ns, "gone", "soon deleted")
	if err := d.j.commit(); err != nil {
		t.Fatal(err)
	}
	mustPut(t, ns, "pos", "1")
	mustPut(t, ns, "pos", "2")
	if err := ns.Delete(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	if v, ok := committed(t, d, "plugin/src", "pos"); ok {
		t.Fatalf("pos is in the state file (%q) before a commit", v)
	}
	if got := mustGet(t, ns, "pos"); got != "2" {
		t.Fatalf("Get before the commit = %q; want 2", got)
	}
	kill(t, d)

	d2, err := OpenWith(dir, Options{SyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	ns2 := d2.Namespace("plugin/src")
	if got := mustGet(t, ns2, "pos"); got != "2" {
		t.Fatalf("after the kill pos = %q; want 2", got)
	}
	if _, err := ns2.Get(context.Background(), "gone"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the kill the deleted key reads %v; want ErrNotFound", err)
	}
	if v, ok := committed(t, d2, "plugin/src", "pos"); v != "2" || !ok {
		t.Fatalf("the replayed journal is not in the state file: %q, %v", v, ok)
	}
}

// A machine crash may leave the journal's last write torn, or lose the end of the file: Open
// keeps every whole record before it and starts cleanly.
func TestJournalTornTail(t *testing.T) {
	tests := []struct {
		name string
		cut  func(b []byte) []byte
		want string // pos after the Open
	}{
		{"whole", func(b []byte) []byte { return b }, "3"},
		{"last record cut short", func(b []byte) []byte { return b[:len(b)-3] }, "2"},
		{"last record's bytes changed", func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b }, "2"},
		{"garbage after the records", func(b []byte) []byte { return append(b, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5) }, "3"},
		{"empty", func([]byte) []byte { return nil }, "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d, err := OpenWith(dir, Options{SyncInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			ns := d.Namespace("ns")
			mustPut(t, ns, "pos", "0")
			if err := d.j.commit(); err != nil {
				t.Fatal(err)
			}
			for _, v := range []string{"1", "2", "3"} {
				mustPut(t, ns, "pos", v)
			}
			kill(t, d)
			path := filepath.Join(dir, JournalName)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.cut(b), 0o600); err != nil {
				t.Fatal(err)
			}
			d2, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer d2.Close()
			if got := mustGet(t, d2.Namespace("ns"), "pos"); got != tc.want {
				t.Fatalf("pos = %q; want %q", got, tc.want)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the journal is still there after Open replayed it: %v", err)
			}
		})
	}
}

// A kill during a commit leaves the rotated journal beside the new one: Open replays the old
// one first, so the newer writes win.
func TestJournalKillDuringACommit(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenWith(dir, Options{SyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ns := d.Namespace("ns")
	mustPut(t, ns, "pos", "old")
	mustPut(t, ns, "other", "kept")
	d.j.mu.Lock()
	err = d.j.rotate() // what a commit does before it writes to bbolt
	d.j.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, ns, "pos", "new")
	kill(t, d)
	if _, err := os.Stat(filepath.Join(dir, journalOld)); err != nil {
		t.Fatalf("no rotated journal: %v", err)
	}

	d2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if got := mustGet(t, d2.Namespace("ns"), "pos"); got != "new" {
		t.Fatalf("pos = %q; want the newer write", got)
	}
	if got := mustGet(t, d2.Namespace("ns"), "other"); got != "kept" {
		t.Fatalf("other = %q; want kept", got)
	}
}

// The interval's commit writes the journal to the state file without Close; a clean Close
// commits the rest and leaves no journal.
func TestJournalCommitsEveryIntervalAndAtClose(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenWith(dir, Options{SyncInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ns := d.Namespace("ns")
	mustPut(t, ns, "a", "1")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, ok := committed(t, d, "ns", "a"); ok && v == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the write was not committed within 5 s at a 5 ms interval")
		}
		time.Sleep(time.Millisecond)
	}
	mustPut(t, ns, "b", "2")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{JournalName, journalOld} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s is still there after Close: %v", name, err)
		}
	}
	d2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if got := mustGet(t, d2.Namespace("ns"), "b"); got != "2" {
		t.Fatalf("b = %q after Close; want 2", got)
	}
}

// Keys sees the journal's writes: keys put since the last commit, not keys deleted since.
func TestJournalKeys(t *testing.T) {
	d, err := OpenWith(t.TempDir(), Options{SyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ns := d.Namespace("ns")
	mustPut(t, ns, "p/1", "x")
	mustPut(t, ns, "p/2", "x")
	if err := d.j.commit(); err != nil {
		t.Fatal(err)
	}
	mustPut(t, ns, "p/3", "x")
	mustPut(t, ns, "q/1", "x")
	if err := ns.Delete(context.Background(), "p/1"); err != nil {
		t.Fatal(err)
	}
	got, err := ns.Keys(context.Background(), "p/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"p/2", "p/3"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Keys = %q; want %q", got, want)
	}
}

// The first value of a key is synced to disk before Put returns (a first position lost in a
// machine crash would be resolved again, later); the values after it are not, nor a key the
// state file already holds.
func TestJournalSyncsAKeysFirstValue(t *testing.T) {
	dir := t.TempDir()
	var syncs []string
	open := func() *DB {
		d, err := OpenWith(dir, Options{SyncInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		d.j.sync = func(_ *os.File, withDir bool) error {
			s := "file"
			if withDir {
				s = "file+dir"
			}
			syncs = append(syncs, s)
			return nil
		}
		return d
	}
	d := open()
	ns := d.Namespace("ns")
	mustPut(t, ns, "a", "1")
	mustPut(t, ns, "a", "2")
	mustPut(t, ns, "b", "1")
	if err := ns.Delete(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, ns, "b", "again")
	if want := []string{"file+dir", "file", "file"}; !slices.Equal(syncs, want) {
		t.Fatalf("syncs %q; want %q (a, b, b again after its deletion)", syncs, want)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	syncs = nil
	d = open()
	defer d.Close()
	mustPut(t, d.Namespace("ns"), "a", "3")
	if len(syncs) != 0 {
		t.Fatalf("a key the state file holds was synced: %q", syncs)
	}
	mustPut(t, d.Namespace("ns"), "c", "1")
	if want := []string{"file+dir"}; !slices.Equal(syncs, want) {
		t.Fatalf("syncs %q; want %q", syncs, want)
	}
}
