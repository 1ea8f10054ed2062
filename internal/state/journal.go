package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The journal keeps the writes made since the last commit to bbolt, with SyncInterval above 0.
// Each Put or Delete is appended to JournalName with one write(2) and no fsync, and kept in
// memory; every SyncInterval the writes are committed to bbolt in one transaction (with its
// fsync) and the journal starts again empty. A process killed at any moment leaves every
// write in the page cache, and the next Open replays them; a machine that crashes may lose
// the writes of the last interval (a torn or missing tail is recognised by its checksum and
// left out), and the store then holds the values of the last commit: older positions, so
// records are sent again, never skipped.
//
// The first value of a key is the exception: its journal record is synced to disk before Put
// returns (see write).
//
// Rotation: a commit renames the journal to journalOld before it writes to bbolt, and removes
// journalOld once the transaction is on disk; the writes made meanwhile go to a new journal.
// Open replays journalOld, then the journal.
const (
	JournalName = "state.journal"
	journalOld  = "state.journal.old"
)

// Options tune how the store writes.
type Options struct {
	// SyncInterval is how often the writes are committed to the state file with an fsync;
	// between commits they are in the journal, which a killed process keeps (the page cache)
	// and a machine crash may lose. 0 commits and fsyncs every write.
	SyncInterval time.Duration
}

// DefaultSyncInterval is the commit interval of the configuration's default.
const DefaultSyncInterval = time.Second

// Journal records: length of body (4 bytes), CRC-32C of body (4), body. A body: op, the
// bucket's name and the key (each length-prefixed with a uvarint), then the value.
const (
	opPut    byte = 'p'
	opDelete byte = 'd'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// change is one pending write of a key: its value, or its deletion.
type change struct {
	value   []byte
	deleted bool
	version uint64 // the journal write that set it
}

type pendingKey struct{ bucket, key string }

// journal is a DB's writes since its last commit.
type journal struct {
	db       *bolt.DB
	dir      string
	interval time.Duration

	mu      sync.Mutex
	f       *os.File
	pending map[pendingKey]change
	known   map[pendingKey]bool // keys written through the journal: whether they hold a value
	// sync makes the journal file durable, and its directory entry too when dir is set (once
	// per journal file).
	sync      func(f *os.File, dir bool) error
	dirSynced bool
	version   uint64
	err       error // a failed journal write or commit: every later write fails with it
	buf       []byte

	commitMu sync.Mutex // one commit at a time
	stop     chan struct{}
	done     chan struct{}
}

// replayJournal commits what the journal files of dir hold (the old one first) to db and
// removes them.
func replayJournal(db *bolt.DB, dir string) error {
	var recs []journalRecord
	for _, name := range []string{journalOld, JournalName} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("state: read %s: %w", name, err)
		}
		recs = append(recs, decodeJournal(b)...)
	}
	if len(recs) > 0 {
		err := db.Update(func(tx *bolt.Tx) error {
			for _, r := range recs {
				if err := r.apply(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("state: replay %s: %w", JournalName, err)
		}
	}
	for _, name := range []string{journalOld, JournalName} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state: remove %s: %w", name, err)
		}
	}
	return nil
}

type journalRecord struct {
	op          byte
	bucket, key []byte
	value       []byte
}

func (r journalRecord) apply(tx *bolt.Tx) error {
	if r.op == opDelete {
		bk := tx.Bucket(r.bucket)
		if bk == nil {
			return nil
		}
		return bk.Delete(r.key)
	}
	bk, err := tx.CreateBucketIfNotExists(r.bucket)
	if err != nil {
		return err
	}
	return bk.Put(r.key, r.value)
}

// decodeJournal returns the records of b up to the first that is cut short or does not match
// its checksum (a write a machine crash tore: nothing after it can be trusted).
func decodeJournal(b []byte) []journalRecord {
	var out []journalRecord
	for len(b) >= 8 {
		n := binary.LittleEndian.Uint32(b)
		sum := binary.LittleEndian.Uint32(b[4:])
		if uint64(n) > uint64(len(b)-8) {
			break
		}
		body := b[8 : 8+n]
		if crc32.Checksum(body, castagnoli) != sum {
			break
		}
		r, ok := decodeBody(body)
		if !ok {
			break
		}
		out = append(out, r)
		b = b[8+n:]
	}
	return out
}

func decodeBody(b []byte) (journalRecord, bool) {
	if len(b) < 1 || b[0] != opPut && b[0] != opDelete {
		return journalRecord{}, false
	}
	r := journalRecord{op: b[0]}
	b = b[1:]
	var ok bool
	if r.bucket, b, ok = lengthPrefixed(b); !ok {
		return r, false
	}
	if r.key, b, ok = lengthPrefixed(b); !ok {
		return r, false
	}
	r.value = b
	return r, true
}

func lengthPrefixed(b []byte) (field, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}

func newJournal(db *bolt.DB, dir string, interval time.Duration) (*journal, error) {
	f, err := os.OpenFile(filepath.Join(dir, JournalName), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", JournalName, err)
	}
	j := &journal{db: db, dir: dir, interval: interval, f: f, pending: map[pendingKey]change{}, known: map[pendingKey]bool{}, sync: syncFile,
		stop: make(chan struct{}), done: make(chan struct{})}
	go j.run()
	return j, nil
}

// run commits every interval until close.
func (j *journal) run() {
	defer close(j.done)
	t := time.NewTicker(j.interval)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			_ = j.commit() // a failure is kept in j.err and returned by the next write
		}
	}
}

