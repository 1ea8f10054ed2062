// Package recent keeps the last records each source read, for the console's rule test panel
// ("test this rule over the last N records the source read") and mapping preview. It keeps
// copies of at most a few records per batch, so it costs a copy of those bytes per batch and no
// allocation once its slots are grown.
package recent

import (
	"slices"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// Record is a kept copy of one record.
type Record struct {
	Raw     []byte
	Payload []byte // nil unless the source wraps the record in an envelope
	Kind    event.Kind
	Subtype string
	Time    time.Time
	Seen    time.Time // when the source published it
}

// Store keeps the last n records of each source. It is safe for concurrent use.
type Store struct {
	n  int
	mu sync.Mutex
	m  map[string]*ring
}

type ring struct {
	slots []Record
	next  int
	count int
}

// New keeps the last n records (at least 1) of each source.
func New(n int) *Store { return &Store{n: max(n, 1), m: map[string]*ring{}} }

// Keep copies the last records of recs (at most n), published by source.
func (s *Store) Keep(source string, recs []*event.Record) {
	if len(recs) > s.n {
		recs = recs[len(recs)-s.n:]
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.m[source]
	if r == nil {
		r = &ring{slots: make([]Record, s.n)}
		s.m[source] = r
	}
	for _, rec := range recs {
		slot := &r.slots[r.next]
		slot.Raw = append(slot.Raw[:0], rec.Raw...)
		if rec.Payload != nil {
			slot.Payload = append(slot.Payload[:0], rec.Payload...)
		} else {
			slot.Payload = nil
		}
		slot.Kind, slot.Subtype, slot.Time, slot.Seen = rec.Kind, rec.Subtype, rec.Time, now
		r.next = (r.next + 1) % len(r.slots)
		r.count = min(r.count+1, len(r.slots))
	}
}

// Last returns copies of source's last records, oldest first, at most limit (0: all kept).
func (s *Store) Last(source string, limit int) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.m[source]
	if r == nil {
		return nil
	}
	out := make([]Record, 0, r.count)
	start := (r.next - r.count + len(r.slots)) % len(r.slots)
	for i := range r.count {
		slot := r.slots[(start+i)%len(r.slots)]
		slot.Raw = slices.Clone(slot.Raw)
		slot.Payload = slices.Clone(slot.Payload)
		out = append(out, slot)
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}

// Event returns r as a record to run rules or mappings on.
func (r Record) Event(source string) *event.Record {
	return &event.Record{Raw: r.Raw, Payload: r.Payload, Kind: r.Kind, Subtype: r.Subtype, Time: r.Time, Source: source}
}
