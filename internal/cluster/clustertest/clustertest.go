// Package clustertest starts a real NATS JetStream cluster inside the test process: n
// nats-server nodes clustered over loopback routes, each with its own store directory, for the
// tests of cluster mode (internal/cluster, the sources, and the end-to-end tests that run
// logshipper as real processes and hand them URLs).
package clustertest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startTimeout bounds how long a node may take to accept connections and how long the cluster
// may take to elect its JetStream meta leader.
const startTimeout = 60 * time.Second

// Cluster is a running n-node NATS JetStream cluster on loopback.
type Cluster struct {
	t     testing.TB // nil when started by StartServers
	mu    sync.Mutex
	opts  []*server.Options
	nodes []*server.Server // nil: stopped
}

// Start starts n nodes (n ≥ 1; a JetStream cluster needs 3 for replicas 3) with JetStream on,
// waits until they accept clients and the JetStream meta leader is elected, and stops them when
// the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c, err := newCluster(n, func(int) (string, error) { return t.TempDir(), nil })
	if err != nil {
		t.Fatalf("clustertest.Start: %v", err)
	}
	c.t = t
	t.Cleanup(c.stopAll)
	if err := c.startAll(); err != nil {
		t.Fatalf("clustertest.Start: %v", err)
	}
	return c
}

// Servers is a cluster started outside a test (by the load run's cluster mode): the same
// nodes as Start's, stopped by Stop.
type Servers struct{ c *Cluster }

// StartServers starts n nodes as Start does, each storing under its own directory in dir, and
// waits until the cluster is ready. On an error, the nodes it started are stopped.
func StartServers(dir string, n int) (*Servers, error) {
	c, err := newCluster(n, func(i int) (string, error) {
		d := filepath.Join(dir, fmt.Sprintf("n%d", i))
		return d, os.MkdirAll(d, 0o755)
	})
	if err != nil {
		return nil, err
	}
	if err := c.startAll(); err != nil {
		c.stopAll()
		return nil, err
	}
	return &Servers{c: c}, nil
}

// URLs are the client URLs of every node.
func (s *Servers) URLs() []string { return s.c.URLs() }

// Stop shuts every node down and waits until they are down.
func (s *Servers) Stop() { s.c.stopAll() }

// newCluster chooses the ports and options of n nodes; storeDir gives node i its store
// directory. It starts nothing.
func newCluster(n int, storeDir func(i int) (string, error)) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("n = %d; want at least 1", n)
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	clientPorts, routePorts := ports[:n], ports[n:]
	var routes []*url.URL
	for _, p := range routePorts {
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(p))})
	}
	c := &Cluster{opts: make([]*server.Options, n), nodes: make([]*server.Server, n)}
	for i := range n {
		dir, err := storeDir(i)
		if err != nil {
			return nil, fmt.Errorf("node %d's store directory: %w", i, err)
		}
		o := &server.Options{
			ServerName:             fmt.Sprintf("n%d", i),
			Host:                   "127.0.0.1",
			Port:                   clientPorts[i],
			NoLog:                  true,
			NoSigs:                 true,
			JetStream:              true,
			JetStreamMaxMemory:     64 << 20,
			JetStreamMaxStore:      256 << 20,
			StoreDir:               dir,
			DisableJetStreamBanner: true,
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "logshipper-test", Host: "127.0.0.1", Port: routePorts[i]}
			o.Routes = routes
		}
		c.opts[i] = o
	}
	return c, nil
}

// startAll starts every node and waits until the cluster is ready.
func (c *Cluster) startAll() error {
	for i := range c.opts {
		if err := c.start(i); err != nil {
			return err
		}
	}
	return c.waitReady()
}

// URLs are the client URLs of every node (stopped ones included: a client given all of them
// reaches whichever is up).
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.opts))
	for i, o := range c.opts {
		out[i] = "nats://" + net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	}
	return out
}

// URL is node i's client URL.
func (c *Cluster) URL(i int) string { return c.URLs()[i] }

