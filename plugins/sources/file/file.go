// Package file is the file source: it reads JSON records from files matched by glob patterns,
// NDJSON (following appended lines) or JSON arrays, and keeps a position per file that moves
// only once the records before it were acknowledged.
package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
)

// Type is the plugin type name.
const Type = "file"

// Factory registers the file source.
func Factory() plugin.Factory {
	return plugin.Factory{
		Type:      Type,
		Kind:      plugin.KindSource,
		Summary:   "reads NDJSON or JSON-array files matched by globs, following appended lines",
		NewConfig: NewConfig,
		NewSource: func(c plugin.Config, set plugin.Settings) (plugin.Source, error) {
			return New(c.(*Config), set), nil
		},
	}
}

// Source reads files.
type Source struct {
	cfg   *Config
	set   plugin.Settings
	files map[string]*tracked // by fileID
}

var _ plugin.Source = (*Source)(nil)

// New returns a file source.
func New(cfg *Config, set plugin.Settings) *Source {
	return &Source{cfg: cfg, set: set, files: map[string]*tracked{}}
}

// tracked is one file being read.
type tracked struct {
	id      string
	path    string
	cursor  *state.Cursor
	offset  int64 // next byte to read
	size    int64 // size when last read to the end
	array   bool
	decided bool // format known (auto waits for a first non-blank byte)
}

// position is what a file's cursor saves.
type position struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
}

// Run implements plugin.Source.
func (s *Source) Run(ctx context.Context, pub plugin.Publisher) error {
	for {
		if err := s.scan(ctx, pub); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !s.cfg.Follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.cfg.PollInterval):
		}
	}
}

// scan reads every matching file from its position to its end.
func (s *Source) scan(ctx context.Context, pub plugin.Publisher) error {
	seen := map[string]bool{}
	var paths []string
	for _, g := range s.cfg.Paths {
		m, err := filepath.Glob(g)
		if err != nil {
			return plugin.Fatal(fmt.Errorf("paths: %w", err))
		}
		for _, p := range m {
			if !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // vanished between glob and stat, or a directory: not an error
		}
		t, err := s.track(ctx, p, fi)
		if err != nil {
			return err
		}
		if err := s.read(ctx, pub, t, fi.Size()); err != nil {
			if errors.Is(err, ctx.Err()) {
				return err
			}
			s.set.Metrics.Errors.Inc()
			s.set.Logger.Error("reading file failed; will try again", "path", p, "error", err)
		}
	}
	return nil
}

// track returns the tracked file for p, loading its saved position the first time.
func (s *Source) track(ctx context.Context, p string, fi os.FileInfo) (*tracked, error) {
	id := fileID(p, fi)
	if t, ok := s.files[id]; ok {
		t.path = p // a rotated file keeps its id under a new name
		return t, nil
	}
	t := &tracked{id: id, path: p, cursor: state.NewCursor(s.set.State, "file/"+id)}
	t.cursor.OnCommit(func([]byte) { s.set.Metrics.Checkpoints.Inc() })
	saved, err := t.cursor.Load(ctx)
	if err != nil {
		return nil, plugin.Fatal(err)
	}
	switch {
	case saved != nil:
		var pos position
		if err := json.Unmarshal(saved, &pos); err != nil {
			s.set.Logger.Warn("saved position unreadable; reading the file from the start", "path", p, "error", err)
		} else {
			t.offset = pos.Offset
		}
	case s.cfg.StartAt == "end":
		t.offset = fi.Size()
	}
	s.files[id] = t
	s.set.Logger.Debug("file tracked", "path", p, "offset", t.offset)
	return t, nil
}

func (s *Source) read(ctx context.Context, pub plugin.Publisher, t *tracked, size int64) error {
	if size < t.offset {
		s.set.Logger.Warn("file is shorter than the saved position (truncated); reading it from the start", "path", t.path, "offset", t.offset, "size", size)
		t.offset, t.size = 0, 0
	}
	if size == t.size && t.offset >= size {
		return nil // nothing new
	}
	f, err := os.Open(t.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if !t.decided {
		switch s.cfg.Format {
		case "json":
			t.array, t.decided = true, true
		case "ndjson":
			t.decided = true
		default:
			first, err := firstByte(f)
			if err != nil {
				return err
			}
			if first == 0 {
				return nil // blank so far
			}
			t.array, t.decided = first == '[', true
		}
	}
	if t.array {
		err = s.readArray(ctx, pub, t, f, size)
	} else {
		err = s.readLines(ctx, pub, t, f)
	}
	if err == nil {
		t.size = size
	}
	return err
}

func firstByte(f *os.File) (byte, error) {
	br := bufio.NewReader(io.NewSectionReader(f, 0, 1<<16))
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return b, nil
		}
	}
}

// batcher collects records for one file and publishes them with the position after the last.
type batcher struct {
	s    *Source
	pub  plugin.Publisher
	t    *tracked
	recs []*event.Record
	end  int64 // offset just after the last consumed input
	// dirty is set when input was consumed (a record, or a dropped line) since the last publish.
	dirty bool
}

func (b *batcher) add(ctx context.Context, raw []byte, end int64) error {
	b.recs = append(b.recs, &event.Record{Raw: raw, Source: b.s.set.Name})
	b.end, b.dirty = end, true
	if len(b.recs) >= b.s.cfg.BatchSize {
		return b.flush(ctx)
	}
	return nil
}

