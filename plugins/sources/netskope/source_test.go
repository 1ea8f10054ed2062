package netskope

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// Every record of a backlog spread over several endpoints arrives, through many pages, within
// the API's real rate limit (the simulator enforces 4 requests per second per endpoint: no 429).
// Records carry their _id, time, type and source; alerts keep their bytes, events get event_type.
func TestBacklogArrives(t *testing.T) {
	w := newWorld(t, sim.Options{
		Seed:     7,
		PageSize: 100,
		Generators: map[string]sim.Generator{
			"events/audit": {Backlog: 450, BacklogSpan: 2 * time.Hour},
			"alerts/dlp":   {Backlog: 350, BacklogSpan: 2 * time.Hour},
			"alerts/ctep":  {Backlog: 300, BacklogSpan: 2 * time.Hour},
		},
	})
	cfg := w.config([]string{"audit", "page"}, []string{"dlp", "ctep"})
	s, _ := newSource(t, cfg, nil)
	s.tune.maxWait = 20 * time.Millisecond // the API's own rate: 4 per second
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, s, pub)

	want := map[string][]string{
		"events/audit": w.ids(sim.Events, "audit"),
		"alerts/dlp":   w.ids(sim.Alerts, "dlp"),
		"alerts/ctep":  w.ids(sim.Alerts, "ctep"),
	}
	var all []string
	for _, ids := range want {
		all = append(all, ids...)
	}
	waitIDs(t, pub, all, 15*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	raws := map[string][]byte{}
	endpoints := map[string]string{} // the endpoint each record was served on
	for _, ep := range []struct {
		kind sim.Kind
		typ  string
	}{{sim.Events, "audit"}, {sim.Alerts, "dlp"}, {sim.Alerts, "ctep"}} {
		for _, r := range w.tenant.Records(ep.kind, ep.typ) {
			raws[r.ID] = r.Raw
			endpoints[r.ID] = string(ep.kind) + "/" + ep.typ
		}
	}
	for _, r := range pub.Records() {
		orig, ok := raws[r.ID]
		if !ok {
			t.Fatalf("record %q is not the tenant's", r.ID)
		}
		if r.Source != "ns-test" || r.Time.IsZero() {
			t.Errorf("record %s: source %q time %v", r.ID, r.Source, r.Time)
		}
		var f struct {
			Timestamp int64  `json:"timestamp"`
			AlertType string `json:"alert_type"`
		}
		if err := json.Unmarshal(orig, &f); err != nil {
			t.Fatal(err)
		}
		if r.Time.Unix() != f.Timestamp {
			t.Errorf("record %s: time %v, timestamp %d", r.ID, r.Time, f.Timestamp)
		}
		switch {
		case endpoints[r.ID] == "events/audit":
			if r.Kind != event.KindNetskopeEvent || r.Subtype != "audit" || string(r.Raw) != `{"event_type":"audit",`+string(orig[1:]) {
				t.Errorf("event %s: kind %q subtype %q raw %.80s", r.ID, r.Kind, r.Subtype, r.Raw)
			}
		default:
			if string(r.Raw) != string(orig) {
				t.Errorf("alert %s: raw changed", r.ID)
			}
			if r.Kind != event.KindNetskopeAlert || r.Subtype != strings.TrimPrefix(endpoints[r.ID], "alerts/") {
				t.Errorf("alert %s: kind %q subtype %q from endpoint %s (alert_type %q)", r.ID, r.Kind, r.Subtype, endpoints[r.ID], f.AlertType)
			}
		}
	}
	st := w.tenant.Stats()
	if n := st.ByStatus[http.StatusTooManyRequests]; n > 0 {
		t.Errorf("the source was rate-limited %d times: it must stay within 4 requests per second per endpoint", n)
	}
	// Requests per endpoint are spaced by at least 250ms on average over any 5 of them.
	for ep := range want {
		rs := w.requests(ep)
		for i := 4; i < len(rs); i++ {
			if d := rs[i].at.Sub(rs[i-4].at); d < 900*time.Millisecond {
				t.Errorf("%s: 5 requests within %s", ep, d)
				break
			}
		}
	}
	// A new index was seeded with an epoch, then read with next.
	for ep := range want {
		rs := w.requests(ep)
		if !isEpoch(rs[0].op) || rs[1].op != opNext {
			t.Errorf("%s: first operations %q, %q; want an epoch then next", ep, rs[0].op, rs[1].op)
		}
		if !strings.HasPrefix(rs[0].index, "logshipper_ns_test_") {
			t.Errorf("%s: index %q", ep, rs[0].index)
		}
	}
}

