// Package cloudtraillake is the AWS CloudTrail Lake destination: it maps records (Netskope
// events and alerts) into CloudTrail Lake open audit events with a Cloud Exchange mapping, and
// delivers them with PutAuditEvents to a channel, reporting each record's outcome.
package cloudtraillake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
	"github.com/logshipper/logshipper/internal/lakeapi"
	"github.com/logshipper/logshipper/internal/mapping"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Type is the plugin type name.
const Type = "aws_cloudtrail_lake"

// The service's limits.
const (
	maxEvents         = 100
	maxBody           = 1 << 20
	maxAdditionalData = 28 * 1024
)

// Factory registers the destination.
func Factory() plugin.Factory {
	return plugin.Factory{
		Type:      Type,
		Kind:      plugin.KindDestination,
		Summary:   "maps records to CloudTrail Lake open audit events and puts them into a channel",
		Checks:    true,
		NewConfig: NewConfig,
		NewDestination: func(c plugin.Config, set plugin.Settings) (plugin.Destination, error) {
			return New(context.Background(), c.(*Config), set)
		},
		// A batch is one PutAuditEvents call: the API's 100 events and the body BatchLimits
		// allows. Eight calls in flight can reach the service's 100 calls a second when a call
		// takes up to 80 ms; 2,000 queued records are 20 calls.
		Delivery: plugin.DeliveryDefaults{
			BatchMaxRecords: maxEvents,
			BatchMaxBytes:   maxBody - 64<<10,
			Workers:         8,
			QueueSize:       2000,
		},
	}
}

// Destination puts audit events into one channel.
type Destination struct {
	cfg     *Config
	set     plugin.Settings
	client  *lakeapi.Client
	maps    *mapping.Set
	account string
	// calls paces PutAuditEvents at calls_per_second, times this member's share of the
	// account's quota in cluster mode (every member delivers what its sources read).
	calls *plugin.QuotaLimiter
	// fieldsOf caches each mapping's member flags (memberFlags), by *mapping.Mapping.
	fieldsOf sync.Map
	// summary gathers what was ingested for the periodic INFO line.
	summary ingestSummary
}

// summaryEvery is how often the destination logs what it ingested (each call is a DEBUG line):
// at full rate a line per call would be about a hundred a second.
const summaryEvery = 10 * time.Second

// ingestSummary counts events ingested and failed by label ("dlp alerts") between two summary
// lines.
type ingestSummary struct {
	mu               sync.Mutex
	last             time.Time
	ingested, failed map[string]int
}

// add counts one Write's results; when a summary line is due it returns the counts since the
// last one and starts afresh.
func (s *ingestSummary) add(ingested, failed map[string]int) (in, fail map[string]int, due bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ingested == nil {
		s.ingested, s.failed = map[string]int{}, map[string]int{}
	}
	for k, n := range ingested {
		s.ingested[k] += n
	}
	for k, n := range failed {
		s.failed[k] += n
	}
	if time.Since(s.last) < summaryEvery || len(s.ingested)+len(s.failed) == 0 {
		return nil, nil, false
	}
	in, fail = s.ingested, s.failed
	s.ingested, s.failed, s.last = map[string]int{}, map[string]int{}, time.Now()
	return in, fail, true
}

var (
	_ plugin.Destination = (*Destination)(nil)
	_ plugin.Limited     = (*Destination)(nil)
	_ plugin.Checker     = (*Destination)(nil)
	_ plugin.KindRefuser = (*Destination)(nil)
)

