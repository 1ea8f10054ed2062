package cloudwatch

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/logshipper/logshipper/internal/awssource"
	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
	"github.com/logshipper/logshipper/internal/plugin"
)

// logEvent is what a record is built from: one FilterLogEvents event.
type logEvent struct {
	ID            string
	Timestamp     int64
	IngestionTime int64
	Stream        string
	Message       string
}

// builder turns events of one partition into records.
type builder struct {
	source   string
	region   string
	group    string
	extract  bool
	idents   *identifiers // nil: not a gateway log source
	defIdent string
	// repairs counts the messages whose invalid UTF-8 was repaired, and logs them with the
	// partition's logger (region and log group).
	repairs *plugin.Repairs
	// empty counts a message that is a CloudTrail file or delivery with nothing in it
	// ({"Records":[]}, an empty logEvents): it gives no record. Nil: not counted.
	empty func(e *logEvent)
	// drops counts and logs the messages dropped at the source (subscription health checks);
	// nil: they are dropped uncounted.
	drops plugin.Dropper
}

// appendRecords appends the records of e to dst: one per CloudTrail record the message holds,
// or one for a message that holds none. A CloudTrail file or delivery with no element
// ({"Records":[]}) holds nothing to send: it gives no record, and is counted (b.empty).
//
// A message that is one CloudTrail record (the usual case, judged in one pass by
// cloudtrailrecord.Parse) gives one record: Kind cloudtrail, Subtype its eventType, ID the
// eventId. Every CloudTrail record carries its parse in Parsed, so a destination does not
// parse it again. A message that is not one record but that cloudtrailrecord.Split finds
// CloudTrail records in (a {"Records":[...]} file, a subscription delivery, a CloudWatch event
// as JSON) gives one record per element, Meta input_form naming the wrapper; when there are
// several, element i (from 0) has the ID "<eventId>-<i>". Elements that are not CloudTrail
// records come out with no Kind. Any other message gives one record with no Kind, as read.
//
// A message that is not valid UTF-8 is repaired first (jsonx.RepairUTF8: each invalid byte
// becomes U+FFFD) and counted, and so are the event's stream name and eventId. CloudWatch Logs
// stores such bytes as U+FFFD, but the answer's decoder (like the SDK's) keeps raw invalid bytes
// of a string without escapes as they are, so this guards the records' bytes rather than
// expecting them; a valid message costs one utf8.Valid.
//
// Raw is always one JSON object:
//   - extract on: the CloudTrail record (the message bytes as they are, or the element); a
//     message without CloudTrail that is a JSON object, as it is; any other message
//     {"message":"<the message>"};
//   - extract off: the envelope {"logGroup","logStream","timestamp","ingestionTime","eventId",
//     "message"} around the message, or around the one element (its eventId then the
//     record's ID); Payload is the message or the element, and Meta input_form "cloudwatch".
func (b *builder) appendRecords(ctx context.Context, dst []*event.Record, e *logEvent) ([]*event.Record, error) {
	msg := []byte(e.Message)
	fixed, first := jsonx.RepairUTF8(msg)
	stream, id := jsonx.RepairUTF8String(e.Stream), jsonx.RepairUTF8String(e.ID)
	if first >= 0 || len(stream) != len(e.Stream) || len(id) != len(e.ID) {
		// The stream name and eventId go into the records (Meta, ID, the envelope) as the
		// message does: valid UTF-8 too, the event counted once.
		msg = fixed
		re := *e
		re.Stream, re.ID = stream, id
		e = &re
		b.repairs.Note(plugin.RepairInvalidUTF8, "log_stream", e.Stream, "event_id", e.ID, "invalid_byte", first)
	}
	ls := b.logSource(e, msg)
	if ev, err := cloudtrailrecord.Parse(msg); err == nil {
		return append(dst, b.cloudTrail(e, e.ID, ev, "", ls)), nil
	}
	items, err := cloudtrailrecord.Split(msg)
	if err == nil && len(items) == 0 {
		if b.empty != nil {
			b.empty(e)
		}
		return dst, nil
	}
	if err != nil || (len(items) == 1 && items[0].Envelope.Form == cloudtrailrecord.FormRecord) {
		return append(dst, b.record(e, e.ID, msg, "", ls, false)), nil
	}
	if len(items) > 0 && items[0].Envelope.Control() {
		if b.drops == nil {
			return dst, nil
		}
		if err := b.drops.Drop(ctx, msg, plugin.ReasonControlMessage, fmt.Errorf("log stream %s, event %s: a subscription CONTROL_MESSAGE (CloudWatch Logs' health check of a subscription destination), not a log event", e.Stream, e.ID)); err != nil {
			return dst, fmt.Errorf("drop the control message of event %s: %w", e.ID, err)
		}
		return dst, nil
	}
	evs := make([]*cloudtrailrecord.Event, len(items))
	found := false
	for i := range items {
		evs[i], _ = cloudtrailrecord.Parse(items[i].Record)
		found = found || evs[i] != nil
	}
	if !found {
		return append(dst, b.record(e, e.ID, msg, "", ls, false)), nil
	}
	for i := range items {
		id := e.ID
		if len(items) > 1 {
			id = e.ID + "-" + strconv.Itoa(i)
		}
		form := items[i].Envelope.Form.String()
		if evs[i] != nil {
			dst = append(dst, b.cloudTrail(e, id, evs[i], form, ls))
		} else {
			dst = append(dst, b.record(e, id, items[i].Record, form, ls, false))
		}
	}
	return dst, nil
}

