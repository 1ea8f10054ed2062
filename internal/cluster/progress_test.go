package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/plugin"
)

// leaseInfo returns the lease of src/key in c's Status, if any.
func leaseInfo(t *testing.T, c *Cluster, key string) (LeaseInfo, bool) {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range st.Leases {
		if l.Plugin == "src" && l.Partition == key {
			return l, true
		}
	}
	return LeaseInfo{}, false
}

// Progress reported through a lease is written by its next renewal: Status shows it, and the
// member's lag gauge gives the time from it to the renewal; the gauge goes with the lease.
func TestLeaseProgressInStatusAndLagGauge(t *testing.T) {
	nats := clustertest.Start(t, 3)
	a := join(t, testConfig(nats, "ls", "a", testTTL))
	observer, err := Observe(context.Background(), testConfig(nats, "ls", "observer", testTTL), testLog(t, "observer"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = observer.Close() })

	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lag_seconds"}, []string{"partition"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := a.MeteredPartitions("src", PartitionMetrics{Lag: lag}).Acquire(ctx, "alerts/dlp")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.(plugin.ProgressLease); !ok {
		t.Fatalf("a cluster lease (%T) is not a plugin.ProgressLease", l)
	}

	// Before any report: the lease has no progress and the gauge no series.
	first, ok := leaseInfo(t, observer, "alerts/dlp")
	if !ok || !first.Progress.IsZero() {
		t.Fatalf("lease before a progress report = %+v, %v; want it with no progress", first, ok)
	}
	waitFor(t, 2*testTTL, "a renewal", func() bool {
		li, _ := leaseInfo(t, observer, "alerts/dlp")
		return li.Renewed.After(first.Renewed)
	})
	if li, _ := leaseInfo(t, observer, "alerts/dlp"); !li.Progress.IsZero() {
		t.Errorf("a renewal with no progress reported wrote progress %s", li.Progress)
	}
	if n := testutil.CollectAndCount(lag); n != 0 {
		t.Errorf("the lag gauge has %d series before any progress was reported; want none", n)
	}

	progress := time.Now().Add(-90 * time.Second).UTC().Truncate(time.Millisecond)
	plugin.ReportProgress(l, progress.Add(-time.Hour)) // superseded: the latest report wins
	plugin.ReportProgress(l, progress)
	var got LeaseInfo
	waitFor(t, 2*testTTL, "the reported progress in Status", func() bool {
		got, _ = leaseInfo(t, observer, "alerts/dlp")
		return !got.Progress.IsZero()
	})
	if !got.Progress.Equal(progress) {
		t.Errorf("Status progress = %s; want %s", got.Progress, progress)
	}
	if got.Owner != "a" || got.Renewed.Before(got.Since) {
		t.Errorf("lease = %+v; want owner a, renewed after since", got)
	}
	waitFor(t, 2*testTTL, "the lag gauge", func() bool { return testutil.CollectAndCount(lag) == 1 })
	if v, want := testutil.ToFloat64(lag.WithLabelValues("alerts/dlp")), got.Renewed.Sub(progress).Seconds(); v < 90 || v > want+testTTL.Seconds() {
		t.Errorf("lag gauge = %.3fs; want from 90s to about %.3fs (renewal − progress)", v, want)
	}

	l.Release()
	if n := testutil.CollectAndCount(lag); n != 0 {
		t.Errorf("the lag gauge keeps %d series after the lease was released; want none", n)
	}
	if li, ok := leaseInfo(t, observer, "alerts/dlp"); ok {
		t.Errorf("lease after Release = %+v; want it gone", li)
	}
}
