package plugintest

import (
	"maps"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
)

// Share is a plugin.Share a test sets, as if the cluster's members changed: every quota it
// gives is itself, of one fraction, and it counts the calls taken and the quotas asked for.
type Share struct {
	mu       sync.Mutex
	fraction float64
	changed  chan struct{}
	took     int
	keys     map[string]float64
}

var (
	_ plugin.Share = (*Share)(nil)
	_ plugin.Quota = (*Share)(nil)
)

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

// Quota implements plugin.Share: every quota is s.
func (s *Share) Quota(key string, perSecond float64) plugin.Quota {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = map[string]float64{}
	}
	s.keys[key] = perSecond
	return s
}

// Keys returns the quotas asked for: per second by key.
func (s *Share) Keys() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.keys)
}

// Took implements plugin.Quota.
func (s *Share) Took(time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.took++
}

// Taken returns the calls taken so far, on every quota.
func (s *Share) Taken() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.took
}

// Fraction implements plugin.Quota.
func (s *Share) Fraction() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fraction
}

// Changed implements plugin.Quota.
func (s *Share) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}
