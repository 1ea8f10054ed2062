package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func memberKey(node string) string { return "members." + node }

// pollInterval is how often a member reads the member set and a waiting Acquire retries:
// a tenth of the lease TTL, so a partition moves within about the TTL.
func (c *Cluster) pollInterval() time.Duration {
	return max(c.cfg.LeaseTTL/10, 20*time.Millisecond)
}

// memberValue is this member's key: who it is, and the quota uses it publishes (quotas).
func (c *Cluster) memberValue(quotas map[string]quotaUse) []byte {
	b, _ := json.Marshal(memberValue{Node: c.cfg.Node, Instance: c.instance, Started: c.started, Seen: time.Now(), Quotas: quotas})
	return b
}

// join creates this member's key. If a member of the same name exists, join waits: a key
// renewed meanwhile belongs to a live process, and Connect fails; a key that expires (a
// previous run of this node that died) is taken.
func (c *Cluster) join(ctx context.Context) error {
	key := memberKey(c.cfg.Node)
	var seen uint64
	waitLogged := false
	deadline := time.Now().Add(2 * c.cfg.LeaseTTL)
	for {
		rev, err := c.leasesKV.Create(ctx, key, c.memberValue(nil))
		if err == nil {
			c.memberRev.Store(rev)
			return nil
		}
		if !casRefused(err) {
			return fmt.Errorf("cluster: join as %s: %w", c.cfg.Node, err)
		}
		e, err := c.leasesKV.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
			continue // it expired between Create and Get
		case err != nil:
			return fmt.Errorf("cluster: join as %s: read the member key: %w", c.cfg.Node, err)
		case seen != 0 && e.Revision() != seen:
			return fmt.Errorf("cluster: node %s is already a live member (its heartbeat was renewed while this process waited); give this process another cluster.node", c.cfg.Node)
		}
		seen = e.Revision()
		if !waitLogged {
			c.log.Info("a member of this node's name exists; waiting for it to expire (a previous run) or be renewed (another live process)", "lease_ttl", c.cfg.LeaseTTL)
			waitLogged = true
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: node %s is already a member and its key did not expire within %s", c.cfg.Node, 2*c.cfg.LeaseTTL)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: join as %s: waiting for the previous member to expire: %w", c.cfg.Node, ctx.Err())
		case <-time.After(c.pollInterval()):
		}
	}
}

// memberLoop renews this member's heartbeat every LeaseTTL/3 and reads the member set every
// pollInterval until Close (quotaLoop publishes a changed quota use sooner).
func (c *Cluster) memberLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.pollInterval())
	defer t.Stop()
	lastBeat := time.Now()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if c.frozen.Load() {
			continue
		}
		if time.Since(lastBeat) >= c.cfg.LeaseTTL/3 {
			if c.heartbeat() {
				lastBeat = time.Now()
			}
		}
		c.refreshMembers()
		c.divideQuotas(time.Now())
	}
}

// heartbeat renews the member key (compare-and-set on its revision). A key gone (this process
// was cut off or frozen past the TTL) is created again.
func (c *Cluster) heartbeat() bool {
	c.hbMu.Lock()
	defer c.hbMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.LeaseTTL/3)
	defer cancel()
	key := memberKey(c.cfg.Node)
	quotas := c.publishedQuotas()
	value := c.memberValue(quotas)
	rev, err := c.leasesKV.Update(ctx, key, value, c.memberRev.Load())
	if err == nil {
		c.memberRev.Store(rev)
		c.published(quotas, time.Now())
		return true
	}
	if !casRefused(err) {
		c.log.Warn("member heartbeat failed; retrying", "error", err)
		return false
	}
	rev, err = c.leasesKV.Create(ctx, key, value)
	if err != nil {
		if casRefused(err) {
			c.log.Error("another process holds this node's member key: two processes run with one cluster.node", "error", err)
		} else {
			c.log.Warn("member heartbeat failed; retrying", "error", err)
		}
		return false
	}
	c.log.Warn("this member's key had expired (the process was cut off or stalled past lease_ttl); joined again")
	c.memberRev.Store(rev)
	c.published(quotas, time.Now())
	return true
}

// refreshMembers reads the live members and the quota uses they publish and, when the set of
// members changed, wakes everything waiting on it (Acquire, lease handover).
func (c *Cluster) refreshMembers() {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.LeaseTTL/2)
	defer cancel()
	names, quotas, err := c.readMembers(ctx)
	if err != nil {
		c.log.Warn("reading the members failed; retrying", "error", err)
		return
	}
	names = append(names, c.cfg.Node)
	slices.Sort(names)
	names = slices.Compact(names)
	c.mu.Lock()
	c.peerQuotas = quotas
	if slices.Equal(names, c.members) {
		c.mu.Unlock()
		return
	}
	old := c.members
	c.members = names
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	c.log.Info("members changed", "members", names, "before", old)
}

// readMembers reads every member key: the names of the live members (an expired key is gone
// from the bucket) and the quota uses of the others.
func (c *Cluster) readMembers(ctx context.Context) ([]string, map[string]map[string]quotaUse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := c.leasesKV.Watch(ctx, "members.*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, nil, fmt.Errorf("read bucket %s: %w", c.leasesKV.Bucket(), err)
	}
	defer func() { _ = w.Stop() }()
	var names []string
	quotas := map[string]map[string]quotaUse{}
	for {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("read bucket %s: %w", c.leasesKV.Bucket(), ctx.Err())
		}
		if e == nil {
			return names, quotas, nil
		}
		name := strings.TrimPrefix(e.Key(), "members.")
		names = append(names, name)
		if name == c.cfg.Node {
			continue
		}
		var m memberValue
		if err := json.Unmarshal(e.Value(), &m); err != nil {
			c.log.Warn("a member's key is unreadable; its quota use is not counted", "key", e.Key(), "error", err)
			continue
		}
		quotas[name] = m.Quotas
	}
}

// view returns the live members and a channel closed when they change.
func (c *Cluster) view() ([]string, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members, c.changed
}

// winner is the rendezvous-hash owner of key among members: the member with the highest
// score hash(member, key), so a member joining or leaving moves only the keys it wins or won.
func winner(members []string, key string) string {
	var best string
	var bestScore uint64
	for _, m := range members {
		s := score(m, key)
		if best == "" || s > bestScore || s == bestScore && m < best {
			best, bestScore = m, s
		}
	}
	return best
}

func score(member, key string) uint64 {
	h := sha256.New()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return binary.BigEndian.Uint64(h.Sum(nil))
}
