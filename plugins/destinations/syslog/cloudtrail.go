package syslog

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/mapping"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Enricher computes the fields of a CloudTrail record that the record does not hold itself
// (category, severity, OCSF class, ...). It writes them into computed, which a mapping reads as
// "logshipper.<name>". env is what the record's source said of the wrapper it found the record
// in (envelopeOf: Form, LogGroup and LogStream only). ev and env must not be modified. It is
// called from several goroutines.
//
// The default is CloudTrailEnricher. Another Enricher (WithEnricher) sends CloudTrail records
// through the mapping path, as a configured cloudtrail mapping does.
type Enricher interface {
	Enrich(ev *cloudtrailrecord.Event, env *cloudtrailrecord.Envelope, computed map[string]any)
}

// EnricherFunc adapts a function to Enricher.
type EnricherFunc func(ev *cloudtrailrecord.Event, env *cloudtrailrecord.Envelope, computed map[string]any)

// Enrich implements Enricher.
func (f EnricherFunc) Enrich(ev *cloudtrailrecord.Event, env *cloudtrailrecord.Envelope, computed map[string]any) {
	f(ev, env, computed)
}

// CloudTrailEnricher is the default Enricher: what internal/cloudtrailrecord derives from a record.
// Keys, each present only when it has a value: the record's own fields as cloudtrail.Event
// reads them (event_name, event_source and event_version: insightDetails' for an Insight
// event, Lake's version; source_ip, user_agent, event_id, error_code, error_message,
// aws_region, recipient_account_id, identity_type, access_key_id), account_id (recipientAccountId,
// else userIdentity.accountId), category, action, outcome, severity (0-10, an
// int64), user_name (the derived user name), user_id (userIdentity.arn, else principalId,
// else onBehalfOf.userId), role_name and session_name (an assumed role's), attack_technique
// and attack_technique_name (the MITRE ATT&CK technique of a call the attack table lists),
// ocsf_class_uid, ocsf_class_name, ocsf_activity_id, ocsf_activity_name, ocsf_type_uid,
// ocsf_category_uid (int64s and strings), parse_status ("ok"), input_form (record,
// cloudwatch, qradar, subscription, records_file: Meta input_form), log_group and log_stream
// (Meta aws.log_group and aws.log_stream, for a record that came in a wrapper). The encoder
// adds time_ms and log_source itself.
var CloudTrailEnricher Enricher = cloudTrailEnricher{}

type cloudTrailEnricher struct{}

func (cloudTrailEnricher) Enrich(ev *cloudtrailrecord.Event, env *cloudtrailrecord.Envelope, c map[string]any) {
	setStr := func(k, v string) {
		if v != "" {
			c[k] = v
		}
	}
	setStr("event_name", ev.EventName)
	setStr("event_source", ev.EventSource)
	setStr("event_version", ev.EventVersion)
	setStr("source_ip", ev.SourceIPAddress)
	setStr("user_agent", ev.UserAgent)
	setStr("event_id", ev.EventID)
	setStr("error_code", ev.ErrorCode)
	setStr("error_message", ev.ErrorMessage)
	setStr("aws_region", ev.AWSRegion)
	setStr("recipient_account_id", ev.RecipientAccountID)
	setStr("account_id", ev.AccountID)
	setStr("identity_type", ev.Identity.Type)
	setStr("access_key_id", ev.Identity.AccessKeyID)
	setStr("category", ev.Category)
	setStr("action", ev.Action)
	setStr("outcome", string(ev.Outcome))
	c["severity"] = int64(ev.Severity)
	setStr("user_name", ev.Identity.UserName)
	setStr("user_id", userID(ev))
	setStr("role_name", ev.Identity.RoleName)
	setStr("session_name", ev.Identity.SessionName)
	setStr("attack_technique", ev.Technique)
	setStr("attack_technique_name", ev.TechniqueName)
	if o := ev.OCSF; o.ClassUID != 0 {
		c["ocsf_class_uid"] = int64(o.ClassUID)
		setStr("ocsf_class_name", o.ClassName)
		c["ocsf_activity_id"] = int64(o.ActivityID)
		setStr("ocsf_activity_name", o.ActivityName)
		c["ocsf_type_uid"] = int64(o.TypeUID())
		c["ocsf_category_uid"] = int64(o.CategoryUID)
	}
	c["parse_status"] = string(cloudtrailrecord.StatusOK)
	c["input_form"] = env.Form.String()
	setStr("log_group", env.LogGroup)
	setStr("log_stream", env.LogStream)
}

