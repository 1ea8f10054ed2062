package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

func loadString(t *testing.T, c *Cursor) string {
	t.Helper()
	p, err := c.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if p == nil {
		return "<nil>"
	}
	return string(p)
}

func TestCursorLoadEmpty(t *testing.T) {
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			c := NewCursor(impl.open(t).Namespace("ns"), "k")
			p, err := c.Load(context.Background())
			if p != nil || err != nil {
				t.Fatalf("Load = %q, %v; want nil, nil", p, err)
			}
			if n := c.Pending(); n != 0 {
				t.Fatalf("Pending = %d; want 0", n)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("Err = %v", err)
			}
		})
	}
}

// step acks (or nacks) batch n (1-based, in Track order) and states what must follow.
type step struct {
	batch   int
	outcome event.Outcome
	saved   string // what Load returns afterwards ("<nil>" for nothing saved)
	pending int
}

func ack(n int, saved string, pending int) step { return step{n, event.Acked, saved, pending} }
func nack(n int, saved string, pending int) step {
	return step{n, event.Nacked, saved, pending}
}

func TestCursorAckOrder(t *testing.T) {
	tests := []struct {
		name    string
		tracked int
		steps   []step
		commits []string
	}{
		{
			name:    "in order saves each position",
			tracked: 3,
			steps:   []step{ack(1, "pos1", 2), ack(2, "pos2", 1), ack(3, "pos3", 0)},
			commits: []string{"pos1", "pos2", "pos3"},
		},
		{
			name:    "out of order saves the highest contiguous position",
			tracked: 3,
			steps:   []step{ack(3, "<nil>", 3), ack(1, "pos1", 2), ack(2, "pos3", 0)},
			commits: []string{"pos1", "pos3"},
		},
		{
			name:    "reverse order saves once at the end",
			tracked: 4,
			steps:   []step{ack(4, "<nil>", 4), ack(3, "<nil>", 4), ack(2, "<nil>", 4), ack(1, "pos4", 0)},
			commits: []string{"pos4"},
		},
		{
			name:    "gap in the middle",
			tracked: 5,
			steps: []step{
				ack(1, "pos1", 4), ack(3, "pos1", 4), ack(5, "pos1", 4),
				ack(2, "pos3", 2), ack(4, "pos5", 0),
			},
			commits: []string{"pos1", "pos3", "pos5"},
		},
		{
			name:    "nack pins the cursor",
			tracked: 3,
			steps:   []step{ack(1, "pos1", 2), nack(2, "pos1", 2), ack(3, "pos1", 2)},
			commits: []string{"pos1"},
		},
		{
			name:    "nack of the first batch saves nothing",
			tracked: 3,
			steps:   []step{nack(1, "<nil>", 3), ack(2, "<nil>", 3), ack(3, "<nil>", 3)},
			commits: nil,
		},
		{
			// A stop under backpressure nacks the batch being published while earlier ones are
			// still delivered: they must still be saved, or a restart sends them twice.
			name:    "a nack is a wall: earlier batches still save up to it",
			tracked: 3,
			steps:   []step{ack(1, "pos1", 2), nack(3, "pos1", 2), ack(2, "pos2", 1)},
			commits: []string{"pos1", "pos2"},
		},
		{
			name:    "nothing at or after the wall is saved",
			tracked: 3,
			steps:   []step{ack(3, "<nil>", 3), nack(2, "<nil>", 3), ack(1, "pos1", 2)},
			commits: []string{"pos1"},
		},
		{
			name:    "the lowest nack is the wall",
			tracked: 4,
			steps:   []step{nack(3, "<nil>", 4), nack(2, "<nil>", 4), ack(1, "pos1", 3), ack(4, "pos1", 3)},
			commits: []string{"pos1"},
		},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					store := impl.open(t).Namespace("ns")
					c := NewCursor(store, "cursor")
					var commits []string
					c.OnCommit(func(pos []byte) {
						// The position is in the store by the time OnCommit hears of it.
						v, err := store.Get(context.Background(), "cursor")
						if err != nil || string(v) != string(pos) {
							t.Errorf("OnCommit(%q) but the store holds %q, %v", pos, v, err)
						}
						commits = append(commits, string(pos))
					})
					acks := make([]event.AckFunc, tc.tracked)
					for i := range acks {
						acks[i] = c.Track(fmt.Appendf(nil, "pos%d", i+1))
					}
					if n := c.Pending(); n != tc.tracked {
						t.Fatalf("Pending after tracking = %d; want %d", n, tc.tracked)
					}
					for i, s := range tc.steps {
						acks[s.batch-1](s.outcome)
						if got := loadString(t, c); got != s.saved {
							t.Fatalf("step %d (%v batch %d): saved %s; want %s", i, s.outcome, s.batch, got, s.saved)
						}
						if got := c.Pending(); got != s.pending {
							t.Fatalf("step %d (%v batch %d): Pending = %d; want %d", i, s.outcome, s.batch, got, s.pending)
						}
					}
					if !slices.Equal(commits, tc.commits) {
						t.Errorf("OnCommit saw %q; want %q", commits, tc.commits)
					}
					if err := c.Err(); err != nil {
						t.Errorf("Err = %v", err)
					}
				})
			}
		})
	}
}

