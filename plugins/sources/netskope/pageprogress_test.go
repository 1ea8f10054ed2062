package netskope

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// chunks splits a page's records into batches, each with the elements of the page it
// delivers: its records' and the invalid or delivered ones before them, and for the last one
// the rest of the page.
func TestChunksOfAPage(t *testing.T) {
	recs := func(n int) []*event.Record {
		out := make([]*event.Record, n)
		for i := range out {
			out[i] = &event.Record{ID: strconv.Itoa(i)}
		}
		return out
	}
	tests := []struct {
		name  string
		recs  int
		at    []int // each record's element; nil: 0, 1, 2...
		elems int   // the page's elements
		size  int
		sizes []int
		spans spans // each chunk's [from, to)
	}{
		{name: "one chunk", recs: 5, elems: 5, size: 10, sizes: []int{5}, spans: spans{{0, 5}}},
		{name: "exactly one chunk", recs: 10, elems: 10, size: 10, sizes: []int{10}, spans: spans{{0, 10}}},
		{name: "three chunks", recs: 25, elems: 25, size: 10, sizes: []int{10, 10, 5}, spans: spans{{0, 10}, {10, 20}, {20, 25}}},
		{name: "invalid elements between records", recs: 4, at: []int{0, 2, 3, 7}, elems: 9, size: 2, sizes: []int{2, 2}, spans: spans{{0, 3}, {3, 9}}},
		{name: "elements delivered before", recs: 4, at: []int{30, 31, 40, 41}, elems: 50, size: 3, sizes: []int{3, 1}, spans: spans{{0, 41}, {41, 50}}},
		{name: "no records", recs: 0, elems: 3, size: 10, sizes: []int{0}, spans: spans{{0, 3}}},
		{name: "no chunk size", recs: 7, elems: 7, size: 0, sizes: []int{7}, spans: spans{{0, 7}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := recs(tc.recs)
			at := tc.at
			if at == nil {
				for i := range rs {
					at = append(at, i)
				}
			}
			var sizes []int
			var got spans
			var joined []*event.Record
			for _, c := range chunks(rs, at, tc.size, tc.elems) {
				sizes = append(sizes, len(c.recs))
				got = append(got, [2]int{c.from, c.to})
				joined = append(joined, c.recs...)
			}
			if !slices.Equal(sizes, tc.sizes) || !slices.Equal(got, tc.spans) {
				t.Errorf("chunks of %v records, elements %v; want %v, %v", sizes, got, tc.sizes, tc.spans)
			}
			if !slices.Equal(joined, rs) {
				t.Error("the chunks do not hold the page's records in order")
			}
		})
	}
}

// spans is a set of a page's elements: ranges added merge with those they touch, and a saved
// position's progress reads back as the set, or as nothing when it is not well formed.
func TestSpans(t *testing.T) {
	var s spans
	for _, r := range [][2]int{{10, 20}, {30, 40}, {0, 5}, {20, 25}, {5, 10}, {50, 50}, {35, 45}} {
		s = s.add(r[0], r[1])
	}
	if want := (spans{{0, 25}, {30, 45}}); !slices.Equal(s, want) {
		t.Fatalf("set %v; want %v", s, want)
	}
	for i, want := range map[int]bool{0: true, 24: true, 25: false, 29: false, 30: true, 44: true, 45: false, -1: false} {
		if s.has(i) != want {
			t.Errorf("has(%d) = %v; want %v", i, !want, want)
		}
	}
	if done, more := s.prefix(); done != 25 || !slices.Equal(more, spans{{30, 45}}) || s.count() != 40 {
		t.Errorf("prefix %d, more %v, count %d; want 25, [[30 45]], 40", done, more, s.count())
	}
	for _, tc := range []struct {
		pos  position
		want spans
	}{
		{position{Done: 25, More: spans{{30, 45}}}, spans{{0, 25}, {30, 45}}},
		{position{Done: 0, More: spans{{30, 45}}}, spans{{30, 45}}},
		{position{Done: 7}, spans{{0, 7}}},
		{position{}, nil},
		{position{Done: 25, More: spans{{20, 45}}}, nil},          // overlapping
		{position{Done: 5, More: spans{{30, 45}, {10, 20}}}, nil}, // not sorted
		{position{Done: 5, More: spans{{30, 30}}}, nil},           // empty
		{position{Done: -1}, nil},
	} {
		if got := tc.pos.delivered(); !slices.Equal(got, tc.want) {
			t.Errorf("delivered of done %d, more %v = %v; want %v", tc.pos.Done, tc.pos.More, got, tc.want)
		}
	}
}

