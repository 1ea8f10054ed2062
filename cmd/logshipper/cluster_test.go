package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/plugins/all"
)

// fakeCluster stands for a cluster reached through clusterDial.
type fakeCluster struct {
	st     cluster.Status
	store  *state.Memory
	closed bool
}

func (f *fakeCluster) Status(context.Context) (cluster.Status, error) { return f.st, nil }
func (f *fakeCluster) Close() error                                   { f.closed = true; return nil }
func (f *fakeCluster) Store() state.Store                             { return f.store.Namespace("cluster") }

// fakeDial reaches f, or fails with err; it records the node it was asked to be.
func fakeDial(f *fakeCluster, err error, nodes *[]string) clusterDial {
	return clusterDial{
		observe: func(_ context.Context, cc cluster.Config, _ *slog.Logger) (clusterReader, error) {
			if err != nil {
				return nil, err
			}
			return f, nil
		},
		join: func(_ context.Context, cc cluster.Config, _ *slog.Logger) (clusterMember, error) {
			if err != nil {
				return nil, err
			}
			*nodes = append(*nodes, cc.Node)
			return f, nil
		},
	}
}

const clusterConfigYAML = `
data_dir: %DIR%/data
admin: {listen: ""}
cluster: {urls: ["nats://n1:4222", "nats://n2:4222"], node: ls-1, token: s3cret-nats-token}
plugins:
  - {name: acme, type: netskope, tenant: "http://127.0.0.1:1", api_token: t, proxy: none}
  - {name: out, type: stdout}
siem_mappings: [{source: acme, destination: out}]
`

func writeClusterConfig(t *testing.T) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "c.yaml")
	writeFile(t, path, strings.ReplaceAll(clusterConfigYAML, "%DIR%", dir))
	return path, dir
}

// execute runs the root command, its cluster and state commands reaching the cluster through
// dial, and returns its output and exit code.
func execute(t *testing.T, dial clusterDial, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	reg := all.Registry()
	// The cluster and state commands of root dial real clusters: replace them with fakes.
	for _, c := range root.Commands() {
		if c.Name() == "cluster" || c.Name() == "state" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newClusterCmd(reg, dial), newStateCmd(reg, dial))
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	var ec exitCode
	switch {
	case err == nil:
	case errors.As(err, &ec):
		code = int(ec)
	default:
		errb.WriteString("logshipper: " + err.Error() + "\n")
		code = 1
	}
	return out.String(), errb.String(), code
}

func sampleStatus(now time.Time) cluster.Status {
	return cluster.Status{
		Node: "",
		Members: []cluster.Member{
			{Node: "ls-2", Started: now.Add(-time.Hour), Seen: now.Add(-1200 * time.Millisecond),
				Quotas: map[string]cluster.QuotaUse{"PutAuditEvents/us-east-1/0a1b2c3d4e5f": {Rate: 71.25, HeldBack: true}}},
			{Node: "ls-1", Started: now.Add(-2 * time.Hour), Seen: now.Add(-300 * time.Millisecond),
				Quotas: map[string]cluster.QuotaUse{"PutAuditEvents/us-east-1/0a1b2c3d4e5f": {Rate: 3}}},
		},
		Leases: []cluster.LeaseInfo{
			{Plugin: "acme", Partition: "events/page", Owner: "ls-2", Since: now.Add(-time.Hour), Renewed: now.Add(-2 * time.Second), Progress: now.Add(-83 * time.Second)},
			{Plugin: "acme", Partition: "alerts/dlp", Owner: "ls-1", Since: now.Add(-2 * time.Hour), Renewed: now.Add(-time.Second), Progress: now.Add(-12 * time.Second)},
			{Plugin: "cw", Partition: "us-east-1/trail", Owner: "ls-3", Since: now.Add(-time.Minute), Renewed: now.Add(-20 * time.Second)},
		},
	}
}

