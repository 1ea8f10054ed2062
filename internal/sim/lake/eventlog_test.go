package lake

import (
	"strconv"
	"testing"
)

func TestEventLog(t *testing.T) {
	var l eventLog
	next, oldest := 0, 0
	add := func(n int) {
		evs := make([]StoredEvent, n)
		for i := range evs {
			evs[i].ID = strconv.Itoa(next)
			next++
		}
		l.append(evs)
	}
	check := func() {
		t.Helper()
		if l.len() != next-oldest {
			t.Fatalf("len %d, want %d", l.len(), next-oldest)
		}
		want := oldest
		l.each(func(e *StoredEvent) bool {
			if e.ID != strconv.Itoa(want) {
				t.Fatalf("event %s, want %d", e.ID, want)
			}
			want++
			return true
		})
		if want != next {
			t.Fatalf("iterated up to %d, want %d", want, next)
		}
	}
	steps := []struct{ add, drop int }{
		{10, 0}, {0, 3}, {logChunk, 0}, {0, logChunk - 1}, {3 * logChunk, 5}, {0, 2 * logChunk},
		{1, 0}, {0, 1000}, {logChunk + 7, 0}, {0, 1 << 30},
	}
	for _, s := range steps {
		add(s.add)
		d := min(s.drop, l.len())
		l.dropOldest(s.drop)
		oldest += d
		check()
	}
	if len(l.chunks) > 2 {
		t.Errorf("%d chunks kept for an empty log", len(l.chunks))
	}
	// Stopping early.
	add(5)
	n := 0
	l.each(func(*StoredEvent) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("each visited %d", n)
	}
}
