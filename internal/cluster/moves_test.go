package cluster

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/plugin"
)

// meter is one member's PartitionMetrics for a test, read back with testutil.
type meter struct {
	moves *prometheus.CounterVec
	owned prometheus.Gauge
}

func newMeter() meter {
	return meter{
		moves: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "moves_total"}, []string{"event"}),
		owned: prometheus.NewGauge(prometheus.GaugeOpts{Name: "owned"}),
	}
}

func (m meter) metrics() PartitionMetrics { return PartitionMetrics{Moves: m.moves, Owned: m.owned} }

func (m meter) n(event string) int { return int(testutil.ToFloat64(m.moves.WithLabelValues(event))) }

func (m meter) held() int { return int(testutil.ToFloat64(m.owned)) }

// counts is every event's count, for messages and comparisons.
func (m meter) counts() map[string]int {
	out := map[string]int{}
	for _, ev := range append(moveEnds(), moveAcquired) {
		if n := m.n(ev); n != 0 {
			out[ev] = n
		}
	}
	return out
}

// balanced checks that every lease counted its start and, unless held, its one end:
// acquired − ends = owned.
func (m meter) balanced(t *testing.T, node string) {
	t.Helper()
	ends := 0
	for _, ev := range moveEnds() {
		ends += m.n(ev)
	}
	if a := m.n(moveAcquired); a-ends != m.held() {
		t.Errorf("%s: acquired %d − ended %d ≠ owned %d: %v", node, a, ends, m.held(), m.counts())
	}
}

// hold runs member c's source for keys, with its leases shown in m: each key is acquired,
// held until its lease's context ends, released, and acquired again, until the returned stop
// is called (also at the test's end).
func hold(t *testing.T, c *Cluster, m PartitionMetrics, keys []string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	p := c.MeteredPartitions("src", m)
	for _, key := range keys {
		wg.Go(func() {
			for ctx.Err() == nil {
				l, err := p.Acquire(ctx, key)
				if err != nil {
					return
				}
				<-l.Context().Done()
				l.Release()
			}
		})
	}
	stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(stop)
	return stop
}

// wins is how many of keys member wins among members.
func wins(member string, members, keys []string) int {
	n := 0
	for _, k := range keys {
		if winner(members, "src/"+k) == member {
			n++
		}
	}
	return n
}

