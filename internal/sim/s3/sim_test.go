package s3_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logshipper/logshipper/internal/sim/awstest"
	"github.com/logshipper/logshipper/internal/sim/s3"
	"github.com/logshipper/logshipper/internal/sim/sqs"
)

// Behaviour checked against cloudsim only: its Go API, the shapes moto_server does not offer,
// faults, and what moto_server does differently from AWS's documentation.

func simEnv(t *testing.T, opts ...func(*awstest.SimOptions)) env {
	t.Helper()
	b := awstest.Sim(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return env{b: b, c: b.S3Client(region, func(o *awss3.Options) { o.Retryer = aws.NopRetryer{} }), q: b.SQSClient(region), ctx: ctx}
}

// queue creates a queue through the Go API and returns its ARN and URL.
func (e env) queue(t *testing.T, name string) (arn, queueURL string) {
	t.Helper()
	arn, err := e.b.SQS.CreateQueue(sqs.QueueConfig{Account: awstest.SimAccount, Region: region, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return arn, sqs.QueueURL(e.b.Endpoint, awstest.SimAccount, name)
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	trailKey  = regexp.MustCompile(`^logs/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/03/04/111122223333_CloudTrail_eu-west-1_20260304T0506Z_[A-Za-z0-9]{16}\.json\.gz$`)
	digestKey = regexp.MustCompile(`^AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/03/04/111122223333_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20260304T060000Z\.json\.gz$`)
)

func TestPutCloudTrailFile(t *testing.T) {
	e := simEnv(t)
	arn, qurl := e.queue(t, "trail-events")
	if err := e.b.S3.CreateBucket(awstest.SimAccount, region, "org-trail"); err != nil {
		t.Fatal(err)
	}
	if err := e.b.S3.SetNotifications("org-trail", []s3.Notification{{Queue: arn}}); err != nil {
		t.Fatal(err)
	}
	delivered := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	recs := []json.RawMessage{json.RawMessage(`{"eventID":"1","eventName":"GetObject"}`), json.RawMessage(`{"eventID":"2"}`)}
	key, err := e.b.S3.PutCloudTrailFile("org-trail", s3.CloudTrailFile{Prefix: "logs/", OrgID: "o-abc123", Account: awstest.SimAccount,
		Region: "eu-west-1", Delivered: delivered, Records: recs})
	if err != nil || !trailKey.MatchString(key) {
		t.Fatalf("PutCloudTrailFile: %q %v", key, err)
	}
	// What a client reads: the raw gzip bytes of {"Records":[...]}.
	_, body, err := e.get(t, "org-trail", key, "")
	if err != nil || body[0] != 0x1f || body[1] != 0x8b {
		t.Fatalf("GetObject: % x %v", body[:min(len(body), 4)], err)
	}
	var file struct{ Records []map[string]string }
	if err := json.Unmarshal(gunzip(t, body), &file); err != nil || len(file.Records) != 2 || file.Records[0]["eventName"] != "GetObject" {
		t.Fatalf("content %+v %v", file, err)
	}
	dkey, err := e.b.S3.PutCloudTrailDigest("org-trail", s3.CloudTrailDigest{Account: awstest.SimAccount, Region: region, Trail: "org-trail",
		End: time.Date(2026, 3, 4, 6, 0, 0, 0, time.UTC), LogFiles: []string{key}})
	if err != nil || !digestKey.MatchString(dkey) {
		t.Fatalf("PutCloudTrailDigest: %q %v", dkey, err)
	}
	obj, _ := e.b.S3.GetObject("org-trail", dkey)
	var digest map[string]any
	if err := json.Unmarshal(gunzip(t, obj.Data), &digest); err != nil || digest["Records"] != nil || len(digest["logFiles"].([]any)) != 1 {
		t.Fatalf("digest %v %v", digest, err)
	}
	// The test event, then one notification per object, its key as S3 encodes it.
	bodies := receiveAll(t, e, qurl, 3)
	if !strings.Contains(bodies[0], `"s3:TestEvent"`) {
		t.Fatalf("first message %s", bodies[0])
	}
	for i, want := range []string{key, dkey} {
		var ev s3Event
		if err := json.Unmarshal([]byte(bodies[i+1]), &ev); err != nil || len(ev.Records) != 1 {
			t.Fatalf("message %s: %v", bodies[i+1], err)
		}
		got, err := url.QueryUnescape(ev.Records[0].S3.Object.Key)
		if err != nil || got != want || ev.Records[0].EventName != "ObjectCreated:Put" {
			t.Fatalf("notified key %q (%v), want %q", got, err, want)
		}
	}
}

func TestGenerator(t *testing.T) {
	e := simEnv(t)
	if err := e.b.S3.CreateBucket(awstest.SimAccount, region, "gen"); err != nil {
		t.Fatal(err)
	}
	samples, err := s3.ReadCloudTrailRecords(strings.NewReader(`{"Records":[{"eventID":"a","eventName":"One"}]}
{"eventID":"b","eventName":"Two"}
[{"eventID":"c","eventName":"Three"}]`))
	if err != nil || len(samples) != 3 {
		t.Fatalf("ReadCloudTrailRecords: %d %v", len(samples), err)
	}
	g := &s3.Generator{Bucket: "gen", Account: awstest.SimAccount, Regions: []string{"us-east-1", "eu-west-1"}, Samples: samples, RecordsPerFile: 2}
	keys, err := e.b.S3.Generate(g)
	if err != nil || len(keys) != 2 {
		t.Fatalf("Generate: %v %v", keys, err)
	}
	ids := map[string]bool{}
	var names []string
	for i, k := range keys {
		o, _ := e.b.S3.GetObject("gen", k)
		var file struct{ Records []map[string]any }
		if err := json.Unmarshal(gunzip(t, o.Data), &file); err != nil || len(file.Records) != 2 {
			t.Fatalf("%s: %+v %v", k, file, err)
		}
		for _, r := range file.Records {
			ids[r["eventID"].(string)] = true
			names = append(names, r["eventName"].(string))
			if r["awsRegion"] != g.Regions[i] || r["recipientAccountId"] != awstest.SimAccount {
				t.Errorf("record %v in %s", r, k)
			}
		}
	}
	if len(ids) != 4 || ids["a"] || fmt.Sprint(names) != "[One Two Three One]" {
		t.Fatalf("ids %v names %v", ids, names)
	}
}

func TestNotificationFormats(t *testing.T) {
	tests := []struct {
		format string
		check  func(t *testing.T, body string)
		test   bool // an s3:TestEvent comes first
	}{
		{s3.FormatSNS, func(t *testing.T, body string) {
			var env struct{ Type, TopicArn, Subject, Message string }
			if err := json.Unmarshal([]byte(body), &env); err != nil || env.Type != "Notification" || env.TopicArn == "" || env.Subject != "Amazon S3 Notification" {
				t.Fatalf("SNS envelope %s: %v", body, err)
			}
			var ev s3Event
			if err := json.Unmarshal([]byte(env.Message), &ev); err != nil || len(ev.Records) != 1 || ev.Records[0].S3.Object.Key != "AWSLogs/k+1.json.gz" {
				t.Fatalf("SNS Message %s: %v", env.Message, err)
			}
		}, true},
		{s3.FormatEventBridge, func(t *testing.T, body string) {
			var ev struct {
				Source     string `json:"source"`
				DetailType string `json:"detail-type"`
				Time       string `json:"time"`
				Detail     struct {
					Bucket struct{ Name string }
					Object struct {
						Key  string `json:"key"`
						Size int64  `json:"size"`
					}
					Reason string `json:"reason"`
				} `json:"detail"`
			}
			if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.Source != "aws.s3" || ev.DetailType != "Object Created" ||
				ev.Detail.Bucket.Name != "shapes" || ev.Detail.Object.Key != "AWSLogs/k 1.json.gz" || ev.Detail.Object.Size != 1 || ev.Detail.Reason != "PutObject" {
				t.Fatalf("EventBridge event %s: %v", body, err)
			}
			if _, err := time.Parse(time.RFC3339, ev.Time); err != nil {
				t.Fatalf("time %q", ev.Time)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			e := simEnv(t)
			arn, qurl := e.queue(t, "shapes")
			if err := e.b.S3.CreateBucket(awstest.SimAccount, region, "shapes"); err != nil {
				t.Fatal(err)
			}
			if err := e.b.S3.SetNotifications("shapes", []s3.Notification{{Queue: arn, Format: tt.format, Prefix: "AWSLogs/"}}); err != nil {
				t.Fatal(err)
			}
			e.put(t, "shapes", "AWSLogs/k 1.json.gz", []byte("x"))
			want := 1
			if tt.test {
				want = 2
			}
			bodies := receiveAll(t, e, qurl, want)
			if tt.test && !strings.Contains(bodies[0], `s3:TestEvent`) {
				t.Fatalf("no test event first: %s", bodies[0])
			}
			tt.check(t, bodies[want-1])
		})
	}
}

func TestNotificationValidation(t *testing.T) {
	e := simEnv(t)
	if err := e.b.S3.CreateBucket(awstest.SimAccount, region, "valid"); err != nil {
		t.Fatal(err)
	}
	arn, _ := e.queue(t, "ok")
	tests := []struct {
		name string
		n    s3.Notification
	}{
		{"missing queue", s3.Notification{Queue: sqs.ARN(awstest.SimAccount, region, "nope")}},
		{"unknown format", s3.Notification{Queue: arn, Format: "kinesis"}},
		{"unsupported event", s3.Notification{Queue: arn, Events: []string{"s3:Replication:*"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.b.S3.SetNotifications("valid", []s3.Notification{tt.n}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestDuplicateAndDelayedNotifications(t *testing.T) {
	e := simEnv(t, func(o *awstest.SimOptions) {
		o.S3.NotifyDelay = 50 * time.Millisecond
		o.S3.Faults = s3.Faults{DuplicateNotifyRate: 1}
	})
	arn, qurl := e.queue(t, "dups")
	if err := e.b.S3.CreateBucket(awstest.SimAccount, region, "dups"); err != nil {
		t.Fatal(err)
	}
	if err := e.b.S3.SetNotifications("dups", []s3.Notification{{Queue: arn}}); err != nil {
		t.Fatal(err)
	}
	e.put(t, "dups", "k", []byte("v"))
	bodies := receiveAll(t, e, qurl, 4) // the test event and the put, each twice
	n := 0
	for _, b := range bodies {
		if strings.Contains(b, `"ObjectCreated:Put"`) {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d copies of the put's notification in %v", n, bodies)
	}
}

func TestS3Faults(t *testing.T) {
	tests := []struct {
		name   string
		faults s3.Faults
		code   string
		status int
	}{
		{"slow down", s3.Faults{SlowDownRate: 1}, "SlowDown", http.StatusServiceUnavailable},
		{"internal", s3.Faults{InternalErrorRate: 1}, "InternalError", http.StatusInternalServerError},
		{"unavailable", s3.Faults{UnavailableRate: 1}, "ServiceUnavailable", http.StatusServiceUnavailable},
		{"other ops only", s3.Faults{SlowDownRate: 1, Ops: []string{"PutObject"}}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := simEnv(t)
			e.bucket(t, "faulty")
			e.put(t, "faulty", "k", []byte("v"))
			e.b.S3.SetFaults(tt.faults)
			_, _, err := e.get(t, "faulty", "k", "")
			var re *awshttp.ResponseError
			if errCode(err) != tt.code || tt.status != 0 && (!errors.As(err, &re) || re.HTTPStatusCode() != tt.status) {
				t.Fatalf("GetObject: %v (code %q)", err, errCode(err))
			}
		})
	}
}

// CompleteMultipartUpload's "200 with an <Error>": the SDK reports the error, the upload stays
// open and a retry completes it.
func TestCompleteErrorInOK(t *testing.T) {
	e := simEnv(t)
	e.bucket(t, "lake")
	up, err := e.c.CreateMultipartUpload(e.ctx, &awss3.CreateMultipartUploadInput{Bucket: aws.String("lake"), Key: aws.String("f.parquet")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.c.UploadPart(e.ctx, &awss3.UploadPartInput{Bucket: aws.String("lake"), Key: aws.String("f.parquet"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("only part")})
	if err != nil {
		t.Fatal(err)
	}
	in := &awss3.CompleteMultipartUploadInput{Bucket: aws.String("lake"), Key: aws.String("f.parquet"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: p.ETag, PartNumber: aws.Int32(1)}}}}
	e.b.S3.SetFaults(s3.Faults{CompleteErrorRate: 1})
	if _, err := e.c.CompleteMultipartUpload(e.ctx, in); errCode(err) != "InternalError" {
		t.Fatalf("faulted completion: %v", err)
	}
	if _, err := e.b.S3.GetObject("lake", "f.parquet"); err == nil || e.b.S3.Uploads("lake") != 1 {
		t.Fatalf("the faulted completion stored the object or closed the upload (%d open)", e.b.S3.Uploads("lake"))
	}
	e.b.S3.SetFaults(s3.Faults{})
	if _, err := e.c.CompleteMultipartUpload(e.ctx, in); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if o, err := e.b.S3.GetObject("lake", "f.parquet"); err != nil || string(o.Data) != "only part" {
		t.Fatalf("stored %q %v", o.Data, err)
	}
}

func TestCutDownload(t *testing.T) {
	e := simEnv(t)
	e.bucket(t, "cut")
	e.put(t, "cut", "k", bytes.Repeat([]byte("x"), 1000))
	e.b.S3.SetFaults(s3.Faults{CutRate: 1, Ops: []string{"GetObject"}})
	_, got, err := e.get(t, "cut", "k", "")
	if err == nil || len(got) >= 1000 || e.b.S3.Stats().Cut != 1 {
		t.Fatalf("cut download: %d bytes, %v", len(got), err)
	}
}

func TestAccessErrors(t *testing.T) {
	e := simEnv(t)
	if err := e.b.S3.CreateBucket("999988887777", region, "theirs"); err != nil {
		t.Fatal(err)
	}
	if err := e.b.S3.CreateBucket(awstest.SimAccount, "eu-west-1", "elsewhere"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"another account's bucket", func() error { _, _, err := e.get(t, "theirs", "k", ""); return err }, "AccessDenied"},
		{"the wrong region", func() error {
			_, err := e.c.ListObjectsV2(e.ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("elsewhere")})
			return err
		}, "AuthorizationHeaderMalformed"},
		{"a taken name", func() error {
			_, err := e.c.CreateBucket(e.ctx, &awss3.CreateBucketInput{Bucket: aws.String("theirs")})
			return err
		}, "BucketAlreadyExists"},
		{"a bad name", func() error {
			_, err := e.c.CreateBucket(e.ctx, &awss3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
			return err
		}, "InvalidBucketName"},
		{"a wrong secret", func() error {
			b := e.b
			b.Secret = "wrong"
			_, err := b.S3Client(region, func(o *awss3.Options) { o.Retryer = aws.NopRetryer{} }).ListBuckets(e.ctx, &awss3.ListBucketsInput{})
			return err
		}, "SignatureDoesNotMatch"},
		{"an unknown key", func() error {
			b := e.b
			b.AccessKey = "AKIAUNKNOWN000000000"
			_, err := b.S3Client(region, func(o *awss3.Options) { o.Retryer = aws.NopRetryer{} }).ListBuckets(e.ctx, &awss3.ListBucketsInput{})
			return err
		}, "InvalidAccessKeyId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); errCode(err) != tt.code {
				t.Fatalf("%v: code %q, want %q", err, errCode(err), tt.code)
			}
		})
	}
}

func TestListCapsAtThousand(t *testing.T) {
	e := simEnv(t)
	e.bucket(t, "many")
	for i := range 1001 {
		if _, err := e.b.S3.PutObject("many", fmt.Sprintf("k%04d", i), nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.c.ListObjectsV2(e.ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("many"), MaxKeys: aws.Int32(5000)})
	if err != nil || len(out.Contents) != 1000 || !aws.ToBool(out.IsTruncated) || aws.ToInt32(out.MaxKeys) != 1000 {
		t.Fatalf("%d keys, truncated %v, %v", len(out.Contents), aws.ToBool(out.IsTruncated), err)
	}
	next, err := e.c.ListObjectsV2(e.ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("many"), ContinuationToken: out.NextContinuationToken})
	if err != nil || len(next.Contents) != 1 || aws.ToString(next.Contents[0].Key) != "k1000" {
		t.Fatalf("second page %+v %v", next, err)
	}
	if _, err := e.c.ListObjectsV2(e.ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("many"), ContinuationToken: aws.String("!!")}); errCode(err) != "InvalidArgument" {
		t.Fatalf("a bad token: %v", err)
	}
}

// Virtual-hosted-style requests (<bucket>.localhost) reach the same bucket.
func TestVirtualHostedStyle(t *testing.T) {
	e := simEnv(t)
	e.bucket(t, "vhost")
	e.put(t, "vhost", "a/b", []byte("v"))
	u, _ := url.Parse(e.b.Endpoint)
	_, port, _ := net.SplitHostPort(u.Host)
	hosts := make(chan string, 4)
	dial := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		hosts <- addr
		return dial.DialContext(ctx, network, u.Host)
	}}}
	c := awss3.NewFromConfig(aws.Config{Region: region, HTTPClient: hc, BaseEndpoint: aws.String("http://localhost:" + port),
		Credentials: e.c.Options().Credentials})
	out, err := c.GetObject(e.ctx, &awss3.GetObjectInput{Bucket: aws.String("vhost"), Key: aws.String("a/b")})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if h := <-hosts; h != "vhost.localhost:"+port {
		t.Fatalf("the SDK dialled %s, not the virtual host", h)
	}
}

func TestQueuesOfNotificationsMustExistThroughAPI(t *testing.T) {
	e := simEnv(t)
	e.bucket(t, "api")
	_, err := e.c.PutBucketNotificationConfiguration(e.ctx, &awss3.PutBucketNotificationConfigurationInput{Bucket: aws.String("api"),
		NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
			QueueArn: aws.String(sqs.ARN(awstest.SimAccount, region, "missing")), Events: []types.Event{"s3:ObjectCreated:*"}}}}})
	if errCode(err) != "InvalidArgument" {
		t.Fatalf("a missing queue: %v", err)
	}
}

// The checksum headers the SDKs send over http are verified, kept, and returned when asked.
func TestChecksumHeaders(t *testing.T) {
	e := simEnv(t)
	e.bucket(t, "sums")
	tests := []struct {
		name string
		in   awss3.PutObjectInput
		code string
	}{
		{"none (the Go SDK's default over http)", awss3.PutObjectInput{}, ""},
		{"CRC32C", awss3.PutObjectInput{ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c}, ""},
		{"SHA256", awss3.PutObjectInput{ChecksumAlgorithm: types.ChecksumAlgorithmSha256}, ""},
		{"CRC64NVME", awss3.PutObjectInput{ChecksumAlgorithm: types.ChecksumAlgorithmCrc64nvme}, ""},
		{"a wrong CRC32", awss3.PutObjectInput{ChecksumCRC32: aws.String("AAAAAA==")}, "BadDigest"},
		{"a wrong SHA256", awss3.PutObjectInput{ChecksumSHA256: aws.String("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")}, "BadDigest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Bucket, in.Key, in.Body = aws.String("sums"), aws.String(tt.name), strings.NewReader("checksummed body")
			_, err := e.c.PutObject(e.ctx, &in)
			if errCode(err) != tt.code {
				t.Fatalf("PutObject: %v, want code %q", err, tt.code)
			}
			if tt.code != "" {
				return
			}
			// The SDK validates the checksum it gets back.
			out, err := e.c.GetObject(e.ctx, &awss3.GetObjectInput{Bucket: in.Bucket, Key: in.Key, ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || string(b) != "checksummed body" {
				t.Fatalf("read back %q %v", b, err)
			}
			none := out.ChecksumCRC32 == nil && out.ChecksumCRC32C == nil && out.ChecksumSHA256 == nil && out.ChecksumCRC64NVME == nil
			if none != (tt.in.ChecksumAlgorithm == "") {
				t.Fatalf("checksums returned: CRC32 %v CRC32C %v SHA256 %v CRC64NVME %v", out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumSHA256, out.ChecksumCRC64NVME)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	e := simEnv(t, func(o *awstest.SimOptions) {
		o.S3.Faults = s3.Faults{Latency: 300 * time.Millisecond, Ops: []string{"HeadBucket"}}
	})
	e.bucket(t, "slow")
	start := time.Now()
	if _, err := e.c.HeadBucket(e.ctx, &awss3.HeadBucketInput{Bucket: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("HeadBucket took %v with 300 ms of latency", took)
	}
}

// An unsigned request gets S3's XML AccessDenied, as an anonymous request to a private bucket
// does; an unsigned HEAD gets the status alone.
func TestUnsignedRequests(t *testing.T) {
	e := simEnv(t)
	e.bucket(t, "private")
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequestWithContext(e.ctx, method, e.b.Endpoint+"/private/k", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amz-Request-Id") == "" {
			t.Fatalf("%s: %d %v", method, resp.StatusCode, resp.Header)
		}
		if method == http.MethodGet && !strings.Contains(string(body), "<Code>AccessDenied</Code>") {
			t.Fatalf("GET: %s", body)
		}
		if method == http.MethodHead && len(body) != 0 {
			t.Fatalf("HEAD: %q", body)
		}
	}
}
