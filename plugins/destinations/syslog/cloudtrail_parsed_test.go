package syslog

import (
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
)

// withParsed is r with p as the parse its source made.
func withParsed(r *event.Record, p any) *event.Record {
	c := fresh(r)
	c.Parsed = p
	return c
}

// A CloudTrail record that carries its source's parse (event.Record.Parsed) encodes exactly as
// one that does not, in every format; a parse made from other bytes is not used.
func TestParsedEncodesAsUnparsed(t *testing.T) {
	var recs []*event.Record
	for i, r := range allCloudTrail(t) {
		recs = append(recs, r, asCloudWatch(t, r.Raw, i))
	}
	for _, f := range []string{FormatCEF, FormatLEEF, FormatJSON} {
		cfg := testConfig("127.0.0.1:514")
		cfg.Format = f
		cfg.JSONEnvelope = true
		e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
		e.now = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
		withParse, foreign := 0, 0
		for i, r := range recs {
			want, err := e.message(nil, fresh(r))
			if err != nil {
				t.Fatalf("%s, record %d: %v", f, i, err)
			}
			ev, err := cloudtrailrecord.Parse(r.RecordBytes())
			if err == nil {
				withParse++
				got, err := e.message(nil, withParsed(r, ev))
				if err != nil || string(got) != string(want) {
					t.Fatalf("%s, record %d, with its parse:\ngot  %s (%v)\nwant %s", f, i, got, err, want)
				}
			}
			// The parse of another record, and of an equal copy of this one, are not its own.
			other := recs[(i+2)%len(recs)].RecordBytes()
			for _, b := range [][]byte{other, append([]byte(nil), r.RecordBytes()...)} {
				if ev, err := cloudtrailrecord.Parse(b); err == nil {
					foreign++
					got, err := e.message(nil, withParsed(r, ev))
					if err != nil || string(got) != string(want) {
						t.Fatalf("%s, record %d, with the parse of other bytes:\ngot  %s (%v)\nwant %s", f, i, got, err, want)
					}
				}
			}
			// Something else in Parsed is not a CloudTrail parse.
			if got, err := e.message(nil, withParsed(r, "not a parse")); err != nil || string(got) != string(want) {
				t.Fatalf("%s, record %d, with a string in Parsed:\ngot  %s (%v)\nwant %s", f, i, got, err, want)
			}
		}
		if withParse < len(recs)*9/10 || foreign == 0 {
			t.Errorf("%s: %d of %d records parse, %d foreign parses tried", f, withParse, len(recs), foreign)
		}
	}
}

// The parse a record carries is what the encoder reads: it does not parse the record again.
func TestParsedIsUsed(t *testing.T) {
	raw := []byte(`{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventType":"AwsApiCall"}`)
	for _, f := range []string{FormatCEF, FormatLEEF, FormatJSON} {
		cfg := testConfig("127.0.0.1:514")
		cfg.Format = f
		cfg.JSONEnvelope = true
		e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
		ev, err := cloudtrailrecord.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		// Told apart from the record's own parse by what only the carried one says.
		ev.Category, ev.Technique = "carried.category", "T0000"
		got, err := e.message(nil, withParsed(asCloudTrail(raw), ev))
		if err != nil {
			t.Fatal(err)
		}
		want := "cat=carried.category"
		if f == FormatJSON {
			want = `"attack_technique":"T0000"`
		}
		if !strings.Contains(string(got), want) {
			t.Errorf("%s: %s does not hold %s", f, got, want)
		}
	}
}

// A scratch back in the pool keeps no string of the record it encoded: the pairs' strings may
// share the record's bytes, and a pooled scratch would keep a source's whole page alive.
func TestPooledScratchKeepsNoRecordString(t *testing.T) {
	raw := []byte(`{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventType":"AwsApiCall","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2"}`)
	for _, f := range []string{FormatCEF, FormatLEEF} {
		cfg := testConfig("127.0.0.1:514")
		cfg.Format = f
		e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
		ev, err := cloudtrailrecord.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		r := withParsed(asCloudTrail(raw), ev)
		s := &encScratch{}
		s.env = envelopeOf(r)
		if _, err := e.appendCloudTrail(nil, r, &s.env, ev, &s.list); err != nil {
			t.Fatal(err)
		}
		used := len(s.list.pairs)
		if used == 0 {
			t.Fatalf("%s: the message has no pairs", f)
		}
		e.putScratch(s)
		for i, p := range s.list.pairs[:used] {
			if p.s != "" {
				t.Errorf("%s: pair %d (%s) still holds %q after putScratch", f, i, p.key, p.s)
			}
		}
	}
}