func TestClusterStatusCommand(t *testing.T) {
	path, _ := writeClusterConfig(t)
	f := &fakeCluster{st: sampleStatus(time.Now())}
	var nodes []string

	out, errOut, code := execute(t, fakeDial(f, nil, &nodes), "", "cluster", "status", "-c", path)
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	if !f.closed {
		t.Error("the connection was not closed")
	}
	if len(nodes) != 0 {
		t.Errorf("status joined the cluster as %q; it must only observe", nodes)
	}
	for _, want := range []string{
		"cluster nats://n1:4222,nats://n2:4222 (buckets logshipper_*): 2 members, 3 partition leases",
		"acme: 2 partitions",
		"cw: 1 partition\n",
		"ls-3 (not a live member)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The LAG column: now − progress, to the second; "-" for a lease without progress. (The
	// command reads the clock a moment after sampleStatus did.)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  PARTITION\s+OWNER\s+HELD SINCE\s+RENEWED\s+LAG$`),
		regexp.MustCompile(`(?m)^  alerts/dlp\s+ls-1\s+\S+\s+\S+ ago\s+1[23]s$`),
		regexp.MustCompile(`(?m)^  events/page\s+ls-2\s+\S+\s+\S+ ago\s+1m2[34]s$`),
		regexp.MustCompile(`(?m)^  us-east-1/trail\s+ls-3 \(not a live member\)\s+\S+\s+\S+ ago\s+-$`),
		// Each member's use of each quota, by quota then node.
		regexp.MustCompile(`(?m)^  QUOTA\s+NODE\s+CALLS/S\s+HELD BACK\n  PutAuditEvents/us-east-1/0a1b2c3d4e5f\s+ls-1\s+3\.0\s+no\n  PutAuditEvents/us-east-1/0a1b2c3d4e5f\s+ls-2\s+71\.2\s+yes$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}
	// Members by node, leases by partition within their source.
	if i, j := strings.Index(out, "\nls-1 "), strings.Index(out, "\nls-2 "); i < 0 || j < i {
		t.Errorf("members not listed by node:\n%s", out)
	}
	if i, j := strings.Index(out, "alerts/dlp"), strings.Index(out, "events/page"); i < 0 || j < i {
		t.Errorf("leases not listed by partition:\n%s", out)
	}
	if strings.Contains(out+errOut, "s3cret") {
		t.Error("the token was printed")
	}

	out, errOut, code = execute(t, fakeDial(f, nil, &nodes), "", "cluster", "status", "-c", path, "--json")
	if code != 0 {
		t.Fatalf("--json: exit %d:\n%s%s", code, out, errOut)
	}
	var got statusOut
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json: %v:\n%s", err, out)
	}
	if len(got.Members) != 2 || got.Members[0].Node != "ls-1" || got.Members[0].Partitions != 1 {
		t.Errorf("members = %+v", got.Members)
	} else if q := got.Members[1].Quotas["PutAuditEvents/us-east-1/0a1b2c3d4e5f"]; q.CallsPerSecond != 71.25 || !q.HeldBack {
		t.Errorf("ls-2's quota use = %+v; want 71.25 calls/s, held back", q)
	}
	if l := got.Leases["acme"]; len(l) != 2 || l[0].Partition != "alerts/dlp" || l[0].Owner != "ls-1" || !l[0].OwnerLive || l[0].RenewedAgeSeconds < 1 {
		t.Errorf("leases of acme = %+v", l)
	} else if want := f.st.Leases[1].Progress; !l[0].Progress.Equal(want) || l[0].LagSeconds == nil || *l[0].LagSeconds < 12 || *l[0].LagSeconds > 60 {
		t.Errorf("alerts/dlp progress %s, lag_seconds %v; want progress %s, lag_seconds from 12", l[0].Progress, l[0].LagSeconds, want)
	}
	if l := got.Leases["cw"]; len(l) != 1 || l[0].OwnerLive {
		t.Errorf("leases of cw = %+v; want its owner not live", l)
	} else if !l[0].Progress.IsZero() || l[0].LagSeconds != nil {
		t.Errorf("cw lease without progress: progress %s, lag_seconds %v; want neither", l[0].Progress, l[0].LagSeconds)
	}
	if strings.Count(out, `"progress"`) != 2 || strings.Count(out, `"lag_seconds"`) != 2 {
		t.Errorf("--json: progress and lag_seconds belong to the two leases with progress only:\n%s", out)
	}
}

func TestClusterStatusFails(t *testing.T) {
	path, dir := writeClusterConfig(t)
	single := filepath.Join(dir, "single.yaml")
	writeFile(t, single, "plugins: [{name: in, type: file, paths: [x]}, {name: out, type: stdout}]\nsiem_mappings: [{source: in, destination: out}]\n")
	var nodes []string
	tests := []struct {
		name string
		dial clusterDial
		file string
		want string
	}{
		{"unreachable", fakeDial(nil, errors.New("nats: no servers available for connection"), &nodes), path,
			"cluster status: cannot reach the cluster through nats://n1:4222, nats://n2:4222: nats: no servers available for connection"},
		{"no cluster section", fakeDial(&fakeCluster{}, nil, &nodes), single, "has no cluster: section"},
		{"no NATS server", liveCluster(), path, "cluster status: cannot reach the cluster through nats://n1:4222, nats://n2:4222: cluster: connect to NATS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := execute(t, tt.dial, "", "cluster", "status", "-c", tt.file)
			if code != 1 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, want 1; stderr lacks %q:\n%s%s", code, tt.want, out, errOut)
			}
		})
	}
}

func TestLag(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	tests := []struct {
		progress time.Time
		want     string
	}{
		{time.Time{}, "-"},
		{now.Add(-1400 * time.Millisecond), "1s"},
		{now.Add(-90*time.Second - 600*time.Millisecond), "1m31s"},
		{now.Add(time.Minute), "0s"}, // data stamped ahead of this clock
	}
	for _, tt := range tests {
		if got := lag(now, tt.progress); got != tt.want {
			t.Errorf("lag(%s) = %q; want %q", tt.progress, got, tt.want)
		}
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	tests := []struct {
		t    time.Time
		want string
	}{
		{now.Add(-1234 * time.Millisecond), "1.2s"},
		{now.Add(-90 * time.Second), "1m30s"},
		{now.Add(time.Second), "0s"}, // a clock ahead of this one
	}
	for _, tt := range tests {
		if got := age(now, tt.t); got != tt.want {
			t.Errorf("age(%s) = %q; want %q", now.Sub(tt.t), got, tt.want)
		}
	}
}
