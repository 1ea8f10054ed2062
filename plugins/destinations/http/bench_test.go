package httpdest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
)

const benchFile = "../../../internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson"

// benchRecords returns 500 CloudTrail records (the file's lines, over again) and their size.
func benchRecords(b *testing.B) ([]*event.Record, int) {
	f, err := os.Open(benchFile)
	if err != nil {
		b.Fatalf("benchmark data: %v", err)
	}
	defer func() { _ = f.Close() }()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	recs := make([]*event.Record, 500)
	size := 0
	for i := range recs {
		recs[i] = &event.Record{Raw: lines[i%len(lines)]}
		size += len(recs[i].Raw)
	}
	return recs, size
}

// discard answers every request 200 without a network, so the benchmark measures encoding,
// compression and the client's own work.
type discard struct{ body string }

func (d discard) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader([]byte(d.body))), Header: http.Header{}, Request: r}, nil
}

// BenchmarkWrite is one Write of 500 CloudTrail records (about 1 kB each): encoding, gzip and
// a request to a transport that discards it. It reports MB/s of records and ns per record.
func BenchmarkWrite(b *testing.B) {
	recs, size := benchRecords(b)
	for _, bc := range []struct {
		name   string
		change func(*Config)
	}{
		{"ndjson-gzip", nil},
		{"ndjson-none", func(c *Config) { c.Compression = CompressionNone }},
		{"array-gzip", func(c *Config) { c.Format = FormatJSONArray }},
		{"hec-gzip", func(c *Config) {
			c.Mode, c.Token, c.Sourcetype, c.Index, c.Host = ModeSplunkHEC, config.NewSecret("t"), "aws:cloudtrail", "security", "h"
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := cfgFor(b, "http://bench.invalid/in", func(c *Config) {
				c.MaxBodyBytes = 4 << 20
				if bc.change != nil {
					bc.change(c)
				}
			})
			d := newDest(b, c)
			d.client.Transport = discard{body: `{"text":"Success","code":0}`}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Write(b.Context(), recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
			b.ReportMetric(float64(size)/float64(len(recs)), "B/record")
		})
	}
}

// BenchmarkEncode is the encoding and compression alone (no request), at gzip's fastest and
// default levels, with the compressed size: the basis of gzipLevel.
func BenchmarkEncode(b *testing.B) {
	recs, size := benchRecords(b)
	enc := newEncoder(&Config{Mode: ModeHTTP, Format: FormatNDJSON})
	for _, level := range []int{1, 6} {
		b.Run(map[int]string{1: "gzip-best-speed", 6: "gzip-default"}[level], func(b *testing.B) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, level)
			var scratch []byte
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				zw.Reset(&buf)
				for _, r := range recs {
					scratch, _ = enc.appendRecord(scratch[:0], r)
					_, _ = zw.Write(scratch)
				}
				_ = zw.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
			b.ReportMetric(float64(size)/float64(buf.Len()), "ratio")
		})
	}
}
