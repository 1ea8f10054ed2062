package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/logshipper/logshipper/internal/plugin"
)

// partitions is one source's view of the leases.
type partitions struct {
	c      *Cluster
	plugin string
	log    *slog.Logger
	m      PartitionMetrics
}

// PartitionMetrics are where a member shows the partitions of one source it holds. A nil field
// shows nothing.
type PartitionMetrics struct {
	// Lag is the lag of each partition held, at each renewal.
	Lag LagGauge
	// Moves counts the leases by event: every lease counts "acquired" when it starts and one
	// end event (moveEnds) when it ends.
	Moves MoveCounter
	// Owned is the number of leases held: up at "acquired", down at the lease's end event.
	Owned prometheus.Gauge
}

// LagGauge is where a member shows the lag of the partitions it holds: a gauge by partition
// key, as a *prometheus.GaugeVec with the one variable label "partition".
type LagGauge interface {
	WithLabelValues(lvs ...string) prometheus.Gauge
	DeleteLabelValues(lvs ...string) bool
}

// MoveCounter is where a member counts the moves of the partitions: a counter by event, as a
// *prometheus.CounterVec with the one variable label "event".
type MoveCounter interface {
	WithLabelValues(lvs ...string) prometheus.Counter
}

var (
	_ LagGauge    = (*prometheus.GaugeVec)(nil)
	_ MoveCounter = (*prometheus.CounterVec)(nil)
)

// The events of PartitionMetrics.Moves: moveAcquired starts a lease, the others end it.
const (
	// moveAcquired: this member created the lease; the partition is its own.
	moveAcquired = "acquired"
	// moveHandedOver: the members changed, another member won the partition, and the source
	// released it after draining: the lease key is deleted and the new owner takes it at once.
	moveHandedOver = "handed_over"
	// moveReleased: the source released the partition while it was still this member's (the
	// source or the process stopped): the lease key is deleted.
	moveReleased = "released"
	// moveLost: no renewal succeeded within lease_ttl, or a renewal was refused because the
	// lease had expired or been taken; another member may own the partition already.
	moveLost = "lost"
	// moveLostAtRelease: the source released the partition, but its lease had expired or been
	// taken before: a loss seen only when deleting the key.
	moveLostAtRelease = "lost_at_release"
	// moveReleaseFailed: the source released the partition but deleting the lease key failed;
	// the key expires within lease_ttl, and the next owner waits for that.
	moveReleaseFailed = "release_failed"
	// moveClosed: the cluster closed with the lease held; the key expires within lease_ttl.
	moveClosed = "closed"
)

// moveEnds are the events that end a lease.
func moveEnds() []string {
	return []string{moveHandedOver, moveReleased, moveLost, moveLostAtRelease, moveReleaseFailed, moveClosed}
}

// newPartitions is one source's view of the leases, showing them in m. The counters of every
// event start at 0, so that a rate of a move that never happened reads 0 rather than nothing.
func newPartitions(c *Cluster, pluginName string, m PartitionMetrics) *partitions {
	if m.Moves != nil {
		for _, ev := range append(moveEnds(), moveAcquired) {
			m.Moves.WithLabelValues(ev)
		}
	}
	return &partitions{c: c, plugin: pluginName, log: c.log.With("plugin", pluginName), m: m}
}

var _ plugin.Partitions = (*partitions)(nil)

// leaseValue is the value of "lease.<escaped plugin/partition>".
type leaseValue struct {
	Owner     string    `json:"owner"`
	Plugin    string    `json:"plugin"`
	Partition string    `json:"partition"`
	Since     time.Time `json:"since"`
	Renewed   time.Time `json:"renewed"`
	// Progress is the latest progress the owner's source reported (plugin.ProgressLease),
	// written with the renewal after it; absent until the source reports one.
	Progress time.Time `json:"progress,omitzero"`
}

func leaseKey(pluginName, key string) string { return "lease." + escape(pluginName+"/"+key) }