// A member's partition moves are counted by event, and its owned gauge follows them: up as it
// acquires partitions, down as it hands them over to a member that joins, loses them when
// frozen past lease_ttl, releases them, or closes with them held.
func TestPartitionMovesCounted(t *testing.T) {
	nats := clustertest.Start(t, 3)
	keys := partitionKeys(12)
	ab := []string{"a", "b"}
	nA, nB := wins("a", ab, keys), wins("b", ab, keys)
	if nA == 0 || nB == 0 {
		t.Fatalf("a wins %d and b %d of %d keys; the test needs both to win some", nA, nB, len(keys))
	}

	t.Run("acquired, handed over to a member that joins, released", func(t *testing.T) {
		ma, mb := newMeter(), newMeter()
		a := join(t, testConfig(nats, "handover", "a", testTTL))
		stopA := hold(t, a, ma.metrics(), keys)
		waitFor(t, 5*testTTL, "a to own every partition", func() bool { return ma.held() == len(keys) })
		if got := ma.counts(); got[moveAcquired] != len(keys) || len(got) != 1 {
			t.Errorf("a alone: moves %v; want %d acquired and nothing else", got, len(keys))
		}

		b := join(t, testConfig(nats, "handover", "b", testTTL))
		hold(t, b, mb.metrics(), keys)
		waitFor(t, 10*testTTL, "a to hand b its partitions", func() bool {
			return ma.n(moveHandedOver) == nB && ma.held() == nA && mb.held() == nB
		})
		if got, want := ma.counts(), map[string]int{moveAcquired: len(keys), moveHandedOver: nB}; !maps.Equal(got, want) {
			t.Errorf("a after b joined: moves %v; want %v", got, want)
		}
		if got, want := mb.counts(), map[string]int{moveAcquired: nB}; !maps.Equal(got, want) {
			t.Errorf("b after it joined: moves %v; want %v", got, want)
		}

		stopA() // a's source stops: it releases what it holds
		if got, want := ma.counts(), map[string]int{moveAcquired: len(keys), moveHandedOver: nB, moveReleased: nA}; !maps.Equal(got, want) {
			t.Errorf("a after its source stopped: moves %v; want %v", got, want)
		}
		if ma.held() != 0 {
			t.Errorf("a owns %d partitions after releasing them all", ma.held())
		}
		ma.balanced(t, "a")
		mb.balanced(t, "b")
	})

	t.Run("lost when frozen past lease_ttl", func(t *testing.T) {
		ma, mb := newMeter(), newMeter()
		a := join(t, testConfig(nats, "loss", "a", testTTL))
		b := join(t, testConfig(nats, "loss", "b", testTTL))
		waitFor(t, 5*testTTL, "a and b to see each other", func() bool {
			am, _ := a.view()
			bm, _ := b.view()
			return len(am) == 2 && len(bm) == 2
		})
		hold(t, a, ma.metrics(), keys)
		hold(t, b, mb.metrics(), keys)
		waitFor(t, 10*testTTL, "a and b to own their partitions", func() bool { return ma.held() == nA && mb.held() == nB })

		b.frozen.Store(true) // b stops renewing, as if stopped with SIGSTOP
		waitFor(t, 10*testTTL, "b to lose its partitions and a to take them", func() bool {
			return mb.n(moveLost) == nB && mb.held() == 0 && ma.held() == len(keys)
		})
		if got, want := mb.counts(), map[string]int{moveAcquired: nB, moveLost: nB}; !maps.Equal(got, want) {
			t.Errorf("b after it froze: moves %v; want %v (a lost lease's release counts nothing more)", got, want)
		}
		if got, want := ma.counts(), map[string]int{moveAcquired: len(keys)}; !maps.Equal(got, want) {
			t.Errorf("a after b froze: moves %v; want %v", got, want)
		}
		ma.balanced(t, "a")
		mb.balanced(t, "b")
	})

	t.Run("released, lost at release, closed", func(t *testing.T) {
		m := newMeter()
		// A long TTL: the lease below is tampered with and released well before it expires.
		a := join(t, testConfig(nats, "release", "a", time.Minute))
		p := a.MeteredPartitions("src", m.metrics())
		if n := testutil.CollectAndCount(m.moves); n != len(moveEnds())+1 {
			t.Errorf("moves has %d series before any move; want every event's, at 0", n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		acquire := func(key string) plugin.Lease {
			t.Helper()
			l, err := p.Acquire(ctx, key)
			if err != nil {
				t.Fatalf("Acquire %s: %v", key, err)
			}
			return l
		}

		l := acquire("p1")
		if m.n(moveAcquired) != 1 || m.held() != 1 {
			t.Errorf("after Acquire: moves %v, owned %d; want 1 acquired, 1 owned", m.counts(), m.held())
		}
		l.Release()
		if got, want := m.counts(), map[string]int{moveAcquired: 1, moveReleased: 1}; !maps.Equal(got, want) || m.held() != 0 {
			t.Errorf("after Release: moves %v, owned %d; want %v, 0 owned", got, m.held(), want)
		}

		// Another writer changes the lease key: this member's release cannot delete it.
		l = acquire("p2")
		a.frozen.Store(true) // no renewal notices the change first
		if _, err := a.leasesKV.Put(ctx, leaseKey("src", "p2"), []byte(`{"owner":"x"}`)); err != nil {
			t.Fatal(err)
		}
		l.Release()
		a.frozen.Store(false)
		if got, want := m.counts(), map[string]int{moveAcquired: 2, moveReleased: 1, moveLostAtRelease: 1}; !maps.Equal(got, want) || m.held() != 0 {
			t.Errorf("after releasing a lease taken meanwhile: moves %v, owned %d; want %v, 0 owned", got, m.held(), want)
		}
		if err := a.leasesKV.Delete(ctx, leaseKey("src", "p2")); err != nil {
			t.Fatal(err)
		}

		l = acquire("p3")
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := m.counts(), map[string]int{moveAcquired: 3, moveReleased: 1, moveLostAtRelease: 1, moveClosed: 1}; !maps.Equal(got, want) || m.held() != 0 {
			t.Errorf("after Close with a lease held: moves %v, owned %d; want %v, 0 owned", got, m.held(), want)
		}
		l.Release() // the source's release after Close returns and counts nothing
		m.balanced(t, "a")
	})
}
