package cluster

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/state"
)

// Cluster is this process's membership of a cluster: its connection to NATS, its member
// heartbeat, the state store and the partition leases.
//
// The leases bucket holds "members.<node>" (one per live process, renewed every LeaseTTL/3)
// and "lease.<escaped plugin/partition>" (one per owned partition, renewed likewise); the
// bucket's TTL (the stream's MaxAge) is LeaseTTL, so a key nobody renews disappears. The state
// bucket holds the state store's keys.
type Cluster struct {
	cfg      Config
	log      *slog.Logger
	nc       *nats.Conn
	js       jetstream.JetStream
	stateKV  jetstream.KeyValue
	leasesKV jetstream.KeyValue
	store    *kvStore
	started  time.Time
	instance string // tells this process's member key from another's with the same node name

	memberRev atomic.Uint64
	hbMu      sync.Mutex  // one heartbeat at a time: memberLoop's and quotaLoop's
	watching  atomic.Bool // quotaLoop watches the member keys
	// frozen pauses every renewal (member heartbeat and leases), as if the process were
	// stopped: tests use it to make a member lose its leases.
	frozen atomic.Bool

	mu      sync.Mutex
	members []string      // live members, sorted; always includes this node
	changed chan struct{} // closed when members changes
	// peerQuotas is the quota use each other live member published, by member and quota key.
	peerQuotas map[string]map[string]quotaUse

	// qmu guards the quotas this member uses (quota.go); taken before mu, never after.
	qmu      sync.Mutex
	quotas   map[string]*quotaShare
	qchanged chan struct{} // closed when a quota's fraction changes

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Causes of a lease context's end (context.Cause), for the source's log.
var (
	// ErrLeaseLost: the lease could not be renewed in time; another member may own the
	// partition already.
	ErrLeaseLost = fmt.Errorf("cluster: partition lease lost: %w", plugin.ErrNotOwner)
	// ErrHandover: the members changed and another member is now the partition's owner; drain
	// and Release.
	ErrHandover = errors.New("cluster: partition handed over to another member")
	// ErrClosed: the cluster membership was closed.
	ErrClosed = errors.New("cluster: closed")
)

// memberValue is the value of "members.<node>".
type memberValue struct {
	Node     string    `json:"node"`
	Instance string    `json:"instance"`
	Started  time.Time `json:"started"`
	Seen     time.Time `json:"seen"`
	// Quotas is the member's use of each API quota it calls, by quota key (quota.go).
	Quotas map[string]quotaUse `json:"quotas,omitempty"`
}

// Connect dials NATS, checks JetStream, creates or binds the key-value buckets and starts this
// member's heartbeat. ctx bounds the dial and setup only.
func Connect(ctx context.Context, cfg Config, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	log = log.With("cluster", cfg.Bucket, "node", cfg.Node)
	nc, err := dial(cfg, log, true)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		cfg:      cfg,
		log:      log,
		nc:       nc,
		started:  time.Now(),
		instance: randomID(),
		members:  []string{cfg.Node},
		changed:  make(chan struct{}),
		qchanged: make(chan struct{}),
		stop:     make(chan struct{}),
	}
	if err := c.setup(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	c.refreshMembers() // Acquire starts from the live members, not from this node alone
	c.wg.Add(2)
	go c.memberLoop()
	go c.quotaLoop()
	log.Info("joined the cluster", "servers", nc.ConnectedUrlRedacted(), "lease_ttl", cfg.LeaseTTL, "replicas", cfg.Replicas)
	return c, nil
}

// Observe connects to a cluster without joining it: it reads the members and leases (Status)
// and holds no member key, so no partition moves to it. It creates nothing: a cluster whose
// buckets do not exist yet (no member ever ran) is an error saying so. Close only drains.
func Observe(ctx context.Context, cfg Config, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	log = log.With("cluster", cfg.Bucket)
	nc, err := dial(cfg, log, false)
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, log: log, nc: nc, started: time.Now(), changed: make(chan struct{}), qchanged: make(chan struct{}), stop: make(chan struct{})}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: JetStream client: %w", err)
	}
	c.js = js
	for _, b := range []struct {
		name string
		kv   *jetstream.KeyValue
	}{{cfg.Bucket + "_leases", &c.leasesKV}, {cfg.Bucket + "_state", &c.stateKV}} {
		kv, err := js.KeyValue(ctx, b.name)
		if err != nil {
			nc.Close()
			if errors.Is(err, jetstream.ErrBucketNotFound) {
				return nil, fmt.Errorf("cluster: no bucket %s on %s: no member of this cluster (bucket: %s) has run yet", b.name, nc.ConnectedUrlRedacted(), cfg.Bucket)
			}
			return nil, fmt.Errorf("cluster: bucket %s on %s: %w", b.name, nc.ConnectedUrlRedacted(), err)
		}
		*b.kv = kv
	}
	c.store = newKVStore(c.stateKV)
	return c, nil
}