// Acquire implements plugin.Partitions: it waits until this member is the rendezvous winner of
// "<plugin>/<key>" among the live members and has created the lease key (which fails while
// another member holds it), retrying when the members change and every pollInterval.
func (p *partitions) Acquire(ctx context.Context, key string) (plugin.Lease, error) {
	c := p.c
	id := p.plugin + "/" + key
	lk := leaseKey(p.plugin, key)
	t := time.NewTimer(0)
	defer t.Stop()
	var waitingFor string
	for {
		members, changed := c.view()
		if w := winner(members, id); w == c.cfg.Node && !c.frozen.Load() {
			now := time.Now()
			v := leaseValue{Owner: c.cfg.Node, Plugin: p.plugin, Partition: key, Since: now, Renewed: now}
			b, _ := json.Marshal(v)
			rev, err := c.leasesKV.Create(ctx, lk, b)
			switch {
			case err == nil:
				p.log.Info("partition acquired", "partition", key, "members", len(members))
				p.counted(moveAcquired)
				if p.m.Owned != nil {
					p.m.Owned.Inc()
				}
				return p.start(ctx, key, lk, v, rev, now), nil
			case casRefused(err):
				if waitingFor != "lease" {
					p.log.Info("partition is this member's; waiting for its lease to be released or to expire", "partition", key)
					waitingFor = "lease"
				}
			case ctx.Err() == nil:
				p.log.Warn("creating a partition lease failed; retrying", "partition", key, "error", err)
			}
		} else if waitingFor != w {
			p.log.Debug("partition belongs to another member", "partition", key, "owner", w)
			waitingFor = w
		}
		t.Reset(c.pollInterval())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.stop:
			return nil, ErrClosed
		case <-changed:
		case <-t.C:
		}
	}
}

// lease is one held partition. Its goroutine renews the key every LeaseTTL/3 until Release,
// Close or a loss, and ends the context on a loss or when another member wins the partition.
type lease struct {
	p           *partitions
	key, lk     string
	val         leaseValue
	ctx         context.Context
	cancel      context.CancelCauseFunc
	release     chan struct{}
	releaseOnce sync.Once
	done        chan struct{}
	// progress is the latest plugin.ProgressLease report, in Unix nanoseconds (0: none); the
	// next renewal writes it.
	progress atomic.Int64
}

var (
	_ plugin.Lease         = (*lease)(nil)
	_ plugin.ProgressLease = (*lease)(nil)
)

func (p *partitions) start(ctx context.Context, key, lk string, v leaseValue, rev uint64, sent time.Time) *lease {
	lctx, cancel := context.WithCancelCause(ctx)
	l := &lease{p: p, key: key, lk: lk, val: v, ctx: lctx, cancel: cancel, release: make(chan struct{}), done: make(chan struct{})}
	p.c.wg.Add(1)
	go l.run(rev, sent)
	return l
}

// Context implements plugin.Lease; context.Cause tells why it ended (ErrLeaseLost,
// ErrHandover, ErrClosed, or the Acquire context's end).
func (l *lease) Context() context.Context { return l.ctx }

// Progress implements plugin.ProgressLease: the lease's next renewal writes at into the lease
// key, where Status reads it. It costs no write of its own.
func (l *lease) Progress(at time.Time) { l.progress.Store(at.UnixNano()) }

// Release implements plugin.Lease: it deletes the lease key (if this member still holds it)
// so the partition's next owner takes it at once, and returns when that is done.
func (l *lease) Release() {
	l.releaseOnce.Do(func() { close(l.release) })
	<-l.done
}

