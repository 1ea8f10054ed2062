package netskope

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// R1. A `next` reaches the tenant (the index moves past page Q) but the answer the source gets
// is a 200 HTML page from a proxy; the two resends get the same HTML (a proxy outage of ~3 s).
// The source "drops the broken answer and moves on" with `next`: page Q is never delivered.
func TestReviewPoisonLosesServedPage(t *testing.T) {
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

// R2. A graceful stop saves "acked"; while the shipper is down the tenant forgets the index
// (expiry, tenant-side reset). On restart the source sends `next` on an index the server does
// not know, which starts at the tail: everything inserted while it was down is lost.
func TestReviewAckedRestartForgottenIndex(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
		"events/audit": {Backlog: 150, BacklogSpan: 6 * time.Hour},
	}})
	cfg := w.config([]string{"audit"}, nil)
	store := state.NewMemory().Namespace("p")
	s1, _ := newSource(t, cfg, store)
	pub1 := plugintest.NewPublisher(plugintest.AckAsync)
	stop1 := runFor(t, fast(s1, 100), pub1)
	waitIDs(t, pub1, w.ids(sim.Events, "audit"), 0)
	time.Sleep(100 * time.Millisecond)
	_ = stop1()
	if p := savedPosition(t, store, "events/audit"); p.State != stateAcked {
		t.Fatalf("saved %+v, want acked", p)
	}
	// Down time: 20 new records, and the tenant forgets the index.
	if err := w.tenant.Generate(sim.Events, "audit", 20); err != nil {
		t.Fatal(err)
	}
	recs := w.tenant.Records(sim.Events, "audit")
	var fresh []string
	for _, r := range recs[len(recs)-20:] {
		fresh = append(fresh, r.ID)
	}
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		q := r.URL.Query()
		q.Set("index", q.Get("index")+"_forgotten")
		r.URL.RawQuery = q.Encode()
		return false
	})
	s2, _ := newSource(t, cfg, store)
	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	stop2 := runFor(t, fast(s2, 100), pub2)
	time.Sleep(1500 * time.Millisecond)
	_ = stop2()
	if m := missing(sortedCopy(fresh), idsOf(pub2.Records())); len(m) > 0 {
		t.Fatalf("%d of the 20 records inserted while down were never delivered; requests after restart: %v",
			len(m), w.requests("")[len(w.requests(""))-3:])
	}
}

// R3. Running and caught up (confirmed): a `next` gets a 5xx, the retry is `resend`, and the
// tenant no longer knows the index: resend answers an empty page (timestamp_hwm = now). Since
// the partition is "confirmed", the empty answer is taken as a real empty page, its hwm (now)
// is saved as acked, and `next` starts the unknown index at the tail: the new records are lost.
func TestReviewRunningForgottenIndexAfter5xx(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
		"events/audit": {Backlog: 50, BacklogSpan: 6 * time.Hour},
	}})
	cfg := w.config([]string{"audit"}, nil)
	store := state.NewMemory().Namespace("p")
	s, _ := newSource(t, cfg, store)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, fast(s, 100), pub)
	waitIDs(t, pub, w.ids(sim.Events, "audit"), 0)
	time.Sleep(100 * time.Millisecond)

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
	if err := w.tenant.Generate(sim.Events, "audit", 20); err != nil {
		t.Fatal(err)
	}
	recs := w.tenant.Records(sim.Events, "audit")
	var fresh []string
	for _, r := range recs[len(recs)-20:] {
		fresh = append(fresh, r.ID)
	}
	time.Sleep(1500 * time.Millisecond)
	_ = stop()
	if m := missing(sortedCopy(fresh), idsOf(pub.Records())); len(m) > 0 {
		p := savedPosition(t, store, "events/audit")
		t.Fatalf("%d of 20 new records never delivered; saved position %+v", len(m), p)
	}
}