// cloudTrail builds the record of the CloudTrail record ev parsed from e's message (ev.Raw,
// the message or one element of it): Kind cloudtrail, Subtype its eventType, and the parse
// itself in Parsed, so a destination that reads the record as CloudTrail does not parse it
// again.
func (b *builder) cloudTrail(e *logEvent, id string, ev *cloudtrailrecord.Event, form, ls string) *event.Record {
	r := b.record(e, id, ev.Raw, form, ls, true)
	r.Kind, r.Subtype, r.Parsed = event.KindCloudTrail, ev.EventType, ev
	return r
}

// logSource is the gateway log-source identifier of e ("" when the source is not a gateway):
// the first pattern that matches its message msg (valid UTF-8, repaired when it was not, so that
// an identifier made of its text is too), else the default identifier, else the stream.
func (b *builder) logSource(e *logEvent, msg []byte) string {
	if b.idents == nil {
		return ""
	}
	if ls, ok := b.idents.match(unsafeString(msg)); ok {
		return ls
	}
	if b.defIdent != "" {
		return b.defIdent
	}
	return e.Stream
}

// record builds one record of e whose own bytes are rec, with the given ID; form names the
// wrapper rec was found in inside the message ("" when rec is the message), ls is the
// log-source identifier ("" for none), object says rec is known to be one well-formed JSON
// object (cloudtrailrecord.Parse accepted it). Raw is always checked or written here, so
// the record is marked ValidJSON.
func (b *builder) record(e *logEvent, id string, rec []byte, form, ls string, object bool) *event.Record {
	r := &event.Record{
		ID:        id,
		Time:      time.UnixMilli(e.Timestamp).UTC(),
		Source:    b.source,
		Meta:      make(map[string]string, 5),
		ValidJSON: true,
	}
	switch {
	case !b.extract:
		r.Raw, r.Payload = b.envelope(e, id, rec), rec
		form = cloudtrailrecord.FormCloudWatch.String()
	case object || isJSONObject(rec):
		r.Raw = rec
	default:
		raw := make([]byte, 0, len(rec)+16)
		raw = append(raw, `{"message":`...)
		raw = jsonx.AppendString(raw, unsafeString(rec))
		r.Raw = append(raw, '}')
	}
	r.Meta[event.MetaAWSRegion] = b.region
	r.Meta[event.MetaLogGroup] = b.group
	r.Meta[event.MetaLogStream] = e.Stream
	if form != "" {
		r.Meta[event.MetaInputForm] = form
	}
	if ls != "" {
		r.Meta[event.MetaLogSourceID] = ls
	}
	return r
}

// envelope is the CloudWatch event e as JSON, with id as its eventId and msg as its message.
func (b *builder) envelope(e *logEvent, id string, msg []byte) []byte {
	out := make([]byte, 0, len(msg)+len(b.group)+len(e.Stream)+len(id)+128)
	out = append(out, `{"logGroup":`...)
	out = jsonx.AppendString(out, b.group)
	out = append(out, `,"logStream":`...)
	out = jsonx.AppendString(out, e.Stream)
	out = append(out, `,"timestamp":`...)
	out = strconv.AppendInt(out, e.Timestamp, 10)
	out = append(out, `,"ingestionTime":`...)
	out = strconv.AppendInt(out, e.IngestionTime, 10)
	out = append(out, `,"eventId":`...)
	out = jsonx.AppendString(out, id)
	out = append(out, `,"message":`...)
	out = jsonx.AppendString(out, unsafeString(msg))
	return append(out, '}')
}

// isJSONObject reports whether b is exactly one JSON object (white space around it allowed).
func isJSONObject(b []byte) bool {
	t := bytes.TrimSpace(b)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return false
	}
	return event.ValidObject(unsafeString(t))
}

// unsafeString views b as a string without copying; b must not change while it is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// identifiers are the gateway's log-source identifier patterns (awssource.Identifiers), in
// order.
type identifiers struct{ *awssource.Identifiers }

// parseIdentifierPatterns reads `Identifier=regex` lines (awssource.ParseIdentifierPatterns).
func parseIdentifierPatterns(s string) (*identifiers, error) {
	ids, err := awssource.ParseIdentifierPatterns(s)
	if err != nil {
		return nil, err
	}
	return &identifiers{ids}, nil
}

// match returns the identifier of the first pattern that matches msg.
func (ids *identifiers) match(msg string) (string, bool) { return ids.Match(msg) }
