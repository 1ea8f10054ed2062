package netskope

import (
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// TestPagesInFlight: however many endpoints have a backlog, no more than pages_in_flight pages
// wait for their acknowledgement at once, and every page still arrives as earlier ones are
// acknowledged. (Pages under 1 MB give their token back when read; here every page counts.)
func TestPagesInFlight(t *testing.T) {
	for _, limit := range []int{1, 2} {
		t.Run(map[int]string{1: "one", 2: "two"}[limit], func(t *testing.T) {
			opts := simDefaults()
			opts.Generators = map[string]sim.Generator{"events/*": {Backlog: 30, BacklogSpan: time.Hour}}
			opts.PageSize = 10
			w := newWorld(t, opts)
			cfg := w.config([]string{"audit", "network", "application", "infrastructure"}, []string{})
			cfg.PagesInFlight = limit
			s, _ := newSource(t, cfg, state.NewMemory().Namespace("t"))
			pub := plugintest.NewPublisher(plugintest.Manual)
			s.tune.smallPage = 0 // these pages are small: count them all
			runFor(t, fast(s, 1000), pub)

			want := 4 * 30
			got, most := 0, 0
			// Twelve pages through one token, each endpoint waiting the tenant's wait_time
			// after its last: seconds on a quiet machine, more on a busy one.
			deadline := time.Now().Add(30 * time.Second)
			for got < want {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d records arrived", got, want)
				}
				// Let the other endpoints try to read more before acknowledging.
				time.Sleep(30 * time.Millisecond)
				pending := pub.Pending()
				most = max(most, len(pending))
				for _, b := range pending {
					if b.Ack() {
						got += len(b.Records)
					}
				}
			}
			if most != limit {
				t.Fatalf("at most %d pages waited for their acknowledgement at once; want %d", most, limit)
			}
		})
	}
}

// TestSmallPagesDoNotWait: pages under the small-page size do not hold a token, so endpoints
// with little to say do not wait on each other's acknowledgements.
func TestSmallPagesDoNotWait(t *testing.T) {
	opts := simDefaults()
	opts.Generators = map[string]sim.Generator{"events/*": {Backlog: 30, BacklogSpan: time.Hour}}
	opts.PageSize = 10
	w := newWorld(t, opts)
	cfg := w.config([]string{"audit", "network", "application", "infrastructure"}, []string{})
	cfg.PagesInFlight = 1
	s, _ := newSource(t, cfg, state.NewMemory().Namespace("t"))
	pub := plugintest.NewPublisher(plugintest.Manual)
	runFor(t, fast(s, 1000), pub)
	// Nothing is acknowledged, yet every endpoint gets its first page out.
	deadline := time.Now().Add(30 * time.Second)
	for len(pub.Pending()) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pages wait for their acknowledgement; want one per endpoint (4)", len(pub.Pending()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	pub.AckAll()
}
