package netskope

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// readStream reads a page as the whole answer's reader does (parseAnswer): the same elements
// (places, bytes, errors, fields), members and fingerprint, whatever the white space, whatever
// the reads' sizes, and in chunks of the size asked for; an answer that is not a page with
// "ok" true before its result array is handed back whole.
func TestStreamReadsAsTheWholeAnswer(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		streamed bool
	}{
		{name: "a page", streamed: true,
			body: `{"ok":1,"result":[{"_id":"a","timestamp":1700000000},{"_id":"b","event_type":"x"},{"_id":"c"}],"wait_time":3,"timestamp_hwm":1700000005}`},
		{name: "white space everywhere", streamed: true,
			body: " {\n \"ok\" : 1 ,\n \"result\" : [ {\"_id\" : \"a\"} ,\n\t{ \"_id\":\"b\" } , {}\n ] , \"timestamp_hwm\" : 7 , \"wait_time\":0 }\n"},
		{name: "elements that are not records", streamed: true,
			body: `{"ok":1,"result":[{"_id":"a"},5,"s",[1,{"x":"]"}],{"_id":"b","v":{bad}},{"_id":"c","s":"a\"],{"}],"timestamp_hwm":9}`},
		{name: "an empty page", streamed: true, body: `{"ok":1,"result":[],"wait_time":5,"timestamp_hwm":11}`},
		{name: "escapes and unicode", streamed: true,
			body: `{"ok":true,"result":[{"_id":"\u0061\"","msg":"é \\ \n"},{"_id":"z"}],"timestamp_hwm":"12"}`},
		{name: "ok after the result", body: `{"result":[{"_id":"a"}],"ok":1,"timestamp_hwm":1}`},
		{name: "no ok", body: `{"result":[{"_id":"a"}],"timestamp_hwm":1}`},
		{name: "ok 0", body: `{"ok":0,"error":"index expired"}`},
		{name: "not an object", body: `[1,2]`},
	}
	for _, tc := range tests {
		for _, chunk := range []int{1, 2, 100} {
			for _, oneByte := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/chunk %d/one byte %v", tc.name, chunk, oneByte), func(t *testing.T) {
					var r io.Reader = strings.NewReader(tc.body)
					if oneByte {
						r = iotest.OneByteReader(r)
					}
					pr := pageReader{size: 8} // elements larger than the buffer
					b := &builder{ep: endpoint{"alerts", "dlp"}}
					var got []elem
					var sizes []int
					st, whole, err := pr.readStream(r, chunk, 1<<20, b, func(c *streamChunk) error {
						if c.from != len(got) || c.to != c.from+len(c.a.elems) || len(c.sums) != len(c.a.elems) {
							t.Errorf("chunk [%d, %d) of %d elements after %d", c.from, c.to, len(c.a.elems), len(got))
						}
						for i, e := range c.a.elems {
							if c.sums[i] != elemSum(e.pos, e.raw) {
								t.Errorf("element %d: sum not of its bytes and place", e.pos)
							}
						}
						got = append(got, c.a.elems...)
						sizes = append(sizes, len(c.a.elems))
						return nil
					})
					if !tc.streamed {
						if !errors.Is(err, errNotStreamed) || string(whole) != tc.body {
							t.Fatalf("got %v, %q; want errNotStreamed and the whole body", err, whole)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					want, err := parseAnswer([]byte(tc.body))
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != len(want.elems) {
						t.Fatalf("%d elements; want %d", len(got), len(want.elems))
					}
					for i, e := range got {
						w := want.elems[i]
						if e.pos != w.pos || !bytes.Equal(e.raw, w.raw) || (e.err == nil) != (w.err == nil) ||
							e.rec.id != w.rec.id || !bytes.Equal(e.rec.timestamp, w.rec.timestamp) || e.rec.hasEventType != w.rec.hasEventType {
							t.Errorf("element %d: %d %q %v %q; want %d %q %v %q", i, e.pos, e.raw, e.err, e.rec.id, w.pos, w.raw, w.err, w.rec.id)
						}
					}
					for i, n := range sizes {
						if n != chunk && (i != len(sizes)-1 || n > chunk) {
							t.Errorf("chunk sizes %v; want %d each but the last", sizes, chunk)
						}
					}
					if st.fingerprint() != fingerprint(want) || st.env.hwm != want.hwm || st.env.waitTime != want.waitTime || st.body != len(tc.body) {
						t.Errorf("fingerprint %q, hwm %d, wait %v, %d bytes; want %q, %d, %v, %d",
							st.fingerprint(), st.env.hwm, st.env.waitTime, st.body, fingerprint(want), want.hwm, want.waitTime, len(tc.body))
					}
				})
			}
		}
	}
}

