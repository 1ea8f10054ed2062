package plugintest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/state"
)

// memLog is an outside world for memSource: an append-only list of records.
type memLog struct {
	mu   sync.Mutex
	recs [][]byte
}

func (l *memLog) append(raws ...[]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, raws...)
}

func (l *memLog) from(i int) [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i >= len(l.recs) {
		return nil
	}
	return append([][]byte(nil), l.recs[i:]...)
}

// memSource is a well-behaved source over a memLog: batches of at most two records, a position
// per batch saved through a state.Cursor, and a nacked batch read again from the saved position
// (with a new cursor) once its retry.Rewinder says so.
type memSource struct {
	log   *memLog
	store state.Store
}

func (s *memSource) Run(ctx context.Context, pub plugin.Publisher) error {
	rw := retry.NewRewinder(retry.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond})
	for ctx.Err() == nil {
		cur := state.NewCursor(s.store, "pos")
		saved, err := cur.Load(ctx)
		if err != nil {
			return err
		}
		next := 0
		if saved != nil {
			next = int(binary.BigEndian.Uint64(saved))
		}
		rw.Rewound()
		for !rw.Ready() {
			_, nacked := rw.Nacked()
			recs := s.log.from(next)
			for len(recs) > 0 && !nacked {
				n := min(2, len(recs))
				batch := make([]*event.Record, n)
				for i := range n {
					batch[i] = &event.Record{Raw: recs[i]}
				}
				pos := binary.BigEndian.AppendUint64(nil, uint64(next+n))
				if err := pub.Publish(ctx, batch, rw.Track(cur.Track(pos))); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				next += n
				recs = recs[n:]
			}
			if !retry.Sleep(ctx, 2*time.Millisecond) {
				return nil
			}
		}
	}
	return nil
}

func memHarness() SourceHarness {
	var (
		log *memLog
		n   int
	)
	return SourceHarness{
		Setup: func(*testing.T) { log, n = &memLog{}, 0 },
		New: func(_ *testing.T, store state.Store) plugin.Source {
			return &memSource{log: log, store: store}
		},
		Produce: func(_ *testing.T, k int) []string {
			var keys []string
			for range k {
				n++
				key := fmt.Sprintf("r%d", n)
				log.append(NewRecord(key, nil).Raw)
				keys = append(keys, key)
			}
			return keys
		},
		Key: IDKey,
	}
}

func TestSourceSuiteOnReferenceSource(t *testing.T) {
	RunSourceSuite(t, memHarness())
}

// memDest is a well-behaved destination keeping what it was given.
type memDest struct {
	mu     sync.Mutex
	got    []string
	closed bool
}

func (d *memDest) Write(_ context.Context, recs []*event.Record) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("closed")
	}
	for _, r := range recs {
		d.got = append(d.got, string(r.Raw))
	}
	return nil
}

func (d *memDest) Close(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

func (d *memDest) delivered() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.got...)
}

func TestDestinationSuiteOnReferenceDestination(t *testing.T) {
	var d *memDest
	RunDestinationSuite(t, DestinationHarness{
		New:       func(*testing.T) plugin.Destination { d = &memDest{}; return d },
		Delivered: func(*testing.T) []string { return d.delivered() },
		Key:       RawKey,
	})
}

// kindDest keeps only the records of its kind, as a destination that refuses the others does;
// it is the reference destination otherwise.
type kindDest struct {
	memDest
	kind event.Kind
}

func (d *kindDest) Write(ctx context.Context, recs []*event.Record) error {
	var take []*event.Record
	for _, r := range recs {
		if r.Kind == d.kind {
			take = append(take, r)
		}
	}
	return d.memDest.Write(ctx, take)
}

// A harness's Adapt makes every record the suite writes one the destination takes: without it,
// a destination of one kind of record would deliver nothing.
func TestDestinationSuiteAdaptsRecords(t *testing.T) {
	var d *kindDest
	RunDestinationSuite(t, DestinationHarness{
		New:       func(*testing.T) plugin.Destination { d = &kindDest{kind: "test/kind"}; return d },
		Delivered: func(*testing.T) []string { return d.delivered() },
		Key:       RawKey,
		Adapt: func(r *event.Record) *event.Record {
			r.Kind = "test/kind"
			return r
		},
	})
}

