package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// progressDest is a ProgressWriter: each call reports report (spans of its records) as
// delivered, then returns what result says for the call.
type progressDest struct {
	mu     sync.Mutex
	calls  [][]string
	report func(call int) [][2]int
	result func(call int) error
	// between runs after each report, while the Write is still running.
	between func(call int)
}

var _ ProgressWriter = (*progressDest)(nil)

func (d *progressDest) Write(ctx context.Context, recs []*event.Record) error {
	return d.WriteProgress(ctx, recs, nil)
}

func (d *progressDest) WriteProgress(_ context.Context, recs []*event.Record, delivered func(from, to int)) error {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	d.mu.Lock()
	call := len(d.calls)
	d.calls = append(d.calls, ids)
	d.mu.Unlock()
	if delivered != nil && d.report != nil {
		for _, s := range d.report(call) {
			delivered(s[0], s[1])
			if d.between != nil {
				d.between(call)
			}
		}
	}
	if d.result == nil {
		return nil
	}
	return d.result(call)
}

func (d *progressDest) Close(context.Context) error { return nil }

// batchAcks tracks source batches of records as the fan-out does: one tracker per batch.
type batchAcks struct {
	mu       sync.Mutex
	outcomes map[string]event.Outcome
}

func (b *batchAcks) items(name string, ids ...string) []item {
	t := event.NewTracker(func(o event.Outcome) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, dup := b.outcomes[name]; dup {
			panic("batch " + name + " acknowledged twice")
		}
		b.outcomes[name] = o
	})
	t.Add(len(ids))
	t.Release()
	out := make([]item, len(ids))
	for i, id := range ids {
		out[i] = item{rec: &event.Record{ID: id, Raw: []byte(`{}`)}, t: t}
	}
	return out
}

func (b *batchAcks) outcome(name string) (event.Outcome, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.outcomes[name]
	return o, ok
}

// A destination that reports records delivered while its Write runs has them acknowledged
// at once: a source batch all of whose records are reported is acknowledged before the Write
// returns; what the Write did not report is retried, refused or delivered by its result.
func TestProgressWriterAcknowledgesWhileWriting(t *testing.T) {
	tests := []struct {
		name      string
		report    [][2]int // spans the first call reports
		result    error    // the first call's result (later calls succeed)
		wantCalls [][]string
		wantDLQ   []string
	}{
		{
			name:      "the rest delivered when Write returns",
			report:    [][2]int{{0, 2}},
			wantCalls: [][]string{{"a1", "a2", "b1", "b2"}},
		},
		{
			name:      "only the records not reported are retried",
			report:    [][2]int{{0, 2}, {2, 3}},
			result:    errors.New("connection reset"),
			wantCalls: [][]string{{"a1", "a2", "b1", "b2"}, {"b2"}},
		},
		{
			name:   "a refused record is named by its index in the call",
			report: [][2]int{{0, 2}},
			result: &plugin.BatchError{Failed: map[int]error{
				2: plugin.Refused("too_large", errors.New("too large")),
				3: errors.New("try again"),
			}},
			wantCalls: [][]string{{"a1", "a2", "b1", "b2"}, {"b2"}},
			wantDLQ:   []string{"b1"},
		},
		{
			name:      "a span reported twice is acknowledged once",
			report:    [][2]int{{0, 2}, {0, 2}},
			wantCalls: [][]string{{"a1", "a2", "b1", "b2"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acks := &batchAcks{outcomes: map[string]event.Outcome{}}
			var earlyA []bool // whether batch a was acknowledged after each report
			pd := &progressDest{
				report: func(call int) [][2]int {
					if call == 0 {
						return tc.report
					}
					return nil
				},
				result: func(call int) error {
					if call == 0 {
						return tc.result
					}
					return nil
				},
				between: func(call int) {
					_, ok := acks.outcome("a")
					earlyA = append(earlyA, ok)
				},
			}
			dlq := &memDLQ{}
			m := telemetry.NewMetrics("test").Plugin("dst")
			d := newDestination("dst", pd, fastOpts(), dlq, m, slog.New(slog.DiscardHandler))
			items := append(acks.items("a", "a1", "a2"), acks.items("b", "b1", "b2")...)
			d.deliver(context.Background(), items)

			if len(earlyA) == 0 || !earlyA[0] {
				t.Fatalf("batch a was not acknowledged while the Write ran (after each report: %v)", earlyA)
			}
			for _, name := range []string{"a", "b"} {
				if o, ok := acks.outcome(name); !ok || o != event.Acked {
					t.Fatalf("batch %s: outcome %v (%v); want acknowledged", name, o, ok)
				}
			}
			pd.mu.Lock()
			calls := pd.calls
			pd.mu.Unlock()
			if !slices.EqualFunc(calls, tc.wantCalls, slices.Equal[[]string]) {
				t.Fatalf("calls %v; want %v", calls, tc.wantCalls)
			}
			if got := dlq.reasons()["refused"]; !slices.Equal(got, tc.wantDLQ) {
				t.Fatalf("dead-lettered %v; want %v", got, tc.wantDLQ)
			}
		})
	}
}
