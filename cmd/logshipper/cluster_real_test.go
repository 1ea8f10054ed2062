package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/plugins/all"
)

func realClusterConfig(t *testing.T, urls []string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "c.yaml")
	writeFile(t, path, fmt.Sprintf(`data_dir: %s
admin: {listen: ""}
cluster: {urls: [%s], node: ls-1, replicas: 3, lease_ttl: 2s}
plugins:
  - {name: acme, type: netskope, tenant: "http://127.0.0.1:1", api_token: t, proxy: none}
  - {name: out, type: stdout}
siem_mappings: [{source: acme, destination: out}]
`, filepath.Join(dir, "data"), strings.Join(urls, ", ")))
	return path, dir
}

func TestValidateCheckRealCluster(t *testing.T) {
	srv := clustertest.Start(t, 3)
	path, _ := realClusterConfig(t, srv.URLs())
	out, errOut, code := runCLI(t, "", "validate", "-c", path, "--check")
	if !strings.Contains(out, "check cluster ("+strings.Join(srv.URLs(), ",")+"): ok (") || !strings.Contains(out, "up to 3 replicas") {
		t.Fatalf("exit %d; no ok line for the cluster:\n%s%s", code, out, errOut)
	}
}

// state export of a single process, state import into a real cluster: the members read the
// positions there.
func TestStateImportRealCluster(t *testing.T) {
	srv := clustertest.Start(t, 3)
	path, dir := realClusterConfig(t, srv.URLs())
	want := seedState(t, filepath.Join(dir, "data"))
	dump := filepath.Join(dir, "state.jsonl")
	if _, errOut, code := runCLI(t, "", "state", "export", "-c", path, "-o", dump); code != 0 {
		t.Fatal(errOut)
	}
	out, errOut, code := runCLI(t, "", "state", "import", "-c", path, "-i", dump)
	if code != 0 || !strings.Contains(out, "imported 3 keys") {
		t.Fatalf("import: exit %d:\n%s%s", code, out, errOut)
	}
	cfg, err := config.Load(path, all.Registry(), config.Resolver{}, app.LoadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	cc := *app.ClusterConfig(cfg)
	c, err := cluster.Connect(context.Background(), cc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for k, v := range want {
		ns, key, _ := strings.Cut(k, " ")
		if !strings.HasPrefix(ns, "plugin/") {
			continue
		}
		got, err := c.Store().Namespace(ns).Get(context.Background(), key)
		if err != nil || string(got) != v {
			t.Errorf("%s = %q, %v; want %q", k, got, err, v)
		}
	}
}