// New builds the destination: credentials, the client for the channel's region, the mapping.
func New(ctx context.Context, cfg *Config, set plugin.Settings) (*Destination, error) {
	region, account, _, err := lakeapi.ParseChannelARN(cfg.ChannelARN)
	if err != nil {
		return nil, fmt.Errorf("channel_arn: %w", err)
	}
	awsCfg, err := awsauth.Load(ctx, cfg.AWS, region, awsauth.WithLogger(set.Logger))
	if err != nil {
		return nil, err
	}
	maps := mapping.DefaultCloudTrail()
	if cfg.Mapping != "" {
		if maps, err = mapping.LoadFile(cfg.Mapping); err != nil {
			return nil, fmt.Errorf("mapping: %w", err)
		}
	}
	return &Destination{
		cfg: cfg, set: set, maps: maps, account: account,
		client: lakeapi.New(awsCfg, func(o *lakeapi.Options) { o.Region = region }),
		calls: plugin.NewQuotaLimiter(float64(cfg.CallsPerSecond), 1,
			set.ShareOf().Quota(plugin.QuotaKey("PutAuditEvents", region, account), float64(cfg.CallsPerSecond)), set.Logger),
	}, nil
}

// BatchLimits implements plugin.Limited: at most 100 events a call. The 1 MB body limit is
// kept by Write, which splits a batch whose eventData grew in mapping.
func (d *Destination) BatchLimits() plugin.BatchLimits {
	return plugin.BatchLimits{MaxRecords: maxEvents, MaxBytes: maxBody - 64<<10}
}

// RefuseKind implements plugin.KindRefuser, as the configuration answers it.
func (d *Destination) RefuseKind(kind event.Kind, subtype string) (reason string, refused bool) {
	return d.cfg.RefuseKind(kind, subtype)
}

// Check implements plugin.Checker: GetChannel tells wrong credentials, a missing permission
// and an unknown channel apart.
func (d *Destination) Check(ctx context.Context) error {
	_, err := d.client.GetChannel(ctx, d.cfg.ChannelARN)
	if err == nil {
		return nil
	}
	var api *lakeapi.APIError
	switch {
	case lakeapi.IsAuth(err):
		return fmt.Errorf("the credentials were refused (%v): check access_key_id/secret_access_key, the profile or the instance role", err)
	case errors.As(err, &api) && strings.Contains(api.Code, "AccessDenied"):
		return fmt.Errorf("the credentials may not read the channel (%v): the policy needs cloudtrail:GetChannel and cloudtrail-data:PutAuditEvents", err)
	case errors.As(err, &api) && strings.Contains(api.Code, "ChannelNotFound"):
		return fmt.Errorf("no channel %s in that account and region (%v)", d.cfg.ChannelARN, err)
	}
	return fmt.Errorf("GetChannel %s: %w", d.cfg.ChannelARN, err)
}

// prepared is one record ready to be sent.
type prepared struct {
	idx     int
	ev      lakeapi.AuditEvent
	label   string // "dlp alerts", "audit events": for the batch log line
	payload int
}

// Write implements plugin.Destination.
func (d *Destination) Write(ctx context.Context, recs []*event.Record) error {
	failed := map[int]error{}
	var ready []prepared
	seen := map[string]bool{}
	// The batch's eventData are written one after the other into a pooled buffer: they are
	// copied into the request bodies before Write returns, and nothing keeps them after.
	arena := eventDataPool.Get().(*[]byte)
	defer releaseEventData(arena)
	for i, r := range recs {
		p, err := d.prepareInto(r, arena)
		if err != nil {
			failed[i] = err
			continue
		}
		if seen[p.ev.ID] {
			// The same id is the same _id and the same eventData: the record twice (a source
			// that read it twice). The first is sent; this one is counted as a duplicate.
			failed[i] = plugin.Skipped(plugin.ReasonDuplicate, fmt.Errorf("the same record (audit event id %s) twice in one batch", p.ev.ID))
			continue
		}
		seen[p.ev.ID] = true
		p.idx = i
		ready = append(ready, p)
	}
	d.logSkipped(recs, failed)
	ingested, notIngested := map[string]int{}, map[string]int{}
	for len(ready) > 0 {
		n, size := 0, 64
		for n < len(ready) && n < maxEvents && size+ready[n].payload <= maxBody {
			size += ready[n].payload
			n++
		}
		if n == 0 { // one event larger than a call on its own
			failed[ready[0].idx] = plugin.Refused("FieldTooLong", fmt.Errorf("eventData of %d bytes does not fit in a 1 MB call", ready[0].payload))
			ready = ready[1:]
			continue
		}
		call := ready[:n]
		ready = ready[n:]
		if err := d.put(ctx, call, failed, ingested, notIngested); err != nil {
			return err
		}
	}
	d.logIngested(ctx, ingested, notIngested)
	if len(failed) > 0 {
		return &plugin.BatchError{Failed: failed}
	}
	return nil
}

