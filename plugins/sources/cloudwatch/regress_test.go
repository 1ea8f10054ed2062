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

// Regression (issue 5) 1 (duplicate): one failed checkpoint save pins the state.Cursor for good
// (cursor.go: "A failed save pins the cursor"), and the partition never looks at cur.Err():
// it reads and publishes on for the life of the process without ever saving again, so a
// restart re-publishes everything delivered since the failure.
func TestFailedSaveRecovers(t *testing.T) {
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
	time.Sleep(cfg.Overlap + 500*time.Millisecond) // many more windows, all acknowledged
	run.Stop(t)
	if cp := savedCheckpoint(t, st); cp != nil {
		t.Logf("saved checkpoint after the run ends at %s; the run went on until %s", msTime(cp.To), time.Now().UTC().Format(time.RFC3339Nano))
	}

	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	run2 := plugintest.Start(t, w.source(t, cfg, st), pub2)
	time.Sleep(cfg.Overlap + 500*time.Millisecond)
	run2.Stop(t)
	if n := republished(pub2, b); n > 0 {
		t.Errorf("after one transient save failure, %d of %d acknowledged events were published again after a restart (the cursor never saved again)", n, len(b))
	}
}

// Regression (issue 5) 2 (duplicate, and delayed redelivery): a nacked batch was not re-read
// while the process ran, and the cursor never saved again; everything acknowledged after the
// nack came twice after a restart, however long the process ran (and if the group's retention
// is shorter than that, the nacked events were gone: loss). The partition reads again from the
// saved checkpoint once the nack's backoff passed, and saves again.
func TestNackResendsWhileRunning(t *testing.T) {
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
	time.Sleep(3 * cfg.Overlap)
	close(stop)
	wg.Wait()
	pub.AckAll()
	run.Stop(t)
	n := 0
	for _, k := range pub.Keys(rawKey) {
		for _, m := range a {
			if k == m {
				n++
			}
		}
	}
	if n <= len(a) {
		t.Errorf("the nacked events were not published again while the source ran for %s (only a restart would)", 3*cfg.Overlap)
	}

	// Everything was delivered while the source ran: a restart publishes none of it again.
	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	run2 := plugintest.Start(t, w.source(t, cfg, st), pub2)
	c := w.put("us-east-1", ctStream("us-east-1"), 3, 0)
	pub2.WaitKeys(t, rawKey, c)
	time.Sleep(cfg.Overlap) // the overlap is read again: none of it may come back
	run2.Stop(t)
	if n := republished(pub2, a); n > 0 {
		t.Errorf("%d of %d nacked events, delivered again while the source ran, were published again after the restart", n, len(a))
	}
	if n := republished(pub2, b); n > 0 {
		t.Errorf("%d of %d events acknowledged after the nack were published again after the restart", n, len(b))
	}
}

// Regression (issue 5) 3 (loss): with start_position end (the default) nothing is saved before the first
// window was read and acknowledged, which is `lag` (10 min by default) after the start; a
// restart in that time resolves "end" again, later, and the events in between are never read.
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

// Regression (issue 5) 4 (hang): start_position beginning starts at 1970 and walks to now in max_window
// (1 h) steps: ~490,000 FilterLogEvents calls, ~27 h at the 5/s quota, before the first event.
func TestBeginningStartsNearEarliestEvent(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	want := w.put("us-east-1", ctStream("us-east-1"), 5, time.Minute)
	cfg := w.config("us-east-1")
	cfg.StartPosition = "beginning"
	cfg.MaxWindow = DefaultMaxWindow
	cfg.Overlap = DefaultOverlap
	cfg.RequestsPerSecond = DefaultRequestsPerSecond
	s := w.source(t, cfg, nil)
	var ca *countingAPI
	orig := s.tune.newAPI
	s.tune.newAPI = func(ctx context.Context, region string) (logsAPI, error) {
		api, err := orig(ctx, region)
		ca = &countingAPI{next: api}
		return ca, err
	}
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	ok := pub.Await(10*time.Second, func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	if !ok {
		hours := time.Since(time.Unix(0, 0)).Hours()
		t.Errorf("events one minute old not read after 10 s: %d calls made; about %.0f windows (%.1f h at %v/s) to go",
			ca.calls.Load(), hours/(DefaultMaxWindow-DefaultOverlap).Hours(), hours/(DefaultMaxWindow-DefaultOverlap).Hours()/DefaultRequestsPerSecond/3600, DefaultRequestsPerSecond)
	}
}

// Regression (issue 5) 5 (loss): windows are computed from the local clock; a shipper clock ahead of AWS by
// more than lag+overlap-delay loses every event ingested with that delay, and Late() stays 0.
func TestClockAheadOfServer(t *testing.T) {
	for _, skew := range []time.Duration{0, 2 * time.Second} {
		t.Run("skew="+skew.String(), func(t *testing.T) {
			w := newWorld(t, cwlogs.Options{IngestDelay: 300 * time.Millisecond})
			cfg := w.config("us-east-1")
			cfg.StartPosition = "-1m"
			cfg.Lag = 100 * time.Millisecond
			cfg.Overlap = 500 * time.Millisecond // lag+overlap = 600 ms > the 300 ms delay
			s := w.source(t, cfg, nil)
			s.tune.now = func() time.Time { return time.Now().Add(skew) }
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			run := plugintest.Start(t, s, pub)
			var want []string
			for range 10 {
				want = append(want, w.put("us-east-1", ctStream("us-east-1"), 3, 0)...)
				time.Sleep(50 * time.Millisecond)
			}
			pub.Await(4*time.Second, func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
			run.Stop(t)
			if miss := len(pub.MissingKeys(rawKey, want)); miss > 0 {
				t.Errorf("clock %s ahead: %d of %d events (ingested 300 ms after their time, lag+overlap 600 ms) never read; Late()=%d",
					skew, miss, len(want), s.Late())
			}
		})
	}
}

// Regression (issue 5) 6 (hang/CPU): every tracked page encoded and stored the whole seen set,
// so reading one window of N events in pages of P wrote ~N²/(2P) ids to the state store. The
// seen set is now pruned as the scan advances (ids below min(last timestamp published,
// to+1-overlap) cannot be read again): a window spread over an hour, with a 2 s overlap, writes
// a few ids per checkpoint. (Events all inside the overlap must all be kept: see README.md.)
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
