package event

import (
	"sync"
	"sync/atomic"
	"testing"
)

// ackRecorder records every call of its AckFunc.
type ackRecorder struct {
	mu    sync.Mutex
	calls []Outcome
}

func (a *ackRecorder) ack(o Outcome) {
	a.mu.Lock()
	a.calls = append(a.calls, o)
	a.mu.Unlock()
}

func (a *ackRecorder) get() []Outcome {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Outcome(nil), a.calls...)
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Acked: "acked", Nacked: "nacked", 0: "unknown", 99: "unknown"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q; want %q", int(o), got, want)
		}
	}
}

// op is one call on a Tracker.
type op struct {
	kind    string // "add", "done", "release"
	n       int
	outcome Outcome
}

func add(n int) op             { return op{"add", n, 0} }
func done(n int, o Outcome) op { return op{"done", n, o} }
func release() op              { return op{kind: "release"} }

func (o op) apply(t *Tracker) {
	switch o.kind {
	case "add":
		t.Add(o.n)
	case "done":
		t.Done(o.n, o.outcome)
	case "release":
		t.Release()
	default:
		panic("unknown op " + o.kind)
	}
}

func ops(list ...op) []op                { return list }
func outcomes(list ...Outcome) []Outcome { return list }

func TestTracker(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
		// want holds the AckFunc calls expected after each op (nil: none yet).
		want [][]Outcome
	}{
		{
			name: "release alone acks",
			ops:  ops(release()),
			want: [][]Outcome{outcomes(Acked)},
		},
		{
			name: "all pieces acked",
			ops:  ops(add(3), done(1, Acked), done(2, Acked), release()),
			want: [][]Outcome{nil, nil, nil, outcomes(Acked)},
		},
		{
			name: "pieces done after release",
			ops:  ops(add(2), release(), done(1, Acked), done(1, Acked)),
			want: [][]Outcome{nil, nil, nil, outcomes(Acked)},
		},
		{
			name: "balanced Add and Done before Release do not ack",
			ops:  ops(add(1), done(1, Acked), add(2), done(2, Acked), release()),
			want: [][]Outcome{nil, nil, nil, nil, outcomes(Acked)},
		},
		{
			name: "one nack wins",
			ops:  ops(add(3), done(1, Acked), done(1, Nacked), done(1, Acked), release()),
			want: [][]Outcome{nil, nil, nil, nil, outcomes(Nacked)},
		},
		{
			name: "nack first, then acks",
			ops:  ops(add(2), release(), done(1, Nacked), done(1, Acked)),
			want: [][]Outcome{nil, nil, nil, outcomes(Nacked)},
		},
		{
			name: "nack as the last piece",
			ops:  ops(add(2), release(), done(1, Acked), done(1, Nacked)),
			want: [][]Outcome{nil, nil, nil, outcomes(Nacked)},
		},
		{
			name: "unknown outcome counts as a failure",
			ops:  ops(add(1), done(1, Outcome(0)), release()),
			want: [][]Outcome{nil, nil, outcomes(Nacked)},
		},
		{
			name: "several pieces nacked at once",
			ops:  ops(add(5), done(5, Nacked), release()),
			want: [][]Outcome{nil, nil, outcomes(Nacked)},
		},
		{
			name: "adding zero pieces",
			ops:  ops(add(0), release()),
			want: [][]Outcome{nil, outcomes(Acked)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec ackRecorder
			tr := NewTracker(rec.ack)
			for i, o := range tc.ops {
				o.apply(tr)
				got := rec.get()
				if !equalOutcomes(got, tc.want[i]) {
					t.Fatalf("after op %d (%+v): ack calls %v; want %v", i, o, got, tc.want[i])
				}
			}
		})
	}
}

func equalOutcomes(a, b []Outcome) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTrackerNilAck(t *testing.T) {
	for _, o := range []Outcome{Acked, Nacked} {
		tr := NewTracker(nil)
		tr.Add(2)
		tr.Done(1, o)
		tr.Release()
		tr.Done(1, Acked) // finishing with no AckFunc must not panic
	}
}

func TestTrackerPanicsWhenOverFinished(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
	}{
		{"done after completion", ops(release(), done(1, Acked))},
		{"release twice", ops(release(), release())},
		{"more done than added", ops(add(1), done(3, Acked))},
		{"more done than added, nacked", ops(add(1), done(3, Nacked))},
		{"done with no pieces", ops(done(2, Acked))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec ackRecorder
			tr := NewTracker(rec.ack)
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
				if n := len(rec.get()); n > 1 {
					t.Fatalf("AckFunc called %d times", n)
				}
			}()
			for _, o := range tc.ops {
				o.apply(tr)
			}
		})
	}
}

func TestTrackerConcurrent(t *testing.T) {
	const trackers, pieces = 200, 64
	for _, nackOne := range []bool{false, true} {
		name := "all acked"
		want := Acked
		if nackOne {
			name, want = "one nacked", Nacked
		}
		t.Run(name, func(t *testing.T) {
			var calls [trackers]atomic.Int32
			var outcomes [trackers]atomic.Int32
			var wg sync.WaitGroup
			for i := range trackers {
				tr := NewTracker(func(o Outcome) {
					calls[i].Add(1)
					outcomes[i].Store(int32(o))
				})
				// Pieces are added in chunks while earlier ones are already finishing, as a
				// fan-out does, and the guard is released from yet another goroutine.
				for chunk := range 4 {
					tr.Add(pieces / 4)
					for p := range pieces / 4 {
						o := Acked
						if nackOne && chunk == 2 && p == 7 {
							o = Nacked
						}
						wg.Go(func() { tr.Done(1, o) })
					}
				}
				wg.Go(tr.Release)
			}
			wg.Wait()
			for i := range trackers {
				if n := calls[i].Load(); n != 1 {
					t.Fatalf("tracker %d: AckFunc called %d times; want once", i, n)
				}
				if o := Outcome(outcomes[i].Load()); o != want {
					t.Fatalf("tracker %d: outcome %v; want %v", i, o, want)
				}
			}
		})
	}
}

func TestTrackerDoneZeroAfterFinishDoesNotAckAgain(t *testing.T) {
	calls := 0
	tr := NewTracker(func(Outcome) { calls++ })
	tr.Release()
	tr.Done(0, Nacked)
	if calls != 1 {
		t.Fatalf("ack called %d times, want 1", calls)
	}
}
