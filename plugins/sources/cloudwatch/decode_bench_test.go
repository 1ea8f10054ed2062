package cloudwatch

import (
	"bytes"
	"runtime"
	"testing"
)

// BenchmarkDecodePage decodes one FilterLogEvents answer of 10,000 CloudTrail events (13 MB)
// read from a reader, with pageDecoder ("ours", as its middleware does: the body read into a
// pooled buffer sized from Content-Length, then decoded) and with the SDK's awsJson 1.1
// protocol ("sdk"), and reports per event.
func BenchmarkDecodePage(b *testing.B) {
	page := cloudTrailPage(b)
	var pd pageDecoder
	for _, bc := range []struct {
		name   string
		decode func() (int, error)
	}{
		{"ours", func() (int, error) {
			s := pd.get()
			defer pd.put(s)
			var err error
			if s.body, err = readBody(s.body, bytes.NewReader(page), int64(len(page))); err != nil {
				return 0, err
			}
			out, err := s.decode(s.body)
			if err != nil {
				return 0, err
			}
			return len(out.Events), nil
		}},
		{"sdk", func() (int, error) {
			out, err := sdkDecode(page)
			if err != nil {
				return 0, err
			}
			return len(out.Events), nil
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for b.Loop() {
				if n, err := bc.decode(); err != nil || n != pageEvents {
					b.Fatal(n, err)
				}
			}
			runtime.ReadMemStats(&m1)
			events := float64(b.N * pageEvents)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/events, "B/event")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/events, "allocs/event")
		})
	}
}