// userID is what identifies the caller: the ARN, else the principal id, else the IAM
// Identity Center user the request was made for.
func userID(ev *cloudtrailrecord.Event) string {
	switch {
	case ev.Identity.ARN != "":
		return ev.Identity.ARN
	case ev.Identity.PrincipalID != "":
		return ev.Identity.PrincipalID
	}
	return ev.Identity.OnBehalfOfUserID
}

// AttackTechniqueKey is the CEF and LEEF key of the MITRE ATT&CK technique id. Neither
// dictionary has one, so it is a custom key named as the CEF specification asks of custom
// extension keys: vendor name, product name, explanatory name ("Implementing ArcSight CEF",
// Custom Extensions).
const AttackTechniqueKey = "AWSCloudTrailMitreTechnique"

// encScratch is the per-message working memory of appendMapped.
type encScratch struct {
	ev     cloudtrailrecord.Event
	parsed bool // ev holds a parse (putScratch clears it)
	env    cloudtrailrecord.Envelope
	list   fieldList
}

// fieldList is the extension of one CEF or LEEF message, in order and not yet escaped. The
// mapping path and the CloudTrail fast path both fill one, and one writer per format turns it
// into text, so the two paths cannot differ in how they write.
type fieldList struct {
	buf   []byte // the value texts of the pairs inBuf, end to end
	pairs []pair
}

type pair struct {
	key string
	// The value text: buf[start:end] when inBuf, else s.
	s          string
	start, end int
	inBuf      bool
	ms         int64 // isTime: the value as epoch milliseconds (LEEF devTime)
	isTime     bool
	fromRecord bool // the mapping read the value from the record (not a fixed text)
	// word: key is known to be letters, digits and underscores (a key the code names), so
	// the writers copy it as it is.
	word bool
	// kept: written whatever else the list holds (a label added with its field's value).
	kept bool
}

func (l *fieldList) reset() { l.buf, l.pairs = l.buf[:0], l.pairs[:0] }

// appendCEF and appendLEEF append p's value text escaped for the format.
func (l *fieldList) appendCEF(dst []byte, p *pair) []byte {
	if p.inBuf {
		return appendCEFValue(dst, l.buf[p.start:p.end])
	}
	return appendCEFValue(dst, p.s)
}

func (l *fieldList) appendLEEF(dst []byte, p *pair, delim byte) []byte {
	if p.inBuf {
		return appendLEEFValue(dst, l.buf[p.start:p.end], delim)
	}
	return appendLEEFValue(dst, p.s, delim)
}

// addString adds the pair k=v unless v is empty; k is a key the code names.
func (l *fieldList) addString(k, v string) {
	if v == "" {
		return
	}
	l.pairs = append(l.pairs, pair{key: k, s: v, word: true})
}

// addInt adds the pair k=v; k is a key the code names.
func (l *fieldList) addInt(k string, v int64) {
	n := len(l.buf)
	l.buf = strconv.AppendInt(l.buf, v, 10)
	l.pairs = append(l.pairs, pair{key: k, start: n, end: len(l.buf), inBuf: true, word: true})
}

// addLabeled adds the custom field k=v with its label (k+"Label"=label, given as labelKey)
// before it, both only when v is not empty: a label alone is an orphan, left out.
func (l *fieldList) addLabeled(labelKey, label, k, v string) {
	if v == "" {
		return
	}
	l.pairs = append(l.pairs, pair{key: labelKey, s: label, word: true, kept: true}, pair{key: k, s: v, word: true})
}

