package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/cluster"
)

// validate prints the cluster: section's line and reports its problems with paths and lines,
// the token never shown.
func TestValidateCluster(t *testing.T) {
	path, dir := writeClusterConfig(t)
	out, errOut, code := runCLI(t, "", "validate", "-c", path)
	if code != 0 || !strings.Contains(out, "  cluster: nats nats://n1:4222,nats://n2:4222 (node ls-1, 3 replicas)\n") {
		t.Fatalf("exit %d; output lacks the cluster line:\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "s3cret") {
		t.Error("the token was printed")
	}

	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, `admin: {listen: ""}
cluster:
  urls: ["http://n1:4222"]
  token: s3cret-nats-token
  user: ls
  password: s3cret-password
  replicas: 2
  lease_tll: 5s
plugins: [{name: in, type: file, paths: [x]}, {name: out, type: stdout}]
siem_mappings: [{source: in, destination: out}]
`)
	out, errOut, code = runCLI(t, "", "validate", "-c", bad)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", code, out, errOut)
	}
	for _, want := range []string{`line 8: cluster.lease_tll: unknown key (did you mean "lease_ttl"?)`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("output lacks %q:\n%s", want, errOut)
		}
	}
	data, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, bad, strings.Replace(string(data), "lease_tll", "lease_ttl", 1))
	out, errOut, code = runCLI(t, "", "validate", "-c", bad)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		`line 3: cluster: urls[0]: "http://n1:4222": the scheme must be nats, tls, ws or wss`,
		"cluster: credentials: give one of token, user/password, nkey_seed_file, creds_file (got token, user/password)",
		"line 7: cluster: replicas: 2: must be 1, 3 or 5",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("output lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(out+errOut, "s3cret") {
		t.Errorf("a secret was printed:\n%s", errOut)
	}
}

// validate --check reports the cluster first, FAILED when it cannot be reached.
func TestValidateCheckClusterUnreachable(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	writeFile(t, p, `data_dir: `+filepath.Join(dir, "data")+`
admin: {listen: ""}
cluster: {urls: ["nats://127.0.0.1:1"], node: ls-1, replicas: 1}
plugins: [{name: in, type: file, paths: [x]}, {name: out, type: stdout}]
siem_mappings: [{source: in, destination: out}]
`)
	out, errOut, code := runCLI(t, "", "validate", "-c", p, "--check")
	if code != 1 || !strings.Contains(out, "check cluster (nats://127.0.0.1:1): FAILED: ") {
		t.Fatalf("exit %d, want 1 and the cluster FAILED:\n%s%s", code, out, errOut)
	}
}

func TestClusterCheckLine(t *testing.T) {
	cc := &cluster.Config{URLs: []string{"nats://a:4222", "nats://b:4222"}, Replicas: 3}
	tests := []struct {
		name string
		res  cluster.CheckResult
		err  error
		ok   bool
		want string
	}{
		{"ok", cluster.CheckResult{Server: "n1 (2.15.3)", JetStream: true, Replicas: 3}, nil, true,
			"check cluster (nats://a:4222,nats://b:4222): ok (n1 (2.15.3), JetStream on, up to 3 replicas; replicas: 3)"},
		{"unreachable", cluster.CheckResult{}, errors.New("nats: no servers available for connection"), false,
			"check cluster (nats://a:4222,nats://b:4222): FAILED: nats: no servers available for connection"},
		{"no JetStream", cluster.CheckResult{Server: "n1 (2.15.3)", Replicas: 3}, nil, false, "FAILED: n1 (2.15.3) answers but JetStream is not enabled"},
		{"too few servers", cluster.CheckResult{Server: "n1 (2.15.3)", JetStream: true, Replicas: 1}, nil, false,
			"FAILED: replicas: 3, but the JetStream cluster of n1 (2.15.3) has 1 server(s); lower replicas or add servers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, ok := clusterCheckLine(cc, tt.res, tt.err)
			if ok != tt.ok || !strings.Contains(line, tt.want) {
				t.Errorf("= %q, %v; want %q, %v", line, ok, tt.want, tt.ok)
			}
		})
	}
}
