package netskope

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
)

// This file reads data-export answers without decoding records: a page of 10,000 records is
// about 20 MB, and decoding each record into a map (then encoding it again) would cost more
// than everything else the shipper does with it. One pass over the body checks each record
// with the project's one JSON checker (jsonx.Scanner: encoding/json's grammar) and picks out
// the few top-level fields the source needs; records are handed on as the bytes received (so
// 64-bit integers keep every digit), marked as checked (event.Record.ValidJSON).

// scanner walks an answer.
type scanner struct {
	jsonx.Scanner
	// spans are the records' members as found (recordFields.spanFrom, spanTo), each record's
	// after a free place for the event_type member build may splice in front.
	spans []event.Span
}

// answer is a data-export answer as read.
type answer struct {
	ok       bool
	hasOK    bool
	errMsg   string
	result   []byte // the result array as received (for the page fingerprint)
	elems    []elem
	waitTime float64
	hasWait  bool
	hwm      int64
	hasHWM   bool
	// body is the answer as read, when the elements may be written over in it (its capacity
	// past its length is room for build to splice events in place); nil otherwise.
	body []byte
	// spans holds the records' member spans (recordFields.spanFrom, spanTo).
	spans []event.Span
}

// elem is one element of the result array.
type elem struct {
	raw []byte // as received (a sub-slice of the body)
	err error  // why it is not a record, or nil
	pos int    // its place in the result array, from 0 (for messages)
	rec recordFields
}

// recordFields are the top-level fields of a record the source reads.
type recordFields struct {
	id        string
	timestamp []byte // raw value
	inserted  []byte // raw _insertion_epoch_timestamp
	// eventType is the span of the value of a top-level event_type, if any: [evStart, evEnd).
	hasEventType   bool
	evStart, evEnd int
	empty          bool // the object has no member
	// spanFrom and spanTo are the record's place in answer.spans: a free place for an
	// event_type spliced in front, then a span of each member, offsets from the record's
	// first byte. spanned is false when a span could not say where a member is (an offset
	// past event.MaxSpanned, a key longer than event.MaxSpanKey).
	spanFrom, spanTo int
	spanned          bool
}

// parseAnswer reads {"ok":1,"result":[...],"wait_time":N,"timestamp_hwm":T}. Members other
// than these (and "error"/"message") are ignored. A result element that is not a valid JSON
// object is kept with its error, so the page can still be used; an answer whose structure is
// broken is an error.
func parseAnswer(body []byte) (*answer, error) {
	return parseAnswerSpans(body, len(body)/defaultBytesPerSpan)
}

// parseAnswerSpans is parseAnswer with room for spans member spans to begin with
// (builder.spanRoom): an arena that must grow copies itself.
func parseAnswerSpans(body []byte, spans int) (*answer, error) {
	a, err := parse(body, spans)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return a, nil
}

func parse(body []byte, spans int) (*answer, error) {
	s := &scanner{Scanner: jsonx.Scanner{B: body}, spans: make([]event.Span, 0, max(spans, 0))}
	s.WS()
	if s.I >= len(body) || body[s.I] != '{' {
		return nil, s.Fail("the answer is not a JSON object")
	}
	a := &answer{}
	s.I++
	s.WS()
	if s.I < len(body) && body[s.I] == '}' {
		s.I++
		return a, s.end()
	}
	for {
		if s.I >= len(body) || body[s.I] != '"' {
			return nil, s.Fail("expected a key")
		}
		ks, ke, esc, err := s.Key()
		if err != nil {
			return nil, err
		}
		key := string(body[ks:ke])
		if esc {
			key = unquote(body[ks-1 : ke+1])
		}
		s.WS()
		vs := s.I
		if key == "result" && s.I < len(body) && body[s.I] == '[' {
			if err := s.result(a); err != nil {
				return nil, err
			}
			a.result = body[vs:s.I]
			a.spans = s.spans
		} else {
			if err := s.Skip(); err != nil {
				return nil, err
			}
			v := body[vs:s.I]
			switch key {
			case "result":
				// Records not in an array would otherwise make an empty page, and the index
				// would move past them unseen. null is an answer with no page ("ok": 0).
				if string(v) != "null" {
					s.I = vs
					return nil, s.Fail("result is not an array")
				}
			default:
				a.note(key, v)
			}
		}
		s.WS()
		if s.I >= len(body) {
			return nil, s.Fail("unexpected end of the answer")
		}
		switch body[s.I] {
		case ',':
			s.I++
			s.WS()
		case '}':
			s.I++
			return a, s.end()
		default:
			return nil, s.Fail("expected ',' or '}'")
		}
	}
}

func (s *scanner) end() error {
	s.WS()
	if s.I != len(s.B) {
		return s.Fail("data after the answer")
	}
	return nil
}

