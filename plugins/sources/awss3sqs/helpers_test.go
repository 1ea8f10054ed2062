package awss3sqs

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awstest"
	"github.com/logshipper/logshipper/internal/state"
)

// seq names the tests' queues and buckets apart.
var seq atomic.Int64

// eachBackend runs f as a subtest on cloudsim's S3 and SQS and on moto_server's (which fails
// the test when it is missing).
func eachBackend(t *testing.T, f func(t *testing.T, b awstest.Backend)) {
	t.Helper()
	for _, b := range awstest.Both(t) {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}

const (
	testAccount = "111122223333"
	testRegion  = "us-east-1"
)

// world is a queue and a bucket of their own on a backend.
type world struct {
	t        *testing.T
	b        awstest.Backend
	endpoint string
	sqs      *sqs.Client
	s3       *s3.Client
	queueURL string
	queueARN string
	bucket   string
	files    atomic.Int64
}

// newWorld creates on b a queue whose messages stay hidden visibility seconds after a receive,
// and a bucket.
func newWorld(t *testing.T, b awstest.Backend, visibility int) *world {
	t.Helper()
	n := seq.Add(1)
	w := &world{t: t, b: b, endpoint: b.Endpoint, bucket: fmt.Sprintf("trail-%d", n)}
	w.sqs = b.SQSClient(testRegion)
	w.s3 = b.S3Client(testRegion)
	ctx := context.Background()
	q, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("ct-%d", n)),
		Attributes: map[string]string{"VisibilityTimeout": fmt.Sprint(visibility)}})
	if err != nil {
		t.Fatal(err)
	}
	w.queueURL = aws.ToString(q.QueueUrl)
	a, err := w.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	w.queueARN = a.Attributes["QueueArn"]
	if _, err := w.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(w.bucket)}); err != nil {
		t.Fatal(err)
	}
	return w
}

// config is the source's configuration over the world: quick polls, small batches.
func (w *world) config() *Config {
	cfg := NewConfig().(*Config)
	cfg.AWS = awsauth.Config{AccessKeyID: config.NewSecret(w.b.AccessKey), SecretAccessKey: config.NewSecret(w.b.Secret),
		Endpoint: w.endpoint, Region: testRegion, Proxy: netconf.Proxy{URL: netconf.ProxyNone}}
	cfg.QueueURL, cfg.PathStyle = w.queueURL, true
	cfg.WaitTime, cfg.VisibilityTimeout, cfg.Workers = time.Second, 30*time.Second, 2
	cfg.BackfillBucket = w.bucket
	return cfg
}

// source builds a source over cfg, with a quick stop.
func (w *world) source(t *testing.T, cfg *Config, set plugin.Settings) *Source {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	s.tune.backoffBase = 20 * time.Millisecond
	return s
}

// settings are test settings over store (a fresh one when nil).
func settings(t *testing.T, store state.Store) plugin.Settings {
	return plugintest.Settings(t, "s3sqs", store)
}

// ctRecord is a CloudTrail record with eventID id at time at.
func ctRecord(id string, at time.Time) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":%q},"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":%q,"sourceIPAddress":"192.0.2.1","eventID":%q,"eventType":"AwsApiCall","recipientAccountId":%q}`,
		testAccount, at.UTC().Format(time.RFC3339), testRegion, id, testAccount)
}

// gz compresses b.
func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// logFile is a gzip CloudTrail log file of n records at time at; it returns the records' ids.
func (w *world) logFile(n int, at time.Time) ([]byte, []string) {
	f := w.files.Add(1)
	var recs []string
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-f%d-r%d", w.bucket, f, i)
		ids = append(ids, id)
		recs = append(recs, ctRecord(id, at))
	}
	return gz([]byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)), ids
}

// logKey is the key CloudTrail gives a file delivered at t, with unique as its last part.
func logKey(t time.Time, unique string) string {
	t = t.UTC()
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
		testAccount, testRegion, t.Format("2006/01/02"), testAccount, testRegion, t.Format("20060102T1504Z"), unique)
}

// put stores an object.
func (w *world) put(key string, body []byte) {
	w.t.Helper()
	if _, err := w.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		w.t.Fatal(err)
	}
}

// send sends a message body to the queue.
func (w *world) send(body string) {
	w.t.Helper()
	if _, err := w.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(w.queueURL), MessageBody: aws.String(body)}); err != nil {
		w.t.Fatal(err)
	}
}

// s3Event is a direct S3 notification of keys (URL-encoded as S3 does, + for a space).
func (w *world) s3Event(keys ...string) string {
	var recs []string
	for _, k := range keys {
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":%q,"eventTime":"2026-12-06T12:00:00.000Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","configurationId":"cfg","bucket":{"name":%q,"arn":"arn:aws:s3:::%s"},"object":{"key":%q,"size":1024,"eTag":"0","sequencer":"0055AED6DCD90281E5"}}}`,
			testRegion, w.bucket, w.bucket, url.QueryEscape(k)))
	}
	return `{"Records":[` + strings.Join(recs, ",") + `]}`
}

// produce stores one log file of n records and announces it; it returns the records' ids.
func (w *world) produce(n int) []string {
	w.t.Helper()
	body, ids := w.logFile(n, time.Now())
	key := logKey(time.Now(), fmt.Sprintf("u%d", w.files.Load()))
	w.put(key, body)
	w.send(w.s3Event(key))
	return ids
}

// queued returns how many messages the queue holds, visible or not.
func (w *world) queued() int {
	w.t.Helper()
	out, err := w.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(w.queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		w.t.Fatal(err)
	}
	var a, b int
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessages"], &a)
	fmt.Sscan(out.Attributes["ApproximateNumberOfMessagesNotVisible"], &b)
	return a + b
}

// idKey keys a record by its ID (the CloudTrail eventID).
func idKey(rec *event.Record) string { return rec.ID }
