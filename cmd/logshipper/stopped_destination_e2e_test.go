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
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
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

// A destination that stops for good (CloudTrail Lake with a wrong secret) does not hold back
// the destination beside it: the lake's records go to its spool, the source reads on (records
// that reach the tenant while the lake is stopped too), and the archive receives every record
// once. Once the secret is fixed, a restart sends the lake every record it missed, once.
func TestE2EStoppedDestinationSpoolsAndTheOthersGoOn(t *testing.T) {
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
	endpoints := []struct {
		kind netskope.Kind
		typ  string
	}{{netskope.Alerts, "dlp"}, {netskope.Events, "audit"}}
	// want counts each _id the tenant holds: the archive takes every record as it comes
	// (a record the tenant repeats is written again), the lake each id once.
	want := func() map[string]int {
		out := map[string]int{}
		for _, ep := range endpoints {
			for _, r := range sim.Netskope.Records(ep.kind, ep.typ) {
				out[r.ID]++
			}
		}
		return out
	}
	dir := t.TempDir()
	conf := func(secret string) {
		writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(heldConfig,
			sim.Endpoints["netskope"], cloudsim.DemoChannelARN, a.AccessKeyID, secret, sim.Endpoints["aws"]))
	}
	archive := filepath.Join(dir, "archive.ndjson")
	sameAsTenant := func() bool {
		w, got := want(), delivered(t, archive)
		if len(got) != len(w) {
			return false
		}
		for id, n := range w {
			if got[id] != n {
				return false
			}
		}
		return true
	}

	conf("not-the-secret")
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 20*time.Second, "the lake to stop", func() bool { return strings.Contains(p.stderr.String(), "destination stopped") })
	waitFor(t, 30*time.Second, "the archive to hold the backlog", sameAsTenant)
	// The source reads on while the lake is stopped: records that reach the tenant now reach
	// the archive, and the lake's spool.
	for _, ep := range endpoints {
		if err := sim.Netskope.Generate(ep.kind, ep.typ, 150); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "the archive to hold the records added while the lake is stopped", sameAsTenant)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 1 {
		t.Errorf("exit %d with the lake stopped, want 1", code)
	}
	if n := len(sim.Lake.Query(lake.Filter{})); n != 0 {
		t.Fatalf("the lake stored %d events with a wrong secret", n)
	}
	if !strings.Contains(p.stderr.String(), "its spool") {
		t.Errorf("the last lines do not say the lake's records are in its spool:\n%s", lastChars(p.stderr.String(), 3000))
	}

	conf(a.SecretAccessKey)
	p = startShipper(t, dir, "run", "-c", "c.yaml")
	stored := func() map[string]int {
		got := map[string]int{}
		for _, e := range sim.Lake.Query(lake.Filter{}) {
			got[cloudtraillake.RecordIDOf(e.ID)]++
		}
		return got
	}
	waitFor(t, 30*time.Second, "the lake to receive every record", func() bool { return len(stored()) == len(want()) })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after the fix:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	got, arch, w := stored(), delivered(t, archive), want()
	for id, n := range w {
		if got[id] != 1 {
			t.Errorf("%s stored %d times in the lake, want once", id, got[id])
		}
		if arch[id] != n {
			t.Errorf("%s in the archive %d times, want %d (as often as the tenant holds it)", id, arch[id], n)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "data", "spool", "lake", "segment-*")); len(left) != 0 {
		t.Errorf("the lake's spool still holds %v after every record was delivered", left)
	}
}
