package deadletter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Changing the files (Purge, Replay) and appending to them (Put) are kept apart by the store's
// mutex: a file is rewritten whole into a temporary file that is then renamed over it, and the
// file Put keeps open is closed, so the next Put opens the new one. That holds within one
// process, for one Store: the process that runs the pipelines (and its console) must change the
// files through the Store it appends with. Another process must not change them while a
// `logshipper run` holds the data directory (its appends would go to the file renamed away):
// the CLI takes the data directory's lock first.

// Selection names the entries Purge and Replay act on: IDs when it has any, else those Filter
// selects. A Selection with neither selects nothing; &Filter{} selects every entry.
type Selection struct {
	IDs    []string
	Filter *Filter
}

// PurgeResult is what Purge did.
type PurgeResult struct {
	Removed int
	// Missing are the ids of the selection that named no entry.
	Missing []string
}

// Purge removes the selected entries. Each file is written again whole, through a temporary
// file renamed over it, so a crash leaves it as it was or as it is after; a file left with no
// entry is removed.
func (s *Store) Purge(sel Selection) (PurgeResult, error) {
	var res PurgeResult
	byDest, err := s.selected(sel)
	if err != nil {
		return res, err
	}
	for _, d := range sortedKeys(byDest) {
		ids := byDest[d]
		removed, err := s.rewrite(d, func(it *Item) (drop bool, replace *Entry) {
			return ids.take(it), nil
		})
		res.Removed += removed
		if err != nil {
			return res, err
		}
		res.Missing = append(res.Missing, ids.left()...)
	}
	return res, nil
}

// idSet is a set of ids, or every id a filter selects.
type idSet struct {
	all   *Filter
	ids   map[string]bool
	taken map[string]bool
}

// take reports whether the set holds it, and marks it found.
func (s *idSet) take(it *Item) bool {
	if s.all != nil {
		return s.all.matches(it)
	}
	if s.ids[it.ID] {
		s.taken[it.ID] = true
		return true
	}
	return false
}

func (s *idSet) left() []string {
	var out []string
	for id := range s.ids {
		if !s.taken[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// selected groups the ids of sel by destination. For a filter, each file's ids are those the
// filter selects at the time it is rewritten (filter-selected entries appended meanwhile are
// included).
func (s *Store) selected(sel Selection) (map[string]*idSet, error) {
	out := map[string]*idSet{}
	switch {
	case len(sel.IDs) > 0:
		for _, id := range sel.IDs {
			d, _, err := ParseID(id)
			if err != nil {
				return nil, err
			}
			if out[d] == nil {
				out[d] = &idSet{ids: map[string]bool{}, taken: map[string]bool{}}
			}
			out[d].ids[id] = true
		}
	case sel.Filter != nil:
		dests, err := s.Destinations()
		if err != nil {
			return nil, err
		}
		for _, d := range dests {
			if sel.Filter.Destination == "" || sel.Filter.Destination == d {
				out[d] = &idSet{all: sel.Filter}
			}
		}
	default:
		return nil, errors.New("dead letters: nothing selected: give ids or a filter")
	}
	return out, nil
}

// rewrite writes dest's file again with the lines decide keeps, as they are, or as the entry
// it returns in their place, and returns how many lines it dropped. Lines decide is not asked
// about (a filter's non-matching ones) are kept. It holds the store's mutex throughout.
func (s *Store) rewrite(dest string, decide func(*Item) (drop bool, replace *Entry)) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := s.Path(dest)
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("dead letters: %w", err)
	}
	var (
		out     bytes.Buffer
		dropped int
		changed bool
	)
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	err = scanLines(bytes.NewReader(old), dest, true, func(l line) error {
		drop, repl := decide(&l.item)
		switch {
		case drop:
			dropped++
			changed = true
		case repl != nil:
			changed = true
			if err := enc.Encode(repl); err != nil {
				return fmt.Errorf("dead letters: encode: %w", err)
			}
		default:
			out.Write(l.raw)
			out.WriteByte('\n')
		}
		return nil
	})
	if err != nil || !changed {
		return 0, err
	}
	// The file Put holds open is about to be replaced: close it, so the next Put opens the new
	// one.
	if f, ok := s.files[dest]; ok {
		delete(s.files, dest)
		if err := f.Close(); err != nil {
			return 0, fmt.Errorf("dead letters: close %s: %w", path, err)
		}
	}
	if out.Len() == 0 {
		if err := os.Remove(path); err != nil {
			return 0, fmt.Errorf("dead letters: %w", err)
		}
		return dropped, syncDir(s.dir)
	}
	if err := writeAtomic(path, out.Bytes()); err != nil {
		return 0, err
	}
	return dropped, nil
}

// writeAtomic replaces path with b: written to a temporary file beside it, synced, renamed over
// it, and the directory synced.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("dead letters: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("dead letters: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	done = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("dead letters: sync %s: %w", dir, err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
