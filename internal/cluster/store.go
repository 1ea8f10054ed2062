package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
)

// kvStore is a state.Store over a JetStream key-value bucket. A namespace path and a key map to
// the bucket key "<ns1>.<ns2>.<key>", each part escaped into one token, so Keys lists one
// namespace's keys with the filter "<ns1>.<ns2>.*" and never a nested namespace's.
//
// Fencing: revs holds, for every bucket key, the revision this process last read or wrote (0:
// it believes the key absent). Put is an Update on that revision (a Create on 0), so a write by
// another process since then makes this one's Put fail with plugin.ErrNotOwner.
type kvStore struct {
	kv     jetstream.KeyValue
	revs   *revisions
	prefix string // "" at the root, else the escaped namespaces each followed by '.'
	path   string // the namespaces as given, for errors
}

var _ state.Store = (*kvStore)(nil)

type revisions struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (r *revisions) get(k string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[k]
}

func (r *revisions) set(k string, rev uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rev == 0 {
		delete(r.m, k)
		return
	}
	r.m[k] = rev
}

func newKVStore(kv jetstream.KeyValue) *kvStore {
	return &kvStore{kv: kv, revs: &revisions{m: map[string]uint64{}}}
}

func (s *kvStore) full(key string) string { return s.prefix + escape(key) }

func (s *kvStore) name(key string) string {
	if s.path == "" {
		return key
	}
	return s.path + "/" + key
}

// Namespace implements state.Store.
func (s *kvStore) Namespace(name string) state.Store {
	path := name
	if s.path != "" {
		path = s.path + "/" + name
	}
	return &kvStore{kv: s.kv, revs: s.revs, prefix: s.prefix + escape(name) + ".", path: path}
}

// Get implements state.Store; it records the key's revision for the next Put.
func (s *kvStore) Get(ctx context.Context, key string) ([]byte, error) {
	k := s.full(key)
	e, err := s.kv.Get(ctx, k)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		s.revs.set(k, 0)
		return nil, state.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("state: get %s from bucket %s: %w", s.name(key), s.kv.Bucket(), err)
	}
	s.revs.set(k, e.Revision())
	return bytes.Clone(e.Value()), nil
}

// Put implements state.Store as a compare-and-set on the revision last read or written.
func (s *kvStore) Put(ctx context.Context, key string, value []byte) error {
	if key == "" {
		return errors.New("state: put: key required")
	}
	k := s.full(key)
	rev := s.revs.get(k)
	var (
		nrev uint64
		err  error
	)
	if rev == 0 {
		nrev, err = s.kv.Create(ctx, k, bytes.Clone(value))
	} else {
		nrev, err = s.kv.Update(ctx, k, bytes.Clone(value), rev)
	}
	if err != nil {
		if casRefused(err) {
			return fmt.Errorf("state: put %s: another process wrote it after this one last read it (revision %d): %w (%v)", s.name(key), rev, plugin.ErrNotOwner, err)
		}
		return fmt.Errorf("state: put %s in bucket %s: %w", s.name(key), s.kv.Bucket(), err)
	}
	s.revs.set(k, nrev)
	return nil
}

// Delete implements state.Store; a key this process has read or written is deleted only if
// nobody wrote it since (else plugin.ErrNotOwner).
func (s *kvStore) Delete(ctx context.Context, key string) error {
	k := s.full(key)
	var opts []jetstream.KVDeleteOpt
	rev := s.revs.get(k)
	if rev != 0 {
		opts = append(opts, jetstream.LastRevision(rev))
	}
	if err := s.kv.Delete(ctx, k, opts...); err != nil {
		if casRefused(err) {
			return fmt.Errorf("state: delete %s: another process wrote it after this one last read it (revision %d): %w (%v)", s.name(key), rev, plugin.ErrNotOwner, err)
		}
		return fmt.Errorf("state: delete %s in bucket %s: %w", s.name(key), s.kv.Bucket(), err)
	}
	s.revs.set(k, 0)
	return nil
}

// Keys implements state.Store.
func (s *kvStore) Keys(ctx context.Context, prefix string) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kl, err := s.kv.ListKeysFiltered(ctx, s.prefix+"*")
	if err != nil {
		return nil, fmt.Errorf("state: list keys of %q in bucket %s: %w", s.path, s.kv.Bucket(), err)
	}
	defer func() { _ = kl.Stop() }()
	var out []string
	for k := range kl.Keys() {
		tok, ok := strings.CutPrefix(k, s.prefix)
		if !ok || strings.Contains(tok, ".") {
			continue
		}
		key, err := unescape(tok)
		if err != nil {
			continue // not written by this store
		}
		if strings.HasPrefix(key, prefix) {
			out = append(out, key)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("state: list keys of %q in bucket %s: %w", s.path, s.kv.Bucket(), err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// casRefused tells whether err is a compare-and-set refusal: the key exists (Create) or has
// another revision (Update, Delete).
func casRefused(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
