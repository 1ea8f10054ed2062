package cwlogs

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// benchService loads n CloudTrail records (the Panther samples, cycled, one per 10 ms) into
// four streams of group "ct".
func benchService(b *testing.B, n int) (*Service, int64) {
	b.Helper()
	f, err := os.Open("testdata/panther-rule-tests-head40.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var recs []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		recs = append(recs, sc.Text())
	}
	c := newClock()
	svc := New(Options{Now: c.Now, Rates: map[string]float64{}, Seed: 1})
	start := c.ms() - int64(n)*10
	const streams = 4
	per := make([][]InputEvent, streams)
	for i := range n {
		per[i%streams] = append(per[i%streams], InputEvent{Timestamp: start + int64(i)*10, Message: recs[i%len(recs)]})
	}
	for s, evs := range per {
		if err := svc.Put(testAccount, "us-east-1", "ct", fmt.Sprintf("%s_CloudTrail_us-east-1-%d", testAccount, s), evs); err != nil {
			b.Fatal(err)
		}
	}
	return svc, start
}

// countingWriter is a ResponseWriter that keeps only what the benchmark needs: the status,
// the size, and the nextToken of the page.
type countingWriter struct {
	h     http.Header
	code  int
	bytes int
	body  []byte
}

func (w *countingWriter) Header() http.Header { return w.h }
func (w *countingWriter) WriteHeader(c int)   { w.code = c }
func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes += len(p)
	w.body = p
	return len(p), nil
}

// BenchmarkFilterLogEvents pages FilterLogEvents over a whole group through ServeHTTP (request
// decoding, the scan, the filter, the JSON encoding) and reports events served per second.
func BenchmarkFilterLogEvents(b *testing.B) {
	const n = 100_000
	svc, _ := benchService(b, n)
	ctx := awssim.WithCaller(b.Context(), awssim.Caller{AccountID: testAccount, Region: "us-east-1"})
	cases := []struct {
		name    string
		pattern string
	}{
		{"all", ""},
		{"term", `"AssumedRole"`},
		{"json", `{ $.userIdentity.type = "AssumedRole" && $.eventSource = "*.amazonaws.com" }`},
		{"sparse-json", `{ $.eventName = "CreateTrail" }`},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			served0 := svc.Stats().EventsServed
			pages, size := 0, 0
			for b.Loop() {
				token := ""
				for {
					body := `{"logGroupName":"ct"`
					if tc.pattern != "" {
						body += `,"filterPattern":` + jsonString(tc.pattern)
					}
					if token != "" {
						body += `,"nextToken":"` + token + `"`
					}
					body += "}"
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/", strings.NewReader(body))
					req.Header.Set("X-Amz-Target", TargetPrefix+"FilterLogEvents")
					w := &countingWriter{h: http.Header{}, code: 200}
					svc.ServeHTTP(w, req)
					if w.code != 200 {
						b.Fatalf("status %d: %s", w.code, w.body)
					}
					pages++
					size += w.bytes
					tail := w.body[max(0, len(w.body)-512):]
					i := bytes.Index(tail, []byte(`"nextToken":"`))
					if i < 0 {
						break
					}
					rest := tail[i+len(`"nextToken":"`):]
					token = string(rest[:bytes.IndexByte(rest, '"')])
				}
			}
			served := svc.Stats().EventsServed - served0
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(served)/sec, "events/s")
			b.ReportMetric(float64(n*b.N)/sec, "scanned/s")
			b.ReportMetric(float64(size)/sec/1e6, "MB/s")
			b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
		})
	}
}

func jsonString(s string) string { return string(appendJSONString(nil, s)) }

// BenchmarkPut measures in-process ingestion.
func BenchmarkPut(b *testing.B) {
	c := newClock()
	svc := New(Options{Now: c.Now, Rates: map[string]float64{}, Seed: 1})
	msg := strings.Repeat("x", 1000)
	batch := make([]InputEvent, 1000)
	ts := c.ms()
	for b.Loop() {
		for i := range batch {
			ts++
			batch[i] = InputEvent{Timestamp: ts, Message: msg}
		}
		if err := svc.Put(testAccount, "us-east-1", "g", "s", batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}
