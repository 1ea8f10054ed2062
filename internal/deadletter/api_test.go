package deadletter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// seed puts n entries for dest: reason reasons[i%len(reasons)], time t0+i minutes, record
// {"n":i}, record id <dest>-<i>.
func seed(t *testing.T, s *Store, dest string, n int, reasons ...string) {
	t.Helper()
	var es []Entry
	for i := range n {
		e := Entry{Time: t0.Add(time.Duration(i) * time.Minute), Plugin: dest, Source: "src", Reason: reasons[i%len(reasons)], Error: "boom", ID: fmt.Sprintf("%s-%d", dest, i)}
		e.SetEvent(&event.Record{Raw: fmt.Appendf(nil, `{"n":%d}`, i), Kind: event.KindCloudTrail, Subtype: "AwsApiCall"})
		es = append(es, e)
	}
	if err := s.Put(dest, es); err != nil {
		t.Fatal(err)
	}
}

func recordIDs(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Entry.ID)
	}
	return out
}

func TestListFilters(t *testing.T) {
	s := openStore(t)
	seed(t, s, "lake", 4, "refused", "too_large")
	seed(t, s, "siem", 2, "refused")
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{"lake-0", "lake-1", "lake-2", "lake-3", "siem-0", "siem-1"}},
		{"destination", Filter{Destination: "siem"}, []string{"siem-0", "siem-1"}},
		{"reason", Filter{Reason: "too_large"}, []string{"lake-1", "lake-3"}},
		{"both", Filter{Destination: "lake", Reason: "refused"}, []string{"lake-0", "lake-2"}},
		{"since", Filter{Since: t0.Add(time.Minute)}, []string{"lake-1", "lake-2", "lake-3", "siem-1"}},
		{"until", Filter{Until: t0.Add(time.Minute)}, []string{"lake-0", "siem-0"}},
		{"no such destination", Filter{Destination: "nope"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := s.List(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := recordIDs(items); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	counts, err := s.Counts(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Count{
		{"lake", "refused", 2, t0, t0.Add(2 * time.Minute)},
		{"lake", "too_large", 2, t0.Add(time.Minute), t0.Add(3 * time.Minute)},
		{"siem", "refused", 2, t0, t0.Add(time.Minute)},
	}
	if !slices.Equal(counts, want) {
		t.Fatalf("counts %+v, want %+v", counts, want)
	}
}

// Ids do not change when entries are appended or others removed, and identical lines get
// ids of their own.
func TestIDsStable(t *testing.T) {
	s := openStore(t)
	seed(t, s, "lake", 3, "refused")
	before, err := s.List(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	seed(t, s, "lake", 2, "refused") // the same two first entries again: identical lines
	after, err := s.List(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 5 {
		t.Fatalf("%d entries, want 5", len(after))
	}
	for i := range before {
		if after[i].ID != before[i].ID {
			t.Errorf("entry %d: id %s became %s after an append", i, before[i].ID, after[i].ID)
		}
	}
	seen := map[string]bool{}
	for _, it := range after {
		if seen[it.ID] {
			t.Fatalf("id %s given twice", it.ID)
		}
		seen[it.ID] = true
		if !strings.HasPrefix(it.ID, "lake:") {
			t.Errorf("id %s does not name its destination", it.ID)
		}
		got, err := s.Get(it.ID)
		if err != nil || got.ID != it.ID || got.Entry.ID != it.Entry.ID {
			t.Errorf("Get(%s) = %+v, %v", it.ID, got, err)
		}
	}
	if _, err := s.Purge(Selection{IDs: []string{before[0].ID}}); err != nil {
		t.Fatal(err)
	}
	rest, err := s.List(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range rest {
		if it.ID == before[0].ID && it.Entry.ID != "lake-0" {
			t.Errorf("after the purge, id %s names another entry", it.ID)
		}
	}
	if _, err := s.Get("lake:0000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an unknown id: %v", err)
	}
	if _, err := s.Get("no-colon"); err == nil {
		t.Error("Get of a malformed id succeeded")
	}
}

func TestPurge(t *testing.T) {
	tests := []struct {
		name    string
		sel     func(items []Item) Selection
		removed int
		left    []string
		missing int
	}{
		{"ids", func(it []Item) Selection {
			return Selection{IDs: []string{it[1].ID, it[3].ID, "lake:ffffffffffffffff"}}
		}, 2, []string{"lake-0", "lake-2", "siem-0"}, 1},
		{"filter", func([]Item) Selection { return Selection{Filter: &Filter{Reason: "too_large"}} }, 2, []string{"lake-0", "lake-2", "siem-0"}, 0},
		{"destination", func([]Item) Selection { return Selection{Filter: &Filter{Destination: "lake"}} }, 4, []string{"siem-0"}, 0},
		{"all", func([]Item) Selection { return Selection{Filter: &Filter{}} }, 5, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			seed(t, s, "lake", 4, "refused", "too_large")
			seed(t, s, "siem", 1, "refused")
			items, _ := s.List(Filter{})
			res, err := s.Purge(tc.sel(items))
			if err != nil {
				t.Fatal(err)
			}
			if res.Removed != tc.removed || len(res.Missing) != tc.missing {
				t.Fatalf("result %+v, want %d removed, %d missing", res, tc.removed, tc.missing)
			}
			left, _ := s.List(Filter{})
			if got := recordIDs(left); !slices.Equal(got, tc.left) {
				t.Fatalf("left %v, want %v", got, tc.left)
			}
			if _, err := os.Stat(s.Path("lake")); (err == nil) != (tc.name != "destination" && tc.name != "all") {
				t.Errorf("lake's file: %v", err)
			}
			tmps, _ := filepath.Glob(filepath.Join(s.dir, ".*"))
			if len(tmps) > 0 {
				t.Errorf("temporary files left: %v", tmps)
			}
		})
	}
	if _, err := openStore(t).Purge(Selection{}); err == nil {
		t.Error("a purge of an empty selection succeeded")
	}
}

// Put goes on while purges rewrite the file: no entry Put wrote is lost, and the purge removes
// only what it selected.
func TestPurgeWhilePutting(t *testing.T) {
	s := openStore(t)
	seed(t, s, "lake", 50, "refused")
	const puts = 200
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range puts {
			e := Entry{Time: t0, Plugin: "lake", Reason: "new", ID: fmt.Sprintf("new-%d", i)}
			e.SetRecord([]byte(`{}`))
			if err := s.Put("lake", []Entry{e}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 20 {
		if _, err := s.Purge(Selection{Filter: &Filter{Reason: "refused"}}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if _, err := s.Purge(Selection{Filter: &Filter{Reason: "refused"}}); err != nil {
		t.Fatal(err)
	}
	items, err := s.List(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != puts {
		t.Fatalf("%d entries left, want the %d put during the purges", len(items), puts)
	}
	for i, it := range items {
		if it.Entry.ID != fmt.Sprintf("new-%d", i) {
			t.Fatalf("entry %d is %s", i, it.Entry.ID)
		}
	}
}

// A line that is not an entry is listed as unreadable, kept by a purge of other entries, never
// replayed, and removed by a purge of its id.
func TestUnreadableLines(t *testing.T) {
	s := openStore(t)
	seed(t, s, "lake", 1, "refused")
	f, err := os.OpenFile(s.Path("lake"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("{\"torn\n"); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	items, err := s.List(Filter{})
	if err != nil || len(items) != 2 || !items[1].Unreadable || items[1].Entry.Reason != ReasonUnreadable {
		t.Fatalf("list: %+v, %v", items, err)
	}
	res, err := s.Replay(context.Background(), Selection{IDs: []string{items[1].ID}}, func(context.Context, string, []*event.Record) []error {
		t.Error("an unreadable line was delivered")
		return nil
	})
	if err != nil || len(res.Failed()) != 1 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	if _, err := s.Purge(Selection{Filter: &Filter{Reason: "refused"}}); err != nil {
		t.Fatal(err)
	}
	if items, _ = s.List(Filter{}); len(items) != 1 || !items[0].Unreadable {
		t.Fatalf("after purging the others: %+v", items)
	}
	if _, err := s.Purge(Selection{IDs: []string{items[0].ID}}); err != nil {
		t.Fatal(err)
	}
	if items, _ = s.List(Filter{}); len(items) != 0 {
		t.Fatalf("after purging it: %+v", items)
	}
}

func TestReplay(t *testing.T) {
	tests := []struct {
		name string
		// verdict is the destination's answer for the record with id n.
		verdict   func(n string) error
		sel       Selection
		delivered []string
		kept      []string // record ids left in the store
		keptError string   // the error the kept entries hold then
		keptWhy   string   // and their reason
	}{
		{"all delivered", func(string) error { return nil }, Selection{Filter: &Filter{Destination: "lake"}},
			[]string{"lake-0", "lake-1", "lake-2"}, []string{"siem-0"}, "boom", "refused"},
		{"fails again", func(n string) error {
			if n == "lake-1" {
				return &Failure{Reason: "too_large", Err: errors.New("still too large")}
			}
			return nil
		}, Selection{Filter: &Filter{Destination: "lake"}},
			[]string{"lake-0", "lake-2"}, []string{"lake-1", "siem-0"}, "still too large", "too_large"},
		{"not a verdict", func(string) error { return context.Canceled }, Selection{Filter: &Filter{Destination: "lake"}},
			nil, []string{"lake-0", "lake-1", "lake-2", "siem-0"}, "boom", "refused"},
		{"filter by reason", func(string) error { return nil }, Selection{Filter: &Filter{Reason: "refused"}},
			[]string{"lake-0", "lake-1", "lake-2", "siem-0"}, nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			seed(t, s, "lake", 3, "refused")
			seed(t, s, "siem", 1, "refused")
			before, _ := s.List(Filter{})
			var delivered []string
			res, err := s.Replay(context.Background(), tc.sel, func(_ context.Context, dest string, recs []*event.Record) []error {
				errs := make([]error, len(recs))
				for i, r := range recs {
					if r.Kind != event.KindCloudTrail || r.Subtype != "AwsApiCall" || !r.ValidJSON || !strings.HasPrefix(r.ID, dest+"-") {
						t.Errorf("record handed on as %+v", r)
					}
					if errs[i] = tc.verdict(r.ID); errs[i] == nil {
						delivered = append(delivered, r.ID)
					}
				}
				return errs
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(delivered, tc.delivered) {
				t.Fatalf("delivered %v, want %v", delivered, tc.delivered)
			}
			if n := len(res.Outcomes) - len(res.Failed()); n != len(tc.delivered) {
				t.Errorf("%d outcomes delivered, want %d", n, len(tc.delivered))
			}
			left, _ := s.List(Filter{})
			if got := recordIDs(left); !slices.Equal(got, tc.kept) {
				t.Fatalf("kept %v, want %v", got, tc.kept)
			}
			for _, it := range left {
				if it.Destination != "siem" && (it.Entry.Error != tc.keptError || it.Entry.Reason != tc.keptWhy) {
					t.Errorf("kept %s with %q (%s), want %q (%s)", it.Entry.ID, it.Entry.Error, it.Entry.Reason, tc.keptError, tc.keptWhy)
				}
				// A kept entry keeps its id, even when written again with the new error.
				if !slices.ContainsFunc(before, func(b Item) bool { return b.ID == it.ID && b.Entry.ID == it.Entry.ID }) {
					t.Errorf("kept %s under a new id %s", it.Entry.ID, it.ID)
				}
			}
		})
	}
}

// A replay through a Sender: the destination refuses one record for good, another fails once
// transiently, and one is too large; the retried one is delivered, the others stay with their
// new errors.
func TestReplayThroughSender(t *testing.T) {
	s := openStore(t)
	var es []Entry
	for i, raw := range []string{`{"n":"ok"}`, `{"n":"refuse"}`, `{"n":"flaky"}`, `{"n":"` + strings.Repeat("x", 100) + `"}`} {
		e := Entry{Time: t0, Plugin: "lake", Reason: "refused", Error: "first", ID: fmt.Sprint(i)}
		e.SetRecord([]byte(raw))
		es = append(es, e)
	}
	if err := s.Put("lake", es); err != nil {
		t.Fatal(err)
	}
	d := &fakeDest{}
	snd := &Sender{Destination: d, MaxBytes: 64, Attempts: 3}
	res, err := s.Replay(context.Background(), Selection{Filter: &Filter{}}, func(ctx context.Context, _ string, recs []*event.Record) []error {
		return snd.Deliver(ctx, recs)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.got(); !slices.Equal(got, []string{`{"n":"ok"}`, `{"n":"flaky"}`}) {
		t.Fatalf("destination holds %v", got)
	}
	if len(res.Failed()) != 2 {
		t.Fatalf("outcomes %+v", res.Outcomes)
	}
	left, _ := s.List(Filter{})
	want := map[string]string{"1": "refused: InvalidData: refused (InvalidData): no", "3": "too_large: record of"}
	if len(left) != 2 {
		t.Fatalf("left %+v", left)
	}
	for _, it := range left {
		e := it.Entry
		got := e.Reason + ": " + e.Code + ": " + e.Error
		if e.Code == "" {
			got = e.Reason + ": " + e.Error
		}
		if !strings.HasPrefix(got, want[e.ID]) || e.Replays != 1 || e.Replayed == nil {
			t.Errorf("entry %s kept as %q (replays %d); want %q...", e.ID, got, e.Replays, want[e.ID])
		}
	}
}

// fakeDest refuses records holding "refuse" and fails "flaky" once, transiently.
type fakeDest struct {
	mu      sync.Mutex
	flaked  bool
	written []string
}

var _ plugin.Destination = (*fakeDest)(nil)

func (f *fakeDest) Write(_ context.Context, recs []*event.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	be := &plugin.BatchError{Failed: map[int]error{}}
	for i, r := range recs {
		switch {
		case strings.Contains(string(r.Raw), "refuse"):
			be.Failed[i] = &plugin.RefusedError{Code: "InvalidData", Err: errors.New("no")}
		case strings.Contains(string(r.Raw), "flaky") && !f.flaked:
			f.flaked = true
			be.Failed[i] = errors.New("connection reset")
		default:
			f.written = append(f.written, string(r.Raw))
		}
	}
	if len(be.Failed) > 0 {
		return be
	}
	return nil
}

func (f *fakeDest) Close(context.Context) error { return nil }

func (f *fakeDest) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.written)
}

func TestSenderFatalStopsTheRest(t *testing.T) {
	n := 0
	d := fatalDest{&n}
	snd := &Sender{Destination: d, MaxRecords: 1}
	errs := snd.Deliver(context.Background(), []*event.Record{{Raw: []byte(`{}`)}, {Raw: []byte(`{}`)}})
	for i, err := range errs {
		var f *Failure
		if !errors.As(err, &f) || f.Reason != "" || !strings.Contains(err.Error(), "stopped") {
			t.Errorf("record %d: %v", i, err)
		}
	}
	if d.calls() != 1 {
		t.Errorf("%d writes after a fatal error, want 1", d.calls())
	}
}

type fatalDest struct{ n *int }

func (f fatalDest) Write(context.Context, []*event.Record) error {
	*f.n++
	return plugin.Fatal(errors.New("bad credentials"))
}
func (fatalDest) Close(context.Context) error { return nil }
func (f fatalDest) calls() int                { return *f.n }

func TestEventRoundTrip(t *testing.T) {
	ts := t0.Add(time.Second)
	for _, r := range []*event.Record{
		{Raw: []byte(`{"a":1}`), ID: "x", Source: "s", Kind: event.KindCloudTrail, Subtype: "AwsApiCall", Time: ts, Meta: map[string]string{"k": "v"}, Payload: []byte(`{"b":2}`)},
		{Raw: []byte("not json"), Payload: []byte("\xff")},
		{Raw: []byte("\xff\xfe")},
	} {
		var e Entry
		e.SetEvent(r)
		got, err := e.Event()
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Raw) != string(r.Raw) || string(got.Payload) != string(r.Payload) || got.ID != r.ID || got.Source != r.Source ||
			got.Kind != r.Kind || got.Subtype != r.Subtype || !got.Time.Equal(r.Time) || fmt.Sprint(got.Meta) != fmt.Sprint(r.Meta) {
			t.Errorf("round trip of %+v gave %+v", r, got)
		}
		if got.ValidJSON != (r.Raw[0] == '{') {
			t.Errorf("ValidJSON %v for %q", got.ValidJSON, r.Raw)
		}
	}
}
