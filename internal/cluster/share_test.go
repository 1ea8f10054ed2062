package cluster

import (
	"testing"

	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Each member's share of the quotas is 1/N of the N live members, and follows members
// joining, leaving (Close) and dying (their heartbeat expires), with Changed closed each time.
func TestShareFollowsTheMembers(t *testing.T) {
	nats := clustertest.Start(t, 3)
	a := join(t, testConfig(nats, "share", "a", testTTL))
	if f := a.Share().Fraction(); f != 1 {
		t.Fatalf("a alone: Fraction = %v; want 1", f)
	}
	// within is how long a change may take to be seen: a member's key expires within the TTL
	// and is read within a poll interval; the rest is room for a slow machine.
	const within = 6 * testTTL
	expect := func(what string, want float64, members ...*Cluster) {
		t.Helper()
		for _, m := range members {
			share := m.Share()
			waitFor(t, within, m.Node()+"'s share "+what, func() bool { return near(share.Fraction(), want) })
		}
	}
	changed := a.Share().Changed()

	b := join(t, testConfig(nats, "share", "b", testTTL))
	expect("with b joined", 0.5, a, b)
	select {
	case <-changed:
	default:
		t.Error("b joined and a's share changed, but the channel taken before is not closed")
	}

	c := join(t, testConfig(nats, "share", "c", testTTL))
	expect("with c joined", 1.0/3, a, b, c)

	if err := c.Close(); err != nil {
		t.Fatalf("c leaves: %v", err)
	}
	expect("with c gone", 0.5, a, b)

	b.frozen.Store(true) // b stops renewing its heartbeat, as a process that died
	expect("with b dead", 1, a)
}

// The share of a cluster a process observes without joining is never 0 or infinite.
func TestShareOfNoMembersIsWhole(t *testing.T) {
	var s plugin.Share = memberShare{&Cluster{changed: make(chan struct{})}}
	if f := s.Fraction(); f != 1 {
		t.Errorf("Fraction with no members = %v; want 1", f)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
