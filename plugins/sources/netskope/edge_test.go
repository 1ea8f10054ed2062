package netskope

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// Saved positions the server does not match: a pending position of an index the server does
// not know (resend answers an empty page) is re-seeded at its hwm; a position of another index
// (the prefix changed) seeds the new index at its hwm. Nothing after the hwm is lost.
func TestRestartEdgeCases(t *testing.T) {
	for _, c := range []struct {
		name  string
		saved func(live string, hwm int64) position
		ops   func(hwm int64) []string
	}{
		{"pending, index unknown to the server",
			func(live string, hwm int64) position { return position{Index: live, HWM: hwm, State: statePending} },
			func(hwm int64) []string { return []string{opResend, opEpoch(hwm), opNext} }},
		{"acked, another index",
			func(live string, hwm int64) position {
				return position{Index: "old_prefix_events_audit", HWM: hwm, State: stateAcked}
			},
			func(hwm int64) []string { return []string{opEpoch(hwm), opNext} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 1000, Generators: map[string]sim.Generator{
				"events/audit": {Backlog: 200, BacklogSpan: 10 * time.Hour},
			}})
			recs := w.tenant.Records(sim.Events, "audit")
			hwm := recs[100].Inserted
			var want []string
			for _, r := range recs {
				if r.Inserted >= hwm {
					want = append(want, r.ID)
				}
			}
			cfg := w.config([]string{"audit"}, nil)
			store := state.NewMemory().Namespace("p")
			live := indexName(defaultIndexPrefix("ns-test"), endpoint{"events", "audit"})
			if err := store.Put(context.Background(), "position/events/audit", c.saved(live, hwm).encode()); err != nil {
				t.Fatal(err)
			}
			s, _ := newSource(t, cfg, store)
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			stop := runFor(t, fast(s, 100), pub)
			waitIDs(t, pub, want, 0)
			_ = stop()
			got := idsOf(pub.Records())
			if len(got) != len(sortedCopy(want)) {
				t.Errorf("published %d ids, want the %d from the saved hwm on", len(got), len(want))
			}
			rs := w.requests("")
			for i, op := range c.ops(hwm) {
				if rs[i].op != op {
					t.Errorf("request %d: operation=%s, want %s", i, rs[i].op, op)
				}
				if rs[i].index != live {
					t.Errorf("request %d: index %s, want %s", i, rs[i].index, live)
				}
			}
		})
	}
}

// The tenant behind TLS with a private CA (ca_file), and behind an HTTP proxy.
func TestTLSAndProxy(t *testing.T) {
	tn := sim.New(sim.Options{RateLimit: -1, Tokens: []sim.Token{{Value: testToken}}, Generators: map[string]sim.Generator{
		"alerts/dlp": {Backlog: 20, BacklogSpan: time.Hour},
	}})
	want := tn.UniqueIDs(sim.Alerts, "dlp")

	t.Run("ca_file", func(t *testing.T) {
		srv := httptest.NewTLSServer(tn)
		defer srv.Close()
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		w := &world{t: t, srv: srv}
		cfg := w.config(nil, []string{"dlp"})
		cfg.TLS.CAFile = ca
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		s, _ := newSource(t, cfg, nil)
		pub := plugintest.NewPublisher(plugintest.AckAsync)
		stop := runFor(t, fast(s, 100), pub)
		waitIDs(t, pub, want, 0)
		_ = stop()
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		srv := httptest.NewTLSServer(tn)
		defer srv.Close()
		w := &world{t: t, srv: srv}
		s, set := newSource(t, w.config(nil, []string{"dlp"}), nil)
		pub := plugintest.NewPublisher(plugintest.AckAsync)
		stop := runFor(t, fast(s, 100), pub)
		plugintest.Eventually(t, 0, "failed requests", func() bool { return counter(set.Metrics.Errors) >= 2 })
		_ = stop()
		if n := len(pub.Records()); n != 0 {
			t.Errorf("%d records read over an untrusted connection", n)
		}
	})

	t.Run("proxy", func(t *testing.T) {
		srv := httptest.NewServer(tn)
		defer srv.Close()
		var proxied atomic.Int64
		proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if !r.URL.IsAbs() {
				http.Error(rw, "not a proxy request", http.StatusBadRequest)
				return
			}
			// proxy.username and proxy.password, as Basic credentials.
			if r.Header.Get("Proxy-Authorization") != "Basic c2hpcHBlcjpwcjB4eQ==" {
				http.Error(rw, "proxy credentials wanted", http.StatusProxyAuthRequired)
				return
			}
			proxied.Add(1)
			out := r.Clone(r.Context())
			out.RequestURI = ""
			resp, err := http.DefaultTransport.RoundTrip(out)
			if err != nil {
				http.Error(rw, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			for k, v := range resp.Header {
				rw.Header()[k] = v
			}
			rw.WriteHeader(resp.StatusCode)
			buf := make([]byte, 32<<10)
			for {
				n, err := resp.Body.Read(buf)
				_, _ = rw.Write(buf[:n])
				if err != nil {
					return
				}
			}
		}))
		defer proxy.Close()
		w := &world{t: t, srv: srv}
		cfg := w.config(nil, []string{"dlp"})
		cfg.Proxy = netconf.Proxy{URL: proxy.URL, Username: "shipper", Password: config.NewSecret("pr0xy")}
		s, _ := newSource(t, cfg, nil)
		pub := plugintest.NewPublisher(plugintest.AckAsync)
		stop := runFor(t, fast(s, 100), pub)
		waitIDs(t, pub, want, 0)
		_ = stop()
		if proxied.Load() == 0 {
			t.Error("no request went through the proxy")
		}
	})
}

