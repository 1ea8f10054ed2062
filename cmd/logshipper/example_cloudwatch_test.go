package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
)

// examples/cloudwatch-to-syslog.yaml, run as its comment says right after cloudsim started with
// examples/cloudsim.yaml (ingest delays scaled down from 30 s + 2 m to 1 s + 2 s, free ports),
// reads every sample record cloudsim loaded: the archive gets each once, the SIEM receives the
// ones the rule keeps, and the other_regions region without the group is no ERROR.
func TestExampleCloudWatchToSyslogReadsEverySampleRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c, err := cloudsim.Load("../../examples/cloudsim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	c.AWS.Logs.IngestDelay, c.AWS.Logs.IngestJitter = time.Second, 2*time.Second
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	loaded := int(sim.Logs.Stats().EventsStored)
	if loaded < 390 {
		t.Fatalf("cloudsim loaded %d sample records from examples/cloudsim.yaml", loaded)
	}

	rcv := startReceiver(t)
	a := c.AWS.Accounts[0]
	t.Setenv("AWS_ACCESS_KEY_ID", a.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", a.SecretAccessKey)
	t.Setenv("AWS_ENDPOINT_URL", sim.Endpoints["aws"])
	t.Setenv("SYSLOG_ADDRESS", rcv.ln.Addr().String())
	example, err := os.ReadFile("../../examples/cloudwatch-to-syslog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Only the admin port changes, so that the test does not depend on 9871 being free.
	cfg := strings.Replace(string(example), `admin: {listen: "127.0.0.1:9871"}`, `admin: {listen: "`+freeAddr(t)+`"}`, 1)
	if cfg == string(example) {
		t.Fatal("the example's admin line changed: update this test")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cloudwatch-to-syslog.yaml"), cfg)
	p := startShipper(t, dir, "run", "-c", "cloudwatch-to-syslog.yaml")

	archive := filepath.Join(dir, "logshipper-data", "cloudwatch-to-syslog", "archive", "cloudtrail.ndjson")
	lines := func() int {
		b, err := os.ReadFile(archive)
		if err != nil {
			return 0
		}
		return bytes.Count(b, []byte("\n"))
	}
	deadline := time.Now().Add(90 * time.Second)
	for lines() < loaded {
		select {
		case err := <-p.done:
			t.Fatalf("the shipper exited (%v) with %d of %d records archived\nstderr:\n%s", err, lines(), loaded, lastChars(p.stderr.String(), 4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d sample records archived after 90 s\nstderr:\n%s", lines(), loaded, lastChars(p.stderr.String(), 4000))
		}
	}
	if n := lines(); n != loaded {
		t.Errorf("%d archive lines for %d sample records", n, loaded)
	}
	waitFor(t, 30*time.Second, "the SIEM's first messages", func() bool {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		return len(rcv.msgs) > 0
	})
	if errs := p.stderr.String(); strings.Contains(errs, "level=ERROR") {
		t.Errorf("the example logged errors:\n%s", lastChars(errs, 4000))
	}
}