// put sends one call and records each event's outcome. It returns an error only for one that
// stops the whole write (a configuration error).
func (d *Destination) put(ctx context.Context, call []prepared, failed map[int]error, ingested, notIngested map[string]int) error {
	if err := d.calls.Wait(ctx); err != nil {
		return err
	}
	evs := make([]lakeapi.AuditEvent, len(call))
	byID := make(map[string]prepared, len(call))
	for i, p := range call {
		evs[i] = p.ev
		byID[p.ev.ID] = p
	}
	out, err := d.client.PutAuditEvents(ctx, d.cfg.ChannelARN, d.cfg.ChannelExternalID, evs)
	if err != nil {
		switch {
		case lakeapi.IsThrottle(err):
			err = plugin.Throttled(err, 0)
		case lakeapi.IsPermanent(err) || lakeapi.IsAuth(err):
			return plugin.Fatal(fmt.Errorf("CloudTrail Lake refused the call for channel %s: %w", d.cfg.ChannelARN, err))
		}
		for _, p := range call {
			failed[p.idx] = err
			notIngested[p.label]++
		}
		return nil
	}
	for _, s := range out.Successful {
		if p, ok := byID[s.ID]; ok {
			ingested[p.label]++
			delete(byID, s.ID)
		}
	}
	for _, f := range out.Failed {
		p, ok := byID[f.ID]
		if !ok {
			continue
		}
		delete(byID, f.ID)
		notIngested[p.label]++
		e := fmt.Errorf("%s: %s", f.ErrorCode, f.ErrorMessage)
		switch {
		case f.ErrorCode == "Throttling":
			failed[p.idx] = plugin.Throttled(e, 0)
		case lakeapi.EventErrorRetryable(f.ErrorCode):
			failed[p.idx] = e
		default:
			failed[p.idx] = plugin.Refused(f.ErrorCode, errors.New(f.ErrorMessage))
		}
	}
	for _, p := range byID { // neither successful nor failed: the answer lied; send again
		failed[p.idx] = fmt.Errorf("event %s missing from the PutAuditEvents answer", p.ev.ID)
		notIngested[p.label]++
	}
	return nil
}

// eventDataPool holds the buffers Write writes its batch's eventData into.
var eventDataPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledEventData bounds the buffer kept for the next batch: a hundred events of usual size
// take about 300 kB; a batch of outsized ones is not kept.
const maxPooledEventData = 2 << 20

// releaseEventData pools a Write's eventData buffer again, once its events are sent.
func releaseEventData(arena *[]byte) {
	if cap(*arena) > maxPooledEventData {
		return
	}
	*arena = (*arena)[:0]
	eventDataPool.Put(arena)
}

// scratch is what prepare needs for one record and not after it, reused from record to record:
// a record leaves nothing behind but its eventData.
type scratch struct {
	members []event.Member
	flags   []memberFlag // each member's flags, by index in members
	fields  map[string]any
	out     mapping.Output
	unused  []kv
	extra   []byte // additionalEventData, copied into eventData
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{members: make([]event.Member, 0, 128), fields: make(map[string]any, 32)}
}}

// release clears what points into the record (not to keep it alive, nor the page whose bytes
// it shares) and pools sc again.
func (sc *scratch) release() {
	clear(sc.members)
	clear(sc.fields)
	clear(sc.unused)
	sc.out.Reset()
	if cap(sc.extra) > maxAdditionalData {
		sc.extra = nil
	}
	scratchPool.Put(sc)
}

