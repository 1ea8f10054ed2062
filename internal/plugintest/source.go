package plugintest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
)

// The cases of RunSourceSuite, by subtest name (for SourceHarness.Skip).
const (
	CaseAtLeastOnce      = "AtLeastOnce"
	CaseCheckpoint       = "Checkpoint"
	CaseAckOrder         = "AckOrder"
	CaseNack             = "Nack"
	CaseNackInProcess    = "NackInProcess"
	CaseStopIdle         = "StopIdle"
	CaseStopWhileBlocked = "StopWhileBlocked"
	CaseStopBeforeStart  = "StopBeforeStart"
	// The cases of sources with partitions (SourceHarness.NewOwned).
	CaseHandOver = "PartitionHandOver"
	CaseFenced   = "PartitionFenced"
)

// PromptStop is how soon Run must return once its context ends.
const PromptStop = 2 * time.Second

// SourceHarness is what RunSourceSuite needs to drive one source type. The suite runs each case
// as a subtest and calls Setup first with the case's t, so every case has its own outside world.
type SourceHarness struct {
	// Setup prepares a fresh, empty outside world for one case (a new t.TempDir(), a new
	// topic); the other functions act on the world of the latest Setup. Required.
	Setup func(t *testing.T)
	// New builds a source instance over store, configured to run until its context ends
	// (following new records) and to poll often (every few milliseconds). A restart is a
	// second instance over the same store.
	New func(t *testing.T, store state.Store) plugin.Source
	// Produce makes the outside world hold n more records and returns a key for each, unique
	// within the case.
	Produce func(t *testing.T, n int) []string
	// Key returns the key of a published record, as Produce returned it.
	Key func(rec *event.Record) string
	// Skip names cases that do not apply to this source, with the reason.
	Skip map[string]string

	// NewOwned builds a source instance like New that reads only the partitions parts grants
	// it (plugin.Settings.Partitions). A source with partitions sets it and Partition; without
	// them the partition cases are skipped.
	NewOwned func(t *testing.T, store state.Store, parts plugin.Partitions) plugin.Source
	// Partition returns the key (as given to Partitions.Acquire) of the partition a published
	// record was read from.
	Partition func(rec *event.Record) string
}

// RunSourceSuite checks that a source delivers at least once and keeps its checkpoint right:
//
//   - AtLeastOnce: every record produced, before and while the source runs, is published
//     within DefaultTimeout, also when batches are acknowledged inside Publish; the source
//     never changes a record it published and never publishes after Run returned.
//   - Checkpoint: once every batch is acknowledged and the source stopped, a new instance over
//     the same store publishes the new records and none of the acknowledged ones.
//   - AckOrder: when a later batch is acknowledged and an earlier one is not, a restart
//     publishes the earlier batch's records again; nothing unacknowledged is lost.
//   - Nack: the source keeps publishing new records after a nack, and every record not
//     acknowledged by the time it stopped (the nacked batch's, unless the source published them
//     again and that was acknowledged) is published after a restart.
//   - NackInProcess: a nacked batch's records are published again during the same run, after
//     the nack and without a restart, while the batches published after it are acknowledged;
//     and the source keeps publishing new records.
//   - PartitionHandOver (with NewOwned): every partition is handed from one process to
//     another while a batch of each is in flight: the first releases a partition only once
//     the batches it published from it are acknowledged, publishes nothing from it after the
//     release, and the second starts where the first saved its position: it publishes every
//     record produced since and none acknowledged before the hand-over.
//   - PartitionFenced (with NewOwned): when another process has written the positions (a
//     state write fails with plugin.ErrNotOwner), the source releases the partitions it could
//     not save, tries each such write once (no retry loop on a refused write), acquires them
//     again, and goes on publishing; Run does not return.
//   - StopIdle, StopWhileBlocked, StopBeforeStart: Run returns nil within PromptStop of its
//     context's end, when idle, while blocked in Publish (and the batch it could not publish is
//     published after a restart), and when the context ended before Run was called.
func RunSourceSuite(t *testing.T, h SourceHarness) {
	t.Helper()
	if h.Setup == nil || h.New == nil || h.Produce == nil || h.Key == nil {
		t.Fatal("plugintest: SourceHarness needs Setup, New, Produce and Key")
	}
	cases := []struct {
		name string
		run  func(*sourceCase, *testing.T)
	}{
		{CaseAtLeastOnce, (*sourceCase).atLeastOnce},
		{CaseCheckpoint, (*sourceCase).checkpoint},
		{CaseAckOrder, (*sourceCase).ackOrder},
		{CaseNack, (*sourceCase).nack},
		{CaseNackInProcess, (*sourceCase).nackInProcess},
		{CaseStopIdle, (*sourceCase).stopIdle},
		{CaseStopWhileBlocked, (*sourceCase).stopWhileBlocked},
		{CaseStopBeforeStart, (*sourceCase).stopBeforeStart},
		{CaseHandOver, (*sourceCase).handOver},
		{CaseFenced, (*sourceCase).fenced},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := h.Skip[c.name]; ok {
				t.Skip(why)
			}
			if (c.name == CaseHandOver || c.name == CaseFenced) && (h.NewOwned == nil || h.Partition == nil) {
				t.Skip("the source has no partitions (SourceHarness.NewOwned and Partition are not set)")
			}
			h.Setup(t)
			sc := &sourceCase{h: h, store: state.NewMemory().Namespace("plugin/suite")}
			c.run(sc, t)
		})
	}
}

