package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/rules"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// ---- fakes ----

// scriptedSource publishes the given batches in order, then waits for ctx (or finishes when
// finish is set), recording each batch's outcome.
type scriptedSource struct {
	batches [][]*event.Record
	finish  bool

	mu       sync.Mutex
	outcomes map[int]event.Outcome
	pubErr   error
	acked    chan struct{} // receives once per ack
}

func newScriptedSource(finish bool, batches ...[]*event.Record) *scriptedSource {
	return &scriptedSource{batches: batches, finish: finish, outcomes: map[int]event.Outcome{}, acked: make(chan struct{}, 1000)}
}

func (s *scriptedSource) Run(ctx context.Context, pub plugin.Publisher) error {
	for i, b := range s.batches {
		err := pub.Publish(ctx, b, func(o event.Outcome) {
			s.mu.Lock()
			if _, dup := s.outcomes[i]; dup {
				panic(fmt.Sprintf("batch %d acked twice", i))
			}
			s.outcomes[i] = o
			s.mu.Unlock()
			s.acked <- struct{}{}
		})
		if err != nil {
			s.mu.Lock()
			s.pubErr = err
			s.mu.Unlock()
			return nil
		}
	}
	if s.finish {
		return nil
	}
	<-ctx.Done()
	return nil
}

func (s *scriptedSource) outcome(i int) (event.Outcome, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.outcomes[i]
	return o, ok
}

func (s *scriptedSource) waitAcks(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-s.acked:
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %d acks", n)
		}
	}
}

// fakeDest records what it was given; behave decides each call's result.
type fakeDest struct {
	mu      sync.Mutex
	calls   [][]string // record ids per call
	bytes   []int      // record bytes per call
	got     []string   // delivered ids
	behave  func(call int, ids []string) error
	limits  plugin.BatchLimits
	closed  atomic.Bool
	started chan struct{}
}

func (d *fakeDest) Write(ctx context.Context, recs []*event.Record) error {
	ids := make([]string, len(recs))
	size := 0
	for i, r := range recs {
		ids[i] = r.ID
		size += r.Size()
	}
	d.mu.Lock()
	call := len(d.calls)
	d.calls = append(d.calls, ids)
	d.bytes = append(d.bytes, size)
	d.mu.Unlock()
	if d.started != nil {
		select {
		case d.started <- struct{}{}:
		default:
		}
	}
	var err error
	if d.behave != nil {
		err = d.behave(call, ids)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var be *plugin.BatchError
	switch {
	case err == nil:
		d.got = append(d.got, ids...)
	case errors.As(err, &be):
		for i, id := range ids {
			if _, failed := be.Failed[i]; !failed {
				d.got = append(d.got, id)
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (d *fakeDest) Close(context.Context) error { d.closed.Store(true); return nil }

func (d *fakeDest) delivered() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.got)
}

func (d *fakeDest) callSizes() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []int
	for _, c := range d.calls {
		out = append(out, len(c))
	}
	return out
}

type limitedDest struct{ *fakeDest }

func (l limitedDest) BatchLimits() plugin.BatchLimits { return l.limits }

type memDLQ struct {
	mu      sync.Mutex
	entries []deadletter.Entry
	fail    bool
}

func (m *memDLQ) Put(_ string, es []deadletter.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("disk full")
	}
	m.entries = append(m.entries, es...)
	return nil
}

func (m *memDLQ) reasons() map[string][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]string{}
	for _, e := range m.entries {
		out[e.Reason] = append(out[e.Reason], e.ID)
	}
	return out
}

func recs(ids ...string) []*event.Record {
	out := make([]*event.Record, len(ids))
	for i, id := range ids {
		out[i] = &event.Record{ID: id, Raw: []byte(fmt.Sprintf(`{"_id":%q,"n":%d}`, id, i))}
	}
	return out
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

type harness struct {
	t       *testing.T
	metrics *telemetry.Metrics
	dlq     *memDLQ
	sources []SourceSpec
	dests   []DestinationSpec
	routes  []RouteSpec
	timeout time.Duration
	recent  RecordKeeper
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, metrics: telemetry.NewMetrics("test"), dlq: &memDLQ{}, timeout: 5 * time.Second}
}