func TestCursorTrackBetweenAcks(t *testing.T) {
	c := NewCursor(NewMemory().Namespace("ns"), "k")
	a1 := c.Track([]byte("p1"))
	a1(event.Acked)
	if got := loadString(t, c); got != "p1" {
		t.Fatalf("saved %s; want p1", got)
	}
	a2 := c.Track([]byte("p2"))
	a3 := c.Track([]byte("p3"))
	a3(event.Acked)
	if got := loadString(t, c); got != "p1" {
		t.Fatalf("saved %s; want p1", got)
	}
	a4 := c.Track([]byte("p4"))
	if n := c.Pending(); n != 3 {
		t.Fatalf("Pending = %d; want 3", n)
	}
	a2(event.Acked)
	if got := loadString(t, c); got != "p3" {
		t.Fatalf("saved %s; want p3", got)
	}
	a4(event.Acked)
	if got, n := loadString(t, c), c.Pending(); got != "p4" || n != 0 {
		t.Fatalf("saved %s, Pending %d; want p4, 0", got, n)
	}
}

// flakyStore is a Store whose Put fails while fail is set, and whose Get fails with getErr.
type flakyStore struct {
	Store
	mu     sync.Mutex
	fail   bool
	puts   int
	getErr error
}

var errDiskFull = errors.New("disk full")

func (f *flakyStore) Put(ctx context.Context, key string, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts++
	if f.fail {
		return errDiskFull
	}
	return f.Store.Put(ctx, key, value)
}

func (f *flakyStore) Get(ctx context.Context, key string) ([]byte, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	return f.Store.Get(ctx, key)
}

func (f *flakyStore) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

func TestCursorFailingStorePins(t *testing.T) {
	store := &flakyStore{Store: NewMemory().Namespace("ns")}
	c := NewCursor(store, "k")
	var commits []string
	c.OnCommit(func(p []byte) { commits = append(commits, string(p)) })
	a1, a2, a3 := c.Track([]byte("p1")), c.Track([]byte("p2")), c.Track([]byte("p3"))

	a1(event.Acked)
	if got := loadString(t, c); got != "p1" || c.Err() != nil {
		t.Fatalf("saved %s, Err %v; want p1, nil", got, c.Err())
	}

	store.setFail(true)
	a2(event.Acked)
	if err := c.Err(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Err = %v; want the store's error", err)
	}
	if got := loadString(t, c); got != "p1" {
		t.Fatalf("saved %s after a failed save; want p1", got)
	}
	if n := c.Pending(); n != 2 {
		t.Fatalf("Pending = %d after a failed save; want 2 (batches 2 and 3 are not saved)", n)
	}

	// The store recovers, but the cursor stays pinned: skipping p2 could lose records.
	store.setFail(false)
	putsBefore := store.puts
	a3(event.Acked)
	if got := loadString(t, c); got != "p1" {
		t.Fatalf("saved %s after recovering; want p1 (pinned)", got)
	}
	if store.puts != putsBefore {
		t.Fatalf("a pinned cursor wrote to the store")
	}
	if !errors.Is(c.Err(), errDiskFull) {
		t.Fatalf("Err = %v; want it kept", c.Err())
	}
	if !slices.Equal(commits, []string{"p1"}) {
		t.Fatalf("OnCommit saw %q; want [p1]", commits)
	}
}

func TestCursorLoadError(t *testing.T) {
	errIO := errors.New("i/o error")
	c := NewCursor(&flakyStore{Store: NewMemory().Namespace("ns"), getErr: errIO}, "file/x")
	p, err := c.Load(context.Background())
	if !errors.Is(err, errIO) || p != nil {
		t.Fatalf("Load = %q, %v; want nil and the store's error", p, err)
	}
	if want := "file/x"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name the cursor key", err)
	}
}

