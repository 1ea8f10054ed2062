package state

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
)

// Memory is a Store held in memory, for tests and for `validate --check`, which must not take
// the data directory's lock from a running process.
type Memory struct {
	mu   sync.Mutex
	data map[string][]byte
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{data: map[string][]byte{}} }

// Namespace returns the store of one namespace.
func (m *Memory) Namespace(name string) Store { return &memNS{m: m, prefix: name + "\x00"} }

type memNS struct {
	m      *Memory
	prefix string
}

var _ Store = (*memNS)(nil)

func (n *memNS) Get(_ context.Context, key string) ([]byte, error) {
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	v, ok := n.m.data[n.prefix+key]
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (n *memNS) Put(_ context.Context, key string, value []byte) error {
	if key == "" {
		return errors.New("state: put: key required") // as bbolt, so tests on Memory catch it
	}
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	n.m.data[n.prefix+key] = bytes.Clone(value)
	return nil
}

func (n *memNS) Delete(_ context.Context, key string) error {
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	delete(n.m.data, n.prefix+key)
	return nil
}

func (n *memNS) Keys(_ context.Context, prefix string) ([]string, error) {
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	var out []string
	for k := range n.m.data {
		if rest, ok := strings.CutPrefix(k, n.prefix); ok && strings.HasPrefix(rest, prefix) && !strings.Contains(rest, "\x00") {
			out = append(out, rest)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (n *memNS) Namespace(name string) Store {
	return &memNS{m: n.m, prefix: n.prefix + name + "\x00"}
}
