package loadrun

import (
	"strings"
	"testing"
	"time"
)

func TestStallWatch(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		name      string
		wakes     []time.Duration // wake-ups after t0, in order
		wantTotal time.Duration
		wantCount int
	}{
		{name: "on time", wakes: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}},
		{name: "late, but less than a stall", wakes: []time.Duration{100 * time.Millisecond, 5 * time.Second}},
		// Woken 6m22s after the last wake-up instead of 100 ms: a stall of 6m21.9s.
		{name: "the machine stalled", wakes: []time.Duration{100 * time.Millisecond, 6*time.Minute + 22*time.Second + 100*time.Millisecond, 6*time.Minute + 22*time.Second + 200*time.Millisecond},
			wantTotal: 6*time.Minute + 21*time.Second + 900*time.Millisecond, wantCount: 1},
		{name: "twice", wakes: []time.Duration{10 * time.Second, 10*time.Second + 100*time.Millisecond, 30 * time.Second},
			wantTotal: 9900*time.Millisecond + 19800*time.Millisecond, wantCount: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newStallWatch(100*time.Millisecond, 5*time.Second, t0)
			for _, d := range tc.wakes {
				w.observe(at(d))
			}
			total, n := w.stalled()
			if total != tc.wantTotal || n != tc.wantCount {
				t.Errorf("stalled() = %v, %d; want %v, %d", total, n, tc.wantTotal, tc.wantCount)
			}
			if note := w.note(); (note != "") != (tc.wantCount > 0) {
				t.Errorf("note %q with %d stalls", note, tc.wantCount)
			}
		})
	}
}

// A run loop sees each stall once, whether the watch's goroutine or the loop woke first after
// it, and nothing when there was none.
func TestStallWatchDiscount(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)
	w := newStallWatch(100*time.Millisecond, 5*time.Second, t0)
	var seen time.Duration
	if d := w.discount(t0.Add(50*time.Millisecond), &seen); d != 0 {
		t.Fatalf("discount with no stall = %v", d)
	}
	// The loop wakes first after a stall of a minute.
	if d := w.discount(t0.Add(time.Minute+150*time.Millisecond), &seen); d != time.Minute {
		t.Fatalf("discount after a stall of a minute (the loop first) = %v", d)
	}
	if d := w.discount(t0.Add(time.Minute+200*time.Millisecond), &seen); d != 0 {
		t.Fatalf("the same stall discounted twice: %v", d)
	}
	// The watch's goroutine wakes first after a stall of 10 s; the loop sees it next.
	w.observe(t0.Add(70*time.Second + 300*time.Millisecond))
	if d := w.discount(t0.Add(70*time.Second+350*time.Millisecond), &seen); d != 10*time.Second {
		t.Fatalf("discount after a stall of 10 s (the goroutine first) = %v", d)
	}
	if note := w.note(); !strings.Contains(note, "stalled 2 times, 1m10s in all") {
		t.Errorf("note %q", note)
	}
}

func TestAddNote(t *testing.T) {
	for _, tc := range []struct{ note, more, want string }{
		{"", "", ""},
		{"gave up", "", "gave up"},
		{"", "stalled", "stalled"},
		{"gave up", "stalled", "gave up; stalled"},
	} {
		if got := addNote(tc.note, tc.more); got != tc.want {
			t.Errorf("addNote(%q, %q) = %q, want %q", tc.note, tc.more, got, tc.want)
		}
	}
}