// write appends one change to the journal and keeps it in memory.
func (j *journal) write(op byte, bucket, key string, value []byte) error {
	// What bbolt would refuse at the commit is refused here, as without a journal.
	switch {
	case key == "" && op == opDelete:
		return nil
	case bucket == "":
		return fmt.Errorf("state: put %s/%s: %w", bucket, key, bolterrors.ErrBucketNameRequired)
	case key == "":
		return fmt.Errorf("state: put %s/%s: %w", bucket, key, bolterrors.ErrKeyRequired)
	case len(key) > bolt.MaxKeySize:
		return fmt.Errorf("state: put %s/%.40s…: %w", bucket, key, bolterrors.ErrKeyTooLarge)
	case int64(len(value)) > bolt.MaxValueSize:
		return fmt.Errorf("state: put %s/%s: %w", bucket, key, bolterrors.ErrValueTooLarge)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	b := j.buf[:0]
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, op)
	b = binary.AppendUvarint(b, uint64(len(bucket)))
	b = append(b, bucket...)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = append(b, value...)
	binary.LittleEndian.PutUint32(b, uint32(len(b)-8))
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:], castagnoli))
	j.buf = b
	if _, err := j.f.Write(b); err != nil {
		j.err = fmt.Errorf("state: write %s: %w", JournalName, err)
		return j.err
	}
	k := pendingKey{bucket, key}
	if op == opPut && !j.exists(k) {
		// A key's first value is made durable at once: a first position (a source's start,
		// resolved from start_position) lost in a machine crash would be resolved again
		// later, and what came in between skipped. Later values only move a position on.
		if err := j.sync(j.f, !j.dirSynced); err != nil {
			j.err = fmt.Errorf("state: sync %s: %w", JournalName, err)
			return j.err
		}
		j.dirSynced = true
	}
	j.version++
	j.pending[k] = change{value: bytes.Clone(value), deleted: op == opDelete, version: j.version}
	j.known[k] = op == opPut
	return nil
}

// exists reports whether key holds a value, pending or committed; j.mu is held.
func (j *journal) exists(k pendingKey) bool {
	if v, ok := j.known[k]; ok {
		return v
	}
	var found bool
	_ = j.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(k.bucket)); b != nil {
			found = b.Get([]byte(k.key)) != nil
		}
		return nil
	})
	return found
}

// get returns the pending change of a key, if any.
func (j *journal) get(bucket, key string) (change, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	c, ok := j.pending[pendingKey{bucket, key}]
	return c, ok
}

// keys merges the pending changes of bucket under prefix into the committed keys.
func (j *journal) keys(bucket, prefix string, committed []string) []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	set := make(map[string]bool, len(committed))
	for _, k := range committed {
		set[k] = true
	}
	for pk, c := range j.pending {
		if pk.bucket != bucket || len(pk.key) < len(prefix) || pk.key[:len(prefix)] != prefix {
			continue
		}
		set[pk.key] = !c.deleted
	}
	out := committed[:0]
	for k, ok := range set {
		if ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// commit writes the pending changes to bbolt in one transaction (with fsync) and empties the
// journal.
func (j *journal) commit() error {
	j.commitMu.Lock()
	defer j.commitMu.Unlock()
	j.mu.Lock()
	if j.err != nil || len(j.pending) == 0 {
		err := j.err
		j.mu.Unlock()
		return err
	}
	snap := make(map[pendingKey]change, len(j.pending))
	for k, c := range j.pending {
		snap[k] = c
	}
	// The writes from here on go to a new journal; the old one is kept until bbolt holds them.
	if err := j.rotate(); err != nil {
		j.err = err
		j.mu.Unlock()
		return err
	}
	j.mu.Unlock()

	err := j.db.Update(func(tx *bolt.Tx) error {
		for k, c := range snap {
			r := journalRecord{op: opPut, bucket: []byte(k.bucket), key: []byte(k.key), value: c.value}
			if c.deleted {
				r.op = opDelete
			}
			if err := r.apply(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		if rerr := os.Remove(filepath.Join(j.dir, journalOld)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err != nil {
		j.err = fmt.Errorf("state: commit the journal to %s: %w", FileName, err)
		return j.err
	}
	for k, c := range snap {
		if cur, ok := j.pending[k]; ok && cur.version == c.version {
			delete(j.pending, k)
		}
	}
	return nil
}

// rotate renames the journal to journalOld and opens a new one; j.mu is held.
func (j *journal) rotate() error {
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("state: close %s: %w", JournalName, err)
	}
	if err := os.Rename(filepath.Join(j.dir, JournalName), filepath.Join(j.dir, journalOld)); err != nil {
		return fmt.Errorf("state: rotate %s: %w", JournalName, err)
	}
	f, err := os.OpenFile(filepath.Join(j.dir, JournalName), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("state: open %s: %w", JournalName, err)
	}
	j.f, j.dirSynced = f, false
	return nil
}

// syncFile syncs f and, with dir, the directory that holds it (the file's name).
func syncFile(f *os.File, dir bool) error {
	if err := f.Sync(); err != nil {
		return err
	}
	if !dir {
		return nil
	}
	d, err := os.Open(filepath.Dir(f.Name()))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// close stops the commits, commits what is pending and removes the journal.
func (j *journal) close() error {
	close(j.stop)
	<-j.done
	err := j.commit()
	j.mu.Lock()
	defer j.mu.Unlock()
	if cerr := j.f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil {
		if rerr := os.Remove(filepath.Join(j.dir, JournalName)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
		}
	}
	return err
}
