package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/plugin"
)

// lagEvery is how often a single process's partition lag is set from the progress its source
// last reported.
const lagEvery = 5 * time.Second

// laggedPartitions is a single process's Partitions that also shows each partition's lag: like
// plugin.AllPartitions it owns every partition at once, and its leases are ProgressLeases whose
// progress sets logshipper_partition_lag_seconds{partition} (now − the latest data delivered
// and saved) at each report and every lagEvery, so that a source that stalls shows a growing
// lag; the series goes when the lease ends. (Cluster mode's leases do the same at each renewal.)
type laggedPartitions struct {
	lag cluster.LagGauge
}

var _ plugin.Partitions = laggedPartitions{}

// Acquire implements plugin.Partitions.
func (p laggedPartitions) Acquire(ctx context.Context, key string) (plugin.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l := &laggedLease{ctx: ctx, key: key, lag: p.lag}
	go l.run()
	return l, nil
}

type laggedLease struct {
	ctx      context.Context
	key      string
	lag      cluster.LagGauge
	progress atomic.Int64 // unix nanoseconds; 0: none reported
}

var _ plugin.ProgressLease = (*laggedLease)(nil)

func (l *laggedLease) Context() context.Context { return l.ctx }
func (l *laggedLease) Release()                 {}

// Progress implements plugin.ProgressLease.
func (l *laggedLease) Progress(at time.Time) {
	l.progress.Store(at.UnixNano())
	l.set(time.Now())
}

func (l *laggedLease) set(now time.Time) {
	if p := l.progress.Load(); p != 0 {
		l.lag.WithLabelValues(l.key).Set(max(0, now.Sub(time.Unix(0, p)).Seconds()))
	}
}

// run refreshes the lag until the lease's context ends, then removes its series.
func (l *laggedLease) run() {
	t := time.NewTicker(lagEvery)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			l.lag.DeleteLabelValues(l.key)
			return
		case now := <-t.C:
			l.set(now)
		}
	}
}
