package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/spool"
	"github.com/logshipper/logshipper/internal/state"
)

// stepSource publishes one batch each time next receives, and reports each Publish's return.
type stepSource struct {
	batches  [][]*event.Record
	next     chan struct{}
	returned chan error
	outcomes chan event.Outcome
}

func newStepSource(batches ...[]*event.Record) *stepSource {
	n := len(batches)
	return &stepSource{batches: batches, next: make(chan struct{}, n), returned: make(chan error, n), outcomes: make(chan event.Outcome, n)}
}

func (s *stepSource) Run(ctx context.Context, pub plugin.Publisher) error {
	for _, b := range s.batches {
		select {
		case <-s.next:
		case <-ctx.Done():
			return nil
		}
		s.returned <- pub.Publish(ctx, b, func(o event.Outcome) { s.outcomes <- o })
	}
	<-ctx.Done()
	return nil
}

// step publishes the next batch and returns what Publish returned and the batch's outcome.
func (s *stepSource) step(t *testing.T) (event.Outcome, error) {
	t.Helper()
	s.next <- struct{}{}
	err := <-s.returned
	return <-s.outcomes, err
}

func brokenDest() *fakeDest {
	return &fakeDest{behave: func(int, []string) error { return plugin.Fatal(errors.New("wrong credentials")) }}
}

// withSpool gives the harness's last destination a spool in dir, its progress in store.
func (h *harness) withSpool(dir string, store state.Store, maxBytes int64) *spool.Spool {
	h.t.Helper()
	sp, err := spool.Open(context.Background(), dir, maxBytes, store, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { sp.Close() })
	h.dests[len(h.dests)-1].Spool = sp
	return sp
}

// Without a spool (spool_max_size: 0), a source that feeds a destination stopped by a fatal
// error is stopped: it publishes nothing more, so its other destinations do not receive the
// records it would read again; Status and Run say why.
func TestStoppedDestinationWithoutSpoolStopsItsSources(t *testing.T) {
	h := newHarness(t)
	src := newStepSource(recs("a", "b"), recs("c"))
	other := &fakeDest{}
	h.source("src", src)
	h.dest("broken", brokenDest(), fastOpts())
	h.dest("other", other, fastOpts())
	h.route("src", "broken", nil)
	h.route("src", "other", nil)
	e, stop := h.start()
	if o, err := src.step(t); err != nil || o != event.Nacked {
		t.Fatalf("first batch: Publish %v, outcome %v; want nil, nacked", err, o)
	}
	o, err := src.step(t)
	var held *HeldError
	if !errors.As(err, &held) || held.Destination != "broken" || o != event.Nacked {
		t.Fatalf("second batch: Publish %v, outcome %v; want a HeldError naming broken, nacked", err, o)
	}
	eventually(t, "the source to be reported stopped", func() bool {
		return strings.Contains(e.Status()["src"], "destination broken stopped (wrong credentials) and has no spool")
	})
	if got := other.delivered(); len(got) != 2 {
		t.Fatalf("the healthy route received %v; want only the first batch's 2 records", got)
	}
	err = stop()
	for _, want := range []string{"destination broken stopped: wrong credentials", "source src: destination broken stopped"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run returned %v; want it to hold %q", err, want)
		}
	}
}

// With a spool, the records of a stopped destination are kept on disk and acknowledged: its
// source reads on and the other destination receives every record once. The next run, with
// the destination fixed, sends it every record it missed, once, and empties the spool.
func TestStoppedDestinationSpoolsAndItsSiblingsGoOn(t *testing.T) {
	dir, store := filepath.Join(t.TempDir(), "spool"), state.NewMemory().Namespace("spool/broken")
	h := newHarness(t)
	src := newStepSource(recs("a", "b"), recs("c", "d"), recs("e"))
	other := &fakeDest{}
	h.source("src", src)
	h.dest("broken", brokenDest(), fastOpts())
	sp := h.withSpool(dir, store, 1<<20)
	h.dest("other", other, fastOpts())
	h.route("src", "broken", nil)
	h.route("src", "other", nil)
	e, stop := h.start()
	for i := range 3 {
		if o, err := src.step(t); err != nil || o != event.Acked {
			t.Fatalf("batch %d: Publish %v, outcome %v; want nil, acked (kept in the spool)", i, err, o)
		}
	}
	if got := other.delivered(); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("the healthy destination received %v, want each record once", got)
	}
	if st := e.Status(); !strings.Contains(st["broken"], "wrong credentials") || st["src"] != "" {
		t.Fatalf("status %v: want broken stopped and src healthy", st)
	}
	if n := testutil.ToFloat64(h.metrics.Plugin("broken").Spooled); n != 5 {
		t.Errorf("logshipper_records_spooled_total %v, want 5", n)
	}
	err := stop()
	if err == nil || !strings.Contains(err.Error(), "its spool "+dir+" holds") {
		t.Errorf("Run returned %v; want the stopped destination's error naming its spool", err)
	}
	sp.Close()

	// Fixed and started again: the spool goes to it first.
	h2 := newHarness(t)
	fixed := &fakeDest{}
	h2.source("src", newScriptedSource(false))
	h2.dest("broken", fixed, fastOpts())
	sp2 := h2.withSpool(dir, store, 1<<20)
	h2.route("src", "broken", nil)
	h2.start()
	eventually(t, "the fixed destination to receive what it missed", func() bool { return len(fixed.delivered()) == 5 })
	got := fixed.delivered()
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("the fixed destination received %v, want each record once", got)
	}
	eventually(t, "the spool to be emptied", func() bool { return sp2.Size() == 0 && !sp2.Pending() })
}

