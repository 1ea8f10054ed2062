package s3_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/sim/awstest"
)

const region = "us-east-1"

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

type env struct {
	b   awstest.Backend
	c   *awss3.Client
	q   *awssqs.Client
	ctx context.Context
}

// onBoth runs f against cloudsim and against moto_server.
func onBoth(t *testing.T, f func(t *testing.T, e env)) {
	for _, b := range awstest.Both(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			f(t, env{b: b, c: b.S3Client(region), q: b.SQSClient(region), ctx: ctx})
		})
	}
}

func (e env) bucket(t *testing.T, name string) {
	t.Helper()
	if _, err := e.c.CreateBucket(e.ctx, &awss3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

func (e env) put(t *testing.T, bucket, key string, body []byte) string {
	t.Helper()
	out, err := e.c.PutObject(e.ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
	return aws.ToString(out.ETag)
}

func (e env) get(t *testing.T, bucket, key, rng string) (*awss3.GetObjectOutput, []byte, error) {
	t.Helper()
	in := &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	out, err := e.c.GetObject(e.ctx, in)
	if err != nil {
		return nil, nil, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return out, b, err
}

func TestObjects(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		e.bucket(t, "objects")
		data := []byte("0123456789")
		key := "dir/with space+plus=é.json.gz"
		etag := e.put(t, "objects", key, data)
		if etag != `"781e5e245d69b566979b86e28d23f2c7"` {
			t.Errorf("ETag %s", etag)
		}
		out, got, err := e.get(t, "objects", key, "")
		if err != nil || !bytes.Equal(got, data) || aws.ToString(out.ETag) != etag || aws.ToInt64(out.ContentLength) != 10 {
			t.Fatalf("GetObject: %q %v %+v", got, err, out)
		}
		head, err := e.c.HeadObject(e.ctx, &awss3.HeadObjectInput{Bucket: aws.String("objects"), Key: aws.String(key)})
		if err != nil || aws.ToInt64(head.ContentLength) != 10 || aws.ToString(head.ETag) != etag || head.LastModified == nil {
			t.Fatalf("HeadObject: %+v %v", head, err)
		}

		ranges := []struct {
			rng, want, contentRange string
		}{
			{"bytes=2-5", "2345", "bytes 2-5/10"},
			{"bytes=7-", "789", "bytes 7-9/10"},
			{"bytes=-3", "789", "bytes 7-9/10"},
			{"bytes=8-100", "89", "bytes 8-9/10"},
		}
		for _, r := range ranges {
			out, got, err := e.get(t, "objects", key, r.rng)
			if err != nil || string(got) != r.want || aws.ToString(out.ContentRange) != r.contentRange {
				t.Errorf("Range %s: %q %v (Content-Range %q)", r.rng, got, err, aws.ToString(out.ContentRange))
			}
		}
		if _, _, err := e.get(t, "objects", key, "bytes=10-"); errCode(err) != "InvalidRange" {
			t.Errorf("unsatisfiable range: %v", err)
		}

		_, _, err = e.get(t, "objects", "missing", "")
		var nk *types.NoSuchKey
		if !errors.As(err, &nk) {
			t.Errorf("GetObject of a missing key: %v", err)
		}
		_, err = e.c.HeadObject(e.ctx, &awss3.HeadObjectInput{Bucket: aws.String("objects"), Key: aws.String("missing")})
		var nf *types.NotFound
		if !errors.As(err, &nf) {
			t.Errorf("HeadObject of a missing key: %v", err)
		}
		if _, _, err = e.get(t, "no-such-bucket-here", "k", ""); errCode(err) != "NoSuchBucket" {
			t.Errorf("GetObject in a missing bucket: %v", err)
		}
		// A wrong Content-MD5 is refused (moto_server does not check it).
		_, err = e.c.PutObject(e.ctx, &awss3.PutObjectInput{Bucket: aws.String("objects"), Key: aws.String("md5"),
			Body: bytes.NewReader(data), ContentMD5: aws.String("1B2M2Y8AsgTpgAmY7PhCfg==")})
		if !e.b.IsMoto() && errCode(err) != "BadDigest" {
			t.Errorf("PutObject with a wrong Content-MD5: %v", err)
		}
		if _, err := e.c.DeleteObject(e.ctx, &awss3.DeleteObjectInput{Bucket: aws.String("objects"), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.get(t, "objects", key, ""); !errors.As(err, &nk) {
			t.Fatalf("GetObject after DeleteObject: %v", err)
		}
	})
}

func listAll(t *testing.T, e env, in *awss3.ListObjectsV2Input) (keys, prefixes []string, pages int) {
	t.Helper()
	p := awss3.NewListObjectsV2Paginator(e.c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		pages++
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, cp := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(cp.Prefix))
		}
	}
	return keys, prefixes, pages
}

func TestListObjectsV2(t *testing.T) {
	// In UTF-8 binary order ('-' sorts before '/').
	keys := []string{
		"AWSLogs/111/CloudTrail-Digest/us-east-1/2026/01/01/d.json.gz",
		"AWSLogs/111/CloudTrail/us-east-1/2026/01/01/a.json.gz",
		"AWSLogs/111/CloudTrail/us-east-1/2026/01/02/b.json.gz",
		"AWSLogs/111/CloudTrail/us-east-1/2026/01/02/c.json.gz",
		"AWSLogs/222/CloudTrail/eu-west-1/2026/01/01/e.json.gz",
		"other/f",
		"top",
	}
	tests := []struct {
		name         string
		in           awss3.ListObjectsV2Input
		keys, prefix []string
		pages        int
	}{
		{"all", awss3.ListObjectsV2Input{}, keys, nil, 1},
		{"prefix", awss3.ListObjectsV2Input{Prefix: aws.String("AWSLogs/111/CloudTrail/")}, keys[1:4], nil, 1},
		{"start-after", awss3.ListObjectsV2Input{Prefix: aws.String("AWSLogs/111/CloudTrail/"), StartAfter: aws.String(keys[1])}, keys[2:4], nil, 1},
		{"pages of 2", awss3.ListObjectsV2Input{MaxKeys: aws.Int32(2)}, keys, nil, 4},
		{"delimiter", awss3.ListObjectsV2Input{Delimiter: aws.String("/")}, []string{"top"}, []string{"AWSLogs/", "other/"}, 1},
		{"delimiter under a prefix", awss3.ListObjectsV2Input{Prefix: aws.String("AWSLogs/"), Delimiter: aws.String("/")}, nil, []string{"AWSLogs/111/", "AWSLogs/222/"}, 1},
		{"delimiter in pages of 1", awss3.ListObjectsV2Input{Prefix: aws.String("AWSLogs/111/CloudTrail/us-east-1/2026/01/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)},
			nil, []string{"AWSLogs/111/CloudTrail/us-east-1/2026/01/01/", "AWSLogs/111/CloudTrail/us-east-1/2026/01/02/"}, 2},
	}
	onBoth(t, func(t *testing.T, e env) {
		e.bucket(t, "listing")
		for _, k := range keys {
			e.put(t, "listing", k, []byte(k))
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := tt.in
				in.Bucket = aws.String("listing")
				k, p, pages := listAll(t, e, &in)
				if fmt.Sprint(k) != fmt.Sprint(tt.keys) || fmt.Sprint(p) != fmt.Sprint(tt.prefix) || pages != tt.pages {
					t.Fatalf("keys %v prefixes %v in %d pages, want %v %v in %d", k, p, pages, tt.keys, tt.prefix, tt.pages)
				}
			})
		}
		out, err := e.c.ListObjectsV2(e.ctx, &awss3.ListObjectsV2Input{Bucket: aws.String("listing"), MaxKeys: aws.Int32(1)})
		if err != nil || aws.ToInt32(out.KeyCount) != 1 || !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil ||
			aws.ToInt64(out.Contents[0].Size) != int64(len(keys[0])) || out.Contents[0].StorageClass != types.ObjectStorageClassStandard {
			t.Fatalf("one page: %+v %v", out, err)
		}
	})
}

const mib = 1 << 20

func TestMultipartUpload(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		e.bucket(t, "multi")
		bk := aws.String("multi")
		start := func(key string) string {
			out, err := e.c.CreateMultipartUpload(e.ctx, &awss3.CreateMultipartUploadInput{Bucket: bk, Key: aws.String(key)})
			if err != nil {
				t.Fatalf("CreateMultipartUpload: %v", err)
			}
			return aws.ToString(out.UploadId)
		}
		part := func(key, id string, n int32, data []byte) types.CompletedPart {
			out, err := e.c.UploadPart(e.ctx, &awss3.UploadPartInput{Bucket: bk, Key: aws.String(key), UploadId: aws.String(id), PartNumber: aws.Int32(n), Body: bytes.NewReader(data)})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", n, err)
			}
			return types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)}
		}
		complete := func(key, id string, parts ...types.CompletedPart) (*awss3.CompleteMultipartUploadOutput, error) {
			return e.c.CompleteMultipartUpload(e.ctx, &awss3.CompleteMultipartUploadInput{Bucket: bk, Key: aws.String(key), UploadId: aws.String(id),
				MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		}
		big := bytes.Repeat([]byte("a"), 5*mib)
		small := []byte("tail")

		id := start("ok.parquet")
		p1, p2 := part("ok.parquet", id, 1, big), part("ok.parquet", id, 2, small)
		parts, err := e.c.ListParts(e.ctx, &awss3.ListPartsInput{Bucket: bk, Key: aws.String("ok.parquet"), UploadId: aws.String(id), MaxParts: aws.Int32(1)})
		if err != nil || len(parts.Parts) != 1 || aws.ToInt32(parts.Parts[0].PartNumber) != 1 || aws.ToInt64(parts.Parts[0].Size) != int64(len(big)) ||
			aws.ToString(parts.Parts[0].ETag) != aws.ToString(p1.ETag) || !aws.ToBool(parts.IsTruncated) {
			t.Fatalf("ListParts: %+v %v", parts, err)
		}
		parts, err = e.c.ListParts(e.ctx, &awss3.ListPartsInput{Bucket: bk, Key: aws.String("ok.parquet"), UploadId: aws.String(id), PartNumberMarker: parts.NextPartNumberMarker})
		if err != nil || len(parts.Parts) != 1 || aws.ToInt32(parts.Parts[0].PartNumber) != 2 || aws.ToBool(parts.IsTruncated) {
			t.Fatalf("ListParts after the marker: %+v %v", parts, err)
		}
		ups, err := e.c.ListMultipartUploads(e.ctx, &awss3.ListMultipartUploadsInput{Bucket: bk})
		if err != nil || len(ups.Uploads) != 1 || aws.ToString(ups.Uploads[0].UploadId) != id || aws.ToString(ups.Uploads[0].Key) != "ok.parquet" {
			t.Fatalf("ListMultipartUploads: %+v %v", ups, err)
		}
		bad := p2
		bad.ETag = aws.String(`"00000000000000000000000000000000"`)
		if _, err := complete("ok.parquet", id, p1, bad); errCode(err) != "InvalidPart" {
			t.Errorf("a wrong ETag: %v", err)
		}
		// moto_server accepts a repeated part number (and assembles the part twice).
		if !e.b.IsMoto() {
			if _, err := complete("ok.parquet", id, p1, p1); errCode(err) != "InvalidPartOrder" {
				t.Errorf("parts out of order: %v", err)
			}
		}
		out, err := complete("ok.parquet", id, p1, p2)
		if err != nil || !strings.HasSuffix(aws.ToString(out.ETag), `-2"`) {
			t.Fatalf("CompleteMultipartUpload: %+v %v", out, err)
		}
		_, got, err := e.get(t, "multi", "ok.parquet", "")
		if err != nil || len(got) != len(big)+len(small) || !bytes.HasSuffix(got, small) {
			t.Fatalf("the assembled object: %d bytes, %v", len(got), err)
		}
		// moto_server answers a second completion with success.
		if _, err := complete("ok.parquet", id, p1, p2); !e.b.IsMoto() && errCode(err) != "NoSuchUpload" {
			t.Errorf("completing twice: %v", err)
		}

		id = start("small")
		s1, s2 := part("small", id, 1, small), part("small", id, 2, small)
		if _, err := complete("small", id, s1, s2); errCode(err) != "EntityTooSmall" {
			t.Errorf("a small part before the last: %v", err)
		}
		if _, err := e.c.AbortMultipartUpload(e.ctx, &awss3.AbortMultipartUploadInput{Bucket: bk, Key: aws.String("small"), UploadId: aws.String(id)}); err != nil {
			t.Fatalf("AbortMultipartUpload: %v", err)
		}
		// moto_server answers 500 with a body that is not XML.
		_, err = e.c.UploadPart(e.ctx, &awss3.UploadPartInput{Bucket: bk, Key: aws.String("small"), UploadId: aws.String(id), PartNumber: aws.Int32(3), Body: bytes.NewReader(small)})
		if !e.b.IsMoto() && errCode(err) != "NoSuchUpload" {
			t.Errorf("UploadPart after the abort: %v", err)
		}
	})
}

