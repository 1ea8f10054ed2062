package cloudwatch

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

// sizeStore records the largest value written and every value written.
type sizeStore struct {
	state.Store
	mu     sync.Mutex
	max    int
	values [][]byte
}

func (s *sizeStore) Put(ctx context.Context, k string, v []byte) error {
	s.mu.Lock()
	s.max = max(s.max, len(v))
	s.values = append(s.values, v)
	s.mu.Unlock()
	return s.Store.Put(ctx, k, v)
}

func (s *sizeStore) largest() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

// A checkpoint costs what a resume can read again, not what was read: the batches of one
// page save a position in the page, not the page's ids, and a slice read lag+overlap after
// its end keeps no ids of its overlap (the next slice starts after it). Reading a backlog of
// n events in one page, in batches of 20, the largest checkpoint written stays the same size
// for 300 and 3000 events; saving the seen set whole, it grows with n (~70 bytes an id).
func TestCheckpointCostFlat(t *testing.T) {
	const limit = 2048
	for _, tt := range []struct {
		name    string
		age     time.Duration // of the events, 3 h of backlog in slices of an hour
		overlap time.Duration
	}{
		{"the ids of a page being published", 150 * time.Minute, 2 * time.Second},
		{"the overlap of a slice read late", 65 * time.Minute, 30 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sizes := map[int]int{}
			for _, n := range []int{300, 3000} {
				w := newWorld(t, cwlogs.Options{})
				want := w.put("us-east-1", ctStream("us-east-1"), n, tt.age)
				st := &sizeStore{Store: state.NewMemory().Namespace("plugin/cw")}
				cfg := w.config("us-east-1")
				cfg.StartPosition = "-3h"
				cfg.Overlap = tt.overlap
				cfg.CheckpointEvery = 20
				cfg.PollInterval = time.Hour // the slices of the backlog, then one at the edge
				pub := plugintest.NewPublisher(plugintest.AckAsync)
				run := plugintest.Start(t, w.source(t, cfg, st), pub)
				pub.WaitKeys(t, rawKey, want)
				pub.WaitUntil(t, 0, "every batch acknowledged", func() bool { return len(pub.Pending()) == 0 })
				run.Stop(t)
				checkOnce(t, pub, want)
				sizes[n] = st.largest()
				t.Logf("%d events: largest checkpoint %d bytes in %d puts", n, sizes[n], len(st.values))
			}
			for n, size := range sizes {
				if size > limit {
					t.Errorf("reading %d events wrote a checkpoint of %d bytes (limit %d, independent of the events read)", n, size, limit)
				}
			}
		})
	}
}

// A restart in the middle of a page reads the page again and skips the events of the batches
// acknowledged before it, by their position in the page (the checkpoint holds no id of the
// page): nothing is lost and nothing acknowledged is published again. When the page read
// again differs from the one saved (its first ids are not the ones saved), the
// whole page is published again: duplicates, never loss.
func TestPageRestartSkipsDelivered(t *testing.T) {
	for _, tt := range []struct {
		name    string
		changed bool
	}{
		{"same page", false},
		{"page changed", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, cwlogs.Options{})
			want := w.put("us-east-1", ctStream("us-east-1"), 200, 150*time.Minute)
			store := state.NewMemory().Namespace("plugin/cw")
			cfg := w.config("us-east-1")
			cfg.StartPosition = "-3h"
			cfg.CheckpointEvery = 10
			cfg.PollInterval = time.Hour
			pub := plugintest.NewPublisher(plugintest.Manual)
			run := plugintest.Start(t, w.source(t, cfg, store), pub)
			acked := map[string]bool{}
			var saved *checkpoint
			plugintest.Eventually(t, 20*time.Second, "batches of the page acknowledged and saved", func() bool {
				for _, b := range pub.Batches() {
					if b.Outcome() != 0 {
						continue
					}
					if len(acked) < 50 {
						b.Ack()
						for _, k := range b.Keys(rawKey) {
							acked[k] = true
						}
					}
					break
				}
				saved = savedCheckpoint(t, store)
				return saved != nil && len(acked) >= 50 && skipOf(saved) >= 50
			})
			run.Stop(t)
			if len(saved.Seen) > 7 {
				t.Errorf("a checkpoint in the middle of a page holds %d ids; want none of the page's", len(saved.Seen))
			}
			if tt.changed {
				raw, _ := store.Get(context.Background(), partitionKey)
				raw = []byte(strings.Replace(string(raw), `"skip_sum":"`, `"skip_sum":"x`, 1))
				if err := store.Put(context.Background(), partitionKey, raw); err != nil {
					t.Fatal(err)
				}
			}

			pub2, rest := restartRest(t, w, cfg, store, want, acked)
			if tt.changed {
				pub2.WaitKeys(t, rawKey, want) // the whole page again
				checkOnce(t, pub2, want)
				return
			}
			checkNoneAgain(t, pub2, acked)
			checkOnce(t, pub2, rest)
		})
	}
}

// skipOf is the largest skip among cp's slices.
func skipOf(cp *checkpoint) int {
	n := 0
	for _, sl := range cp.Slices {
		n = max(n, sl.Skip)
	}
	return n
}

// The fields of a checkpoint's size (clean, a slice's skip and skip_sum) read back as written,
// in both versions.
func TestCheckpointSkipRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		cp   *checkpoint
	}{
		{"version 1", &checkpoint{V: 1, Start: 1, From: 10, To: 20, Clean: 9, Seen: map[string]int64{"a": 20},
			Slices: []*slice{{From: 10, To: 20, Token: "t", Skip: 30, SkipSum: "id\"30"}}}},
		{"version 1, first page", &checkpoint{V: 1, Start: 1, From: 10, To: 20, Seen: map[string]int64{},
			Slices: []*slice{{From: 10, To: 20, Skip: 5, SkipSum: "id5"}}}},
		{"version 2", &checkpoint{V: 2, Start: 1, From: 10, To: 40, Clean: 40, Seen: map[string]int64{},
			Slices: []*slice{{From: 10, To: 20, Token: "t1"}, {From: 21, To: 40, Token: "t2", Skip: 7, SkipSum: "id7"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cp.settle()
			got, err := decodeCheckpoint(tt.cp.encode())
			if err != nil {
				t.Fatal(err)
			}
			if got.Clean != tt.cp.Clean || len(got.Slices) != len(tt.cp.Slices) {
				t.Fatalf("decoded %+v, want %+v", got, tt.cp)
			}
			for i, sl := range got.Slices {
				w := tt.cp.Slices[i]
				if sl.From != w.From || sl.To != w.To || sl.Token != w.Token || sl.Skip != w.Skip || sl.SkipSum != w.SkipSum {
					t.Errorf("slice %d: decoded %+v, want %+v", i, sl, w)
				}
			}
		})
	}
}
