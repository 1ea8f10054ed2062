package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/internal/state/statetest"
)

// bucketSeq names a fresh bucket for each store under test.
var bucketSeq atomic.Int64

// openBucket opens (creating it on first use) an R3 state bucket through a connection of its
// own: two calls with one name are two processes sharing the bucket.
func openBucket(t *testing.T, nc *clustertest.Cluster, name string) *kvStore {
	t.Helper()
	conn, err := nats.Connect(nc.URLs()[0] + "," + nc.URLs()[1] + "," + nc.URLs()[2])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	js, err := jetstream.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv, err := openKV(ctx, js, jetstream.KeyValueConfig{Bucket: name, History: 1, Replicas: 3}, testLog(t, ""))
	if err != nil {
		t.Fatalf("bucket %s: %v", name, err)
	}
	return newKVStore(kv)
}

func TestKVStoreConformance(t *testing.T) {
	nc := clustertest.Start(t, 3)
	statetest.Run(t, func(t *testing.T) statetest.Root {
		return openBucket(t, nc, fmt.Sprintf("conf%d", bucketSeq.Add(1)))
	})
}

func TestKVStoreFencing(t *testing.T) {
	nc := clustertest.Start(t, 3)
	ctx := context.Background()
	a := openBucket(t, nc, "fence").Namespace("src")
	b := openBucket(t, nc, "fence").Namespace("src")

	// A writes a position, B takes over: reads it and writes a newer one.
	if _, err := a.Get(ctx, "pos"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("A Get = %v; want ErrNotFound", err)
	}
	if err := a.Put(ctx, "pos", []byte("1")); err != nil {
		t.Fatalf("A Put: %v", err)
	}
	if v, err := b.Get(ctx, "pos"); err != nil || string(v) != "1" {
		t.Fatalf("B Get = %q, %v", v, err)
	}
	if err := b.Put(ctx, "pos", []byte("2")); err != nil {
		t.Fatalf("B Put: %v", err)
	}
	// A still believes it owns the key: its write is refused and B's value stays.
	err := a.Put(ctx, "pos", []byte("1b"))
	if !errors.Is(err, plugin.ErrNotOwner) {
		t.Fatalf("A Put after B wrote = %v; want ErrNotOwner", err)
	}
	if v, err := b.Get(ctx, "pos"); err != nil || string(v) != "2" {
		t.Fatalf("value after the refused write = %q, %v; want 2", v, err)
	}
	// A's Delete is fenced the same way.
	if err := a.Delete(ctx, "pos"); !errors.Is(err, plugin.ErrNotOwner) {
		t.Fatalf("A Delete after B wrote = %v; want ErrNotOwner", err)
	}
	// A key A never read but B created: A's Create is refused.
	if err := b.Put(ctx, "other", []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, "other", []byte("a")); !errors.Is(err, plugin.ErrNotOwner) {
		t.Fatalf("A Put of a key B created = %v; want ErrNotOwner", err)
	}
	// Once A reads again (it owns the partition again), it writes.
	if _, err := a.Get(ctx, "pos"); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, "pos", []byte("3")); err != nil {
		t.Fatalf("A Put after reading again: %v", err)
	}
	if err := b.Put(ctx, "pos", []byte("2b")); !errors.Is(err, plugin.ErrNotOwner) {
		t.Fatalf("B Put after A wrote = %v; want ErrNotOwner", err)
	}
}
