// Package event defines the record that flows through logshipper. It imports no plugin and
// nothing of the engine, so every component can depend on it.
package event

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Well-known Meta keys, set by sources and read by destinations.
const (
	// MetaLogSourceID is the log-source identifier a gateway source assigned to the record
	// (JSA's "Log Source Identifier"). Destinations put it where their format names the
	// device that sent the event: the syslog HOSTNAME, CEF dvchost, LEEF devName.
	MetaLogSourceID = "log_source_identifier"
	// MetaAWSRegion, MetaLogGroup and MetaLogStream say where in CloudWatch Logs a record was
	// read (set by the CloudWatch Logs source on every record).
	MetaAWSRegion = "aws.region"
	MetaLogGroup  = "aws.log_group"
	MetaLogStream = "aws.log_stream"
	// MetaInputForm names the wrapper the record was found in at its source, when it was not
	// on its own: "cloudwatch" (Raw is a CloudWatch Logs event as JSON around Payload),
	// "records_file" (an element of {"Records":[...]}), "subscription" (an element of a
	// subscription delivery). The names are those of cloudtrailrecord.Form. Absent for a
	// record that was read as it is.
	MetaInputForm = "input_form"
)

// Kind says what a record is, as the source that read it knows it: destinations read it and
// never work it out again from the record's fields. The empty Kind is a record the source
// knows nothing about (a line of a file, a generic JSON object).
type Kind string

// The kinds of record the built-in sources produce.
const (
	// KindNetskopeEvent is a Netskope event from a data-export events endpoint; Subtype is the
	// event type (page, application, audit, ...).
	KindNetskopeEvent Kind = "netskope/event"
	// KindNetskopeAlert is a Netskope alert from a data-export alerts endpoint; Subtype is the
	// alert type of the endpoint (dlp, malware, uba, ...).
	KindNetskopeAlert Kind = "netskope/alert"
	// KindCloudTrail is one CloudTrail record (never a digest of several); Subtype is its
	// eventType (AwsApiCall, AwsConsoleSignIn, ...), empty when it has none.
	KindCloudTrail Kind = "cloudtrail"
)

// Family is the product the kind comes from: "netskope" for "netskope/alert".
func (k Kind) Family() string {
	f, _, _ := strings.Cut(string(k), "/")
	return f
}

// Class is the part after the family: "alert" for "netskope/alert"; empty when there is none.
func (k Kind) Class() string {
	_, c, _ := strings.Cut(string(k), "/")
	return c
}

// NetskopeSubtype spells a Netskope event or alert type as every source gives it in Subtype:
// lower case, without spaces ("Compromised Credential" is "compromisedcredential", the
// data-export endpoint's name), and named after the endpoint that serves it: ips and c2, the
// types of the alerts of the ctep endpoint, are "ctep"; anomaly, the type of the uba
// endpoint's anomaly alerts (a type of its own in Netskope's v1 API and in Cloud Exchange's
// mapping files), is "uba". A source that knows the endpoint a record came from (the netskope
// source) gives the endpoint's type; one that does not (the file source, a preview) gives the
// record's own type spelled this way, so both name the same thing alike.
func NetskopeSubtype(typ string) string {
	s := strings.ToLower(strings.ReplaceAll(typ, " ", ""))
	switch s {
	case "ips", "c2":
		return "ctep"
	case "anomaly":
		return "uba"
	}
	return s
}

// NetskopeUBA is the one rule that says whether a record is a Netskope UBA (user behaviour
// analytics) alert: by the endpoint it came from, its Kind and Subtype, never by its fields
// (alert_type, type). Every destination and check that treats UBA alerts apart asks it.
func NetskopeUBA(kind Kind, subtype string) bool {
	return kind == KindNetskopeAlert && subtype == "uba"
}

