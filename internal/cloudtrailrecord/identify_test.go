package cloudtrailrecord

import (
	"encoding/json"
	"testing"
	"time"
)

func TestIdentify(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		eventType string
		status    Status
	}{
		{"api call", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventType":"AwsApiCall"}`, "AwsApiCall", StatusOK},
		{"no eventType", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`, "", StatusOK},
		{"eventType not a string", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"s","eventName":"n","eventType":7}`, "", StatusOK},
		{"insight", `{"eventTime":"2026-01-01T00:00:00Z","eventType":"AwsCloudTrailInsight","insightDetails":{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances"}}`, "AwsCloudTrailInsight", StatusOK},
		{"bad eventTime", `{"eventTime":"yesterday","eventSource":"s","eventName":"n"}`, "", StatusNotCloudTrail},
		{"no eventName", `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"s"}`, "", StatusNotCloudTrail},
		{"digest", `{"Records":[]}`, "", StatusNotCloudTrail},
		{"array", `[1]`, "", StatusNotCloudTrail},
		{"broken", `{"eventTime":`, "", StatusNotJSON},
		{"empty", ``, "", StatusNotJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Identify([]byte(tc.in))
			if st := StatusOf(err); st != tc.status || s.EventType != tc.eventType {
				t.Fatalf("Identify = %+v, %v (status %s); want eventType %q, status %s", s, err, st, tc.eventType, tc.status)
			}
			if err == nil && !s.EventTime.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("eventTime %v", s.EventTime)
			}
		})
	}
}

// TestIdentifyAgreesWithParse: on every sample, Identify accepts what Parse accepts and reads
// the same eventType and eventTime.
func TestIdentifyAgreesWithParse(t *testing.T) {
	for _, rec := range pantherRecords(t) {
		agree(t, rec)
	}
}

func agree(t *testing.T, in []byte) {
	t.Helper()
	s, ierr := Identify(in)
	ev, perr := Parse(in)
	if StatusOf(ierr) != StatusOf(perr) {
		t.Fatalf("%.200q: Identify %v, Parse %v", in, ierr, perr)
	}
	if perr == nil && (s.EventType != ev.EventType || !s.EventTime.Equal(ev.EventTime)) {
		t.Fatalf("%.200q: Identify %+v, Parse eventType %q eventTime %v", in, s, ev.EventType, ev.EventTime)
	}
}

func TestWellFormed(t *testing.T) {
	deep := func(n int) string {
		b := make([]byte, 0, 2*n)
		for range n {
			b = append(b, '[')
		}
		for range n {
			b = append(b, ']')
		}
		return string(b)
	}
	for in, want := range map[string]bool{
		`{}`: true, ` {"a":[1,"x",null]} `: true, `42`: true, `"s"`: true,
		``: false, ` `: false, `{"a":}`: false, `{} {}`: false, `{"a":1,,"b":2}`: false, `plain text`: false,
		deep(maxDepth - 1): true, deep(maxDepth + 10): false,
	} {
		if got := WellFormed([]byte(in)); got != want {
			t.Errorf("WellFormed(%.40q) = %v; want %v", in, got, want)
		}
		// Parse reports not_json exactly when WellFormed is false.
		if _, err := Parse([]byte(in)); (StatusOf(err) == StatusNotJSON) == want {
			t.Errorf("%.40q: Parse status %s, WellFormed %v", in, StatusOf(err), want)
		}
	}
}

func TestFormNamed(t *testing.T) {
	for f := FormRecord; f <= FormSubscription; f++ {
		if got, ok := FormNamed(f.String()); !ok || got != f {
			t.Errorf("FormNamed(%q) = %v, %v", f.String(), got, ok)
		}
	}
	if _, ok := FormNamed("nope"); ok {
		t.Error("FormNamed accepted an unknown name")
	}
}

// FuzzIdentify: Identify and Parse agree on anything, and what Parse calls not_json is what
// WellFormed refuses.
func FuzzIdentify(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		agree(t, in)
		_, err := Parse(in)
		if (StatusOf(err) == StatusNotJSON) == WellFormed(in) {
			t.Fatalf("%.200q: Parse status %s, WellFormed %v", in, StatusOf(err), WellFormed(in))
		}
		if WellFormed(in) && !json.Valid(in) {
			t.Fatalf("%.200q: well formed, encoding/json disagrees", in)
		}
	})
}

// Parsed accepts only a parse made from the very bytes given, never an equal copy or a part.
func TestParsed(t *testing.T) {
	rec := []byte(`{"eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"} `)
	own, err := Parse(rec)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := Parse(append([]byte(nil), rec...))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		p      any
		record []byte
		want   *Event
	}{
		{"its own parse", own, rec, own},
		{"the parse of an equal copy", cp, rec, nil},
		{"a part of the bytes parsed", own, rec[:len(rec)-1], nil},
		{"nil", nil, rec, nil},
		{"a nil *Event", (*Event)(nil), rec, nil},
		{"an Event, not a pointer", *own, rec, nil},
		{"something else", "x", rec, nil},
	} {
		got, ok := Parsed(tc.p, tc.record)
		if got != tc.want || ok != (tc.want != nil) {
			t.Errorf("%s: %p %v; want %p", tc.name, got, ok, tc.want)
		}
	}
}
