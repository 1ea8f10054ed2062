package ocsf

import (
	"errors"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

var fuzzKinds = []event.Kind{event.KindCloudTrail, event.KindNetskopeEvent, event.KindNetskopeAlert, ""}

// FuzzFromRecord feeds FromRecord any bytes as any kind and subtype: it never panics, a record
// it maps always validates, and a kind it does not map gives ErrUnsupported.
func FuzzFromRecord(f *testing.F) {
	for _, s := range awsdocsSamples(f)[:4] {
		f.Add(uint8(0), s.record.Subtype, s.record.Raw)
	}
	for _, s := range netskopeRecordSamples(f) {
		k := uint8(1)
		if s.record.Kind == event.KindNetskopeAlert {
			k = 2
		}
		f.Add(k, s.record.Subtype, s.record.Raw)
	}
	for _, s := range pantherNetskopeSamples(f)[:2] {
		f.Add(uint8(1), "audit", s.record.Raw)
	}
	f.Add(uint8(1), "network", []byte(`{"timestamp":1e300,"srcip":"::1"}`))
	f.Add(uint8(2), "uba", []byte(`{"_id":"x","timestamp":"2024-01-01 00:00:00","risk_level":"critical","score":1e10}`))
	f.Add(uint8(3), "", []byte(`{}`))
	f.Fuzz(func(t *testing.T, k uint8, subtype string, raw []byte) {
		kind := fuzzKinds[int(k)%len(fuzzKinds)]
		ev, err := FromRecord(&event.Record{Raw: raw, Kind: kind, Subtype: subtype})
		if kind == "" {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("kind %q: %v, want ErrUnsupported", kind, err)
			}
			return
		}
		if err != nil {
			return
		}
		if err := Validate(ev); err != nil {
			t.Fatalf("kind %q subtype %q mapped %s to an invalid record: %v", kind, subtype, raw, err)
		}
	})
}
