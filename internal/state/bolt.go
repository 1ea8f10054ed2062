package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the state file's name under data_dir.
const FileName = "state.db"

const pidFileName = "logshipper.pid"

// ErrLocked is returned by Open when another process owns the data directory.
var ErrLocked = errors.New("data directory is in use by another logshipper process")

// DB is the bbolt-backed store. One process owns a data directory at a time: bbolt holds an
// exclusive lock on the file for as long as it is open.
type DB struct {
	db  *bolt.DB
	dir string
	j   *journal // nil: every write is committed with an fsync
}

// Open opens (creating if needed) the state file under dir, committing every write with an
// fsync. If another process holds it, Open fails at once with ErrLocked and the other
// process's pid when known. The journal an earlier process left is replayed first.
func Open(dir string) (*DB, error) { return OpenWith(dir, Options{}) }

// OpenWith is Open with options: with o.SyncInterval above 0, writes go to the journal and
// are committed every SyncInterval (see JournalName).
func OpenWith(dir string, o Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 250 * time.Millisecond})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			owner := ""
			if b, rerr := os.ReadFile(filepath.Join(dir, pidFileName)); rerr == nil {
				owner = " (pid " + strings.TrimSpace(string(b)) + ")"
			}
			return nil, fmt.Errorf("state: %s%s: %w; stop it or give this one another data_dir", dir, owner, ErrLocked)
		}
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	// The pid file only makes the "in use" message friendlier; the lock is bbolt's.
	_ = os.WriteFile(filepath.Join(dir, pidFileName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	d := &DB{db: db, dir: dir}
	if err := replayJournal(db, dir); err != nil {
		_ = d.Close()
		return nil, err
	}
	if o.SyncInterval > 0 {
		if d.j, err = newJournal(db, dir, o.SyncInterval); err != nil {
			_ = d.Close()
			return nil, err
		}
	}
	return d, nil
}

// Close commits what the journal holds and releases the file and its lock.
func (d *DB) Close() error {
	var jerr error
	if d.j != nil {
		jerr = d.j.close()
	}
	_ = os.Remove(filepath.Join(d.dir, pidFileName))
	return errors.Join(jerr, d.db.Close())
}

// Namespace returns the store of one namespace (one bbolt bucket).
func (d *DB) Namespace(name string) Store {
	return &bucket{db: d.db, j: d.j, name: []byte(name)}
}

type bucket struct {
	db   *bolt.DB
	j    *journal
	name []byte
}

var _ Store = (*bucket)(nil)

func (b *bucket) Get(_ context.Context, key string) ([]byte, error) {
	if b.j != nil {
		if c, ok := b.j.get(string(b.name), key); ok {
			if c.deleted {
				return nil, ErrNotFound
			}
			return bytes.Clone(c.value), nil
		}
	}
	var out []byte
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b.name)
		if bk == nil {
			return ErrNotFound
		}
		v := bk.Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		out = bytes.Clone(v)
		return nil
	})
	return out, err
}

func (b *bucket) Put(_ context.Context, key string, value []byte) error {
	if b.j != nil {
		return b.j.write(opPut, string(b.name), key, value)
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(b.name)
		if err != nil {
			return err
		}
		return bk.Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("state: put %s/%s: %w", b.name, key, err)
	}
	return nil
}

func (b *bucket) Delete(_ context.Context, key string) error {
	if b.j != nil {
		return b.j.write(opDelete, string(b.name), key, nil)
	}
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b.name)
		if bk == nil {
			return nil
		}
		return bk.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("state: delete %s/%s: %w", b.name, key, err)
	}
	return nil
}

func (b *bucket) Keys(_ context.Context, prefix string) ([]string, error) {
	var out []string
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(b.name)
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		p := []byte(prefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			out = append(out, string(k))
		}
		return nil
	})
	if err == nil && b.j != nil {
		out = b.j.keys(string(b.name), prefix, out)
	}
	return out, err
}

func (b *bucket) Namespace(name string) Store {
	return &bucket{db: b.db, j: b.j, name: append(append(bytes.Clone(b.name), '/'), name...)}
}
