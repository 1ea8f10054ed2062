package cloudwatch

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// A message that is not valid UTF-8 (the SDK's decoding and CloudWatch Logs itself make one
// unlikely; the source does not rely on them) gives records repaired, each invalid byte as
// U+FFFD, counted once per message, whatever the message holds and however it is handed on.
func TestInvalidUTF8MessagesAreRepaired(t *testing.T) {
	ct := func(id, ua string) string {
		return `{"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventID":"` + id + `","eventType":"AwsApiCall","userAgent":"` + ua + `"}`
	}
	tests := []struct {
		name     string
		extract  bool
		msg      string
		wantRaws []string // with extract on
		repaired float64
		ct       bool // every record is CloudTrail
	}{
		{"a CloudTrail record", true, ct("1", "cli\xff"), []string{ct("1", "cli\uFFFD")}, 1, true},
		{"a Records file", true, `{"Records":[` + ct("1", "a") + "," + ct("2", "b\xc3") + `]}`, []string{ct("1", "a"), ct("2", "b\uFFFD")}, 1, true},
		{"an object that is not CloudTrail", true, "{\"k\":\"v\xe9\"}", []string{"{\"k\":\"v\uFFFD\"}"}, 1, false},
		{"text", true, "plain \xe9t\xe9", []string{"{\"message\":\"plain \uFFFDt\uFFFD\"}"}, 1, false},
		{"a CloudTrail record, enveloped", false, ct("1", "cli\xff"), nil, 1, true},
		{"valid non-ASCII is left alone", true, ct("1", "zoë"), []string{ct("1", "zoë")}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := telemetry.NewMetrics("test").Plugin("cw")
			b := builder{source: "cw", region: "us-east-1", group: "g", extract: tc.extract, repairs: plugin.NewRepairs(plugintest.Logger(t), m)}
			recs := appendAll(&b, nil, &logEvent{ID: "ev1", Timestamp: 1, IngestionTime: 2, Stream: "s", Message: tc.msg})
			var raws []string
			for _, r := range recs {
				raws = append(raws, string(r.Raw))
				if !utf8.Valid(r.Raw) || !utf8.Valid(r.Payload) || !r.ValidJSON {
					t.Errorf("record %q (payload %q): not valid UTF-8 JSON", r.Raw, r.Payload)
				}
				if tc.ct && r.Kind != event.KindCloudTrail {
					t.Errorf("record %q: kind %q", r.Raw, r.Kind)
				}
			}
			if tc.wantRaws != nil && strings.Join(raws, "\n") != strings.Join(tc.wantRaws, "\n") {
				t.Errorf("raws %q, want %q", raws, tc.wantRaws)
			}
			if got := testutil.ToFloat64(m.RepairedCounter(plugin.RepairInvalidUTF8)); got != tc.repaired {
				t.Errorf("%v repaired, want %v", got, tc.repaired)
			}
		})
	}
}

// The stream name and eventId of an event go into its records (Meta, ID, the envelope) as
// valid UTF-8 too: repaired, and the event counted once, whatever else was repaired.
func TestInvalidUTF8StreamAndIDAreRepaired(t *testing.T) {
	ct := `{"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventID":"1","eventType":"AwsApiCall"}`
	tests := []struct {
		name, stream, id, msg string
		extract, gateway      bool
		wantStream, wantID    string
	}{
		{"stream, extracted", "s\xff", "ev1", ct, true, false, "s\uFFFD", "ev1"},
		{"eventId, enveloped", "s", "ev\xc3", ct, false, false, "s", "ev\uFFFD"},
		{"stream and message, enveloped", "s\xe9", "ev1", "text \xff", false, false, "s\uFFFD", "ev1"},
		{"stream as the gateway's identifier", "s\xff", "ev1", ct, true, true, "s\uFFFD", "ev1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := telemetry.NewMetrics("test").Plugin("cw")
			b := builder{source: "cw", region: "us-east-1", group: "g", extract: tc.extract, repairs: plugin.NewRepairs(plugintest.Logger(t), m)}
			if tc.gateway {
				b.idents = &identifiers{}
			}
			recs := appendAll(&b, nil, &logEvent{ID: tc.id, Timestamp: 1, IngestionTime: 2, Stream: tc.stream, Message: tc.msg})
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			r := recs[0]
			if !utf8.Valid(r.Raw) || !utf8.Valid(r.Payload) || !utf8.ValidString(r.ID) {
				t.Errorf("record %q (payload %q, id %q): not valid UTF-8", r.Raw, r.Payload, r.ID)
			}
			for k, v := range r.Meta {
				if !utf8.ValidString(v) {
					t.Errorf("meta %s %q: not valid UTF-8", k, v)
				}
			}
			if r.Meta[event.MetaLogStream] != tc.wantStream || r.ID != tc.wantID {
				t.Errorf("stream %q id %q, want %q %q", r.Meta[event.MetaLogStream], r.ID, tc.wantStream, tc.wantID)
			}
			if tc.gateway && r.Meta[event.MetaLogSourceID] != tc.wantStream {
				t.Errorf("log source identifier %q, want %q", r.Meta[event.MetaLogSourceID], tc.wantStream)
			}
			if got := testutil.ToFloat64(m.RepairedCounter(plugin.RepairInvalidUTF8)); got != 1 {
				t.Errorf("%v repaired, want 1", got)
			}
		})
	}
}
