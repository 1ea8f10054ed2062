package cloudtrailrecord

import (
	"fmt"
	"time"
	"unsafe"
)

// Summary is what Identify reads of a record.
type Summary struct {
	// EventType is the record's eventType (AwsApiCall, AwsConsoleSignIn, ...); empty when it
	// has none.
	EventType string
	// EventTime is the record's eventTime (UTC).
	EventTime time.Time
}

// Identify reports whether record is one CloudTrail record, and its eventType and eventTime,
// without deriving anything else: a source labels its records with it, and leaves the full
// Parse to the destination that needs it. It accepts exactly what Parse accepts, and returns
// the same *ParseError for what Parse refuses.
func Identify(record []byte) (Summary, error) {
	var f fields
	if err := f.read(record); err != nil {
		return Summary{}, err
	}
	t, err := parseTime(f.eventTime)
	if err != nil {
		return Summary{}, &ParseError{Status: StatusNotCloudTrail, Reason: fmt.Sprintf("eventTime %q: %v", f.eventTime, err)}
	}
	return Summary{EventType: eventType(f.eventType), EventTime: t}, nil
}

// eventType returns b as a string, without allocating for the eventTypes CloudTrail writes.
func eventType(b []byte) string {
	switch string(b) {
	case "AwsApiCall":
		return "AwsApiCall"
	case "AwsServiceEvent":
		return "AwsServiceEvent"
	case "AwsConsoleSignIn":
		return "AwsConsoleSignIn"
	case "AwsConsoleAction":
		return "AwsConsoleAction"
	case "AwsCloudTrailInsight":
		return "AwsCloudTrailInsight"
	case "AwsVpceEvent":
		return "AwsVpceEvent"
	}
	return string(b)
}

// WellFormed reports whether b is exactly one well-formed JSON value, as Parse judges it
// (StatusNotJSON is its negation): a destination gives a record it does not read as
// CloudTrail this status without reading its fields.
func WellFormed(b []byte) bool {
	s := scanner{b: b}
	if s.peek() == 0 {
		return false
	}
	_, ok := s.skip()
	return ok && !s.bad && s.end()
}

// FormNamed returns the Form whose String is name.
func FormNamed(name string) (Form, bool) {
	for i, n := range formNames {
		if n == name {
			return Form(i), true
		}
	}
	return FormRecord, false
}

// Parsed returns p as the *Event a source made of record (event.Record.Parsed) when it is
// one and was parsed from record itself (the same bytes, not an equal copy): a destination
// then reads it instead of parsing record again. ok is false for anything else, and the
// destination parses record itself.
func Parsed(p any, record []byte) (ev *Event, ok bool) {
	ev, ok = p.(*Event)
	if !ok || ev == nil || len(ev.Raw) != len(record) || unsafe.SliceData(ev.Raw) != unsafe.SliceData(record) {
		return nil, false
	}
	return ev, true
}