// The body of an answer read whole is the answer's: the reader's next page does not write over
// it (records read whole are slices of it).
func TestStreamKeepsTheWholeBody(t *testing.T) {
	var pr pageReader
	b := &builder{ep: endpoint{"alerts", "dlp"}}
	first := `{"result":[{"_id":"a"}],"ok":1}`
	_, whole, err := pr.readStream(strings.NewReader(first), 1, 1<<20, b, nil)
	if !errors.Is(err, errNotStreamed) {
		t.Fatal(err)
	}
	second := `{"ok":1,"result":[{"_id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}],"timestamp_hwm":1}`
	if _, _, err := pr.readStream(strings.NewReader(second), 1, 1<<20, b, func(*streamChunk) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if string(whole) != first {
		t.Errorf("the first answer's body became %q after the next page was read", whole)
	}
}

// An answer cut within its result array is an error, whatever the chunks read before it.
func TestStreamCutShort(t *testing.T) {
	body := `{"ok":1,"result":[{"_id":"a"},{"_id":"b"},{"_id":"c"}],"timestamp_hwm":9}`
	for _, cut := range []int{10, 20, 31, 40, 55, len(body) - 1} {
		var pr pageReader
		n := 0
		_, _, err := pr.readStream(strings.NewReader(body[:cut]), 1, 1<<20, &builder{ep: endpoint{"alerts", "dlp"}}, func(c *streamChunk) error {
			n++
			return nil
		})
		if err == nil {
			t.Errorf("cut at %d: no error after %d chunks", cut, n)
		}
	}
}

// streamedWorld is a tenant whose first page is sent in two parts: the answer's first
// firstPart bytes, then the rest once release is closed.
func streamedWorld(t *testing.T, records int, firstPart func(body []byte) int) (w *world, release chan struct{}) {
	w = newWorld(t, sim.Options{RateLimit: -1, PageSize: records, Generators: map[string]sim.Generator{
		"alerts/dlp": {Backlog: records, BacklogSpan: 10 * time.Minute},
	}})
	release = make(chan struct{})
	sent := false
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, _ int) bool {
		if sent {
			return false
		}
		sent = true
		rec := httptest.NewRecorder()
		w.tenant.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		n := firstPart(body)
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write(body[:n])
		rw.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return true
		}
		_, _ = rw.Write(body[n:])
		return true
	})
	return w, release
}

// elementEnd is the offset just after element i of the answer in body.
func elementEnd(t *testing.T, body []byte, i int) int {
	t.Helper()
	a, err := parseAnswer(body)
	if err != nil || len(a.elems) <= i {
		t.Fatalf("the answer has no element %d (%v)", i, err)
	}
	raw := a.elems[i].raw
	return bytes.Index(body, raw) + len(raw)
}

// The records of a page are published chunk by chunk as its body arrives: the first chunks
// go out while the rest of the body is still on its way, and the page is acknowledged once
// the rest came.
func TestPageRecordsArePublishedWhileTheBodyStreams(t *testing.T) {
	w, release := streamedWorld(t, 100, func(body []byte) int { return elementEnd(t, body, 30) + 1 })
	store := state.NewMemory().Namespace("p")
	s, _ := newSource(t, w.config(nil, []string{"dlp"}), store)
	s.tune.chunk = 10
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, fast(s, 100), pub)
	pub.WaitUntil(t, 0, "the first 3 chunks", func() bool { return len(pub.Records()) >= 30 })
	if n := len(pub.Records()); n != 30 {
		t.Fatalf("%d records published with 31 elements of the body sent; want 30 (3 chunks of 10)", n)
	}
	plugintest.Eventually(t, 0, "the progress of the 3 chunks saved", func() bool {
		pos := savedPosition(t, store, "alerts/dlp") // saved before the first request
		return pos.State == statePending && pos.Done == 30 && pos.Sum != "" && partLen(pos.Part) == 10
	})
	close(release)
	pub.WaitUntil(t, 0, "the page acknowledged", func() bool {
		return len(pub.Records()) == 100 && pageAcked(store, "alerts/dlp")
	})
	_ = stop()
	if got, want := idsOf(pub.Records()), w.ids(sim.Alerts, "dlp"); len(missing(want, got)) > 0 || len(pub.Records()) != 100 {
		t.Errorf("%d records published, %d missing; want the page's 100 once", len(pub.Records()), len(missing(want, got)))
	}
}

