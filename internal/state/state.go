// Package state keeps what must survive a restart: source positions (cursors) and small
// per-plugin values. Store is an interface so that a shared store (a JetStream key-value bucket,
// for scale-out) can replace the embedded bbolt file; nothing outside this package touches bbolt.
package state

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get for a key that has no value.
var ErrNotFound = errors.New("state: key not found")

// Store is a key-value store scoped to one namespace.
type Store interface {
	// Get returns the value of key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores value under key durably before returning.
	Put(ctx context.Context, key string, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Keys lists the keys that start with prefix, sorted.
	Keys(ctx context.Context, prefix string) ([]string, error)
	// Namespace returns a store whose keys live apart from this one's.
	Namespace(name string) Store
}