// addLabeledInt is addLabeled for an integer value, present when ok.
func (l *fieldList) addLabeledInt(labelKey, label, k string, v int64, ok bool) {
	if !ok {
		return
	}
	l.pairs = append(l.pairs, pair{key: labelKey, s: label, word: true, kept: true})
	l.addInt(k, v)
}

func (l *fieldList) addLeaf(leaf mapping.Leaf) {
	n := len(l.buf)
	l.buf = leaf.AppendText(l.buf)
	p := pair{key: leaf.Name, start: n, end: len(l.buf), inBuf: true, fromRecord: leaf.FromRecord()}
	if leaf.Name == "rt" {
		if t, ok := leafTime(leaf); ok {
			p.ms, p.isTime = t.UnixMilli(), true
		}
	}
	l.pairs = append(l.pairs, p)
}

func (l *fieldList) has(k string) bool {
	for i := range l.pairs {
		if l.pairs[i].key == k {
			return true
		}
	}
	return false
}

// orphan reports a custom-field label (cs1Label, cn2Label, flexString1Label, ...) whose text
// is fixed (the mapping's default_value, or the built-in CloudTrail labels) and whose field has
// no value in this record: such a label alone says nothing, so it is left out. A label the
// mapping read from the record carries data and is kept: CE's incident mapping puts the
// record's severity, acting_user, file_lang ... in cfp3Label, c6a4Label, c6a1Label ... with no
// field beside them, and CE's syslog plugin sends them.
func (l *fieldList) orphan(p *pair) bool {
	if p.fromRecord || p.kept {
		return false
	}
	field, ok := strings.CutSuffix(p.key, "Label")
	return ok && field != "" && !l.has(field)
}

// appendPairKey appends a pair's key: as it is when it is known to be a word, else its letters,
// digits and underscores.
func appendPairKey(dst []byte, key string, word bool) []byte {
	if word {
		return append(dst, key...)
	}
	return appendKey(dst, key)
}

// appendMapped writes a CEF or LEEF message, chosen by the record's Kind alone: a Netskope
// record through the Netskope mapping of its class and Subtype, a CloudTrail record from its
// parsed cloudtrailrecord.Event, anything else as a generic message carrying parse_status.
func (e *encoder) appendMapped(dst []byte, r *event.Record) ([]byte, error) {
	s := e.scratch.Get().(*encScratch)
	defer e.putScratch(s)
	switch r.Kind {
	case event.KindNetskopeEvent, event.KindNetskopeAlert:
		return e.appendNetskope(dst, r, &s.list)
	case event.KindCloudTrail:
		ev, err := s.cloudTrail(r)
		if err != nil {
			// A record its source took for CloudTrail that is not: sent whole, as it came.
			return e.appendGeneric(dst, r, r.Raw, cloudtrailrecord.StatusOf(err)), nil
		}
		s.env = envelopeOf(r)
		return e.appendCloudTrail(dst, r, &s.env, ev, &s.list)
	default:
		return e.appendGeneric(dst, r, r.Raw, genericStatus(r)), nil
	}
}

// cloudTrail returns the parse of the CloudTrail record r: the one its source made
// (r.Parsed), when it was made from the record's own bytes, else one made here into s.ev.
func (s *encScratch) cloudTrail(r *event.Record) (*cloudtrailrecord.Event, error) {
	b := r.RecordBytes()
	if ev, ok := cloudtrailrecord.Parsed(r.Parsed, b); ok {
		return ev, nil
	}
	s.parsed = true
	if err := cloudtrailrecord.ParseInto(&s.ev, b); err != nil {
		return nil, err
	}
	return &s.ev, nil
}

