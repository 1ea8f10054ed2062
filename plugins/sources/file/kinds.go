package file

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
	"github.com/logshipper/logshipper/internal/plugin"
)

// The values of record_kind.
const (
	// KindNone: records carry no Kind.
	KindNone = ""
	// KindCloudTrail: each line (or array element) is CloudTrail in a form
	// cloudtrailrecord.Split unwraps, split into one record per CloudTrail record.
	KindCloudTrail = "cloudtrail"
	// KindNetskope: each line is a Netskope event or alert.
	KindNetskope = "netskope"
)

// records turns one line (or array element), already checked against max_record_size, into
// its records, dropping to the dead-letter store what record_kind does not accept. raw is the
// source's own copy: records may keep sub-slices of it. An error means a drop failed.
func (s *Source) records(ctx context.Context, t *tracked, raw []byte, at int64) ([]*event.Record, error) {
	switch s.cfg.RecordKind {
	case KindCloudTrail:
		return s.cloudTrailRecords(ctx, t, raw, at)
	case KindNetskope:
		if ok, err := s.checkObject(ctx, t, raw, at); !ok {
			return nil, err
		}
		rec, ok, err := s.validUTF8(ctx, t, raw, at, -1)
		if !ok {
			return nil, err
		}
		r := &event.Record{Raw: rec, Source: s.set.Name, ValidJSON: true}
		r.Kind, r.Subtype = netskopeKind(r)
		return []*event.Record{r}, nil
	default:
		if ok, err := s.checkObject(ctx, t, raw, at); !ok {
			return nil, err
		}
		rec, ok, err := s.validUTF8(ctx, t, raw, at, -1)
		if !ok {
			return nil, err
		}
		return []*event.Record{{Raw: rec, Source: s.set.Name, ValidJSON: true}}, nil
	}
}

// cloudTrailRecords splits raw into its CloudTrail records (Kind cloudtrail, Subtype the
// eventType). Input that holds no CloudTrail record is dropped whole as invalid; an element of
// a file or delivery that is not one is dropped alone, the others kept. A subscription
// delivery whose messageType is CONTROL_MESSAGE is dropped whole as control_message.
func (s *Source) cloudTrailRecords(ctx context.Context, t *tracked, raw []byte, at int64) ([]*event.Record, error) {
	items, err := cloudtrailrecord.Split(raw)
	if err != nil {
		return nil, s.set.Dropper.Drop(ctx, raw, plugin.ReasonInvalid, fmt.Errorf("%s at byte %d: not CloudTrail: %w", t.path, at, err))
	}
	if len(items) == 0 {
		// A CloudTrail file or delivery with no element ({"Records":[]}): no record, counted.
		s.empties.Note("path", t.path, "offset", at)
		return nil, nil
	}
	if items[0].Envelope.Control() {
		// CloudWatch Logs' health check of a subscription destination: no log event in it.
		return nil, s.set.Dropper.Drop(ctx, raw, plugin.ReasonControlMessage, fmt.Errorf("%s at byte %d: a subscription CONTROL_MESSAGE, not a log event", t.path, at))
	}
	recs := make([]*event.Record, 0, len(items))
	// noted: a record of raw was counted as repaired; enveloped: raw wraps its records, and
	// invalid bytes of a JSON string in the wrapper are read as U+FFFD while unwrapping.
	noted, enveloped := false, false
	for i := range items {
		it := &items[i]
		ev, err := cloudtrailrecord.Parse(it.Record)
		if err != nil {
			drop, where := it.Record, fmt.Sprintf("%s at byte %d, element %d", t.path, at, i)
			if len(items) == 1 {
				drop, where = raw, fmt.Sprintf("%s at byte %d", t.path, at)
			}
			if derr := s.set.Dropper.Drop(ctx, drop, plugin.ReasonInvalid, fmt.Errorf("%s: not a CloudTrail record: %w", where, err)); derr != nil {
				return nil, derr
			}
			continue
		}
		// Parse accepted one well-formed JSON object.
		elem := -1
		if len(items) > 1 {
			elem = i
		}
		rec, ok, err := s.validUTF8(ctx, t, it.Record, at, elem)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		eventType := ev.EventType
		if len(rec) != len(it.Record) {
			noted = true
			// Repaired (a repair makes it longer: one byte becomes three): the eventType read
			// from the bytes as they were may need it too, and the parse is of other bytes
			// than the record's, so it does not travel with it.
			eventType = jsonx.RepairUTF8String(eventType)
			ev = nil
		}
		r := &event.Record{Raw: rec, Source: s.set.Name, Kind: event.KindCloudTrail, Subtype: eventType, ValidJSON: true}
		if ev != nil {
			// The parse travels with the record: a destination that reads it as CloudTrail
			// does not parse it again (cloudtrailrecord.Parsed checks it is of these bytes).
			r.Parsed = ev
		}
		if env := &it.Envelope; env.Form != cloudtrailrecord.FormRecord {
			enveloped = true
			r.Meta = map[string]string{event.MetaInputForm: env.Form.String()}
			// The envelope's names go to destinations as they are: valid UTF-8 too. A record
			// whose names alone were repaired is counted once, as a repaired record is.
			group, stream := jsonx.RepairUTF8String(env.LogGroup), jsonx.RepairUTF8String(env.LogStream)
			if (len(group) != len(env.LogGroup) || len(stream) != len(env.LogStream)) && len(rec) == len(it.Record) {
				where := []any{"path", t.path, "offset", at, "envelope", "log_group/log_stream"}
				if elem >= 0 {
					where = append(where, "element", elem)
				}
				s.repairs.Note(plugin.RepairInvalidUTF8, where...)
				noted = true
			}
			if group != "" {
				r.Meta[event.MetaLogGroup] = group
			}
			if stream != "" {
				r.Meta[event.MetaLogStream] = stream
			}
		}
		recs = append(recs, r)
	}
	if enveloped && !noted && len(recs) > 0 && !utf8.Valid(raw) {
		// The wrapper's invalid bytes were inside its JSON strings, unwrapped as U+FFFD: what
		// goes on is valid, and the repair is counted as the others are.
		s.repairs.Note(plugin.RepairInvalidUTF8, "path", t.path, "offset", at, "envelope", "json string")
	}
	return recs, nil
}

