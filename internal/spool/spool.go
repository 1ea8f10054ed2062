// Package spool keeps on disk the records routed to a destination while it is stopped (a fatal
// error: wrong credentials, a wrong URL), so that the source feeding it and its other
// destinations go on, and sends them to it when it runs again.
//
// A spool is a directory of segment files, one record a line, written only while the
// destination is stopped and read back ("replayed") at the next start. Each run appends to a
// segment of its own, numbered after every segment present when the spool was opened; the
// replay reads only those older segments, in order, and saves how far its records were
// delivered (a state.Cursor on contiguous acknowledgements), so that a crash during the replay
// sends again at most the batches in flight. A segment fully delivered is deleted.
package spool

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/appendfile"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/state"
)

// segmentMax is the size past which a run starts a new segment, so that the replay can delete
// what it delivered long before the end of a large spool.
const segmentMax = 64 << 20

// ErrFull is returned by Append when the records would take the spool past its maximum size.
var ErrFull = errors.New("spool full")

// Spool is the on-disk backlog of one destination.
type Spool struct {
	dir   string
	max   int64
	log   *slog.Logger
	progr *state.Cursor

	mu    sync.Mutex
	w     *appendfile.File // the segment this run appends to; nil until the first Append
	wseq  uint64           // the number of the segment this run writes (next, while w is nil)
	first uint64           // the first segment this run writes: where the replay ends
	size  int64            // bytes in every segment on disk
	old   []uint64         // segments present at Open, not fully replayed, in order
	start position         // where the replay begins
}

// position is a place in the spool: a byte offset in a segment.
type position struct {
	seg uint64
	off int64
}

func (p position) encode() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, p.seg)
	binary.BigEndian.PutUint64(b[8:], uint64(p.off))
	return b
}

func decodePosition(b []byte) (position, error) {
	if len(b) != 16 {
		return position{}, fmt.Errorf("replay position of %d bytes, want 16", len(b))
	}
	return position{seg: binary.BigEndian.Uint64(b), off: int64(binary.BigEndian.Uint64(b[8:]))}, nil
}

