package netskope

import (
	"slices"
	"time"
	"unsafe"

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
	// bytesPerElem is the size of an element of the last page built (its result array's
	// bytes over its elements; 0 before the first): what spare expects of the next page.
	bytesPerElem int
	// bytesPerSpan is the result array's bytes over its member spans in the last page built
	// (0 before the first): what spanRoom expects of the next page.
	bytesPerSpan int
}

// defaultBytesPerSpan is the bytes a member span is expected for before a page was seen:
// Netskope's records hold a member for every 30 to 40 bytes, a few for every 100.
const defaultBytesPerSpan = 28

// spanRoom is how many member spans to make room for in reading a page of size bytes: as many
// as the last page had for its size, an eighth more.
func (b *builder) spanRoom(size int) int {
	per := b.bytesPerSpan
	if per <= 0 {
		per = defaultBytesPerSpan
	}
	n := size/per + 64
	return n + n/8
}

// defaultBytesPerElem is the element size spare expects before it has seen a page: small for a
// Netskope event (2 to 4 kB), so that the room usually suffices from the first page.
const defaultBytesPerElem = 512

// spare is how many bytes beyond an answer of size bytes the body of an events endpoint's page
// is read with, so that build can splice event_type into the body itself (see buildAt): room
// for the field in each of the elements expected, from the size of the last page's, with an
// eighth to spare. Alerts keep their bytes: none.
func (b *builder) spare(size int64) int {
	if b.ep.kind != "events" || size <= 0 {
		return 0
	}
	per := b.bytesPerElem
	if per <= 0 {
		per = defaultBytesPerElem
	}
	elems := size/int64(per) + 16
	return int(min(elems+elems/8, 1<<24) * int64(len(b.field())+1))
}

// room is the bytes that splicing event_type into count elements may add: none for alerts.
func (b *builder) room(count int) int {
	if b.ep.kind != "events" {
		return 0
	}
	return count * (len(b.field()) + 1)
}

// field is the member spliced into an event: `"event_type":"<type>"`.
func (b *builder) field() string { return `"event_type":"` + b.ep.typ + `"` }

// build returns the records of the valid elements, in page order, and the invalid elements.
//
// Alerts keep their bytes exactly as received. Events get a top-level "event_type" set to
// their endpoint's type (what Cloud Exchange's rules and mappings expect of events), spliced
// into the bytes rather than re-encoded: `{"event_type":"audit",` replaces the opening brace,
// or, when the record already has a top-level event_type, only that value is replaced. Every
// other byte stays as received.
//
// When the answer's body has room after it (answer.body, read with spare), the events are
// spliced in the body itself, each moved right by what the events before it grew: the page is
// one allocation, not a body and a copy of its records live at the same time. Otherwise the
// event records of a page share one allocation of their own. Either way the elements' raw
// bytes are not the records' afterwards (the invalid elements returned keep theirs).
//
// A record that is not valid UTF-8 is repaired (jsonx.RepairUTF8: each invalid byte becomes
// U+FFFD, as every JSON decoder reads it) and counted; a valid one costs one utf8.Valid.
func (b *builder) build(a *answer) (recs []*event.Record, invalid []elem, later int) {
	recs, _, invalid, later = b.buildAt(a)
	return recs, invalid, later
}

// buildAt is build, also returning the place in the page of each record's element (elem.pos).
func (b *builder) buildAt(a *answer) (recs []*event.Record, at []int, invalid []elem, later int) {
	if len(a.elems) > 0 && len(a.result) > 0 {
		b.bytesPerElem = max(len(a.result)/len(a.elems), 1)
		if len(a.spans) > 0 {
			b.bytesPerSpan = max(len(a.result)/len(a.spans), 1)
		}
	}
	recs = make([]*event.Record, 0, len(a.elems))
	at = make([]int, 0, len(a.elems))
	kind, subtype := b.ep.recordKind(), b.ep.subtype()
	events := b.ep.kind == "events"
	from := make([]*elem, 0, len(a.elems)) // the element of each record
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
		if !events {
			r.Raw = e.raw[:len(e.raw):len(e.raw)]
		}
		from = append(from, e)
		recs = append(recs, r)
		at = append(at, e.pos)
	}
	if events && !b.spliceInPlace(a.body, recs, from, invalid) {
		b.spliceCopies(recs, from)
	}
	for i, r := range recs {
		if fixed, first := jsonx.RepairUTF8(r.Raw); first >= 0 {
			r.Raw, r.ID = fixed, jsonx.RepairUTF8String(r.ID)
			b.repairs.Note(plugin.RepairInvalidUTF8, "record", at[i]+1, "_id", r.ID, "invalid_byte", first)
			continue // other bytes: the spans found are not theirs
		}
		if sp := b.recordSpans(a.spans, from[i], len(r.Raw)); sp != nil {
			r.SetSpans(sp)
		}
	}
	return recs, at, invalid, later
}