// safeID replaces each character of id that CloudTrail Lake does not take in an id (it takes
// [-_A-Za-z0-9]) with "_".
func safeID(id string) string {
	ok := func(c rune) bool {
		return c == '-' || c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
	}
	clean := true
	for i := 0; i < len(id); i++ {
		if !ok(rune(id[i])) {
			clean = false
			break
		}
	}
	if clean {
		return id
	}
	b := make([]byte, 0, len(id))
	for _, c := range id {
		if ok(c) {
			b = append(b, byte(c))
		} else {
			b = append(b, '_')
		}
	}
	return string(b)
}

// idDigest is how many hex digits of the eventData's SHA-256 end an audit event id (64 bits).
const idDigest = 16

// AuditEventID is the id a record's audit event is put with: the record's id (Netskope's _id,
// each character outside [-_A-Za-z0-9] made "_", cut to fit), "-", and the first 64 bits of the
// SHA-256 of its eventData in hex (sum), 128 characters at most. Netskope gives the same _id
// to records of different endpoints and to distinct audit events; an id of _id alone made
// PutAuditEvents refuse a call holding two of them (DuplicatedAuditEventId), and a lake that
// keeps the first event of an id would keep one of them and answer the other successful. With
// the eventData in it, records that differ in anything the lake would hold (eventSource, the
// endpoint's, included) have ids of their own, while the same record sent again (a retry, a
// page read twice) has the same id. eventData's UID keeps the _id for queries.
func AuditEventID(recordID string, sum [sha256.Size]byte) string {
	id := safeID(recordID)
	if len(id) > 128-1-idDigest {
		id = id[:128-1-idDigest]
	}
	return id + "-" + hex.EncodeToString(sum[:idDigest/2])
}

// RecordIDOf is the record id an audit event id was made from by AuditEventID (as safeID
// spelled it): what tests and checks compare with the records' _id.
func RecordIDOf(auditEventID string) string {
	if i := strings.LastIndexByte(auditEventID, '-'); i >= 0 && len(auditEventID)-i-1 == idDigest {
		return auditEventID[:i]
	}
	return auditEventID
}

// prepare maps one record into an audit event, or says why it cannot go. What the record is
// comes from its Kind and Subtype, as its source set them; a kind RefuseKind refuses is
// skipped here too, for callers other than the engine (Preview, tests). The record is not
// decoded whole: only the fields the mapping reads are (and _id when the record has no ID),
// and the others go to additionalEventData as the bytes they are.
func (d *Destination) prepare(r *event.Record) (prepared, error) {
	return d.prepareInto(r, nil)
}

