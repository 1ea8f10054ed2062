package securitylake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

// newTestDest builds a destination over cfg with the test mapper; the test closes it at its end.
func newTestDest(t *testing.T, cfg *Config) *Destination {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	d, err := New(context.Background(), cfg, plugintest.Settings(t, "lake", nil), testMapper())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

// rec is a CloudTrail-kind record of the given JSON fields (its id is the record's ID).
func rec(id string, fields string) *event.Record {
	raw := fmt.Sprintf(`{"id":%q`, id)
	if fields != "" {
		raw += "," + fields
	}
	return &event.Record{Raw: []byte(raw + "}"), ID: id, Source: "test", Kind: event.KindCloudTrail, Subtype: "AwsApiCall"}
}

// The destination passes the conformance suite against moto's S3; the suite's records are made
// CloudTrail records, and arrivals are the rows' metadata.uid, object after object.
func TestDestinationSuite(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		var bucket string
		plugintest.RunDestinationSuite(t, plugintest.DestinationHarness{
			Setup: func(t *testing.T) { bucket = m.bucket(t) },
			New: func(t *testing.T) plugin.Destination {
				return newTestDest(t, m.testConfig(bucket))
			},
			Delivered: func(t *testing.T) []string {
				var ids []string
				for _, o := range m.objects(t, bucket) {
					for _, r := range o.rows {
						ids = append(ids, r.Metadata.UID)
					}
				}
				return ids
			},
			Key: func(r *event.Record) string { return r.ID },
			Adapt: func(r *event.Record) *event.Record {
				r.Kind, r.Subtype = event.KindCloudTrail, "AwsApiCall"
				return r
			},
		})
	})
}

// Records go to objects by class, source, region, account and day, under the custom source's
// layout; each object holds one class; every row is the record's event.
func TestLayout(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		cfg := m.testConfig(bucket)
		cfg.ClassSources = map[int]string{3002: "logshipper-auth"}
		d := newTestDest(t, cfg)
		day2 := testDay.Add(24 * time.Hour).UnixMilli()
		recs := []*event.Record{
			rec("a1", `"msg":"api default account"`),
			rec("a2", `"account":"111122223333","region":"eu-west-1"`),
			rec("a3", fmt.Sprintf(`"time":%d`, day2)),
			rec("s1", `"class":3002,"account":"111122223333"`),
			rec("a4", `"account":"111122223333","region":"eu-west-1","msg":"second of its partition"`),
			rec("a0", fmt.Sprintf(`"time":%d`, testDay.Add(-time.Minute).UnixMilli())),
		}
		if err := d.Write(context.Background(), recs); err != nil {
			t.Fatalf("Write: %v", err)
		}
		type where struct{ source, region, account, day string }
		want := map[where][]string{
			{"logshipper-test", "us-east-1", "123456789012", "20261201"}: {"a0", "a1"}, // sorted by time
			{"logshipper-test", "eu-west-1", "111122223333", "20261201"}: {"a2", "a4"},
			{"logshipper-test", "us-east-1", "123456789012", "20261202"}: {"a3"},
			{"logshipper-auth", "us-east-1", "111122223333", "20261201"}: {"s1"},
		}
		byID := map[string]*event.Record{}
		for _, r := range recs {
			byID[r.ID] = r
		}
		objs := m.objects(t, bucket)
		if len(objs) != len(want) {
			t.Fatalf("%d objects, want %d: %v", len(objs), len(want), keysOf(objs))
		}
		for _, o := range objs {
			source, region, account, day, name := keyParts(t, o.key)
			w := where{source, region, account, day}
			ids, ok := want[w]
			if !ok {
				t.Errorf("object %s: unexpected partition %+v", o.key, w)
				continue
			}
			if !strings.HasPrefix(name, d.marker+"_") || !strings.HasSuffix(name, ".zstd.parquet") {
				t.Errorf("object %s: name is not <marker>_..._.zstd.parquet", o.key)
			}
			var got []string
			classes := map[int32]bool{}
			for _, r := range o.rows {
				got = append(got, r.Metadata.UID)
				classes[r.Class] = true
				ev, err := testMapper().Map(byID[r.Metadata.UID])
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(*ev.(*testEvent)) != fmt.Sprint(r) {
					t.Errorf("row %s read back as\n  %+v\nwritten as\n  %+v", r.Metadata.UID, r, *ev.(*testEvent))
				}
			}
			if !slices.Equal(got, ids) {
				t.Errorf("object %s holds %v, want %v", o.key, got, ids)
			}
			if len(classes) != 1 {
				t.Errorf("object %s holds classes %v: one class an object", o.key, classes)
			}
		}
		if n := testutil.ToFloat64(d.set.Metrics.ObjectsWritten); n != 4 {
			t.Errorf("logshipper_objects_written_total is %v, want 4", n)
		}
	})
}

