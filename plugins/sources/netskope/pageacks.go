package netskope

import (
	"context"
	"slices"
	"sync"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/state"
)

// This file keeps the progress within the page in flight: which of its elements are delivered,
// saved in the position as each chunk is acknowledged, so that the page answered again (after a
// crash, a stop or a nack) is delivered from what is not.

// spans is a set of elements of a page, as sorted, disjoint, non-adjacent ranges [from, to).
type spans [][2]int

// add returns s with [from, to) added.
func (s spans) add(from, to int) spans {
	if from >= to {
		return s
	}
	out := make(spans, 0, len(s)+1)
	i := 0
	for ; i < len(s) && s[i][1] < from; i++ {
		out = append(out, s[i])
	}
	for ; i < len(s) && s[i][0] <= to; i++ {
		from, to = min(from, s[i][0]), max(to, s[i][1])
	}
	out = append(out, [2]int{from, to})
	return append(out, s[i:]...)
}

// has reports whether element i is in s.
func (s spans) has(i int) bool {
	_, found := slices.BinarySearchFunc(s, i, func(r [2]int, i int) int {
		switch {
		case r[1] <= i:
			return -1
		case r[0] > i:
			return 1
		}
		return 0
	})
	return found
}

// count is the number of elements in s.
func (s spans) count() int {
	n := 0
	for _, r := range s {
		n += r[1] - r[0]
	}
	return n
}

// prefix is how many elements from the first are in s, and the ranges after them.
func (s spans) prefix() (done int, more spans) {
	if len(s) > 0 && s[0][0] == 0 {
		return s[0][1], s[1:]
	}
	return 0, s
}

// delivered is the set a position saves: [0, Done) and More. Ranges that are not sorted,
// disjoint and positive make it empty: nothing is skipped on a doubt.
func (p position) delivered() spans {
	if p.Done < 0 {
		return nil
	}
	s := spans(nil).add(0, p.Done)
	last := p.Done
	for _, r := range p.More {
		if r[0] <= last || r[1] <= r[0] {
			return nil
		}
		s, last = s.add(r[0], r[1]), r[1]
	}
	return s
}

// pageAcks saves a page's progress as its chunks are acknowledged, whatever their order: the
// position "pending" with the page's part fingerprint, the elements of the chunks acknowledged
// (never one of a chunk that is not) and their sum (see setSum), and once the page is closed
// and every chunk is acknowledged, the page acknowledged. Chunks are added as the page is read
// (add), which may be while the first ones are delivered; close gives the position of the page
// acknowledged once no chunk is left to add. The saves are made by a goroutine of its own, one
// at a time, each with every acknowledgement come before it began: an acknowledgement does not
// wait for a save (the destination's worker that calls it goes on), and acknowledgements that
// come during a save share the next one. A failed save stops it saving (the position stays
// where it was: a restart delivers again). Safe for concurrent use.
type pageAcks struct {
	store     state.Store
	key       string
	inPage    position // the position while the page is in flight, without its progress
	committed func(pos position)

	wake chan struct{} // an acknowledgement to save
	stop chan struct{} // closed by finish
	done chan struct{} // closed when the saver returned

	mu     sync.Mutex
	last   position // the position once the page is acknowledged (set by close)
	closed bool     // no chunk is left to add
	spans  [][2]int // each chunk's elements
	acked  []bool
	left   int      // chunks added and not acknowledged
	sums   []uint64 // each element's elemSum, by its place in the page
	set    spans    // the elements delivered
	sum    uint64   // setSum of set
	dirty  bool     // set changed since the last save began
	err    error
}

// newPageAcks tracks the chunks of a page whose elements in set were delivered before (sums:
// the elemSum of each element of the page read so far, set's included), calling committed with
// every position saved. finish must be called once the outcome of every chunk added is known.
func newPageAcks(store state.Store, key string, inPage position, set spans, sums []uint64, committed func(position)) *pageAcks {
	pa := &pageAcks{store: store, key: key, inPage: inPage, committed: committed,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		sums: sums}
	for _, r := range set {
		pa.addToSet(r[0], r[1])
	}
	go pa.saver()
	return pa
}

// add tracks the chunk of elements [from, to), sums holding the elemSum of each element of
// the page from the first not given before to to, and returns its number for track.
func (pa *pageAcks) add(from, to int, sums []uint64) int {
	pa.mu.Lock()
	defer pa.mu.Unlock()
	pa.sums = append(pa.sums, sums...)
	pa.spans = append(pa.spans, [2]int{from, to})
	pa.acked = append(pa.acked, false)
	pa.left++
	return len(pa.spans) - 1
}

// close says that every chunk of the page was added, and last is the position to save once
// each is acknowledged.
func (pa *pageAcks) close(last position) {
	pa.mu.Lock()
	pa.last, pa.closed = last, true
	pa.dirty = pa.dirty || pa.left == 0
	pa.mu.Unlock()
	pa.poke()
}

// addToSet adds [from, to) to the elements delivered and their elemSums to sum; pa.mu is held.
func (pa *pageAcks) addToSet(from, to int) {
	for i := from; i < to && i < len(pa.sums); i++ {
		if !pa.set.has(i) {
			pa.sum += pa.sums[i]
		}
	}
	pa.set = pa.set.add(from, to)
}

// track returns the acknowledgement function of chunk i.
func (pa *pageAcks) track(i int) event.AckFunc {
	return func(o event.Outcome) { pa.ack(i, o) }
}

func (pa *pageAcks) ack(i int, o event.Outcome) {
	pa.mu.Lock()
	if o != event.Acked || pa.acked[i] {
		pa.mu.Unlock()
		return
	}
	pa.acked[i] = true
	pa.left--
	pa.addToSet(pa.spans[i][0], pa.spans[i][1])
	pa.dirty = true
	pa.mu.Unlock()
	pa.poke()
}

// poke wakes the saver.
func (pa *pageAcks) poke() {
	select {
	case pa.wake <- struct{}{}:
	default: // a save is due already
	}
}

func (pa *pageAcks) saver() {
	defer close(pa.done)
	for {
		select {
		case <-pa.wake:
			pa.save()
		case <-pa.stop:
			pa.save()
			return
		}
	}
}

// save saves the progress, if it changed since the last save.
func (pa *pageAcks) save() {
	pa.mu.Lock()
	if !pa.dirty || pa.err != nil {
		pa.mu.Unlock()
		return
	}
	pa.dirty = false
	pos := pa.last
	if pa.left > 0 || !pa.closed {
		pos = pa.inPage
		pos.Done, pos.More = pa.set.prefix()
		pos.Sum = encodeSum(pa.sum, len(pa.set) > 0)
	}
	pa.mu.Unlock()
	if err := pa.store.Put(context.Background(), pa.key, pos.encode()); err != nil {
		pa.mu.Lock()
		pa.err = err
		pa.mu.Unlock()
		return
	}
	if pa.committed != nil {
		pa.committed(pos)
	}
}

// finish saves what is left to save and stops the saver; it returns the elements of the page
// delivered, their setSum, and the first error met while saving.
func (pa *pageAcks) finish() (spans, uint64, error) {
	close(pa.stop)
	<-pa.done
	pa.mu.Lock()
	defer pa.mu.Unlock()
	return slices.Clone(pa.set), pa.sum, pa.err
}
