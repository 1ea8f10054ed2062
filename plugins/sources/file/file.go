// Package file is the file source: it reads JSON records from files matched by glob patterns,
// NDJSON (following appended lines) or JSON arrays, and keeps a position per file that moves
// only once the records before it were acknowledged.
package file

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
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
		NodeLocal: true,
		NewSource: func(c plugin.Config, set plugin.Settings) (plugin.Source, error) {
			return New(c.(*Config), set), nil
		},
	}
}

// Source reads files.
type Source struct {
	cfg *Config
	set plugin.Settings
	// nackBackoff is the wait between a nack and reading the file again from its saved
	// position, growing with nacks in a row.
	nackBackoff retry.Backoff
	files       map[string]*tracked // by fileID
	restored    bool                // the saved positions were loaded
	scanned     bool                // the first scan is over: files found from now on are new
	repairs     *plugin.Repairs
	empties     *plugin.Empties
}

var _ plugin.Source = (*Source)(nil)

// New returns a file source.
func New(cfg *Config, set plugin.Settings) *Source {
	return &Source{cfg: cfg, set: set, files: map[string]*tracked{}, nackBackoff: retry.Backoff{Initial: nackInitial, Max: nackMax}, repairs: plugin.NewRepairs(set.Logger, set.Metrics), empties: plugin.NewEmpties(set.Logger, set.Metrics)}
}

// The wait before a file is read again after a nack: from 1 s doubling up to a minute with
// nacks in a row, with jitter.
const (
	nackInitial = time.Second
	nackMax     = time.Minute
)

// tracked is one file being read.
type tracked struct {
	id     string
	path   string
	cursor *state.Cursor
	// rewind learns the outcome of every batch published; after a nack it says when to read
	// the file again from its saved position (start when none was saved).
	rewind    *retry.Rewinder
	nackNoted bool  // the pending nack was logged
	start     int64 // where this process started reading the file, with no position saved
	offset    int64 // next byte to read
	size      int64 // size when last read to the end
	array     bool
	decided   bool // format known (auto waits for a first non-blank byte)
	// head and headLen fingerprint the file's first bytes (see position.Head); verify is set
	// while a saved position awaits the check that the file is still the one it was saved for.
	head    string
	headLen int64
	verify  bool
	// quiet is when a file no glob matches any more (renamed away by rotation) was first seen
	// unchanged; it is read one last time and forgotten once it stayed so for renamedGrace.
	quiet time.Time
	// saveFailed is set once a failure to save the position was reported.
	saveFailed bool
}

// renamedGrace is how long a file renamed out of the globs must stay unchanged before it is read
// one last time and forgotten: a writer may keep appending to it until it reopens its log.
func (s *Source) renamedGrace() time.Duration { return max(minRenamedGrace, 5*s.cfg.PollInterval) }

// minRenamedGrace is the least renamedGrace.
const minRenamedGrace = 5 * time.Second

// position is what a file's cursor saves.
type position struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	// Head is the SHA-256 (hex) of the file's first HeadLen bytes: a file that later has the
	// same device and inode but other first bytes is another file (inode reuse), and its
	// saved offset must not be trusted.
	Head    string `json:"head,omitempty"`
	HeadLen int64  `json:"head_len,omitempty"`
}

// headMax is how many first bytes of a file its fingerprint covers.
const headMax = 1024

// fingerprint hashes the first n bytes of f.
func fingerprint(f *os.File, n int64) (string, error) {
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
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
			again, err := s.settle(ctx)
			if err != nil || !again {
				return err
			}
			// A batch was nacked: read its file again from the saved position, at the pace of
			// the polls (a file the next scan cannot rewind yet must not make this spin).
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(s.cfg.PollInterval):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.cfg.PollInterval):
		}
	}
}

// settle waits, when the source reads its files once (follow off), for every batch published
// to be acknowledged or nacked. It reports whether a batch was nacked, once that file may be
// read again (its backoff passed): the caller scans again, and the rewind reads the nacked
// records in the same run. It returns false, nil when ctx ended first.
func (s *Source) settle(ctx context.Context) (again bool, err error) {
	ids := make([]string, 0, len(s.files))
	for id := range s.files {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !s.files[id].rewind.Settle(ctx) {
			return false, nil
		}
	}
	for _, id := range ids {
		t := s.files[id]
		if _, nacked := t.rewind.Nacked(); !nacked {
			continue
		}
		if !t.rewind.Wait(ctx) {
			return false, nil
		}
		again = true
	}
	return again, nil
}