type sourceCase struct {
	h     SourceHarness
	store state.Store
}

// instance is one run of one source instance.
type instance struct {
	pub *Publisher
	run *Running
}

func (c *sourceCase) start(t *testing.T, mode AckMode) *instance {
	t.Helper()
	pub := NewPublisher(mode)
	return &instance{pub: pub, run: Start(t, c.h.New(t, c.store), pub)}
}

// stop checks Run did not end on its own, stops it, and checks the publisher contract.
func (c *sourceCase) stop(t *testing.T, in *instance) {
	t.Helper()
	if done, err := in.run.Done(); done {
		t.Fatalf("Run returned (%v) before its context ended; a source runs until it is stopped", err)
	}
	stopWithin(t, in.run, PromptStop)
	for _, v := range in.pub.Violations() {
		t.Errorf("publisher contract: %s", v)
	}
	for _, b := range in.pub.Batches() {
		if m := b.Modified(); len(m) > 0 {
			t.Errorf("the source changed records %v of batch %d after publishing them", m, b.Seq)
		}
	}
}

// produce produces n records and waits until pub published every one of them.
func (c *sourceCase) produce(t *testing.T, in *instance, n int) []string {
	t.Helper()
	keys := c.h.Produce(t, n)
	if len(keys) != n {
		t.Fatalf("harness: Produce(%d) returned %d keys", n, len(keys))
	}
	in.pub.WaitKeys(t, c.h.Key, keys)
	return keys
}

func (c *sourceCase) atLeastOnce(t *testing.T) {
	before := c.h.Produce(t, 5)
	in := c.start(t, AckInPublish)
	in.pub.WaitKeys(t, c.h.Key, before)
	c.produce(t, in, 5)
	c.produce(t, in, 1)
	c.produce(t, in, 7)
	c.stop(t, in)
}

func (c *sourceCase) checkpoint(t *testing.T) {
	old := c.h.Produce(t, 4)
	in := c.start(t, Manual)
	in.pub.WaitKeys(t, c.h.Key, old)
	old = append(old, c.produce(t, in, 4)...)
	in.pub.AckAll()
	acked := ackedPrefix(in.pub, c.h.Key)
	if missing := missingFrom(acked, old); len(missing) > 0 {
		t.Fatalf("records %s were published but not in the batches acknowledged", abbreviate(missing))
	}
	c.stop(t, in)

	fresh := c.h.Produce(t, 3)
	again := c.start(t, AckAsync)
	again.pub.WaitKeys(t, c.h.Key, fresh)
	// Give a stray replay of old records one more round to show up before judging.
	fresh = append(fresh, c.produce(t, again, 1)...)
	c.stop(t, again)
	if dup := intersect(again.pub.Keys(c.h.Key), acked); len(dup) > 0 {
		t.Errorf("after a restart the source published %d acknowledged records again: %s", len(dup), abbreviate(dup))
	}
}

