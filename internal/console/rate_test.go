package console

import (
	"reflect"
	"testing"
	"time"
)

func TestRateSeries(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		adds map[time.Duration]uint64 // offset from t0 → records
		at   time.Duration
		want []float64
	}{
		{"empty", nil, 0, []float64{0, 0, 0}},
		{"one bucket", map[time.Duration]uint64{0: 10, 5 * time.Second: 20}, 5 * time.Second, []float64{0, 0, 3}},
		{"three buckets", map[time.Duration]uint64{0: 10, 10 * time.Second: 20, 20 * time.Second: 30}, 20 * time.Second, []float64{1, 2, 3}},
		{"older ones slide out", map[time.Duration]uint64{0: 10, 10 * time.Second: 20, 20 * time.Second: 30}, 40 * time.Second, []float64{3, 0, 0}},
		{"all slide out", map[time.Duration]uint64{0: 10}, time.Hour, []float64{0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRateSeries(3, 10*time.Second)
			// In time order, as a counter sees them.
			for off := time.Duration(0); off <= tc.at; off += time.Second {
				if n, ok := tc.adds[off]; ok {
					r.Add(t0.Add(off), n)
				}
			}
			if got := r.PerSecond(t0.Add(tc.at)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("late record outside the window is ignored", func(t *testing.T) {
		r := NewRateSeries(3, 10*time.Second)
		r.Add(t0.Add(time.Minute), 10)
		r.Add(t0, 99)
		if got, want := r.PerSecond(t0.Add(time.Minute)), []float64{0, 0, 1}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}