// prepareInto is prepare writing the eventData at the end of *arena (growing it when it must),
// or into a buffer of its own when arena is nil. The event's EventData shares arena's bytes:
// it is valid until *arena is reused.
func (d *Destination) prepareInto(r *event.Record, arena *[]byte) (prepared, error) {
	if why, refused := d.RefuseKind(r.Kind, r.Subtype); refused {
		return prepared{}, plugin.Skipped(plugin.ReasonUnsupported, errors.New(why))
	}
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	members, err := event.AppendMembers(sc.members[:0], r.Raw)
	if err != nil {
		return prepared{}, plugin.Refused("InvalidData", err)
	}
	sc.members = members
	fields := sc.fields
	// decode puts a member's value in fields, unless a later member of the same key already
	// did (the last of a repeated key wins).
	decode := func(i int) error {
		k := members[i].Key
		if _, done := fields[k]; done {
			return nil
		}
		// Shared: the values live only until eventData is written.
		v, err := event.DecodeValueShared(members[i].Value)
		if err != nil {
			return fmt.Errorf("decode record: %s: %w", k, err)
		}
		fields[k] = v
		return nil
	}
	class, subtype := r.Kind.Class(), r.Subtype // sources spell it as eventSource wants (event.NetskopeSubtype)
	label := subtype + " " + class + "s"
	m, ok := d.maps.For(class, subtype)
	if !ok {
		return prepared{}, plugin.Skipped(plugin.ReasonUnmapped, fmt.Errorf("the mapping has nothing for %s", label))
	}
	want, all := d.memberFlags(m)
	flags := slices.Grow(sc.flags[:0], len(members))[:len(members)]
	sc.flags = flags
	for i := len(members) - 1; i >= 0; i-- {
		f := want[members[i].Key]
		if all {
			f |= flagRead | flagMayUse
		}
		flags[i] = f
		if f&flagRead != 0 || r.ID == "" && members[i].Key == "_id" {
			if err := decode(i); err != nil {
				return prepared{}, plugin.Refused("InvalidData", err)
			}
		}
	}
	out := &sc.out
	if err := m.ApplyTo(out, fields); err != nil {
		return prepared{}, plugin.Refused("InvalidData", err)
	}
	var extra []byte
	if d.cfg.AddAdditionalData {
		sc.unused = unusedMembers(sc.unused[:0], members, flags, out)
		sc.extra = additionalData(sc.extra[:0], sc.unused)
		extra = sc.extra
	}
	var data []byte
	if arena != nil {
		start := len(*arena)
		*arena = d.eventData(*arena, out, "netskope"+class+"."+subtype, extra, len(r.Raw))
		data = (*arena)[start:len(*arena):len(*arena)]
	} else {
		data = d.eventData(nil, out, "netskope"+class+"."+subtype, extra, len(r.Raw))
	}
	id := r.ID
	if id == "" {
		if s, ok := fields["_id"].(string); ok {
			id = s
		}
	}
	if safeID(id) == "" {
		if v, ok := fields["_id"]; ok {
			return prepared{}, plugin.Refused("InvalidData", fmt.Errorf("_id is %s, not a string to use as the audit event id", jsonKind(v)))
		}
		return prepared{}, plugin.Refused("InvalidData", errors.New("record has no _id to use as the audit event id"))
	}
	sum := sha256.Sum256(data)
	id = AuditEventID(id, sum)
	// payload is what the event adds to the request body: eventData as a JSON string, where
	// each quote and backslash takes two bytes (AppendJSON writes valid UTF-8 and no control
	// character), the id, the checksum and the keys around them.
	payload := len(data) + bytes.Count(data, []byte{'"'}) + bytes.Count(data, []byte{'\\'}) + len(id) + 128
	// data is not touched again: the event's string shares it.
	return prepared{ev: lakeapi.AuditEvent{ID: id, EventData: unsafe.String(unsafe.SliceData(data), len(data)), EventDataChecksum: base64.StdEncoding.EncodeToString(sum[:])},
		label: label, payload: payload}, nil
}

// eventData completes a mapping's output into the audit event's eventData and appends it to
// dst: the Netskope eventSource, the channel's account, no sourceIPAddress that is not an IP,
// the unused fields as additionalEventData (extra, nil when none). size is the record's, to
// grow dst once.
func (d *Destination) eventData(dst []byte, out *mapping.Output, eventSource string, extra []byte, size int) []byte {
	_ = out.Set("eventSource", eventSource)
	_ = out.Set("recipientAccountId", d.account)
	if v, ok := out.Get("sourceIPAddress"); ok {
		if s, _ := v.(string); s == "" || !validIP(s) {
			out.Delete("sourceIPAddress")
		}
	}
	if extra != nil {
		// Valid as built: each part is a checked, compact member value.
		_ = out.SetTrustedJSON("additionalEventData", extra)
	}
	// eventData is about the record's size (its fields, renamed, plus the unused ones): one
	// allocation rather than a dozen doublings.
	return out.AppendJSON(slices.Grow(dst, size+size/4+512))
}

// memberFlag says what prepare does with a record member of a given key.
type memberFlag uint8

const (
	// flagRead: the mapping reads the member (mapping.Mapping.TopFields): it is decoded.
	flagRead memberFlag = 1 << iota
	// flagMayUse: the key may be in the mapping output's Used (mapping.Mapping.UsedFields);
	// a member without it is unused without asking Output.Uses.
	flagMayUse
	// flagID64: the key is one of id64Fields.
	flagID64
)

