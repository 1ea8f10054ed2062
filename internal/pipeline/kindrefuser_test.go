package pipeline

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/rules"
)

// refusingDest is a fakeDest that takes no UBA alert and no record without a kind, counting
// how often it is asked about each kind and subtype.
type refusingDest struct {
	*fakeDest
	mu    sync.Mutex
	asked map[string]int
}

var _ plugin.KindRefuser = (*refusingDest)(nil)

func (d *refusingDest) RefuseKind(kind event.Kind, subtype string) (string, bool) {
	d.mu.Lock()
	d.asked[string(kind)+" "+subtype]++
	d.mu.Unlock()
	switch {
	case kind == "":
		return "records of no kind", true
	case kind == event.KindNetskopeAlert && subtype == "uba":
		return "no UBA alerts", true
	}
	return "", false
}

func (d *refusingDest) askedTimes() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.asked)
}

// syncBuffer is a bytes.Buffer safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// kinded returns records with the given ids (each "<subtype>-<n>", netskope alerts; "none-<n>"
// has no kind), with a field n for rules.
func kinded(ids ...string) []*event.Record {
	out := make([]*event.Record, len(ids))
	for i, id := range ids {
		sub, _, _ := strings.Cut(id, "-")
		r := &event.Record{ID: id, Raw: []byte(fmt.Sprintf(`{"_id":%q,"n":%d}`, id, i)), Kind: event.KindNetskopeAlert, Subtype: sub}
		if sub == "none" {
			r.Kind, r.Subtype = "", ""
		}
		out[i] = r
	}
	return out
}

// A destination that refuses a kind never sees its records: they are counted as
// unsupported_by_destination on it, logged once per 10 s per route, and acknowledged; another
// route of the same source still gets them, and the destination is asked once per kind.
func TestRefusedKindsAreCountedAckedAndNotWritten(t *testing.T) {
	h := newHarness(t)
	even, err := rules.CompileExpr("even", `n % 2 == 0`)
	if err != nil {
		t.Fatal(err)
	}
	batches := [][]*event.Record{
		kinded("dlp-1", "uba-1", "uba-2", "none-1", "dlp-2", "malware-1"),
		kinded("uba-3", "dlp-3", "uba-4", "none-2"),
		kinded("uba-5", "uba-6"),
	}
	src := newScriptedSource(false, batches...)
	picky := &refusingDest{fakeDest: &fakeDest{}, asked: map[string]int{}}
	filtered := &refusingDest{fakeDest: &fakeDest{}, asked: map[string]int{}}
	all := &fakeDest{}
	var logs syncBuffer
	h.source("src", src)
	h.sources[0].Logger = slog.New(slog.NewTextHandler(&logs, nil)).With("plugin", "src")
	h.dest("picky", picky, fastOpts())
	h.dest("filtered", filtered, fastOpts())
	h.dest("all", all, fastOpts())
	h.route("src", "picky", nil)
	h.route("src", "filtered", even)
	h.route("src", "all", nil)
	h.start()
	src.waitAcks(t, len(batches))
	for i := range batches {
		if o, _ := src.outcome(i); o != event.Acked {
			t.Fatalf("batch %d: outcome %v, want acked", i, o)
		}
	}

	tests := []struct {
		name        string
		dest        *fakeDest
		delivered   []string
		unsupported float64
		filtered    float64
	}{
		{"picky", picky.fakeDest, []string{"dlp-1", "dlp-2", "dlp-3", "malware-1"}, 8, 0},
		// The rule runs first: a record it filters out is not asked about nor counted twice.
		// Even n: dlp-1 uba-2 dlp-2 | uba-3 uba-4 | uba-5.
		{"filtered", filtered.fakeDest, []string{"dlp-1", "dlp-2"}, 4, 6},
		{"all", all, []string{"dlp-1", "dlp-2", "dlp-3", "malware-1", "none-1", "none-2", "uba-1", "uba-2", "uba-3", "uba-4", "uba-5", "uba-6"}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.dest.delivered()
			slices.Sort(got)
			if !slices.Equal(got, tc.delivered) {
				t.Errorf("delivered %v, want %v", got, tc.delivered)
			}
			if v := h.counter("dropped", tc.name, string(plugin.ReasonUnsupported)); v != tc.unsupported {
				t.Errorf("unsupported_by_destination = %v, want %v", v, tc.unsupported)
			}
			if v := h.counter("dropped", tc.name, string(plugin.ReasonFiltered)); v != tc.filtered {
				t.Errorf("filtered = %v, want %v", v, tc.filtered)
			}
		})
	}
	if len(h.dlq.reasons()) != 0 {
		t.Errorf("refused kinds were dead-lettered: %v", h.dlq.reasons())
	}
	for k, n := range picky.askedTimes() {
		if n != 1 {
			t.Errorf("picky was asked %d times about %q, want once", n, k)
		}
	}
	if got := len(picky.askedTimes()); got != 4 {
		t.Errorf("picky was asked about %d kinds, want 4 (dlp, uba, malware, none): %v", got, picky.askedTimes())
	}
	// One line per route within 10 s, with the count of the first batch: the others wait for
	// the next line.
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "unsupported_by_destination") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d log lines about refused kinds, want one per route (2):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, want := range []string{"route=src->picky", "destination=picky", "records=3", "plugin=src"} {
		if !strings.Contains(lines[0]+lines[1], want) {
			t.Errorf("log lines lack %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
}

func TestLogEvery(t *testing.T) {
	var l logEvery
	steps := []struct {
		add       int
		wantCount int
		wantDue   bool
	}{
		{3, 3, true},  // the first line is due at once
		{2, 0, false}, // within 10 s: counted, not logged
		{4, 0, false},
	}
	for i, s := range steps {
		count, due := l.add(s.add)
		if count != s.wantCount || due != s.wantDue {
			t.Fatalf("step %d: add(%d) = %d, %v; want %d, %v", i, s.add, count, due, s.wantCount, s.wantDue)
		}
	}
	l.mu.Lock()
	l.last = l.last.Add(-11e9) // 11 s ago
	l.mu.Unlock()
	if count, due := l.add(1); count != 7 || !due {
		t.Fatalf("after 10 s: add(1) = %d, %v; want 7 (everything since the last line), true", count, due)
	}
}
