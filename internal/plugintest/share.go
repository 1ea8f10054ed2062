package plugintest

import (
	"sync"

	"github.com/logshipper/logshipper/internal/plugin"
)

// Share is a plugin.Share a test sets, as if the cluster's members changed.
type Share struct {
	mu       sync.Mutex
	fraction float64
	changed  chan struct{}
}

var _ plugin.Share = (*Share)(nil)

// NewShare returns a Share of fraction.
func NewShare(fraction float64) *Share {
	return &Share{fraction: fraction, changed: make(chan struct{})}
}

// Set changes the fraction and closes the channel Changed returned.
func (s *Share) Set(fraction float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fraction = fraction
	close(s.changed)
	s.changed = make(chan struct{})
}

// Fraction implements plugin.Share.
func (s *Share) Fraction() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fraction
}

// Changed implements plugin.Share.
func (s *Share) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}
