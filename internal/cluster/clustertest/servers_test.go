package clustertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestStartServers starts a 3-node cluster without a test's help, as the load run does, and
// checks that a client reaches JetStream with replicas 3 through it and that Stop shuts every
// node down.
func TestStartServers(t *testing.T) {
	s, err := StartServers(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	if got := len(s.URLs()); got != 3 {
		t.Fatalf("%d URLs; want 3", got)
	}
	nc, err := nats.Connect(strings.Join(s.URLs(), ","))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "servers_test", Replicas: 3})
	if err != nil {
		t.Fatalf("a bucket with 3 replicas: %v", err)
	}
	if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}

	s.Stop()
	stopped = true
	for i, n := range s.c.nodes {
		if n != nil {
			t.Fatalf("node %d still held after Stop", i)
		}
	}
	for i := range s.c.opts {
		if c, err := nats.Connect(s.URLs()[i], nats.NoReconnect()); err == nil {
			c.Close()
			t.Fatalf("node %d still accepts clients after Stop", i)
		}
	}
}