// The source waits wait_time seconds before its next call.
func TestWaitTimeHonoured(t *testing.T) {
	w := newWorld(t, sim.Options{WaitTime: 2, RateLimit: -1})
	cfg := w.config([]string{"audit"}, nil)
	cfg.Start = "now"
	s, _ := newSource(t, cfg, nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, s, pub)
	plugintest.Eventually(t, 6*time.Second, "two requests", func() bool { return len(w.requests("events/audit")) >= 2 })
	_ = stop()
	rs := w.requests("events/audit")
	if d := rs[1].at.Sub(rs[0].at); d < 1950*time.Millisecond {
		t.Errorf("the second request came %s after the first; wait_time was 2", d)
	}
}

// headerWriter rewrites the rate-limit headers of an answer.
type headerWriter struct {
	http.ResponseWriter
	set map[string]string
}

func (h headerWriter) WriteHeader(code int) {
	for k, v := range h.set {
		h.Header()[k] = []string{v}
	}
	h.ResponseWriter.WriteHeader(code)
}

// A 429 is retried after its Retry-After; RateLimit-Remaining: 0 holds the next call until
// RateLimit-Reset. Nothing is lost either way.
func TestRateLimitAnswers(t *testing.T) {
	for _, c := range []struct {
		name      string
		intercept func(w *world) func(http.ResponseWriter, *http.Request, int) bool
	}{
		{"429 Retry-After", func(w *world) func(http.ResponseWriter, *http.Request, int) bool {
			return func(rw http.ResponseWriter, r *http.Request, n int) bool {
				if n != 2 {
					return false
				}
				rw.Header()["Retry-After"] = []string{"1"}
				rw.WriteHeader(http.StatusTooManyRequests)
				_, _ = rw.Write([]byte(`{"message":"API rate limit exceeded"}`))
				return true
			}
		}},
		{"RateLimit-Remaining 0", func(w *world) func(http.ResponseWriter, *http.Request, int) bool {
			return func(rw http.ResponseWriter, r *http.Request, n int) bool {
				if n != 1 {
					return false
				}
				w.tenant.ServeHTTP(headerWriter{rw, map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "1"}}, r)
				return true
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, sim.Options{PageSize: 50, RateLimit: -1, Generators: map[string]sim.Generator{
				"events/audit": {Backlog: 200, BacklogSpan: time.Hour},
			}})
			w.setIntercept(c.intercept(w))
			s, set := newSource(t, w.config([]string{"audit"}, nil), nil)
			fast(s, 100)
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			stop := runFor(t, s, pub)
			waitIDs(t, pub, w.ids(sim.Events, "audit"), 0)
			_ = stop()
			rs := w.requests("events/audit")
			if d := rs[2].at.Sub(rs[1].at); c.name == "429 Retry-After" && d < 950*time.Millisecond {
				t.Errorf("retried %s after a 429 with Retry-After: 1", d)
			}
			if d := rs[1].at.Sub(rs[0].at); c.name != "429 Retry-After" && d < 950*time.Millisecond {
				t.Errorf("called again %s after RateLimit-Remaining: 0, RateLimit-Reset: 1", d)
			}
			if c.name == "429 Retry-After" {
				if rs[2].op != rs[1].op {
					t.Errorf("after a 429 the operation changed from %q to %q", rs[1].op, rs[2].op)
				}
				if testutil.ToFloat64(set.Metrics.Retries) < 1 {
					t.Error("the retry was not counted")
				}
			}
		})
	}
}

