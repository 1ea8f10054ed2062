package cluster

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
)

// Cluster is this process's membership of a cluster: its connection to NATS, its member
// heartbeat, the state store and the partition leases.
//
// The API below is what the rest of logshipper uses (internal/app, cmd/logshipper); its
// implementation over NATS JetStream is being written (issue 15).
type Cluster struct {
	cfg Config
	log *slog.Logger
}

// errNotBuilt is returned until the JetStream implementation lands.
var errNotBuilt = errors.New("cluster mode: not built yet")

// Connect dials NATS, checks JetStream, creates or binds the key-value buckets and starts this
// member's heartbeat. ctx bounds the dial and setup only.
func Connect(ctx context.Context, cfg Config, log *slog.Logger) (*Cluster, error) {
	return nil, errNotBuilt
}

// Store is the cluster's state store (one key-value bucket; Namespace as in the bbolt store).
// Every Put is a compare-and-set on the revision this process last read or wrote for the key:
// a write refused because another process wrote since returns an error wrapping
// plugin.ErrNotOwner.
func (c *Cluster) Store() state.Store { return nil }

// Partitions returns the partition leases of one source (plugin configuration name): the
// lease key is "<plugin>/<partition key>".
func (c *Cluster) Partitions(pluginName string) plugin.Partitions { return nil }

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
}

// LeaseInfo is one partition's lease.
type LeaseInfo struct {
	Plugin, Partition string
	Owner             string
	// Since is when the owner took it; Renewed its last renewal.
	Since, Renewed time.Time
}

// Status reads the members and leases from the buckets.
func (c *Cluster) Status(ctx context.Context) (Status, error) { return Status{}, errNotBuilt }

// CheckResult is what `validate --check` reports of the cluster.
type CheckResult struct {
	Server    string // the server that answered, and its version
	JetStream bool
	// Replicas is how many servers the cluster has for a bucket (the config's replicas must
	// not exceed it).
	Replicas int
}

// Check dials NATS and reports JetStream's availability and the replicas it can give, without
// creating anything.
func Check(ctx context.Context, cfg Config) (CheckResult, error) { return CheckResult{}, errNotBuilt }

// Close leaves the cluster: the leases this process holds are handed over (their sources must
// have released them: the engine stops first), its heartbeat is deleted, and the connection is
// drained.
func (c *Cluster) Close() error { return nil }