// putScratch returns s to the pool, holding nothing of the record it served.
func (e *encoder) putScratch(s *encScratch) {
	if s.parsed {
		s.ev, s.parsed = cloudtrailrecord.Event{}, false
	}
	s.env = cloudtrailrecord.Envelope{}
	// The pairs' strings may share the record's bytes (a page of a source): a pooled scratch
	// must not keep them alive. reset truncates at the next use, so only these need clearing.
	clear(s.list.pairs)
	e.scratch.Put(s)
}

// genericStatus is the parse_status of a record that is not read as CloudTrail because its
// Kind is not cloudtrail: not_json when the record (Payload when Raw is an envelope around it)
// is not well-formed JSON, else not_cloudtrail.
func genericStatus(r *event.Record) cloudtrailrecord.Status {
	if !cloudtrailrecord.WellFormed(r.RecordBytes()) {
		return cloudtrailrecord.StatusNotJSON
	}
	return cloudtrailrecord.StatusNotCloudTrail
}

// envelopeOf is what the record's source said of the wrapper it found the record in: the
// input form (Meta input_form; record when absent) and, for a wrapped record, the log group
// and log stream it was read from (Meta aws.log_group, aws.log_stream).
func envelopeOf(r *event.Record) cloudtrailrecord.Envelope {
	form, ok := cloudtrailrecord.FormNamed(r.Meta[event.MetaInputForm])
	if !ok || form == cloudtrailrecord.FormRecord {
		return cloudtrailrecord.Envelope{}
	}
	return cloudtrailrecord.Envelope{Form: form, LogGroup: r.Meta[event.MetaLogGroup], LogStream: r.Meta[event.MetaLogStream]}
}

// netskopeKind is the mapping kind of a Netskope record: "alerts" or "events" (the keys of
// the Netskope mapping files).
func netskopeKind(k event.Kind) string { return k.Class() + "s" }

func (e *encoder) appendNetskope(dst []byte, r *event.Record, l *fieldList) ([]byte, error) {
	l.reset()
	fields, err := r.Fields()
	if err != nil {
		return dst, plugin.Refused("invalid", err)
	}
	m, err := e.netskopeMapping(netskopeKind(r.Kind), r.Subtype)
	if err != nil {
		return dst, err
	}
	h, err := e.applyMapping(m, fields, r, l)
	if err != nil {
		return dst, err
	}
	return e.appendBody(dst, h, l, e.logSource(r)), nil
}

// appendCloudTrail writes the message of the CloudTrail record ev (the parse of r).
func (e *encoder) appendCloudTrail(dst []byte, r *event.Record, env *cloudtrailrecord.Envelope, ev *cloudtrailrecord.Event, l *fieldList) ([]byte, error) {
	l.reset()
	ls := e.logSource(r)
	var h header
	if e.fastPath() {
		h = cloudTrailHeader(ev)
		fillCloudTrail(l, ev, env, ls)
	} else {
		m, err := e.cloudTrailMapping(ev.EventSource)
		if err != nil {
			return dst, err
		}
		fields, err := e.cloudTrailFields(r, env, ev)
		if err != nil {
			return dst, err
		}
		if h, err = e.applyMapping(m, fields, r, l); err != nil {
			return dst, err
		}
	}
	return e.appendBody(dst, h, l, ls), nil
}

// jsonFacts are what the JSON envelope says of a record beside it: its parse status ("" for
// Netskope records, which are not CloudTrail's to judge; for a CloudTrail record, whether it
// reads as one; for any other, genericStatus) and, for a CloudTrail record whose call the
// attack table of internal/cloudtrailrecord lists, the MITRE ATT&CK technique id. A CloudTrail
// record is parsed once for both, or not at all when its source's parse travels with it.
func (e *encoder) jsonFacts(r *event.Record) (status cloudtrailrecord.Status, technique string) {
	switch r.Kind {
	case event.KindNetskopeEvent, event.KindNetskopeAlert:
		return "", ""
	case event.KindCloudTrail:
		s := e.scratch.Get().(*encScratch)
		defer e.putScratch(s)
		ev, err := s.cloudTrail(r)
		if err != nil {
			return cloudtrailrecord.StatusOf(err), ""
		}
		return cloudtrailrecord.StatusOK, ev.Technique
	default:
		return genericStatus(r), ""
	}
}