func fastOpts() DestinationOptions {
	return DestinationOptions{MaxRecords: 100, MaxBytes: 1 << 20, MaxWait: 5 * time.Millisecond,
		Retry: retry.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}, Workers: 2, QueueSize: 100}
}

func (h *harness) source(name string, s plugin.Source) {
	m := h.metrics.Plugin(name)
	h.sources = append(h.sources, SourceSpec{Name: name, Source: s, Metrics: m, Logger: slog.New(slog.DiscardHandler),
		Dropper: &Dropper{Name: name, DLQ: h.dlq, Metrics: m, Logger: slog.New(slog.DiscardHandler)}})
}

func (h *harness) dest(name string, d plugin.Destination, o DestinationOptions) {
	h.dests = append(h.dests, DestinationSpec{Name: name, Destination: d, Options: o, Metrics: h.metrics.Plugin(name), Logger: slog.New(slog.DiscardHandler)})
}

func (h *harness) route(src, dst string, r *rules.Rule) {
	if r == nil {
		set, _ := rules.NewSet()
		r, _ = set.Get(rules.All)
	}
	h.routes = append(h.routes, RouteSpec{Name: src + "->" + dst, Source: src, Destination: dst, Rule: r})
}

// start runs the engine; the returned stop cancels it and waits for Run's result.
func (h *harness) start() (*Engine, func() error) {
	h.t.Helper()
	e, err := New(Options{DeadLetters: h.dlq, ShutdownTimeout: h.timeout, CloseTimeout: 300 * time.Millisecond, Recent: h.recent}, h.sources, h.dests, h.routes)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	var res error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case res = <-done:
			case <-time.After(30 * time.Second):
				h.t.Fatal("engine did not stop")
			}
		})
		return res
	}
	h.t.Cleanup(func() { _ = stop() })
	return e, stop
}

func (h *harness) counter(name, plugin string, labels ...string) float64 {
	m := h.metrics.Plugin(plugin)
	switch name {
	case "sent":
		return testutil.ToFloat64(m.Sent)
	case "received":
		return testutil.ToFloat64(m.Received)
	case "retries":
		return testutil.ToFloat64(m.Retries)
	case "dropped":
		return testutil.ToFloat64(m.DroppedCounter(labels[0]))
	case "errors":
		return testutil.ToFloat64(m.Errors)
	}
	h.t.Fatalf("no counter %s", name)
	return 0
}

// eventually waits until cond holds, polling; it fails the test after 5 s, naming what it
// waited for.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// ---- tests ----

