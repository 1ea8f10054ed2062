package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
)

// examples/cloudtrail-s3-sqs-to-file.yaml, run as its comment says against cloudsim started
// with examples/cloudsim.yaml (free ports): the files cloudsim's CloudTrail writes at start
// and the one added through the admin endpoint arrive whole and once, and the poison
// object goes to the dead letters once with its reason.
func TestExampleS3SQSToFileReadsEveryRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c, err := cloudsim.Load("../../examples/cloudsim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", "127.0.0.1:0"
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a := c.AWS.Accounts[0]
	t.Setenv("AWS_ACCESS_KEY_ID", a.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", a.SecretAccessKey)
	t.Setenv("AWS_ENDPOINT_URL", sim.Endpoints["aws"])
	t.Setenv("QUEUE_URL", sim.Endpoints["aws"]+"/"+a.ID+"/"+cloudsim.DemoTrailQueue)
	example, err := os.ReadFile("../../examples/cloudtrail-s3-sqs-to-file.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cloudtrail-s3-sqs-to-file.yaml"), string(example))
	p := startShipper(t, dir, "run", "-c", "cloudtrail-s3-sqs-to-file.yaml")

	admin := sim.Endpoints["admin"]
	samples, err := os.ReadFile("../../internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, url string, body []byte) {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
		}
	}
	call(http.MethodPost, admin+"/s3/cloudtrail/"+cloudsim.DemoTrailBucket, samples)
	call(http.MethodPut, admin+"/s3/objects/"+cloudsim.DemoTrailBucket+"/AWSLogs/123456789012/CloudTrail/us-east-1/2026/12/06/poison.json.gz", []byte("not a CloudTrail file"))
	const want = 6*20 + 395 // examples/cloudsim.yaml's files at start, and the sample file

	archive := filepath.Join(dir, "logshipper-data", "cloudtrail-s3-sqs-to-file", "cloudtrail.ndjson")
	// The sample records repeat eventIDs: records are counted by line.
	lines := func() int {
		b, _ := os.ReadFile(archive)
		return len(recordLines(t, b, 0))
	}
	deadline := time.Now().Add(60 * time.Second)
	for lines() < want {
		select {
		case err := <-p.done:
			t.Fatalf("the shipper exited (%v) with %d of %d records\nstderr:\n%s", err, lines(), want, lastChars(p.stderr.String(), 4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records after 60 s\nstderr:\n%s", lines(), want, lastChars(p.stderr.String(), 4000))
		}
	}
	dlq := filepath.Join(dir, "logshipper-data", "cloudtrail-s3-sqs-to-file", "deadletter", "org-trail.ndjson")
	waitFor(t, 20*time.Second, "the poison object in the dead letters", func() bool {
		b, _ := os.ReadFile(dlq)
		return bytes.Contains(b, []byte("poison.json.gz"))
	})
	_ = p.cmd.Process.Signal(os.Interrupt)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	if n := lines(); n != want {
		t.Errorf("%d records written, want %d", n, want)
	}
	b, _ := os.ReadFile(dlq)
	n := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.Contains(line, []byte("poison.json.gz")) {
			n++
		}
	}
	if n != 1 || !bytes.Contains(b, []byte("not a CloudTrail log file")) {
		t.Errorf("the poison object is in the dead letters %d times (want once, with its reason):\n%s", n, b)
	}
}
