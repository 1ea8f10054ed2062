package securitylake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	sims3 "github.com/logshipper/logshipper/internal/sim/s3"
)

// These tests inject S3's failures with cloudsim's S3 faults, on the wire the SDK reads.

// completeFaults answers the first failures CompleteMultipartUpload calls with cloudsim's 200
// and an <Error> body (the upload stays open), the later ones normally.
type completeFaults struct {
	s3API
	sim      *sims3.Service
	failures int32
	calls    atomic.Int32
}

func (c *completeFaults) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	rate := 0.0
	if c.calls.Add(1) <= c.failures {
		rate = 1
	}
	c.sim.SetFaults(sims3.Faults{CompleteErrorRate: rate, Ops: []string{"CompleteMultipartUpload"}})
	return c.s3API.CompleteMultipartUpload(ctx, in, opts...)
}

// A CompleteMultipartUpload answered 200 with an <Error> leaves the upload open: it is
// completed by the next attempt, and the records are stored once, in one object. When every
// attempt fails, the records fail (retryable), the upload is aborted and no object appears.
func TestCompleteErrorIn200Retried(t *testing.T) {
	m := startSim(t)
	for _, tc := range []struct {
		failures int32
		stored   bool
	}{{1, true}, {completeAttempts - 1, true}, {completeAttempts, false}} {
		t.Run(fmt.Sprint(tc.failures, " failures"), func(t *testing.T) {
			bucket := m.bucket(t)
			cfg := m.testConfig(bucket)
			cfg.PartSize, cfg.RowGroupSize = 5<<20, 1<<20
			d := newTestDest(t, cfg)
			api := &completeFaults{s3API: d.api, sim: m.S3, failures: tc.failures}
			d.api = api
			recs := bigRecords(t, "c", 1000, 8<<10) // about 8 MiB: two parts
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			err := d.Write(ctx, recs)
			if up := m.S3.Uploads(bucket); up != 0 {
				t.Errorf("%d multipart uploads left open", up)
			}
			objs := m.objects(t, bucket)
			if tc.stored {
				if err != nil {
					t.Fatalf("Write: %v", err)
				}
				if len(objs) != 1 || len(objs[0].rows) != len(recs) {
					t.Fatalf("stored %v, want one object of %d rows", keysOf(objs), len(recs))
				}
				if got := api.calls.Load(); got != tc.failures+1 {
					t.Errorf("%d CompleteMultipartUpload calls, want %d", got, tc.failures+1)
				}
				return
			}
			be, ok := errors.AsType[*plugin.BatchError](err)
			if !ok || len(be.Failed) != len(recs) {
				t.Fatalf("Write: %v, want every record failed", err)
			}
			if e := be.Failed[0]; plugin.IsFatal(e) || !strings.Contains(e.Error(), "InternalError") {
				t.Fatalf("record 0: %v, want a retryable CompleteMultipartUpload InternalError", e)
			}
			if len(objs) != 0 {
				t.Fatalf("objects stored although the completion failed: %v", keysOf(objs))
			}
		})
	}
}

// S3's 503 SlowDown and 500 InternalError on every operation: what the SDK's own retries do
// not absorb fails the records (throttled for SlowDown, retryable for 500, never fatal); the
// records written again until they go are each stored, and no upload is left open.
func TestSlowDownAndInternalErrors(t *testing.T) {
	m := startSim(t)
	for _, tc := range []struct {
		name   string
		faults sims3.Faults
	}{
		{"SlowDown", sims3.Faults{SlowDownRate: 0.5}},
		{"InternalError", sims3.Faults{InternalErrorRate: 0.5}},
		{"mixed", sims3.Faults{SlowDownRate: 0.2, InternalErrorRate: 0.15, UnavailableRate: 0.1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bucket := m.bucket(t)
			cfg := m.testConfig(bucket)
			cfg.PartSize, cfg.RowGroupSize = 5<<20, 1<<20
			d := newTestDest(t, cfg)
			m.S3.SetFaults(tc.faults)
			defer m.S3.SetFaults(sims3.Faults{})
			// Small records (PutObject) and large ones (multipart), as the engine would retry
			// them: the failed ones again, until none fail.
			var recs []*event.Record
			for i := range 300 {
				recs = append(recs, rec(fmt.Sprintf("%s-small-%d", tc.name, i), ""))
			}
			recs = append(recs, bigRecords(t, tc.name+"-big", 800, 8<<10)...)
			pending := recs
			var failures []error
			for attempt := 0; len(pending) > 0; attempt++ {
				if attempt == 30 {
					t.Fatalf("%d records still failing after 30 attempts; last errors %v", len(pending), failures[len(failures)-1])
				}
				err := d.Write(context.Background(), pending)
				if err == nil {
					break
				}
				be, ok := errors.AsType[*plugin.BatchError](err)
				if !ok {
					t.Fatalf("Write: %v, want a BatchError", err)
				}
				var next []*event.Record
				for i, e := range be.Failed {
					if plugin.IsFatal(e) {
						t.Fatalf("record %s: fatal %v", pending[i].ID, e)
					}
					var te *plugin.ThrottledError
					if strings.Contains(e.Error(), "SlowDown") && !errors.As(e, &te) {
						t.Errorf("record %s: a SlowDown not throttled: %v", pending[i].ID, e)
					}
					next = append(next, pending[i])
					failures = append(failures, e)
				}
				pending = next
			}
			m.S3.SetFaults(sims3.Faults{})
			seen := map[string]int{}
			for _, o := range m.objects(t, bucket) {
				for _, r := range o.rows {
					seen[r.Metadata.UID]++
				}
			}
			for _, r := range recs {
				if seen[r.ID] != 1 {
					t.Fatalf("record %s stored %d times", r.ID, seen[r.ID])
				}
			}
			if up := m.S3.Uploads(bucket); up != 0 {
				t.Errorf("%d multipart uploads left open", up)
			}
			t.Logf("%d records stored once each; %d record failures retried", len(recs), len(failures))
		})
	}
}