// 401 and 403 stop the configuration with a fatal error naming the tenant and the endpoint,
// never the token; the other partitions stop too.
func TestAuthFailuresAreFatal(t *testing.T) {
	for _, c := range []struct {
		name   string
		token  string
		tokens []sim.Token
		want   string
	}{
		{"401 unknown token", "not-the-token", nil, "401 Unauthorized"},
		{"403 endpoint not in scope", testToken, []sim.Token{{Value: testToken, Endpoints: []string{"events/*"}}}, "403 Forbidden"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, sim.Options{Tokens: c.tokens, RateLimit: -1})
			cfg := w.config([]string{"audit"}, []string{"dlp"})
			cfg.APIToken = config.NewSecret(c.token)
			s, _ := newSource(t, cfg, nil)
			fast(s, 100)
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			done := make(chan error, 1)
			go func() { done <- s.Run(context.Background(), pub) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not stop on an authentication failure")
			}
			if !plugin.IsFatal(err) {
				t.Fatalf("Run returned %v; want a fatal error", err)
			}
			msg := err.Error()
			host := strings.TrimPrefix(w.srv.URL, "http://")
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, host) || !strings.Contains(msg, "alerts/dlp") && !strings.Contains(msg, "events/audit") {
				t.Errorf("error %q does not name the status, tenant %s and endpoint", msg, host)
			}
			if c.name == "403 endpoint not in scope" && !strings.Contains(msg, "alerts/dlp") {
				t.Errorf("error %q does not name the forbidden endpoint", msg)
			}
			if strings.Contains(msg, c.token) {
				t.Errorf("error %q shows the token", msg)
			}
		})
	}
}

// Server errors, bodies cut short and "ok": 0 are retried (a cut body with resend): every record
// arrives.
func TestFaultsLoseNothing(t *testing.T) {
	for _, c := range []struct {
		name   string
		faults sim.Faults
	}{
		{"5xx", sim.Faults{ServerErrorRate: 0.3, ServerErrorStatus: 503}},
		{"cut bodies", sim.Faults{CutBodyRate: 0.3}},
		{"ok 0", sim.Faults{OKZeroRate: 0.3}},
		{"all", sim.Faults{ServerErrorRate: 0.15, CutBodyRate: 0.15, OKZeroRate: 0.15, SlowRate: 0.1, SlowDelay: 20 * time.Millisecond}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, sim.Options{Seed: 3, PageSize: 40, RateLimit: -1, Faults: c.faults, Generators: map[string]sim.Generator{
				"events/audit":   {Backlog: 600, BacklogSpan: 12 * time.Hour},
				"alerts/malware": {Backlog: 600, BacklogSpan: 12 * time.Hour},
			}})
			s, set := newSource(t, w.config([]string{"audit"}, []string{"malware"}), nil)
			fast(s, 200)
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			stop := runFor(t, s, pub)
			want := append(w.ids(sim.Events, "audit"), w.ids(sim.Alerts, "malware")...)
			waitIDs(t, pub, want, 20*time.Second)
			// Every fault injected by now is counted once the source has read its answer; one
			// answered while the source is being stopped may never be read, so the count is
			// judged before the stop.
			st := w.tenant.Stats()
			injected := st.Faults.ServerErrors + st.Faults.CutBodies + st.Faults.OKZero
			if injected == 0 {
				t.Fatal("no fault was injected")
			}
			deadline := time.Now().Add(10 * time.Second)
			for testutil.ToFloat64(set.Metrics.Errors) < float64(injected) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := testutil.ToFloat64(set.Metrics.Errors); got < float64(injected) {
				t.Errorf("errors counted %v, faults injected %d", got, injected)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			st = w.tenant.Stats()
			if c.faults.CutBodyRate > 0 && st.Endpoints["events/audit"].Resends+st.Endpoints["alerts/malware"].Resends == 0 {
				t.Error("cut bodies were not recovered with resend")
			}
			t.Logf("faults %+v; %d records published for %d ids", st.Faults, len(pub.Records()), len(want))
		})
	}
}

