// Package simfault holds what cloudsim's simulated services share to inject faults: the faults
// in force (swapped while a service runs), a seeded random source that draws them, and answers
// cut halfway. (A wait that ends with the request is internal/retry's Sleep.)
package simfault

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Box holds a service's faults of type F; safe for concurrent use.
type Box[F any] struct {
	mu sync.RWMutex
	f  F
}

// Set replaces the faults.
func (b *Box[F]) Set(f F) {
	b.mu.Lock()
	b.f = f
	b.mu.Unlock()
}

// Get returns the faults.
func (b *Box[F]) Get() F {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.f
}

// Rand is a random source safe for concurrent use. A service seeds it so that a run with a
// seed draws the same faults again.
type Rand struct {
	mu sync.Mutex
	r  *rand.Rand
}

// NewRand returns a source seeded with seed (0: a random seed); salt keeps services given the
// same seed from drawing the same sequence.
func NewRand(seed, salt uint64) *Rand {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &Rand{r: rand.New(rand.NewPCG(seed, seed^salt))}
}

// Float64 returns a number in [0, 1).
func (r *Rand) Float64() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r.Float64()
}

// Int64N returns a number in [0, n); n must be above 0.
func (r *Rand) Int64N(n int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r.Int64N(n)
}

// Hit draws whether a fault of the given rate happens; a rate of 0 or less draws nothing (a
// seeded run without that fault draws as before).
func (r *Rand) Hit(rate float64) bool { return rate > 0 && r.Float64() < rate }

// Delay is the wait a request gets: latency, plus slowDelay for a share slowRate of the
// requests (slowed says it was one of them). Nothing is drawn unless both are set.
func (r *Rand) Delay(latency, slowDelay time.Duration, slowRate float64) (d time.Duration, slowed bool) {
	if slowDelay > 0 && r.Hit(slowRate) {
		return latency + slowDelay, true
	}
	return latency, false
}

// WriteCut answers 200 with the first half of body and drops the connection, as a network
// that fails mid-answer does; the headers already set (Content-Length the whole body's) go
// with it. It does not return: it ends the handler with http.ErrAbortHandler, which net/http
// closes the connection on without logging.
func WriteCut(w http.ResponseWriter, body []byte) {
	if len(body) > 0 {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	panic(http.ErrAbortHandler)
}
