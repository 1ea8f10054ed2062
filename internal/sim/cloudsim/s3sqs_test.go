package cloudsim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/logshipper/logshipper/internal/sim/s3"
)

func s3sqsClients(s *Sim, region string) (*awss3.Client, *awssqs.Client) {
	cfg := staticConfig(s, s.cfg.AWS.Accounts[0].SecretAccessKey)
	cfg.Region = region
	cfg.BaseEndpoint = aws.String(s.Endpoints["aws"])
	return awss3.NewFromConfig(cfg, func(o *awss3.Options) { o.UsePathStyle = true }), awssqs.NewFromConfig(cfg)
}

// drain long-polls a queue until n messages arrived, deleting them, and returns their bodies.
func drain(ctx context.Context, t *testing.T, c *awssqs.Client, queueURL string, n int) []string {
	t.Helper()
	var bodies []string
	for len(bodies) < n {
		out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 2,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v (%d of %d)", err, len(bodies), n)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := c.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return bodies
}

// The demo world has a CloudTrail bucket notifying a queue with a dead-letter queue; a file put
// through the Go API reaches a client through the SDKs.
func TestDemoCloudTrailBucketAndQueue(t *testing.T) {
	s := start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s3c, sqsc := s3sqsClients(s, "us-east-1")
	q, err := sqsc.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(DemoTrailQueue)})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := sqsc.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil || attrs.Attributes["VisibilityTimeout"] != "300" || !strings.Contains(attrs.Attributes["RedrivePolicy"], DemoTrailDLQ) {
		t.Fatalf("queue attributes %v %v", attrs, err)
	}
	if b := drain(ctx, t, sqsc, aws.ToString(q.QueueUrl), 1); !strings.Contains(b[0], "s3:TestEvent") {
		t.Fatalf("first message %s", b[0])
	}
	account := s.cfg.AWS.Accounts[0].ID
	key, err := s.S3.PutCloudTrailFile(DemoTrailBucket, s3.CloudTrailFile{Account: account, Region: "us-east-1",
		Records: []json.RawMessage{json.RawMessage(`{"eventID":"e1","eventName":"ConsoleLogin"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	body := drain(ctx, t, sqsc, aws.ToString(q.QueueUrl), 1)[0]
	if !strings.Contains(body, `"ObjectCreated:Put"`) || !strings.Contains(body, strings.TrimSuffix(key, ".json.gz")) {
		t.Fatalf("notification %s for %s", body, key)
	}
	out, err := s3c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(DemoTrailBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if aws.ToInt64(out.ContentLength) == 0 {
		t.Fatal("empty object")
	}
}

// A configuration file: queues, a bucket in another region notifying in SNS shape, and
// CloudTrail files generated from the samples cloudsim's CloudWatch Logs tests use.
func TestS3SQSConfigFile(t *testing.T) {
	samples, err := filepath.Abs("../cwlogs/testdata/cloudtrail-log-file-examples__block08__records.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	yaml := `aws:
  sqs:
    queues:
      - {name: trail-dlq, region: eu-west-1}
      - {name: trail, region: eu-west-1, visibility_timeout: 2m, dead_letter_queue: trail-dlq, max_receive_count: 3}
  s3:
    buckets:
      - {name: org-trail, region: eu-west-1}
    notifications:
      - {bucket: org-trail, queue: trail, format: sns, prefix: AWSLogs/}
    cloudtrail:
      - {bucket: org-trail, org_id: o-demo12345, regions: [eu-west-1, us-east-2], file: ` + samples + `, records_per_file: 3, rounds: 2}
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	s, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	keys, err := s.S3.Keys("org-trail", "AWSLogs/o-demo12345/123456789012/CloudTrail/")
	if err != nil || len(keys) != 4 {
		t.Fatalf("keys %v %v", keys, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	_, sqsc := s3sqsClients(s, "eu-west-1")
	q, err := sqsc.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("trail")})
	if err != nil {
		t.Fatal(err)
	}
	bodies := drain(ctx, t, sqsc, aws.ToString(q.QueueUrl), 5)
	for i, b := range bodies {
		var env struct{ Type, Message string }
		if err := json.Unmarshal([]byte(b), &env); err != nil || env.Type != "Notification" {
			t.Fatalf("message %d is not SNS-shaped: %s", i, b)
		}
		want := `"ObjectCreated:Put"`
		if i == 0 {
			want = "s3:TestEvent"
		}
		if !strings.Contains(env.Message, want) {
			t.Fatalf("message %d: %s", i, env.Message)
		}
	}
}

func TestS3SQSConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"notification of an unknown bucket", func(c *Config) {
			c.AWS.S3.Notifications = append(c.AWS.S3.Notifications, S3NotificationConfig{Bucket: "nope", Queue: DemoTrailQueue})
		}, `aws.s3.notifications[1]: bucket "nope"`},
		{"notification to an unknown queue", func(c *Config) {
			c.AWS.S3.Notifications[0].Queue = "nope"
		}, "destination"},
		{"missing dead-letter queue", func(c *Config) {
			c.AWS.SQS.Queues = []SQSQueueConfig{{Name: "q", DeadLetterQueue: "gone"}}
			c.AWS.S3.Notifications = nil
		}, "dead_letter_queue gone"},
		{"CloudTrail without samples", func(c *Config) {
			c.AWS.S3.CloudTrail = []S3CloudTrailConfig{{Bucket: DemoTrailBucket}}
		}, "file (sample CloudTrail records) is needed"},
		{"bad bucket name", func(c *Config) {
			c.AWS.S3.Buckets = append(c.AWS.S3.Buckets, S3BucketConfig{Name: "Bad_Name"})
		}, "InvalidBucketName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
			tt.edit(c)
			s, err := Start(c)
			if err == nil {
				s.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

// The admin endpoints let a test or the demo in another process put CloudTrail files and poison
// objects and change the notifications' shape.
func TestS3AdminEndpoints(t *testing.T) {
	s := start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	_, sqsc := s3sqsClients(s, "us-east-1")
	q, err := sqsc.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(DemoTrailQueue)})
	if err != nil {
		t.Fatal(err)
	}
	queueURL := aws.ToString(q.QueueUrl)
	drain(ctx, t, sqsc, queueURL, 1) // the test event of the start
	admin := s.Endpoints["admin"]
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, admin+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		answer, notified         string // in the answer, in the message the queue gets
	}{
		{"CloudTrail file", "POST", "/s3/cloudtrail/" + DemoTrailBucket + "?region=eu-west-2", `{"Records":[{"eventID":"x"}]}`, 200,
			`"key":"AWSLogs/123456789012/CloudTrail/eu-west-2/`, `"ObjectCreated:Put"`},
		{"poison object", "PUT", "/s3/objects/" + DemoTrailBucket + "/AWSLogs/poison.json.gz", "not gzip", 200, `"etag"`, `AWSLogs/poison.json.gz`},
		{"EventBridge shape", "PUT", "/s3/notifications/" + DemoTrailBucket, `[{"queue":"` + DemoTrailQueue + `","format":"eventbridge"}]`, 204, "", ""},
		{"after the switch", "PUT", "/s3/objects/" + DemoTrailBucket + "/AWSLogs/k", "x", 200, `"etag"`, `"detail-type":"Object Created"`},
		{"unknown bucket", "POST", "/s3/cloudtrail/nope", `[]`, 400, "NoSuchBucket", ""},
		{"bad records", "POST", "/s3/cloudtrail/" + DemoTrailBucket, `nope`, 400, "error", ""},
		{"unknown format", "PUT", "/s3/notifications/" + DemoTrailBucket, `[{"queue":"q","format":"x"}]`, 400, "error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, answer := do(tt.method, tt.path, tt.body)
			if status != tt.status || !strings.Contains(answer, tt.answer) {
				t.Fatalf("%d %s", status, answer)
			}
			if tt.notified != "" {
				if b := drain(ctx, t, sqsc, queueURL, 1)[0]; !strings.Contains(b, tt.notified) {
					t.Fatalf("notification %s lacks %s", b, tt.notified)
				}
			}
		})
	}
}
