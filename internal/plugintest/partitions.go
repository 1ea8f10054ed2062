package plugintest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
)

// ErrHandedOver is the cause of a lease context that Partitions ended to give the partition to
// another node (Grant, Revoke).
var ErrHandedOver = errors.New("plugintest: the partition is handed over")

// ErrLeaseLost is the cause of a lease context that Partitions ended as lost (Lose): it wraps
// plugin.ErrNotOwner.
var ErrLeaseLost = fmt.Errorf("plugintest: the lease expired: %w", plugin.ErrNotOwner)

// Partitions is a plugin.Partitions fake shared by the "processes" (nodes) of a test, each of
// which sees it through Node. The test says which node owns each partition and moves
// partitions while sources run:
//
//   - a partition no Grant named belongs to the default node given to NewPartitions;
//   - Acquire returns once the calling node owns the partition and no other node holds a
//     lease on it (the previous owner released it, or lost it);
//   - Grant gives a partition to another node (or Revoke to none): the holder's lease context
//     ends with cause ErrHandedOver, and the new owner gets it once the holder called Release,
//     as a graceful hand-over in cluster mode;
//   - Lose ends the holder's lease with cause ErrLeaseLost and lets the owner acquire it at
//     once, without waiting for a Release, as a lease that expired.
//
// It keeps the keys acquired, every Release and every progress report (its leases are
// plugin.ProgressLeases), and can call a hook at each Release (before any other node can
// acquire the partition). Safe for concurrent use.
type Partitions struct {
	mu        sync.Mutex
	changed   chan struct{}
	def       string
	owner     map[string]string // partition key → node that may hold it ("": none)
	held      map[string]*fakeLease
	keys      map[string]bool
	acquired  map[string]int // by node + "\x00" + key
	releases  []Release
	progress  []ProgressReport
	onRelease func(Release)
}

// ProgressReport is one plugin.ProgressLease.Progress call on a lease of Partitions.
type ProgressReport struct {
	Node, Key string
	At        time.Time
}

// Release is one Lease.Release call (the first of a lease; later calls are not recorded).
type Release struct {
	Node, Key string
	// Lost is true when the lease had ended as lost (Lose) before it was released.
	Lost bool
}

// NewPartitions returns partitions owned by node until Grant or Revoke says otherwise.
func NewPartitions(node string) *Partitions {
	return &Partitions{
		changed:  make(chan struct{}),
		def:      node,
		owner:    map[string]string{},
		held:     map[string]*fakeLease{},
		keys:     map[string]bool{},
		acquired: map[string]int{},
	}
}

// Node returns the plugin.Partitions of one process.
func (p *Partitions) Node(name string) plugin.Partitions { return nodePartitions{p: p, node: name} }

type nodePartitions struct {
	p    *Partitions
	node string
}

var _ plugin.Partitions = nodePartitions{}

func (n nodePartitions) Acquire(ctx context.Context, key string) (plugin.Lease, error) {
	return n.p.acquire(ctx, n.node, key)
}