// savedPosition reads a partition's saved position.
func savedPosition(t *testing.T, store state.Store, ep string) position {
	t.Helper()
	b, err := store.Get(context.Background(), "position/"+ep)
	if err != nil {
		t.Fatalf("position of %s: %v", ep, err)
	}
	var p position
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// A page published and never acknowledged is asked for again after a restart (the first page:
// with the seek that answered it, which answers it again); once everything was acknowledged, a
// graceful restart publishes only new records.
func TestRestart(t *testing.T) {
	w := newWorld(t, sim.Options{PageSize: 100, RateLimit: -1, Generators: map[string]sim.Generator{
		"events/audit": {Backlog: 300, BacklogSpan: 6 * time.Hour},
	}})
	cfg := w.config([]string{"audit"}, nil)
	store := state.NewMemory().Namespace("plugin/ns")

	// 1. The first page is published and never acknowledged.
	s1, _ := newSource(t, cfg, store)
	pub1 := plugintest.NewPublisher(plugintest.Manual)
	stop1 := runFor(t, fast(s1, 100), pub1)
	pub1.WaitUntil(t, 0, "a first batch", func() bool { return len(pub1.Batches()) == 1 })
	time.Sleep(50 * time.Millisecond)
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	if n := len(pub1.Batches()); n != 1 {
		t.Fatalf("%d batches published while the first was not acknowledged; one page in flight at most", n)
	}
	if p := savedPosition(t, store, "events/audit"); p.State != statePending {
		t.Fatalf("saved position %+v; want pending", p)
	}
	first := pub1.Batches()[0]

	// 2. A restart asks for it again with the seek, then reads on.
	before := len(w.requests(""))
	s2, _ := newSource(t, cfg, store)
	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	stop2 := runFor(t, s2, pub2) // the real wait_time: idle between polls
	waitIDs(t, pub2, w.ids(sim.Events, "audit"), 0)
	if rs := w.requests(""); rs[before].op != rs[0].op || !isEpoch(rs[0].op) {
		t.Fatalf("first request after the restart: operation=%s; want the seek that answered the page, %s", rs[before].op, rs[0].op)
	}
	b0 := pub2.Batches()[0]
	if !slices.Equal(b0.Keys(plugintest.RawKey), first.Keys(plugintest.RawKey)) {
		t.Error("the resent page differs from the page first published")
	}
	pub2.WaitUntil(t, 0, "every page to be acknowledged", func() bool { return len(pub2.Pending()) == 0 })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	if p := savedPosition(t, store, "events/audit"); p.State != stateAcked {
		t.Fatalf("saved position %+v after everything was acknowledged; want acked", p)
	}

	// 3. A graceful restart publishes the new records only.
	fresh := w.generate(t, sim.Events, "audit", 5)
	s3, _ := newSource(t, cfg, store)
	pub3 := plugintest.NewPublisher(plugintest.AckAsync)
	stop3 := runFor(t, fast(s3, 100), pub3)
	waitIDs(t, pub3, fresh, 0)
	pub3.WaitUntil(t, 0, "every page to be acknowledged", func() bool { return len(pub3.Pending()) == 0 })
	_ = stop3()
	if got := idsOf(pub3.Records()); !slices.Equal(got, sortedCopy(fresh)) {
		t.Errorf("after a graceful restart the source published %d ids %v; want only the 5 new ones", len(got), got)
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// A nacked page is asked for again with resend, byte for byte, and the source goes on.
func TestNackResends(t *testing.T) {
	w := newWorld(t, sim.Options{PageSize: 100, RateLimit: -1, Generators: map[string]sim.Generator{
		"alerts/policy": {Backlog: 250, BacklogSpan: 6 * time.Hour},
	}})
	s, set := newSource(t, w.config(nil, []string{"policy"}), nil)
	pub := plugintest.NewPublisher(plugintest.Manual)
	stop := runFor(t, fast(s, 100), pub)
	pub.WaitUntil(t, 0, "a first batch", func() bool { return len(pub.Batches()) == 1 })
	pub.Batches()[0].Nack()
	pub.WaitUntil(t, 0, "the page again", func() bool { return len(pub.Batches()) == 2 })
	b := pub.Batches()
	if !slices.Equal(b[0].Keys(plugintest.RawKey), b[1].Keys(plugintest.RawKey)) {
		t.Fatal("the page published after the nack differs from the nacked one")
	}
	rs := w.requests("alerts/policy")
	if rs[len(rs)-1].op != opResend {
		t.Errorf("after a nack the source asked operation=%s; want resend", rs[len(rs)-1].op)
	}
	ackAll := make(chan struct{})
	go func() {
		for {
			select {
			case <-ackAll:
				return
			case <-time.After(2 * time.Millisecond):
				pub.AckAll()
			}
		}
	}()
	waitIDs(t, pub, w.ids(sim.Alerts, "policy"), 0)
	close(ackAll)
	_ = stop()
	if testutil.ToFloat64(set.Metrics.Retries) < 1 {
		t.Error("the resend was not counted as a retry")
	}
}

// Records keep every digit of 64-bit integers and every byte; their kind and subtype come from
// the endpoint (the ctep endpoint's ctep, ips and c2 alerts are all ctep; an alert_type that
// names another type does not change it); events get event_type.
func TestRecordsExactAndTyped(t *testing.T) {
	now := time.Now().Unix()
	w := newWorld(t, sim.Options{RateLimit: -1})
	alerts := []string{
		fmt.Sprintf(`{"_id":"c1","timestamp":%d,"alert_type":"ctep","transaction_id":9007199254740993123,"score":1.10,"s":"\u00e9\"x"}`, now-50),
		fmt.Sprintf(`{"_id":"c2","timestamp":%d,"alert_type":"ips","incident_id":18446744073709551615}`, now-40),
		fmt.Sprintf(`{"_id":"c3","timestamp":%d,"alert_type":"c2","n":-0.0e+0}`, now-30),
		fmt.Sprintf(`{"_id":"c4","timestamp":%d}`, now-20),
	}
	creds := fmt.Sprintf(`{"_id":"cc1","timestamp":%d,"alert_type":"Compromised Credential","breach_id":1234567890123456789}`, now-10)
	odd := fmt.Sprintf(`{"_id":"cc2","timestamp":%d,"alert_type":"uba"}`, now-9)
	events := fmt.Sprintf(`{"_id":"n1","timestamp":%d,"connection_id":9223372036854775807,"nested":{"event_type":"keep"}}`, now-5)
	load := func(kind sim.Kind, typ string, recs ...string) {
		if _, err := w.tenant.LoadFile(kind, typ, strings.NewReader(strings.Join(recs, "\n"))); err != nil {
			t.Fatal(err)
		}
	}
	load(sim.Alerts, "ctep", alerts...)
	load(sim.Alerts, "compromisedcredential", creds, odd)
	load(sim.Events, "network", events)

	s, _ := newSource(t, w.config([]string{"network"}, []string{"ctep", "compromisedcredential"}), nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, fast(s, 100), pub)
	waitIDs(t, pub, []string{"c1", "c2", "c3", "c4", "cc1", "cc2", "n1"}, 0)
	_ = stop()
	byID := map[string]*event.Record{}
	for _, r := range pub.Records() {
		byID[r.ID] = r
	}
	alert, ev := event.KindNetskopeAlert, event.KindNetskopeEvent
	want := map[string]struct {
		kind     event.Kind
		typ, raw string
	}{
		"c1":  {alert, "ctep", alerts[0]},
		"c2":  {alert, "ctep", alerts[1]},
		"c3":  {alert, "ctep", alerts[2]},
		"c4":  {alert, "ctep", alerts[3]},
		"cc1": {alert, "compromisedcredential", creds},
		"cc2": {alert, "compromisedcredential", odd},
		"n1":  {ev, "network", `{"event_type":"network",` + events[1:]},
	}
	for id, w := range want {
		r := byID[id]
		if r.Kind != w.kind || r.Subtype != w.typ || string(r.Raw) != w.raw {
			t.Errorf("%s: kind %q subtype %q raw %s; want %q %q %s", id, r.Kind, r.Subtype, r.Raw, w.kind, w.typ, w.raw)
		}
	}
	f, err := byID["c1"].Fields()
	if err != nil {
		t.Fatal(err)
	}
	if v := fmt.Sprint(f["transaction_id"]); v != "9007199254740993123" {
		t.Errorf("transaction_id decodes as %s", v)
	}
	nf, _ := byID["n1"].Fields()
	if nf["event_type"] != "network" || fmt.Sprint(nf["connection_id"]) != "9223372036854775807" {
		t.Errorf("event fields %v", nf)
	}
}

// page writes a data-export answer.
func page(rw http.ResponseWriter, body string) {
	rw.Header().Set("Content-Type", "application/json")
	_, _ = rw.Write([]byte(body))
}

// Records that are not JSON objects go to the Dropper as invalid; the page's good records are
// published and the page is acknowledged (the index moves on).
func TestMalformedRecords(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1})
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			page(rw, `{"ok":1,"result":[{"_id":"good1","timestamp":1700000000},42,{"_id":"bad", "x": nope},`+
				`"str",{"_id":"good2","timestamp":1700000001}],"wait_time":0,"timestamp_hwm":1700000001}`)
		} else {
			page(rw, `{"ok":1,"result":[],"wait_time":1,"timestamp_hwm":1700000001}`)
		}
		return true
	})
	s, set := newSource(t, w.config(nil, []string{"dlp"}), nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, fast(s, 100), pub)
	waitIDs(t, pub, []string{"good1", "good2"}, 0)
	plugintest.Eventually(t, 0, "the next page", func() bool { return len(w.requests("")) >= 2 })
	_ = stop()
	drops := plugintest.DropperOf(t, set).Drops()
	var raws []string
	for _, d := range drops {
		if d.Reason != plugin.ReasonInvalid {
			t.Errorf("drop reason %s", d.Reason)
		}
		raws = append(raws, string(d.Raw))
	}
	if want := []string{`42`, `{"_id":"bad", "x": nope}`, `"str"`}; !slices.Equal(raws, want) {
		t.Errorf("dropped %q; want %q", raws, want)
	}
	if n := len(pub.Records()); n != 2 {
		t.Errorf("%d records published; want 2", n)
	}
	if op := w.requests("")[1].op; op != opNext {
		t.Errorf("after the page the source asked operation=%s; want next (the page was acknowledged)", op)
	}
}