// fastPath: CloudTrail records are written from the typed cloudtrail.Event, not through the
// default mapping (the same output, a tenth of the time; TestFastPathMatchesMapping checks).
func (e *encoder) fastPath() bool {
	return !e.noFast && !e.userCloudTrail && e.enricher == CloudTrailEnricher
}

func (e *encoder) netskopeMapping(kind, subtype string) (*mapping.Mapping, error) {
	set := e.netskope
	if e.user != nil && hasKind(e.user, kind) {
		set = e.user
	}
	m, ok := set.For(kind, subtype)
	if !ok {
		return nil, plugin.Skipped(plugin.ReasonUnmapped, fmt.Errorf("the syslog mapping has nothing for Netskope %s/%s", kind, subtype))
	}
	return m, nil
}

func (e *encoder) cloudTrailMapping(src string) (*mapping.Mapping, error) {
	set := e.ctrail
	if e.userCloudTrail {
		set = e.user
	}
	if m, ok := set.For(KindCloudTrail, src); ok {
		return m, nil
	}
	if m, ok := set.For(KindCloudTrail, "default"); ok {
		return m, nil
	}
	return nil, plugin.Skipped(plugin.ReasonUnmapped, fmt.Errorf("the syslog mapping has neither cloudtrail.%s nor cloudtrail.default", src))
}

// cloudTrailFields returns what a mapping reads from a CloudTrail record: its fields (those of
// Payload when Raw is an envelope around it), with the computed ones under "logshipper".
func (e *encoder) cloudTrailFields(r *event.Record, env *cloudtrailrecord.Envelope, ev *cloudtrailrecord.Event) (map[string]any, error) {
	var fields map[string]any
	var err error
	if r.Payload == nil {
		fields, err = r.Fields()
	} else {
		inner := event.Record{Raw: r.Payload}
		fields, err = inner.Fields()
	}
	if err != nil {
		return nil, plugin.Refused("invalid", err)
	}
	computed := make(map[string]any, 20)
	if !ev.EventTime.IsZero() {
		computed["time_ms"] = ev.EventTime.UnixMilli()
	}
	if ls := e.logSource(r); ls != "" {
		computed["log_source"] = ls
	}
	if e.enricher != nil {
		e.enricher.Enrich(ev, env, computed)
	}
	// A shallow copy: fields is the record's cache and must not change.
	with := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		with[k] = v
	}
	with["logshipper"] = computed
	return with, nil
}

// applyMapping maps fields into l and returns the CEF header.
func (e *encoder) applyMapping(m *mapping.Mapping, fields map[string]any, r *event.Record, l *fieldList) (header, error) {
	out, err := m.Apply(fields)
	if err != nil {
		return header{}, plugin.Refused("invalid", err)
	}
	for leaf := range out.Leaves() {
		l.addLeaf(leaf)
	}
	return e.headerOf(&out, r), nil
}

// cloudTrailHeader is the header the default mapping (defaults/cloudtrail.json) gives ev.
func cloudTrailHeader(ev *cloudtrailrecord.Event) header {
	h := header{vendor: "AWS", product: "CloudTrail", version: ev.EventVersion, classID: ev.EventName, name: ev.EventName,
		severity: strconv.Itoa(ev.Severity)}
	if h.version == "" {
		h.version = "1.0"
	}
	if h.classID == "" {
		h.classID, h.name = "unknown", "unknown"
	}
	return h
}

