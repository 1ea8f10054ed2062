package securitylake

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/netskope"
)

// benchNetskopeAlerts are n distinct Netskope alerts of cloudsim's generator, of every alert
// type, as the netskope source publishes them.
func benchNetskopeAlerts(b *testing.B, n int) []*event.Record {
	b.Helper()
	per := n/len(netskope.AlertTypes) + 1
	tn := netskope.New(netskope.Options{Seed: 18, Generators: map[string]netskope.Generator{"*": {Backlog: per}}})
	var out []*event.Record
	for _, typ := range netskope.AlertTypes {
		for _, r := range tn.Records(netskope.Alerts, typ) {
			out = append(out, &event.Record{Raw: r.Raw, ID: r.ID, Kind: event.KindNetskopeAlert, Subtype: typ})
		}
	}
	return out[:min(n, len(out))]
}

// eventIDRe is a CloudTrail record's eventID member.
var eventIDRe = regexp.MustCompile(`"eventID"\s*:\s*"[^"]*"`)

// benchCloudTrail are n distinct CloudTrail records: the project's CloudTrail samples
// (Panther's rule tests) in turn, each with a fresh eventID, so that Parquet does not compress
// repeated rows away.
func benchCloudTrail(b *testing.B, n int) []*event.Record {
	b.Helper()
	samples := benchCloudTrailSamples(b)
	out := make([]*event.Record, n)
	for i := range out {
		s := samples[i%len(samples)]
		raw := eventIDRe.ReplaceAll(s.Raw, fmt.Appendf(nil, `"eventID":"%08x-5e1f-4c2a-9d3b-%012x"`, i, i*7919))
		out[i] = &event.Record{Raw: raw, Kind: event.KindCloudTrail}
	}
	return out
}

// benchCloudTrailSamples are the project's 395 CloudTrail sample records.
func benchCloudTrailSamples(b *testing.B) []*event.Record {
	b.Helper()
	f, err := os.Open("../../../internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out []*event.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, &event.Record{Raw: bytes.Clone(line), Kind: event.KindCloudTrail})
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

// countingWriter counts the bytes of Parquet written.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkMapValidateWrite is the destination's work per record without S3: the mapping to
// OCSF (internal/ocsf), the validate: sample check (the first 1,000 of a class, then one in
// 1,000) and the zstd Parquet write with the default row group size, records of one class
// into one object. It reports ns and allocations per record and the Parquet bytes per record.
// Run it with -benchtime 5000x: 5,000 distinct records of each kind.
func BenchmarkMapValidateWrite(b *testing.B) {
	for _, tc := range []struct {
		name string
		recs func(b *testing.B) []*event.Record
	}{
		{"netskope-alerts", func(b *testing.B) []*event.Record { return benchNetskopeAlerts(b, 5000) }},
		{"cloudtrail", func(b *testing.B) []*event.Record { return benchCloudTrail(b, 5000) }},
	} {
		for _, validate := range []string{"sample-first1000", "sample-steady", ValidateAll, ValidateOff} {
			b.Run(tc.name+"/validate="+validate, func(b *testing.B) { benchMapValidateWrite(b, tc.recs, validate) })
		}
	}
}

// benchMapValidateWrite runs BenchmarkMapValidateWrite on recs with the validate mode:
// sample-first1000 is the sample mode from the start of a run (the first 1,000 records of each
// class are checked), sample-steady the same once those are behind (one in 1,000).
func benchMapValidateWrite(b *testing.B, records func(b *testing.B) []*event.Record, validate string) {
	cfg := NewConfig().(*Config)
	cfg.Bucket, cfg.SourceName, cfg.AccountID = "aws-security-data-lake-us-east-1-bench", "bench", "123456789012"
	cfg.AWS.Region = "us-east-1"
	// The samples the mapping refuses (Panther's tests include records that are not
	// CloudTrail's) are left out.
	var recs []*event.Record
	for _, r := range records(b) {
		if _, err := defaultMapper().Map(r); err == nil {
			recs = append(recs, r)
		}
	}
	if len(recs) < 100 {
		b.Fatalf("%d records map", len(recs))
	}
	cfg.ValidateMode = validate
	if validate != ValidateAll && validate != ValidateOff {
		cfg.ValidateMode = ValidateSample
	}
	d := newDestination(cfg, plugintest.Settings(b, "lake", nil), nil, defaultMapper())
	if validate == "sample-steady" {
		for _, r := range recs {
			ev, _ := d.mapper.Map(r)
			d.check.seen[ev.ClassUID()] = validateSample
		}
	}
	type object struct {
		w   *parquet.Writer
		out *countingWriter
	}
	objects := map[int]object{}
	rows := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src := recs[i%len(recs)]
		r := &event.Record{Raw: src.Raw, ID: src.ID, Kind: src.Kind, Subtype: src.Subtype}
		ev, _, err := d.prepare(r)
		if err != nil {
			b.Fatalf("record %d: %v", i%len(recs), err)
		}
		o, ok := objects[ev.ClassUID()]
		if !ok {
			o.out = &countingWriter{}
			o.w = parquet.NewWriter(o.out, d.schemaOf(ev), parquet.Compression(&zstd.Codec{}))
			objects[ev.ClassUID()] = o
		}
		if err := o.w.Write(ev); err != nil {
			b.Fatal(err)
		}
		rows++
		// As the destination does (file.add): the row group is written out once it
		// holds row_group_size.
		if o.w.Size()-o.out.n >= int64(cfg.RowGroupSize) {
			if err := o.w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	var bytes int64
	for _, o := range objects {
		if err := o.w.Close(); err != nil {
			b.Fatal(err)
		}
		bytes += o.out.n
	}
	b.StopTimer()
	b.ReportMetric(float64(bytes)/float64(rows), "parquet_bytes/record")
}