// memberFlags are the flags of the record keys a mapping reads or may use, and of the 64-bit id
// fields, worked out once per mapping: one map lookup per member tells all three. all is set
// when the mapping may read any field (every member is then read and may be used).
func (d *Destination) memberFlags(m *mapping.Mapping) (want map[string]memberFlag, all bool) {
	type mf struct {
		want map[string]memberFlag
		all  bool
	}
	if v, ok := d.fieldsOf.Load(m); ok {
		t := v.(mf)
		return t.want, t.all
	}
	keys, all := m.TopFields()
	used := m.UsedFields()
	want = make(map[string]memberFlag, len(keys)+len(used)+len(id64Fields))
	for _, k := range keys {
		want[k] |= flagRead
	}
	for _, k := range used {
		want[k] |= flagMayUse
	}
	for k := range id64Fields {
		want[k] |= flagID64
	}
	d.fieldsOf.Store(m, mf{want, all})
	return want, all
}

// jsonKind names the kind of a decoded JSON value, for messages.
func jsonKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	case string:
		if v == "" {
			return "empty"
		}
		return "a string of no usable character"
	}
	return "a number"
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// kv is a member of additionalEventData: a key and its value as JSON.
type kv struct {
	k string
	v []byte
}

// id64Fields are Netskope's 64-bit id fields: those of type Integer64 whose examples in
// Netskope's field dictionary (netskopeoss/Data-Schema schema/event_schema.json) hold 16 to 19
// digits, and app_session_id, which real records fill with 19 digits. Cloud Exchange puts
// them in additionalEventData as strings, and users' lake queries compare them as strings
// (additionalEventData.transaction_id = '...'); so does this destination, with every digit.
var id64Fields = map[string]struct{}{
	"app_session_id": {}, "browser_session_id": {}, "connection_id": {}, "dlp_incident_id": {},
	"dlp_parent_id": {}, "incident_id": {}, "latest_incident_id": {}, "request_id": {},
	"transaction_id": {}, "x-cs-page-id": {}, "x-cs-session-id": {}, "x-request-id": {},
	"x-transaction-id": {},
}