func (c *Cluster) setup(ctx context.Context) error {
	js, err := jetstream.New(c.nc)
	if err != nil {
		return fmt.Errorf("cluster: JetStream client: %w", err)
	}
	c.js = js
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("cluster: JetStream on %s: %w (is the NATS server run with JetStream on?)", c.nc.ConnectedUrlRedacted(), err)
	}
	c.stateKV, err = c.bucket(ctx, jetstream.KeyValueConfig{
		Bucket:      c.cfg.Bucket + "_state",
		Description: "logshipper cluster state (positions, checkpoints)",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    c.cfg.Replicas,
	})
	if err != nil {
		return err
	}
	c.leasesKV, err = c.bucket(ctx, jetstream.KeyValueConfig{
		Bucket:      c.cfg.Bucket + "_leases",
		Description: "logshipper cluster members and partition leases",
		History:     1,
		TTL:         c.cfg.LeaseTTL,
		Storage:     jetstream.MemoryStorage,
		Replicas:    c.cfg.Replicas,
	})
	if err != nil {
		return err
	}
	c.store = newKVStore(c.stateKV)
	return c.join(ctx)
}

// bucket binds the bucket if it exists, updating its configuration when it differs from cfg
// (another TTL or replica count in the configuration), or creates it.
func (c *Cluster) bucket(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return openKVRetrying(ctx, c.js, cfg, c.log)
}

// attemptTimeout bounds attempt n (from 0) at opening a bucket: a second, a second more each
// time, at most three. Members started together on a new NATS cluster create, bind and update
// the same bucket at once, and a JetStream request caught in that race can go unanswered; a
// fresh attempt finds the bucket made. The first attempts are short, so that a lost answer
// costs about a second; the later ones long, for a server slow to create a bucket.
func attemptTimeout(n int) time.Duration { return min(time.Duration(n+1)*time.Second, 3*time.Second) }

// placementGrace is how long a refused replica count is tried again: a NATS cluster that has
// just started answers "no suitable peers for placement" until it has heard from its servers.
const placementGrace = 5 * time.Second

// openKVRetrying is openKV tried again, with a backoff, until it succeeds, ctx ends, or the
// cluster refuses the replica count (trying again cannot change that).
func openKVRetrying(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig, log *slog.Logger) (jetstream.KeyValue, error) {
	b := retry.Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout(attempt))
		kv, err := openKV(actx, js, cfg, log)
		cancel()
		// A replica count refused is final, unless the NATS cluster is still forming (its
		// servers have not all been heard from yet): that passes within seconds.
		if err == nil || ctx.Err() != nil || replicasRefused(err) && time.Since(start) > placementGrace {
			return kv, err
		}
		log.Debug("opening a key-value bucket failed; trying again", "bucket", cfg.Bucket, "attempt", attempt+1, "error", err)
		if !retry.Sleep(ctx, b.Delay(attempt, 0)) {
			return nil, err
		}
	}
}

