package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/logshipper/logshipper/internal/state"
)

// Held is what a spool holds on disk, waiting for its destination's next start.
type Held struct {
	Records  int   // lines not yet replayed
	Bytes    int64 // size of the segment files
	Segments int
	// FromStart is set when the replay's saved progress was not read (store nil): Records
	// counts from the start of the oldest segment, so it may count records a replay already
	// delivered.
	FromStart bool
}

// Inspect counts what the spool in dir holds without opening it for writing: the records from
// the replay position saved in store (the namespace Open is given) (nil: from the start of the oldest segment). A missing
// directory holds nothing.
func Inspect(ctx context.Context, dir string, store state.Store) (Held, error) {
	var h Held
	var start position
	if store == nil {
		h.FromStart = true
	} else {
		saved, err := state.NewCursor(store, progressKey).Load(ctx)
		if err != nil {
			return h, fmt.Errorf("spool %s: %w", dir, err)
		}
		if saved != nil {
			if start, err = decodePosition(saved); err != nil {
				return h, fmt.Errorf("spool %s: %w", dir, err)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("spool: %w", err)
	}
	var segs []uint64
	for _, e := range entries {
		if seq, ok := segmentNumber(e.Name()); ok && !e.IsDir() && seq >= start.seg {
			segs = append(segs, seq)
		}
	}
	slices.Sort(segs)
	for _, seq := range segs {
		off := int64(0)
		if seq == start.seg {
			off = start.off
		}
		n, size, err := countLines(filepath.Join(dir, segmentName(seq)), off)
		if err != nil {
			return h, err
		}
		h.Records += n
		h.Bytes += size
		h.Segments++
	}
	return h, nil
}

// countLines counts the complete lines of path from off, and returns the file's size.
func countLines(path string, off int64) (int, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	n := 0
	buf := make([]byte, 256<<10)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if errors.Is(err, io.EOF) {
			return n, info.Size(), nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("spool: read %s: %w", path, err)
		}
	}
}

// progressKey is the key of the replay's progress in the spool's state namespace.
const progressKey = "replay"
