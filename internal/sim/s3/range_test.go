package s3

import "testing"

func TestParseRange(t *testing.T) {
	tests := []struct {
		rng         string
		size        int64
		first, last int64
		ok          bool
	}{
		{"bytes=0-0", 10, 0, 0, true},
		{"bytes=2-5", 10, 2, 5, true},
		{"bytes=2-", 10, 2, 9, true},
		{"bytes=8-100", 10, 8, 9, true},
		{"bytes=-3", 10, 7, 9, true},
		{"bytes=-30", 10, 0, 9, true},
		{"bytes=10-", 10, 10, 9, true}, // unsatisfiable: first >= size
		{"bytes=-0", 10, 10, 10, true}, // unsatisfiable
		{"bytes=5-2", 10, 0, 0, false}, // ignored
		{"bytes=0-1,4-5", 10, 0, 0, false},
		{"bytes=-", 10, 0, 0, false},
		{"items=0-1", 10, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			first, last, ok := parseRange(tt.rng, tt.size)
			if ok != tt.ok || ok && (first != tt.first || last != tt.last) {
				t.Fatalf("parseRange(%q, %d) = %d, %d, %v; want %d, %d, %v", tt.rng, tt.size, first, last, ok, tt.first, tt.last, tt.ok)
			}
		})
	}
}