// openKV binds or creates a key-value bucket whose reads go to the stream's leader: a
// replicated bucket allows direct gets by default, answered by any replica, which may not have
// applied the latest write yet; a read a moment after a write must see it (the store's Get
// feeds the revision its next compare-and-set expects).
func openKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig, log *slog.Logger) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	switch {
	case errors.Is(err, jetstream.ErrBucketNotFound):
		_, err = js.CreateKeyValue(ctx, cfg)
		if err != nil && !errors.Is(err, jetstream.ErrBucketExists) { // ErrBucketExists: another member created it meanwhile
			if replicasRefused(err) {
				return nil, fmt.Errorf("cluster: create key-value bucket %s with replicas %d: the NATS cluster cannot give %d replicas (it needs at least that many JetStream servers; lower cluster.replicas): %w", cfg.Bucket, cfg.Replicas, cfg.Replicas, err)
			}
			return nil, fmt.Errorf("cluster: create key-value bucket %s: %w", cfg.Bucket, err)
		}
	case err != nil:
		return nil, fmt.Errorf("cluster: bind key-value bucket %s: %w", cfg.Bucket, err)
	default:
		stream, err := js.Stream(ctx, "KV_"+cfg.Bucket)
		if err != nil {
			return nil, fmt.Errorf("cluster: key-value bucket %s: its stream: %w", cfg.Bucket, err)
		}
		si := stream.CachedInfo()
		if si.Config.MaxAge != cfg.TTL || si.Config.Replicas != cfg.Replicas || si.Config.MaxMsgsPerSubject != int64(cfg.History) {
			log.Info("key-value bucket exists with another configuration: updating it", "bucket", cfg.Bucket,
				"replicas", cfg.Replicas, "was_replicas", si.Config.Replicas, "ttl", cfg.TTL, "was_ttl", si.Config.MaxAge)
			if _, err := js.UpdateKeyValue(ctx, cfg); err != nil {
				if replicasRefused(err) {
					return nil, fmt.Errorf("cluster: update key-value bucket %s to replicas %d: the NATS cluster cannot give %d replicas: %w", cfg.Bucket, cfg.Replicas, cfg.Replicas, err)
				}
				return nil, fmt.Errorf("cluster: update key-value bucket %s: %w", cfg.Bucket, err)
			}
		}
	}
	stream, err := js.Stream(ctx, "KV_"+cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("cluster: key-value bucket %s: its stream: %w", cfg.Bucket, err)
	}
	if sc := stream.CachedInfo().Config; sc.AllowDirect {
		sc.AllowDirect = false
		if _, err := js.UpdateStream(ctx, sc); err != nil {
			return nil, fmt.Errorf("cluster: key-value bucket %s: turn direct gets off: %w", cfg.Bucket, err)
		}
	}
	kv, err = js.KeyValue(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("cluster: bind key-value bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// replicasRefused tells whether err is the server refusing a replica count: not enough
// JetStream servers (10005 no suitable peers, 10023 insufficient resources) or a server not
// clustered (10074).
func replicasRefused(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case 10005, 10023, 10074:
		return true
	}
	return false
}

// dial connects to NATS. A member reconnects forever with a growing delay; Check (forever
// false) fails on the first unreachable round.
func dial(cfg Config, log *slog.Logger, forever bool) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("logshipper " + cfg.Node),
		nats.Timeout(5 * time.Second),
	}
	if forever {
		opts = append(opts,
			nats.MaxReconnects(-1),
			nats.CustomReconnectDelay(reconnectDelay),
			nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
				log.Warn("disconnected from NATS; reconnecting", "error", err)
			}),
			nats.ReconnectHandler(func(nc *nats.Conn) {
				log.Info("reconnected to NATS", "server", nc.ConnectedUrlRedacted())
			}),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				log.Warn("NATS error", "error", err)
			}),
		)
	} else {
		opts = append(opts, nats.NoReconnect())
	}
	switch {
	case cfg.Token.IsSet():
		opts = append(opts, nats.Token(cfg.Token.Value()))
	case cfg.User != "":
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password.Value()))
	case cfg.NKeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(cfg.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("cluster: nkey_seed_file %s: %w", cfg.NKeySeedFile, err)
		}
		opts = append(opts, o)
	case cfg.CredsFile != "":
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if !cfg.TLS.IsZero() {
		tc, err := cfg.TLS.ClientConfig(log, "nats "+strings.Join(cfg.URLs, ","))
		if err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		opts = append(opts, nats.Secure(tc))
	}
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS %s: %w", strings.Join(cfg.URLs, ","), err)
	}
	return nc, nil
}

