package ocsf

import (
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

func benchSamples(b *testing.B) map[string]*event.Record {
	panther, _ := pantherCloudTrailSamples(b)
	out := map[string]*event.Record{"cloudtrail": panther[0].record}
	for _, s := range netskopeRecordSamples(b) {
		out[s.where] = s.record
	}
	return out
}

// BenchmarkFromRecord maps one record of each kind; each iteration gets a fresh Record, as a
// destination does, so Netskope's field decode is counted.
func BenchmarkFromRecord(b *testing.B) {
	for _, name := range []string{"cloudtrail", "event_page.json", "alert_dlp.json"} {
		rec := benchSamples(b)[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r := &event.Record{Raw: rec.Raw, Kind: rec.Kind, Subtype: rec.Subtype}
				if _, err := FromRecord(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	ev, err := FromRecord(benchSamples(b)["alert_dlp.json"])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := Validate(ev); err != nil {
			b.Fatal(err)
		}
	}
}
