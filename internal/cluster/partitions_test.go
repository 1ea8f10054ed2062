package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/state"
)

const testTTL = 2 * time.Second

// owners runs sources on members: each keeps Acquiring its partitions, holds a lease until
// its context ends, then Releases it, as a source does. It records who owns each partition and
// fails the test if two members hold one at once.
type owners struct {
	t      *testing.T
	mu     sync.Mutex
	owner  map[string]string // partition -> node
	causes map[error]int
}

func newOwners(t *testing.T) *owners {
	return &owners{t: t, owner: map[string]string{}, causes: map[error]int{}}
}

// run starts member c's sources for keys; they stop (releasing their leases) when the
// returned function is called, and at the test's end.
func (o *owners) run(c *Cluster, keys []string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	p := c.Partitions("src")
	for _, key := range keys {
		wg.Go(func() {
			for ctx.Err() == nil {
				l, err := p.Acquire(ctx, key)
				if err != nil {
					return
				}
				o.mu.Lock()
				if prev, ok := o.owner[key]; ok {
					o.t.Errorf("partition %s acquired by %s while %s holds it", key, c.Node(), prev)
				}
				o.owner[key] = c.Node()
				o.mu.Unlock()
				<-l.Context().Done()
				o.mu.Lock()
				if o.owner[key] == c.Node() {
					delete(o.owner, key)
				}
				o.causes[context.Cause(l.Context())]++
				o.mu.Unlock()
				l.Release()
			}
		})
	}
	stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	o.t.Cleanup(stop)
	return stop
}

// settled tells whether every key is owned by its rendezvous winner among members.
func (o *owners) settled(keys, members []string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range keys {
		if o.owner[k] != winner(members, "src/"+k) {
			return false
		}
	}
	return true
}

func (o *owners) count() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := map[string]int{}
	for _, node := range o.owner {
		n[node]++
	}
	return n
}

func (o *owners) cause(err error) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.causes[err]
}

func (o *owners) ownedBy(node string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for k, n := range o.owner {
		if n == node {
			out = append(out, k)
		}
	}
	return out
}

func partitionKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("tenant%02d/alerts.dlp", i)
	}
	return keys
}

// start3 joins members a, b and c and runs their sources on keys until every key is with its
// winner.
func start3(t *testing.T, nats *clustertest.Cluster, keys []string) ([]*Cluster, *owners, []func()) {
	o := newOwners(t)
	var cs []*Cluster
	var stops []func()
	for _, n := range []string{"a", "b", "c"} {
		c := join(t, testConfig(nats, "ls", n, testTTL))
		cs = append(cs, c)
		stops = append(stops, o.run(c, keys))
	}
	waitFor(t, 10*testTTL, "partitions spread over a, b, c", func() bool { return o.settled(keys, []string{"a", "b", "c"}) })
	return cs, o, stops
}

func TestLeasesOneOwnerSpreadAndHandover(t *testing.T) {
	nats := clustertest.Start(t, 3)
	keys := partitionKeys(30)
	o := newOwners(t)
	a := join(t, testConfig(nats, "ls", "a", testTTL))
	o.run(a, keys)
	waitFor(t, 5*testTTL, "a alone to own every partition", func() bool { return o.settled(keys, []string{"a"}) })

	b := join(t, testConfig(nats, "ls", "b", testTTL))
	o.run(b, keys)
	c := join(t, testConfig(nats, "ls", "c", testTTL))
	o.run(c, keys)
	all := []string{"a", "b", "c"}
	waitFor(t, 10*testTTL, "partitions handed over to b and c", func() bool { return o.settled(keys, all) })

	n := o.count()
	for _, m := range all {
		if n[m] == 0 || n[m] == len(keys) {
			t.Errorf("member %s owns %d of %d partitions; want a share: %v", m, n[m], len(keys), n)
		}
	}
	if o.cause(ErrHandover) == 0 {
		t.Errorf("no lease ended with ErrHandover when b and c joined: %v", o.causes)
	}
	if o.cause(ErrLeaseLost) != 0 {
		t.Errorf("%d leases lost with every member healthy", o.cause(ErrLeaseLost))
	}

	st, err := b.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range st.Members {
		names = append(names, m.Node)
	}
	if !slices.Equal(names, all) || st.Node != "b" {
		t.Errorf("Status members = %v (node %s); want %v", names, st.Node, all)
	}
	if len(st.Leases) != len(keys) {
		t.Fatalf("Status lists %d leases; want %d", len(st.Leases), len(keys))
	}
	for _, l := range st.Leases {
		if want := winner(all, "src/"+l.Partition); l.Plugin != "src" || l.Owner != want || l.Since.IsZero() || l.Renewed.Before(l.Since) {
			t.Errorf("Status lease %+v; want plugin src, owner %s, since ≤ renewed", l, want)
		}
	}
}

func TestFrozenMemberLosesPartitions(t *testing.T) {
	nats := clustertest.Start(t, 3)
	keys := partitionKeys(12)
	cs, o, _ := start3(t, nats, keys)
	if len(o.ownedBy("b")) == 0 {
		t.Fatal("b owns no partition to lose")
	}
	frozen := time.Now()
	cs[1].frozen.Store(true) // b stops renewing, as if stopped with SIGSTOP
	waitFor(t, 5*testTTL, "a and c to take b's partitions", func() bool { return o.settled(keys, []string{"a", "c"}) })
	took := time.Since(frozen)
	t.Logf("b's partitions moved %s after it froze (lease_ttl %s)", took, testTTL)
	if took > 2*testTTL {
		t.Errorf("b's partitions moved after %s; want about lease_ttl (%s)", took, testTTL)
	}
	if o.cause(ErrLeaseLost) == 0 {
		t.Errorf("no lease of b ended with ErrLeaseLost: %v", o.causes)
	}
}