// A complete JSON answer that is not a page is asked for again; the same bytes the third time
// running are kept in the dead-letter store and the index moves on. While the dead-letter store fails, the page is
// not acknowledged.
func TestBrokenAnswers(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1})
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		switch {
		case n <= 3:
			page(rw, `{"unexpected":"not a data-export answer"}`)
		case n == 4:
			page(rw, `{"ok":1,"result":[{"_id":"after","timestamp":1700000000},[1]],"wait_time":0,"timestamp_hwm":1700000000}`)
		default:
			page(rw, `{"ok":1,"result":[],"wait_time":1,"timestamp_hwm":1700000000}`)
		}
		return true
	})
	s, set := newSource(t, w.config(nil, []string{"dlp"}), nil)
	dropper := plugintest.DropperOf(t, set)
	dropper.Fail(fmt.Errorf("disk full"))
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	stop := runFor(t, fast(s, 100), pub)
	plugintest.Eventually(t, 0, "three requests", func() bool { return len(w.requests("")) >= 3 })
	time.Sleep(100 * time.Millisecond)
	if n := len(w.requests("")); n != 3 {
		t.Fatalf("%d requests: the index moved on while the broken answer could not be kept", n)
	}
	dropper.Fail(nil)
	waitIDs(t, pub, []string{"after"}, 0)
	_ = stop()
	rs := w.requests("")
	for i := range 3 {
		if !isEpoch(rs[i].op) {
			t.Errorf("request %d: operation=%s; a failed seed is retried as itself", i, rs[i].op)
		}
	}
	if rs[3].op != opNext {
		t.Errorf("after the dropped answer: operation=%s; want next", rs[3].op)
	}
	if d := dropper.Drops(); len(d) != 2 || string(d[0].Raw) != `{"unexpected":"not a data-export answer"}` || string(d[1].Raw) != `[1]` {
		t.Errorf("drops %+v", d)
	}
}

