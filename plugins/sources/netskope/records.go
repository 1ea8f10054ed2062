package netskope

import (
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
	"github.com/logshipper/logshipper/internal/plugin"
)

// endpoint is one data-export endpoint: kind "events" or "alerts", and its type.
type endpoint struct {
	kind string
	typ  string
}

func (e endpoint) String() string { return e.kind + "/" + e.typ }

func (e endpoint) path() string { return "/api/v2/events/dataexport/" + e.kind + "/" + e.typ }

// kind is the event.Kind of the endpoint's records.
func (e endpoint) recordKind() event.Kind {
	if e.kind == "alerts" {
		return event.KindNetskopeAlert
	}
	return event.KindNetskopeEvent
}

// subtype is the Subtype of the endpoint's records: the endpoint's type as
// event.NetskopeSubtype spells it. The endpoint, not a record's own alert_type, says what an
// alert is, as Cloud Exchange decides: the ctep endpoint's alerts (alert_type ctep, ips or c2)
// are all "ctep", the subtype CloudTrail Lake mappings know.
func (e endpoint) subtype() string { return event.NetskopeSubtype(e.typ) }

// recordTime reads a record's timestamp: epoch seconds (a number or a string holding one), or
// a "2006-01-02 15:04:05" (UTC) or RFC 3339 string. Zero when absent or unreadable.
func recordTime(v []byte) time.Time {
	if len(v) == 0 {
		return time.Time{}
	}
	if n, ok := epochOf(v); ok {
		return time.Unix(n, 0).UTC()
	}
	s := textOf(v)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.DateTime, s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// builder turns a page's elements into records for one endpoint.
type builder struct {
	ep     endpoint
	source string // the configuration name
	// until, when set, keeps out records inserted at or after it (epoch seconds): the end of
	// a backfill range.
	until int64
	// repairs counts the records whose invalid UTF-8 was repaired, and logs them with the
	// partition's logger (tenant and endpoint).
	repairs *plugin.Repairs
}

// build returns the records of the valid elements, in page order, and the invalid elements.
//
// Alerts keep their bytes exactly as received. Events get a top-level "event_type" set to
// their endpoint's type (what Cloud Exchange's rules and mappings expect of events), spliced
// into the bytes rather than re-encoded: `{"event_type":"audit",` replaces the opening brace,
// or, when the record already has a top-level event_type, only that value is replaced. Every
// other byte stays as received. The event records of a page share one allocation.
//
// A record that is not valid UTF-8 is repaired (jsonx.RepairUTF8: each invalid byte becomes
// U+FFFD, as every JSON decoder reads it) and counted; a valid one costs one utf8.Valid.
func (b *builder) build(a *answer) (recs []*event.Record, invalid []elem, later int) {
	recs, _, invalid, later = b.buildAt(a)
	return recs, invalid, later
}

// buildAt is build, also returning the place in the page of each record's element (elem.pos).
func (b *builder) buildAt(a *answer) (recs []*event.Record, at []int, invalid []elem, later int) {
	recs = make([]*event.Record, 0, len(a.elems))
	at = make([]int, 0, len(a.elems))
	kind, subtype := b.ep.recordKind(), b.ep.subtype()
	var arena []byte
	var field string
	if b.ep.kind == "events" {
		field = `"event_type":"` + b.ep.typ + `"`
		size := 0
		for _, e := range a.elems {
			if e.err == nil {
				size += len(e.raw) + len(field) + 1
			}
		}
		arena = make([]byte, 0, size)
	}
	for i := range a.elems {
		e := &a.elems[i]
		if e.err != nil {
			invalid = append(invalid, *e)
			continue
		}
		if b.until > 0 {
			ins, ok := epochOf(e.rec.inserted)
			if !ok {
				ins, ok = epochOf(e.rec.timestamp)
			}
			if ok && ins >= b.until {
				later++
				continue
			}
		}
		r := &event.Record{
			ID:      e.rec.id,
			Time:    recordTime(e.rec.timestamp),
			Source:  b.source,
			Kind:    kind,
			Subtype: subtype,
			// parseAnswer checked it; splicing event_type in keeps it valid.
			ValidJSON: true,
		}
		if b.ep.kind == "events" {
			start := len(arena)
			arena = spliceEventType(arena, e.raw, &e.rec, field, b.ep.typ)
			r.Raw = arena[start:len(arena):len(arena)]
		} else {
			r.Raw = e.raw[:len(e.raw):len(e.raw)]
		}
		if fixed, first := jsonx.RepairUTF8(r.Raw); first >= 0 {
			r.Raw, r.ID = fixed, jsonx.RepairUTF8String(r.ID)
			b.repairs.Note(plugin.RepairInvalidUTF8, "record", e.pos+1, "_id", r.ID, "invalid_byte", first)
		}
		recs = append(recs, r)
		at = append(at, e.pos)
	}
	return recs, at, invalid, later
}

// spliceEventType appends raw to dst with its top-level event_type set to typ (field is
// `"event_type":"<typ>"`).
func spliceEventType(dst, raw []byte, f *recordFields, field, typ string) []byte {
	switch {
	case f.hasEventType:
		dst = append(dst, raw[:f.evStart]...)
		dst = append(dst, '"')
		dst = append(dst, typ...)
		dst = append(dst, '"')
		return append(dst, raw[f.evEnd:]...)
	case f.empty:
		dst = append(dst, '{')
		dst = append(dst, field...)
		return append(dst, '}')
	default:
		dst = append(dst, '{')
		dst = append(dst, field...)
		dst = append(dst, ',')
		return append(dst, raw[1:]...)
	}
}
