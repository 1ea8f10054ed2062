package syslog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
	"github.com/logshipper/logshipper/internal/mapping"
	"github.com/logshipper/logshipper/internal/plugin"
)

// The built-in mappings, in Cloud Exchange's export format so users can copy and edit them.
var (
	//go:embed defaults/netskope-cloudexchange.json
	netskopeMappingFile []byte
	//go:embed defaults/cloudtrail.json
	cloudTrailMappingFile []byte
)

var builtinMappings = sync.OnceValues(func() (*mapping.Set, *mapping.Set) {
	ns, err := mapping.Parse(netskopeMappingFile, "defaults/netskope-cloudexchange.json")
	if err != nil {
		panic("syslog: the embedded Netskope mapping does not load: " + err.Error())
	}
	ct, err := mapping.Parse(cloudTrailMappingFile, "defaults/cloudtrail.json")
	if err != nil {
		panic("syslog: the embedded CloudTrail mapping does not load: " + err.Error())
	}
	return ns, ct
})

// KindCloudTrail is the mapping kind of CloudTrail records: taxonomy.cloudtrail.<subtype>, where
// the subtype is the record's eventSource ("s3.amazonaws.com") or "default".
const KindCloudTrail = "cloudtrail"

// encoder turns records into syslog messages. It is immutable and shared by concurrent Writes.
type encoder struct {
	cfg      *Config
	pri      string
	hostname string
	delim    byte
	user     *mapping.Set // the configured mapping file, or nil
	netskope *mapping.Set
	ctrail   *mapping.Set
	enricher Enricher
	now      func() time.Time

	// userCloudTrail: the configured mapping defines the cloudtrail kind, so CloudTrail
	// records take the mapping path. noFast forces the mapping path (tests compare the two).
	userCloudTrail bool
	noFast         bool
	scratch        sync.Pool // *encScratch
}

func newEncoder(cfg *Config, hostname string, user *mapping.Set, enricher Enricher) *encoder {
	ns, ct := builtinMappings()
	e := &encoder{
		cfg: cfg, pri: "<" + strconv.Itoa(cfg.pri()) + ">", hostname: hostname,
		delim: cfg.leefDelimiter(), user: user, netskope: ns, ctrail: ct, enricher: enricher,
		now:            time.Now,
		userCloudTrail: user != nil && hasKind(user, KindCloudTrail),
	}
	e.scratch.New = func() any { return new(encScratch) }
	return e
}

// message appends the syslog message of r (header and MSG, no framing) to dst. Errors are
// classified for the engine: Skipped (unmapped subtype) or Refused (not a JSON object, ...).
func (e *encoder) message(dst []byte, r *event.Record) ([]byte, error) {
	dst = e.appendHeader(dst, r)
	if e.cfg.Format == FormatJSON {
		return e.appendJSON(dst, r)
	}
	return e.appendMapped(dst, r)
}

// msgType is the record's type in the header (RFC 5424 MSGID, the structured data's type) and
// the JSON envelope: its Subtype, except for a CloudTrail record, whose eventType is not a
// message type (its CEF and LEEF carry the eventName).
func msgType(r *event.Record) string {
	if r.Kind == event.KindCloudTrail {
		return ""
	}
	return r.Subtype
}

func (e *encoder) logSource(r *event.Record) string {
	if r.Meta != nil {
		return r.Meta[event.MetaLogSourceID]
	}
	return ""
}

