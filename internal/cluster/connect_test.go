package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cluster/clustertest"
)

// Members started at the same moment on a new NATS cluster (a compose file, three systemd
// units) all join: they race to create, bind and update the same buckets, and none may hang
// until its deadline.
func TestMembersStartedTogetherAllJoin(t *testing.T) {
	nats := clustertest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := make(chan error, 3)
	for i := range 3 {
		cfg := testConfig(nats, "together", fmt.Sprintf("m%d", i), 2*time.Second)
		go func() {
			c, err := Connect(ctx, cfg, testLog(t, cfg.Node))
			if err == nil {
				t.Cleanup(func() { c.Close() })
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("a member started with the others did not join: %v", err)
		}
	}
}

// A member that joins is seen by the others at once, through their watch of the member keys,
// not at their next listing of the members (a tenth of lease_ttl: 12 s here).
func TestJoinSeenAtOnce(t *testing.T) {
	nats := clustertest.Start(t, 3)
	const ttl = 120 * time.Second
	a := join(t, testConfig(nats, "seen", "a", ttl))
	// Wait for a's watch, so that b's key is a change, not a present value.
	waitFor(t, 10*time.Second, "a to watch the member keys", func() bool {
		return a.watching.Load()
	})
	b := join(t, testConfig(nats, "seen", "b", ttl))
	waitFor(t, 3*time.Second, "a to see b join", func() bool {
		m, _ := a.view()
		return len(m) == 2
	})
	_ = b
}