// R4. A tenant re-emits a record byte for byte (a duplicate), and it happens to form a page on
// its own right after the page holding the original. The `next` that served it gets a 5xx
// after the page was taken; the resend answers it, its fingerprint equals the last page
// acknowledged, and it is skipped as "the server had not moved".
func TestReviewIdenticalConsecutivePagesSkipped(t *testing.T) {
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

// R5. validate --check against a host that is not a Netskope tenant (404 for every path) says ok.
func TestReviewCheck404IsNotATenant(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := NewConfig().(*Config)
	c.Tenant, c.APIToken, c.EventTypes, c.AlertTypes = srv.URL, config.NewSecret(testToken), []string{"audit"}, nil
	s, _ := newSource(t, c, nil)
	if err := s.Check(context.Background()); err == nil {
		t.Fatal("Check passed against a server answering 404 Not Found (text/plain) to every request")
	}
}

// R6. A page cut short with no Content-Length (close-delimited: a proxy that streams) reads as a
// complete but malformed answer; three different cut bodies count as "the same broken answer
// three times running", and the half-body is dead-lettered while the page's records are lost.
func TestReviewCloseDelimitedCutsArePoisoned(t *testing.T) {
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

var _ = url.QueryEscape
var _ = strings.Contains

// R7. Backfill of a past range: three broken answers in the middle of the range (a proxy's 200
// HTML page, or one truly broken page) are dropped as poison; the empty answer put in their
// place satisfies "an empty page asked for at or after to", so the endpoint is declared done
// and Backfill returns nil although most of the range was never read.
func TestReviewBackfillPoisonEndsEndpoint(t *testing.T) {
	now := time.Now()
	from, to := now.Add(-30*time.Hour), now.Add(-20*time.Hour)
	w := newWorld(t, sim.Options{Seed: 11, PageSize: 20, RateLimit: -1, Generators: map[string]sim.Generator{
		"alerts/dlp": {Backlog: 480, BacklogSpan: 48 * time.Hour},
	}})
	var nexts, broken atomic.Int32
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Query().Get("operation") == opNext && nexts.Add(1) == 2 {
			broken.Store(1)
		}
		if b := broken.Load(); b >= 1 && b <= 3 {
			broken.Add(1)
			page(rw, `<html>proxy says no</html>`)
			return true
		}
		return false
	})
	var want []string
	for _, r := range w.tenant.Records(sim.Alerts, "dlp") {
		if r.Inserted >= from.Unix() && r.Inserted < to.Unix() {
			want = append(want, r.ID)
		}
	}
	s, _ := newSource(t, w.config(nil, []string{"dlp"}), nil)
	fast(s, 200)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var last plugin.BackfillProgress
	err := s.Backfill(ctx, pub, plugin.BackfillRange{From: from, To: to, Progress: func(p plugin.BackfillProgress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if m := missing(sortedCopy(want), idsOf(pub.Records())); len(m) > 0 {
		t.Fatalf("Backfill returned nil (last progress %+v) with %d of %d records of the range never read; requests %v", last, len(m), len(want), w.requests(""))
	}
}

// Index names of different readers must not collide: a backfill's and a live configuration's
// (in any process), and two configurations of one process (refused when built).
func TestIndexNamesDoNotCollide(t *testing.T) {
	ep := endpoint{"events", "audit"}
	if a, b := indexName(BackfillIndexPrefix(defaultIndexPrefix("acme")), ep), indexName(defaultIndexPrefix("acme-backfill"), ep); a == b {
		t.Errorf("backfill of acme and live acme-backfill both use %s", a)
	}
	w := newWorld(t, simDefaults())
	cfg := w.config([]string{"audit"}, nil)
	ps := newPacers()
	if _, err := buildSource(cfg, plugintest.Settings(t, "acme-eu", nil), ps); err != nil {
		t.Fatal(err)
	}
	if _, err := buildSource(cfg, plugintest.Settings(t, "acme-eu", nil), ps); err != nil {
		t.Errorf("the same configuration built again (a second run in one process): %v", err)
	}
	_, err := buildSource(cfg, plugintest.Settings(t, "acme.eu", nil), ps)
	if err == nil || !strings.Contains(err.Error(), `already read by the configuration "acme-eu"`) {
		t.Errorf("acme.eu after acme-eu on one tenant: %v; want refused", err)
	}
	other := w.config([]string{"audit"}, nil)
	other.IndexPrefix = "acme_eu_own"
	if _, err := buildSource(other, plugintest.Settings(t, "acme.eu", nil), ps); err != nil {
		t.Errorf("with its own index_prefix: %v", err)
	}
}