// scan reads every matching file from its position to its end, then the files read before that
// no glob matches any more.
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
	if !s.restored {
		if err := s.restore(ctx); err != nil {
			return err
		}
		s.restored = true
	}
	matched := map[string]bool{} // ids of the files the globs matched in this scan
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
		if matched[t.id] {
			continue // the same file under a second name (a link): read once
		}
		matched[t.id] = true
		t.quiet = time.Time{}
		if err := s.readLogged(ctx, pub, t, fi.Size(), false); err != nil {
			return err
		}
	}
	s.scanned = true
	return s.lost(ctx, pub, matched)
}

// readLogged reads t, logging and counting a failure to read: the next scan tries again. It
// returns only the error that ends the scan (ctx's).
func (s *Source) readLogged(ctx context.Context, pub plugin.Publisher, t *tracked, size int64, final bool) error {
	if err := t.cursor.Err(); err != nil && !t.saveFailed {
		// The cursor stays where it was from now on: a restart reads the file from there again.
		t.saveFailed = true
		s.set.Metrics.Errors.Inc()
		s.set.Logger.Error("saving the file's position failed; it will not move again until a restart", "path", t.path, "error", err)
	}
	ok, err := s.rewindIfNacked(ctx, t)
	if err == nil && !ok {
		return nil
	}
	if err == nil {
		err = s.read(ctx, pub, t, size, final)
	}
	if err == nil || errors.Is(err, errNacked) {
		return nil // after a nack, the rewind reads the file again
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	s.set.Metrics.Errors.Inc()
	s.set.Logger.Error("reading file failed; will try again", "path", t.path, "error", err)
	return nil
}

// lost deals with the files tracked (read before, or with a saved position) that no glob matched
// in this scan. A file renamed out of the globs (rotation: app.log -> app.log.1 with paths
// *.log) is found again in its directory by its device and inode and read to its end, for as
// long as it keeps changing; once it stayed unchanged for renamedGrace it is read one last time
// (an unterminated last line included) and forgotten. A file that is gone is forgotten at once.
// Either way its saved position is deleted when none of its batches is in flight, so that a new
// file reusing its inode starts afresh.
func (s *Source) lost(ctx context.Context, pub plugin.Publisher, matched map[string]bool) error {
	var ids []string
	for id := range s.files {
		if !matched[id] {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	dirs := map[string]map[string]found{}
	for _, id := range ids {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t := s.files[id]
		dir := filepath.Dir(t.path)
		byID, ok := dirs[dir]
		if !ok {
			var err error
			if byID, err = listDir(dir); err != nil {
				s.set.Logger.Warn("cannot list the directory of a file no glob matches any more; will try again", "path", t.path, "error", err)
			}
			dirs[dir] = byID
		}
		if byID == nil {
			continue // the directory could not be listed: decide at the next scan
		}
		f, ok := byID[id]
		if !ok {
			s.forget(ctx, t, true, "gone")
			continue
		}
		if t.path != f.path {
			s.set.Logger.Info("file renamed out of the globs (rotated); reading it to its end", "path", f.path, "was", t.path)
			t.path = f.path
		}
		size := f.info.Size()
		if size != t.size || size < t.offset {
			t.quiet = time.Time{}
			if err := s.readLogged(ctx, pub, t, size, false); err != nil {
				return err
			}
			continue
		}
		now := time.Now()
		if t.quiet.IsZero() {
			t.quiet = now
		}
		if now.Sub(t.quiet) < s.renamedGrace() {
			continue
		}
		if err := s.readLogged(ctx, pub, t, size, true); err != nil {
			return err
		}
		if _, nacked := t.rewind.Nacked(); nacked || t.rewind.InFlight() > 0 {
			continue // forgotten once its batches are delivered: a nacked one is read again
		}
		// Read to its end and out of the globs: its position is of no more use, and would
		// mislead the reading of a new file that gets its inode once it is deleted.
		s.forget(ctx, t, t.offset >= size, "renamed out of the globs and unchanged")
	}
	return nil
}

type found struct {
	path string
	info os.FileInfo
}

// listDir returns the regular files of dir by file id; an empty map when dir does not exist, an
// error when it cannot tell.
func listDir(dir string) (map[string]found, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]found{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]found, len(entries))
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err // cannot tell whether this is the file looked for
		}
		if fi.Mode().IsRegular() {
			out[fileID(p, fi)] = found{path: p, info: fi}
		}
	}
	return out, nil
}