func TestJudge(t *testing.T) {
	c := &destCase{h: DestinationHarness{Key: IDKey}}
	b1 := makeBatch("a", 3)
	b2 := makeBatch("b", 2)
	ids := func(s ...string) []string { return s }
	tests := []struct {
		name string
		got  []string
		want string // a substring of the problems, "" for none
	}{
		{"exact", ids("a-0", "a-1", "a-2", "b-0", "b-1"), ""},
		{"batches interleaved", ids("a-0", "b-0", "a-1", "b-1", "a-2"), ""},
		{"missing", ids("a-0", "a-1", "a-2", "b-0"), "1 of 5 records never arrived"},
		{"twice", ids("a-0", "a-1", "a-2", "b-0", "b-1", "a-1"), "arrived more than once"},
		{"extra", ids("a-0", "a-1", "a-2", "", "b-0", "b-1"), "match no record written"},
		{"order", ids("a-0", "a-2", "a-1", "b-0", "b-1"), "out of order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := strings.Join(c.judge(t, tt.got, [][]*event.Record{b1, b2}), "\n")
			switch {
			case tt.want == "" && p != "":
				t.Fatalf("unexpected problems: %s", p)
			case tt.want != "" && !strings.Contains(p, tt.want):
				t.Fatalf("problems %q do not mention %q", p, tt.want)
			}
		})
	}
}

func TestPublisherManualAcks(t *testing.T) {
	p := NewPublisher(Manual)
	var got []string
	var mu sync.Mutex
	ack := func(name string) event.AckFunc {
		return func(o event.Outcome) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, name+":"+o.String())
		}
	}
	ctx := context.Background()
	for _, name := range []string{"one", "two", "three"} {
		if err := p.Publish(ctx, []*event.Record{NewRecord(name, nil)}, ack(name)); err != nil {
			t.Fatal(err)
		}
	}
	bs := p.Batches()
	if len(bs) != 3 || bs[2].Seq != 2 {
		t.Fatalf("batches: %d", len(bs))
	}
	if !bs[2].Ack() || bs[2].Ack() || bs[2].Nack() {
		t.Fatal("a batch must be finished exactly once")
	}
	bs[0].Nack()
	if n := p.AckAll(); n != 1 {
		t.Fatalf("AckAll acked %d batches, want 1", n)
	}
	want := "three:acked one:nacked two:acked"
	if s := strings.Join(got, " "); s != want {
		t.Fatalf("acks %q, want %q", s, want)
	}
	if len(p.Pending()) != 0 {
		t.Fatal("batches left pending")
	}
	if k := p.Keys(IDKey); strings.Join(k, ",") != "one,two,three" {
		t.Fatalf("keys %v", k)
	}
}

func TestPublisherAckModes(t *testing.T) {
	for _, mode := range []AckMode{AckInPublish, AckAsync} {
		p := NewPublisher(mode)
		var acked atomic.Int32
		for range 10 {
			if err := p.Publish(context.Background(), nil, func(o event.Outcome) {
				if o == event.Acked {
					acked.Add(1)
				}
			}); err != nil {
				t.Fatal(err)
			}
		}
		if mode == AckInPublish && acked.Load() != 10 {
			t.Fatalf("AckInPublish: %d acks once Publish returned", acked.Load())
		}
		p.WaitUntil(t, 0, "every ack", func() bool { return len(p.Pending()) == 0 })
		Eventually(t, 0, "ten acks", func() bool { return acked.Load() == 10 })
	}
}

