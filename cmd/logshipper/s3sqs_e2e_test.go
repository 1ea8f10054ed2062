package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/logshipper/logshipper/internal/sim/awstest"
)

// startMotoServer starts moto_server (S3 and SQS) on a loopback port it picks itself for the
// test; the test fails when it is not installed.
func startMotoServer(t *testing.T) string {
	t.Helper()
	return awstest.Moto(t).Endpoint
}

const s3sqsE2EConfig = `
data_dir: ./data
shutdown_timeout: 10s
log: {level: info, format: json}
plugins:
  - name: trail
    type: aws_s3_sqs
    access_key_id: %s
    secret_access_key: %s
    region: us-east-1
    endpoint: %s
    proxy: {url: none}
    path_style: true
    queue_url: %s
    visibility_timeout: 2s
    wait_time: 1s
    batch_size: 50
    backfill_bucket: org-trail
  - name: out
    type: file
    path: %s
    batch: {max_records: 200, max_wait: 10ms}
siem_mappings:
  - {source: trail, destination: out}
`

// s3sqsTrail is the outside world of a kill -9 run: an S3 and SQS endpoint with its keys and
// queue, and how a CloudTrail file and a poison object get into the bucket and announced.
type s3sqsTrail struct {
	endpoint, accessKey, secret, queueURL string
	// putFile stores a CloudTrail log file of records (JSON objects) and announces it.
	putFile func(t *testing.T, records []string)
	// putPoison stores data under a CloudTrail key ending in _poison.json.gz and announces it.
	putPoison func(t *testing.T, data []byte)
}

