package cloudtraillake

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/mapping"
)

// processCPU is the process's CPU time (user and system, GC included).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPrepareCPU is BenchmarkPrepare over records of the mapping samples, each kind
// prepared many times in a row ("runs", as a batch of one endpoint's records comes) or the kinds
// taking turns ("turns", every record after one of other keys), reporting the process's CPU
// time per record (cpu-ns/op): wall time is not a measure on a machine shared with other jobs.
func BenchmarkPrepareCPU(b *testing.B) {
	var recs []*event.Record
	for _, name := range []string{"alert_dlp", "alert_policy", "event_audit", "event_application"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "..", "internal", "mapping", "testdata", "records", name+".json"))
		if err != nil {
			b.Skip(err)
		}
		kind, sub := event.KindNetskopeAlert, name[len("alert_"):]
		if name[0] == 'e' {
			kind, sub = event.KindNetskopeEvent, name[len("event_"):]
		}
		recs = append(recs, &event.Record{Raw: raw, Kind: kind, Subtype: sub})
	}
	d := &Destination{cfg: NewConfig().(*Config), maps: mapping.DefaultCloudTrail(), account: "123456789012"}
	for _, tc := range []struct {
		name string
		at   func(i int) *event.Record
	}{
		{"runs", func(i int) *event.Record { return recs[i/100%len(recs)] }},
		{"turns", func(i int) *event.Record { return recs[i%len(recs)] }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			start := processCPU(b)
			i := 0
			for b.Loop() {
				if _, err := d.prepare(tc.at(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64((processCPU(b)-start).Nanoseconds())/float64(i), "cpu-ns/op")
		})
	}
}