// A page whose body is cut after chunks of it were published is asked for again (resend),
// and only its records not delivered are published again.
func TestPageCutWhileStreamingResendsTheRest(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
		"alerts/dlp": {Backlog: 100, BacklogSpan: 10 * time.Minute},
	}})
	// The first answer ends (cut) after its element 44: the handler returns with the body
	// short of its Content-Length.
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		if n != 1 {
			return false
		}
		rec := httptest.NewRecorder()
		w.tenant.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = rw.Write(body[:elementEnd(t, body, 44)+1])
		return true
	})
	store := state.NewMemory().Namespace("p")
	s, _ := newSource(t, w.config(nil, []string{"dlp"}), store)
	s.tune.chunk = 10
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, fast(s, 100), pub)
	pub.WaitUntil(t, 0, "the page acknowledged", func() bool {
		return len(pub.Pending()) == 0 && pageAcked(store, "alerts/dlp")
	})
	_ = stop()
	rs := w.requests("alerts/dlp")
	if len(rs) < 2 || rs[1].op != opResend {
		t.Fatalf("requests %+v; want the cut page asked for again with resend", rs)
	}
	// 4 chunks of 10 were complete when the body was cut; the resend publishes the other 60.
	if got := len(pub.Records()); got != 100 {
		t.Errorf("%d records published; want 100 (40 before the cut, the other 60 after it)", got)
	}
	if got, want := idsOf(pub.Records()), w.ids(sim.Alerts, "dlp"); len(missing(want, got)) > 0 {
		t.Errorf("%d records missing", len(missing(want, got)))
	}
}

// The page timeout bounds the reading of a page, not the time its chunks wait for the
// pipeline: a page whose Publish is held back longer than the timeout is read to its end.
func TestPageTimeoutLeavesOutThePipelinesWait(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 50, Generators: map[string]sim.Generator{
		"alerts/dlp": {Backlog: 50, BacklogSpan: 10 * time.Minute},
	}})
	store := state.NewMemory().Namespace("p")
	s, _ := newSource(t, w.config(nil, []string{"dlp"}), store)
	s.tune.chunk = 10
	s.client.timeout = 200 * time.Millisecond
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	pub.Block()
	stop := runFor(t, fast(s, 100), pub)
	pub.WaitBlocked(t)
	// Not a wait for a condition: the pipeline holds the page back for longer than the
	// timeout, as a slow destination does.
	time.Sleep(3 * s.client.timeout)
	pub.Unblock()
	pub.WaitUntil(t, 0, "the page acknowledged", func() bool {
		return len(pub.Pending()) == 0 && pageAcked(store, "alerts/dlp")
	})
	_ = stop()
	if rs := w.requests("alerts/dlp"); len(rs) < 1 || len(pub.Records()) != 50 {
		t.Errorf("%d records published; want the page's 50 once", len(pub.Records()))
	}
	for _, r := range w.requests("alerts/dlp") {
		if r.op == opResend {
			t.Errorf("the page was asked for again (%s): its read timed out while the pipeline held it back", r.op)
		}
	}
}

// pageAcked reports whether the position of ep is saved and "acked".
func pageAcked(store state.Store, ep string) bool {
	b, err := store.Get(context.Background(), "position/"+ep)
	var p position
	return err == nil && json.Unmarshal(b, &p) == nil && p.State == stateAcked
}

// BenchmarkStreamPage is BenchmarkParsePage's page read as it streams, in chunks of 100
// elements: each chunk's elements checked, summed and built, the tail extended, and the
// page's fingerprint computed as its bytes pass.
func BenchmarkStreamPage(b *testing.B) {
	n := 10000
	body := benchPage(n)
	bld := &builder{ep: endpoint{"events", "page"}, source: "src"}
	var pr pageReader
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		got := 0
		var tail []uint64
		st, _, err := pr.readStream(bytes.NewReader(body), chunkRecords, maxBody, bld, func(c *streamChunk) error {
			tail = extendTail(tail, c.a.elems)
			recs, _, _ := bld.build(c.a)
			got += len(recs)
			return nil
		})
		if err != nil || got != n || st.fingerprint() == "" {
			b.Fatal(err, got)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// A page read as it streams has at most its window of chunks published and not acknowledged:
// the next chunk is read once one of them is.
func TestStreamedPageHoldsAWindowOfChunks(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
		"alerts/dlp": {Backlog: 100, BacklogSpan: 10 * time.Minute},
	}})
	store := state.NewMemory().Namespace("p")
	s, _ := newSource(t, w.config(nil, []string{"dlp"}), store)
	s.tune.chunk, s.tune.window = 10, 3
	pub := plugintest.NewPublisher(plugintest.Manual)
	stop := runFor(t, fast(s, 100), pub)
	for acked := 0; acked < 10; acked++ {
		want := min(3, 10-acked)
		pub.WaitUntil(t, 0, "the window's chunks", func() bool { return len(pub.Pending()) == want })
		if n := len(pub.Batches()); n != acked+want {
			t.Fatalf("%d chunks published with %d acknowledged; want %d", n, acked, acked+want)
		}
		pub.Pending()[0].Ack()
	}
	pub.WaitUntil(t, 0, "the page acknowledged", func() bool { return pageAcked(store, "alerts/dlp") })
	_ = stop()
	if n := len(pub.Records()); n != 100 {
		t.Errorf("%d records published; want 100", n)
	}
}

