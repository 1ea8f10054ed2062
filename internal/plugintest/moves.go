package plugintest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// Moves moves partitions between the "processes" of a test (instances of one source sharing a
// state store and one Partitions, each publishing to its own Publisher) and checks what they
// delivered together: every record delivered, and a record delivered twice only if it was in
// a batch in flight (not acknowledged or nacked) at a move of its partition. Safe for
// concurrent use.
type Moves struct {
	parts     *Partitions
	partition func(*event.Record) string
	key       func(*event.Record) string

	mu       sync.Mutex
	pubs     map[string]*Publisher // by node
	inFlight map[string]bool       // keys of records in flight at a move
	moves    int
}

// NewMoves returns a Moves over parts; partition names the partition of a record (as given to
// Acquire), key identifies a record.
func NewMoves(parts *Partitions, partition, key func(*event.Record) string) *Moves {
	return &Moves{parts: parts, partition: partition, key: key, pubs: map[string]*Publisher{}, inFlight: map[string]bool{}}
}

// Add names the publisher of node.
func (m *Moves) Add(node string, pub *Publisher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pubs[node] = pub
}

// Move gives partition key to node (Partitions.Grant), noting the records its holder has in
// flight from it at that moment.
func (m *Moves) Move(key, node string) {
	if holder, ok := m.parts.Holder(key); ok {
		m.mu.Lock()
		pub := m.pubs[holder]
		m.mu.Unlock()
		if pub != nil {
			for _, b := range pub.Batches() {
				if b.Outcome() != 0 {
					continue
				}
				for _, r := range b.Records {
					if r != nil && m.partition(r) == key {
						m.mu.Lock()
						m.inFlight[m.key(r)] = true
						m.mu.Unlock()
					}
				}
			}
		}
	}
	m.mu.Lock()
	m.moves++
	m.mu.Unlock()
	m.parts.Grant(key, node)
}

// Published returns how many times each record was published, by any node.
func (m *Moves) Published() map[string]int {
	m.mu.Lock()
	pubs := make([]*Publisher, 0, len(m.pubs))
	for _, p := range m.pubs {
		pubs = append(pubs, p)
	}
	m.mu.Unlock()
	n := map[string]int{}
	for _, p := range pubs {
		for _, k := range p.Keys(m.key) {
			n[k]++
		}
	}
	return n
}

// WaitAll waits until every key of want was published by some node, failing the test after
// timeout (DefaultTimeout when 0).
func (m *Moves) WaitAll(t testing.TB, timeout time.Duration, want []string) {
	t.Helper()
	var missing []string
	ok := Poll(timeout, func() bool {
		n := m.Published()
		missing = missing[:0]
		for _, k := range want {
			if n[k] == 0 {
				missing = append(missing, k)
			}
		}
		return len(missing) == 0
	})
	if !ok {
		t.Fatalf("after %d moves, %d of %d records were never published: %s", m.moves, len(missing), len(want), abbreviate(missing))
	}
}

// CheckDuplicates fails the test for every record published more than once that was not in
// flight at a move of its partition, and returns how many records were published twice or
// more.
func (m *Moves) CheckDuplicates(t testing.TB) int {
	t.Helper()
	dups := 0
	var bad []string
	for k, c := range m.Published() {
		if c < 2 {
			continue
		}
		dups++
		m.mu.Lock()
		ok := m.inFlight[k]
		m.mu.Unlock()
		if !ok {
			bad = append(bad, fmt.Sprintf("%s (%d times)", k, c))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d records were published more than once without being in flight at a move: %s", len(bad), abbreviate(bad))
	}
	return dups
}
