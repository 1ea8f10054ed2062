package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// root is what both implementations offer at the top: a way to get a namespace.
type root interface {
	Namespace(name string) Store
}

var (
	_ root = (*DB)(nil)
	_ root = (*Memory)(nil)
)

// impls opens a fresh root of each Store implementation; every behaviour test runs on both, so
// the in-memory store used in tests cannot drift from the bbolt store used in production.
var impls = []struct {
	name string
	open func(t *testing.T) root
}{
	{"bbolt", func(t *testing.T) root {
		t.Helper()
		db, err := Open(t.TempDir())
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return db
	}},
	{"bbolt with a journal", func(t *testing.T) root {
		t.Helper()
		// Commits every millisecond, so that the tests meet them between their writes.
		db, err := OpenWith(t.TempDir(), Options{SyncInterval: time.Millisecond})
		if err != nil {
			t.Fatalf("OpenWith: %v", err)
		}
		t.Cleanup(func() {
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return db
	}},
	{"memory", func(*testing.T) root { return NewMemory() }},
}

func mustPut(t *testing.T, s Store, key, value string) {
	t.Helper()
	if err := s.Put(context.Background(), key, []byte(value)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t *testing.T, s Store, key string) string {
	t.Helper()
	v, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v)
}

func TestBoltPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db.Namespace("a"), "k", "v")
	mustPut(t, db.Namespace("a").Namespace("b"), "k", "nested")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("state file: %v", err)
	}

	db, err = Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if got := mustGet(t, db.Namespace("a"), "k"); got != "v" {
		t.Fatalf("a/k = %q after reopen", got)
	}
	if got := mustGet(t, db.Namespace("a").Namespace("b"), "k"); got != "nested" {
		t.Fatalf("a.b/k = %q after reopen", got)
	}
}

func TestOpenCreatesDirAndPidFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deep", "data")
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, pidFileName))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	if got, want := strings.TrimSpace(string(b)), strconv.Itoa(os.Getpid()); got != want {
		t.Fatalf("pid file holds %q; want %q", got, want)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, pidFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pid file after Close: %v; want it removed", err)
	}
}

func TestOpenFailsOnBadDir(t *testing.T) {
	// A regular file where the data directory should be.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(file)
	if err == nil {
		db.Close()
		t.Fatal("Open on a regular file succeeded")
	}
	if errors.Is(err, ErrLocked) {
		t.Fatalf("Open on a regular file: %v; must not be ErrLocked", err)
	}
}

func TestOpenLockedInSameProcess(t *testing.T) {
	tests := []struct {
		name       string
		removePid  bool
		wantPidMsg bool
	}{
		{"with pid file", false, true},
		{"without pid file", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			closeFirst := sync.OnceValue(first.Close)
			defer closeFirst()
			if tc.removePid {
				if err := os.Remove(filepath.Join(dir, pidFileName)); err != nil {
					t.Fatal(err)
				}
			}

			second, err := Open(dir)
			if err == nil {
				second.Close()
				t.Fatal("second Open of a locked data directory succeeded")
			}
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("err = %v; want it to wrap ErrLocked", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, dir) {
				t.Errorf("error %q does not name the directory %q", msg, dir)
			}
			pidMsg := fmt.Sprintf("(pid %d)", os.Getpid())
			if got := strings.Contains(msg, pidMsg); got != tc.wantPidMsg {
				t.Errorf("error %q: contains %q = %v; want %v", msg, pidMsg, got, tc.wantPidMsg)
			}
			if !tc.wantPidMsg && strings.Contains(msg, "(pid") {
				t.Errorf("error %q mentions a pid with no pid file", msg)
			}

			// The first handle still works, and once closed the directory is free again.
			mustPut(t, first.Namespace("ns"), "k", "v")
			if err := closeFirst(); err != nil {
				t.Fatal(err)
			}
			third, err := Open(dir)
			if err != nil {
				t.Fatalf("Open after the owner closed: %v", err)
			}
			defer third.Close()
			if got := mustGet(t, third.Namespace("ns"), "k"); got != "v" {
				t.Fatalf("k = %q", got)
			}
		})
	}
}