func TestPublisherBlocks(t *testing.T) {
	p := NewPublisher(AckInPublish)
	p.Block()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 2)
	acks := make(chan event.Outcome, 2)
	publish := func(ctx context.Context) {
		errc <- p.Publish(ctx, []*event.Record{NewRecord("x", nil)}, func(o event.Outcome) { acks <- o })
	}
	go publish(ctx)
	p.WaitBlocked(t)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("blocked Publish returned %v after its ctx ended", err)
	}
	// As the engine: the batch was not taken, and it is nacked.
	if o := <-acks; o != event.Nacked || len(p.Batches()) != 0 || p.Abandoned() != 1 {
		t.Fatalf("abandoned Publish: ack %v, %d batches taken, %d abandoned", o, len(p.Batches()), p.Abandoned())
	}
	go publish(context.Background())
	p.WaitBlocked(t)
	p.Unblock()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if o := <-acks; o != event.Acked || len(p.Batches()) != 1 {
		t.Fatalf("unblocked batch: ack %v, %d batches", o, len(p.Batches()))
	}
	// A context already ended: not taken, nacked at once.
	_ = p.Publish(ctx, []*event.Record{NewRecord("y", nil)}, func(o event.Outcome) { acks <- o })
	if o := <-acks; o != event.Nacked || len(p.Batches()) != 1 {
		t.Fatalf("Publish with an ended ctx: ack %v, %d batches", o, len(p.Batches()))
	}
}

func TestPublisherAcksEmptyBatchesAtOnce(t *testing.T) {
	p := NewPublisher(Manual)
	var got event.Outcome
	if err := p.Publish(context.Background(), nil, func(o event.Outcome) { got = o }); err != nil {
		t.Fatal(err)
	}
	if got != event.Acked || len(p.Pending()) != 0 {
		t.Fatalf("empty batch: ack %v, %d pending", got, len(p.Pending()))
	}
}

func TestPublisherViolations(t *testing.T) {
	p := NewPublisher(AckInPublish)
	r := NewRecord("a", nil)
	_ = p.Publish(context.Background(), []*event.Record{r, nil}, nil)
	r.Raw = append(r.Raw[:len(r.Raw):len(r.Raw)], ' ')
	p.Close()
	_ = p.Publish(context.Background(), nil, nil)
	if v := p.Violations(); len(v) != 2 {
		t.Fatalf("violations %q, want a nil record and a Publish after Close", v)
	}
	if m := p.Batches()[0].Modified(); len(m) != 1 || m[0] != 0 {
		t.Fatalf("modified %v, want [0]", m)
	}
}

func TestSettingsAndDropper(t *testing.T) {
	set := Settings(t, "s1", nil)
	if set.Name != "s1" || set.Logger == nil || set.Metrics == nil || set.State == nil || set.DataDir == "" {
		t.Fatalf("incomplete settings: %+v", set)
	}
	set.Logger.Info("hello from the test logger")
	d := DropperOf(t, set)
	raw := []byte("not json")
	set.Dropper.Drop(context.Background(), raw, plugin.ReasonInvalid, errors.New("bad"))
	raw[0] = 'X'
	set.Dropper.Drop(context.Background(), nil, plugin.ReasonTooLarge, nil)
	if d.Count(plugin.ReasonInvalid) != 1 || d.Count(plugin.ReasonTooLarge) != 1 {
		t.Fatalf("drops %+v", d.Drops())
	}
	if got := string(d.Drops()[0].Raw); got != "not json" {
		t.Fatalf("the dropper kept %q, not a copy of the input", got)
	}
	// Two settings never share metrics or state.
	other := Settings(t, "s1", nil)
	_ = other.State.Put(context.Background(), "k", []byte("v"))
	if _, err := set.State.Get(context.Background(), "k"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("fresh settings share a store: %v", err)
	}
}

func TestLoggerAfterTestEnds(t *testing.T) {
	var log interface{ Info(string, ...any) }
	t.Run("inner", func(t *testing.T) {
		log = Logger(t)
	})
	log.Info("must not panic: the test it belonged to has finished")
}

func TestRunningStopAndWait(t *testing.T) {
	l := &memLog{}
	l.append(NewRecord("a", nil).Raw)
	pub := NewPublisher(AckInPublish)
	r := Start(t, &memSource{log: l, store: state.NewMemory().Namespace("x")}, pub)
	pub.WaitKeys(t, IDKey, []string{"a"})
	if done, _ := r.Done(); done {
		t.Fatal("Run returned early")
	}
	r.Stop(t)
	if done, err := r.Done(); !done || err != nil {
		t.Fatalf("after Stop: done %v, err %v", done, err)
	}
	if err := r.Wait(t); err != nil {
		t.Fatal(err)
	}
}
