// Package event defines the record that flows through logshipper. It imports no plugin and
// nothing of the engine, so every component can depend on it.
package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// Well-known Meta keys, set by sources and read by destinations.
const (
	// MetaLogSourceID is the log-source identifier a gateway source assigned to the record
	// (JSA's "Log Source Identifier"). Destinations put it where their format names the
	// device that sent the event: the syslog HOSTNAME, CEF dvchost, LEEF devName.
	MetaLogSourceID = "log_source_identifier"
)

// Record is one log record. Raw holds the record exactly as the source read it (JSON), so a
// destination that passes records through never pays for a decode and re-encode. Fields are
// decoded lazily, once, when a rule or a mapping asks for them.
type Record struct {
	// Raw is the record's bytes as read (a JSON object for every built-in source).
	Raw []byte
	// ID identifies the record at its origin (Netskope _id, CloudWatch eventId, ...); may be empty.
	ID string
	// Time is the record's own timestamp when the source knows it; zero otherwise.
	Time time.Time
	// Source is the name of the plugin configuration that produced the record.
	Source string
	// Type is the source's subtype (for example "dlp" or "audit"); empty when the source has none.
	Type string
	// Meta carries small source-supplied attributes, such as a gateway log-source identifier.
	Meta map[string]string

	once    sync.Once
	fields  map[string]any
	err     error
	uint64s bool // fields hold a uint64 somewhere
}

// Fields decodes Raw into a map once and returns it. Integers decode to int64 (uint64 past its
// range), so a 64-bit id keeps every digit; other numbers to float64. The returned map is
// shared: callers must not modify it.
func (r *Record) Fields() (map[string]any, error) {
	r.once.Do(func() {
		dec := json.NewDecoder(bytes.NewReader(r.Raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			r.err = fmt.Errorf("decode record: %w", err)
			return
		}
		if m == nil {
			r.err = fmt.Errorf("decode record: not a JSON object")
			return
		}
		// Decode stops after the first value: anything but white space after it means Raw is
		// not one JSON object (two glued objects, or a truncated line joined to the next).
		if _, err := dec.Token(); err != io.EOF {
			r.err = fmt.Errorf("decode record: unexpected data after the JSON object")
			return
		}
		normalizeNumbers(m, &r.uint64s)
		r.fields = m
	})
	return r.fields, r.err
}

// normalizeNumbers turns json.Number values into int64 when they are integers that fit, uint64
// when they are larger non-negative integers, and float64 otherwise, in place. Integers keep
// every digit (a 19-digit Netskope id stays exact) and rules compare them as numbers.
// sawUint64 is set when one is made.
func normalizeNumbers(v any, sawUint64 *bool) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalizeNumbers(x, sawUint64)
		}
	case []any:
		for i, x := range t {
			t[i] = normalizeNumbers(x, sawUint64)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			*sawUint64 = true
			return u
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return string(t)
	}
	return v
}

// SetFields replaces the decoded form of the record (used by sources that enrich records, such
// as adding event_type). Raw is not changed; callers that need it to match must re-encode.
func (r *Record) SetFields(m map[string]any) {
	r.once.Do(func() {})
	r.fields, r.err, r.uint64s = m, nil, containsUint64(m)
}

// HasUint64 reports whether the record's fields hold an integer above the int64 range (a
// uint64) anywhere, known from the decode itself; false when they cannot be decoded.
func (r *Record) HasUint64() bool {
	if _, err := r.Fields(); err != nil {
		return false
	}
	return r.uint64s
}

func containsUint64(v any) bool {
	switch t := v.(type) {
	case uint64:
		return true
	case map[string]any:
		for _, e := range t {
			if containsUint64(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if containsUint64(e) {
				return true
			}
		}
	}
	return false
}

// Size is the record's size in bytes as counted against destination limits.
func (r *Record) Size() int { return len(r.Raw) }
