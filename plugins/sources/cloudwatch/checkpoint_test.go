package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

// flakyStore fails Put while fail is set, and counts what it writes.
type flakyStore struct {
	state.Store
	fail    atomic.Bool
	failed  atomic.Int64
	puts    atomic.Int64
	written atomic.Int64
}

func (f *flakyStore) Put(ctx context.Context, k string, v []byte) error {
	if f.fail.Load() {
		f.failed.Add(1)
		return errors.New("injected: disk full")
	}
	f.puts.Add(1)
	f.written.Add(int64(len(v)))
	return f.Store.Put(ctx, k, v)
}

const partitionKey = "cw/us-east-1/" + testGroup + "/all"

func savedCheckpoint(t *testing.T, st state.Store) *checkpoint {
	t.Helper()
	raw, err := st.Get(context.Background(), partitionKey)
	if err != nil {
		return nil
	}
	cp, err := decodeCheckpoint(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// waitCheckpointPast waits until the partition saved a checkpoint of a window read to its end at
// or after at (event time): everything before at was read, delivered and saved. A source that
// stops saving makes it time out.
func waitCheckpointPast(t *testing.T, st state.Store, at time.Time) {
	t.Helper()
	plugintest.Eventually(t, 0, "a checkpoint saved past "+at.UTC().Format(time.RFC3339Nano), func() bool {
		cp := savedCheckpoint(t, st)
		return cp != nil && cp.Done && cp.To >= at.UnixMilli()
	})
}

func republished(pub *plugintest.Publisher, msgs []string) int {
	got := map[string]bool{}
	for _, k := range pub.Keys(rawKey) {
		got[k] = true
	}
	n := 0
	for _, m := range msgs {
		if got[m] {
			n++
		}
	}
	return n
}

// One checkpoint save fails (a disk full for a moment). A failed save pins the state.Cursor
// (cursor.go: "A failed save pins the cursor"), so the partition reads again from the last
// checkpoint saved, with a new cursor, and saves checkpoints on: after a restart, none of the
// events acknowledged after the failure is published again.
func TestCheckpointSavedAgainAfterFailedSave(t *testing.T) {
	w := newWorld(t, cwlogs.Options{ScanBudget: 10})
	st := &flakyStore{Store: state.NewMemory().Namespace("plugin/cw")}
	cfg := w.config("us-east-1")
	a := w.put("us-east-1", ctStream("us-east-1"), 20, time.Second)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, w.source(t, cfg, st), pub)
	pub.WaitKeys(t, rawKey, a)
	plugintest.Eventually(t, 0, "a first checkpoint", func() bool { cp := savedCheckpoint(t, st); return cp != nil && cp.Done })

	st.fail.Store(true) // one transient failure (e.g. ENOSPC for a moment)
	plugintest.Eventually(t, 0, "a failed save", func() bool { return st.failed.Load() > 0 })
	st.fail.Store(false)

	b := w.put("us-east-1", ctStream("us-east-1"), 20, 0)
	pub.WaitKeys(t, rawKey, b)
	// Windows past b's events and their overlap, all acknowledged, are saved again.
	waitCheckpointPast(t, st, time.Now().Add(cfg.Overlap))
	run.Stop(t)

	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	run2 := plugintest.Start(t, w.source(t, cfg, st), pub2)
	waitCheckpointPast(t, st, time.Now().Add(cfg.Overlap)) // the restart read past the overlap
	run2.Stop(t)
	if n := republished(pub2, b); n > 0 {
		t.Errorf("after one transient save failure, %d of %d acknowledged events were published again after a restart (the cursor never saved again)", n, len(b))
	}
}

// A nacked batch is read again while the source runs: once the nack's backoff has passed, the
// partition reads again from the saved checkpoint, with a new cursor, and saves checkpoints
// again. The nacked events are published again without a restart (a restart may come later
// than the group's retention), and after a restart none of the events delivered while the
// source ran, nacked or acknowledged after the nack, is published again.
func TestNackedBatchReadAgainWhileRunning(t *testing.T) {
	w := newWorld(t, cwlogs.Options{ScanBudget: 10})
	st := state.NewMemory().Namespace("plugin/cw")
	cfg := w.config("us-east-1")
	pub := plugintest.NewPublisher(plugintest.Manual)
	run := plugintest.Start(t, w.source(t, cfg, st), pub)
	a := w.put("us-east-1", ctStream("us-east-1"), 5, time.Second)
	pub.WaitKeys(t, rawKey, a)
	for _, bt := range pub.Batches() {
		if len(bt.Records) > 0 {
			bt.Nack() // e.g. the dead-letter store could not take a refused record, once
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // from now on the engine delivers everything
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				pub.AckAll()
			}
		}
	}()
	b := w.put("us-east-1", ctStream("us-east-1"), 20, 0)
	pub.WaitKeys(t, rawKey, b)
	// The nacked events come back without a restart.
	nackedAgain := func() bool {
		n := 0
		for _, k := range pub.Keys(rawKey) {
			for _, m := range a {
				if k == m {
					n++
				}
			}
		}
		return n > len(a)
	}
	if !pub.Await(0, nackedAgain) {
		t.Errorf("the nacked events were not published again while the source ran (only a restart would)")
	}
	waitCheckpointPast(t, st, time.Now().Add(cfg.Overlap))
	close(stop)
	wg.Wait()
	pub.AckAll()
	run.Stop(t)

	// Everything was delivered while the source ran: a restart publishes none of it again.
	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	run2 := plugintest.Start(t, w.source(t, cfg, st), pub2)
	c := w.put("us-east-1", ctStream("us-east-1"), 3, 0)
	pub2.WaitKeys(t, rawKey, c)
	waitCheckpointPast(t, st, time.Now().Add(cfg.Overlap)) // the overlap is read again: none of it may come back
	run2.Stop(t)
	if n := republished(pub2, a); n > 0 {
		t.Errorf("%d of %d nacked events, delivered again while the source ran, were published again after the restart", n, len(a))
	}
	if n := republished(pub2, b); n > 0 {
		t.Errorf("%d of %d events acknowledged after the nack were published again after the restart", n, len(b))
	}
}

