package awss3sqs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/s3"
)

// ackPublisher acknowledges every batch at once and counts the records.
type ackPublisher struct{ n int }

func (p *ackPublisher) Publish(_ context.Context, recs []*event.Record, ack event.AckFunc) error {
	p.n += len(recs)
	ack(event.Acked)
	return nil
}

// benchFile is a CloudTrail log file of n records as CloudTrail writes it (gzip
// {"Records":[...]}), made of the project's sample records (various services and shapes), each
// with an eventID of its own.
func benchFile(b *testing.B, n int) []byte {
	b.Helper()
	f, err := os.Open("../../../internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	samples, err := s3.ReadCloudTrailRecords(f)
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]json.RawMessage, n)
	for i := range recs {
		var m map[string]any
		if err := json.Unmarshal(samples[i%len(samples)], &m); err != nil {
			b.Fatal(err)
		}
		m["eventID"] = fmt.Sprintf("bench-%06d", i)
		recs[i], _ = json.Marshal(m)
	}
	data, err := s3.EncodeCloudTrailFile(recs)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkObject is an object's path once it is announced: GetObject's body read, gunzip,
// the Records array split, each record parsed, and published in batches of batch_size (500).
// It reports records/s and allocations per record for a file of 1,000 records.
func BenchmarkObject(b *testing.B) {
	const n = 1000
	data := benchFile(b, n)
	cfg := NewConfig().(*Config)
	cfg.QueueURL = "https://sqs.us-east-1.amazonaws.com/111122223333/trail"
	cfg.EPSThrottle = nil // the path's own speed, not eps_throttle's (5000/s by default)
	s, err := New(cfg, plugintest.Settings(b, "bench", nil))
	if err != nil {
		b.Fatal(err)
	}
	s.s3s["us-east-1"] = bodyS3{body: data, length: int64(len(data))}
	ref := objectRef{Bucket: "org-trail", Key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/06/111122223333_CloudTrail_us-east-1_20261206T1200Z_bench.json.gz", Region: "us-east-1"}
	pub := &ackPublisher{}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		bt := &batcher{s: s, pub: pub, t: newTracker(func(bool, bool) {})}
		if err := s.readObject(ctx, ref, bt, nil); err != nil {
			b.Fatal(err)
		}
		bt.t.seal(false, false)
	}
	b.StopTimer()
	if pub.n != b.N*n {
		b.Fatalf("%d records published, want %d", pub.n, b.N*n)
	}
	b.ReportMetric(float64(pub.n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(testing.AllocsPerRun(3, func() {
		bt := &batcher{s: s, pub: pub, t: newTracker(func(bool, bool) {})}
		_ = s.readObject(ctx, ref, bt, nil)
	}))/n, "allocs/record")
}
