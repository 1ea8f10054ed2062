package deadletter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// DeliverFunc sends recs, read from destination's file, to that destination and returns one
// error per record, in order: nil for a record delivered. An error that is a *Failure is the
// destination's verdict on the record, written into its entry; any other error (the context
// ended, the destination could not be built) leaves the entry as it was.
type DeliverFunc func(ctx context.Context, destination string, recs []*event.Record) []error

// Failure is why a replayed record was not delivered.
type Failure struct {
	// Reason is the reason the entry is kept under from then on (plugin.Reason's values);
	// empty keeps the entry's reason (a transient error that outlasted the retries, a
	// destination stopped by a fatal error).
	Reason string
	Code   string // the destination's own error code, if any
	Err    error
}

func (f *Failure) Error() string {
	if f.Reason == "" {
		return f.Err.Error()
	}
	return f.Reason + ": " + f.Err.Error()
}

func (f *Failure) Unwrap() error { return f.Err }

// Outcome is what a replay did with one entry.
type Outcome struct {
	ID          string
	Destination string
	RecordID    string // the record's own id (Entry.ID)
	// Err is nil when the record was delivered and its entry removed; else why not, and the
	// entry stays.
	Err error
}

// ReplayResult lists the outcome of every entry a replay selected, file by file, in the order
// of the files.
type ReplayResult struct {
	Outcomes []Outcome
	// Missing are the ids of the selection that named no entry.
	Missing []string
}

// Failed returns the outcomes that were not delivered.
func (r ReplayResult) Failed() []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		if o.Err != nil {
			out = append(out, o)
		}
	}
	return out
}

// replayChunk is how many entries a replay hands to deliver at once; the file is written again
// after each chunk, so a replay cut short sends again at most one chunk.
const replayChunk = 1000

// Replay hands the selected entries' records to deliver, destination by destination, and
// removes from the store the entries whose records were delivered. An entry whose record fails
// again stays, with the new error (Failure) in Error, Code and Reason, Replays counted and the
// time in Replayed; it keeps its id. Unreadable lines are not delivered. One replay runs at a
// time on a store; Put goes on meanwhile (the store's mutex is held only while a file is
// rewritten, not while deliver runs).
func (s *Store) Replay(ctx context.Context, sel Selection, deliver DeliverFunc) (ReplayResult, error) {
	s.replaying.Lock()
	defer s.replaying.Unlock()
	var res ReplayResult
	byDest, err := s.selected(sel)
	if err != nil {
		return res, err
	}
	for _, d := range sortedKeys(byDest) {
		ids := byDest[d]
		var items []Item
		err := s.readFile(d, func(l line) error {
			if ids.take(&l.item) {
				items = append(items, l.item)
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Missing = append(res.Missing, ids.left()...)
		for start := 0; start < len(items); start += replayChunk {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("dead letters: replay of %s stopped: %w", d, err)
			}
			chunk := items[start:min(start+replayChunk, len(items))]
			out, err := s.replayChunk(ctx, d, chunk, deliver)
			res.Outcomes = append(res.Outcomes, out...)
			if err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// replayChunk delivers the records of items, all from dest's file, and writes the file again
// without those delivered and with the new errors of those that failed.
func (s *Store) replayChunk(ctx context.Context, dest string, items []Item, deliver DeliverFunc) ([]Outcome, error) {
	out := make([]Outcome, len(items))
	var (
		recs []*event.Record
		idx  []int // recs[i] is the record of items[idx[i]]
	)
	for i, it := range items {
		out[i] = Outcome{ID: it.ID, Destination: dest, RecordID: it.Entry.ID}
		if it.Unreadable {
			out[i].Err = errors.New("the line is not a dead-letter entry: nothing to replay (purge removes it)")
			continue
		}
		r, err := it.Entry.Event()
		if err != nil {
			out[i].Err = fmt.Errorf("the entry cannot be read: %w", err)
			continue
		}
		recs = append(recs, r)
		idx = append(idx, i)
	}
	if len(recs) > 0 {
		errs := deliver(ctx, dest, recs)
		if len(errs) != len(recs) {
			return nil, fmt.Errorf("dead letters: replay of %s: deliver returned %d results for %d records", dest, len(errs), len(recs))
		}
		for j, err := range errs {
			out[idx[j]].Err = err
		}
	}
	now := time.Now().UTC()
	byID := make(map[string]int, len(items))
	for i, it := range items {
		byID[it.ID] = i
	}
	_, err := s.rewrite(dest, func(it *Item) (bool, *Entry) {
		i, ok := byID[it.ID]
		if !ok {
			return false, nil
		}
		var f *Failure
		switch {
		case out[i].Err == nil:
			return true, nil
		case errors.As(out[i].Err, &f):
			e := it.Entry
			if f.Reason != "" {
				e.Reason = f.Reason
			}
			e.Code, e.Error = f.Code, f.Err.Error()
			e.Key = it.ID[len(dest)+1:]
			e.Replays++
			e.Replayed = &now
			return false, &e
		}
		return false, nil
	})
	if err != nil {
		return out, fmt.Errorf("dead letters: replay of %s: the records were sent, but removing their entries failed (a replay sends them again): %w", dest, err)
	}
	return out, nil
}