// With start_position end (the default), the start position is saved as the first checkpoint
// before any window is read (the first window ends `lag`, 10 min by default, after the start). A
// restart before the first window resumes from that checkpoint instead of resolving "end"
// again, so the events written in between are read.
func TestStartEndSavedBeforeReading(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	st := state.NewMemory().Namespace("plugin/cw")
	cfg := w.config("us-east-1")
	cfg.StartPosition = "end"
	cfg.Lag = 2 * time.Second // no window is read before the stop
	run := plugintest.Start(t, w.source(t, cfg, st), plugintest.NewPublisher(plugintest.AckAsync))
	var first *checkpoint
	plugintest.Eventually(t, 0, `a first checkpoint`, func() bool { first = savedCheckpoint(t, st); return first != nil })
	if first.To != first.Start-1 || !first.Done {
		t.Fatalf("the first checkpoint saved is [%s, %s], not the start position saved before reading", msTime(first.From), msTime(first.To))
	}
	time.Sleep(20 * time.Millisecond) // the events' timestamps (put spreads them over 6 ms) are after "end"
	want := w.put("us-east-1", ctStream("us-east-1"), 10, 0)
	time.Sleep(100 * time.Millisecond)
	run.Stop(t) // e.g. systemctl restart a few minutes after installing
	time.Sleep(50 * time.Millisecond)

	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run2 := plugintest.Start(t, w.source(t, cfg, st), pub)
	ok := pub.Await(cfg.Lag+5*time.Second, func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run2.Stop(t)
	if !ok {
		t.Errorf("%d of %d events written after the first start were never read", len(pub.MissingKeys(rawKey, want)), len(want))
	}
}

// The seen set is pruned as the scan advances (ids below min(last timestamp published,
// to+1-overlap) cannot be read again), so each checkpoint holds a few ids, not the whole seen
// set: reading one window of N events spread over an hour, in pages of P, with a 2 s overlap,
// writes far fewer than the ~N²/(2P) ids that saving the whole set with every page would.
// (Events all inside the overlap must all be kept: see README.md.)
func TestCheckpointBytesBounded(t *testing.T) {
	const n = 4000
	w := newWorld(t, cwlogs.Options{ScanBudget: 100})
	st := &flakyStore{Store: state.NewMemory().Namespace("plugin/cw")}
	first := time.Now().Add(-59 * time.Minute).UnixMilli()
	evs := make([]cwlogs.InputEvent, n)
	want := make([]string, n)
	for i := range evs {
		want[i] = fmt.Sprintf(`{"n":%d}`, i)
		evs[i] = cwlogs.InputEvent{Timestamp: first + int64(i)*800, Message: want[i]} // 800 ms apart
	}
	if err := w.svc.Put(testAccount, "us-east-1", testGroup, ctStream("us-east-1"), evs); err != nil {
		t.Fatal(err)
	}
	cfg := w.config("us-east-1")
	cfg.PollInterval = time.Hour // one window
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	start := time.Now()
	run := plugintest.Start(t, w.source(t, cfg, st), pub)
	pub.WaitUntil(t, 60*time.Second, "all", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	t.Logf("read in %s, %d batches", time.Since(start), len(pub.Batches()))
	plugintest.Eventually(t, 0, "the window saved", func() bool { cp := savedCheckpoint(t, st); return cp != nil && cp.Done })
	run.Stop(t)
	final, _ := st.Get(context.Background(), partitionKey)
	// Unpruned, the puts would hold about n*n/(2*100) ids of ~50 bytes: 4 MB.
	if got, limit := st.written.Load(), int64(n*50); got > limit {
		t.Errorf("reading one window of %d events wrote %d checkpoint bytes in %d puts (limit %d; the final checkpoint is %d bytes)",
			n, got, st.puts.Load(), limit, len(final))
	}
	t.Logf("%d checkpoint bytes in %d puts; final %d bytes", st.written.Load(), st.puts.Load(), len(final))
}