// hwmField is the timestamp_hwm of an answer.
var hwmField = regexp.MustCompile(`"timestamp_hwm":(\d+)`)

// A page of 100 records goes out in chunks of 10; chunks 0–2 and, out of order, 4 are
// acknowledged, then the shipper stops with the rest in flight (as a kill leaves them). The
// position saved says elements 0–29 and 40–49 are delivered (not 30–39: chunk 3 is not), and
// what a restart publishes depends on the page the resend answers and the position it reads:
//
//   - the same page: only its 60 records not acknowledged;
//   - the same records with another timestamp_hwm: the same 60 (the records skipped are
//     byte for byte those acknowledged, in the same places);
//   - a page whose first chunk differs (the part fingerprint), or one of whose records
//     acknowledged differs (their sum): all 100;
//   - a page where a record not acknowledged differs: its 60 records not acknowledged;
//   - progress saved by the version before pages streamed (its part the whole page's
//     fingerprint, no sum): its 60 records not acknowledged;
//   - a position an earlier version saved (no progress within the page): all 100.
func TestRestartSkipsTheRecordsOfThePageAcknowledged(t *testing.T) {
	tests := []struct {
		name string
		// before runs before the restart, on the world and the store.
		before func(t *testing.T, w *world, store state.Store)
		want   int // records the restart publishes
		edited int // of them, how many differ from those in flight at the stop
	}{
		{name: "the same page", want: 60},
		{name: "the same records, another timestamp_hwm", want: 60, before: func(t *testing.T, w *world, _ state.Store) {
			w.resendEdited(t, func(body []byte) []byte {
				return hwmField.ReplaceAllFunc(body, func(m []byte) []byte {
					n, _ := strconv.ParseInt(string(hwmField.FindSubmatch(m)[1]), 10, 64)
					return fmt.Appendf(nil, `"timestamp_hwm":%d`, n+1)
				})
			})
		}},
		{name: "a record of the first chunk differs", want: 100, before: func(t *testing.T, w *world, _ state.Store) {
			w.resendEdited(t, func(body []byte) []byte { return editElement(t, body, 3) })
		}},
		{name: "a record acknowledged out of order differs", want: 100, before: func(t *testing.T, w *world, _ state.Store) {
			w.resendEdited(t, func(body []byte) []byte { return editElement(t, body, 45) })
		}},
		{name: "a record not acknowledged differs", want: 60, edited: 1, before: func(t *testing.T, w *world, _ state.Store) {
			w.resendEdited(t, func(body []byte) []byte { return editElement(t, body, 35) })
		}},
		{name: "progress saved by the version before pages streamed", want: 60, before: func(t *testing.T, w *world, store state.Store) {
			// Its part is the whole page's fingerprint, and it has no sum.
			req, _ := http.NewRequest(http.MethodGet, w.srv.URL+endpoint{"alerts", "dlp"}.path()+"?index="+
				indexName(defaultIndexPrefix("ns-test"), endpoint{"alerts", "dlp"})+"&operation="+opResend, nil)
			req.Header.Set(TokenHeader, testToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			a, err := parseAnswer(body)
			if err != nil || len(a.elems) != 100 {
				t.Fatalf("the page in flight: %v, %.200s", err, body)
			}
			editPosition(t, store, "position/alerts/dlp", func(pos map[string]any) {
				pos["part"] = fingerprint(a)
				delete(pos, "sum")
			})
		}},
		{name: "a position of an earlier version", want: 100, before: func(t *testing.T, _ *world, store state.Store) {
			ctx := context.Background()
			raw, err := store.Get(ctx, "position/alerts/dlp")
			if err != nil {
				t.Fatal(err)
			}
			var old map[string]any
			if err := json.Unmarshal(raw, &old); err != nil {
				t.Fatal(err)
			}
			delete(old, "part")
			delete(old, "done")
			delete(old, "more")
			raw, _ = json.Marshal(old)
			if err := store.Put(ctx, "position/alerts/dlp", raw); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
				"alerts/dlp": {Backlog: 100, BacklogSpan: 10 * time.Minute},
			}})
			cfg := w.config(nil, []string{"dlp"})
			store := state.NewMemory().Namespace("p")

			s1, _ := newSource(t, cfg, store)
			s1.tune.chunk = 10
			pub1 := plugintest.NewPublisher(plugintest.Manual)
			stop1 := runFor(t, fast(s1, 100), pub1)
			pub1.WaitUntil(t, 0, "the page's 10 chunks", func() bool { return len(pub1.Batches()) == 10 })
			bs := pub1.Batches()
			for _, i := range []int{0, 1, 4, 2} {
				bs[i].Ack()
			}
			var saved position
			plugintest.Eventually(t, 0, "the progress of chunks 0-2 and 4 saved", func() bool {
				saved = savedPosition(t, store, "alerts/dlp")
				return saved.Done == 30 && len(saved.More) > 0
			})
			if saved.State != statePending || !slices.Equal(saved.More, spans{{40, 50}}) || saved.Part == "" {
				t.Fatalf("saved %+v with chunks 0-2 and 4 of 10 acknowledged; want pending, done 30, more [[40 50]] and the page's fingerprint", saved)
			}
			if err := stop1(); err != nil {
				t.Fatal(err)
			}
			var inFlight []string // the records of the chunks not acknowledged, in order
			for _, b := range bs {
				if b.Outcome() == 0 {
					inFlight = append(inFlight, b.Keys(plugintest.RawKey)...)
				}
			}

			if tc.before != nil {
				tc.before(t, w, store)
			}
			before := len(w.requests(""))
			s2, _ := newSource(t, cfg, store)
			s2.tune.chunk = 10
			pub2 := plugintest.NewPublisher(plugintest.AckAsync)
			stop2 := runFor(t, fast(s2, 100), pub2)
			pub2.WaitUntil(t, 0, "the page acknowledged", func() bool {
				return len(pub2.Records()) >= tc.want && len(pub2.Pending()) == 0 &&
					savedPosition(t, store, "alerts/dlp").State == stateAcked
			})
			if err := stop2(); err != nil {
				t.Fatal(err)
			}
			if rs := w.requests(""); rs[before].op != opResend {
				t.Fatalf("first request after the restart: operation=%s; want resend", rs[before].op)
			}
			// Nothing but the one page is there to read: what was published is its records.
			got := pub2.Keys(plugintest.RawKey)
			if len(got) != tc.want {
				t.Fatalf("the restart published %d records; want %d", len(got), tc.want)
			}
			if tc.want == len(inFlight) {
				differ := 0
				for i := range got {
					if got[i] != inFlight[i] {
						differ++
					}
				}
				if differ != tc.edited {
					t.Errorf("%d of the records published after the restart are not those of the chunks in flight, in order; want %d", differ, tc.edited)
				}
			}
		})
	}
}