// recordSpans returns the member spans of the record built from e (spans: the page's, see
// recordFields.spanFrom), for its bytes as built (size bytes): the members as found, and for
// an event, with the event_type member spliced in front (its place before the record's spans)
// or its value's span changed and the members after it moved. Nil when there are none. It
// changes the page's spans in place: an answer is built once.
func (b *builder) recordSpans(spans []event.Span, e *elem, size int) []event.Span {
	f := &e.rec
	if !f.spanned || f.spanFrom >= f.spanTo || f.spanTo > len(spans) || size > event.MaxSpanned {
		return nil
	}
	own := spans[f.spanFrom+1 : f.spanTo : f.spanTo]
	if b.ep.kind != "events" {
		return own
	}
	value := len(b.ep.typ) + 2 // "<type>"
	if f.hasEventType {
		delta := value - (f.evEnd - f.evStart)
		for i := range own {
			sp := &own[i]
			switch {
			case int(sp.ValueStart) == f.evStart:
				sp.ValueEnd = uint16(f.evStart + value)
				sp.Flags &^= event.SpanSpaced
			case int(sp.KeyStart) > f.evStart:
				sp.KeyStart = uint16(int(sp.KeyStart) + delta)
				sp.ValueStart = uint16(int(sp.ValueStart) + delta)
				sp.ValueEnd = uint16(int(sp.ValueEnd) + delta)
			}
		}
		return own
	}
	// {"event_type":"<type>", then the members, each len(field)+1 bytes further on.
	shift := uint16(len(b.field()) + 1)
	for i := range own {
		own[i].KeyStart += shift
		own[i].ValueStart += shift
		own[i].ValueEnd += shift
	}
	all := spans[f.spanFrom:f.spanTo:f.spanTo]
	all[0] = event.Span{KeyStart: 2, KeyLen: uint8(len("event_type")), ValueStart: 14, ValueEnd: uint16(14 + value)}
	return all
}

// spliceCopies gives each event record (recs[i], of the element from[i]) its bytes with
// event_type, in one allocation for the page.
func (b *builder) spliceCopies(recs []*event.Record, from []*elem) {
	field := b.field()
	size := 0
	for _, e := range from {
		size += len(e.raw) + len(field) + 1
	}
	arena := make([]byte, 0, size)
	for i, e := range from {
		start := len(arena)
		arena = spliceEventType(arena, e.raw, &e.rec, field, b.ep.typ)
		recs[i].Raw = arena[start:len(arena):len(arena)]
	}
}

// spliceInPlace gives each event record (recs[i], of the element from[i]) its bytes with
// event_type within body, the answer the elements are slices of, when its capacity has the
// room; it reports whether it did. The invalid elements' bytes are copied first (body's bytes
// between the records are written over).
//
// Each record i goes to an offset to[i] no lower than its own (from[i].raw's), and past the
// end of the record before it there: moving the records from the last to the first, a record
// is written over bytes no record still to move holds (see spliceAt).
func (b *builder) spliceInPlace(body []byte, recs []*event.Record, from []*elem, invalid []elem) bool {
	if len(from) == 0 || cap(body) == 0 {
		return len(from) == 0
	}
	field := b.field()
	full := body[:cap(body)]
	base := unsafe.Pointer(unsafe.SliceData(full))
	to := make([]int, len(from))
	next := 0 // the first byte after the last record placed
	end := 0  // the first byte after the last element's
	for i, e := range from {
		off := offsetIn(base, cap(full), e.raw)
		if off < end {
			return false // not within body, or not in page order
		}
		end = off + len(e.raw)
		to[i] = max(off, next)
		next = to[i] + splicedLen(e.raw, &e.rec, field, b.ep.typ)
	}
	if next > cap(full) {
		return false
	}
	for i := range invalid {
		invalid[i].raw = slices.Clone(invalid[i].raw)
	}
	for i := len(from) - 1; i >= 0; i-- {
		e := from[i]
		off := offsetIn(base, cap(full), e.raw)
		n := spliceAt(full, off, to[i], len(e.raw), &e.rec, field, b.ep.typ)
		recs[i].Raw = full[to[i] : to[i]+n : to[i]+n]
	}
	return true
}

// offsetIn is the offset of b's first byte in the array of n bytes at base, or -1 when b is
// not within it.
func offsetIn(base unsafe.Pointer, n int, b []byte) int {
	if len(b) == 0 {
		return -1
	}
	off := uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(base)
	if off >= uintptr(n) || uintptr(len(b)) > uintptr(n)-off {
		return -1
	}
	return int(off)
}

// splicedLen is the length of spliceEventType's output for raw.
func splicedLen(raw []byte, f *recordFields, field, typ string) int {
	switch {
	case f.hasEventType:
		return f.evStart + len(typ) + 2 + len(raw) - f.evEnd
	case f.empty:
		return len(field) + 2
	default:
		return len(raw) + len(field) + 1
	}
}

// spliceAt writes into buf at to what spliceEventType makes of the n bytes at from (to >=
// from), and returns its length. The parts of the record after and before the splice are
// moved first, the farthest first (copy moves overlapping bytes correctly), then the spliced
// bytes written between them.
func spliceAt(buf []byte, from, to, n int, f *recordFields, field, typ string) int {
	switch {
	case f.hasEventType:
		vs := to + f.evStart
		after := vs + len(typ) + 2
		copy(buf[after:], buf[from+f.evEnd:from+n])
		copy(buf[to:], buf[from:from+f.evStart])
		buf[vs] = '"'
		copy(buf[vs+1:], typ)
		buf[after-1] = '"'
		return after + n - f.evEnd - to
	case f.empty:
		buf[to] = '{'
		copy(buf[to+1:], field)
		buf[to+1+len(field)] = '}'
		return len(field) + 2
	default:
		copy(buf[to+len(field)+2:], buf[from+1:from+n])
		buf[to] = '{'
		copy(buf[to+1:], field)
		buf[to+1+len(field)] = ','
		return n + len(field) + 1
	}
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
