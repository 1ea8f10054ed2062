package cluster

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/plugin"
)

func TestDivide(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		name  string
		total float64
		asks  []float64
		want  []float64
	}{
		{"alone", 100, []float64{inf}, []float64{100}},
		{"all held back divide equally", 90, []float64{inf, inf, inf}, []float64{30, 30, 30}},
		{"a small ask is met, the rest goes to the held back", 100, []float64{10, inf, inf}, []float64{10, 45, 45}},
		{"what nobody asks for is divided equally", 100, []float64{10, 20, 30}, []float64{10 + 40.0/3, 20 + 40.0/3, 30 + 40.0/3}},
		{"an ask above an equal part gets the equal part", 100, []float64{60, 60}, []float64{50, 50}},
		{"water filling in steps", 100, []float64{5, 40, inf}, []float64{5, 40, 55}},
		{"an ask just above what is left", 100, []float64{30, 36, 36}, []float64{30, 35, 35}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := 0.0
			for i := range tc.asks {
				got := divide(tc.total, tc.asks, i)
				sum += got
				if math.Abs(got-tc.want[i]) > 1e-9 {
					t.Errorf("member %d of asks %v: %v; want %v", i, tc.asks, got, tc.want[i])
				}
			}
			if math.Abs(sum-tc.total) > 1e-9 {
				t.Errorf("the parts add up to %v; want the whole %v", sum, tc.total)
			}
		})
	}
}

// Members that use a quota alike have equal parts, whatever their number; members that do not
// use it take none; a member that leaves or dies gives its part back.
func TestShareFollowsTheMembers(t *testing.T) {
	nats := clustertest.Start(t, 3)
	const key, perSecond = "PutAuditEvents/us-east-1/acct", 100.0
	a := join(t, testConfig(nats, "share", "a", testTTL))
	if f := a.Share().Quota(key, perSecond).Fraction(); f != 1 {
		t.Fatalf("a alone: Fraction = %v; want 1", f)
	}
	// within is how long a change may take to be seen: a member's key expires within the TTL
	// and is read within a poll interval; the rest is room for a slow machine.
	const within = 6 * testTTL
	expect := func(what string, want float64, members ...*Cluster) {
		t.Helper()
		for _, m := range members {
			q := m.Share().Quota(key, perSecond)
			waitFor(t, within, m.Node()+"'s share "+what, func() bool { return near(q.Fraction(), want) })
		}
	}
	changed := a.Share().Quota(key, perSecond).Changed()

	b := join(t, testConfig(nats, "share", "b", testTTL))
	b.Share().Quota(key, perSecond)
	expect("with b joined", 0.5, a, b)
	select {
	case <-changed:
	default:
		t.Error("a's share changed, but the channel taken before is not closed")
	}

	c := join(t, testConfig(nats, "share", "c", testTTL))
	c.Share().Quota(key, perSecond)
	expect("with c joined", 1.0/3, a, b, c)

	// d is a member that does not call this API: it takes no part of the quota.
	d := join(t, testConfig(nats, "share", "d", testTTL))
	d.Share().Quota("FilterLogEvents/eu-west-1/acct", 5)
	waitFor(t, within, "a sees d", func() bool { m, _ := a.view(); return len(m) == 4 })
	expect("with d, which does not call it, joined", 1.0/3, a, b, c)

	if err := c.Close(); err != nil {
		t.Fatalf("c leaves: %v", err)
	}
	expect("with c gone", 0.5, a, b)

	b.frozen.Store(true) // b stops renewing its heartbeat, as a process that died
	expect("with b dead", 1, a)
}

// A member with more work than the others gets a larger part of the quota: the part another
// member leaves unused goes to the one its limiter holds back, and back when the other needs
// it; together they never call faster than the quota.
func TestShareFollowsUse(t *testing.T) {
	nats := clustertest.Start(t, 3)
	const key, perSecond = "PutAuditEvents/us-east-1/acct", 40.0
	a := join(t, testConfig(nats, "use", "a", testTTL))
	b := join(t, testConfig(nats, "use", "b", testTTL))
	qa, qb := a.Share().Quota(key, perSecond), b.Share().Quota(key, perSecond)
	la, lb := plugin.NewQuotaLimiter(perSecond, 1, qa, nil), plugin.NewQuotaLimiter(perSecond, 1, qb, nil)
	const within = 10 * testTTL
	waitFor(t, within, "equal parts", func() bool { return near(qa.Fraction(), 0.5) && near(qb.Fraction(), 0.5) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int64
	var wg sync.WaitGroup
	busy := func(lim *plugin.QuotaLimiter) (stop func()) {
		ctx, cancel := context.WithCancel(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lim.Wait(ctx) == nil {
				calls.Add(1)
			}
		}()
		return cancel
	}
	start := time.Now()

	stopA := busy(la) // a has work, b has none: a gets most of it
	waitFor(t, within, "a, busy, to get most of the quota", func() bool { return qa.Fraction() > 0.8 })
	if f := qb.Fraction(); f > 0.2 {
		t.Errorf("b, idle, keeps %v of the quota while a is busy", f)
	}

	stopB := busy(lb) // both busy: equal parts again
	waitFor(t, within, "equal parts with both busy", func() bool {
		return math.Abs(qa.Fraction()-0.5) < 0.05 && math.Abs(qb.Fraction()-0.5) < 0.05
	})

	stopA() // a is done: b gets most of it
	waitFor(t, within, "b to get most of the quota once a is done", func() bool { return qb.Fraction() > 0.8 })
	stopB()
	wg.Wait()

	// Together they kept to the quota: the calls made are what perSecond allows over the time
	// taken, plus a burst of one call per limiter and a little for a change seen late.
	elapsed := time.Since(start).Seconds()
	if n, allowed := float64(calls.Load()), perSecond*elapsed*1.1+2; n > allowed {
		t.Errorf("%v calls in %.1f s: more than the quota of %v/s allows (%v)", n, elapsed, perSecond, allowed)
	}
}

// The share of a cluster a process observes without joining is never 0 or infinite.
func TestShareOfNoMembersIsWhole(t *testing.T) {
	c := &Cluster{changed: make(chan struct{}), qchanged: make(chan struct{})}
	var s plugin.Share = c.Share()
	if f := s.Quota("k", 5).Fraction(); f != 1 {
		t.Errorf("Fraction with no members = %v; want 1", f)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