// A chunk in the middle of a page is nacked and the chunks after it acknowledged: the page is
// asked for again with resend in the same run, and only the records of that chunk are
// published again.
func TestNackedChunkResendsTheRestOfThePage(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
		"alerts/dlp": {Backlog: 100, BacklogSpan: 10 * time.Minute},
	}})
	store := state.NewMemory().Namespace("p")
	s, _ := newSource(t, w.config(nil, []string{"dlp"}), store)
	s.tune.chunk = 25
	pub := plugintest.NewPublisher(plugintest.Manual)
	stop := runFor(t, fast(s, 100), pub)
	pub.WaitUntil(t, 0, "the page's 4 chunks", func() bool { return len(pub.Batches()) == 4 })
	bs := pub.Batches()
	bs[0].Ack()
	bs[1].Nack()
	bs[2].Ack()
	bs[3].Ack()
	want := bs[1].Keys(plugintest.RawKey)
	pub.SetMode(plugintest.AckAsync)
	pub.WaitUntil(t, 0, "the page acknowledged", func() bool {
		return len(pub.Pending()) == 0 && savedPosition(t, store, "alerts/dlp").State == stateAcked
	})
	_ = stop()
	var again []string
	for _, b := range pub.Batches()[4:] {
		again = append(again, b.Keys(plugintest.RawKey)...)
	}
	if !slices.Equal(again, want) {
		t.Errorf("after the nack of chunk 1, %d records published again; want its 25, in order", len(again))
	}
}

