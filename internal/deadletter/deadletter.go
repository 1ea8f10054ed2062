// Package deadletter keeps the records that could not be delivered for good, with the reason,
// so that nothing is silently lost. Each plugin configuration has its own NDJSON file under
// <data_dir>/deadletter/, one entry a line, synced to disk before Put returns.
package deadletter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/appendfile"
	"github.com/logshipper/logshipper/internal/jsonx"
)

// Entry is one dead-lettered record.
type Entry struct {
	Time   time.Time `json:"time"`
	Plugin string    `json:"plugin"`           // the configuration that dropped it
	Source string    `json:"source,omitempty"` // the configuration that read it
	Reason string    `json:"reason"`
	Code   string    `json:"code,omitempty"` // the destination's own error code
	Error  string    `json:"error,omitempty"`
	ID     string    `json:"id,omitempty"`
	// Exactly one of these holds the record: the JSON itself when it is valid JSON, its text when
	// it is valid UTF-8, else its bytes in base64.
	Record       json.RawMessage `json:"record,omitempty"`
	RecordText   string          `json:"record_text,omitempty"`
	RecordBase64 string          `json:"record_base64,omitempty"`

	// What the record's source said of it (SetEvent), so that a replay hands the destination the
	// record as the engine first did. Empty in the entries of a source's own drops.
	Kind       string            `json:"kind,omitempty"`
	Subtype    string            `json:"subtype,omitempty"`
	RecordTime *time.Time        `json:"record_time,omitempty"`
	Meta       map[string]string `json:"meta,omitempty"`
	// The record proper when the record is an envelope around it (event.Record's Payload): its
	// text when it is valid UTF-8, else its bytes in base64.
	PayloadText   string `json:"payload_text,omitempty"`
	PayloadBase64 string `json:"payload_base64,omitempty"`

	// Set when a replay failed and wrote the entry again: Key is the id the entry had (List),
	// which it keeps; Replays counts the replays that failed, Replayed is when the last was.
	Key      string     `json:"key,omitempty"`
	Replays  int        `json:"replays,omitempty"`
	Replayed *time.Time `json:"replayed,omitempty"`
}

// SetRecord stores raw in the field that keeps it exactly. Record takes only JSON that Put
// writes back byte for byte: valid UTF-8 (jsonx.Valid does not check it) and already compact (the
// encoder compacts a RawMessage), and that leaves the entry readable: nested less deeply than
// encoding/json (and jq) read, the entry's own level included. Other valid JSON, such as
// pretty-printed JSON, goes to RecordText, which keeps every byte.
func (e *Entry) SetRecord(raw []byte) {
	switch {
	case jsonx.IsCompact(raw) && utf8.Valid(raw) && depth(raw) < maxReadDepth:
		e.Record = json.RawMessage(raw)
	case utf8.Valid(raw):
		e.RecordText = string(raw)
	default:
		e.RecordBase64 = base64.StdEncoding.EncodeToString(raw)
	}
}

// maxReadDepth is the deepest nesting encoding/json reads; an entry adds one level to its record.
const maxReadDepth = 10000

// depth returns how deeply the valid JSON raw nests objects and arrays.
func depth(raw []byte) int {
	d, most, inString := 0, 0, false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			most = max(most, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return most
}

// Store appends entries to per-plugin files.
type Store struct {
	dir string

	// mu guards files, and is held while Purge or Replay rewrites a file (purge.go).
	mu    sync.Mutex
	files map[string]*appendfile.File
	// replaying is held for the whole of a Replay: two replays of the same entries at once
	// would deliver their records twice.
	replaying sync.Mutex
}

// Open returns a store writing under dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	return &Store{dir: dir, files: map[string]*appendfile.File{}}, nil
}

// Path is the file holding the dead letters of plugin.
func (s *Store) Path(plugin string) string { return filepath.Join(s.dir, plugin+".ndjson") }

// Put appends entries for plugin and syncs the file.
func (s *Store) Put(plugin string, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	// An Encoder without HTML escaping writes Record as it is (json.Marshal would turn <, > and &
	// into \u003c..., and U+2028/U+2029 into escapes). Encode ends each entry with a newline.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return fmt.Errorf("dead letters: encode: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[plugin]
	if !ok {
		var err error
		f, err = appendfile.Open(s.Path(plugin), 0o600)
		if err != nil {
			return fmt.Errorf("dead letters: %w", err)
		}
		s.files[plugin] = f
	}
	if err := f.Append(buf.Bytes()); err != nil {
		return fmt.Errorf("dead letters: write %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("dead letters: sync %s: %w", f.Name(), err)
	}
	return nil
}

// Close closes the files.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for k, f := range s.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
		delete(s.files, k)
	}
	return first
}