func (c *sourceCase) ackOrder(t *testing.T) {
	in := c.start(t, Manual)
	var all []string
	for range 3 {
		all = append(all, c.produce(t, in, 3)...)
	}
	batches := nonEmpty(in.pub.Batches())
	if len(batches) < 2 {
		t.Fatalf("the source published %d records in %d batch; the harness must make it publish small batches (2 or 3 records)", len(all), len(batches))
	}
	earlier := batches[0]
	// Acknowledge every later batch, the latest first, and never the earlier one.
	for i := len(batches) - 1; i >= 1; i-- {
		batches[i].Ack()
	}
	c.stop(t, in)
	var unacked []string
	for _, b := range in.pub.Batches() {
		if b.Outcome() != event.Acked {
			unacked = append(unacked, b.Keys(c.h.Key)...)
		}
	}

	fresh := c.h.Produce(t, 2)
	again := c.start(t, AckAsync)
	want := append(append([]string(nil), unacked...), fresh...)
	if !again.pub.Await(0, func() bool { return len(again.pub.MissingKeys(c.h.Key, want)) == 0 }) {
		missing := again.pub.MissingKeys(c.h.Key, want)
		t.Fatalf("after a restart, %d records of batches never acknowledged (or produced since) were not published: %s (the unacknowledged earlier batch held %s)",
			len(missing), abbreviate(missing), abbreviate(earlier.Keys(c.h.Key)))
	}
	c.stop(t, again)
	seen := map[string]bool{}
	for _, k := range append(in.pub.Keys(c.h.Key), again.pub.Keys(c.h.Key)...) {
		seen[k] = true
	}
	for _, k := range append(all, fresh...) {
		if !seen[k] {
			t.Errorf("record %q was never published", k)
		}
	}
}

func (c *sourceCase) nack(t *testing.T) {
	in := c.start(t, Manual)
	c.produce(t, in, 3)
	c.produce(t, in, 3)
	batches := nonEmpty(in.pub.Batches())
	nacked := batches[0]
	nacked.Nack()
	for _, b := range batches[1:] {
		b.Ack()
	}
	// A nack does not stop the source: it goes on reading.
	c.produce(t, in, 2)
	in.pub.AckAll()
	c.stop(t, in)
	// A source may already have published the nacked records again in this run; those that no
	// acknowledged batch held are due after the restart.
	delivered := map[string]bool{}
	for _, b := range in.pub.Batches() {
		if b.Outcome() == event.Acked {
			for _, k := range b.Keys(c.h.Key) {
				delivered[k] = true
			}
		}
	}
	var want []string
	for _, k := range nacked.Keys(c.h.Key) {
		if !delivered[k] {
			want = append(want, k)
		}
	}

	fresh := c.h.Produce(t, 2)
	again := c.start(t, AckAsync)
	want = append(want, fresh...)
	if !again.pub.Await(0, func() bool { return len(again.pub.MissingKeys(c.h.Key, want)) == 0 }) {
		t.Fatalf("after a restart, records of the nacked batch never acknowledged (or produced since) were not published: %s",
			abbreviate(again.pub.MissingKeys(c.h.Key, want)))
	}
	c.stop(t, again)
}

func (c *sourceCase) nackInProcess(t *testing.T) {
	in := c.start(t, Manual)
	c.produce(t, in, 3)
	c.produce(t, in, 3)
	batches := nonEmpty(in.pub.Batches())
	nacked := batches[0]
	// From here on the engine has recovered: what the source publishes is acknowledged.
	in.pub.SetMode(AckAsync)
	taken := len(in.pub.Batches())
	nacked.Nack()
	for _, b := range in.pub.Batches() {
		b.Ack() // every other batch taken before the nack
	}
	want := nacked.Keys(c.h.Key)
	again := func() []string { return missingFrom(keysSince(in.pub, taken, c.h.Key), want) }
	if !in.pub.Await(0, func() bool { return len(again()) == 0 }) {
		t.Fatalf("records %s of the nacked batch were not published again in the same run (within %s of the nack)",
			abbreviate(again()), DefaultTimeout)
	}
	// A nack does not stop the source: it goes on reading.
	c.produce(t, in, 2)
	c.stop(t, in)
}