// What cannot be mapped is refused record by record, with the reason; the rest is stored.
func TestRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		cfg := m.testConfig(bucket)
		cfg.AccountID = ""
		d := newTestDest(t, cfg)
		noKind := rec("k", `"account":"1"`)
		noKind.Kind = ""
		recs := []*event.Record{
			rec("ok", `"account":"111122223333"`),
			rec("f", `"account":"1","fail":"no class for this record"`),
			rec("v", `"account":"1","invalid":true`),
			rec("n", ``),
			noKind,
		}
		err := d.Write(context.Background(), recs)
		be, ok := errors.AsType[*plugin.BatchError](err)
		if !ok {
			t.Fatalf("Write: %v, want a *plugin.BatchError", err)
		}
		refused := func(i int, code, text string) {
			t.Helper()
			re, ok := errors.AsType[*plugin.RefusedError](be.Failed[i])
			if !ok || re.Code != code || !strings.Contains(re.Error(), text) {
				t.Errorf("record %d: %v, want refused %s with %q", i, be.Failed[i], code, text)
			}
		}
		if _, failed := be.Failed[0]; failed {
			t.Errorf("record 0 failed: %v", be.Failed[0])
		}
		refused(1, "OCSFMapping", "no class for this record")
		refused(2, "OCSFValidation", "metadata.version")
		refused(3, "NoAccount", "names no cloud account")
		if se, ok := errors.AsType[*plugin.SkippedError](be.Failed[4]); !ok || se.Reason != plugin.ReasonUnsupported {
			t.Errorf("record 4 (no kind): %v, want skipped as unsupported", be.Failed[4])
		}
		objs := m.objects(t, bucket)
		if len(objs) != 1 || len(objs[0].rows) != 1 || objs[0].rows[0].Metadata.UID != "ok" {
			t.Fatalf("stored %v, want the one record ok", keysOf(objs))
		}

	})
}

// RefuseKind takes the kinds OCSF mappings exist for, and only those.
func TestRefuseKind(t *testing.T) {
	c := NewConfig().(*Config)
	for _, tc := range []struct {
		kind    event.Kind
		refused bool
	}{
		{event.KindNetskopeEvent, false},
		{event.KindNetskopeAlert, false},
		{event.KindCloudTrail, false},
		{"", true},
		{"syslog", true},
	} {
		why, refused := c.RefuseKind(tc.kind, "x")
		if refused != tc.refused || refused && why == "" {
			t.Errorf("RefuseKind(%q) = %q, %v; want refused %v with a reason", tc.kind, why, refused, tc.refused)
		}
	}
}

// An object closes on its age even while records keep coming, and a Write waits for it.
func TestRollByAge(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		cfg := m.testConfig(bucket)
		cfg.MaxFileIdle, cfg.MaxFileAge = time.Second, time.Second
		d := newTestDest(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		stop := time.After(1500 * time.Millisecond)
		n := 0
		errs := make(chan error, 100)
		// Records every 100 ms, idle never reached: only the age closes objects.
		for done := false; !done; n++ {
			go func(i int) { errs <- d.Write(ctx, []*event.Record{rec(fmt.Sprint("r", i), "")}) }(n)
			select {
			case <-stop:
				done = true
			case <-time.After(100 * time.Millisecond):
			}
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("the writes took %s", took)
		}
		objs := m.objects(t, bucket)
		if len(objs) < 2 {
			t.Errorf("%d objects from 1.5 s of records with max_file_age 1s, want 2 or more", len(objs))
		}
		rows := 0
		for _, o := range objs {
			rows += len(o.rows)
		}
		if rows != n {
			t.Errorf("%d rows stored, want %d", rows, n)
		}
	})
}