// Server is node i's server (nil while it is stopped).
func (c *Cluster) Server(i int) *server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// Stop shuts node i down (its store directory is kept for Restart).
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.mu.Lock()
	s := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if s == nil {
		c.t.Fatalf("clustertest: node %d is already stopped", i)
	}
	s.Shutdown()
	s.WaitForShutdown()
}

// Restart starts node i again on its ports and store directory and waits until the cluster
// has a meta leader again and node i's JetStream is current.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if err := c.start(i); err != nil {
		c.t.Fatalf("clustertest: %v", err)
	}
	c.WaitReady()
}

// WaitReady waits until every running node accepts clients, exactly one running node is the
// JetStream meta leader, and every running node's JetStream view is current.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	if err := c.waitReady(); err != nil {
		c.t.Fatalf("clustertest: %v", err)
	}
}

func (c *Cluster) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		c.mu.Lock()
		running := 0
		leaders, current := 0, 0
		for _, s := range c.nodes {
			if s == nil {
				continue
			}
			running++
			if s.JetStreamIsLeader() {
				leaders++
			}
			if len(c.nodes) == 1 || s.JetStreamIsCurrent() {
				current++
			}
		}
		urls := c.runningURLs()
		c.mu.Unlock()
		if (len(c.nodes) == 1 || leaders == 1) && current == running {
			// A meta leader is elected; placement may still lack peers it has not heard from
			// yet ("no suitable peers for placement"): wait until a stream kept on every
			// running node can be made.
			return placeable(urls, running, deadline)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no JetStream meta leader after %s (%d running, %d leaders, %d current)", startTimeout, running, leaders, current)
		}
		time.Sleep(20 * time.Millisecond) // polling the servers' own state: there is no event to wait on
	}
}

// runningURLs returns the client URLs of the running nodes; c.mu is held.
func (c *Cluster) runningURLs() []string {
	var out []string
	for i, s := range c.nodes {
		if s != nil {
			out = append(out, "nats://"+net.JoinHostPort(c.opts[i].Host, strconv.Itoa(c.opts[i].Port)))
		}
	}
	return out
}

// placeable waits until JetStream places a stream with replicas copies, creating and deleting
// a probe stream, or deadline passes.
func placeable(urls []string, replicas int, deadline time.Time) error {
	nc, err := nats.Connect(strings.Join(urls, ","), nats.Timeout(2*time.Second))
	if err != nil {
		return fmt.Errorf("connect to the cluster: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	name := "CLUSTERTEST_PROBE_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"clustertest.probe." + name}, Replicas: replicas, Storage: jetstream.MemoryStorage})
		if err == nil {
			err = js.DeleteStream(ctx, name)
			cancel()
			return err
		}
		cancel()
		if time.Now().After(deadline) {
			return fmt.Errorf("JetStream cannot place a stream on %d nodes after %s: %w", replicas, startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond) // placement becomes possible with no event to wait on
	}
}

func (c *Cluster) start(i int) error {
	o := *c.opts[i] // the server keeps and changes its options
	o.Routes = append([]*url.URL(nil), c.opts[i].Routes...)
	s, err := server.NewServer(&o)
	if err != nil {
		return fmt.Errorf("node %d: %w", i, err)
	}
	go s.Start()
	if !s.ReadyForConnections(startTimeout) {
		s.Shutdown()
		return fmt.Errorf("node %d does not accept connections after %s", i, startTimeout)
	}
	c.mu.Lock()
	c.nodes[i] = s
	c.mu.Unlock()
	return nil
}

func (c *Cluster) stopAll() {
	c.mu.Lock()
	nodes := c.nodes
	c.nodes = make([]*server.Server, len(nodes))
	c.mu.Unlock()
	for _, s := range nodes {
		if s != nil {
			s.Shutdown()
		}
	}
	for _, s := range nodes {
		if s != nil {
			s.WaitForShutdown()
		}
	}
}

// freePorts returns n loopback ports free at the time of the call (held open together so they
// differ).
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
