package netskope

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// A `next` reaches the tenant (the index moves past page Q) but the answer the source gets is a
// proxy's 200 HTML page, and the two resends after it get the same HTML page (a proxy outage of
// a few seconds). An HTML page is not the tenant's broken answer: the source asks for page Q
// again with resend until the tenant answers, and delivers it; it never moves past it.
func TestProxyErrorAfterNextResendsServedPage(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 50, Generators: map[string]sim.Generator{
		"alerts/dlp": {Backlog: 200, BacklogSpan: 6 * time.Hour},
	}})
	var mu sync.Mutex
	state := 0
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		mu.Lock()
		defer mu.Unlock()
		op := r.URL.Query().Get("operation")
		switch {
		case state == 0 && op == opNext:
			state = 1
			w.tenant.ServeHTTP(httptest.NewRecorder(), r)   // the tenant serves the page...
			page(rw, `<html>502 upstream timed out</html>`) // ...the proxy answers this
			return true
		case state >= 1 && state < 3:
			state++
			page(rw, `<html>502 upstream timed out</html>`)
			return true
		}
		return false
	})
	s, _ := newSource(t, w.config(nil, []string{"dlp"}), nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, fast(s, 100), pub)
	want := w.ids(sim.Alerts, "dlp")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(missing(want, idsOf(pub.Records()))) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = stop()
	if m := missing(want, idsOf(pub.Records())); len(m) > 0 {
		t.Fatalf("%d of %d records never delivered (the page served to the `next` behind the proxy error)", len(m), len(want))
	}
}

// A graceful stop saves "acked"; while the shipper is down, records are inserted and the tenant
// forgets the index (expiry, a tenant-side reset). On restart the source asks for `resend`, not
// `next` (which would start the unknown index at its tail); the unknown index answers an empty
// page, so the source seeds the index again at the saved hwm and delivers every record inserted
// while it was down.
func TestForgottenIndexAfterGracefulStopLosesNothing(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
		"events/audit": {Backlog: 150, BacklogSpan: 6 * time.Hour},
	}})
	cfg := w.config([]string{"audit"}, nil)
	store := state.NewMemory().Namespace("p")
	s1, _ := newSource(t, cfg, store)
	pub1 := plugintest.NewPublisher(plugintest.AckAsync)
	stop1 := runFor(t, fast(s1, 100), pub1)
	waitIDs(t, pub1, w.ids(sim.Events, "audit"), 0)
	pub1.WaitUntil(t, 0, "every page to be acknowledged", func() bool { return len(pub1.Pending()) == 0 })
	_ = stop1()
	if p := savedPosition(t, store, "events/audit"); p.State != stateAcked {
		t.Fatalf("saved %+v, want acked", p)
	}
	// Down time: 20 new records, and the tenant forgets the index.
	fresh := w.generate(t, sim.Events, "audit", 20)
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		q := r.URL.Query()
		q.Set("index", q.Get("index")+"_forgotten")
		r.URL.RawQuery = q.Encode()
		return false
	})
	s2, _ := newSource(t, cfg, store)
	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	stop2 := runFor(t, fast(s2, 100), pub2)
	waitIDs(t, pub2, fresh, 0)
	_ = stop2()
	if m := missing(sortedCopy(fresh), idsOf(pub2.Records())); len(m) > 0 {
		t.Fatalf("%d of the 20 records inserted while down were never delivered; requests after restart: %v",
			len(m), w.requests("")[len(w.requests(""))-3:])
	}
}

// Running and caught up: a `next` gets a 5xx, the retry is `resend`, and from then on the tenant
// does not know the index, so the resend answers an empty page whose timestamp_hwm is the
// present. The source does not take that hwm: it seeds the index again at the saved hwm and
// delivers every record inserted since.
func TestForgottenIndexDuringRetryLosesNothing(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
		"events/audit": {Backlog: 50, BacklogSpan: 6 * time.Hour},
	}})
	cfg := w.config([]string{"audit"}, nil)
	store := state.NewMemory().Namespace("p")
	s, _ := newSource(t, cfg, store)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, fast(s, 100), pub)
	waitIDs(t, pub, w.ids(sim.Events, "audit"), 0)
	pub.WaitUntil(t, 0, "every page to be acknowledged", func() bool { return len(pub.Pending()) == 0 })

	var armed atomic.Int32
	armed.Store(1)
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		q := r.URL.Query()
		if armed.Load() == 1 && q.Get("operation") == opNext {
			armed.Store(2)
			rw.WriteHeader(http.StatusBadGateway)
			return true
		}
		if armed.Load() == 2 {
			q.Set("index", q.Get("index")+"_forgotten")
			r.URL.RawQuery = q.Encode()
		}
		return false
	})
	fresh := w.generate(t, sim.Events, "audit", 20)
	waitIDs(t, pub, fresh, 0)
	_ = stop()
	if m := missing(sortedCopy(fresh), idsOf(pub.Records())); len(m) > 0 {
		p := savedPosition(t, store, "events/audit")
		t.Fatalf("%d of 20 new records never delivered; saved position %+v", len(m), p)
	}
}

