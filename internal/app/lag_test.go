package app

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/plugin"
)

// A single process's lease shows its partition's lag from the progress its source reports,
// and the series goes when the lease ends.
func TestLaggedPartitionsShowTheLag(t *testing.T) {
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lag"}, []string{"partition"})
	var parts plugin.Partitions = laggedPartitions{lag: gauge}
	ctx, cancel := context.WithCancel(context.Background())
	l, err := parts.Acquire(ctx, "alerts/dlp")
	if err != nil {
		t.Fatal(err)
	}
	plugin.ReportProgress(l, time.Now().Add(-90*time.Second))
	if got := testutil.ToFloat64(gauge.WithLabelValues("alerts/dlp")); got < 90 || got > 120 {
		t.Errorf("lag %v s after progress 90 s ago; want about 90", got)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for testutil.CollectAndCount(gauge) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the lag series stayed after the lease ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
