package securitylake

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

// bigRecords are n records of about size bytes of random (incompressible) text each.
func bigRecords(t *testing.T, prefix string, n, size int) []*event.Record {
	t.Helper()
	recs := make([]*event.Record, n)
	b := make([]byte, size*3/4)
	for i := range recs {
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		recs[i] = rec(fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf(`"msg":%q`, base64.StdEncoding.EncodeToString(b)))
	}
	return recs
}

// An object larger than a part goes up in parts of part_size as it is written, and is stored
// by CompleteMultipartUpload; it closes once it reaches max_file_size, and the batch goes on
// in the next object.
func TestMultipartObject(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		cfg := m.testConfig(bucket)
		cfg.PartSize, cfg.MaxFileSize, cfg.RowGroupSize = 5<<20, 24<<20, 1<<20
		cfg.MaxFileIdle, cfg.MaxFileAge = 200*time.Millisecond, time.Hour
		d := newTestDest(t, cfg)
		parts := &partsAPI{s3API: d.api}
		d.api = parts
		recs := bigRecords(t, "big", 3000, 8<<10) // 24 MiB of random text, three times in each row
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := d.Write(ctx, recs); err != nil {
			t.Fatalf("Write: %v", err)
		}
		objs := m.objects(t, bucket)
		if len(objs) < 2 {
			t.Fatalf("%d objects, want 2 or more (max_file_size is 24 MiB): %v", len(objs), keysOf(objs))
		}
		i := 0
		for _, o := range objs {
			// At most a row and the footer past max_file_size.
			if len(o.body) > int(cfg.MaxFileSize)+2<<20 {
				t.Errorf("object %s holds %d bytes, more than max_file_size", o.key, len(o.body))
			}
			for _, r := range o.rows {
				if r.Metadata.UID != recs[i].ID || r.RawData != string(recs[i].Raw) {
					t.Fatalf("row %d is %s, want %s with its bytes", i, r.Metadata.UID, recs[i].ID)
				}
				i++
			}
		}
		if i != len(recs) {
			t.Fatalf("%d rows, want %d", i, len(recs))
		}
		// Parts are sent as the objects are written: several an object.
		if parts := testutil.ToFloat64(d.set.Metrics.ObjectParts); parts < float64(2*len(objs)) {
			t.Errorf("%v parts for %d objects of up to 24 MiB in parts of 5 MiB", parts, len(objs))
		}
		if up := m.uploads(t, bucket); len(up) != 0 {
			t.Errorf("multipart uploads left: %v", up)
		}
		// What an object holds in memory: a part is sent once it reaches part_size, so none is
		// larger than part_size and a row group (1 MiB here, uncompressed; 2 MiB of slack).
		parts.mu.Lock()
		defer parts.mu.Unlock()
		for id, sizes := range parts.sizes {
			for i, n := range sizes {
				if n < 5<<20 && i < len(sizes)-1 || n > int64(cfg.PartSize)+2<<20 {
					t.Errorf("upload %s: part %d of %d bytes: want 5 MiB (but the last) to part_size and a row group", id, i+1, n)
				}
			}
		}
	})
}

// partsAPI records the size of every part uploaded, by upload id.
type partsAPI struct {
	s3API
	mu    sync.Mutex
	sizes map[string][]int64
}

func (p *partsAPI) UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	p.mu.Lock()
	if p.sizes == nil {
		p.sizes = map[string][]int64{}
	}
	id := aws.ToString(in.UploadId)
	p.sizes[id] = append(p.sizes[id], aws.ToInt64(in.ContentLength))
	p.mu.Unlock()
	return p.s3API.UploadPart(ctx, in, opts...)
}

