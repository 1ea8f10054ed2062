package syslog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/event"
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

// Enricher computes fields of a CloudTrail record that the record does not hold itself
// (category, severity, OCSF class, ...). It writes them into computed, which the mapping reads
// as "logshipper.<name>" (the default mapping reads logshipper.severity, logshipper.category
// and logshipper.outcome). fields must not be modified. It is called from several goroutines.
//
// This is the seam for internal/cloudtrail: give its categoriser to WithEnricher.
type Enricher interface {
	Enrich(r *event.Record, fields map[string]any, computed map[string]any)
}

// EnricherFunc adapts a function to Enricher.
type EnricherFunc func(r *event.Record, fields map[string]any, computed map[string]any)

// Enrich implements Enricher.
func (f EnricherFunc) Enrich(r *event.Record, fields, computed map[string]any) {
	f(r, fields, computed)
}

// BasicEnricher is the built-in Enricher until internal/cloudtrail provides a real one:
// outcome is failure when the record has an errorCode; severity is 7 for access denials, 5 for
// other errors, 3 otherwise; category is the eventType (AwsApiCall, AwsConsoleSignIn, ...).
var BasicEnricher Enricher = EnricherFunc(func(_ *event.Record, fields, computed map[string]any) {
	code, _ := fields["errorCode"].(string)
	switch {
	case code == "":
		computed["outcome"], computed["severity"] = "success", "3"
	case strings.Contains(code, "AccessDenied") || strings.Contains(code, "Unauthorized") || strings.Contains(code, "Forbidden"):
		computed["outcome"], computed["severity"] = "failure", "7"
	default:
		computed["outcome"], computed["severity"] = "failure", "5"
	}
	if t, ok := fields["eventType"].(string); ok {
		computed["category"] = t
	}
})

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
}

func newEncoder(cfg *Config, hostname string, user *mapping.Set, enricher Enricher) *encoder {
	ns, ct := builtinMappings()
	return &encoder{
		cfg: cfg, pri: "<" + strconv.Itoa(cfg.pri()) + ">", hostname: hostname,
		delim: cfg.leefDelimiter(), user: user, netskope: ns, ctrail: ct, enricher: enricher,
		now: time.Now,
	}
}

// errUnknownRecord marks a record that is neither Netskope's nor CloudTrail's.
var errUnknownRecord = errors.New("neither a Netskope nor a CloudTrail record")

