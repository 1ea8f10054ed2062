package netskope

import (
	"sync"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// suiteEndpoints returns the endpoints the conformance suite's source reads; Produce puts each
// call's records on the next one. A partition holds one page until it is acknowledged (the
// server's iterator can only resend its last page), so records produced on an endpoint whose
// page is unacknowledged would not be asked for; with an endpoint per call no case needs that
// (no case produces more often than there are endpoints), and every call's records fit one page.
func suiteEndpoints() []sim.Endpoint {
	return []sim.Endpoint{
		{Kind: sim.Events, Type: "audit"},
		{Kind: sim.Alerts, Type: "dlp"},
		{Kind: sim.Events, Type: "application"},
		{Kind: sim.Alerts, Type: "malware"},
		{Kind: sim.Events, Type: "network"},
		{Kind: sim.Alerts, Type: "policy"},
	}
}

// suitePageSize is more than any one Produce call of the suite makes.
const suitePageSize = 10

// The conformance suite, over a simulated tenant: Produce generates records in the tenant, each
// call on an endpoint of its own, so the suite sees several partitions.
func TestSourceSuite(t *testing.T) {
	var (
		w      *world
		calls  int
		events []string
		alerts []string
		mu     sync.Mutex
		partOf map[string]string // record id → partition key
	)
	eps := suiteEndpoints()
	for _, ep := range eps {
		if ep.Kind == sim.Events {
			events = append(events, ep.Type)
		} else {
			alerts = append(alerts, ep.Type)
		}
	}
	plugintest.RunSourceSuite(t, plugintest.SourceHarness{
		Setup: func(t *testing.T) {
			w = newWorld(t, sim.Options{RateLimit: -1, PageSize: suitePageSize})
			calls = 0
			mu.Lock()
			partOf = map[string]string{}
			mu.Unlock()
		},
		New: func(t *testing.T, store state.Store) plugin.Source {
			s, err := New(w.config(events, alerts), plugintest.Settings(t, "src", store))
			if err != nil {
				t.Fatal(err)
			}
			return fast(s, 200)
		},
		NewOwned: func(t *testing.T, store state.Store, parts plugin.Partitions) plugin.Source {
			set := plugintest.Settings(t, "src", store)
			set.Partitions = parts
			s, err := New(w.config(events, alerts), set)
			if err != nil {
				t.Fatal(err)
			}
			return fast(s, 200)
		},
		Partition: func(r *event.Record) string {
			mu.Lock()
			defer mu.Unlock()
			return partOf[r.ID]
		},
		Produce: func(t *testing.T, n int) []string {
			if n > suitePageSize {
				t.Fatalf("harness: Produce(%d) makes more than a page of %d", n, suitePageSize)
			}
			if calls == len(eps) {
				t.Fatalf("harness: more than %d Produce calls in one case; add endpoints", len(eps))
			}
			ep := eps[calls]
			calls++
			if err := w.tenant.Generate(ep.Kind, ep.Type, n); err != nil {
				t.Fatal(err)
			}
			recs := w.tenant.Records(ep.Kind, ep.Type)
			var ids []string
			mu.Lock()
			defer mu.Unlock()
			for _, r := range recs[len(recs)-n:] {
				ids = append(ids, r.ID)
				partOf[r.ID] = string(ep.Kind) + "/" + ep.Type
			}
			return ids
		},
		Key: func(r *event.Record) string { return r.ID },
	})
}
