package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
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

// cluster status reads a real cluster without joining it: it shows the members, who holds
// each lease and the lag of a partition whose source reported progress, and the members'
// partitions stay where they are.
func TestClusterStatusRealCluster(t *testing.T) {
	srv := clustertest.Start(t, 3)
	path, _ := realClusterConfig(t, srv.URLs())
	cfg, err := config.Load(path, all.Registry(), config.Resolver{}, app.LoadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var members []*cluster.Cluster
	for _, node := range []string{"ls-a", "ls-b"} {
		cc := *app.ClusterConfig(cfg)
		cc.Node = node
		c, err := cluster.Connect(ctx, cc, quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		members = append(members, c)
	}
	// Each member asks for every partition; each gets the ones it wins.
	keys := []string{"alerts/dlp", "events/audit", "alerts/malware", "events/page"}
	owners := map[string]string{}
	var leases []plugin.Lease
	leaseOf := map[string]plugin.Lease{}
	for _, k := range keys {
		type won struct {
			owner string
			lease plugin.Lease
		}
		got := make(chan won, 2)
		for i, c := range members {
			go func() {
				// The loser waits until its deadline; the winner's lease lives on.
				actx, cancel := context.WithCancel(ctx)
				timer := time.AfterFunc(3*time.Second, cancel)
				l, err := c.Partitions("acme").Acquire(actx, k)
				if err != nil {
					got <- won{}
					return
				}
				timer.Stop()
				t.Cleanup(cancel)
				got <- won{[]string{"ls-a", "ls-b"}[i], l}
			}()
		}
		for range members {
			if w := <-got; w.lease != nil {
				owners[k] = w.owner
				leases = append(leases, w.lease)
				leaseOf[k] = w.lease
			}
		}
	}
	// The source of alerts/dlp saved a position of data 75 s old; its next renewal writes it.
	l, ok := leaseOf["alerts/dlp"]
	if !ok {
		t.Fatalf("alerts/dlp has no owner: %v", owners)
	}
	progress := time.Now().Add(-75 * time.Second)
	plugin.ReportProgress(l, progress)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := members[0].Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(st.Leases, func(li cluster.LeaseInfo) bool { return li.Partition == "alerts/dlp" })
		if i >= 0 && st.Leases[i].Progress.Equal(progress.Truncate(0)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no renewal wrote the progress of alerts/dlp: %+v", st.Leases)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, errOut, code := runCLI(t, "", "cluster", "status", "-c", path)
	if code != 0 {
		t.Fatalf("cluster status: exit %d:\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"ls-a", "ls-b"} {
		if !strings.Contains(out, want) {
			t.Errorf("cluster status does not show member %s:\n%s", want, out)
		}
	}
	for k, o := range owners {
		lagRE := `-` // no progress reported
		if k == "alerts/dlp" {
			lagRE = `1m1[5-9]s`
		}
		if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(k) + `\s+` + o + `\s+\S+\s+\S+ ago\s+` + lagRE + `$`).MatchString(out) {
			t.Errorf("cluster status does not show %s owned by %s with lag %s:\n%s", k, o, lagRE, out)
		}
	}
	if len(owners) != len(keys) {
		t.Fatalf("owners %v: every partition should have one", owners)
	}
	st, err := members[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Members) != 2 {
		t.Errorf("after cluster status the members are %v; the status command must not join", st.Members)
	}
	for _, l := range leases {
		if l.Context().Err() != nil {
			t.Errorf("a lease ended while cluster status read the cluster: %v", context.Cause(l.Context()))
		}
	}
}
