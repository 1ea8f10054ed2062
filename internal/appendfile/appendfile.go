// Package appendfile opens files that records are appended to, one per line, so that a torn
// write never glues two records together: a line left unfinished by a crash is ended before
// anything is appended, and a write that fails half-way is cut back.
package appendfile

import (
	"fmt"
	"os"
)

// File is a file opened for appending whole lines.
type File struct {
	f    *os.File
	size int64
}

// Open opens (creating) path for appending. If the file ends in the middle of a line (a crash
// during a write), a newline is added first, so the torn fragment stays a line of its own that
// readers reject, and the next record is whole.
func Open(path string, perm os.FileMode) (*File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, perm)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	a := &File{f: f, size: fi.Size()}
	if a.size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, a.size-1); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("read the end of %s: %w", path, err)
		}
		if last[0] != '\n' {
			if err := a.Append([]byte("\n")); err != nil {
				_ = f.Close()
				return nil, err
			}
		}
	}
	return a, nil
}

// Append writes b at the end. If the write fails part-way, the file is cut back to where it
// was, so a retry of the same bytes does not follow a fragment of them.
func (a *File) Append(b []byte) error {
	n, err := a.f.Write(b)
	if err == nil {
		a.size += int64(n)
		return nil
	}
	if n > 0 {
		if terr := a.f.Truncate(a.size); terr != nil {
			return fmt.Errorf("%w (and cutting back the partial write failed: %v)", err, terr)
		}
	}
	return err
}

// Size is the file's size as written through this File.
func (a *File) Size() int64 { return a.size }

// Sync flushes the file to disk.
func (a *File) Sync() error { return a.f.Sync() }

// Close closes the file.
func (a *File) Close() error { return a.f.Close() }

// Name is the file's path.
func (a *File) Name() string { return a.f.Name() }
