package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/internal/sim/netskope"
)

const heldConfig = `
data_dir: ./data
admin: {listen: "127.0.0.1:0"}
log: {level: info, format: json}
plugins:
  - name: acme
    type: netskope
    tenant: %s
    api_token: cloudsim-demo-token
    event_types: [audit]
    alert_types: [dlp]
    start: -24h
    max_backoff: 1s
  - name: lake
    type: aws_cloudtrail_lake
    channel_arn: %s
    access_key_id: %s
    secret_access_key: %s
    endpoint: %s
    proxy: none
    retry: {initial_interval: 20ms, max_interval: 200ms}
  - name: archive
    type: file
    path: ./archive.ndjson
    batch: {max_wait: 10ms}
siem_mappings:
  - {source: acme, destination: lake}
  - {source: acme, destination: archive}
`

// A destination that stops for good (CloudTrail Lake with a wrong secret) holds its source: the
// archive beside it does not receive the same records again and again while it is stopped, and
// once the secret is fixed, a restart sends the lake every record it missed.
func TestE2EStoppedDestinationHoldsItsSource(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	c.Netskope.Generate = cloudsim.GenerateConfig{Backlog: 300, BacklogSpan: 6 * time.Hour, Endpoints: []string{"alerts/dlp", "events/audit"}}
	c.Netskope.NewIndexFromHead = true
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a := c.AWS.Accounts[0]
	var want []string
	for _, ep := range []struct {
		kind netskope.Kind
		typ  string
	}{{netskope.Alerts, "dlp"}, {netskope.Events, "audit"}} {
		for _, r := range sim.Netskope.Records(ep.kind, ep.typ) {
			want = append(want, r.ID)
		}
	}
	dir := t.TempDir()
	conf := func(secret string) {
		writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(heldConfig,
			sim.Endpoints["netskope"], cloudsim.DemoChannelARN, a.AccessKeyID, secret, sim.Endpoints["aws"]))
	}
	archive := filepath.Join(dir, "archive.ndjson")

	conf("not-the-secret")
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 20*time.Second, "the source to be held", func() bool { return strings.Contains(p.stderr.String(), "source held") })
	// Unheld, the source would read the nacked pages again after each backoff (1 s at most)
	// and the archive would receive them again: watch it for three backoffs.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for id, n := range delivered(t, archive) {
			if n > 1 {
				t.Fatalf("while the lake was stopped, the archive received %s %d times", id, n)
			}
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 30*time.Second)
	if n := len(sim.Lake.Query(lake.Filter{})); n != 0 {
		t.Fatalf("the lake stored %d events with a wrong secret", n)
	}

	conf(a.SecretAccessKey)
	p = startShipper(t, dir, "run", "-c", "c.yaml")
	stored := func() map[string]int {
		got := map[string]int{}
		for _, e := range sim.Lake.Query(lake.Filter{}) {
			got[e.ID]++
		}
		return got
	}
	waitFor(t, 30*time.Second, "the lake to receive every record", func() bool { return len(stored()) == len(want) })
	waitFor(t, 30*time.Second, "the archive to hold every record", func() bool { return len(delivered(t, archive)) == len(want) })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after the fix:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	got, arch := stored(), delivered(t, archive)
	for _, id := range want {
		if got[id] != 1 {
			t.Errorf("%s stored %d times in the lake, want once", id, got[id])
		}
		// Only the pages in flight when the lake stopped reach the archive a second time.
		if arch[id] < 1 || arch[id] > 2 {
			t.Errorf("%s in the archive %d times, want once (twice at most for the pages in flight at the stop)", id, arch[id])
		}
	}
}