func (p *Partitions) acquire(ctx context.Context, node, key string) (plugin.Lease, error) {
	for {
		p.mu.Lock()
		if !p.keys[key] {
			p.keys[key] = true
			p.notifyLocked()
		}
		if p.ownerLocked(key) == node && p.held[key] == nil {
			if err := ctx.Err(); err != nil {
				p.mu.Unlock()
				return nil, err
			}
			lctx, cancel := context.WithCancelCause(ctx)
			l := &fakeLease{p: p, node: node, key: key, ctx: lctx, cancel: cancel}
			p.held[key] = l
			p.acquired[node+"\x00"+key]++
			p.notifyLocked()
			p.mu.Unlock()
			return l, nil
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (p *Partitions) ownerLocked(key string) string {
	if o, ok := p.owner[key]; ok {
		return o
	}
	return p.def
}

func (p *Partitions) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Grant gives the partition key to node. A lease another node holds on it ends (cause
// ErrHandedOver); node acquires it once that lease is released.
func (p *Partitions) Grant(key, node string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.owner[key] = node
	if l := p.held[key]; l != nil && l.node != node {
		l.cancel(ErrHandedOver)
	}
	p.notifyLocked()
}

// GrantAll gives every partition acquired so far, and those no Grant named, to node.
func (p *Partitions) GrantAll(node string) {
	p.mu.Lock()
	p.def = node
	keys := make([]string, 0, len(p.keys))
	for k := range p.keys {
		keys = append(keys, k)
	}
	p.mu.Unlock()
	for _, k := range keys {
		p.Grant(k, node)
	}
}

// Revoke gives the partition key to no node: its holder's lease ends (cause ErrHandedOver) and
// no Acquire of it returns until a Grant.
func (p *Partitions) Revoke(key string) { p.Grant(key, "") }

// Lose ends the lease held on key as lost (cause ErrLeaseLost): its owner may acquire the
// partition again at once, whether or not the holder released it.
func (p *Partitions) Lose(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.held[key]; l != nil {
		l.lost = true
		l.cancel(ErrLeaseLost)
		delete(p.held, key)
	}
	p.notifyLocked()
}

// OnRelease calls f at each first Release of a lease, before the partition can be acquired by
// another node. f must not call the Partitions.
func (p *Partitions) OnRelease(f func(Release)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onRelease = f
}

// Keys returns the keys of every partition acquired (or waited for) so far, sorted.
func (p *Partitions) Keys() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.keys))
	for k := range p.keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Holder returns the node holding a lease on key, if any.
func (p *Partitions) Holder(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.held[key]; l != nil {
		return l.node, true
	}
	return "", false
}

// Acquired returns how many leases node acquired on key.
func (p *Partitions) Acquired(node, key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acquired[node+"\x00"+key]
}

// Releases returns every Release so far, in order.
func (p *Partitions) Releases() []Release {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Release(nil), p.releases...)
}

// Progress returns every progress report so far on key, by any node, in order.
func (p *Partitions) Progress(key string) []ProgressReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ProgressReport
	for _, r := range p.progress {
		if r.Key == key {
			out = append(out, r)
		}
	}
	return out
}

// LastProgress returns the latest progress reported on key, by any node.
func (p *Partitions) LastProgress(key string) (ProgressReport, bool) {
	rs := p.Progress(key)
	if len(rs) == 0 {
		return ProgressReport{}, false
	}
	return rs[len(rs)-1], true
}

// WaitHeld waits until node holds a lease on every key given, failing the test after
// DefaultTimeout.
func (p *Partitions) WaitHeld(t testing.TB, node string, keys ...string) {
	t.Helper()
	Eventually(t, 0, fmt.Sprintf("node %q to hold %v", node, keys), func() bool {
		for _, k := range keys {
			if h, ok := p.Holder(k); !ok || h != node {
				return false
			}
		}
		return true
	})
}

// WaitReleased waits until no node other than the owner holds a lease on any of keys (every
// lease ended by Grant or Revoke was released), failing the test after DefaultTimeout.
func (p *Partitions) WaitReleased(t testing.TB, keys ...string) {
	t.Helper()
	Eventually(t, 0, fmt.Sprintf("the leases on %v to be released", keys), func() bool { return p.Released(keys...) })
}

// Released reports whether no node other than the owner holds a lease on any of keys.
func (p *Partitions) Released(keys ...string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range keys {
		if l := p.held[k]; l != nil && l.node != p.ownerLocked(k) {
			return false
		}
	}
	return true
}

type fakeLease struct {
	p      *Partitions
	node   string
	key    string
	ctx    context.Context
	cancel context.CancelCauseFunc

	once sync.Once
	lost bool // under p.mu
}

var (
	_ plugin.Lease         = (*fakeLease)(nil)
	_ plugin.ProgressLease = (*fakeLease)(nil)
)

func (l *fakeLease) Context() context.Context { return l.ctx }

// Progress records the report (Partitions.Progress).
func (l *fakeLease) Progress(at time.Time) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	l.p.progress = append(l.p.progress, ProgressReport{Node: l.node, Key: l.key, At: at})
}

