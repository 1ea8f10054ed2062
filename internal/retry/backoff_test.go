package retry

import (
	"context"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		b        Backoff
		attempt  int
		after    time.Duration
		min, max time.Duration
	}{
		{"first retry", Backoff{100 * ms, time.Second}, 0, 0, 50 * ms, 100 * ms},
		{"doubles", Backoff{100 * ms, time.Second}, 1, 0, 100 * ms, 200 * ms},
		{"doubles again", Backoff{100 * ms, time.Second}, 3, 0, 400 * ms, 800 * ms},
		{"capped at max", Backoff{100 * ms, time.Second}, 10, 0, 500 * ms, time.Second},
		{"huge attempt", Backoff{100 * ms, time.Second}, 1 << 40, 0, 500 * ms, time.Second},
		{"retry-after longer", Backoff{100 * ms, time.Second}, 0, 5 * time.Second, 5 * time.Second, 5 * time.Second},
		{"retry-after shorter", Backoff{100 * ms, time.Second}, 3, ms, 400 * ms, 800 * ms},
		{"max below initial", Backoff{2 * time.Second, time.Second}, 5, 0, time.Second, 2 * time.Second},
		{"zero value", Backoff{}, 7, 0, 0, 0},
		{"zero value, retry-after", Backoff{}, 7, 3 * ms, 3 * ms, 3 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 500 {
				if d := tc.b.Delay(tc.attempt, tc.after); d < tc.min || d > tc.max {
					t.Fatalf("Delay(%d, %v) = %v, want within [%v, %v]", tc.attempt, tc.after, d, tc.min, tc.max)
				}
			}
		})
	}
}

// The jitter spreads the delays over [d/2, d]: both halves of the range are drawn.
func TestBackoffJitterSpreads(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: time.Second}
	var low, high bool
	for i := 0; i < 1000 && !(low && high); i++ {
		d := b.Delay(0, 0)
		low = low || d < 750*time.Millisecond
		high = high || d >= 750*time.Millisecond
	}
	if !low || !high {
		t.Fatalf("1000 delays did not reach both halves of [500ms, 1s] (low %v, high %v): no jitter", low, high)
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep(1ms) with a live context reported false")
	}
	if !Sleep(context.Background(), 0) {
		t.Fatal("Sleep(0) with a live context reported false")
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ended, 0) {
		t.Fatal("Sleep(0) with an ended context reported true")
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() { done <- Sleep(ctx, time.Hour) }()
	cancel()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("Sleep cut short by its context reported true")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Sleep(1h) did not return within 5s of its context's end")
	}
}