// appendHeader writes the RFC 5424 or RFC 3164 header, ending with the space before MSG.
func (e *encoder) appendHeader(dst []byte, r *event.Record) []byte {
	host := e.logSource(r)
	if host == "" {
		host = e.hostname
	}
	ts := r.Time
	if ts.IsZero() {
		ts = e.now()
	}
	ts = ts.UTC()
	dst = append(dst, e.pri...)
	if e.cfg.Header == HeaderRFC3164 {
		// Mmm dd hh:mm:ss HOSTNAME TAG: (RFC 3164 §4.1.2; the time is UTC, the format has no zone)
		dst = ts.AppendFormat(dst, time.Stamp)
		dst = append(dst, ' ')
		dst = appendHeaderToken(dst, host, 255)
		dst = append(dst, ' ')
		dst = appendHeaderToken(dst, e.cfg.AppName, 32)
		return append(dst, ':', ' ')
	}
	// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD (RFC 5424 §6)
	dst = append(dst, '1', ' ')
	if y := ts.Year(); y < 0 || y > 9999 {
		dst = ts.AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	} else {
		dst = append(appendStampMillis(dst, ts), 'Z')
	}
	dst = append(dst, ' ')
	dst = appendHeaderToken(dst, host, 255)
	dst = append(dst, ' ')
	dst = appendHeaderToken(dst, e.cfg.AppName, 48)
	dst = append(dst, " - "...)
	dst = appendHeaderToken(dst, msgType(r), 32)
	dst = append(dst, ' ')
	if !e.cfg.StructuredData {
		return append(dst, '-', ' ')
	}
	dst = append(dst, "[logshipper@32473"...)
	for _, p := range [...]struct{ k, v string }{{"source", r.Source}, {"type", msgType(r)}, {"id", r.ID}, {"log_source", e.logSource(r)}} {
		if p.v == "" {
			continue
		}
		dst = append(dst, ' ')
		dst = append(dst, p.k...)
		dst = append(dst, '=', '"')
		dst = appendSDValue(dst, p.v)
		dst = append(dst, '"')
	}
	return append(dst, ']', ' ')
}