func (l *lease) run(rev uint64, lastOK time.Time) {
	c := l.p.c
	defer c.wg.Done()
	defer close(l.done)
	ttl := c.cfg.LeaseTTL
	log := l.p.log.With("partition", l.key)
	id := l.p.plugin + "/" + l.key
	handingOver := false
	var retryAt time.Time
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		members, changed := c.view()
		if w := winner(members, id); !handingOver && w != c.cfg.Node {
			handingOver = true
			log.Info("partition handed over: the members changed and another member owns it now; draining before release", "to", w, "members", members)
			l.cancel(ErrHandover)
		}
		deadline := lastOK.Add(ttl)
		renewAt := lastOK.Add(ttl / 3)
		if retryAt.After(renewAt) {
			renewAt = retryAt
		}
		wake := renewAt
		if deadline.Before(wake) {
			wake = deadline
		}
		t.Reset(time.Until(wake))
		select {
		case <-l.release:
			l.cancel(errReleased)
			l.end(l.delete(rev, handingOver, log))
			return
		case <-c.stop:
			log.Warn("cluster closed with the partition still leased; the lease expires within lease_ttl", "lease_ttl", ttl)
			l.end(moveClosed)
			l.cancel(ErrClosed)
			return
		case <-changed:
			continue
		case <-t.C:
		}
		now := time.Now()
		if !now.Before(deadline) {
			log.Warn("partition lost: no lease renewal succeeded within lease_ttl", "lease_ttl", ttl, "last_renewal", lastOK)
			l.end(moveLost)
			l.cancel(ErrLeaseLost)
			l.waitRelease()
			return
		}
		if now.Before(renewAt) {
			continue
		}
		if c.frozen.Load() {
			retryAt = now.Add(c.pollInterval())
			continue
		}
		l.val.Renewed = now
		if ns := l.progress.Load(); ns != 0 {
			l.val.Progress = time.Unix(0, ns).UTC()
		}
		b, _ := json.Marshal(l.val)
		rctx, cancel := context.WithDeadline(context.Background(), deadline)
		nrev, err := c.leasesKV.Update(rctx, l.lk, b, rev)
		cancel()
		switch {
		case err == nil:
			rev, lastOK, retryAt = nrev, now, time.Time{}
			l.setLag(now)
		case casRefused(err):
			log.Warn("partition lost: its lease expired or was taken before renewal", "error", err)
			l.end(moveLost)
			l.cancel(ErrLeaseLost)
			l.waitRelease()
			return
		default:
			log.Warn("lease renewal failed; retrying", "error", err)
			retryAt = now.Add(c.pollInterval())
		}
	}
}

// counted counts one move of event.
func (p *partitions) counted(event string) {
	if p.m.Moves != nil {
		p.m.Moves.WithLabelValues(event).Inc()
	}
}

// end is the lease's end on this member, by event (one of moveEnds): the move is counted, the
// lease no longer counts as owned and its lag series goes. run calls it once, on its way out.
func (l *lease) end(event string) {
	l.p.counted(event)
	if l.p.m.Owned != nil {
		l.p.m.Owned.Dec()
	}
	l.forgetLag()
}

// setLag sets the partition's lag gauge to the time between now and the progress written by
// the renewal at now, when the source reported progress.
func (l *lease) setLag(now time.Time) {
	if l.p.m.Lag == nil || l.val.Progress.IsZero() {
		return
	}
	l.p.m.Lag.WithLabelValues(l.key).Set(max(0, now.Sub(l.val.Progress).Seconds()))
}

// forgetLag removes the partition's lag gauge: this member no longer holds it.
func (l *lease) forgetLag() {
	if l.p.m.Lag != nil {
		l.p.m.Lag.DeleteLabelValues(l.key)
	}
}

// errReleased ends a lease's context when the source released it.
var errReleased = errors.New("cluster: partition lease released")

// waitRelease is a lost lease's end: nothing to delete (another member may own the key now),
// but the source's Release returns only after it is called.
func (l *lease) waitRelease() {
	select {
	case <-l.release:
	case <-l.p.c.stop:
	}
}

// delete removes the lease key if it still has the revision this member wrote, and returns the
// lease's end event: moveHandedOver or moveReleased (as handingOver says) once the key is gone.
func (l *lease) delete(rev uint64, handingOver bool, log *slog.Logger) string {
	c := l.p.c
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.LeaseTTL)
	defer cancel()
	err := c.leasesKV.Delete(ctx, l.lk, jetstream.LastRevision(rev))
	switch {
	case err == nil && handingOver:
		log.Info("partition released to its new owner", "event", moveHandedOver)
		return moveHandedOver
	case err == nil:
		log.Info("partition released", "event", moveReleased)
		return moveReleased
	case casRefused(err):
		log.Warn("partition released, but its lease had already expired or been taken", "event", moveLostAtRelease, "error", err)
		return moveLostAtRelease
	default:
		log.Warn("deleting the released lease failed; it expires within lease_ttl", "event", moveReleaseFailed, "error", fmt.Errorf("delete %s: %w", l.lk, err))
		return moveReleaseFailed
	}
}