func TestCursorConcurrentAcks(t *testing.T) {
	const batches, workers = 2000, 16
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			store := impl.open(t).Namespace("ns")
			c := NewCursor(store, "k")
			var commits []uint64 // appended under the cursor's lock
			c.OnCommit(func(p []byte) { commits = append(commits, binary.BigEndian.Uint64(p)) })

			// One goroutine tracks, in order, as a source does; many ack in any order.
			acks := make(chan event.AckFunc, batches)
			var wg sync.WaitGroup
			for w := range workers {
				rng := rand.New(rand.NewPCG(uint64(w), 42))
				wg.Go(func() {
					var held []event.AckFunc
					for a := range acks {
						held = append(held, a)
						if len(held) >= 4 {
							rng.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
							for _, h := range held {
								h(event.Acked)
							}
							held = held[:0]
						}
					}
					for _, h := range held {
						h(event.Acked)
					}
				})
			}
			for i := 1; i <= batches; i++ {
				acks <- c.Track(binary.BigEndian.AppendUint64(nil, uint64(i)))
				_ = c.Pending()
			}
			close(acks)
			wg.Wait()

			p, err := c.Load(context.Background())
			if err != nil || len(p) != 8 || binary.BigEndian.Uint64(p) != batches {
				t.Fatalf("Load = %v, %v; want position %d", p, err, batches)
			}
			if n := c.Pending(); n != 0 {
				t.Fatalf("Pending = %d; want 0", n)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("Err = %v", err)
			}
			if len(commits) == 0 || commits[len(commits)-1] != batches {
				t.Fatalf("last commit = %v; want %d", commits, batches)
			}
			for i := 1; i < len(commits); i++ {
				if commits[i] <= commits[i-1] {
					t.Fatalf("commits went backwards: %d after %d", commits[i], commits[i-1])
				}
			}
		})
	}
}

func TestCursorReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCursor(db.Namespace("plugin/files"), "file/abc")
	a1, a2, a3 := c.Track([]byte("off=10")), c.Track([]byte("off=20")), c.Track([]byte("off=30"))
	a1(event.Acked)
	a3(event.Acked) // batch 2 still in flight when we stop: off=30 must not be saved
	_ = a2
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c = NewCursor(db.Namespace("plugin/files"), "file/abc")
	if got := loadString(t, c); got != "off=10" {
		t.Fatalf("after reopen Load = %s; want off=10", got)
	}
	// Other keys and namespaces have no position.
	if got := loadString(t, NewCursor(db.Namespace("plugin/files"), "file/other")); got != "<nil>" {
		t.Fatalf("other key Load = %s; want nothing", got)
	}
	if got := loadString(t, NewCursor(db.Namespace("plugin/other"), "file/abc")); got != "<nil>" {
		t.Fatalf("other namespace Load = %s; want nothing", got)
	}
	// The new cursor carries on from there.
	c.Track([]byte("off=40"))(event.Acked)
	if got := loadString(t, c); got != "off=40" {
		t.Fatalf("Load = %s; want off=40", got)
	}
}

// Saved(Mark()) turns true once the batches tracked before the mark are saved, whatever was
// tracked after it, and stays false behind a nack.
func TestCursorMarkSaved(t *testing.T) {
	c := NewCursor(NewMemory().Namespace("ns"), "k")
	if !c.Saved(c.Mark()) {
		t.Fatal("Saved(Mark()) with nothing tracked = false")
	}
	a1, a2 := c.Track([]byte("1")), c.Track([]byte("2"))
	mark := c.Mark()
	a3 := c.Track([]byte("3"))
	a2(event.Acked)
	if c.Saved(mark) {
		t.Fatal("Saved after batch 2 of 2 acked, batch 1 in flight")
	}
	a1(event.Acked)
	if !c.Saved(mark) {
		t.Fatal("not Saved after batches 1 and 2 acked (batch 3, tracked after the mark, in flight)")
	}
	if c.Saved(c.Mark()) {
		t.Fatal("Saved(Mark()) with batch 3 in flight")
	}
	a4 := c.Track([]byte("4"))
	m4 := c.Mark()
	a3(event.Nacked)
	a4(event.Acked)
	if c.Saved(m4) {
		t.Fatal("Saved past a nacked batch")
	}
}
