// Package cluster runs one logshipper configuration on several processes (cluster mode): the
// state store is a NATS JetStream key-value bucket whose every write is a compare-and-set on the
// key's revision (a process that lost a partition cannot overwrite its newer position), and each
// source partition is owned by one live member at a time through a lease with a TTL, spread over
// the members by rendezvous hashing and handed over when members come and go.
package cluster

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
)

// Config is the `cluster:` section. Without it logshipper runs alone on its bbolt state.
type Config struct {
	// URLs are the NATS servers to dial (nats://host:4222, tls://host:4222); any one that
	// answers leads to the others.
	URLs []string `yaml:"urls"`
	// Credentials: at most one of token, user+password, nkey_seed_file or creds_file.
	Token        config.Secret `yaml:"token"`
	User         string        `yaml:"user"`
	Password     config.Secret `yaml:"password"`
	NKeySeedFile string        `yaml:"nkey_seed_file"`
	CredsFile    string        `yaml:"creds_file"`
	// TLS is the shared TLS section (internal/netconf).
	TLS netconf.TLS `yaml:"tls"`
	// Replicas is how many NATS servers keep each key-value bucket (1, 3 or 5).
	Replicas int `yaml:"replicas"`
	// Node names this process among the members; it must be unique in the cluster.
	Node string `yaml:"node"`
	// LeaseTTL is how long a partition stays with a member that stopped renewing its lease
	// (dead, frozen, cut off): the longest a partition waits before another member takes it.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// Bucket prefixes the names of the key-value buckets, so that several clusters can share
	// one NATS system.
	Bucket string `yaml:"bucket"`
}

// NewConfig returns the defaults: 3 replicas, the host name as node name, a 15 s lease TTL,
// buckets named logshipper_*.
func NewConfig() *Config {
	host, _ := os.Hostname()
	return &Config{Replicas: 3, Node: host, LeaseTTL: 15 * time.Second, Bucket: "logshipper"}
}

var _ config.Validator = (*Config)(nil)

// Validate implements config.Validator.
func (c *Config) Validate() error {
	var p config.Problems
	if len(c.URLs) == 0 {
		p.Addf("urls: missing (the NATS servers to dial, such as nats://127.0.0.1:4222)")
	}
	for i, u := range c.URLs {
		pu, err := url.Parse(u)
		switch {
		case err != nil:
			p.Addf("urls[%d]: %q is not a URL: %v", i, u, err)
		case pu.Scheme != "nats" && pu.Scheme != "tls" && pu.Scheme != "ws" && pu.Scheme != "wss":
			p.Addf("urls[%d]: %q: the scheme must be nats, tls, ws or wss", i, u)
		case pu.User != nil:
			p.Addf("urls[%d]: credentials do not go in the URL: use token, user and password, nkey_seed_file or creds_file", i)
		case pu.Host == "":
			p.Addf("urls[%d]: %q has no host", i, u)
		}
	}
	var creds []string
	if c.Token.IsSet() {
		creds = append(creds, "token")
	}
	if c.User != "" || c.Password.IsSet() {
		creds = append(creds, "user/password")
		if c.User == "" || !c.Password.IsSet() {
			p.Addf("user, password: give both or neither")
		}
	}
	if c.NKeySeedFile != "" {
		creds = append(creds, "nkey_seed_file")
	}
	if c.CredsFile != "" {
		creds = append(creds, "creds_file")
	}
	if len(creds) > 1 {
		p.Addf("credentials: give one of token, user/password, nkey_seed_file, creds_file (got %s)", strings.Join(creds, ", "))
	}
	switch c.Replicas {
	case 1, 3, 5:
	default:
		p.Addf("replicas: %d: must be 1, 3 or 5 (JetStream keeps a bucket on an odd number of servers)", c.Replicas)
	}
	if c.Node == "" {
		p.Addf("node: missing (this process's name among the members; the host name by default)")
	} else if strings.ContainsAny(c.Node, " .*>/\\") {
		p.Addf("node: %q: letters, digits, '-' and '_' only", c.Node)
	}
	if c.LeaseTTL < time.Second {
		p.Addf("lease_ttl: %s: must be at least 1s", c.LeaseTTL)
	}
	if c.Bucket == "" || strings.ContainsAny(c.Bucket, " .*>/\\") {
		p.Addf("bucket: %q: letters, digits, '-' and '_' only", c.Bucket)
	}
	return p.Err()
}

// String names the cluster for logs, without credentials.
func (c *Config) String() string {
	return fmt.Sprintf("nats %s (node %s, %d replicas)", strings.Join(c.URLs, ","), c.Node, c.Replicas)
}
