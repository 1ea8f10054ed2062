package netskope

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// savedHWM returns the timestamp_hwm of the position saved for key ("alerts/dlp"), or 0.
func savedHWM(t *testing.T, store state.Store, key string) int64 {
	t.Helper()
	b, err := store.Get(context.Background(), "position/"+key)
	if err != nil {
		return 0
	}
	var pos position
	if err := json.Unmarshal(b, &pos); err != nil {
		t.Fatalf("saved position %q: %v", b, err)
	}
	return pos.HWM
}

// A partition tells its lease how far it has got: the hwm of the position it saved, after each
// save, and the saved position's at once when a lease starts.
func TestProgressReportedThroughTheLease(t *testing.T) {
	w := newWorld(t, simDefaults())
	cfg := w.config(nil, []string{"dlp"})
	store := state.NewMemory().Namespace("ns")
	const key = "alerts/dlp"

	parts := plugintest.NewPartitions("a")
	set := plugintest.Settings(t, "ns", store)
	set.Partitions = parts.Node("a")
	s, err := New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, fast(s, 200), pub)
	if err := w.tenant.Generate(sim.Alerts, "dlp", 5); err != nil {
		t.Fatal(err)
	}
	waitIDs(t, pub, w.ids(sim.Alerts, "dlp"), 30*time.Second)
	plugintest.Eventually(t, 0, "the saved position's hwm reported through the lease", func() bool {
		hwm := savedHWM(t, store, key)
		last, ok := parts.LastProgress(key)
		return hwm > 0 && ok && last.Node == "a" && last.At.Equal(time.Unix(hwm, 0))
	})
	run.Stop(t)
	saved := savedHWM(t, store, key)

	// The next lease hears of the saved position before anything is delivered under it: the
	// tenant answers nothing but errors now.
	w.setIntercept(func(rw http.ResponseWriter, _ *http.Request, _ int) bool {
		http.Error(rw, "down for the test", http.StatusServiceUnavailable)
		return true
	})
	parts2 := plugintest.NewPartitions("b")
	set2 := plugintest.Settings(t, "ns", store)
	set2.Partitions = parts2.Node("b")
	s2, err := New(cfg, set2)
	if err != nil {
		t.Fatal(err)
	}
	pub2 := plugintest.NewPublisher(plugintest.Manual)
	plugintest.Start(t, fast(s2, 200), pub2)
	plugintest.Eventually(t, 0, "a progress report from the restarted partition", func() bool {
		return len(parts2.Progress(key)) > 0
	})
	if got := parts2.Progress(key); len(got) != 1 || !got[0].At.Equal(time.Unix(saved, 0)) || got[0].Node != "b" {
		t.Errorf("progress of the new lease = %v; want one report of the saved hwm %s by b", got, time.Unix(saved, 0))
	}
	if n := len(pub2.Batches()); n != 0 {
		t.Errorf("%d batches published with the tenant down", n)
	}
}