// A page whose body stops arriving fails once page_timeout passed without a byte, read as it
// streams or whole, and the error says so.
func TestStalledBodyFailsOnPageTimeout(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprint("streamed ", streamed), func(t *testing.T) {
			w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 50, Generators: map[string]sim.Generator{
				"alerts/dlp": {Backlog: 50, BacklogSpan: 10 * time.Minute},
			}})
			w.setIntercept(func(rw http.ResponseWriter, r *http.Request, _ int) bool {
				rec := httptest.NewRecorder()
				w.tenant.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				rw.Header().Set("Content-Length", fmt.Sprint(len(body)))
				_, _ = rw.Write(body[:elementEnd(t, body, 20)+1])
				rw.(http.Flusher).Flush()
				<-r.Context().Done() // the rest never comes
				return true
			})
			s, _ := newSource(t, w.config(nil, []string{"dlp"}), state.NewMemory().Namespace("p"))
			s.client.timeout = 100 * time.Millisecond
			ep := endpoint{"alerts", "dlp"}
			b := &builder{ep: ep}
			var sink *pageSink
			if streamed {
				sink = &pageSink{reader: &pageReader{}, n: 10, each: func(*streamChunk) error { return nil }}
			}
			_, _, err := s.client.get(context.Background(), ep, "i", opEpoch(1), b, sink)
			var re *reqError
			if !errors.As(err, &re) || re.class != classUnknown || !errors.Is(err, errPageTimeout) || re.streamed != streamed {
				t.Fatalf("got %v; want a failure of unknown outcome naming page_timeout (streamed %v)", err, streamed)
			}
			if streamed && sink.chunks != 2 {
				t.Errorf("%d chunks read before the stall; want the 2 complete", sink.chunks)
			}
		})
	}
}

// An answer that fails before a chunk of it was handed on fails as one read whole does: a
// broken page is an answer that is not a page (its body kept, to be given up on if it comes
// back), a body cut short a failed read; neither is marked streamed.
func TestStreamFailingBeforeAChunkFailsAsAWholeAnswer(t *testing.T) {
	broken := `{"ok":1,"result":[{"_id":"a"} x {"_id":"b"}],"timestamp_hwm":1}`
	tests := []struct {
		name  string
		body  string
		cut   bool // sent short of its Content-Length
		class errClass
		has   string
	}{
		{name: "broken", body: broken, class: classMalformed, has: "the answer is not a data-export page"},
		{name: "cut short", body: `{"ok":1,"result":[{"_id":"a"},{"_id":"b"}],"timestamp_hwm":1}`, cut: true, class: classUnknown, has: "reading the page: unexpected EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, simDefaults())
			w.setIntercept(func(rw http.ResponseWriter, r *http.Request, _ int) bool {
				rw.Header().Set("Content-Length", fmt.Sprint(len(tc.body)))
				if tc.cut {
					_, _ = rw.Write([]byte(tc.body[:len(tc.body)/2]))
					return true
				}
				_, _ = rw.Write([]byte(tc.body))
				return true
			})
			s, _ := newSource(t, w.config(nil, []string{"dlp"}), state.NewMemory().Namespace("p"))
			ep := endpoint{"alerts", "dlp"}
			sink := &pageSink{reader: &pageReader{}, n: 10, each: func(*streamChunk) error { return nil }}
			_, _, err := s.client.get(context.Background(), ep, "i", opNext, &builder{ep: ep}, sink)
			var re *reqError
			if !errors.As(err, &re) || re.class != tc.class || re.streamed || !strings.Contains(err.Error(), tc.has) || sink.chunks != 0 {
				t.Fatalf("got %v (chunks %d); want class %d, not streamed, an error holding %q", err, sink.chunks, tc.class, tc.has)
			}
			if tc.class == classMalformed && string(re.body) != tc.body {
				t.Errorf("the broken answer's body %q; want the whole answer", re.body)
			}
		})
	}
}