// fillCloudTrail writes the extension the default mapping (defaults/cloudtrail.json) gives ev,
// in its order. Keep the two in step: TestFastPathMatchesMapping compares them.
func fillCloudTrail(l *fieldList, ev *cloudtrailrecord.Event, env *cloudtrailrecord.Envelope, logSource string) {
	if !ev.EventTime.IsZero() {
		ms := ev.EventTime.UnixMilli()
		l.addInt("rt", ms)
		p := &l.pairs[len(l.pairs)-1]
		p.ms, p.isTime = ms, true
	}
	l.addString("cat", ev.Category)
	l.addString("act", ev.EventName)
	l.addString("outcome", string(ev.Outcome))
	if isIP(ev.SourceIPAddress) {
		l.addString("src", ev.SourceIPAddress)
	}
	l.addString("suser", ev.Identity.UserName)
	l.addString("suid", userID(ev))
	l.addString("spriv", ev.Identity.RoleName)
	l.addString("requestClientApplication", ev.UserAgent)
	l.addString("externalId", ev.EventID)
	l.addString("reason", ev.ErrorMessage)
	l.addLabeled("cs1Label", "eventSource", "cs1", ev.EventSource)
	l.addLabeled("cs2Label", "awsRegion", "cs2", ev.AWSRegion)
	l.addLabeled("cs3Label", "recipientAccountId", "cs3", ev.AccountID)
	l.addLabeled("cs4Label", "errorCode", "cs4", ev.ErrorCode)
	l.addLabeled("cs5Label", "userIdentityType", "cs5", ev.Identity.Type)
	l.addLabeled("cs6Label", "accessKeyId", "cs6", ev.Identity.AccessKeyID)
	o := ev.OCSF
	l.addLabeledInt("cn1Label", "ocsfClassUid", "cn1", int64(o.ClassUID), o.ClassUID != 0)
	l.addLabeledInt("cn2Label", "ocsfActivityId", "cn2", int64(o.ActivityID), o.ClassUID != 0)
	l.addLabeledInt("cn3Label", "ocsfTypeUid", "cn3", int64(o.TypeUID()), o.ClassUID != 0)
	l.addLabeled("flexString1Label", "ocsfClassName", "flexString1", o.ClassName)
	l.addLabeled("flexString2Label", "ocsfActivityName", "flexString2", o.ActivityName)
	l.addString(AttackTechniqueKey, ev.Technique)
	l.addString("deviceFacility", env.LogGroup)
	l.addString("deviceExternalId", env.LogStream)
	l.addString("dvchost", logSource)
}

// appendLEEFTime writes epoch milliseconds as devTime (leefTimeLayout, UTC).
func appendLEEFTime(dst []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return t.AppendFormat(dst, leefTimeLayout)
	}
	return append(appendStampMillis(dst, t), "+0000"...)
}

