package cluster

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cluster/clustertest"
)

func testLog(t *testing.T, node string) *slog.Logger {
	t.Helper()
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

func testConfig(nats *clustertest.Cluster, bucket, node string, ttl time.Duration) Config {
	return Config{URLs: nats.URLs(), Replicas: 3, Node: node, LeaseTTL: ttl, Bucket: bucket}
}

// join connects a member and closes it at the test's end.
func join(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Connect(ctx, cfg, testLog(t, cfg.Node))
	if err != nil {
		t.Fatalf("Connect %s: %v", cfg.Node, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
