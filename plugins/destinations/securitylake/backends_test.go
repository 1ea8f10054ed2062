package securitylake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/sim/awstest"
)

// backend is an S3 for one test, cloudsim's or moto_server's, with an S3 client of its own (the
// test's view of the bucket, apart from the destination's).
type backend struct {
	awstest.Backend
	client  *s3.Client
	buckets atomic.Int32
}

func newBackend(b awstest.Backend) *backend {
	return &backend{Backend: b, client: b.S3Client("us-east-1")}
}

// startMoto starts moto_server (S3) for the test (awstest.Moto). The test fails when
// moto_server is missing: scripts/setup.sh installs it.
func startMoto(t *testing.T) *backend {
	t.Helper()
	return newBackend(awstest.Moto(t))
}

// startSim serves cloudsim's S3 (awstest.Sim) for the test, with S3's 5 MiB minimum part size.
func startSim(t *testing.T, opts ...func(*awstest.SimOptions)) *backend {
	t.Helper()
	return newBackend(awstest.Sim(t, opts...))
}

// eachBackend runs test as a subtest on cloudsim's S3 and on moto_server's.
func eachBackend(t *testing.T, test func(t *testing.T, m *backend)) {
	t.Helper()
	for _, start := range []func(*testing.T) *backend{func(t *testing.T) *backend { return startSim(t) }, startMoto} {
		m := start(t)
		t.Run(m.Name, func(t *testing.T) { test(t, m) })
	}
}

// bucket creates a fresh bucket and returns its name.
func (b *backend) bucket(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("aws-security-data-lake-us-east-1-test%d", b.buckets.Add(1))
	if _, err := b.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("%s: CreateBucket %s: %v", b.Name, name, err)
	}
	return name
}

// testConfig is a destination configuration writing to bucket with b's credentials, closing
// objects 100 ms after their last record.
func (b *backend) testConfig(bucket string) *Config {
	c := NewConfig().(*Config)
	c.AWS = awsauth.Config{AccessKeyID: config.NewSecret(b.AccessKey), SecretAccessKey: config.NewSecret(b.Secret),
		Region: "us-east-1", Endpoint: b.Endpoint, Proxy: netconf.Proxy{URL: netconf.ProxyNone}}
	c.Bucket, c.SourceName, c.SourceVersion, c.AccountID, c.PathStyle = bucket, "logshipper-test", "1.0", "123456789012", true
	c.MaxFileIdle = 100 * time.Millisecond
	return c
}

// object is one stored object and its rows, as parquet-go reads them.
type object struct {
	key  string
	body []byte
	rows []testEvent
}

// objects returns every object of the bucket, by key.
func (m *backend) objects(t *testing.T, bucket string) []object {
	t.Helper()
	ctx := context.Background()
	var out []object
	p := s3.NewListObjectsV2Paginator(m.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListObjectsV2 %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			g, err := m.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
			if err != nil {
				t.Fatalf("GetObject %s: %v", aws.ToString(o.Key), err)
			}
			b, err := io.ReadAll(g.Body)
			g.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			rows, err := parquet.Read[testEvent](bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatalf("reading %s as Parquet: %v", aws.ToString(o.Key), err)
			}
			out = append(out, object{key: aws.ToString(o.Key), body: b, rows: rows})
		}
	}
	return out
}

// uploads returns the keys of the multipart uploads in progress in the bucket.
func (m *backend) uploads(t *testing.T, bucket string) []string {
	t.Helper()
	out, err := m.client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("ListMultipartUploads %s: %v", bucket, err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

// faultProxy stands between the destination and moto; while failComplete is set it answers
// every CompleteMultipartUpload with 200 and an <Error> body after whitespace, as S3 does when
// the completion fails after the answer started.
type faultProxy struct {
	target       string
	failComplete atomic.Bool
	completes    atomic.Int32
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Query().Has("uploadId") {
		p.completes.Add(1)
		if p.failComplete.Load() {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "  \n  <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>r</RequestId></Error>")
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.ContentLength = r.ContentLength
	req.Host = r.Host
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// keyParts splits an object key into its partition values and name.
func keyParts(t *testing.T, key string) (source, region, account, day, name string) {
	t.Helper()
	parts := strings.Split(key, "/")
	if len(parts) != 7 || parts[0] != "ext" || parts[2] != "1.0" {
		t.Fatalf("key %q is not ext/<source>/<version>/region=/accountId=/eventDay=/<name>", key)
	}
	cut := func(s, p string) string {
		v, ok := strings.CutPrefix(s, p)
		if !ok {
			t.Fatalf("key %q: %q does not start with %q", key, s, p)
		}
		return v
	}
	return parts[1], cut(parts[3], "region="), cut(parts[4], "accountId="), cut(parts[5], "eventDay="), parts[6]
}
