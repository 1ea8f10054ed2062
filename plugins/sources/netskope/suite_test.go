package netskope

import (
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// onePage is why the suite's cases that leave batches unacknowledged while expecting newer
// records to be published do not apply: a partition never asks for the next page before the
// page it holds is acknowledged, because the server's iterator can only resend its last page.
// TestRestart, TestNackResends and TestFaultsLoseNothing check the same properties (a restart
// after acknowledged pages publishes nothing again; an unacknowledged or nacked page is
// published again) under that protocol.
const onePage = "one page in flight per endpoint: the iterator can only resend its last page, so the next page is not asked for before the one held is acknowledged (see TestRestart, TestNackResends)"

// The conformance suite, over a simulated tenant: Produce generates records in the tenant,
// alternately on an event and an alert endpoint, so the suite sees two partitions.
func TestSourceSuite(t *testing.T) {
	var (
		w     *world
		calls int
	)
	plugintest.RunSourceSuite(t, plugintest.SourceHarness{
		Setup: func(t *testing.T) {
			w = newWorld(t, sim.Options{RateLimit: -1, PageSize: 3})
			calls = 0
		},
		New: func(t *testing.T, store state.Store) plugin.Source {
			cfg := w.config([]string{"audit"}, []string{"dlp"})
			s, err := New(cfg, plugintest.Settings(t, "src", store))
			if err != nil {
				t.Fatal(err)
			}
			return fast(s, 200)
		},
		Produce: func(t *testing.T, n int) []string {
			calls++
			kind, typ := sim.Events, "audit"
			if calls%2 == 0 {
				kind, typ = sim.Alerts, "dlp"
			}
			if err := w.tenant.Generate(kind, typ, n); err != nil {
				t.Fatal(err)
			}
			recs := w.tenant.Records(kind, typ)
			var ids []string
			for _, r := range recs[len(recs)-n:] {
				ids = append(ids, r.ID)
			}
			return ids
		},
		Key: func(r *event.Record) string { return r.ID },
		Skip: map[string]string{
			plugintest.CaseCheckpoint: onePage,
			plugintest.CaseAckOrder:   onePage,
			plugintest.CaseNack:       onePage,
		},
	})
}