// When every CompleteMultipartUpload attempt answers 200 with an <Error> body (moto_server
// behind a proxy that answers so), the records are not acknowledged, the upload is aborted and
// no object appears; the records written again are stored. TestCompleteErrorIn200Retried has
// cloudsim's fault, which a later attempt gets past.
func TestCompleteErrorIn200(t *testing.T) {
	m := startMoto(t)
	bucket := m.bucket(t)
	proxy := &faultProxy{target: m.Endpoint}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	proxy.failComplete.Store(true)
	cfg := m.testConfig(bucket)
	cfg.AWS.Endpoint = srv.URL
	cfg.PartSize, cfg.RowGroupSize = 5<<20, 1<<20
	d := newTestDest(t, cfg)
	recs := bigRecords(t, "c", 1000, 8<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := d.Write(ctx, recs)
	be, ok := errors.AsType[*plugin.BatchError](err)
	if !ok || len(be.Failed) != len(recs) {
		t.Fatalf("Write: %v, want every record failed", err)
	}
	for i, e := range be.Failed {
		if plugin.IsFatal(e) || !strings.Contains(e.Error(), "CompleteMultipartUpload") || !strings.Contains(e.Error(), "InternalError") {
			t.Fatalf("record %d: %v, want a retryable CompleteMultipartUpload InternalError", i, e)
		}
		var re *plugin.RefusedError
		if errors.As(e, &re) {
			t.Fatalf("record %d refused: %v", i, e)
		}
	}
	if proxy.completes.Load() == 0 {
		t.Fatal("CompleteMultipartUpload was never called")
	}
	if objs := m.objects(t, bucket); len(objs) != 0 {
		t.Fatalf("objects stored although the completion failed: %v", keysOf(objs))
	}
	if up := m.uploads(t, bucket); len(up) != 0 {
		t.Fatalf("the failed upload was not aborted: %v", up)
	}
	proxy.failComplete.Store(false)
	if err := d.Write(ctx, recs); err != nil {
		t.Fatalf("Write again: %v", err)
	}
	if objs := m.objects(t, bucket); len(objs) != 1 || len(objs[0].rows) != len(recs) {
		t.Fatalf("stored %v, want one object of %d rows", keysOf(objs), len(recs))
	}
}

// crashAPI is S3 as a process sees it that died: once dead is set, no call reaches S3.
type crashAPI struct {
	s3API
	dead atomic.Bool
}

var errDead = errors.New("the process died")

func (c *crashAPI) UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	if c.dead.Load() {
		return nil, errDead
	}
	return c.s3API.UploadPart(ctx, in, opts...)
}

func (c *crashAPI) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	if c.dead.Load() {
		return nil, errDead
	}
	return c.s3API.CompleteMultipartUpload(ctx, in, opts...)
}

func (c *crashAPI) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, opts ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	if c.dead.Load() {
		return nil, errDead
	}
	return c.s3API.AbortMultipartUpload(ctx, in, opts...)
}

// A run that stops before CompleteMultipartUpload (a crash) leaves no object, only an
// incomplete upload, which the next run of the same instance aborts before it writes.
func TestCrashLeavesNoObject(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		cfg := m.testConfig(bucket)
		cfg.PartSize, cfg.RowGroupSize = 5<<20, 1<<20
		cfg.MaxFileIdle, cfg.MaxFileAge = time.Hour, time.Hour
		first, err := New(context.Background(), cfg, plugintest.Settings(t, "lake", nil), testMapper())
		if err != nil {
			t.Fatal(err)
		}
		api := &crashAPI{s3API: first.api}
		first.api = api
		wrote := make(chan error, 1)
		go func() { wrote <- first.Write(context.Background(), bigRecords(t, "lost", 1000, 8<<10)) }()
		plugintest.Eventually(t, time.Minute, "a part to be uploaded", func() bool { return len(m.uploads(t, bucket)) == 1 })
		// The crash: from here on the first run reaches S3 no more (its records are not
		// acknowledged; their source sends them again).
		api.dead.Store(true)
		if err := <-wrote; err == nil {
			t.Fatal("the Write of the run that died succeeded")
		}
		if objs := m.objects(t, bucket); len(objs) != 0 {
			t.Fatalf("objects visible after the crash: %v", keysOf(objs))
		}
		if up := m.uploads(t, bucket); len(up) != 1 {
			t.Fatalf("uploads after the crash: %v, want the one the crash left", up)
		}
		// An upload of another instance (another marker) is left alone.
		other := &objectUpload{api: m.client, bucket: bucket, key: "ext/logshipper-test/1.0/region=us-east-1/accountId=1/eventDay=20261201/otherhost-lake_6003_1_1.zstd.parquet", partSize: 5 << 20}
		other.buf.WriteString(strings.Repeat("x", 5<<20))
		if err := other.uploadParts(context.Background()); err != nil {
			t.Fatal(err)
		}
		second := newTestDest(t, m.testConfig(bucket))
		if err := second.Write(context.Background(), []*event.Record{rec("after", "")}); err != nil {
			t.Fatalf("Write after the restart: %v", err)
		}
		if up := m.uploads(t, bucket); len(up) != 1 || up[0] != other.key {
			t.Errorf("uploads after the restart: %v, want only the other instance's %s", up, other.key)
		}
		if objs := m.objects(t, bucket); len(objs) != 1 || len(objs[0].rows) != 1 || objs[0].rows[0].Metadata.UID != "after" {
			t.Errorf("objects after the restart: %v, want the one record written after it", keysOf(objs))
		}
	})
}
