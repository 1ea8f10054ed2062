package netskope

import (
	"net/http"
	"net/http/httptest"
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
