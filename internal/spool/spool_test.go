package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/state"
)

func open(t *testing.T, dir string, store state.Store, maxBytes int64) *Spool {
	t.Helper()
	s, err := Open(context.Background(), dir, maxBytes, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func records(from, n int) []*event.Record {
	out := make([]*event.Record, n)
	for i := range out {
		out[i] = &event.Record{ID: fmt.Sprint(from + i), Raw: fmt.Appendf(nil, `{"n": %d}`, from+i), ValidJSON: true}
	}
	return out
}

// replayAll replays s, acknowledging every batch with o, and returns the records in order.
func replayAll(t *testing.T, s *Spool, batch int, o event.Outcome) []*event.Record {
	t.Helper()
	var got []*event.Record
	err := s.Replay(context.Background(), batch, func(_ context.Context, recs []*event.Record, ack event.AckFunc) error {
		got = append(got, recs...)
		ack(o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func ids(recs []*event.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// A record comes back from the spool as it went in: every field a destination reads, Raw and
// Payload byte for byte (whitespace, escapes, bytes that are not UTF-8).
func TestRecordsComeBackAsTheyWentIn(t *testing.T) {
	dir, store := t.TempDir(), state.NewMemory().Namespace("s")
	in := []*event.Record{
		{ID: "a", Source: "ns", Kind: event.KindNetskopeAlert, Subtype: "dlp", ValidJSON: true,
			Raw: []byte(`{ "x" : "\u00e9 <&>" , "y":[1, 2] }`), Meta: map[string]string{"gateway": "gw1"},
			Time: time.Date(2026, 12, 6, 1, 2, 3, 4, time.UTC)},
		{ID: "b", Kind: event.KindCloudTrail, Raw: []byte(`{"message":"..."}`), Payload: []byte(`{"eventID":"e"}`)},
		{ID: "c", Raw: []byte("{\"bad\":\"\xff\xfe\"}")},
		{Raw: []byte(`{}`), Payload: []byte{}},
	}
	s := open(t, dir, store, 1<<20)
	if err := s.Append(in); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := replayAll(t, open(t, dir, store, 1<<20), 10, event.Acked)
	if len(got) != len(in) {
		t.Fatalf("got %d records back, want %d", len(got), len(in))
	}
	for i := range in {
		w, g := in[i], got[i]
		if g.ID != w.ID || g.Source != w.Source || g.Kind != w.Kind || g.Subtype != w.Subtype ||
			g.ValidJSON != w.ValidJSON || !g.Time.Equal(w.Time) || !reflect.DeepEqual(g.Meta, w.Meta) ||
			string(g.Raw) != string(w.Raw) || string(g.Payload) != string(w.Payload) || (g.Payload == nil) != (w.Payload == nil) {
			t.Errorf("record %d: got %+v, want %+v", i, g, w)
		}
	}
}

// Records appended in one run are replayed in the next, in order; once acknowledged they are
// deleted, and a third run replays nothing.
func TestReplayDeliversOnceAndDeletes(t *testing.T) {
	dir, store := t.TempDir(), state.NewMemory().Namespace("s")
	s := open(t, dir, store, 1<<30)
	for i := 0; i < 10; i++ {
		if err := s.Append(records(i*7, 7)); err != nil {
			t.Fatal(err)
		}
	}
	if got := replayAll(t, s, 5, event.Acked); len(got) != 0 {
		t.Fatalf("the run that wrote the records replayed %d of them", len(got))
	}
	s.Close()
	s = open(t, dir, store, 1<<30)
	if !s.Pending() {
		t.Fatal("Pending: false with 70 records spooled")
	}
	got := replayAll(t, s, 4, event.Acked)
	if want := ids(records(0, 70)); !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("replayed %v, want %v", ids(got), want)
	}
	if s.Size() != 0 || s.Pending() {
		t.Errorf("after a full replay: size %d, pending %v; want 0, false", s.Size(), s.Pending())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "segment-*")); len(left) != 0 {
		t.Errorf("segments left after a full replay: %v", left)
	}
	s.Close()
	if got := replayAll(t, open(t, dir, store, 1<<30), 4, event.Acked); len(got) != 0 {
		t.Errorf("a third run replayed %d records", len(got))
	}
}

// A replay stopped part-way (a nack: the destination stopped, the process is stopping) saves
// its progress up to the first batch not acknowledged; the next replay starts there.
func TestReplayResumesAfterTheLastAcknowledgedBatch(t *testing.T) {
	dir, store := t.TempDir(), state.NewMemory().Namespace("s")
	s := open(t, dir, store, 1<<30)
	if err := s.Append(records(0, 20)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, store, 1<<30)
	var acks []event.AckFunc
	err := s.Replay(context.Background(), 5, func(_ context.Context, recs []*event.Record, ack event.AckFunc) error {
		acks = append(acks, ack)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(acks) != 4 {
		t.Fatalf("%d batches, want 4", len(acks))
	}
	// Out of order: the third batch is acked before the second, the second is nacked.
	acks[0](event.Acked)
	acks[2](event.Acked)
	acks[1](event.Nacked)
	acks[3](event.Acked)
	s.Close()
	got := replayAll(t, open(t, dir, store, 1<<30), 100, event.Acked)
	if want := ids(records(5, 15)); !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("second replay sent %v, want %v", ids(got), want)
	}
}

// A run that crashed mid-write leaves a torn last line: the next replay skips it and sends the
// whole records; what the next run appends is whole too.
func TestTornLineIsSkipped(t *testing.T) {
	dir, store := t.TempDir(), state.NewMemory().Namespace("s")
	s := open(t, dir, store, 1<<30)
	if err := s.Append(records(0, 3)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	seg := filepath.Join(dir, segmentName(0))
	f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":"torn","raw":"{\"n\":`)
	f.Close()
	s = open(t, dir, store, 1<<30)
	if err := s.Append(records(3, 2)); err != nil {
		t.Fatal(err)
	}
	if got := replayAll(t, s, 10, event.Acked); !reflect.DeepEqual(ids(got), ids(records(0, 3))) {
		t.Fatalf("replayed %v, want the three whole records", ids(got))
	}
	s.Close()
	if got := replayAll(t, open(t, dir, store, 1<<30), 10, event.Acked); !reflect.DeepEqual(ids(got), ids(records(3, 2))) {
		t.Fatalf("next run replayed %v, want the two records appended after the torn line", ids(got))
	}
}

// Append refuses what would take the spool past its maximum and writes nothing of it; what the
// replay delivers frees room.
func TestAppendRefusesPastTheMaximum(t *testing.T) {
	dir, store := t.TempDir(), state.NewMemory().Namespace("s")
	s := open(t, dir, store, 1000)
	if err := s.Append(records(0, 10)); err != nil {
		t.Fatal(err)
	}
	size := s.Size()
	err := s.Append(records(10, 100))
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Append past the maximum: %v, want ErrFull", err)
	}
	if s.Size() != size {
		t.Errorf("a refused Append changed the size from %d to %d", size, s.Size())
	}
	s.Close()
	s = open(t, dir, store, 1000)
	replayAll(t, s, 3, event.Acked)
	if s.Size() != 0 {
		t.Errorf("size %d after the replay, want 0", s.Size())
	}
	if err := s.Append(records(10, 10)); err != nil {
		t.Errorf("Append after the replay freed the spool: %v", err)
	}
}

// Progress saved in a store that outlives the process: a restart during the replay, with the
// bbolt store, starts after what was acknowledged, and segments delivered are gone even if the
// process stopped before deleting them.
func TestReplayProgressSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	db, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	store := db.Namespace("spool/x")
	s := open(t, filepath.Join(dir, "spool"), store, 1<<30)
	s.Append(records(0, 4))
	s.Close()
	// A second run appends a segment of its own.
	s = open(t, filepath.Join(dir, "spool"), store, 1<<30)
	var mu sync.Mutex
	n := 0
	s.Replay(context.Background(), 2, func(_ context.Context, recs []*event.Record, ack event.AckFunc) error {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 1 {
			ack(event.Acked)
		}
		return nil
	})
	s.Append(records(4, 2))
	s.Close()
	db.Close()
	db, err = state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := replayAll(t, open(t, filepath.Join(dir, "spool"), db.Namespace("spool/x"), 1<<30), 10, event.Acked)
	if want := ids(records(2, 4)); !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("after the restart: replayed %v, want %v", ids(got), want)
	}
}