// reconnectDelay doubles from 100 ms up to 5 s, with up to 20% jitter so members that lost the
// same server do not all come back at once.
func reconnectDelay(attempts int) time.Duration {
	d := 5 * time.Second
	if attempts < 6 {
		d = 100 * time.Millisecond << attempts
	}
	return d + rand.N(d/5+1)
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = cryptorand.Read(b)
	return hex.EncodeToString(b)
}

// Store is the cluster's state store (one key-value bucket; Namespace as in the bbolt store).
// Every Put is a compare-and-set on the revision this process last read or wrote for the key:
// a write refused because another process wrote since returns an error wrapping
// plugin.ErrNotOwner.
func (c *Cluster) Store() state.Store { return c.store }

// Partitions returns the partition leases of one source (plugin configuration name): the
// lease key is "<plugin>/<partition key>".
func (c *Cluster) Partitions(pluginName string) plugin.Partitions {
	return &partitions{c: c, plugin: pluginName, log: c.log.With("plugin", pluginName)}
}

// MeteredPartitions is Partitions whose leases also show in m. m.Lag: at each renewal (every
// LeaseTTL/3) the time between the renewal and the progress its source reported
// (plugin.ProgressLease), in seconds, under the partition key; the series is removed when the
// lease ends (released, lost, handed over). A partition whose source reported no progress yet
// has no series. m.Moves: each lease's start ("acquired") and end ("handed_over", "released",
// "lost", "lost_at_release", "release_failed", "closed"), by event. m.Owned: the leases held.
func (c *Cluster) MeteredPartitions(pluginName string, m PartitionMetrics) plugin.Partitions {
	return newPartitions(c, pluginName, m)
}

// Node is this process's member name.
func (c *Cluster) Node() string { return c.cfg.Node }

// Status is what `logshipper cluster status` shows.
type Status struct {
	Node    string      // this process
	Members []Member    // live members, by name
	Leases  []LeaseInfo // every partition lease, by plugin and partition
}

// Member is one live process.
type Member struct {
	Node string
	// Seen is its last heartbeat.
	Seen time.Time
	// Started is when it joined.
	Started time.Time
	// Quotas is its use of each API quota it calls, by quota key, over its last window.
	Quotas map[string]QuotaUse
}

// QuotaUse is a member's use of one API quota.
type QuotaUse struct {
	Rate     float64 // calls per second
	HeldBack bool    // its calls waited on its part of the quota: it would call more
}

// LeaseInfo is one partition's lease.
type LeaseInfo struct {
	Plugin, Partition string
	Owner             string
	// Since is when the owner took it; Renewed its last renewal.
	Since, Renewed time.Time
	// Progress is how far the owner's source had got at the last renewal: the time of the
	// latest data of the partition delivered and saved (plugin.ProgressLease). Zero until the
	// owner's source reports one under this lease.
	Progress time.Time
}

