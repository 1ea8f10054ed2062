package netskope

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// limiter is a fixed one-second window per token and endpoint, like the
// API gateway in front of the v2 API: RateLimit-Limit is the requests
// allowed per second, RateLimit-Remaining what is left in this second,
// RateLimit-Reset the seconds until the window resets.
type limiter struct {
	limit int
	mu    sync.Mutex
	win   map[string]*window
	sweep int64
}

type window struct {
	sec   int64
	count int
}

type limitState struct {
	allowed   bool
	limit     int
	remaining int
	reset     int
}

func newLimiter(limit int) *limiter {
	return &limiter{limit: limit, win: make(map[string]*window)}
}

func resetAfter(now time.Time) int {
	next := time.Unix(now.Unix()+1, 0)
	s := int((next.Sub(now) + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

func (l *limiter) take(key string, now time.Time) limitState {
	if l.limit < 0 {
		return limitState{allowed: true, limit: -1}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	sec := now.Unix()
	if sec != l.sweep && len(l.win) > 4096 {
		for k, w := range l.win {
			if w.sec < sec {
				delete(l.win, k)
			}
		}
	}
	l.sweep = sec
	w := l.win[key]
	if w == nil {
		w = &window{sec: sec}
		l.win[key] = w
	}
	if w.sec != sec {
		w.sec, w.count = sec, 0
	}
	st := limitState{limit: l.limit, reset: resetAfter(now)}
	if w.count >= l.limit {
		return st // allowed false, remaining 0
	}
	w.count++
	st.allowed = true
	st.remaining = l.limit - w.count
	return st
}

func (l *limiter) peek(key string, now time.Time) limitState {
	if l.limit < 0 {
		return limitState{allowed: true, limit: -1}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := limitState{allowed: true, limit: l.limit, remaining: l.limit, reset: resetAfter(now)}
	if w := l.win[key]; w != nil && w.sec == now.Unix() {
		st.remaining = l.limit - w.count
		if st.remaining < 0 {
			st.remaining = 0
		}
	}
	return st
}

// setHeaders writes the headers with the exact casing Netskope documents.
func (l *limiter) setHeaders(h http.Header, st limitState) {
	if st.limit < 0 {
		return
	}
	h["RateLimit-Limit"] = []string{strconv.Itoa(st.limit)}
	h["RateLimit-Remaining"] = []string{strconv.Itoa(st.remaining)}
	h["RateLimit-Reset"] = []string{strconv.Itoa(st.reset)}
}
