package cloudwatch

import (
	"bytes"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// processCPU is the user and system CPU time of the process so far (GC workers included): on
// a shared machine it moves less than wall time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodePage decodes one FilterLogEvents answer of 10,000 CloudTrail events (13 MB)
// read from a reader, with pageDecoder ("ours", as its middleware does: the body read into a
// buffer sized from Content-Length, then decoded) and with the SDK's awsJson 1.1
// protocol ("sdk"), and reports per event (cpu-ns/event: the process's CPU time, GC included).
func BenchmarkDecodePage(b *testing.B) {
	page := cloudTrailPage(b)
	var pd pageDecoder
	for _, bc := range []struct {
		name   string
		decode func() (int, error)
	}{
		{"ours", func() (int, error) {
			body, err := readBody(bytes.NewReader(page), int64(len(page)))
			if err != nil {
				return 0, err
			}
			out, err := pd.decode(body)
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
			cpu0 := processCPU(b)
			for b.Loop() {
				if n, err := bc.decode(); err != nil || n != pageEvents {
					b.Fatal(n, err)
				}
			}
			cpu := processCPU(b) - cpu0
			runtime.ReadMemStats(&m1)
			events := float64(b.N * pageEvents)
			b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/events, "B/event")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/events, "allocs/event")
		})
	}
}