// isIP is the mapping's "IP Address" transformation as a test.
func isIP(s string) bool {
	s = strings.TrimSpace(s)
	// Only hex digits, dots and colons come before an IPv6 zone: anything else (a host name,
	// "AWS Internal") is no address, told without the error netip would allocate.
	for i := 0; i < len(s) && s[i] != '%'; i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':') {
			return false
		}
	}
	if s == "" {
		return false
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// appendBody writes the CEF or LEEF message of a header and its extension.
func (e *encoder) appendBody(dst []byte, h header, l *fieldList, logSource string) []byte {
	if e.cfg.Format == FormatLEEF {
		return e.appendLEEF(dst, h, l, logSource)
	}
	dst = appendCEFStart(dst, h)
	first := true
	for i := range l.pairs {
		p := &l.pairs[i]
		if l.orphan(p) {
			continue
		}
		n := len(dst)
		if !first {
			dst = append(dst, ' ')
		}
		k := len(dst)
		dst = appendPairKey(dst, p.key, p.word)
		if len(dst) == k {
			dst = dst[:n]
			continue
		}
		first = false
		dst = append(dst, '=')
		dst = l.appendCEF(dst, p)
	}
	if logSource != "" && !l.has("dvchost") {
		if !first {
			dst = append(dst, ' ')
		}
		dst = append(dst, "dvchost="...)
		dst = appendCEFValue(dst, logSource)
	}
	return dst
}

func (e *encoder) appendLEEF(dst []byte, h header, l *fieldList, logSource string) []byte {
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
	if s, ok := leefSeverity(h.severity); ok {
		dst = leefSep(dst, n0, e.delim)
		dst = append(dst, "sev="...)
		dst = strconv.AppendInt(dst, int64(s), 10)
	}
	if h.name != "" {
		dst = leefSep(dst, n0, e.delim)
		dst = append(dst, "name="...)
		dst = appendLEEFValue(dst, h.name, e.delim)
	}
	for i := range l.pairs {
		p := &l.pairs[i]
		if l.orphan(p) {
			continue
		}
		if p.key == "rt" && p.isTime {
			dst = leefSep(dst, n0, e.delim)
			dst = append(dst, "devTime="...)
			dst = appendLEEFTime(dst, p.ms)
			dst = append(dst, e.delim)
			dst = append(dst, "devTimeFormat="+LEEFTimeFormat...)
			continue
		}
		dst = leefSep(dst, n0, e.delim)
		n := len(dst)
		dst = appendPairKey(dst, leefKey(p.key), p.word)
		if len(dst) == n {
			if n > n0 {
				dst = dst[:n-1] // the separator written for it
			}
			continue
		}
		dst = append(dst, '=')
		dst = l.appendLEEF(dst, p, e.delim)
	}
	if logSource != "" && !l.has("dvchost") {
		dst = leefSep(dst, n0, e.delim)
		dst = append(dst, "devName="...)
		dst = appendLEEFValue(dst, logSource, e.delim)
	}
	return dst
}

// leefSep appends the delimiter before an attribute: unless dst ends at n0 (the attributes'
// start, where none is written yet).
func leefSep(dst []byte, n0 int, delim byte) []byte {
	if len(dst) > n0 {
		dst = append(dst, delim)
	}
	return dst
}

// appendGeneric writes a record that is not read as Netskope's or CloudTrail's: a CEF or LEEF
// message whose msg (last) holds the record as it came (Raw), with parse_status saying why it
// is not mapped as CloudTrail. Its class is the record's type (msgType), else "record".
func (e *encoder) appendGeneric(dst []byte, r *event.Record, raw []byte, status cloudtrailrecord.Status) []byte {
	class := msgType(r)
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
			dst = appendLEEFTime(dst, r.Time.UnixMilli())
			dst = append(dst, e.delim)
			dst = append(dst, "devTimeFormat="+LEEFTimeFormat...)
			dst = append(dst, e.delim)
		}
		if ls != "" {
			dst = append(dst, "devName="...)
			dst = appendLEEFValue(dst, ls, e.delim)
			dst = append(dst, e.delim)
		}
		if r.ID != "" {
			dst = append(dst, "externalId="...)
			dst = appendLEEFValue(dst, r.ID, e.delim)
			dst = append(dst, e.delim)
		}
		dst = append(dst, "parse_status="...)
		dst = append(dst, status...)
		dst = append(dst, e.delim)
		dst = append(dst, "msg="...)
		return appendLEEFValue(dst, raw, e.delim)
	}
	dst = appendCEFStart(dst, header{vendor: "logshipper", product: "logshipper", version: "1.0", classID: class, name: class, severity: "Unknown"})
	if !r.Time.IsZero() {
		dst = append(dst, "rt="...)
		dst = strconv.AppendInt(dst, r.Time.UnixMilli(), 10)
		dst = append(dst, ' ')
	}
	if ls != "" {
		dst = append(dst, "dvchost="...)
		dst = appendCEFValue(dst, ls)
		dst = append(dst, ' ')
	}
	if r.ID != "" {
		dst = append(dst, "externalId="...)
		dst = appendCEFValue(dst, r.ID)
		dst = append(dst, ' ')
	}
	dst = append(dst, "parse_status="...)
	dst = append(dst, status...)
	dst = append(dst, " msg="...)
	return appendCEFValue(dst, raw)
}