// isJSONInteger reports whether v, a compact JSON value, is an integer: digits, with an
// optional leading minus.
func isJSONInteger(v []byte) bool {
	if len(v) > 0 && v[0] == '-' {
		v = v[1:]
	}
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// unusedMembers are the record's top-level members the mapping did not read, the last of a
// repeated key, sorted by key; each value as it is in the record when it is already compact,
// valid JSON, else encoded again; a 64-bit id field's integer (id64Fields) as a string of its
// digits. flags are the members' (memberFlags).
func unusedMembers(parts []kv, members []event.Member, flags []memberFlag, out *mapping.Output) []kv {
	for i, mb := range members {
		if flags[i]&flagMayUse != 0 && out.Uses(mb.Key) {
			continue
		}
		v := mb.Value
		if !mb.Compact {
			dec, err := event.DecodeValue(v)
			if err != nil {
				continue
			}
			if v, err = json.Marshal(dec); err != nil {
				continue
			}
		}
		if flags[i]&flagID64 != 0 && isJSONInteger(v) {
			v = append(append(append(make([]byte, 0, len(v)+2), '"'), v...), '"')
		}
		parts = append(parts, kv{mb.Key, v})
	}
	// By key; of a repeated key, the last (the stable sort keeps record order among equals).
	slices.SortStableFunc(parts, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	out2 := parts[:0]
	for i, p := range parts {
		if i+1 < len(parts) && parts[i+1].k == p.k {
			continue
		}
		out2 = append(out2, p)
	}
	return out2
}

// additionalData encodes the unmapped fields, largest last dropped first until the object is
// under CloudTrail Lake's 28 kB limit; the names of the fields left out are listed in
// "_truncated_fields" so a reader knows. It writes into dst's room and returns the object; nil
// when there is no part.
func additionalData(dst []byte, parts []kv) []byte {
	if len(parts) == 0 {
		return nil
	}
	total := 2
	for _, p := range parts {
		total += len(p.k) + len(p.v) + 4
	}
	var dropped []string
	if total > maxAdditionalData-1024 {
		sort.SliceStable(parts, func(i, j int) bool { return len(parts[i].v) < len(parts[j].v) })
		for total > maxAdditionalData-1024 && len(parts) > 0 {
			last := parts[len(parts)-1]
			total -= len(last.k) + len(last.v) + 4
			dropped = append(dropped, last.k)
			parts = parts[:len(parts)-1]
		}
		sort.SliceStable(parts, func(i, j int) bool { return parts[i].k < parts[j].k })
	}
	out := slices.Grow(dst[:0], total+2)
	out = append(out, '{')
	for i, p := range parts {
		if i > 0 {
			out = append(out, ',')
		}
		out = jsonx.AppendString(out, p.k)
		out = append(append(out, ':'), p.v...)
	}
	if len(dropped) > 0 {
		sort.Strings(dropped)
		db, _ := json.Marshal(dropped)
		if len(parts) > 0 {
			out = append(out, ',')
		}
		out = append(append(out, `"_truncated_fields":`...), db...)
	}
	return append(out, '}')
}

// logIngested writes a DEBUG line per label for one Write, and at most every summaryEvery an
// INFO line (WARN when some failed) with what was ingested and what failed since the last one.
func (d *Destination) logIngested(ctx context.Context, ingested, notIngested map[string]int) {
	if d.set.Logger.Enabled(ctx, slog.LevelDebug) {
		for _, label := range slices.Sorted(maps.Keys(ingested)) {
			d.set.Logger.Debug(fmt.Sprintf("%d %s ingested into CloudTrail Lake, %d failed", ingested[label], label, notIngested[label]), "channel", d.cfg.ChannelARN)
		}
		for _, label := range slices.Sorted(maps.Keys(notIngested)) {
			if ingested[label] == 0 {
				d.set.Logger.Debug(fmt.Sprintf("0 %s ingested into CloudTrail Lake, %d failed", label, notIngested[label]), "channel", d.cfg.ChannelARN)
			}
		}
	}
	in, failed, due := d.summary.add(ingested, notIngested)
	if !due {
		return
	}
	total, totalFailed := 0, 0
	parts := make([]string, 0, len(in)+len(failed))
	for _, label := range slices.Sorted(maps.Keys(in)) {
		total += in[label]
		parts = append(parts, fmt.Sprintf("%d %s", in[label], label))
	}
	for _, label := range slices.Sorted(maps.Keys(failed)) {
		totalFailed += failed[label]
		parts = append(parts, fmt.Sprintf("%d %s failed", failed[label], label))
	}
	level := slog.LevelInfo
	if totalFailed > 0 {
		level = slog.LevelWarn
	}
	d.set.Logger.Log(ctx, level, fmt.Sprintf("ingested into CloudTrail Lake: %d events, %d failed (retried or dead-lettered)", total, totalFailed),
		"channel", d.cfg.ChannelARN, "by_type", strings.Join(parts, ", "))
}

// logSkipped writes one line per reason for the records left out of a batch (unmapped
// subtypes, a repeated id), not one per record.
func (d *Destination) logSkipped(recs []*event.Record, failed map[int]error) {
	counts := map[plugin.Reason]int{}
	for _, err := range failed {
		var se *plugin.SkippedError
		if errors.As(err, &se) {
			counts[se.Reason]++
		}
	}
	for reason, n := range counts {
		d.set.Logger.Info("records not sent to CloudTrail Lake", "reason", reason, "records", n, "batch", len(recs))
	}
}

// Close implements plugin.Destination: what was ingested since the last summary line is logged.
func (d *Destination) Close(ctx context.Context) error {
	d.summary.mu.Lock()
	d.summary.last = time.Time{} // due now, if there is anything to say
	d.summary.mu.Unlock()
	d.logIngested(ctx, nil, nil)
	return nil
}

// Preview returns exactly what Write would send for r: the audit event's id and eventData, or
// why the record would not be sent.
func (d *Destination) Preview(r *event.Record) (string, error) {
	p, err := d.prepare(r)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`{"id":%q,"eventData":%s}`, p.ev.ID, p.ev.EventData), nil
}