// editPosition changes the position saved under key.
func editPosition(t *testing.T, store state.Store, key string, edit func(map[string]any)) {
	t.Helper()
	ctx := context.Background()
	raw, err := store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var pos map[string]any
	if err := json.Unmarshal(raw, &pos); err != nil {
		t.Fatal(err)
	}
	edit(pos)
	raw, _ = json.Marshal(pos)
	if err := store.Put(ctx, key, raw); err != nil {
		t.Fatal(err)
	}
}

// resendEdited has the tenant's answers to resend changed by edit.
func (w *world) resendEdited(t *testing.T, edit func([]byte) []byte) {
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Query().Get("operation") != opResend {
			return false
		}
		rec := httptest.NewRecorder()
		w.tenant.ServeHTTP(rec, r)
		body := edit(rec.Body.Bytes())
		if bytes.Equal(body, rec.Body.Bytes()) {
			t.Errorf("the resent page is not changed: %.200s", body)
		}
		page(rw, string(body))
		return true
	})
}

// editElement returns the answer body with one byte of the _id of element i changed.
func editElement(t *testing.T, body []byte, i int) []byte {
	t.Helper()
	a, err := parseAnswer(body)
	if err != nil || len(a.elems) <= i {
		t.Fatalf("the answer has no element %d (%v)", i, err)
	}
	raw := a.elems[i].raw
	at := bytes.Index(raw, []byte(`"_id":"`))
	if at < 0 {
		t.Fatalf("element %d has no _id: %.200s", i, raw)
	}
	edited := slices.Clone(raw)
	edited[at+len(`"_id":"`)] ^= 1
	return bytes.Replace(body, raw, edited, 1)
}

// BenchmarkPageAcks is what a page's progress costs: one save in the state file (bbolt, as
// the shipper runs) per chunk of 100 records acknowledged, each acknowledgement waiting for its
// save (as when they come a call apart, not all at once), a few out of order as the
// destination's workers finish them.
func BenchmarkPageAcks(b *testing.B) {
	db, err := state.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	store := db.Namespace("bench")
	const records, size = 10000, 100
	recs := make([]*event.Record, records)
	at := make([]int, records)
	for i := range recs {
		recs[i], at[i] = &event.Record{}, i
	}
	cs := chunks(recs, at, size, records)
	sums := make([]uint64, records)
	inPage := position{Index: "logshipper_bench_events_page", HWM: 1700000000, State: statePending,
		Page: "c:10000:17000000:0123abcd:1700000000", Tail: strings.Repeat("0123456789abcdef", tailLen), Part: "c:10000:17000000:89abcdef:1700000100"}
	last := inPage
	last.State, last.HWM, last.Page, last.Part = stateAcked, 1700000100, inPage.Part, ""
	saved := make(chan struct{}, 1)
	b.ReportAllocs()
	for b.Loop() {
		pa := newPageAcks(store, "position/events/page", inPage, nil, sums, func(position) { saved <- struct{}{} })
		for _, c := range cs {
			pa.add(c.from, c.to, nil)
		}
		pa.close(last)
		for k := 0; k < len(cs); k += 4 { // in groups of 4, the last first
			for i := min(k+3, len(cs)-1); i >= k; i-- {
				pa.ack(i, event.Acked)
				<-saved
			}
		}
		if _, _, err := pa.finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
}