// Record is one log record. Raw holds the record exactly as the source read it (JSON), so a
// destination that passes records through never pays for a decode and re-encode. Fields are
// decoded lazily, once, when a rule or a mapping asks for them.
type Record struct {
	// Raw is the record's bytes as read (a JSON object for every built-in source). It may be
	// an envelope around the record proper (Payload): destinations that pass records through
	// send Raw, and rules and mappings read Raw's fields.
	Raw []byte
	// Payload is the record proper when Raw wraps it in an envelope (the CloudWatch Logs
	// source with extract_original_event off: Raw is the CloudWatch event, Payload the
	// CloudTrail record in its message); nil when Raw is the record itself. A destination
	// that reads the record as its Kind (a CloudTrail record's fields) reads Payload when it is
	// set, else Raw: RecordBytes.
	Payload []byte
	// ID identifies the record at its origin (Netskope _id, CloudWatch eventId, ...); may be empty.
	ID string
	// Time is the record's own timestamp when the source knows it; zero otherwise.
	Time time.Time
	// Source is the name of the plugin configuration that produced the record.
	Source string
	// Kind is what the record is, set by its source; empty when the source cannot tell.
	Kind Kind
	// Subtype refines Kind (the Netskope alert or event type, the CloudTrail eventType); empty
	// when the source has none.
	Subtype string
	// ValidJSON says Raw holds exactly one JSON object whose grammar the source checked as it
	// read it (with jsonx.Scanner, the one checker), so later stages skip what they do not
	// build without checking it again. A source sets it only on bytes it checked or wrote.
	ValidJSON bool
	// Parsed is the source's parse of the record proper (RecordBytes) as its Kind, when the
	// source parsed it to tell the Kind: for KindCloudTrail a *cloudtrailrecord.Event whose
	// Raw is RecordBytes itself (the same bytes, not a copy). A destination that reads the
	// record as its Kind uses it instead of parsing again only when it has the type it expects
	// and was made from RecordBytes, and parses the record itself otherwise, so a record
	// without it (another source, a record read back from a spool) comes out the same. Nil
	// when the source made none. Several destinations may read it at once: never modified.
	Parsed any
	// Meta carries small source-supplied attributes, such as a gateway log-source identifier.
	Meta map[string]string

	once    sync.Once
	decoded atomic.Bool // once has run: fields and err are set
	fields  map[string]any
	err     error
	uint64s bool // fields hold a uint64 somewhere
}

// RecordBytes is the record proper: Payload when Raw is an envelope around it, else Raw.
func (r *Record) RecordBytes() []byte {
	if r.Payload != nil {
		return r.Payload
	}
	return r.Raw
}

// Fields decodes Raw into a map once and returns it. Integers decode to int64 (uint64 past its
// range), so a 64-bit id keeps every digit; other numbers to float64. The returned map is
// shared: callers must not modify it.
func (r *Record) Fields() (map[string]any, error) {
	r.once.Do(func() {
		m, sawUint64, err := decodeObject(r.Raw)
		if err != nil {
			r.err = fmt.Errorf("decode record: %w", err)
			return
		}
		r.fields, r.uint64s = m, sawUint64
	})
	r.decoded.Store(true)
	return r.fields, r.err
}

// SetFields replaces the decoded form of the record (used by sources that enrich records, such
// as adding event_type). Raw is not changed; callers that need it to match must re-encode.
func (r *Record) SetFields(m map[string]any) {
	r.once.Do(func() {})
	r.fields, r.err, r.uint64s = m, nil, containsUint64(m)
	r.decoded.Store(true)
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

// FieldsNamed decodes only the record's top-level fields named in want (a rule needs a few fields of
// a record a destination may never need decoded), after checking that Raw is one JSON object
// as Fields would. Fields already decoded are used as they are. The map is the caller's and
// is not kept: a record holds no decoded form because of it. hasUint64 is HasUint64 for the
// fields returned.
func (r *Record) FieldsNamed(want map[string]struct{}) (fields map[string]any, hasUint64 bool, err error) {
	return r.FieldsNamedInto(nil, want)
}

// FieldsNamedInto is FieldsNamed decoding into dst, emptied first (a new map when dst is nil),
// for a caller that judges records one at a time and reuses one map. The fields returned are
// the record's own decoded fields when it has them (dst is then not used): the caller must not
// change them.
func (r *Record) FieldsNamedInto(dst map[string]any, want map[string]struct{}) (fields map[string]any, hasUint64 bool, err error) {
	if r.decoded.Load() {
		if r.err != nil {
			return nil, false, r.err
		}
		return r.fields, r.uint64s, nil
	}
	m, saw, err := decodeSome(dst, r.Raw, want)
	if err != nil {
		return nil, false, fmt.Errorf("decode record: %w", err)
	}
	return m, saw, nil
}