// result reads the result array at s.I into a.elems.
func (s *scanner) result(a *answer) error {
	s.I++ // '['
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == ']' {
		s.I++
		return nil
	}
	for {
		start := s.I
		s.Depth = 0
		e := elem{pos: len(a.elems)}
		if s.I < len(s.B) && s.B[s.I] == '{' {
			if err := s.record(&e.rec); err != nil {
				e.err = fmt.Errorf("invalid JSON: %w", err)
			}
		} else {
			if err := s.Skip(); err != nil {
				e.err = fmt.Errorf("invalid JSON: %w", err)
			} else {
				e.err = errors.New("not a JSON object")
			}
		}
		if e.err != nil && isSyntaxError(e.err) {
			// Find the element's end without the grammar, and go on with the next one.
			s.I, s.Depth = start, 0
			if err := s.SkipUnchecked(); err != nil {
				return err
			}
		}
		e.raw = trimSpace(s.B[start:s.I])
		a.elems = append(a.elems, e)
		s.WS()
		if s.I >= len(s.B) {
			return s.Fail("unexpected end of the result array")
		}
		switch s.B[s.I] {
		case ',':
			s.I++
			s.WS()
		case ']':
			s.I++
			return nil
		default:
			return s.Fail("expected ',' or ']' in the result array")
		}
	}
}

// isSyntaxError reports an error of the JSON checker (not "valid, but not an object").
func isSyntaxError(err error) bool {
	var se *jsonx.SyntaxError
	return errors.As(err, &se)
}

// record checks the object at s.I and fills f from its top-level members. Its depth counts from
// the record, as every later reader of the record alone counts it.
func (s *scanner) record(f *recordFields) error {
	base := s.I
	members := 0
	s.Depth = 0
	f.spanFrom, f.spanned = len(s.spans), true
	s.spans = append(s.spans, event.Span{}) // the place of an event_type spliced in front
	err := s.Object(func(key []byte, escaped bool, vs, ve int) {
		members++
		if f.spanned {
			// key is a slice of B: its capacity says where it starts.
			ks := cap(s.B) - cap(key) - base
			if ve-base > event.MaxSpanned || len(key) > event.MaxSpanKey {
				f.spanned = false
			} else {
				sp := event.Span{KeyStart: uint16(ks), KeyLen: uint8(len(key)), ValueStart: uint16(vs - base), ValueEnd: uint16(ve - base)}
				if escaped {
					sp.Flags |= event.SpanKeyEscaped
				}
				if s.ValueSpaced {
					sp.Flags |= event.SpanSpaced
				}
				s.spans = append(s.spans, sp)
			}
		}
		if escaped {
			key = []byte(unquote(append(append([]byte{'"'}, key...), '"')))
		}
		value := s.B[vs:ve]
		switch string(key) {
		case "_id":
			f.id = textOf(value)
		case "timestamp":
			f.timestamp = value
		case "_insertion_epoch_timestamp":
			f.inserted = value
		case "event_type":
			f.hasEventType = true
			f.evStart, f.evEnd = vs-base, ve-base
		}
	})
	f.empty = members == 0
	if err != nil || !f.spanned {
		f.spanned = false
		s.spans = s.spans[:f.spanFrom]
	}
	f.spanTo = len(s.spans)
	return err
}

// textOf returns a string value's text, or a number's digits; "" for anything else.
func textOf(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	if v[0] == '"' {
		for _, c := range v[1 : len(v)-1] {
			if c == '\\' {
				return unquote(v)
			}
		}
		return string(v[1 : len(v)-1])
	}
	if v[0] == '-' || v[0] >= '0' && v[0] <= '9' {
		return string(v)
	}
	return ""
}

func unquote(v []byte) string {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return string(v)
	}
	return s
}

// epochOf reads an epoch-seconds value: an integer, a decimal, or a string holding one.
func epochOf(v []byte) (int64, bool) {
	t := textOf(v)
	if t == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return n, true
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil && f > -1e15 && f < 1e15 {
		return int64(f), true
	}
	return 0, false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// note records the answer's top-level member key (other than result) with value v, when it is
// one the source reads: ok, wait_time, timestamp_hwm, or an error message.
func (a *answer) note(key string, v []byte) {
	switch key {
	case "ok":
		a.hasOK = true
		a.ok = string(v) == "1" || string(v) == "true" || string(v) == "1.0"
	case "wait_time":
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			a.waitTime, a.hasWait = f, true
		}
	case "timestamp_hwm":
		if n, ok := epochOf(v); ok {
			a.hwm, a.hasHWM = n, true
		}
	case "error", "message", "Message":
		if a.errMsg == "" {
			a.errMsg = textOf(v)
		}
	}
}