// Opening one object past max_open_files closes the one idle longest.
func TestMaxOpenFiles(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		cfg := m.testConfig(bucket)
		cfg.MaxFileIdle, cfg.MaxFileAge, cfg.MaxOpenFiles = time.Hour, time.Hour, 1
		d := newTestDest(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		first := make(chan error, 1)
		go func() { first <- d.Write(ctx, []*event.Record{rec("a", `"account":"111111111111"`)}) }()
		plugintest.Eventually(t, 10*time.Second, "the first object to open", func() bool {
			d.mu.Lock()
			defer d.mu.Unlock()
			return len(d.open) == 1
		})
		go func() { _ = d.Write(ctx, []*event.Record{rec("b", `"account":"222222222222"`)}) }()
		if err := <-first; err != nil {
			t.Fatalf("the first Write: %v", err)
		}
		if objs := m.objects(t, bucket); len(objs) != 1 || objs[0].rows[0].Metadata.UID != "a" {
			t.Fatalf("stored %v, want the first object alone", keysOf(objs))
		}
	})
}

// keysOf lists the objects' keys and rows' ids, for messages.
func keysOf(objs []object) []string {
	var out []string
	for _, o := range objs {
		var ids []string
		for _, r := range o.rows {
			ids = append(ids, r.Metadata.UID)
		}
		out = append(out, fmt.Sprintf("%s%v", o.key, ids))
	}
	return out
}

// Check finds the bucket, and says so when it is missing.
func TestCheck(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		if err := newTestDest(t, m.testConfig(bucket)).Check(context.Background()); err != nil {
			t.Errorf("Check of an existing bucket: %v", err)
		}
		err := newTestDest(t, m.testConfig("no-such-lake-bucket")).Check(context.Background())
		if err == nil || !strings.Contains(err.Error(), "no bucket no-such-lake-bucket") {
			t.Errorf("Check of a missing bucket: %v, want it named missing", err)
		}
	})
}

// A Write whose context ends before its object is stored returns the records failed (to be
// sent again); the object is still stored at Close: delivery is at least once.
func TestWriteContextEnds(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		cfg := m.testConfig(bucket)
		cfg.MaxFileIdle, cfg.MaxFileAge = time.Hour, time.Hour
		d := newTestDest(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		err := d.Write(ctx, []*event.Record{rec("w1", ""), rec("w2", "")})
		be, ok := errors.AsType[*plugin.BatchError](err)
		if !ok || len(be.Failed) != 2 || !errors.Is(be.Failed[0], context.DeadlineExceeded) {
			t.Fatalf("Write: %v, want both records failed by the deadline", err)
		}
		if objs := m.objects(t, bucket); len(objs) != 0 {
			t.Fatalf("objects before Close: %v", keysOf(objs))
		}
		if err := d.Close(context.Background()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if objs := m.objects(t, bucket); len(objs) != 1 || len(objs[0].rows) != 2 {
			t.Fatalf("objects after Close: %v, want the two records", keysOf(objs))
		}
	})
}

// S3 errors are classified for the engine: a missing bucket stops the destination (fatal), a
// SlowDown is throttled, others are retried.
func TestErrorClasses(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		cfg := m.testConfig("no-such-lake-bucket")
		d := newTestDest(t, cfg)
		err := d.Write(context.Background(), []*event.Record{rec("x", "")})
		if !plugin.IsFatal(err) || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("Write to a missing bucket: %v, want a fatal error naming it", err)
		}
		for _, tc := range []struct {
			err       error
			fatal     bool
			throttled bool
		}{
			{&smithy.GenericAPIError{Code: "SlowDown"}, false, true},
			{&smithy.GenericAPIError{Code: "InternalError"}, false, false},
			{&smithy.GenericAPIError{Code: "NoSuchBucket"}, true, false},
			{errors.New("connection reset"), false, false},
		} {
			got := classify(tc.err, "b")
			var te *plugin.ThrottledError
			if plugin.IsFatal(got) != tc.fatal || errors.As(got, &te) != tc.throttled || !errors.Is(got, tc.err) {
				t.Errorf("classify(%v) = %v: want fatal %v, throttled %v, wrapping it", tc.err, got, tc.fatal, tc.throttled)
			}
		}
	})
}
