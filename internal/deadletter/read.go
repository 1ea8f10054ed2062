package deadletter

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound is returned for an id that names no entry.
var ErrNotFound = errors.New("no such dead letter")

// ReasonUnreadable is the reason List gives a line of a file that is not an entry (a write cut
// short by a crash, an edit by hand). Such a line can be shown and purged; it is never replayed.
const ReasonUnreadable = "unreadable"

// Item is one entry of the store as List reads it.
type Item struct {
	// ID names the entry for Get, Purge and Replay: "<destination>:<key>", where key is the
	// first 16 hex digits of the SHA-256 of the entry's line (or the Key a failed replay kept),
	// followed by "-2", "-3"... for the second and later lines with the same key in the file.
	// Appending entries and removing others does not change it.
	ID string
	// Destination is the plugin configuration whose file holds the entry: the destination that
	// refused the record, or the source that could not read it.
	Destination string
	Entry       Entry
	// Unreadable marks a line that is not an entry: Entry.Reason is ReasonUnreadable,
	// Entry.Error why, Entry.RecordText the line.
	Unreadable bool
}

// Filter selects entries. Its zero value selects every entry.
type Filter struct {
	Destination string    // the plugin configuration whose file holds them; "" for all
	Reason      string    // "" for all
	Since       time.Time // entries dead-lettered at or after it; zero for no bound
	Until       time.Time // entries dead-lettered before it; zero for no bound
}

func (f Filter) matches(it *Item) bool {
	return (f.Destination == "" || f.Destination == it.Destination) &&
		(f.Reason == "" || f.Reason == it.Entry.Reason) &&
		(f.Since.IsZero() || !it.Entry.Time.Before(f.Since)) &&
		(f.Until.IsZero() || it.Entry.Time.Before(f.Until))
}

// Count is how many entries one destination holds for one reason.
type Count struct {
	Destination string
	Reason      string
	Entries     int
	Oldest      time.Time
	Newest      time.Time
}

// Destinations returns the names of the plugin configurations that have a dead-letter file,
// sorted.
func (s *Store) Destinations() ([]string, error) {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	var out []string
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), fileSuffix)
		if ok && de.Type().IsRegular() && validName(name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

const fileSuffix = ".ndjson"

// validName reports whether name can be a plugin configuration's file name in the store (not
// a path elsewhere, not a temporary file of a rewrite).
func validName(name string) bool {
	return name != "" && !strings.HasPrefix(name, ".") && !strings.ContainsAny(name, `/\`)
}

// List returns the entries f selects, file by file in the order of Destinations, each file's
// entries in the order they were written. A file being appended to is read up to its last
// complete line.
func (s *Store) List(f Filter) ([]Item, error) {
	var out []Item
	err := s.each(f, func(it Item) error {
		out = append(out, it)
		return nil
	})
	return out, err
}

// Counts returns how many entries f selects, by destination and reason, sorted by both.
func (s *Store) Counts(f Filter) ([]Count, error) {
	byKey := map[[2]string]*Count{}
	err := s.each(f, func(it Item) error {
		k := [2]string{it.Destination, it.Entry.Reason}
		c, ok := byKey[k]
		if !ok {
			c = &Count{Destination: it.Destination, Reason: it.Entry.Reason, Oldest: it.Entry.Time, Newest: it.Entry.Time}
			byKey[k] = c
		}
		c.Entries++
		if it.Entry.Time.Before(c.Oldest) {
			c.Oldest = it.Entry.Time
		}
		if it.Entry.Time.After(c.Newest) {
			c.Newest = it.Entry.Time
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Count, 0, len(byKey))
	for _, c := range byKey {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(a.Destination, b.Destination), cmp.Compare(a.Reason, b.Reason))
	})
	return out, nil
}

// Get returns the entry id names, or an error wrapping ErrNotFound.
func (s *Store) Get(id string) (Item, error) {
	dest, _, err := ParseID(id)
	if err != nil {
		return Item{}, err
	}
	var found *Item
	errFound := errors.New("found")
	err = s.readFile(dest, func(l line) error {
		if l.item.ID == id {
			found = &l.item
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return Item{}, err
	}
	if found == nil {
		return Item{}, fmt.Errorf("dead letter %s: %w", id, ErrNotFound)
	}
	return *found, nil
}

// ParseID splits an id into the destination whose file holds the entry and the entry's key.
func ParseID(id string) (destination, key string, err error) {
	i := strings.LastIndexByte(id, ':')
	if i <= 0 || i == len(id)-1 || !validName(id[:i]) {
		return "", "", fmt.Errorf("dead letter id %q: want <destination>:<key>, as list prints it", id)
	}
	return id[:i], id[i+1:], nil
}

func (s *Store) each(f Filter, fn func(Item) error) error {
	dests, err := s.Destinations()
	if err != nil {
		return err
	}
	for _, d := range dests {
		if f.Destination != "" && d != f.Destination {
			continue
		}
		err := s.readFile(d, func(l line) error {
			if !f.matches(&l.item) {
				return nil
			}
			return fn(l.item)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// line is one line of a dead-letter file: its bytes (without the newline) and the item read
// from them.
type line struct {
	raw  []byte
	item Item
}

// readFile calls fn with each complete line of dest's file, in order; a missing file holds no
// lines. fn's error stops the reading and is returned as it is.
func (s *Store) readFile(dest string, fn func(line) error) error {
	f, err := os.Open(s.Path(dest))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	defer f.Close()
	return scanLines(f, dest, false, fn)
}

// scanLines reads the lines of r as entries of dest's file. A last line without its newline is
// skipped (an append in progress), unless withTail: then it is read as a line of its own.
func scanLines(r io.Reader, dest string, withTail bool, fn func(line) error) error {
	rd := bufio.NewReaderSize(r, 64<<10)
	seen := map[string]int{}  // lines by key
	used := map[string]bool{} // ids given
	for n := 1; ; n++ {
		b, err := rd.ReadBytes('\n')
		last := errors.Is(err, io.EOF)
		switch {
		case err != nil && !last:
			return fmt.Errorf("dead letters: read %s: %w", dest, err)
		case last && (len(b) == 0 || !withTail):
			return nil
		case !last:
			b = b[:len(b)-1]
		}
		l := line{raw: b, item: decodeLine(dest, b, n)}
		key := l.item.Entry.Key
		if key == "" {
			sum := sha256.Sum256(b)
			key = hex.EncodeToString(sum[:8])
		}
		seen[key]++
		id := dest + ":" + key
		for k := seen[key]; k > 1 || used[id]; k++ {
			id = dest + ":" + key + "-" + strconv.Itoa(k)
			if !used[id] {
				break
			}
		}
		used[id] = true
		l.item.ID = id
		if err := fn(l); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

// decodeLine reads line n of dest's file as an entry, or as an unreadable line.
func decodeLine(dest string, b []byte, n int) Item {
	it := Item{Destination: dest}
	if err := json.Unmarshal(b, &it.Entry); err != nil {
		it.Unreadable = true
		it.Entry = Entry{Plugin: dest, Reason: ReasonUnreadable, Error: fmt.Sprintf("line %d is not a dead-letter entry: %v", n, err)}
		it.Entry.SetRecord(b)
	}
	return it
}