func (b *batcher) skip(end int64) { b.end, b.dirty = end, true }

// flush publishes what was collected. A batch with no record still carries the position past
// dropped input, so a restart does not drop it again.
func (b *batcher) flush(ctx context.Context) error {
	if !b.dirty {
		return nil
	}
	pos, _ := json.Marshal(position{Path: b.t.path, Offset: b.end})
	recs := b.recs
	b.recs, b.dirty = nil, false
	if err := b.pub.Publish(ctx, recs, b.t.cursor.Track(pos)); err != nil {
		return err
	}
	b.t.offset = b.end
	return nil
}

// check validates one record's bytes; a bad one is dropped with its place in the file.
func (s *Source) check(ctx context.Context, t *tracked, raw []byte, at int64) bool {
	if int64(len(raw)) > int64(s.cfg.MaxRecordSize) {
		s.set.Dropper.Drop(ctx, raw[:min(len(raw), 64<<10)], plugin.ReasonTooLarge,
			fmt.Errorf("%s at byte %d: record of %d bytes exceeds max_record_size %s (first 64KiB kept)", t.path, at, len(raw), s.cfg.MaxRecordSize))
		return false
	}
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		s.set.Dropper.Drop(ctx, raw, plugin.ReasonInvalid, fmt.Errorf("%s at byte %d: not a JSON object", t.path, at))
		return false
	}
	return true
}

// readLines reads complete NDJSON lines from t.offset. A last line without its newline is left
// for the next poll while following, and taken as is otherwise.
func (s *Source) readLines(ctx context.Context, pub plugin.Publisher, t *tracked, f *os.File) error {
	if _, err := f.Seek(t.offset, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 256<<10)
	b := &batcher{s: s, pub: pub, t: t, end: t.offset}
	off := t.offset
	limit := int(s.cfg.MaxRecordSize)
	for {
		line, n, tooLong, complete, err := readLine(br, limit)
		if err != nil && err != io.EOF {
			_ = b.flush(ctx)
			return err
		}
		if n == 0 {
			break
		}
		if !complete && s.cfg.Follow {
			break // the writer has not finished this line
		}
		start := off
		off += int64(n)
		raw := bytes.TrimSpace(line)
		switch {
		case tooLong:
			s.set.Dropper.Drop(ctx, raw, plugin.ReasonTooLarge,
				fmt.Errorf("%s at byte %d: line of %d bytes exceeds max_record_size %s (first %s kept)", t.path, start, n, s.cfg.MaxRecordSize, s.cfg.MaxRecordSize))
			b.skip(off)
		case len(raw) == 0:
			b.skip(off)
		case !s.check(ctx, t, raw, start):
			b.skip(off)
		default:
			if err := b.add(ctx, bytes.Clone(raw), off); err != nil {
				return err
			}
		}
		if !complete {
			break
		}
	}
	return b.flush(ctx)
}

// readLine reads one line of at most limit bytes, discarding the rest of a longer one. n counts
// every byte consumed, newline included.
func readLine(br *bufio.Reader, limit int) (line []byte, n int, tooLong, complete bool, err error) {
	for {
		chunk, rerr := br.ReadSlice('\n')
		n += len(chunk)
		if len(line)+len(chunk) <= limit+1 { // +1: the newline does not count
			line = append(line, chunk...)
		} else {
			tooLong = true
			if room := limit - len(line); room > 0 {
				line = append(line, chunk[:room]...)
			}
		}
		switch rerr {
		case nil:
			return line, n, tooLong, true, nil
		case bufio.ErrBufferFull:
			continue
		default:
			return line, n, tooLong, false, rerr
		}
	}
}

// readArray reads a JSON array of objects, skipping the elements before t.offset.
func (s *Source) readArray(ctx context.Context, pub plugin.Publisher, t *tracked, f *os.File, size int64) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	dec := json.NewDecoder(bufio.NewReaderSize(io.LimitReader(f, size), 256<<10))
	b := &batcher{s: s, pub: pub, t: t, end: t.offset}
	bad := func(err error) error {
		if s.cfg.Follow && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) {
			return b.flush(ctx) // still being written: try again at the next poll
		}
		at := max(dec.InputOffset(), t.offset)
		rest := make([]byte, min(size-at, 64<<10))
		_, _ = f.ReadAt(rest, at)
		s.set.Dropper.Drop(ctx, rest, plugin.ReasonInvalid, fmt.Errorf("%s at byte %d: not a JSON array of objects (%v); the rest of the file is skipped (first 64KiB kept)", t.path, at, err))
		b.skip(size)
		return b.flush(ctx)
	}
	tok, err := dec.Token()
	if err != nil {
		return bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return bad(fmt.Errorf("starts with %v", tok))
	}
	for dec.More() {
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bad(err)
		}
		end := dec.InputOffset()
		if end <= t.offset {
			continue // delivered before
		}
		if !s.check(ctx, t, raw, start) {
			b.skip(end)
			continue
		}
		if err := b.add(ctx, bytes.Clone(raw), end); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return bad(err)
	}
	b.skip(size)
	return b.flush(ctx)
}
