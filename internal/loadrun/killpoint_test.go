package loadrun

import (
	"math/rand/v2"
	"testing"
)

// TestKillPointsSpreadOverTheRun checks that a crash run faster than its kill delays still
// gets every kill it asks for, each with records delivered before it and after it.
func TestKillPointsSpreadOverTheRun(t *testing.T) {
	tests := []struct {
		name  string
		want  int64
		kills int
	}{
		{"the crash run of the benchmarks", 200_000, 20},
		{"a million records", 1_000_000, 20},
		{"one kill", 60_000, 1},
		{"more kills than records", 10, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(50) {
				rnd := rand.New(rand.NewPCG(seed, 0x10ad))
				got, points := int64(0), 0
				for left := tc.kills; left > 0; left-- {
					p := killPoint(rnd, got, tc.want, left)
					if p <= got {
						t.Fatalf("seed %d: kill point %d at %d delivered: not after it", seed, p, got)
					}
					if p >= tc.want {
						break // the run ends before this kill
					}
					got = p
					points++
				}
				if tc.want >= int64(2*tc.kills) && points != tc.kills {
					t.Fatalf("seed %d: %d of %d kills land before the end of %d records", seed, points, tc.kills, tc.want)
				}
				if tc.want >= int64(2*tc.kills) && got > tc.want-tc.want/int64(4*(tc.kills+1)) {
					t.Fatalf("seed %d: the last kill at %d of %d leaves the run no records of its own", seed, got, tc.want)
				}
			}
		})
	}
}
