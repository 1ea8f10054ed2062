package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// s3sqsCloudsimConfig is cloudsim's configuration for the kill -9 run: a CloudTrail bucket
// notifying a queue (with a dead-letter queue far enough away that kills do not reach it), SQS
// throttling, failing and cutting the source's calls, S3 throttling, failing and cutting
// GetObject mid-download; the other services on ports of their own.
const s3sqsCloudsimConfig = `
seed: 18
aws:
  listen: 127.0.0.1:0
  sqs:
    queues:
      - {name: trail-dlq}
      - {name: trail-events, visibility_timeout: 2s, dead_letter_queue: trail-dlq, max_receive_count: 100}
    faults: {throttle_rate: 0.05, unavailable_rate: 0.03, internal_error_rate: 0.02, cut_rate: 0.03, ops: [ReceiveMessage, DeleteMessage, ChangeMessageVisibility]}
  s3:
    buckets:
      - {name: org-trail}
    notifications:
      - {bucket: org-trail, queue: trail-events, events: ["s3:ObjectCreated:*"], prefix: AWSLogs/, format: s3}
    faults: {slow_down_rate: 0.05, internal_error_rate: 0.03, cut_rate: 0.1, ops: [GetObject]}
imds: {listen: 127.0.0.1:0}
netskope: {listen: 127.0.0.1:0}
admin: {listen: 127.0.0.1:0}
`

// cloudsimEndpoint is a line of cloudsim serve's output naming where a service listens.
var cloudsimEndpoint = regexp.MustCompile(`^cloudsim: (\w+) +(http://\S+)`)

// startCloudsimServe builds cmd/cloudsim and runs `cloudsim serve -c` with config, as a user
// does; it returns the endpoints the program prints, by service.
func startCloudsimServe(t *testing.T, config string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "cloudsim")
	if out, err := exec.Command("go", "build", "-o", bin, "../cloudsim").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/cloudsim: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(dir, "cloudsim.yaml"), config)
	cmd := exec.Command(bin, "serve", "-c", filepath.Join(dir, "cloudsim.yaml"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan map[string]string, 1)
	go func() {
		eps := map[string]string{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := cloudsimEndpoint.FindStringSubmatch(sc.Text()); m != nil {
				eps[m[1]] = m[2]
			}
			if eps["aws"] != "" && eps["admin"] != "" {
				found <- eps
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case eps := <-found:
		return eps
	case <-time.After(30 * time.Second):
		t.Fatalf("cloudsim serve did not print its endpoints within 30 s; stderr:\n%s", stderr.String())
		return nil
	}
}

// CloudTrail files in cloudsim's S3, announced by the bucket's own notifications on cloudsim's
// SQS, both injecting faults (throttling, 5xx, answers and downloads cut short), while
// logshipper is killed with SIGKILL again and again: no record is lost, and a poison object goes
// to the dead letters once with its reason while the rest flow. cloudsim and logshipper run
// as programs, as a user runs them.
func TestE2EAWSS3SQSCloudsimKill9LosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	eps := startCloudsimServe(t, s3sqsCloudsimConfig)
	admin := eps["admin"]
	post := func(t *testing.T, method, url string, body []byte) {
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
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
	runS3SQSKill9(t, s3sqsTrail{endpoint: eps["aws"], accessKey: "AKIACLOUDSIMDEMO0001", secret: "cloudsim/demo/secret/key/not/a/real/one0",
		queueURL: eps["aws"] + "/123456789012/trail-events",
		putFile: func(t *testing.T, recs []string) {
			post(t, http.MethodPost, admin+"/s3/cloudtrail/org-trail?account=111122223333", []byte(strings.Join(recs, "\n")))
		},
		putPoison: func(t *testing.T, data []byte) {
			post(t, http.MethodPut, admin+"/s3/objects/org-trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/06/111122223333_CloudTrail_us-east-1_20261206T1300Z_poison.json.gz", data)
		},
	})
	resp, err := http.Get(admin + "/sqs/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Calls map[string]uint64
		Cut   uint64
		Moved uint64
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Moved != 0 {
		t.Errorf("%d messages moved to the dead-letter queue", st.Moved)
	}
	s3resp, err := http.Get(admin + "/s3/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer s3resp.Body.Close()
	s3st, _ := io.ReadAll(s3resp.Body)
	t.Logf("cloudsim SQS: %d answers cut, calls %v; S3: %s", st.Cut, st.Calls, fmt.Sprint(strings.TrimSpace(string(s3st))))
}
