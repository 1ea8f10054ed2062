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
// position "pending" with the page's fingerprint and the elements of the chunks acknowledged
// (never one of a chunk that is not), and once every chunk is, the page acknowledged. Saves are
// made under its lock, so each saves at least what the one before it did. A failed save stops
// it saving (the position stays where it was: a restart delivers again). Safe for concurrent
// use.
type pageAcks struct {
	store     state.Store
	key       string
	inPage    position // the position while the page is in flight, without its progress
	last      position // the position once the page is acknowledged
	committed func(saved []byte, pos position)

	mu    sync.Mutex
	spans [][2]int // each chunk's elements
	acked []bool
	left  int   // chunks not acknowledged
	set   spans // the elements delivered
	err   error
}

// newPageAcks tracks the chunks cs of a page whose elements in set were delivered before.
func newPageAcks(store state.Store, key string, inPage, last position, cs []chunk, set spans, committed func([]byte, position)) *pageAcks {
	pa := &pageAcks{store: store, key: key, inPage: inPage, last: last, committed: committed,
		acked: make([]bool, len(cs)), left: len(cs), set: slices.Clone(set)}
	for _, c := range cs {
		pa.spans = append(pa.spans, [2]int{c.from, c.to})
	}
	return pa
}

// track returns the acknowledgement function of chunk i.
func (pa *pageAcks) track(i int) event.AckFunc {
	return func(o event.Outcome) { pa.ack(i, o) }
}

func (pa *pageAcks) ack(i int, o event.Outcome) {
	pa.mu.Lock()
	defer pa.mu.Unlock()
	if o != event.Acked || pa.acked[i] {
		return
	}
	pa.acked[i] = true
	pa.left--
	pa.set = pa.set.add(pa.spans[i][0], pa.spans[i][1])
	if pa.err != nil {
		return
	}
	pos := pa.last
	if pa.left > 0 {
		pos = pa.inPage
		pos.Done, pos.More = pa.set.prefix()
	}
	saved := pos.encode()
	// Saving under the lock keeps the saves in order; a put is one bbolt transaction.
	if err := pa.store.Put(context.Background(), pa.key, saved); err != nil {
		pa.err = err
		return
	}
	if pa.committed != nil {
		pa.committed(saved, pos)
	}
}

// delivered returns the elements of the page delivered, and the first error met while saving.
func (pa *pageAcks) delivered() (spans, error) {
	pa.mu.Lock()
	defer pa.mu.Unlock()
	return slices.Clone(pa.set), pa.err
}
