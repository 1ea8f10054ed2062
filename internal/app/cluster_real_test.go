package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/plugins/all"
)

// A member on a real 3-node JetStream cluster labels its metrics with its node; a node-local
// source (file: its positions name this machine's files) keeps its state in the process's own
// store, not in the cluster's, where another member would take it over.
func TestMemberStateInCluster(t *testing.T) {
	srv := clustertest.Start(t, 3)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.log")
	var lines []string
	for i := range 20 {
		lines = append(lines, fmt.Sprintf(`{"id":%d}`, i))
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`data_dir: %s
admin: {listen: ""}
cluster: {urls: [%s], node: ls-1, replicas: 3, lease_ttl: 2s}
plugins:
  - {name: in, type: file, paths: [%s], follow: false}
  - {name: out, type: file, kind: destination, path: %s}
siem_mappings:
  - {source: in, destination: out}
`, filepath.Join(dir, "data"), strings.Join(srv.URLs(), ", "), in, filepath.Join(dir, "out.ndjson"))
	cfg, err := config.Parse([]byte(yaml), "t.yaml", all.Registry(), config.Resolver{}, app.LoadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, cfg, all.Registry(), log, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	fams, err := a.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			node := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "node" {
					node = l.GetValue()
				}
			}
			if node != "ls-1" {
				t.Errorf("%s: node label %q; want ls-1", f.GetName(), node)
			}
		}
	}
	// The file source's position is in the local store, not in the cluster.
	cc := *app.ClusterConfig(cfg)
	cc.Node = "checker"
	c, err := cluster.Connect(ctx, cc, log)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if keys, err := c.Store().Namespace("plugin/in").Keys(ctx, ""); err != nil || len(keys) != 0 {
		t.Errorf("the cluster holds state of the node-local source in: %q, %v", keys, err)
	}
	db, err := state.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if keys, err := db.Namespace("plugin/in").Keys(ctx, ""); err != nil || len(keys) == 0 {
		t.Errorf("the local store holds no state of source in: %q, %v", keys, err)
	}
}
