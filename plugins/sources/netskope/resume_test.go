package netskope

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// The shipper stops (a kill: nothing is saved after the position "pending") while the seek
// that seeds the index is in flight. After the restart the first request is that seek again and
// it answers the records: delivery resumes within one API call, and nothing is lost. The seek
// either never reached the tenant (the index is unknown to it: resend would answer an empty
// page, whose wait_time holds the next request back) or was served and its answer lost.
func TestRestartDuringSeekResumesWithTheSeek(t *testing.T) {
	for _, tc := range []struct {
		name   string
		served bool // the tenant served the seek before the stop
	}{
		{name: "seek never served", served: false},
		{name: "seek served, answer lost", served: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
				"events/audit": {Backlog: 150, BacklogSpan: 6 * time.Hour},
			}})
			const ep = "events/audit"
			held := make(chan struct{}, 1)
			w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
				if tc.served {
					w.tenant.ServeHTTP(httptest.NewRecorder(), r)
				}
				select {
				case held <- struct{}{}:
				default:
				}
				<-r.Context().Done() // the answer never comes back
				return true
			})
			cfg := w.config([]string{"audit"}, nil)
			store := state.NewMemory().Namespace("p")
			s1, _ := newSource(t, cfg, store)
			stop1 := runFor(t, fast(s1, 100), plugintest.NewPublisher(plugintest.AckAsync))
			select {
			case <-held:
			case <-time.After(plugintest.DefaultTimeout):
				t.Fatal("the seek never reached the server")
			}
			_ = stop1()
			w.setIntercept(nil)
			if p := savedPosition(t, store, ep); p.State != statePending {
				t.Fatalf("saved %+v before the restart, want pending", p)
			}
			before := len(w.requests(ep))

			s2, _ := newSource(t, cfg, store)
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			stop2 := runFor(t, fast(s2, 100), pub)
			pub.WaitRecords(t, 1)
			after := w.requests(ep)[before:]
			if len(after) > 1 {
				var ops []string
				for _, r := range after {
					ops = append(ops, r.op)
				}
				t.Errorf("the restart made %d API calls (%v) before the first record was published, want 1 (the seek)", len(after), ops)
			}
			waitIDs(t, pub, w.ids(sim.Events, "audit"), 0)
			_ = stop2()
		})
	}
}

// Caught up and stopped gracefully ("acked"); while down, records are inserted and the tenant
// forgets the index. The restart's resend answers an empty page and the seek at the saved hwm
// that follows is in flight when the shipper is killed. The next restart makes that seek
// again as its first request, skips the records of the hwm's second delivered before (the
// tail), and delivers the new ones: none lost, none twice.
func TestRestartDuringReseedSkipsTheTail(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Generators: map[string]sim.Generator{
		"events/audit": {Backlog: 150, BacklogSpan: 6 * time.Hour},
	}})
	const ep = "events/audit"
	cfg := w.config([]string{"audit"}, nil)
	store := state.NewMemory().Namespace("p")
	s1, _ := newSource(t, cfg, store)
	pub1 := plugintest.NewPublisher(plugintest.AckAsync)
	stop1 := runFor(t, fast(s1, 100), pub1)
	delivered := w.ids(sim.Events, "audit")
	waitIDs(t, pub1, delivered, 0)
	pub1.WaitUntil(t, 0, "every page to be acknowledged", func() bool { return len(pub1.Pending()) == 0 })
	_ = stop1()
	if p := savedPosition(t, store, ep); p.State != stateAcked {
		t.Fatalf("saved %+v, want acked", p)
	}

	fresh := w.generate(t, sim.Events, "audit", 20)
	forget := func(r *http.Request) {
		q := r.URL.Query()
		q.Set("index", q.Get("index")+"_forgotten")
		r.URL.RawQuery = q.Encode()
	}
	held := make(chan struct{}, 1)
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		forget(r)
		if !isEpoch(r.URL.Query().Get("operation")) {
			return false
		}
		select {
		case held <- struct{}{}:
		default:
		}
		<-r.Context().Done() // killed while the seek is in flight
		return true
	})
	s2, _ := newSource(t, cfg, store)
	stop2 := runFor(t, fast(s2, 100), plugintest.NewPublisher(plugintest.AckAsync))
	select {
	case <-held:
	case <-time.After(plugintest.DefaultTimeout):
		t.Fatal("the seek at the saved hwm never reached the server")
	}
	_ = stop2()
	if p := savedPosition(t, store, ep); p.State != statePending || p.Seek == 0 {
		t.Fatalf("saved %+v during the seek, want pending with seek", p)
	}

	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool { forget(r); return false })
	before := len(w.requests(ep))
	s3, _ := newSource(t, cfg, store)
	pub3 := plugintest.NewPublisher(plugintest.AckAsync)
	stop3 := runFor(t, fast(s3, 100), pub3)
	waitIDs(t, pub3, fresh, 0)
	pub3.WaitUntil(t, 0, "every page to be acknowledged", func() bool { return len(pub3.Pending()) == 0 })
	_ = stop3()
	if rs := w.requests(ep)[before:]; !isEpoch(rs[0].op) {
		t.Errorf("first request after the restart: operation=%s, want the seek", rs[0].op)
	}
	got := pub3.Records()
	if len(got) != len(fresh) {
		var again []string
		for _, r := range got {
			if !slices.Contains(fresh, r.ID) {
				again = append(again, r.ID)
			}
		}
		t.Errorf("the restart published %d records, want the %d inserted while down; delivered before and published again: %v", len(got), len(fresh), again)
	}
}