// A crash while a `next` that found nothing new was in flight leaves "pending"; the restart's
// resend answers that empty page, so the index is seeded again at the saved hwm. The records
// of that second already delivered (the last page's tail) are recognised and not published
// again; a tail that does not match is published again (a duplicate rather than a doubt).
func TestReseedSkipsTheDeliveredTail(t *testing.T) {
	for _, c := range []struct {
		name     string
		tamper   func(p *position)
		wantDups bool
	}{
		{"the tail matches", func(*position) {}, false},
		{"the tail does not match", func(p *position) {
			tail, _ := decodeTail(p.Tail)
			for i := range tail {
				tail[i] ^= 1
			}
			p.Tail = encodeTail(tail)
		}, true},
		{"no tail saved (an older position)", func(p *position) { p.Tail = "" }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			// 600 records over a minute: about ten per second, so the hwm second likely holds several.
			w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 1000, Generators: map[string]sim.Generator{
				"events/audit": {Backlog: 600, BacklogSpan: time.Minute},
			}})
			cfg := w.config([]string{"audit"}, nil)
			store := state.NewMemory().Namespace("p")
			s1, _ := newSource(t, cfg, store)
			pub1 := plugintest.NewPublisher(plugintest.AckAsync)
			stop1 := runFor(t, fast(s1, 100), pub1)
			waitIDs(t, pub1, w.ids(sim.Events, "audit"), 0)
			// Caught up: the next `next` answers an empty page, acknowledged at once.
			pub1.WaitUntil(t, 0, "the empty page after the backlog", func() bool {
				for _, r := range w.requests("events/audit")[1:] {
					if r.op == opNext {
						return true
					}
				}
				return false
			})
			// "pending" was saved before that `next`: "acked" again is its empty page acknowledged.
			pub1.WaitUntil(t, 0, "the empty page to be acknowledged", func() bool {
				return savedPosition(t, store, "events/audit").State == stateAcked
			})
			if err := stop1(); err != nil {
				t.Fatal(err)
			}
			pos := savedPosition(t, store, "events/audit")
			recs := w.tenant.Records(sim.Events, "audit")
			inHWM := 0
			var last []elem
			for _, r := range recs {
				if r.Inserted == pos.HWM {
					inHWM++
				}
				last = append(last, elem{raw: r.Raw})
			}
			if want := encodeTail(extendTail(nil, last)); pos.State != stateAcked || inHWM < 1 || pos.Tail != want {
				t.Fatalf("saved %+v; want acked with the tail %s of the last %d records", pos, want, tailLen)
			}
			// The crash: "pending" was saved before a `next` whose answer (empty) was lost.
			pos.State = statePending
			c.tamper(&pos)
			if err := store.Put(context.Background(), "position/events/audit", pos.encode()); err != nil {
				t.Fatal(err)
			}
			before := len(w.requests(""))
			s2, _ := newSource(t, cfg, store)
			pub2 := plugintest.NewPublisher(plugintest.AckAsync)
			stop2 := runFor(t, fast(s2, 100), pub2)
			pub2.WaitUntil(t, 0, "resend, the seed and a next", func() bool { return len(w.requests("")) >= before+3 })
			pub2.WaitUntil(t, 0, "every page to be acknowledged", func() bool { return len(pub2.Pending()) == 0 })
			_ = stop2()
			rs := w.requests("")[before:]
			if rs[0].op != opResend || rs[1].op != opEpoch(pos.HWM) {
				t.Fatalf("requests after the restart: %v; want resend then %s", rs, opEpoch(pos.HWM))
			}
			got := len(pub2.Records())
			switch {
			case c.wantDups && got != inHWM:
				t.Errorf("published %d records again; want the %d of the hwm second", got, inHWM)
			case !c.wantDups && got != 0:
				t.Errorf("published %d records again; want none (all were delivered)", got)
			}
		})
	}
}
