package file

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/state"
)

// appendIDs appends records id-from..id-to (inclusive) to path, one per line.
func appendIDs(t *testing.T, path string, from, to int) []string {
	t.Helper()
	var b strings.Builder
	var keys []string
	for i := from; i <= to; i++ {
		key := fmt.Sprintf("id-%d", i)
		fmt.Fprintf(&b, `{"id":%q}`+"\n", key)
		keys = append(keys, key)
	}
	appendFile(t, path, b.String())
	return keys
}

// keysFrom returns the keys of the batches taken from number seq on, sorted and each once.
func keysFrom(pub *plugintest.Publisher, seq int) []string {
	var out []string
	for _, b := range pub.Batches() {
		if b.Seq >= seq {
			out = append(out, b.Keys(plugintest.IDKey)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// A nack in the middle of the batches in flight: the file is read again in the same run from
// the position saved once every batch settled (just before the nacked one), so the nacked
// batch and those after it come again, acknowledged or not, and those before do not; a nack of
// the batch read again calls for another rewind; once everything is acknowledged, a restart
// publishes nothing again.
func TestNackReadsTheFileAgainInTheSameRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.ndjson")
	store := state.NewMemory().Namespace("plugin/src")
	newSource := func() *Source {
		cfg := testConfig(t, filepath.Join(dir, "*.ndjson"))
		cfg.BatchSize = 2
		return fastNacks(New(cfg, plugintest.Settings(t, "src", store)))
	}
	all := appendIDs(t, path, 1, 10)
	pub := plugintest.NewPublisher(plugintest.Manual)
	run := plugintest.Start(t, newSource(), pub)
	pub.WaitKeys(t, plugintest.IDKey, all)
	bs := pub.Batches()
	if len(bs) != 5 {
		t.Fatalf("10 records in batches of 2 made %d batches; want 5", len(bs))
	}
	mark := len(bs)
	bs[0].Ack()
	bs[2].Nack()
	bs[3].Ack()
	bs[1].Ack()
	// bs[4] is still in flight: the file is not read again before its outcome is known. Two
	// records put one after the other in another file are read by two scans after the nack,
	// the second more than the backoff (5ms at most) after it.
	other := filepath.Join(dir, "b.ndjson")
	pub.WaitKeys(t, plugintest.IDKey, appendIDs(t, other, 101, 101))
	pub.WaitKeys(t, plugintest.IDKey, appendIDs(t, other, 102, 102))
	if got := keysFrom(pub, mark); !slices.Equal(got, []string{"id-101", "id-102"}) {
		t.Fatalf("records %v were read again while a batch was in flight", got)
	}
	mark = len(pub.Batches())
	bs[4].Ack()
	want := all[4:] // the position saved is after bs[1]
	pub.WaitUntil(t, 0, "the nacked batch and those after it to be read again", func() bool {
		return len(keysFrom(pub, mark)) >= len(want)
	})
	if got := keysFrom(pub, mark); !slices.Equal(got, sortedCopy(want)) {
		t.Fatalf("read again after the nack: %v; want %v (from the saved position on)", got, sortedCopy(want))
	}

	// The batch read again is nacked too: it comes a third time.
	again := pub.Batches()[mark]
	mark2 := len(pub.Batches())
	pub.SetMode(plugintest.AckAsync)
	again.Nack()
	pub.AckAll()
	pub.WaitUntil(t, 0, "the nacked batch to be read again once more", func() bool {
		return len(keysFrom(pub, mark2)) >= len(want)
	})

	// Reading goes on, and every batch is acknowledged: a restart publishes only what is new.
	more := appendIDs(t, path, 11, 12)
	pub.WaitKeys(t, plugintest.IDKey, more)
	pub.WaitUntil(t, 0, "every batch to be acknowledged", func() bool { return len(pub.Pending()) == 0 })
	run.Stop(t)

	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	run2 := plugintest.Start(t, newSource(), pub2)
	fresh := appendIDs(t, path, 13, 13)
	pub2.WaitKeys(t, plugintest.IDKey, fresh)
	run2.Stop(t)
	if got := pub2.Keys(plugintest.IDKey); !slices.Equal(got, fresh) {
		t.Fatalf("after a restart with everything acknowledged the source published %v; want only %v", got, fresh)
	}
	for _, b := range pub.Batches() {
		if b.Outcome() == 0 {
			t.Errorf("batch %d was never acknowledged", b.Seq)
		}
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// nackFirst is a publisher that nacks the first batch it is given before Publish returns, and
// acknowledges every other one the same way.
type nackFirst struct {
	mu      sync.Mutex
	batches int
	ids     []string
}

func (p *nackFirst) Publish(_ context.Context, recs []*event.Record, ack event.AckFunc) error {
	p.mu.Lock()
	p.batches++
	first := p.batches == 1
	for _, r := range recs {
		p.ids = append(p.ids, plugintest.IDKey(r))
	}
	p.mu.Unlock()
	if first {
		ack(event.Nacked)
	} else {
		ack(event.Acked)
	}
	return nil
}

// After a nack the file is not read on: the only records published twice are the nacked
// batch's, not the rest of the file. With follow off, Run reads the nacked batch again before
// it returns.
func TestNackStopsReadingUntilTheRewind(t *testing.T) {
	for _, follow := range []bool{false, true} {
		t.Run(fmt.Sprintf("follow=%v", follow), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.ndjson")
			all := appendIDs(t, path, 1, 1000)
			cfg := testConfig(t, path)
			cfg.BatchSize = 10
			cfg.Follow = follow
			pub := &nackFirst{}
			published := func() []string {
				pub.mu.Lock()
				defer pub.mu.Unlock()
				return slices.Clone(pub.ids)
			}
			src := fastNacks(New(cfg, plugintest.Settings(t, "src", state.NewMemory().Namespace("plugin/src"))))
			ctx, cancel := context.WithTimeout(context.Background(), plugintest.DefaultTimeout)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- src.Run(ctx, pub) }()
			if follow {
				// Run goes on: wait for the file to be read once more than it holds.
				plugintest.Eventually(t, 0, "every record, the nacked batch twice", func() bool { return len(published()) >= len(all)+10 })
				cancel()
			}
			if err := <-done; err != nil || ctx.Err() != nil && !follow {
				t.Fatalf("Run: %v (context: %v)", err, ctx.Err())
			}
			got := published()
			if len(got) != len(all)+10 {
				t.Fatalf("%d records published for %d in the file and 10 nacked: the file was read on after the nack", len(got), len(all))
			}
			if want := append(slices.Clone(all[:10]), all...); !slices.Equal(got[:10], want[:10]) || !slices.Equal(sortedCopy(got), sortedCopy(want)) {
				t.Fatalf("published %v...; want the nacked batch, then the file from its start", got[:20])
			}
		})
	}
}
