package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
)

// A member's partition leases show in its metrics, labelled with its node and the source:
// logshipper_partition_moves_total counts them by event, logshipper_partitions_owned follows
// the leases held. A destination, which reads no partitions, has neither.
func TestPartitionMovesInMemberMetrics(t *testing.T) {
	srv := clustertest.Start(t, 1)
	dir := t.TempDir()
	yaml := fmt.Sprintf(`data_dir: %s
admin: {listen: ""}
cluster: {urls: [%s], node: ls-1, replicas: 1, lease_ttl: 2s}
plugins:
  - {name: in, type: capture}
  - {name: out, type: capture, kind: destination}
siem_mappings:
  - {source: in, destination: out}
`, filepath.Join(dir, "data"), strings.Join(srv.URLs(), ", "))
	c := &captured{set: map[string]plugin.Settings{}}
	reg := c.registry(t)
	cfg, err := config.Parse([]byte(yaml), "t.yaml", reg, config.Resolver{}, app.LoadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := app.New(ctx, cfg, reg, slog.New(slog.NewTextHandler(io.Discard, nil)), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopped, stop := context.WithCancel(ctx)
		stop()
		if err := a.Run(stopped); err != nil {
			t.Error(err)
		}
	}()
	parts := c.set["in"].Partitions
	if parts == nil {
		t.Fatal("the source in has no Partitions in cluster mode")
	}

	const series = `
# HELP logshipper_partition_moves_total Cluster mode: partition leases this member acquired (event acquired) or that ended (handed_over, released, lost, lost_at_release, release_failed, closed), by event.
# TYPE logshipper_partition_moves_total counter
logshipper_partition_moves_total{event="acquired",node="ls-1",plugin="in"} %d
logshipper_partition_moves_total{event="closed",node="ls-1",plugin="in"} 0
logshipper_partition_moves_total{event="handed_over",node="ls-1",plugin="in"} 0
logshipper_partition_moves_total{event="lost",node="ls-1",plugin="in"} 0
logshipper_partition_moves_total{event="lost_at_release",node="ls-1",plugin="in"} 0
logshipper_partition_moves_total{event="release_failed",node="ls-1",plugin="in"} 0
logshipper_partition_moves_total{event="released",node="ls-1",plugin="in"} %d
# HELP logshipper_partitions_owned Cluster mode: partition leases this member holds.
# TYPE logshipper_partitions_owned gauge
logshipper_partitions_owned{node="ls-1",plugin="in"} %d
`
	check := func(when string, acquired, released, owned int) {
		t.Helper()
		want := fmt.Sprintf(series, acquired, released, owned)
		if err := testutil.GatherAndCompare(a.Metrics().Registry, strings.NewReader(want), "logshipper_partition_moves_total", "logshipper_partitions_owned"); err != nil {
			t.Errorf("%s: %v", when, err)
		}
	}
	check("before any lease", 0, 0, 0)
	l, err := parts.Acquire(ctx, "alerts/dlp")
	if err != nil {
		t.Fatal(err)
	}
	check("with a lease held", 1, 0, 1)
	l.Release()
	check("after its release", 1, 1, 0)
}
