package spool

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/state"
)

// Inspect counts the records a spool holds from the replay's saved progress, or from the start
// of the oldest segment without it; a missing spool holds nothing.
func TestInspect(t *testing.T) {
	ctx := context.Background()
	dir, store := t.TempDir(), state.NewMemory().Namespace("s")
	sp, err := Open(ctx, dir, 1<<20, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*event.Record
	for i := range 5 {
		recs = append(recs, &event.Record{Raw: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	if err := sp.Append(recs); err != nil {
		t.Fatal(err)
	}
	_ = sp.Close()

	// The next run replays the first batch of 2 and acknowledges it, and stops.
	sp, err = Open(ctx, dir, 1<<20, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := fmt.Errorf("stop")
	_ = sp.Replay(ctx, 2, func(_ context.Context, recs []*event.Record, ack event.AckFunc) error {
		ack(event.Acked)
		return stop
	})
	_ = sp.Close()

	tests := []struct {
		name    string
		dir     string
		store   state.Store
		records int
		from    bool
	}{
		{"with progress", dir, store, 3, false},
		{"without progress", dir, nil, 5, true},
		{"no spool", filepath.Join(dir, "none"), store, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Inspect(ctx, tc.dir, tc.store)
			if err != nil {
				t.Fatal(err)
			}
			if h.Records != tc.records || h.FromStart != tc.from {
				t.Fatalf("%+v, want %d records (from start %v)", h, tc.records, tc.from)
			}
			if tc.records > 0 && (h.Bytes == 0 || h.Segments != 1) {
				t.Fatalf("%+v: want the segment's bytes", h)
			}
		})
	}
}