func cursorKey(id string) string { return "file/" + id }

// track returns the tracked file for p, loading its saved position the first time.
func (s *Source) track(ctx context.Context, p string, fi os.FileInfo) (*tracked, error) {
	id := fileID(p, fi)
	if t, ok := s.files[id]; ok {
		t.path = p // a rotated file keeps its id under a new name
		return t, nil
	}
	t := s.newTracked(id, p)
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
			t.setSaved(pos)
		}
	case s.cfg.StartAt == "end" && !s.scanned:
		// Only files there at startup: a file that appears later (the new file of a rotation)
		// is read from its start, or its first lines would be lost.
		t.offset = fi.Size()
	}
	t.start = t.offset
	s.files[id] = t
	s.set.Logger.Debug("file tracked", "path", p, "offset", t.offset)
	return t, nil
}

// setSaved starts t at a saved position, to be verified against the file's first bytes.
func (t *tracked) setSaved(pos position) {
	t.offset, t.head, t.headLen, t.verify = pos.Offset, pos.Head, pos.HeadLen, pos.HeadLen > 0
}

func (s *Source) newTracked(id, path string) *tracked {
	t := &tracked{id: id, path: path, rewind: retry.NewRewinder(s.nackBackoff)}
	s.newCursor(t)
	return t
}

// newCursor gives t a fresh cursor over its saved position.
func (s *Source) newCursor(t *tracked) {
	t.cursor = state.NewCursor(s.set.State, cursorKey(t.id))
	t.cursor.OnCommit(func([]byte) { s.set.Metrics.Checkpoints.Inc() })
}

// rewindIfNacked deals with a nack of one of t's batches. A cursor saves nothing at or past a
// nacked batch, so the file is read again from its saved position, with a new cursor, once
// the nack's backoff passed and none of its batches is in flight (their outcomes are saved
// by then): the nacked records are published again, and so are those after them that were
// published before the rewind (at least once: duplicates, never a gap). Until then the file is
// not read on, which would only publish more records to be read again. It reports whether t
// may be read now.
func (s *Source) rewindIfNacked(ctx context.Context, t *tracked) (bool, error) {
	wait, nacked := t.rewind.Nacked()
	if !nacked {
		return true, nil
	}
	if !t.nackNoted {
		t.nackNoted = true
		s.set.Metrics.Retries.Inc()
		s.set.Logger.Warn("a batch of the file was not delivered; reading the file again from its saved position",
			"path", t.path, "retry_in", wait.Round(time.Millisecond), "consecutive", t.rewind.Consecutive())
	}
	if !t.rewind.Ready() {
		return false, nil
	}
	s.newCursor(t)
	saved, err := t.cursor.Load(ctx)
	if err != nil {
		return false, fmt.Errorf("reading the saved position to read the file again: %w", err)
	}
	t.offset = t.start
	var pos position
	if saved != nil && json.Unmarshal(saved, &pos) == nil {
		t.setSaved(pos)
	}
	t.size, t.saveFailed, t.nackNoted = -1, false, false
	t.rewind.Rewound()
	s.set.Logger.Info("reading the file again from its saved position after a nack", "path", t.path, "offset", t.offset)
	return true, nil
}

// restore tracks, before the first scan, every file with a saved position whose saved path a
// glob matches or lies in a directory a glob covers: a file renamed by a rotation (app.log ->
// app.log.1 with paths *.log) keeps its position under its new name, and its unread tail must
// not be forgotten by a restart. The scan then finds those the globs still match, and lost()
// looks for the others: renamed (their last lines are read) or gone (their positions are
// deleted). Positions elsewhere (the globs were narrowed) are left alone.
func (s *Source) restore(ctx context.Context) error {
	keys, err := s.set.State.Keys(ctx, cursorKey(""))
	if err != nil {
		return plugin.Fatal(fmt.Errorf("list saved positions: %w", err))
	}
	for _, k := range keys {
		id := strings.TrimPrefix(k, cursorKey(""))
		if _, ok := s.files[id]; ok {
			continue
		}
		t := s.newTracked(id, "")
		saved, err := t.cursor.Load(ctx)
		if err != nil {
			return plugin.Fatal(err)
		}
		var pos position
		if saved == nil || json.Unmarshal(saved, &pos) != nil || pos.Path == "" || !s.covers(pos.Path) {
			continue
		}
		t.path = pos.Path
		t.setSaved(pos)
		t.start = t.offset
		s.files[id] = t
	}
	return nil
}