// Status reads the members and leases from the buckets.
func (c *Cluster) Status(ctx context.Context) (Status, error) {
	st := Status{Node: c.cfg.Node}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := c.leasesKV.WatchFiltered(ctx, []string{"members.*", "lease.*"}, jetstream.IgnoreDeletes())
	if err != nil {
		return Status{}, fmt.Errorf("cluster: status: read bucket %s: %w", c.leasesKV.Bucket(), err)
	}
	defer func() { _ = w.Stop() }()
	for {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return Status{}, fmt.Errorf("cluster: status: read bucket %s: %w", c.leasesKV.Bucket(), ctx.Err())
		}
		if e == nil {
			break
		}
		switch {
		case strings.HasPrefix(e.Key(), "members."):
			var m memberValue
			if err := json.Unmarshal(e.Value(), &m); err != nil {
				c.log.Warn("cluster status: unreadable member", "key", e.Key(), "error", err)
				continue
			}
			mem := Member{Node: m.Node, Seen: m.Seen, Started: m.Started}
			for k, u := range m.Quotas {
				if mem.Quotas == nil {
					mem.Quotas = map[string]QuotaUse{}
				}
				mem.Quotas[k] = QuotaUse(u)
			}
			st.Members = append(st.Members, mem)
		case strings.HasPrefix(e.Key(), "lease."):
			var l leaseValue
			if err := json.Unmarshal(e.Value(), &l); err != nil {
				c.log.Warn("cluster status: unreadable lease", "key", e.Key(), "error", err)
				continue
			}
			st.Leases = append(st.Leases, LeaseInfo{Plugin: l.Plugin, Partition: l.Partition, Owner: l.Owner, Since: l.Since, Renewed: l.Renewed, Progress: l.Progress})
		}
	}
	slices.SortFunc(st.Members, func(a, b Member) int { return strings.Compare(a.Node, b.Node) })
	slices.SortFunc(st.Leases, func(a, b LeaseInfo) int {
		if a.Plugin != b.Plugin {
			return strings.Compare(a.Plugin, b.Plugin)
		}
		return strings.Compare(a.Partition, b.Partition)
	})
	return st, nil
}

// CheckResult is what `validate --check` reports of the cluster.
type CheckResult struct {
	Server    string // the server that answered, and its version
	JetStream bool
	// Replicas is how many servers the cluster has for a bucket (the config's replicas must
	// not exceed it).
	Replicas int
}

// Check dials NATS and reports JetStream's availability and the replicas it can give, without
// creating anything. Replicas is 1 for a server outside a cluster, else the number of servers
// of its cluster the client learned of (the configured URLs and those the servers announce).
func Check(ctx context.Context, cfg Config) (CheckResult, error) {
	nc, err := dial(cfg, slog.Default(), false)
	if err != nil {
		return CheckResult{}, err
	}
	defer nc.Close()
	res := CheckResult{Server: fmt.Sprintf("%s (%s, nats-server %s)", nc.ConnectedServerName(), nc.ConnectedUrlRedacted(), nc.ConnectedServerVersion()), Replicas: 1}
	if nc.ConnectedClusterName() != "" {
		res.Replicas = len(nc.Servers())
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return res, fmt.Errorf("cluster: JetStream client: %w", err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return res, nil
		}
		return res, fmt.Errorf("cluster: JetStream account info from %s: %w", nc.ConnectedUrlRedacted(), err)
	}
	res.JetStream = true
	return res, nil
}

// Close leaves the cluster: the leases this process holds are handed over (their sources must
// have released them: the engine stops first), its heartbeat is deleted, and the connection is
// drained. A lease still held is left to expire within LeaseTTL.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		c.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.LeaseTTL)
		defer cancel()
		var errs []error
		if rev := c.memberRev.Load(); rev != 0 {
			if err := c.leasesKV.Delete(ctx, memberKey(c.cfg.Node), jetstream.LastRevision(rev)); err != nil && !casRefused(err) {
				errs = append(errs, fmt.Errorf("cluster: delete member %s: %w", c.cfg.Node, err))
			}
		}
		if err := c.nc.Drain(); err != nil {
			errs = append(errs, fmt.Errorf("cluster: drain NATS connection: %w", err))
		}
		c.closeErr = errors.Join(errs...)
		c.log.Info("left the cluster")
	})
	return c.closeErr
}