// Open opens the spool in dir (created with mode 0700 if missing), holding at most max bytes;
// store keeps the replay's progress. Segments the saved progress shows delivered are deleted.
func Open(ctx context.Context, dir string, maxBytes int64, store state.Store, log *slog.Logger) (*Spool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, max: maxBytes, log: log, progr: state.NewCursor(store, progressKey)}
	saved, err := s.progr.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	if saved != nil {
		if s.start, err = decodePosition(saved); err != nil {
			return nil, fmt.Errorf("spool %s: %w", dir, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range entries {
		seq, ok := segmentNumber(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		if seq < s.start.seg {
			// Delivered: the process stopped between saving the progress and deleting it.
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		s.old = append(s.old, seq)
		s.size += info.Size()
		s.wseq = max(s.wseq, seq+1)
	}
	slices.Sort(s.old)
	if len(s.old) > 0 && s.old[0] != s.start.seg {
		// The segment the progress points into is gone (deleted by hand): start at the next one.
		s.start = position{seg: s.old[0]}
	}
	s.wseq = max(s.wseq, s.start.seg)
	s.first = s.wseq
	s.progr.OnCommit(s.committed)
	return s, nil
}

const segmentPrefix, segmentSuffix = "segment-", ".ndjson"

func segmentName(seq uint64) string {
	return fmt.Sprintf("%s%010d%s", segmentPrefix, seq, segmentSuffix)
}

func segmentNumber(name string) (uint64, bool) {
	if !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix), 10, 64)
	return n, err == nil
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Size is the number of bytes the spool holds on disk.
func (s *Spool) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Max is the most the spool may hold.
func (s *Spool) Max() int64 { return s.max }

// Pending reports whether segments from before this run wait to be replayed.
func (s *Spool) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.old) > 0
}

// line is one spooled record. Raw and Payload are kept byte for byte: as a string when they
// are UTF-8 (what every built-in source hands on), else in base64.
type line struct {
	ID        string            `json:"id,omitempty"`
	Source    string            `json:"source,omitempty"`
	Kind      string            `json:"kind,omitempty"`
	Subtype   string            `json:"subtype,omitempty"`
	Time      *time.Time        `json:"time,omitempty"`
	ValidJSON bool              `json:"valid_json,omitempty"`
	Meta      map[string]string `json:"meta,omitempty"`
	Raw       *string           `json:"raw,omitempty"`
	Raw64     []byte            `json:"raw_b64,omitempty"`
	Payload   *string           `json:"payload,omitempty"`
	Payload64 []byte            `json:"payload_b64,omitempty"`
}

func bytesField(b []byte) (*string, []byte) {
	if b == nil {
		return nil, nil
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, nil
	}
	return nil, b
}

func (l *line) record() *event.Record {
	r := &event.Record{ID: l.ID, Source: l.Source, Kind: event.Kind(l.Kind), Subtype: l.Subtype, ValidJSON: l.ValidJSON, Meta: l.Meta}
	if l.Time != nil {
		r.Time = *l.Time
	}
	switch {
	case l.Raw != nil:
		r.Raw = []byte(*l.Raw)
	default:
		r.Raw = l.Raw64
	}
	switch {
	case l.Payload != nil:
		r.Payload = []byte(*l.Payload)
	case l.Payload64 != nil:
		r.Payload = l.Payload64
	}
	return r
}

// Append writes recs to the spool and syncs them to disk; when it returns nil they are kept.
// It returns ErrFull (wrapped) when they would take the spool past its maximum size, and
// writes none of them then.
func (s *Spool) Append(recs []*event.Record) error {
	if len(recs) == 0 {
		return nil
	}
	var buf []byte
	for _, r := range recs {
		l := line{ID: r.ID, Source: r.Source, Kind: string(r.Kind), Subtype: r.Subtype, ValidJSON: r.ValidJSON, Meta: r.Meta}
		if !r.Time.IsZero() {
			t := r.Time
			l.Time = &t
		}
		l.Raw, l.Raw64 = bytesField(r.Raw)
		l.Payload, l.Payload64 = bytesField(r.Payload)
		b, err := json.Marshal(&l)
		if err != nil {
			return fmt.Errorf("spool: encode record %q: %w", r.ID, err)
		}
		buf = append(append(buf, b...), '\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size+int64(len(buf)) > s.max {
		return fmt.Errorf("%w: %s holds %d bytes, and %d more records (%d bytes) would pass its %d", ErrFull, s.dir, s.size, len(recs), len(buf), s.max)
	}
	if s.w != nil && s.w.Size() >= segmentMax {
		if err := s.w.Close(); err != nil {
			return fmt.Errorf("spool: close %s: %w", s.w.Name(), err)
		}
		s.w = nil
		s.wseq++
	}
	if s.w == nil {
		f, err := appendfile.Open(filepath.Join(s.dir, segmentName(s.wseq)), 0o600)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.w = f
	}
	before := s.w.Size()
	if err := s.w.Append(buf); err != nil {
		return fmt.Errorf("spool: write %s: %w", s.w.Name(), err)
	}
	if err := s.w.Sync(); err != nil {
		return fmt.Errorf("spool: sync %s: %w", s.w.Name(), err)
	}
	s.size += s.w.Size() - before
	return nil
}

// Replay reads the segments that were in the spool when it was opened, from where the last
// replay's deliveries ended, and hands their records to publish in batches of at most batch
// records (publish gets each batch with the function that acknowledges it). A batch's acknowledgement saves the progress; a segment wholly acknowledged is
// deleted; a nacked batch stops the saving there (a later replay starts from it). Replay
// returns when every segment was handed on, when publish fails, or when ctx ends.
func (s *Spool) Replay(ctx context.Context, batch int, publish func(context.Context, []*event.Record, event.AckFunc) error) error {
	s.mu.Lock()
	segs := slices.Clone(s.old)
	start := s.start
	s.mu.Unlock()
	for i, seq := range segs {
		next := position{seg: s.first}
		if i+1 < len(segs) {
			next = position{seg: segs[i+1]}
		}
		off := int64(0)
		if seq == start.seg {
			off = start.off
		}
		if err := s.replaySegment(ctx, seq, off, next, batch, publish); err != nil {
			return err
		}
	}
	return nil
}

func (s *Spool) replaySegment(ctx context.Context, seq uint64, off int64, next position, batch int, publish func(context.Context, []*event.Record, event.AckFunc) error) error {
	path := filepath.Join(s.dir, segmentName(seq))
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	rd := bufio.NewReaderSize(f, 1<<20)
	recs := make([]*event.Record, 0, batch)
	flush := func(end position) error {
		if len(recs) == 0 {
			return nil
		}
		err := publish(ctx, recs, s.progr.Track(end.encode()))
		recs = make([]*event.Record, 0, batch)
		return err
	}
	for {
		b, rerr := rd.ReadBytes('\n')
		if len(b) > 0 {
			at := off
			off += int64(len(b))
			var l line
			if err := json.Unmarshal(b, &l); err != nil {
				// A line cut by a crash in the middle of its write: Append had not returned, so its
				// records were never acknowledged as kept, and their source sends them again.
				s.log.Warn("spool: a line that does not decode is skipped (a write cut short by a crash; its records were not acknowledged, so their source sends them again)",
					"file", path, "offset", at, "bytes", len(b), "error", err)
			} else {
				recs = append(recs, l.record())
			}
			if len(recs) == batch {
				if err := flush(position{seg: seq, off: off}); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("spool: read %s: %w", path, rerr)
		}
	}
	if len(recs) > 0 {
		return flush(next)
	}
	// The segment ended on a full batch (or held nothing to send): its end is the start of
	// the next one, tracked with no records so the segment is deleted once the batches
	// before are acknowledged.
	s.progr.Track(next.encode())(event.Acked)
	return nil
}

// committed is called with each replay position saved: the segments before it are delivered.
func (s *Spool) committed(b []byte) {
	p, err := decodePosition(b)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.old) > 0 && s.old[0] < p.seg {
		path := filepath.Join(s.dir, segmentName(s.old[0]))
		if info, err := os.Stat(path); err == nil {
			s.size -= info.Size()
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("spool: could not delete a segment delivered in full; it is deleted at the next start", "file", path, "error", err)
		}
		s.old = s.old[1:]
	}
}

// Close closes the segment being written.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return nil
	}
	err := s.w.Close()
	s.w = nil
	return err
}