func TestFanOutAcksOnceAfterEveryRoute(t *testing.T) {
	h := newHarness(t)
	src := newScriptedSource(false, recs(ids("a", 10)...), recs(ids("b", 5)...))
	slow := &fakeDest{behave: func(call int, _ []string) error { time.Sleep(20 * time.Millisecond); return nil }}
	fast := &fakeDest{}
	h.source("src", src)
	h.dest("slow", slow, fastOpts())
	h.dest("fast", fast, fastOpts())
	h.route("src", "slow", nil)
	h.route("src", "fast", nil)
	_, stop := h.start()
	src.waitAcks(t, 2)
	for i := range 2 {
		if o, _ := src.outcome(i); o != event.Acked {
			t.Fatalf("batch %d: outcome %v, want acked", i, o)
		}
	}
	// The ack came only after the slow route delivered too.
	if got := len(slow.delivered()); got != 15 {
		t.Fatalf("slow destination has %d records at ack time, want 15", got)
	}
	if got := len(fast.delivered()); got != 15 {
		t.Fatalf("fast destination has %d records, want 15", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !slow.closed.Load() || !fast.closed.Load() {
		t.Fatal("destinations not closed")
	}
	if v := h.counter("received", "src"); v != 15 {
		t.Errorf("source received = %v, want 15", v)
	}
	if v := h.counter("sent", "slow"); v != 15 {
		t.Errorf("slow sent = %v, want 15", v)
	}
}

func TestRuleFiltersAndFilteredCountsAsAcked(t *testing.T) {
	h := newHarness(t)
	rule, err := rules.CompileExpr("even", `n % 2 == 0`)
	if err != nil {
		t.Fatal(err)
	}
	src := newScriptedSource(false, recs(ids("r", 10)...))
	d := &fakeDest{}
	h.source("src", src)
	h.dest("dst", d, fastOpts())
	h.route("src", "dst", rule)
	h.start()
	src.waitAcks(t, 1)
	if o, _ := src.outcome(0); o != event.Acked {
		t.Fatalf("outcome %v, want acked", o)
	}
	want := []string{"r0", "r2", "r4", "r6", "r8"}
	got := d.delivered()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	if v := h.counter("dropped", "dst", "filtered"); v != 5 {
		t.Errorf("filtered = %v, want 5", v)
	}
}

func TestWholeBatchFilteredIsAckedAtOnce(t *testing.T) {
	h := newHarness(t)
	none, _ := rules.CompileExpr("none", `false`)
	src := newScriptedSource(false, recs("x", "y"), nil)
	h.source("src", src)
	h.dest("dst", &fakeDest{}, fastOpts())
	h.route("src", "dst", none)
	h.start()
	src.waitAcks(t, 2) // the filtered batch and the empty one
	for i := range 2 {
		if o, _ := src.outcome(i); o != event.Acked {
			t.Fatalf("batch %d outcome %v", i, o)
		}
	}
}

func TestPartialFailureRetriesOnlyTheFailedAndDeadLettersTheRefused(t *testing.T) {
	h := newHarness(t)
	src := newScriptedSource(false, recs("ok1", "flaky", "bad", "ok2"))
	d := &fakeDest{behave: func(call int, ids []string) error {
		failed := map[int]error{}
		for i, id := range ids {
			switch {
			case id == "flaky" && call < 2:
				failed[i] = plugin.Throttled(errors.New("Throttling"), 0)
			case id == "bad":
				failed[i] = plugin.Refused("InvalidData", errors.New("eventData is not valid"))
			}
		}
		if len(failed) == 0 {
			return nil
		}
		return &plugin.BatchError{Failed: failed}
	}}
	h.source("src", src)
	h.dest("dst", d, fastOpts())
	h.route("src", "dst", nil)
	h.start()
	src.waitAcks(t, 1)
	if o, _ := src.outcome(0); o != event.Acked {
		t.Fatalf("outcome %v, want acked (refused records are dead-lettered, which completes them)", o)
	}
	got := d.delivered()
	slices.Sort(got)
	if want := []string{"flaky", "ok1", "ok2"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	if sizes := d.callSizes(); !slices.Equal(sizes, []int{4, 1, 1}) {
		t.Errorf("call sizes %v: only the failed record should be retried", sizes)
	}
	if r := h.dlq.reasons(); !slices.Equal(r["refused"], []string{"bad"}) {
		t.Errorf("dead letters %v", r)
	}
	h.dlq.mu.Lock()
	e := h.dlq.entries[0]
	h.dlq.mu.Unlock()
	if e.Code != "InvalidData" || e.Plugin != "dst" || e.Source != "src" || string(e.Record) == "" || !strings.Contains(e.Error, "not valid") {
		t.Errorf("dead letter entry lacks detail: %+v", e)
	}
	if v := h.counter("retries", "dst"); v != 2 {
		t.Errorf("retries = %v, want 2", v)
	}
	if v := h.counter("dropped", "dst", "refused"); v != 1 {
		t.Errorf("dropped refused = %v, want 1", v)
	}
	if v := h.counter("sent", "dst"); v != 3 {
		t.Errorf("sent = %v, want 3", v)
	}
}

func TestRefusedCallIsBisectedToFindTheBadRecord(t *testing.T) {
	h := newHarness(t)
	all := ids("r", 16)
	src := newScriptedSource(false, recs(all...))
	d := &fakeDest{behave: func(_ int, ids []string) error {
		if slices.Contains(ids, "r11") {
			return plugin.Refused("InvalidParameter", errors.New("the batch holds a bad record"))
		}
		return nil
	}}
	h.source("src", src)
	o := fastOpts()
	o.Workers = 1
	h.dest("dst", d, o)
	h.route("src", "dst", nil)
	h.start()
	src.waitAcks(t, 1)
	got := d.delivered()
	if len(got) != 15 || slices.Contains(got, "r11") {
		t.Fatalf("delivered %v: want every record but r11", got)
	}
	if r := h.dlq.reasons(); !slices.Equal(r["refused"], []string{"r11"}) {
		t.Fatalf("dead letters %v, want only r11", r)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	h := newHarness(t)
	src := newScriptedSource(false, recs("a"))
	var first time.Time
	var second time.Duration
	d := &fakeDest{behave: func(call int, _ []string) error {
		if call == 0 {
			first = time.Now()
			return plugin.Throttled(errors.New("429"), 150*time.Millisecond)
		}
		second = time.Since(first)
		return nil
	}}
	h.source("src", src)
	h.dest("dst", d, fastOpts())
	h.route("src", "dst", nil)
	h.start()
	src.waitAcks(t, 1)
	if second < 150*time.Millisecond {
		t.Fatalf("retried after %v, before the server's retry-after of 150ms", second)
	}
}

func TestFatalErrorStopsTheDestinationAndNacks(t *testing.T) {
	h := newHarness(t)
	src := newScriptedSource(false, recs("a", "b"))
	d := &fakeDest{behave: func(int, []string) error {
		return plugin.Fatal(errors.New("ChannelNotFound: no channel arn:aws:cloudtrail:us-east-1:123:channel/x"))
	}}
	other := &fakeDest{}
	h.source("src", src)
	h.dest("broken", d, fastOpts())
	h.dest("other", other, fastOpts())
	h.route("src", "broken", nil)
	h.route("src", "other", nil)
	e, _ := h.start()
	src.waitAcks(t, 1)
	if o, _ := src.outcome(0); o != event.Nacked {
		t.Fatalf("outcome %v, want nacked: a stopped destination must not let the source move on", o)
	}
	if got := len(other.delivered()); got != 2 {
		t.Fatalf("the healthy route delivered %d, want 2", got)
	}
	st := e.Status()
	if !strings.Contains(st["broken"], "ChannelNotFound") || st["other"] != "" {
		t.Fatalf("status %v", st)
	}
	if n := len(d.callSizes()); n > 1 {
		t.Errorf("the stopped destination was called %d times; it should stop calling after the fatal error", n)
	}
}

func TestTooLargeRecordIsDeadLettered(t *testing.T) {
	h := newHarness(t)
	big := &event.Record{ID: "big", Raw: []byte(`{"x":"` + strings.Repeat("a", 3000) + `"}`)}
	src := newScriptedSource(false, append(recs("small"), big))
	d := &fakeDest{limits: plugin.BatchLimits{MaxBytes: 2048}}
	h.source("src", src)
	h.dest("dst", limitedDest{d}, fastOpts())
	h.route("src", "dst", nil)
	h.start()
	src.waitAcks(t, 1)
	if got := d.delivered(); !slices.Equal(got, []string{"small"}) {
		t.Fatalf("delivered %v", got)
	}
	if r := h.dlq.reasons(); !slices.Equal(r["too_large"], []string{"big"}) {
		t.Fatalf("dead letters %v", r)
	}
}

func TestDeadLetterStoreFailureNacks(t *testing.T) {
	h := newHarness(t)
	h.dlq.fail = true
	src := newScriptedSource(false, recs("bad"))
	d := &fakeDest{behave: func(int, []string) error { return plugin.Refused("InvalidData", errors.New("no")) }}
	h.source("src", src)
	h.dest("dst", d, fastOpts())
	h.route("src", "dst", nil)
	h.start()
	src.waitAcks(t, 1)
	if o, _ := src.outcome(0); o != event.Nacked {
		t.Fatalf("outcome %v: a record neither delivered nor kept must not be acked", o)
	}
}

func TestBatchLimits(t *testing.T) {
	tests := []struct {
		name    string
		opts    func(*DestinationOptions)
		limits  plugin.BatchLimits
		records int
		maxCall int
		maxSize int
	}{
		{"max records", func(o *DestinationOptions) { o.MaxRecords = 7 }, plugin.BatchLimits{}, 50, 7, 0},
		{"destination limit wins", func(o *DestinationOptions) { o.MaxRecords = 500 }, plugin.BatchLimits{MaxRecords: 10}, 50, 10, 0},
		{"max bytes", func(o *DestinationOptions) { o.MaxBytes = 100 }, plugin.BatchLimits{}, 50, 100, 100},
		{"destination byte limit wins", func(o *DestinationOptions) { o.MaxBytes = 1 << 20 }, plugin.BatchLimits{MaxBytes: 60}, 50, 100, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			src := newScriptedSource(false, recs(ids("r", tc.records)...))
			d := &fakeDest{limits: tc.limits}
			o := fastOpts()
			o.MaxWait = time.Hour // only size may flush, except the final drain
			tc.opts(&o)
			h.source("src", src)
			h.dest("dst", limitedDest{d}, o)
			h.route("src", "dst", nil)
			_, stop := h.start()
			eventually(t, "half the records to be delivered", func() bool { return len(d.delivered()) >= tc.records/2 })
			_ = stop()
			if got := len(d.delivered()); got != tc.records {
				t.Fatalf("delivered %d, want %d (the final partial batch is flushed at stop)", got, tc.records)
			}
			for _, n := range d.callSizes() {
				if n > tc.maxCall {
					t.Fatalf("a call held %d records, more than %d", n, tc.maxCall)
				}
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			for _, n := range d.bytes {
				if tc.maxSize > 0 && n > tc.maxSize {
					t.Fatalf("a call held %d bytes, more than %d", n, tc.maxSize)
				}
			}
		})
	}
}

func TestPartialBatchIsSentWhenItsPublishEnds(t *testing.T) {
	h := newHarness(t)
	src := newScriptedSource(false, recs("a", "b", "c"))
	d := &fakeDest{}
	o := fastOpts()
	o.MaxRecords, o.MaxWait = 1000, time.Hour
	h.source("src", src)
	h.dest("dst", d, o)
	h.route("src", "dst", nil)
	h.start()
	src.waitAcks(t, 1) // acked while the engine runs: the end of the publish flushed it
	if got := d.callSizes(); !slices.Equal(got, []int{3}) {
		t.Fatalf("calls %v, want one call of 3", got)
	}
}

func TestBatcherFlushRules(t *testing.T) {
	tests := []struct {
		name    string
		maxWait time.Duration
		last    []bool // one record each
		want    []int  // call sizes seen before the queue is closed
	}{
		{"max_wait sends a batch whose publish goes on", 20 * time.Millisecond, []bool{false, false, false}, []int{3}},
		{"the end of a publish sends at once", time.Hour, []bool{false, false, true}, []int{3}},
		{"a publish that has not ended waits", time.Hour, []bool{false, false}, nil},
		{"the end of a publish with more queued does not split", time.Hour, []bool{true, false, false, true}, []int{4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fd := &fakeDest{}
			o := fastOpts()
			o.MaxRecords, o.MaxWait = 1000, tc.maxWait
			m := telemetry.NewMetrics("test")
			d := newDestination("dst", fd, o, &memDLQ{}, m.Plugin("dst"), slog.New(slog.DiscardHandler))
			acked := make(chan struct{})
			tr := event.NewTracker(func(event.Outcome) { close(acked) })
			tr.Add(len(tc.last))
			// Queue everything before the batcher starts, so "more queued" is deterministic.
			for i, last := range tc.last {
				if err := d.enqueue(context.Background(), &event.Record{ID: fmt.Sprint(i), Raw: []byte("{}")}, tr, last); err != nil {
					t.Fatal(err)
				}
			}
			tr.Release()
			done := make(chan struct{})
			go func() { d.run(context.Background()); close(done) }()
			if tc.want != nil {
				select {
				case <-acked:
				case <-time.After(5 * time.Second):
					t.Fatal("never delivered")
				}
			} else {
				time.Sleep(50 * time.Millisecond)
			}
			if got := fd.callSizes(); !slices.Equal(got, tc.want) {
				t.Errorf("calls %v, want %v", got, tc.want)
			}
			close(d.queue)
			<-done
		})
	}
}

func TestBackpressureBlocksPublishAndShutdownNacks(t *testing.T) {
	h := newHarness(t)
	h.timeout = 100 * time.Millisecond
	release := make(chan struct{})
	d := &fakeDest{started: make(chan struct{}, 1), behave: func(int, []string) error {
		<-release
		return errors.New("still down")
	}}
	var batches [][]*event.Record
	for i := range 20 {
		batches = append(batches, recs(fmt.Sprintf("r%d", i)))
	}
	src := newScriptedSource(false, batches...)
	o := fastOpts()
	o.QueueSize, o.Workers, o.MaxRecords = 1, 1, 1
	h.source("src", src)
	h.dest("dst", d, o)
	h.route("src", "dst", nil)
	_, stop := h.start()
	<-d.started
	time.Sleep(50 * time.Millisecond)
	// One record in the stuck call, one in the batcher's hand, one in the queue: the rest wait.
	if v := h.counter("received", "src"); v > 5 {
		t.Fatalf("source published %v records past a stuck destination with a queue of 1", v)
	}
	close(release)
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("shutdown took %v with a %v timeout", el, h.timeout)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	for i, o := range src.outcomes {
		if o != event.Nacked {
			t.Fatalf("batch %d: %v; nothing was delivered, so nothing may be acked", i, o)
		}
	}
	if src.pubErr == nil {
		t.Fatal("the blocked Publish should have returned the context's error")
	}
}

func TestEngineExitsWhenEverySourceFinished(t *testing.T) {
	h := newHarness(t)
	src := newScriptedSource(true, recs(ids("r", 30)...))
	d := &fakeDest{}
	h.source("src", src)
	h.dest("dst", d, fastOpts())
	h.route("src", "dst", nil)
	e, err := New(Options{DeadLetters: h.dlq}, h.sources, h.dests, h.routes)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Run(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its only source finished")
	}
	if got := len(d.delivered()); got != 30 {
		t.Fatalf("delivered %d, want 30", got)
	}
	if st := e.Status(); st["src"] != "finished" {
		t.Fatalf("status %v", st)
	}
}

func TestSourceErrorStopsOnlyThatSource(t *testing.T) {
	h := newHarness(t)
	bad := plugin.Source(sourceFunc(func(context.Context, plugin.Publisher) error {
		return plugin.Fatal(errors.New("401 Unauthorized from tenant.example.goskope.com /api/v2/events/dataexport/alerts/dlp"))
	}))
	good := newScriptedSource(false, recs("a"))
	h.source("bad", bad)
	h.source("good", good)
	h.dest("dst", &fakeDest{}, fastOpts())
	h.route("bad", "dst", nil)
	h.route("good", "dst", nil)
	e, stop := h.start()
	good.waitAcks(t, 1)
	eventually(t, "the failed source in the status", func() bool { return strings.Contains(e.Status()["bad"], "401") })
	if st := e.Status(); !strings.Contains(st["bad"], "401") || st["good"] != "" {
		t.Fatalf("status %v", st)
	}
	if err := stop(); err == nil || !strings.Contains(err.Error(), "source bad: 401") {
		t.Fatalf("Run returned %v; a source that failed must make the run fail", err)
	}
}

// stuckDest never returns from Write or Close until release is closed; started receives once
// a Write has begun.
type stuckDest struct{ release, started chan struct{} }

func (s *stuckDest) Write(ctx context.Context, _ []*event.Record) error {
	select {
	case s.started <- struct{}{}:
	default:
	}
	<-s.release
	return nil
}
func (s *stuckDest) Close(context.Context) error { <-s.release; return nil }

func TestStuckDestinationDoesNotHangShutdown(t *testing.T) {
	h := newHarness(t)
	h.timeout = 50 * time.Millisecond
	stuck := &stuckDest{release: make(chan struct{}), started: make(chan struct{}, 1)}
	defer close(stuck.release)
	src := newScriptedSource(false, recs("a"))
	h.source("src", src)
	h.dest("dst", stuck, fastOpts())
	h.route("src", "dst", nil)
	_, stop := h.start()
	select {
	case <-stuck.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the destination's Write never began")
	}
	start := time.Now()
	err := stop()
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("stop took %v", el)
	}
	if err == nil || !strings.Contains(err.Error(), "did not") {
		t.Fatalf("err = %v; a stuck destination must be reported", err)
	}
}

type sourceFunc func(context.Context, plugin.Publisher) error

func (f sourceFunc) Run(ctx context.Context, p plugin.Publisher) error { return f(ctx, p) }

func TestNewRejectsBadWiring(t *testing.T) {
	all, _ := rules.NewSet()
	r, _ := all.Get(rules.All)
	m := telemetry.NewMetrics("t")
	src := []SourceSpec{{Name: "s", Source: newScriptedSource(false), Metrics: m.Plugin("s")}}
	dst := []DestinationSpec{{Name: "d", Destination: &fakeDest{}, Options: fastOpts(), Metrics: m.Plugin("d")}}
	tests := []struct {
		name   string
		routes []RouteSpec
		dests  []DestinationSpec
		want   string
	}{
		{"unknown destination", []RouteSpec{{Name: "x", Source: "s", Destination: "nope", Rule: r}}, dst, "no destination"},
		{"unknown source", []RouteSpec{{Name: "x", Source: "nope", Destination: "d", Rule: r}}, dst, "not a source"},
		{"no rule", []RouteSpec{{Name: "x", Source: "s", Destination: "d"}}, dst, "no rule"},
		{"zero workers", []RouteSpec{{Name: "x", Source: "s", Destination: "d", Rule: r}}, []DestinationSpec{{Name: "d", Destination: &fakeDest{}, Metrics: m.Plugin("d")}}, "must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{}, src, tc.dests, tc.routes)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestEPSLimiterTakesBatchesLargerThanTheBurst(t *testing.T) {
	l := newEPSLimiter(1000)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := l.wait(ctx, 2500); err != nil {
		t.Fatal(err)
	}
	// 1000 tokens are there at once; 1500 more take at least about 1.5s at 1000/s.
	if el := time.Since(start); el < time.Second {
		t.Fatalf("2500 records at 1000 EPS passed in %v", el)
	}
	if newEPSLimiter(0) != nil {
		t.Fatal("eps 0 must mean no limiter")
	}
	var none *epsLimiter
	if err := none.wait(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
}

func TestUndecodableRecordThatCannotBeKeptNacks(t *testing.T) {
	h := newHarness(t)
	h.dlq.fail = true
	rule, _ := rules.CompileExpr("any", `true`)
	broken := &event.Record{ID: "broken", Raw: []byte(`{"cut`)}
	src := newScriptedSource(false, append(recs("ok"), broken))
	d := &fakeDest{}
	h.source("src", src)
	h.dest("dst", d, fastOpts())
	h.route("src", "dst", rule)
	h.start()
	src.waitAcks(t, 1)
	if o, _ := src.outcome(0); o != event.Nacked {
		t.Fatalf("outcome %v: a record neither judged nor kept must not be acked", o)
	}
}

func TestRuleErrorsAreCountedApartFromFiltered(t *testing.T) {
	h := newHarness(t)
	rule, _ := rules.CompileExpr("suffix", `user endsWith "@example.com"`)
	src := newScriptedSource(false, []*event.Record{
		{ID: "a", Raw: []byte(`{"user":"a@example.com"}`)},
		{ID: "b", Raw: []byte(`{"user":"b@other.org"}`)},
		{ID: "c", Raw: []byte(`{"user":5}`)},
	})
	d := &fakeDest{}
	h.source("src", src)
	h.dest("dst", d, fastOpts())
	h.route("src", "dst", rule)
	h.start()
	src.waitAcks(t, 1)
	if got := d.delivered(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("delivered %v", got)
	}
	if f, e := h.counter("dropped", "dst", "filtered"), h.counter("dropped", "dst", "rule_error"); f != 1 || e != 1 {
		t.Fatalf("filtered %v, rule_error %v; want 1 and 1", f, e)
	}
}

func TestSkippedRecordsAreCountedAndAcked(t *testing.T) {
	h := newHarness(t)
	src := newScriptedSource(false, recs("dlp1", "odd1", "dlp2"))
	d := &fakeDest{behave: func(_ int, ids []string) error {
		failed := map[int]error{}
		for i, id := range ids {
			if strings.HasPrefix(id, "odd") {
				failed[i] = plugin.Skipped(plugin.ReasonUnmapped, errors.New("the mapping has nothing for odd alerts"))
			}
		}
		return &plugin.BatchError{Failed: failed}
	}}
	h.source("src", src)
	h.dest("dst", d, fastOpts())
	h.route("src", "dst", nil)
	h.start()
	src.waitAcks(t, 1)
	if o, _ := src.outcome(0); o != event.Acked {
		t.Fatalf("outcome %v", o)
	}
	if v := h.counter("dropped", "dst", "unmapped"); v != 1 {
		t.Fatalf("unmapped = %v", v)
	}
	if len(h.dlq.reasons()) != 0 {
		t.Fatalf("a skipped record was dead-lettered: %v", h.dlq.reasons())
	}
	if v := h.counter("sent", "dst"); v != 2 {
		t.Fatalf("sent = %v", v)
	}
	if v := h.counter("errors", "dst"); v != 0 {
		t.Fatalf("errors = %v: a record left out on purpose is a drop with its reason, not an error", v)
	}
}
