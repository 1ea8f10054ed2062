package state

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/logshipper/logshipper/internal/event"
)

// Cursor is the saved position of one source partition. A source calls Track with the position
// just after each batch it publishes, and gets the batch's AckFunc. The cursor saves a position
// only when that batch and every batch tracked before it were acknowledged, so acks that arrive
// out of order never move the position past a record still in flight. A nacked batch is a wall
// for the life of this Cursor: batches before it still move the position up to it (so a stop
// under backpressure, which nacks the batch being published, saves what was delivered before
// it), and nothing at or after it is saved; a restart reads from there again. A failed save
// pins the cursor where it was.
type Cursor struct {
	store Store
	key   string

	mu       sync.Mutex
	next     uint64            // sequence number of the next tracked batch
	floor    uint64            // every batch below floor is acknowledged and saved
	done     map[uint64][]byte // acknowledged batches at or above floor, with their positions
	wall     uint64            // the lowest nacked sequence number; noWall when none
	pinned   bool              // a save failed: nothing more is saved
	saveErr  error
	onCommit func(pos []byte)
}

// NewCursor returns the cursor stored under key in store.
func NewCursor(store Store, key string) *Cursor {
	return &Cursor{store: store, key: key, done: map[uint64][]byte{}, wall: noWall}
}

const noWall = ^uint64(0)

// OnCommit registers f to be called with every position saved (for metrics and logs).
func (c *Cursor) OnCommit(f func(pos []byte)) { c.onCommit = f }

// Load returns the last saved position, or nil when nothing was saved yet.
func (c *Cursor) Load(ctx context.Context) ([]byte, error) {
	v, err := c.store.Get(ctx, c.key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cursor %s: %w", c.key, err)
	}
	return v, nil
}

// Track registers a batch whose last record ends at pos and returns the function that
// acknowledges it. Batches must be tracked in the order the source read them.
func (c *Cursor) Track(pos []byte) event.AckFunc {
	c.mu.Lock()
	seq := c.next
	c.next++
	c.mu.Unlock()
	return func(o event.Outcome) { c.ack(seq, pos, o) }
}

// Pending is the number of tracked batches not yet saved.
func (c *Cursor) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int(c.next - c.floor)
}

// Mark returns a mark of the batches tracked so far, for Saved.
func (c *Cursor) Mark() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next
}

// Saved says whether every batch tracked before mark (from Mark) is saved. Batches tracked
// later do not delay it, so a caller waiting for it is never starved by a busy producer.
func (c *Cursor) Saved(mark uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.floor >= mark
}

// Err returns the last error met while saving, if any.
func (c *Cursor) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.saveErr
}

func (c *Cursor) ack(seq uint64, pos []byte, o event.Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o != event.Acked {
		c.wall = min(c.wall, seq)
	} else if seq < c.wall {
		c.done[seq] = pos
	}
	if c.pinned {
		return
	}
	floor := c.floor
	var latest []byte
	for floor < c.wall {
		p, ok := c.done[floor]
		if !ok {
			break
		}
		floor++
		latest = p
	}
	if latest == nil {
		return
	}
	// Saving under the lock keeps saved positions in order; a put is one bbolt transaction.
	if err := c.store.Put(context.Background(), c.key, latest); err != nil {
		// Never skip a position we failed to save. floor stays where it was: those batches
		// are not saved, and Pending still counts them.
		c.saveErr = err
		c.pinned = true
		return
	}
	for s := c.floor; s < floor; s++ {
		delete(c.done, s)
	}
	c.floor = floor
	if c.onCommit != nil {
		c.onCommit(latest)
	}
}