// validUTF8 returns rec, a JSON record read at byte at of the file (element elem of what was
// read there, -1 when it is all of it), as valid UTF-8: repaired (jsonx.RepairUTF8) and counted
// when it is not. A repair makes a record longer (each invalid byte becomes the three bytes of
// U+FFFD): a repaired record longer than max_record_size is dropped as too large, its bytes as
// read, and ok is false (err when the drop failed).
func (s *Source) validUTF8(ctx context.Context, t *tracked, rec []byte, at int64, elem int) (out []byte, ok bool, err error) {
	fixed, first := jsonx.RepairUTF8(rec)
	if first < 0 {
		return rec, true, nil
	}
	where := []any{"path", t.path, "offset", at, "invalid_byte", first}
	if elem >= 0 {
		where = append(where, "element", elem)
	}
	s.repairs.Note(plugin.RepairInvalidUTF8, where...)
	if int64(len(fixed)) > int64(s.cfg.MaxRecordSize) {
		place := fmt.Sprintf("%s at byte %d", t.path, at)
		if elem >= 0 {
			place = fmt.Sprintf("%s, element %d", place, elem)
		}
		return nil, false, s.set.Dropper.Drop(ctx, rec, plugin.ReasonTooLarge,
			fmt.Errorf("%s: record of %d bytes is %d bytes once its invalid UTF-8 is repaired, over max_record_size %s", place, len(rec), len(fixed), s.cfg.MaxRecordSize))
	}
	return fixed, true, nil
}

// netskopeFields are the fields netskopeKind reads.
var netskopeFields = map[string]struct{}{"alert_type": {}, "event_type": {}}

// netskopeKind says what a Netskope record is: an alert when it has a string alert_type, else
// an event; the subtype is its alert_type or event_type as event.NetskopeSubtype spells it
// (the same as the Netskope source's).
func netskopeKind(r *event.Record) (event.Kind, string) {
	fields, _, err := r.FieldsNamed(netskopeFields)
	if err != nil {
		return event.KindNetskopeEvent, ""
	}
	kind := event.KindNetskopeEvent
	subtype, isAlert := fields["alert_type"].(string)
	if isAlert {
		kind = event.KindNetskopeAlert
	} else {
		subtype, _ = fields["event_type"].(string)
	}
	return kind, event.NetskopeSubtype(subtype)
}