// receiveAll long-polls url until want messages arrived or the context ends.
func receiveAll(t *testing.T, e env, url string, want int) []string {
	t.Helper()
	var bodies []string
	for len(bodies) < want {
		out, err := e.q.ReceiveMessage(e.ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v (have %d of %d)", err, len(bodies), want)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := e.q.DeleteMessage(e.ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return bodies
}

type s3Event struct {
	Records []struct {
		EventVersion string `json:"eventVersion"`
		EventSource  string `json:"eventSource"`
		AwsRegion    string `json:"awsRegion"`
		EventName    string `json:"eventName"`
		EventTime    string `json:"eventTime"`
		S3           struct {
			ConfigurationID string `json:"configurationId"`
			Bucket          struct {
				Name string `json:"name"`
				Arn  string `json:"arn"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
				ETag string `json:"eTag"`
			} `json:"object"`
		} `json:"s3"`
	}
	Service, Event, Bucket string
}

// S3 event notifications configured through the API, as both implementations deliver them.
func TestEventNotifications(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		qout, err := e.q.CreateQueue(e.ctx, &awssqs.CreateQueueInput{QueueName: aws.String("events")})
		if err != nil {
			t.Fatal(err)
		}
		url := aws.ToString(qout.QueueUrl)
		attrs, err := e.q.GetQueueAttributes(e.ctx, &awssqs.GetQueueAttributesInput{QueueUrl: qout.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		e.bucket(t, "trail")
		_, err = e.c.PutBucketNotificationConfiguration(e.ctx, &awss3.PutBucketNotificationConfigurationInput{Bucket: aws.String("trail"),
			NotificationConfiguration: &types.NotificationConfiguration{QueueConfigurations: []types.QueueConfiguration{{
				Id: aws.String("ct"), QueueArn: aws.String(attrs.Attributes["QueueArn"]), Events: []types.Event{"s3:ObjectCreated:*"},
				Filter: &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: []types.FilterRule{{Name: types.FilterRuleNamePrefix, Value: aws.String("AWSLogs/")}}}},
			}}}})
		if err != nil {
			t.Fatalf("PutBucketNotificationConfiguration: %v", err)
		}
		got, err := e.c.GetBucketNotificationConfiguration(e.ctx, &awss3.GetBucketNotificationConfigurationInput{Bucket: aws.String("trail")})
		if err != nil || len(got.QueueConfigurations) != 1 || aws.ToString(got.QueueConfigurations[0].QueueArn) != attrs.Attributes["QueueArn"] ||
			aws.ToString(got.QueueConfigurations[0].Id) != "ct" || len(got.QueueConfigurations[0].Events) != 1 {
			t.Fatalf("GetBucketNotificationConfiguration: %+v %v", got, err)
		}
		lb, err := e.c.ListBuckets(e.ctx, &awss3.ListBucketsInput{})
		if err != nil || len(lb.Buckets) != 1 || aws.ToString(lb.Buckets[0].Name) != "trail" {
			t.Fatalf("ListBuckets: %+v %v", lb, err)
		}
		var test s3Event
		if err := json.Unmarshal([]byte(receiveAll(t, e, url, 1)[0]), &test); err != nil || test.Event != "s3:TestEvent" || test.Bucket != "trail" || test.Service != "Amazon S3" {
			t.Fatalf("test event %+v %v", test, err)
		}
		key := "AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/01/x y.json.gz"
		etag := e.put(t, "trail", key, []byte("gz"))
		e.put(t, "trail", "elsewhere/z", []byte("not notified"))
		var ev s3Event
		if err := json.Unmarshal([]byte(receiveAll(t, e, url, 1)[0]), &ev); err != nil || len(ev.Records) != 1 {
			t.Fatalf("event %+v %v", ev, err)
		}
		r := ev.Records[0]
		if r.EventSource != "aws:s3" || r.EventName != "ObjectCreated:Put" || r.AwsRegion != region || !strings.HasPrefix(r.EventVersion, "2.") ||
			r.S3.Bucket.Name != "trail" || r.S3.Bucket.Arn != "arn:aws:s3:::trail" || r.S3.ConfigurationID != "ct" || r.S3.Object.Size != 2 ||
			r.S3.Object.ETag != strings.Trim(etag, `"`) {
			t.Fatalf("record %+v", r)
		}
		// The key is form-encoded: a space is '+'.
		if !strings.HasSuffix(r.S3.Object.Key, "x+y.json.gz") {
			t.Fatalf("key %q", r.S3.Object.Key)
		}
		// moto_server writes eventTime without its zone.
		if _, err := time.Parse(time.RFC3339, r.EventTime); err != nil && !e.b.IsMoto() {
			t.Fatalf("eventTime %q: %v", r.EventTime, err)
		}
	})
}

func TestS3WithAWSCLI(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		if _, err := e.b.CLI(e.ctx, t, region, "s3api", "create-bucket", "--bucket", "cli-bucket"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.b.CLI(e.ctx, t, region, "s3api", "put-object", "--bucket", "cli-bucket", "--key", "a/b.txt", "--body", "/etc/hostname"); err != nil {
			t.Fatal(err)
		}
		out, err := e.b.CLI(e.ctx, t, region, "s3api", "list-objects-v2", "--bucket", "cli-bucket", "--prefix", "a/")
		if err != nil || !strings.Contains(out, `"Key": "a/b.txt"`) {
			t.Fatalf("list-objects-v2: %q %v", out, err)
		}
		_, err = e.b.CLI(e.ctx, t, region, "s3api", "head-object", "--bucket", "cli-bucket", "--key", "missing")
		if err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("head-object of a missing key: %v", err)
		}
	})
}