// covers reports whether a glob matches path or the directory that holds it.
func (s *Source) covers(path string) bool {
	if s.matches(path) {
		return true
	}
	dir := filepath.Clean(filepath.Dir(path))
	for _, g := range s.cfg.Paths {
		if ok, _ := filepath.Match(filepath.Clean(filepath.Dir(g)), dir); ok {
			return true
		}
	}
	return false
}

// matches reports whether a glob of the configuration matches path.
func (s *Source) matches(path string) bool {
	for _, g := range s.cfg.Paths {
		if ok, _ := filepath.Match(g, path); ok {
			return true
		}
	}
	return false
}

// forget stops tracking t. Its saved position is deleted too when drop is set and none of its
// batches is in flight (an ack still to come would save it again).
func (s *Source) forget(ctx context.Context, t *tracked, drop bool, why string) {
	delete(s.files, t.id)
	if drop && t.cursor.Pending() == 0 {
		if err := s.set.State.Delete(ctx, cursorKey(t.id)); err != nil {
			s.set.Logger.Warn("could not delete the saved position of a file no longer read", "path", t.path, "error", err)
		}
	}
	s.set.Logger.Debug("file forgotten: "+why, "path", t.path)
}

// read reads t from its position to size. final takes an unterminated last line (or an
// unfinished JSON array) as it is, even while following: the file will not grow any more.
func (s *Source) read(ctx context.Context, pub plugin.Publisher, t *tracked, size int64, final bool) error {
	if size < t.offset {
		s.set.Logger.Warn("file is shorter than the saved position (truncated); reading it from the start", "path", t.path, "offset", t.offset, "size", size)
		t.offset, t.size = 0, -1
	}
	if size == t.size && !final {
		// Read to this very size before: nothing new. (A kept-back unterminated line, or a JSON
		// array still being written, is not read and parsed again until the file changes.)
		return nil
	}
	if t.offset >= size && !final {
		t.size = size
		return nil
	}
	f, err := os.Open(t.path)
	if err != nil {
		return err
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return err
	}
	if fileID(t.path, opened) != t.id {
		return nil // renamed again since it was looked at: the next scan finds it
	}
	if t.verify {
		t.verify = false
		if got, err := fingerprint(f, t.headLen); err != nil || got != t.head {
			s.set.Logger.Warn("the file at this device and inode is not the one its saved position belongs to (its first bytes differ); reading it from the start",
				"path", t.path, "saved_offset", t.offset)
			t.offset, t.size, t.head, t.headLen = 0, -1, "", 0
		}
	}
	if t.headLen < headMax && size > t.headLen {
		n := min(size, headMax)
		if h, err := fingerprint(f, n); err == nil {
			t.head, t.headLen = h, n
		}
	}
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
	follow := s.cfg.Follow && !final
	if t.array {
		err = s.readArray(ctx, pub, t, f, size, follow)
	} else {
		err = s.readLines(ctx, pub, t, f, follow)
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

// add collects the records of one line (or array element) that ends at end. They go into
// one batch together, so that the position after the line is never published before all of
// them.
func (b *batcher) add(ctx context.Context, recs []*event.Record, end int64) error {
	b.recs = append(b.recs, recs...)
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
	pos, _ := json.Marshal(position{Path: b.t.path, Offset: b.end, Head: b.t.head, HeadLen: b.t.headLen})
	recs := b.recs
	b.recs, b.dirty = nil, false
	if err := b.pub.Publish(ctx, recs, b.t.rewind.Track(b.t.cursor.Track(pos))); err != nil {
		return err
	}
	b.t.offset = b.end
	if _, nacked := b.t.rewind.Nacked(); nacked {
		return errNacked
	}
	return nil
}

// errNacked ends a read once a batch of the file was nacked: reading on would only publish
// records that the rewind reads again.
var errNacked = errors.New("a batch of the file was nacked")

// checkSize drops a record larger than max_record_size, with its place in the file.
func (s *Source) checkSize(ctx context.Context, t *tracked, raw []byte, at int64) (bool, error) {
	if int64(len(raw)) > int64(s.cfg.MaxRecordSize) {
		return false, s.set.Dropper.Drop(ctx, raw[:min(len(raw), 64<<10)], plugin.ReasonTooLarge,
			fmt.Errorf("%s at byte %d: record of %d bytes exceeds max_record_size %s (first 64KiB kept)", t.path, at, len(raw), s.cfg.MaxRecordSize))
	}
	return true, nil
}

// checkObject drops a record that is not one JSON object, with its place in the file. A record
// it lets through is marked ValidJSON.
func (s *Source) checkObject(ctx context.Context, t *tracked, raw []byte, at int64) (bool, error) {
	if len(raw) == 0 || raw[0] != '{' || !jsonx.Valid(raw) {
		return false, s.set.Dropper.Drop(ctx, raw, plugin.ReasonInvalid, fmt.Errorf("%s at byte %d: not a JSON object", t.path, at))
	}
	return true, nil
}

// checked returns the records of one line (or array element) at byte at, dropping what is too
// large or not what record_kind expects (none when everything was dropped). An error means a
// drop failed.
func (s *Source) checked(ctx context.Context, t *tracked, raw []byte, at int64) ([]*event.Record, error) {
	if ok, err := s.checkSize(ctx, t, raw, at); !ok {
		return nil, err
	}
	return s.records(ctx, t, bytes.Clone(raw), at)
}

// stopBefore ends a read at input that could not be dropped (the dead-letter store failed):
// what came before is published, and the position stays before the input, so the next poll
// tries it again.
func stopBefore(ctx context.Context, b *batcher, err error) error {
	if ferr := b.flush(ctx); ferr != nil {
		return ferr
	}
	return err
}

// readLines reads complete NDJSON lines from t.offset. A last line without its newline is left
// for the next poll while following, and taken as is otherwise.
func (s *Source) readLines(ctx context.Context, pub plugin.Publisher, t *tracked, f *os.File, follow bool) error {
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
		if !complete && follow {
			break // the writer has not finished this line
		}
		start := off
		off += int64(n)
		raw := bytes.TrimSpace(line)
		if tooLong {
			if err := s.set.Dropper.Drop(ctx, raw, plugin.ReasonTooLarge,
				fmt.Errorf("%s at byte %d: line of %d bytes exceeds max_record_size %s (first %s kept)", t.path, start, n, s.cfg.MaxRecordSize, s.cfg.MaxRecordSize)); err != nil {
				return stopBefore(ctx, b, err)
			}
			b.skip(off)
			continue
		}
		var recs []*event.Record
		if len(raw) > 0 {
			if recs, err = s.checked(ctx, t, raw, start); err != nil {
				return stopBefore(ctx, b, err)
			}
		}
		if len(recs) == 0 {
			b.skip(off)
		} else if err := b.add(ctx, recs, off); err != nil {
			return err
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
		if !tooLong && len(line)+len(chunk) <= limit+1 { // +1: the newline does not count
			line = append(line, chunk...)
		} else {
			tooLong = true
			if room := limit - len(line); room > 0 {
				line = append(line, chunk[:room]...)
			}
			line = line[:min(len(line), limit)] // it may hold the byte kept for a newline
		}
		switch rerr {
		case nil:
			return line, n, tooLong, true, nil
		case bufio.ErrBufferFull:
			continue
		default:
			if len(line) > limit { // no newline came: the byte kept for one is content
				line, tooLong = line[:limit], true
			}
			return line, n, tooLong, false, rerr
		}
	}
}

// readArray reads a JSON array of objects, skipping the elements before t.offset.
func (s *Source) readArray(ctx context.Context, pub plugin.Publisher, t *tracked, f *os.File, size int64, follow bool) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	dec := json.NewDecoder(bufio.NewReaderSize(io.LimitReader(f, size), 256<<10))
	b := &batcher{s: s, pub: pub, t: t, end: t.offset}
	bad := func(err error) error {
		if follow && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) {
			return b.flush(ctx) // still being written: try again at the next poll
		}
		at := max(dec.InputOffset(), t.offset)
		rest := make([]byte, min(size-at, 64<<10))
		_, _ = f.ReadAt(rest, at)
		if derr := s.set.Dropper.Drop(ctx, rest, plugin.ReasonInvalid, fmt.Errorf("%s at byte %d: not a JSON array of objects (%v); the rest of the file is skipped (first 64KiB kept)", t.path, at, err)); derr != nil {
			return stopBefore(ctx, b, derr)
		}
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
		recs, err := s.checked(ctx, t, raw, start)
		if err != nil {
			return stopBefore(ctx, b, err)
		}
		if len(recs) == 0 {
			b.skip(end)
			continue
		}
		if err := b.add(ctx, recs, end); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return bad(err)
	}
	b.skip(size)
	return b.flush(ctx)
}