// message appends the syslog message of r (header and MSG, no framing) to dst. Errors are
// classified for the engine: Skipped (unmapped subtype) or Refused (not a JSON object, ...).
func (e *encoder) message(dst []byte, r *event.Record, scratch *[]byte) ([]byte, error) {
	dst = e.appendHeader(dst, r)
	var err error
	switch e.cfg.Format {
	case FormatJSON:
		dst, err = e.appendJSON(dst, r)
	default:
		dst, err = e.appendMapped(dst, r, scratch)
	}
	return dst, err
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
	dst = ts.AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	dst = append(dst, ' ')
	dst = appendHeaderToken(dst, host, 255)
	dst = append(dst, ' ')
	dst = appendHeaderToken(dst, e.cfg.AppName, 48)
	dst = append(dst, " - "...)
	dst = appendHeaderToken(dst, r.Type, 32)
	dst = append(dst, ' ')
	if !e.cfg.StructuredData {
		return append(dst, '-', ' ')
	}
	dst = append(dst, "[logshipper@32473"...)
	for _, p := range [...]struct{ k, v string }{{"source", r.Source}, {"type", r.Type}, {"id", r.ID}, {"log_source", e.logSource(r)}} {
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

// appendJSON writes the record's own JSON, compacted when it holds line breaks (newline framing
// must not see one), optionally inside an envelope.
func (e *encoder) appendJSON(dst []byte, r *event.Record) ([]byte, error) {
	raw := r.Raw
	if bytes.ContainsAny(raw, "\r\n") {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return dst, plugin.Refused("invalid", fmt.Errorf("record is not JSON: %w", err))
		}
		raw = b.Bytes()
	}
	if !e.cfg.JSONEnvelope {
		return append(dst, raw...), nil
	}
	dst = append(dst, `{"source":`...)
	dst = strconv.AppendQuote(dst, r.Source)
	if r.Type != "" {
		dst = append(dst, `,"type":`...)
		dst = strconv.AppendQuote(dst, r.Type)
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
	dst = append(dst, `,"event":`...)
	if !json.Valid(raw) {
		return dst, plugin.Refused("invalid", errors.New("record is not JSON"))
	}
	dst = append(dst, raw...)
	return append(dst, '}'), nil
}

// pick finds the mapping of a record and the fields to apply it to.
func (e *encoder) pick(r *event.Record) (*mapping.Mapping, map[string]any, error) {
	fields, err := r.Fields()
	if err != nil {
		return nil, nil, plugin.Refused("invalid", err)
	}
	if ep := r.Meta["netskope.endpoint"]; ep != "" {
		kind, subtype, _ := strings.Cut(ep, "/")
		set := e.netskope
		if e.user != nil && hasKind(e.user, kind) {
			set = e.user
		}
		m, ok := set.For(kind, subtype)
		if !ok {
			return nil, nil, plugin.Skipped(plugin.ReasonUnmapped, fmt.Errorf("the syslog mapping has nothing for Netskope %s", ep))
		}
		return m, fields, nil
	}
	name, _ := fields["eventName"].(string)
	src, _ := fields["eventSource"].(string)
	if name == "" || src == "" {
		return nil, fields, errUnknownRecord
	}
	set := e.ctrail
	if e.user != nil && hasKind(e.user, KindCloudTrail) {
		set = e.user
	}
	m, ok := set.For(KindCloudTrail, src)
	if !ok {
		if m, ok = set.For(KindCloudTrail, "default"); !ok {
			return nil, nil, plugin.Skipped(plugin.ReasonUnmapped, fmt.Errorf("the syslog mapping has neither cloudtrail.%s nor cloudtrail.default", src))
		}
	}
	// The computed fields the mapping reads as logshipper.<name>: a shallow copy of the record's
	// top level (fields is shared and must not change) with one object added.
	computed := make(map[string]any, 6)
	if t, ok := fields["eventTime"].(string); ok {
		if ts, err := time.Parse(time.RFC3339Nano, t); err == nil {
			computed["time_ms"] = ts.UnixMilli()
		}
	}
	if ls := e.logSource(r); ls != "" {
		computed["log_source"] = ls
	}
	if e.enricher != nil {
		e.enricher.Enrich(r, fields, computed)
	}
	withComputed := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		withComputed[k] = v
	}
	withComputed["logshipper"] = computed
	return m, withComputed, nil
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
	return h
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

// appendMapped writes a CEF or LEEF message.
func (e *encoder) appendMapped(dst []byte, r *event.Record, scratch *[]byte) ([]byte, error) {
	m, fields, err := e.pick(r)
	if errors.Is(err, errUnknownRecord) {
		return e.appendGeneric(dst, r), nil
	}
	if err != nil {
		return dst, err
	}
	out, err := m.Apply(fields)
	if err != nil {
		return dst, plugin.Refused("invalid", err)
	}
	h := e.headerOf(&out, r)
	ls := e.logSource(r)
	if e.cfg.Format == FormatLEEF {
		return e.appendLEEF(dst, h, &out, ls, scratch), nil
	}
	dst = appendCEFStart(dst, h)
	first := true
	for leaf := range out.Leaves() {
		if orphanLabel(&out, leaf.Name) {
			continue
		}
		n := len(dst)
		if !first {
			dst = append(dst, ' ')
		}
		k := len(dst)
		dst = appendKey(dst, leaf.Name)
		if len(dst) == k {
			dst = dst[:n]
			continue
		}
		first = false
		dst = append(dst, '=')
		*scratch = leaf.AppendText((*scratch)[:0])
		dst = appendCEFValue(dst, *scratch)
	}
	if ls != "" && !out.Has("dvchost") {
		if !first {
			dst = append(dst, ' ')
		}
		dst = append(dst, "dvchost="...)
		dst = appendCEFValue(dst, []byte(ls))
	}
	return dst, nil
}

func appendCEFStart(dst []byte, h header) []byte {
	dst = append(dst, "CEF:0|"...)
	for _, v := range [...]string{h.vendor, h.product, h.version, h.classID, h.name, h.severity} {
		dst = appendCEFHeader(dst, v)
		dst = append(dst, '|')
	}
	return dst
}

// leefKeys renames the CEF dictionary keys that LEEF predefines under another name.
var leefKeys = map[string]string{
	"suser": "usrName", "spt": "srcPort", "dpt": "dstPort", "dvchost": "devName",
	"smac": "srcMAC", "dmac": "dstMAC", "in": "srcBytes", "out": "dstBytes",
}

// LEEFTimeFormat is how devTime is written, and the devTimeFormat declared with it.
const (
	leefTimeLayout = "2006-01-02T15:04:05.000-0700"
	LEEFTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
)

func (e *encoder) appendLEEF(dst []byte, h header, out *mapping.Output, logSource string, scratch *[]byte) []byte {
	dst = append(dst, "LEEF:2.0|"...)
	for _, v := range [...]string{h.vendor, h.product, h.version, h.classID} {
		dst = appendLEEFHeader(dst, v)
		dst = append(dst, '|')
	}
	if e.delim == '\t' {
		dst = append(dst, "x09|"...)
	} else {
		dst = append(dst, e.delim, '|')
	}
	n0 := len(dst)
	sep := func() {
		if len(dst) > n0 {
			dst = append(dst, e.delim)
		}
	}
	if s, ok := leefSeverity(h.severity); ok {
		sep()
		dst = append(dst, "sev="...)
		dst = strconv.AppendInt(dst, int64(s), 10)
	}
	if h.name != "" {
		sep()
		dst = append(dst, "name="...)
		dst = appendLEEFValue(dst, []byte(h.name), e.delim)
	}
	for leaf := range out.Leaves() {
		if orphanLabel(out, leaf.Name) {
			continue
		}
		if leaf.Name == "rt" {
			if t, ok := leafTime(leaf); ok {
				sep()
				dst = append(dst, "devTime="...)
				dst = t.UTC().AppendFormat(dst, leefTimeLayout)
				dst = append(dst, e.delim)
				dst = append(dst, "devTimeFormat="+LEEFTimeFormat...)
				continue
			}
		}
		key := leaf.Name
		if k, ok := leefKeys[key]; ok {
			key = k
		}
		sep()
		n := len(dst)
		dst = appendKey(dst, key)
		if len(dst) == n {
			if n > n0 {
				dst = dst[:n-1] // the separator written for it
			}
			continue
		}
		dst = append(dst, '=')
		*scratch = leaf.AppendText((*scratch)[:0])
		dst = appendLEEFValue(dst, *scratch, e.delim)
	}
	if logSource != "" && !out.Has("dvchost") {
		sep()
		dst = append(dst, "devName="...)
		dst = appendLEEFValue(dst, []byte(logSource), e.delim)
	}
	return dst
}

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

// appendGeneric writes a record that is neither Netskope's nor CloudTrail's: a CEF or LEEF
// message whose msg holds the record's JSON.
func (e *encoder) appendGeneric(dst []byte, r *event.Record) []byte {
	class := r.Type
	if class == "" {
		class = "record"
	}
	ls := e.logSource(r)
	if e.cfg.Format == FormatLEEF {
		dst = append(dst, "LEEF:2.0|logshipper|logshipper|1.0|"...)
		dst = appendLEEFHeader(dst, class)
		if e.delim == '\t' {
			dst = append(dst, "|x09|"...)
		} else {
			dst = append(dst, '|', e.delim, '|')
		}
		if !r.Time.IsZero() {
			dst = append(dst, "devTime="...)
			dst = r.Time.UTC().AppendFormat(dst, leefTimeLayout)
			dst = append(dst, e.delim)
			dst = append(dst, "devTimeFormat="+LEEFTimeFormat...)
			dst = append(dst, e.delim)
		}
		if ls != "" {
			dst = append(dst, "devName="...)
			dst = appendLEEFValue(dst, []byte(ls), e.delim)
			dst = append(dst, e.delim)
		}
		dst = append(dst, "msg="...)
		return appendLEEFValue(dst, r.Raw, e.delim)
	}
	dst = appendCEFStart(dst, header{vendor: "logshipper", product: "logshipper", version: "1.0", classID: class, name: class, severity: "Unknown"})
	if !r.Time.IsZero() {
		dst = append(dst, "rt="...)
		dst = strconv.AppendInt(dst, r.Time.UnixMilli(), 10)
		dst = append(dst, ' ')
	}
	if ls != "" {
		dst = append(dst, "dvchost="...)
		dst = appendCEFValue(dst, []byte(ls))
		dst = append(dst, ' ')
	}
	if r.ID != "" {
		dst = append(dst, "externalId="...)
		dst = appendCEFValue(dst, []byte(r.ID))
		dst = append(dst, ' ')
	}
	dst = append(dst, "msg="...)
	return appendCEFValue(dst, r.Raw)
}

// orphanLabel reports a custom-field label (cs1Label, cn2Label, ...) whose field has no value
// in this record: a label alone says nothing, so it is left out.
func orphanLabel(out *mapping.Output, name string) bool {
	field, ok := strings.CutSuffix(name, "Label")
	return ok && field != "" && !out.Has(field)
}