func (c *sourceCase) stopIdle(t *testing.T) {
	in := c.start(t, AckAsync)
	c.produce(t, in, 2)
	in.pub.WaitUntil(t, 0, "every batch to be acknowledged", func() bool { return len(in.pub.Pending()) == 0 })
	c.stop(t, in)
}

func (c *sourceCase) stopWhileBlocked(t *testing.T) {
	keys := c.h.Produce(t, 3)
	pub := NewPublisher(AckAsync)
	pub.Block()
	in := &instance{pub: pub, run: Start(t, c.h.New(t, c.store), pub)}
	pub.WaitBlocked(t)
	c.stop(t, in)
	if n := len(pub.Batches()); n != 0 {
		t.Fatalf("the blocked publisher took %d batches", n)
	}
	pub.Unblock()

	again := c.start(t, AckAsync)
	again.pub.WaitKeys(t, c.h.Key, keys)
	c.stop(t, again)
}

func (c *sourceCase) stopBeforeStart(t *testing.T) {
	c.h.Produce(t, 2)
	src := c.h.New(t, c.store)
	pub := NewPublisher(AckAsync)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		defer pub.Close()
		done <- src.Run(ctx, pub)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run with a context already ended returned %v; want nil", err)
		}
	case <-time.After(PromptStop):
		t.Fatalf("Run with a context already ended did not return within %s", PromptStop)
	}
	for _, v := range pub.Violations() {
		t.Errorf("publisher contract: %s", v)
	}
}

// handOverGrace is how long handOver gives a source that releases a partition without waiting
// for its batches in flight to do so, before it acknowledges them.
const handOverGrace = 100 * time.Millisecond

