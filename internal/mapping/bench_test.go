package mapping

import (
	"os"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

// BenchmarkApplyDefaultMapping maps a 1.4 kB DLP alert with the default CloudTrail Lake mapping.
//
//	apply:               Apply on the decoded fields (the CloudTrail rules included)
//	apply+encode:        and the eventData JSON appended to a reused buffer
//	decode+apply+encode: from the raw record, as a destination sees it
func BenchmarkApplyDefaultMapping(b *testing.B) {
	raw, err := os.ReadFile("testdata/records/alert_dlp.json")
	if err != nil {
		b.Fatal(err)
	}
	m, ok := DefaultCloudTrail().For("alerts", "dlp")
	if !ok {
		b.Fatal("no alerts/dlp")
	}
	rec := recordFields(b, "alert_dlp.json")
	b.Run("apply", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := m.Apply(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("apply+encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			out, err := m.Apply(rec)
			if err != nil {
				b.Fatal(err)
			}
			buf = out.AppendJSON(buf[:0])
		}
	})
	b.Run("decode+apply+encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			r := &event.Record{Raw: raw}
			f, err := r.Fields()
			if err != nil {
				b.Fatal(err)
			}
			out, err := m.Apply(f)
			if err != nil {
				b.Fatal(err)
			}
			buf = out.AppendJSON(buf[:0])
		}
	})
}
