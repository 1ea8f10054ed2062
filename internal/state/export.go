package state

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"
)

// Entry is one key of a state store as `logshipper state export` writes it: one JSON object a
// line, the value in base64 (values are bytes: a JSON position, a binary index).
type Entry struct {
	// Namespace is the bbolt bucket: the namespace names, outermost first, joined by '/'
	// ("plugin/acme").
	Namespace string `json:"namespace"`
	Key       string `json:"key"`
	Value     []byte `json:"value"`
}

// Entries calls fn with every key of every namespace of the file, by namespace and then key
// (bbolt's byte order), in one read transaction; fn's error stops the walk and is returned.
func (d *DB) Entries(ctx context.Context, fn func(Entry) error) error {
	if d.j != nil {
		// The journal's writes first, so that the state file holds every entry.
		if err := d.j.commit(); err != nil {
			return err
		}
	}
	return d.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				if v == nil {
					return nil // a nested bucket: Namespace makes none, nothing to export
				}
				return fn(Entry{Namespace: string(name), Key: string(k), Value: bytes.Clone(v)})
			})
		})
	})
}

// Export writes every entry of d to w as JSON lines and returns how many it wrote.
func Export(ctx context.Context, d *DB, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	err := d.Entries(ctx, func(e Entry) error {
		n++
		return enc.Encode(e)
	})
	if err != nil {
		return n, fmt.Errorf("state: export %s: %w", d.dir, err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("state: export: %w", err)
	}
	return n, nil
}

// ReadEntries reads the JSON lines Export writes and calls fn with each entry and its line
// number. A line that is not an entry (unknown fields, no namespace or key) is an error naming
// its line; blank lines are skipped.
func ReadEntries(r io.Reader, fn func(line int, e Entry) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		var e Entry
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("line %d: not a state entry: %w", line, err)
		}
		if dec.More() {
			return fmt.Errorf("line %d: not a state entry: more than one JSON value", line)
		}
		if e.Namespace == "" || e.Key == "" {
			return fmt.Errorf("line %d: not a state entry: namespace and key are required", line)
		}
		if err := fn(line, e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("a line longer than 64 MiB: %w", err)
		}
		return err
	}
	return nil
}