// start: where an index with no saved position starts.
func TestStartPositions(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		start string
		from  time.Time // records inserted from then are expected; zero: none of the backlog
	}{
		{"now", time.Time{}},
		{"-24h", t0.Add(-24 * time.Hour)},
		{"-90m", t0.Add(-90 * time.Minute)},
		{"-2d", t0.Add(-48 * time.Hour)},
		{"2026-03-01T18:30:00Z", time.Date(2026, 3, 1, 18, 30, 0, 0, time.UTC)},
		{"2026-03-02T10:00:00+01:00", time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
	} {
		t.Run(c.start, func(t *testing.T) {
			clock := sim.NewManualClock(t0)
			w := newWorld(t, sim.Options{Now: clock.Now, RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
				"events/audit": {Backlog: 600, BacklogSpan: 60 * time.Hour},
			}})
			cfg := w.config([]string{"audit"}, nil)
			cfg.Start = c.start
			s, _ := newSource(t, cfg, nil)
			s.tune.now = clock.Now
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			stop := runFor(t, fast(s, 100), pub)
			var want []string
			for _, r := range w.tenant.Records(sim.Events, "audit") {
				if !c.from.IsZero() && r.Inserted >= c.from.Unix() {
					want = append(want, r.ID)
				}
			}
			if c.from.IsZero() {
				want = append(want, w.generate(t, sim.Events, "audit", 3)...)
			}
			waitIDs(t, pub, want, 0)
			// A few more polls, for records that should not come.
			n := len(w.requests(""))
			plugintest.Eventually(t, 0, "more polls", func() bool { return len(w.requests("")) >= n+3 })
			_ = stop()
			if got := idsOf(pub.Records()); !slices.Equal(got, sortedCopy(want)) {
				t.Errorf("published %d ids, want %d (extra %v)", len(got), len(want), missing(got, sortedCopy(want)))
			}
			if op := w.requests("")[0].op; op != opEpoch(c.from.Unix()) && !c.from.IsZero() {
				t.Errorf("seeded with operation=%s, want %d", op, c.from.Unix())
			}
		})
	}
}
