package state_test

import (
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/internal/state/statetest"
)

func TestStoreConformance(t *testing.T) {
	impls := []struct {
		name string
		open func(t *testing.T) statetest.Root
	}{
		{"bbolt", func(t *testing.T) statetest.Root {
			t.Helper()
			db, err := state.Open(t.TempDir())
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
		{"bbolt with a journal", func(t *testing.T) statetest.Root {
			t.Helper()
			db, err := state.OpenWith(t.TempDir(), state.Options{SyncInterval: time.Millisecond})
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
		{"memory", func(*testing.T) statetest.Root { return state.NewMemory() }},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) { statetest.Run(t, impl.open) })
	}
}