// runS3SQSKill9 runs logshipper over tr, killing it with SIGKILL rounds times while files are
// announced, then a last time with a poison object (not gzip, not JSON) beside good files: no
// record is lost, and the poison object is dead-lettered once with its reason.
func runS3SQSKill9(t *testing.T, tr s3sqsTrail) {
	files := 0
	var want []string
	putFiles := func(n, per int) {
		for range n {
			files++
			var recs []string
			for i := range per {
				id := fmt.Sprintf("f%04d-r%03d", files, i)
				want = append(want, id)
				recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2026-12-06T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","eventID":%q,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}`, id))
			}
			tr.putFile(t, recs)
		}
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out", "records.ndjson")
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(s3sqsE2EConfig, tr.accessKey, tr.secret, tr.endpoint, tr.queueURL, out))
	ids := func() map[string]int {
		seen := map[string]int{}
		b, err := os.ReadFile(out)
		if err != nil {
			return seen
		}
		for _, line := range recordLines(t, b, rounds) {
			var r struct {
				EventID string `json:"eventID"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("a line of the output is not a record: %q", line)
			}
			seen[r.EventID]++
		}
		return seen
	}
	delivered := func() int {
		n := 0
		for _, c := range ids() {
			n += c
		}
		return n
	}
	putFiles(20, 40)
	for range rounds {
		p := startShipper(t, dir, "run", "-c", "c.yaml")
		// Each batch of new files is announced once the shipper delivered more since the last:
		// the kill lands while files are being delivered.
		for k := 0; k < 3; k++ {
			before := delivered()
			putFiles(5, 40)
			waitFor(t, 60*time.Second, "the shipper delivering more records", func() bool { return delivered() > before })
		}
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait(t, 10*time.Second)
	}
	// A last run, with a poison object (not gzip, not JSON) beside a good file.
	tr.putPoison(t, []byte("this is not a CloudTrail file"))
	putFiles(3, 40)
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 90*time.Second, "every record", func() bool {
		seen := ids()
		for _, id := range want {
			if seen[id] == 0 {
				return false
			}
		}
		return true
	})
	dlq := filepath.Join(dir, "data", "deadletter", "trail.ndjson")
	waitFor(t, 20*time.Second, "the poison object in the dead letters", func() bool {
		b, _ := os.ReadFile(dlq)
		return bytes.Contains(b, []byte("_poison.json.gz"))
	})
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, p.stderr.String())
	}
	b, _ := os.ReadFile(dlq)
	n := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.Contains(line, []byte("_poison.json.gz")) {
			n++
		}
	}
	if n != 1 || !bytes.Contains(b, []byte("not a CloudTrail log file")) {
		t.Errorf("the poison object is in the dead letters %d times (want once, with its reason):\n%s", n, b)
	}
	seen := ids()
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	if len(seen) != len(want) {
		t.Errorf("%d distinct records delivered, want %d", len(seen), len(want))
	}
	t.Logf("%d records in %d files, %d kill -9 restarts: none lost, %d delivered twice (at least once)", len(want), files, rounds, dups)
}

// CloudTrail files announced on an SQS queue (moto_server) while logshipper is killed with
// SIGKILL again and again: no record is lost, and a poison object goes to the dead letters
// once with its reason while the rest flow.
func TestE2EAWSS3SQSKill9LosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	endpoint := startMotoServer(t)
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("testing", "testing", "")
	sq := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds})
	st := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds, UsePathStyle: true})
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("trail"), Attributes: map[string]string{"VisibilityTimeout": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "org-trail"
	if _, err := st.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	announce := func(t *testing.T, key string, body []byte) {
		if _, err := st.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q}}}]}`, bucket, key)
		if _, err := sq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(msg)}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	runS3SQSKill9(t, s3sqsTrail{endpoint: endpoint, accessKey: "testing", secret: "testing", queueURL: aws.ToString(q.QueueUrl),
		putFile: func(t *testing.T, recs []string) {
			n++
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write([]byte(`{"Records":[` + strings.Join(recs, ",") + `]}`))
			_ = zw.Close()
			announce(t, fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/06/111122223333_CloudTrail_us-east-1_20261206T1200Z_%04d.json.gz", n), buf.Bytes())
		},
		putPoison: func(t *testing.T, data []byte) {
			announce(t, "AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/06/111122223333_CloudTrail_us-east-1_20261206T1300Z_poison.json.gz", data)
		},
	})
}

// rounds is how many times runS3SQSKill9 kills logshipper.
const rounds = 4

// `logshipper backfill` of an aws_s3_sqs source lists the bucket instead of reading the queue:
// the records of the range arrive, those outside it do not, and the progress counts them and
// the one account and region folder.
func TestE2EAWSS3SQSBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	endpoint := startMotoServer(t)
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("testing", "testing", "")
	sq := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds})
	st := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds, UsePathStyle: true})
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("trail")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("org-trail")}); err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	in := map[string]bool{}
	for h := -2; h < 30; h++ {
		at := from.Add(time.Duration(h) * time.Hour)
		id := fmt.Sprintf("h%+03d", h)
		in[id] = h >= 0 && h < 24
		rec := fmt.Sprintf(`{"eventVersion":"1.08","eventTime":%q,"eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","eventID":%q,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}`, at.Format(time.RFC3339), id)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write([]byte(`{"Records":[` + rec + `]}`))
		_ = zw.Close()
		del := at.Add(5 * time.Minute)
		key := fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/%s/111122223333_CloudTrail_us-east-1_%s_x.json.gz", del.Format("2006/01/02"), del.Format("20060102T1504Z"))
		if _, err := st.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("org-trail"), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out", "records.ndjson")
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(s3sqsE2EConfig, "testing", "testing", endpoint, aws.ToString(q.QueueUrl), out))
	p := startShipper(t, dir, "backfill", "-c", "c.yaml", "--source", "trail", "--from", from.Format(time.RFC3339),
		"--to", from.Add(24*time.Hour).Format(time.RFC3339), "--progress", "lines")
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("backfill exit code %d; stderr:\n%s", code, p.stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, line := range recordLines(t, b, 0) {
		var r struct {
			EventID string `json:"eventID"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("not a record: %q", line)
		}
		got[r.EventID] = true
	}
	for id, want := range in {
		if got[id] != want {
			t.Errorf("record %s: delivered %v, want %v", id, got[id], want)
		}
	}
	if !strings.Contains(p.stderr.String(), "24 records") || !strings.Contains(p.stderr.String(), "1/1 parts done") {
		t.Errorf("the progress does not count the records and the part; stderr:\n%s", p.stderr.String())
	}
}