// appendJSON writes the record's own JSON (Raw), compacted when it holds line breaks (newline
// framing must not see one), optionally inside an envelope. In the envelope, a record that is
// not JSON goes as a JSON string, and a record that is not read as CloudTrail (its Kind is not
// cloudtrail, or it does not parse) and not Netskope's gets parse_status.
func (e *encoder) appendJSON(dst []byte, r *event.Record) ([]byte, error) {
	raw := r.Raw
	valid := true
	if bytes.ContainsAny(raw, "\r\n") {
		if compact, err := jsonx.AppendCompact(nil, raw); err != nil {
			if !e.cfg.JSONEnvelope {
				return dst, plugin.Refused("invalid", fmt.Errorf("record is not JSON: %w", err))
			}
			valid = false
		} else {
			raw = compact
		}
	}
	if !e.cfg.JSONEnvelope {
		return append(dst, raw...), nil
	}
	dst = append(dst, `{"source":`...)
	dst = strconv.AppendQuote(dst, r.Source)
	if t := msgType(r); t != "" {
		dst = append(dst, `,"type":`...)
		dst = strconv.AppendQuote(dst, t)
	}
	if r.ID != "" {
		dst = append(dst, `,"id":`...)
		dst = strconv.AppendQuote(dst, r.ID)
	}
	if ls := e.logSource(r); ls != "" {
		dst = append(dst, `,"log_source_identifier":`...)
		dst = strconv.AppendQuote(dst, ls)
	}
	if !r.Time.IsZero() {
		dst = append(dst, `,"time":"`...)
		dst = r.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	st, t := e.jsonFacts(r)
	if st != "" && st != cloudtrailrecord.StatusOK {
		dst = append(dst, `,"parse_status":"`...)
		dst = append(dst, st...)
		dst = append(dst, '"')
	}
	if t != "" {
		dst = append(dst, `,"attack_technique":`...)
		dst = strconv.AppendQuote(dst, t)
	}
	dst = append(dst, `,"event":`...)
	if valid && (r.ValidJSON || jsonx.Valid(raw)) { // a source that checked Raw said so
		dst = append(dst, raw...)
	} else {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(string(r.Raw)); err != nil {
			return dst, plugin.Refused("invalid", fmt.Errorf("record as a JSON string: %w", err))
		}
		dst = append(dst, bytes.TrimSuffix(b.Bytes(), []byte{'\n'})...)
	}
	return append(dst, '}'), nil
}

func hasKind(s *mapping.Set, kind string) bool {
	for _, k := range s.Kinds() {
		if strings.EqualFold(k, kind) {
			return true
		}
	}
	return false
}

// header holds the six CEF header values.
type header struct {
	vendor, product, version, classID, name, severity string
}

func (e *encoder) headerOf(out *mapping.Output, r *event.Record) header {
	h := header{severity: "Unknown"}
	for _, f := range out.Header {
		v := textOf(f.Value)
		if strings.EqualFold(v, "$tenant_name") {
			v = e.cfg.TenantName
			if v == "" {
				v = r.Source
			}
		}
		switch f.Name {
		case "Device Vendor":
			h.vendor = v
		case "Device Product":
			h.product = v
		case "Device Version":
			h.version = v
		case "Device Event Class ID":
			h.classID = v
		case "Name":
			h.name = v
		case "Severity":
			h.severity = v
		}
	}
	if r.Kind == event.KindNetskopeEvent || r.Kind == event.KindNetskopeAlert {
		h.severity = ceSeverity(h.severity, r.Subtype)
	}
	return h
}

// CE's syslog plugin does not send a Netskope record's severity field as it is: its CEF
// generator looks the lower-cased value up in one of two maps, audit events in their own (their
// severity_level counts down: 1 is High), and writes Unknown for any value the map lacks
// (netskopeoss/ta_cloud_exchange_plugins, syslog/utils/syslog_constants.py SEVERITY_MAP and
// AUDIT_SEVERITY_MAP, applied in syslog_cef_generator.py get_cef_event). A CE user's SIEM
// rules expect those words, so the same maps apply here, whatever mapping file is used.
var (
	ceSeverityMap = map[string]string{
		"low": "Low", "med": "Medium", "medium": "Medium", "high": "High", "very-high": "Very-High", "critical": "Very-High",
		"0": "Low", "1": "Low", "2": "Low", "3": "Low", "4": "Medium", "5": "Medium", "6": "Medium",
		"7": "High", "8": "High", "9": "Very-High", "10": "Very-High",
	}
	ceAuditSeverityMap = map[string]string{
		"low": "Low", "med": "Medium", "medium": "Medium", "high": "High", "very-high": "High", "critical": "High",
		"0": "Unknown", "1": "High", "2": "Medium", "3": "Unknown", "4": "Low", "5": "Unknown", "6": "Info",
		"7": "Unknown", "8": "Unknown", "9": "Unknown", "10": "Unknown",
	}
)

// ceSeverity is the CEF severity CE writes for a Netskope record of subtype whose mapped
// Severity header value is v.
func ceSeverity(v, subtype string) string {
	m := ceSeverityMap
	if strings.EqualFold(subtype, "audit") {
		m = ceAuditSeverityMap
	}
	if s, ok := m[strings.ToLower(v)]; ok {
		return s
	}
	return "Unknown"
}

func textOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func appendCEFStart(dst []byte, h header) []byte {
	dst = append(dst, "CEF:0|"...)
	for _, v := range [...]string{h.vendor, h.product, h.version, h.classID, h.name, h.severity} {
		dst = appendCEFHeader(dst, v)
		dst = append(dst, '|')
	}
	return dst
}

// appendStampMillis writes t as 2006-01-02T15:04:05.000 (what AppendFormat writes for a year
// of four digits, without its cost).
func appendStampMillis(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	two := func(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	dst = append(two(dst, int(mo)), '-')
	dst = append(two(dst, d), 'T')
	dst = append(two(dst, h), ':')
	dst = append(two(dst, mi), ':')
	dst = append(two(dst, s), '.')
	return append(dst, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

// leefKey is the LEEF name of a CEF key: the CEF dictionary keys that LEEF predefines under
// another name are renamed, the others kept.
func leefKey(k string) string {
	switch k {
	case "suser":
		return "usrName"
	case "spriv":
		return "role"
	case "spt":
		return "srcPort"
	case "dpt":
		return "dstPort"
	case "dvchost":
		return "devName"
	case "smac":
		return "srcMAC"
	case "dmac":
		return "dstMAC"
	case "in":
		return "srcBytes"
	case "out":
		return "dstBytes"
	}
	return k
}

// LEEFTimeFormat is how devTime is written, and the devTimeFormat declared with it.
const (
	leefTimeLayout = "2006-01-02T15:04:05.000-0700"
	LEEFTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
)

// leafTime reads an rt value: epoch milliseconds, or an RFC 3339 time.
func leafTime(l mapping.Leaf) (time.Time, bool) {
	switch v := l.Value().(type) {
	case int64:
		return time.UnixMilli(v), true
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, true
		}
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.UnixMilli(ms), true
		}
	}
	return time.Time{}, false
}

// leefSeverity turns a CEF severity (0-10, or Unknown, Low, Medium, High, Very-High, and CE's
// Informational and Critical) into LEEF's 1-10.
func leefSeverity(s string) (int, bool) {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		return min(max(n, 1), 10), true
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info", "informational":
		return 1, true
	case "low":
		return 3, true
	case "medium":
		return 5, true
	case "high":
		return 8, true
	case "very-high", "very high", "critical":
		return 10, true
	}
	return 0, false
}