// A destination that stops again while the spool is replayed keeps the records in the spool:
// nothing is lost, and the run after, with the destination fixed, receives them once.
func TestReplayToADestinationStillBrokenKeepsTheRecords(t *testing.T) {
	dir, store := filepath.Join(t.TempDir(), "spool"), state.NewMemory().Namespace("spool/d")
	run := func(d *fakeDest) {
		h := newHarness(t)
		h.source("src", newScriptedSource(false))
		h.dest("d", d, fastOpts())
		sp := h.withSpool(dir, store, 1<<20)
		h.route("src", "d", nil)
		_, stop := h.start()
		eventually(t, "the replay to end", func() bool { return !sp.Pending() || len(d.delivered()) > 0 })
		stop()
		sp.Close()
	}
	// The first run keeps two batches.
	h := newHarness(t)
	src := newStepSource(recs("a", "b"), recs("c"))
	h.source("src", src)
	h.dest("d", brokenDest(), fastOpts())
	sp := h.withSpool(dir, store, 1<<20)
	h.route("src", "d", nil)
	_, stop := h.start()
	if o, err := src.step(t); err != nil || o != event.Acked {
		t.Fatalf("Publish %v, outcome %v; want nil, acked", err, o)
	}
	stop()
	sp.Close()

	run(brokenDest())
	fixed := &fakeDest{}
	run(fixed)
	if got := fixed.delivered(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after a replay to a destination still broken, the fixed one received %v, want a and b once", got)
	}
}

// When every destination a source feeds has stopped, the source stops: reading on would only
// move its position with nothing delivered (what was in flight is kept in the spool).
func TestEveryDestinationStoppedStopsTheSource(t *testing.T) {
	h := newHarness(t)
	src := newStepSource(recs("a"), recs("b"))
	h.source("src", src)
	h.dest("broken", brokenDest(), fastOpts())
	h.withSpool(t.TempDir(), state.NewMemory().Namespace("s"), 1<<20)
	h.route("src", "broken", nil)
	e, stop := h.start()
	if o, err := src.step(t); err != nil || o != event.Acked {
		t.Fatalf("first batch: Publish %v, outcome %v; want nil, acked (kept in the spool)", err, o)
	}
	o, err := src.step(t)
	var held *HeldError
	if !errors.As(err, &held) || !held.All || o != event.Nacked {
		t.Fatalf("second batch: Publish %v, outcome %v; want a HeldError for every destination stopped, nacked", err, o)
	}
	eventually(t, "the source to be reported stopped", func() bool {
		return strings.Contains(e.Status()["src"], "every destination this source feeds stopped")
	})
	stop()
}

// A spool that cannot take more records stops the sources feeding it, as no spool does: the
// records are nacked, never lost, and the other destination does not receive them again.
func TestFullSpoolStopsTheSources(t *testing.T) {
	h := newHarness(t)
	src := newStepSource(recs("a", "b"), recs("c"))
	other := &fakeDest{}
	h.source("src", src)
	h.dest("broken", brokenDest(), fastOpts())
	h.withSpool(t.TempDir(), state.NewMemory().Namespace("s"), 10)
	h.dest("other", other, fastOpts())
	h.route("src", "broken", nil)
	h.route("src", "other", nil)
	e, stop := h.start()
	if o, err := src.step(t); err != nil || o != event.Nacked {
		t.Fatalf("first batch: Publish %v, outcome %v; want nil, nacked (the spool is too small)", err, o)
	}
	o, err := src.step(t)
	var held *HeldError
	if !errors.As(err, &held) || !errors.Is(held.Spool, spool.ErrFull) || o != event.Nacked {
		t.Fatalf("second batch: Publish %v, outcome %v; want a HeldError for the full spool, nacked", err, o)
	}
	eventually(t, "the source to be reported stopped", func() bool {
		return strings.Contains(e.Status()["src"], "spool takes no more records")
	})
	if got := other.delivered(); len(got) != 2 {
		t.Errorf("the other destination received %v, want the first batch only", got)
	}
	stop()
}
