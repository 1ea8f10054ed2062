// Package plugintest is what plugin tests are written with: settings for a plugin instance under
// test (Settings, with a Dropper that keeps what it is given), a fake Publisher whose batches the
// test acknowledges when and how it likes, Start to run a source in the background, and the
// conformance suites every source (RunSourceSuite) and every destination (RunDestinationSuite)
// must pass.
//
// A source's test gives the suite a harness over a world it can add records to:
//
//	func TestSourceSuite(t *testing.T) {
//		var dir string
//		n := 0
//		plugintest.RunSourceSuite(t, plugintest.SourceHarness{
//			Setup: func(t *testing.T) { dir, n = t.TempDir(), 0 },
//			New: func(t *testing.T, store state.Store) plugin.Source {
//				return mysource.New(configOver(dir), plugintest.Settings(t, "src", store))
//			},
//			Produce: func(t *testing.T, k int) []string { ...add k records with ids...; return ids },
//			Key:     plugintest.IDKey,
//		})
//	}
//
// and a destination's test a harness over its far end:
//
//	var buf syncBuffer
//	plugintest.RunDestinationSuite(t, plugintest.DestinationHarness{
//		New:       func(*testing.T) plugin.Destination { buf.Reset(); return mydest.New(&buf) },
//		Delivered: func(*testing.T) []string { return buf.Lines() },
//		Key:       plugintest.RawKey,
//	})
//
// It depends only on the standard library and the project's own packages (never on a plugin),
// so any plugin's tests, internal or external, can import it. Run the suites with -race.
package plugintest

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// DefaultTimeout bounds every wait of the helpers and suites: long enough for a loaded machine
// running with -race, short enough that a hung plugin fails the test rather than the run.
const DefaultTimeout = 5 * time.Second

// Settings returns the settings of a plugin instance under test: a logger writing to t.Log (at
// debug level, so a failing test shows what the plugin said), fresh metrics, store (a fresh
// in-memory namespace when nil), a *Dropper recording drops, and a DataDir under t.TempDir().
func Settings(t testing.TB, name string, store state.Store) plugin.Settings {
	t.Helper()
	if store == nil {
		store = state.NewMemory().Namespace("plugin/" + name)
	}
	return plugin.Settings{
		Name:    name,
		Logger:  Logger(t).With("plugin", name),
		Metrics: telemetry.NewMetrics("test").Plugin(name),
		State:   store,
		DataDir: t.TempDir(),
		Dropper: &Dropper{},
	}
}

// DropperOf returns the *Dropper of settings made by Settings, failing the test otherwise.
func DropperOf(t testing.TB, set plugin.Settings) *Dropper {
	t.Helper()
	d, ok := set.Dropper.(*Dropper)
	if !ok {
		t.Fatalf("plugintest: settings' Dropper is %T, not *plugintest.Dropper", set.Dropper)
	}
	return d
}

// Logger returns a logger writing to t.Log at debug level. Lines logged once the test has
// finished (by a goroutine the plugin left behind) are discarded instead of panicking.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

// Drop is one input a source dropped.
type Drop struct {
	Raw    []byte
	Reason plugin.Reason
	Err    error
}

// Dropper is a plugin.Dropper that keeps every drop in memory. Safe for concurrent use.
type Dropper struct {
	mu    sync.Mutex
	drops []Drop
	fail  error
}

var _ plugin.Dropper = (*Dropper)(nil)

// Drop implements plugin.Dropper. It keeps a copy of raw, or returns the error set by Fail.
func (d *Dropper) Drop(_ context.Context, raw []byte, reason plugin.Reason, err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	d.drops = append(d.drops, Drop{Raw: bytes.Clone(raw), Reason: reason, Err: err})
	return nil
}

// Fail makes every later Drop fail with err (nil: succeed again), as a broken dead-letter
// store would.
func (d *Dropper) Fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail = err
}

// Drops returns the drops so far, in the order they came.
func (d *Dropper) Drops() []Drop {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Drop(nil), d.drops...)
}

// Count returns how many drops had reason r.
func (d *Dropper) Count(r plugin.Reason) int {
	n := 0
	for _, x := range d.Drops() {
		if x.Reason == r {
			n++
		}
	}
	return n
}

// Eventually polls cond until it holds, failing the test with what it waited for after timeout
// (DefaultTimeout when 0). It never sleeps longer than a few milliseconds at a time.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("plugintest: timed out after %s waiting for %s", orDefault(timeout), what)
	}
}

// Poll polls cond until it holds or timeout (DefaultTimeout when 0) passes, and reports
// whether it held.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(orDefault(timeout))
	for wait := time.Millisecond; ; wait = min(wait*2, 20*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return cond()
		}
		time.Sleep(wait)
	}
}

func orDefault(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultTimeout
	}
	return d
}
