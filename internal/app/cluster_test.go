package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/plugins/all"
)

func loadWithCluster(t *testing.T, clusterSection string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	yaml := fmt.Sprintf(`data_dir: %s
admin: {listen: ""}
%s
plugins:
  - {name: in, type: file, paths: [%s], follow: false}
  - {name: out, type: file, kind: destination, path: %s}
siem_mappings:
  - {source: in, destination: out}
`, filepath.Join(dir, "data"), clusterSection, filepath.Join(dir, "in.log"), filepath.Join(dir, "out.ndjson"))
	cfg, err := config.Parse([]byte(yaml), "t.yaml", all.Registry(), config.Resolver{}, app.LoadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestClusterConfig(t *testing.T) {
	if c := app.ClusterConfig(loadWithCluster(t, "")); c != nil {
		t.Errorf("without a cluster: section ClusterConfig = %+v; want nil", c)
	}
	c := app.ClusterConfig(loadWithCluster(t, "cluster: {urls: [nats://n1:4222], node: ls-1}"))
	if c == nil || c.Node != "ls-1" || c.Replicas != 3 || c.LeaseTTL != 15*time.Second || c.URLs[0] != "nats://n1:4222" {
		t.Errorf("ClusterConfig = %+v; want the section over its defaults", c)
	}
}

// A member that cannot reach NATS does not start, says which servers it tried, and leaves
// data_dir to the next attempt.
func TestNewClusterUnreachable(t *testing.T) {
	cfg := loadWithCluster(t, "cluster: {urls: ['nats://127.0.0.1:1', 'nats://127.0.0.1:2'], node: ls-1, replicas: 1}")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg, all.Registry(), slog.New(slog.NewTextHandler(io.Discard, nil)), "test")
	if err == nil {
		t.Fatalf("New = %v; want an error", a)
	}
	if !strings.Contains(err.Error(), "nats://127.0.0.1:1, nats://127.0.0.1:2") {
		t.Errorf("error %q does not name the URLs", err)
	}
	db, err := state.Open(cfg.DataDir)
	if err != nil {
		t.Fatalf("data_dir still held after the failed start: %v", err)
	}
	_ = db.Close()
}