func TestGracefulLeaveHandsOverAtOnce(t *testing.T) {
	nats := clustertest.Start(t, 3)
	keys := partitionKeys(12)
	cs, o, stops := start3(t, nats, keys)
	mine := o.ownedBy("c")
	if len(mine) == 0 {
		t.Fatal("c owns no partition to hand over")
	}
	stops[2]() // c's sources end: each drains and Releases its lease
	ctx := context.Background()
	for _, k := range mine {
		// Released leases are deleted, not left to expire.
		if _, err := cs[0].leasesKV.Get(ctx, leaseKey("src", k)); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Errorf("lease of %s after c released it: %v; want it deleted", k, err)
		}
	}
	left := time.Now()
	if err := cs[2].Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitFor(t, 5*testTTL, "a and b to take c's partitions", func() bool { return o.settled(keys, []string{"a", "b"}) })
	t.Logf("c's partitions moved %s after it left (lease_ttl %s)", time.Since(left), testTTL)
	if took := time.Since(left); took > testTTL {
		t.Errorf("c's partitions moved after %s; want at once (well under lease_ttl %s)", took, testTTL)
	}
	if _, err := cs[0].leasesKV.Get(ctx, memberKey("c")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("member key of c after Close: %v; want it deleted", err)
	}
}

func TestNATSNodeDownStoreAndLeasesKeepWorking(t *testing.T) {
	nats := clustertest.Start(t, 3)
	keys := partitionKeys(9)
	cs, o, _ := start3(t, nats, keys)
	st := cs[0].Store().Namespace("src")
	ctx := context.Background()
	if err := st.Put(ctx, "pos", []byte("1")); err != nil {
		t.Fatal(err)
	}

	nats.Stop(0)
	nats.WaitReady()
	// Writes go on once the buckets' streams have a leader among the two servers left.
	var last error
	waitFor(t, 30*time.Second, "a store write with one NATS node down", func() bool {
		if _, err := st.Get(ctx, "pos"); err != nil {
			last = err
			return false
		}
		last = st.Put(ctx, "pos", []byte("2"))
		return last == nil
	})
	if v, err := cs[1].Store().Namespace("src").Get(ctx, "pos"); err != nil || string(v) != "2" {
		t.Fatalf("another member reads %q, %v; want 2", v, err)
	}
	_ = last
	// Every partition still has its owner (or has it again after a lease that could not be
	// renewed during the failover).
	waitFor(t, 10*testTTL, "partitions owned with one NATS node down", func() bool { return o.settled(keys, []string{"a", "b", "c"}) })
	// A member that joins now gets its share.
	o.run(join(t, testConfig(nats, "ls", "d", testTTL)), keys)
	waitFor(t, 10*testTTL, "partitions spread over a, b, c, d", func() bool { return o.settled(keys, []string{"a", "b", "c", "d"}) })

	nats.Restart(0)
	if _, err := st.Get(ctx, "pos"); err != nil && !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get after the node came back: %v", err)
	}
}

func TestDuplicateNodeRefused(t *testing.T) {
	nats := clustertest.Start(t, 3)
	join(t, testConfig(nats, "ls", "a", testTTL))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Connect(ctx, testConfig(nats, "ls", "a", testTTL), testLog(t, "a"))
	if err == nil {
		c.Close()
		t.Fatal("a second process named a joined")
	}
	if !strings.Contains(err.Error(), "node a is already a live member") {
		t.Fatalf("err = %v; want it to say node a is already a live member", err)
	}
}

func TestRejoinAfterCrashWaitsForExpiry(t *testing.T) {
	nats := clustertest.Start(t, 3)
	cfg := testConfig(nats, "ls", "a", testTTL)
	first := join(t, cfg)
	first.frozen.Store(true) // dies without leaving: its member key expires
	second := join(t, cfg)
	if second.instance == first.instance {
		t.Fatal("same instance")
	}
}

func TestReplicasTheClusterCannotGive(t *testing.T) {
	nats := clustertest.Start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Connect(ctx, testConfig(nats, "ls", "a", testTTL), testLog(t, "a"))
	if err == nil {
		c.Close()
		t.Fatal("Connect with replicas 3 on one server succeeded")
	}
	if !strings.Contains(err.Error(), "cannot give 3 replicas") {
		t.Fatalf("err = %v; want it to name the replica count", err)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		nodes, replicas int
	}{{1, 1}, {3, 3}}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.nodes), func(t *testing.T) {
			nats := clustertest.Start(t, tc.nodes)
			res, err := Check(context.Background(), testConfig(nats, "ls", "a", testTTL))
			if err != nil {
				t.Fatal(err)
			}
			if !res.JetStream || res.Replicas != tc.replicas || res.Server == "" {
				t.Fatalf("Check = %+v; want JetStream on, %d replicas", res, tc.replicas)
			}
		})
	}
}