// A bucket the credentials may not write (another account's: AccessDenied) and a missing
// bucket (NoSuchBucket) stop the destination: a fatal error naming the options to check.
func TestFatalBucketErrors(t *testing.T) {
	m := startSim(t)
	if err := m.S3.CreateBucket("999988887777", "us-east-1", "aws-security-data-lake-us-east-1-other"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bucket string
		recs   []*event.Record
		want   []string
	}{
		{"aws-security-data-lake-us-east-1-other", []*event.Record{rec("small", "")}, []string{"AccessDenied", "assume_role_arn", "access_key_id"}},
		{"aws-security-data-lake-us-east-1-other", bigRecords(t, "big", 800, 8<<10), []string{"AccessDenied", "assume_role_arn"}},
		{"aws-security-data-lake-us-east-1-missing", []*event.Record{rec("small", "")}, []string{"NoSuchBucket", "bucket option"}},
		{"aws-security-data-lake-us-east-1-missing", bigRecords(t, "big", 800, 8<<10), []string{"NoSuchBucket", "bucket option"}},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.bucket, len(tc.recs)), func(t *testing.T) {
			cfg := m.testConfig(tc.bucket)
			cfg.PartSize, cfg.RowGroupSize = 5<<20, 1<<20
			d := newTestDest(t, cfg)
			err := d.Write(context.Background(), tc.recs)
			if !plugin.IsFatal(err) {
				t.Fatalf("Write: %v, want a fatal error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Write: %v, want it to say %q", err, w)
				}
			}
		})
	}
}

// abortingAPI aborts each multipart upload just before its completion, as another run of the
// same instance does when it takes the upload for one a crash left (abort_stale_uploads).
type abortingAPI struct {
	s3API
	other *s3.Client
}

func (a *abortingAPI) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	if _, err := a.other.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: in.Bucket, Key: in.Key, UploadId: in.UploadId}); err != nil {
		return nil, err
	}
	return a.s3API.CompleteMultipartUpload(ctx, in, opts...)
}

// An upload aborted under the destination (NoSuchUpload at its completion) fails its records,
// retryable and not fatal; written again, they are stored.
func TestUploadAbortedUnderneath(t *testing.T) {
	m := startSim(t)
	bucket := m.bucket(t)
	cfg := m.testConfig(bucket)
	cfg.PartSize, cfg.RowGroupSize = 5<<20, 1<<20
	d := newTestDest(t, cfg)
	direct := d.api
	d.api = &abortingAPI{s3API: direct, other: m.client}
	recs := bigRecords(t, "gone", 800, 8<<10)
	err := d.Write(context.Background(), recs)
	be, ok := errors.AsType[*plugin.BatchError](err)
	if !ok || len(be.Failed) != len(recs) {
		t.Fatalf("Write: %v, want every record failed", err)
	}
	if e := be.Failed[0]; plugin.IsFatal(e) || !strings.Contains(e.Error(), "NoSuchUpload") {
		t.Fatalf("record 0: %v, want a retryable NoSuchUpload", e)
	}
	if objs := m.objects(t, bucket); len(objs) != 0 {
		t.Fatalf("objects stored: %v", keysOf(objs))
	}
	d.api = direct
	if err := d.Write(context.Background(), recs); err != nil {
		t.Fatalf("Write again: %v", err)
	}
	if objs := m.objects(t, bucket); len(objs) != 1 || len(objs[0].rows) != len(recs) {
		t.Fatalf("stored %v, want one object of %d rows", keysOf(objs), len(recs))
	}
	if up := m.S3.Uploads(bucket); up != 0 {
		t.Errorf("%d multipart uploads left open", up)
	}
}

// abortFails is an s3API whose AbortMultipartUpload fails with a 500 the first fails times.
type abortFails struct {
	s3API
	fails, calls int
}

func (a *abortFails) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, opts ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	a.calls++
	if a.calls <= a.fails {
		return nil, &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusInternalServerError}},
			Err:      errors.New("InternalError"),
		}}
	}
	return &s3.AbortMultipartUploadOutput{}, nil
}

// An abort that fails with a 5xx is tried again, as a completion is: an upload left open is
// billed until something removes it.
func TestAbortRetried(t *testing.T) {
	for _, tc := range []struct {
		fails, calls int
		ok           bool
	}{{0, 1, true}, {2, 3, true}, {completeAttempts, completeAttempts, false}} {
		api := &abortFails{fails: tc.fails}
		u := &objectUpload{api: api, bucket: "b", key: "k", uploadID: "u"}
		err := u.abort(context.Background())
		if (err == nil) != tc.ok || api.calls != tc.calls {
			t.Errorf("abort failing %d times: %v after %d calls; want ok %v after %d", tc.fails, err, api.calls, tc.ok, tc.calls)
		}
	}
}