// A tenant re-emits a record byte for byte (a duplicate), and it forms a page of its own right
// after the page holding the original. The `next` that serves it gets a 5xx after the tenant
// moved past it, and the resend answers it. Its records are byte-identical to the page
// acknowledged before, but its timestamp_hwm is later, so its fingerprint differs: it is a new
// page, and the source delivers all three records the tenant served.
func TestRepeatedRecordsOnNextPageAreDelivered(t *testing.T) {
	a := `{"_id":"aaaaaaaaaaaaaaaaaaaaaaaa","timestamp":1700000000,"_insertion_epoch_timestamp":1700000000}`
	a2 := a // the tenant's byte-for-byte duplicate
	b := `{"_id":"bbbbbbbbbbbbbbbbbbbbbbbb","timestamp":1700000002,"_insertion_epoch_timestamp":1700000002}`
	pages := []string{
		`{"ok":1,"result":[` + a + `],"wait_time":0,"timestamp_hwm":1700000000}`,
		`{"ok":1,"result":[` + a2 + `],"wait_time":0,"timestamp_hwm":1700000001}`,
		`{"ok":1,"result":[` + b + `],"wait_time":0,"timestamp_hwm":1700000002}`,
		`{"ok":1,"result":[],"wait_time":1,"timestamp_hwm":1700000002}`,
	}
	var mu sync.Mutex
	cur, served := -1, 0
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		op := r.URL.Query().Get("operation")
		if op != opResend {
			cur = min(cur+1, len(pages)-1)
			served++
			if served == 2 { // the second page is taken, then the gateway fails
				rw.WriteHeader(http.StatusBadGateway)
				return
			}
		}
		page(rw, pages[max(cur, 0)])
	}))
	defer srv.Close()
	c := NewConfig().(*Config)
	c.Tenant, c.APIToken, c.EventTypes, c.AlertTypes = srv.URL, config.NewSecret(testToken), nil, []string{"dlp"}
	c.Start = "-72h"
	s, _ := newSource(t, c, nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, fast(s, 100), pub)
	waitIDs(t, pub, []string{"bbbbbbbbbbbbbbbbbbbbbbbb"}, 0)
	time.Sleep(50 * time.Millisecond)
	_ = stop()
	if n := len(pub.Records()); n != 3 {
		t.Fatalf("%d records delivered, want 3 (the tenant served a, a (re-emitted) and b)", n)
	}
}

// A page cut short with no Content-Length (close-delimited, as a streaming proxy sends it) reads
// as a complete but malformed answer. Three cuts of different lengths are not the same broken
// answer three times running: the source asks for the page again after each one, and every
// record of the page is published.
func TestCloseDelimitedCutPagesAreAskedForAgain(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 50, Generators: map[string]sim.Generator{
		"alerts/dlp": {Backlog: 150, BacklogSpan: 6 * time.Hour},
	}})
	var cuts atomic.Int32
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		op := r.URL.Query().Get("operation")
		if cuts.Load() == 0 && op != opNext {
			return false
		}
		if cuts.Load() >= 3 {
			return false
		}
		cuts.Add(1)
		rec := httptest.NewRecorder()
		w.tenant.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		cut := body[:len(body)/(int(cuts.Load())+1)]
		hj, _ := rw.(http.Hijacker)
		conn, buf, err := hj.Hijack()
		if err != nil {
			t.Error(err)
			return true
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
		buf.Write(cut)
		buf.Flush()
		return true
	})
	s, set := newSource(t, w.config(nil, []string{"dlp"}), nil)
	dropper := plugintest.DropperOf(t, set)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, fast(s, 100), pub)
	want := w.ids(sim.Alerts, "dlp")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && len(missing(want, idsOf(pub.Records()))) > 0 {
		time.Sleep(20 * time.Millisecond)
	}
	_ = stop()
	if m := missing(want, idsOf(pub.Records())); len(m) > 0 {
		t.Fatalf("%d of %d records never published; dead letters: %d (first %d bytes)", len(m), len(want), len(dropper.Drops()), len(dropper.Drops()[0].Raw))
	}
}