func (l *fakeLease) Release() {
	l.once.Do(func() {
		p := l.p
		p.mu.Lock()
		r := Release{Node: l.node, Key: l.key, Lost: l.lost}
		f := p.onRelease
		p.mu.Unlock()
		if f != nil {
			f(r) // before another node can acquire the partition
		}
		l.cancel(errReleased)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.held[l.key] == l {
			delete(p.held, l.key)
		}
		p.releases = append(p.releases, r)
		p.notifyLocked()
	})
}

var errReleased = errors.New("plugintest: the lease was released")

// FencedStore is an in-memory state store shared by the processes of a test, each of which sees
// it through View, with the fencing of the cluster's store: every Put is a compare-and-set on
// the revision the view last read or wrote for the key, refused with an error wrapping
// plugin.ErrNotOwner when another view wrote the key since (or the key exists and the view
// never read it). Touch plays another process writing every key. Safe for concurrent use.
type FencedStore struct {
	mu      sync.Mutex
	vals    map[string]fencedValue // by namespace-joined key
	rev     uint64
	refused []Refusal
}

type fencedValue struct {
	val []byte
	rev uint64
}

// Refusal is one Put that FencedStore refused.
type Refusal struct {
	View, Key string // Key within its namespace
}

// NewFencedStore returns an empty store.
func NewFencedStore() *FencedStore { return &FencedStore{vals: map[string]fencedValue{}} }

// View returns the store as one process sees it, in namespace ns.
func (s *FencedStore) View(node, ns string) state.Store {
	v := &fencedView{s: s, node: node, revs: map[string]uint64{}}
	return &fencedNS{v: v, prefix: ns + "\x00"}
}

// Touch writes every key again with its value and a new revision, as another process saving
// the same positions would: each view's next Put of a key is refused until it reads the key
// again.
func (s *FencedStore) Touch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.vals {
		s.rev++
		s.vals[k] = fencedValue{val: v.val, rev: s.rev}
	}
}

// Refused returns the Puts refused so far, in order.
func (s *FencedStore) Refused() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Refusal(nil), s.refused...)
}

type fencedView struct {
	s    *FencedStore
	node string
	revs map[string]uint64 // under s.mu: the revision this view last read or wrote, by key
}

type fencedNS struct {
	v      *fencedView
	prefix string
}

var _ state.Store = (*fencedNS)(nil)

func (n *fencedNS) Get(_ context.Context, key string) ([]byte, error) {
	s := n.v.s
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vals[n.prefix+key]
	n.v.revs[n.prefix+key] = v.rev
	if !ok {
		return nil, state.ErrNotFound
	}
	return append([]byte(nil), v.val...), nil
}

func (n *fencedNS) Put(_ context.Context, key string, value []byte) error {
	if key == "" {
		return errors.New("state: put: key required")
	}
	s := n.v.s
	s.mu.Lock()
	defer s.mu.Unlock()
	full := n.prefix + key
	if cur := s.vals[full].rev; cur != n.v.revs[full] {
		s.refused = append(s.refused, Refusal{View: n.v.node, Key: key})
		return fmt.Errorf("state %s: put %q: revision %d, view %s last saw %d: %w", n.prefix[:len(n.prefix)-1], key, cur, n.v.node, n.v.revs[full], plugin.ErrNotOwner)
	}
	s.rev++
	s.vals[full] = fencedValue{val: append([]byte(nil), value...), rev: s.rev}
	n.v.revs[full] = s.rev
	return nil
}

func (n *fencedNS) Delete(_ context.Context, key string) error {
	s := n.v.s
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.vals, n.prefix+key)
	delete(n.v.revs, n.prefix+key)
	return nil
}

func (n *fencedNS) Keys(_ context.Context, prefix string) ([]string, error) {
	s := n.v.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.vals {
		rest, ok := strings.CutPrefix(k, n.prefix)
		if ok && strings.HasPrefix(rest, prefix) && !strings.Contains(rest, "\x00") {
			out = append(out, rest)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (n *fencedNS) Namespace(name string) state.Store {
	return &fencedNS{v: n.v, prefix: n.prefix + name + "\x00"}
}