func (c *sourceCase) handOver(t *testing.T) {
	parts := NewPartitions("a")
	fs := NewFencedStore()
	a := c.startOwned(t, Manual, fs.View("a", "plugin/suite"), parts.Node("a"))
	acked := c.produce(t, a, 3)
	a.pub.AckAll()
	inFlight := c.produce(t, a, 3) // not acknowledged before the hand-over

	var (
		mu       sync.Mutex
		problems []string
		after    = map[string]int{} // partition → how many batches a had published at its release
	)
	parts.OnRelease(func(r Release) {
		if r.Node != "a" {
			return
		}
		batches := a.pub.Batches()
		var open []int
		for _, b := range batches {
			if b.Outcome() == 0 && c.batchOf(b, r.Key) {
				open = append(open, b.Seq)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		after[r.Key] = len(batches)
		if len(open) > 0 {
			problems = append(problems, fmt.Sprintf("partition %q was released while its batches %v were neither acknowledged nor nacked", r.Key, open))
		}
	})
	keys := parts.Keys()
	if len(keys) == 0 {
		t.Fatal("the source acquired no partition")
	}
	parts.GrantAll("b")
	// A source that releases without waiting for its batches in flight shows it here.
	Poll(handOverGrace, func() bool { return parts.Released(keys...) })
	Eventually(t, 0, fmt.Sprintf("the first process to release the partitions %v once its batches were acknowledged", keys), func() bool {
		a.pub.AckAll()
		return parts.Released(keys...)
	})
	published := a.pub.Keys(c.h.Key)
	if missing := missingFrom(published, append(acked, inFlight...)); len(missing) > 0 {
		t.Fatalf("records %s were not published before the hand-over", abbreviate(missing))
	}

	fresh := c.h.Produce(t, 2)
	b := c.startOwned(t, AckAsync, fs.View("b", "plugin/suite"), parts.Node("b"))
	b.pub.WaitKeys(t, c.h.Key, fresh)
	// Give a stray replay of records acknowledged before the hand-over one more round to show up.
	c.produce(t, b, 1)
	a.pub.AckAll()
	c.stop(t, b)
	c.stop(t, a)

	mu.Lock()
	for _, p := range problems {
		t.Error(p)
	}
	for _, bt := range a.pub.Batches() {
		for _, k := range keys {
			if n, ok := after[k]; ok && bt.Seq >= n && c.batchOf(bt, k) {
				t.Errorf("batch %d of partition %q was published after its lease was released: %s", bt.Seq, k, abbreviate(bt.Keys(c.h.Key)))
			}
		}
	}
	mu.Unlock()
	if dup := intersect(b.pub.Keys(c.h.Key), published); len(dup) > 0 {
		t.Errorf("the new owner published %d records acknowledged before the hand-over: it did not start where the old owner saved its position: %s", len(dup), abbreviate(dup))
	}
}

func (c *sourceCase) fenced(t *testing.T) {
	parts := NewPartitions("a")
	fs := NewFencedStore()
	in := c.startOwned(t, AckAsync, fs.View("a", "plugin/suite"), parts.Node("a"))
	c.produce(t, in, 3)
	in.pub.WaitUntil(t, 0, "every batch to be acknowledged", func() bool { return len(in.pub.Pending()) == 0 })
	before := len(parts.Releases())
	fs.Touch() // another process saved every position: this one's next write of each is refused
	c.produce(t, in, 3)
	Eventually(t, 0, "a state write to be refused and the partitions it was for released", func() bool {
		refused := map[string]bool{}
		for _, r := range fs.Refused() {
			refused[r.Key] = true
		}
		return len(refused) > 0 && len(parts.Releases())-before >= len(refused)
	})
	// The partitions are the process's again: it reads on from the positions the store holds.
	c.produce(t, in, 2)
	// Judged before the stop, whose own releases are not followed by an acquisition.
	fenced := parts.Releases()[before:]
	Eventually(t, 0, "every partition released after a refused write to be acquired again", func() bool {
		for _, r := range fenced {
			if parts.Acquired("a", r.Key) < 2 {
				return false
			}
		}
		return true
	})
	c.stop(t, in)
	n := map[string]int{}
	for _, r := range fs.Refused() {
		if n[r.Key]++; n[r.Key] > 1 {
			t.Errorf("the refused write of %q was tried again (%d times) without the partition being acquired again", r.Key, n[r.Key])
		}
	}
}

// startOwned starts an instance of NewOwned.
func (c *sourceCase) startOwned(t *testing.T, mode AckMode, store state.Store, parts plugin.Partitions) *instance {
	t.Helper()
	pub := NewPublisher(mode)
	return &instance{pub: pub, run: Start(t, c.h.NewOwned(t, store, parts), pub)}
}

// batchOf reports whether b holds a record of partition key.
func (c *sourceCase) batchOf(b *Batch, key string) bool {
	for _, r := range b.Records {
		if r != nil && c.h.Partition(r) == key {
			return true
		}
	}
	return false
}

func stopWithin(t *testing.T, r *Running, d time.Duration) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(d):
		t.Fatalf("Run did not return within %s of its context's end", d)
	}
	if r.err != nil {
		t.Fatalf("Run returned %v after its context ended; want nil", r.err)
	}
}

// ackedPrefix returns the keys of the records of the longest run of acknowledged batches from
// the first: those a restart must not publish again.
func ackedPrefix(pub *Publisher, key func(*event.Record) string) []string {
	var out []string
	for _, b := range pub.Batches() {
		if b.Outcome() != event.Acked {
			break
		}
		out = append(out, b.Keys(key)...)
	}
	return out
}

// keysSince returns the keys of the records of the batches taken from number seq on.
func keysSince(pub *Publisher, seq int, key func(*event.Record) string) []string {
	var out []string
	for _, b := range pub.Batches() {
		if b.Seq >= seq {
			out = append(out, b.Keys(key)...)
		}
	}
	return out
}

func nonEmpty(bs []*Batch) []*Batch {
	var out []*Batch
	for _, b := range bs {
		if len(b.Records) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// intersect returns the keys of a that are in b, each once, sorted.
func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, k := range b {
		in[k] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, k := range a {
		if in[k] && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// missingFrom returns the keys of want not in have.
func missingFrom(have, want []string) []string {
	in := map[string]bool{}
	for _, k := range have {
		in[k] = true
	}
	var out []string
	for _, k := range want {
		if !in[k] {
			out = append(out, k)
		}
	}
	return out
}
