package netskope

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/logshipper/logshipper/internal/jsonx"
)

// This file reads data-export answers without decoding records: a page of 10,000 records is
// about 20 MB, and decoding each record into a map (then encoding it again) would cost more
// than everything else the shipper does with it. One pass over the body validates each record
// (the same grammar as encoding/json's Valid, checked by a fuzz test) and picks out the few
// top-level fields the source needs; records are handed on as the bytes received, so 64-bit
// integers keep every digit.

// maxDepth is the deepest nesting accepted, as encoding/json.
const maxDepth = 10000

var errSyntax = errors.New("invalid JSON")

// scanner walks JSON bytes.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", errSyntax, what, s.i)
}

// value validates one JSON value starting at s.i and moves past it.
func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.fail("unexpected end")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, _, _, err := s.str()
		return err
	case c == '{':
		return s.object(depth+1, nil)
	case c == '[':
		return s.array(depth + 1)
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	default:
		return s.fail("unexpected character")
	}
}

// fieldFunc receives each member of an object walked: key is the raw key (between its quotes,
// escapes not decoded), the value is s.b[vs:ve].
type fieldFunc func(key []byte, vs, ve int, escaped bool)

// object validates an object at s.i, calling f (if set) for each member.
func (s *scanner) object(depth int, f fieldFunc) error {
	if depth > maxDepth {
		return s.fail("nested too deeply")
	}
	s.i++ // '{'
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("expected a key")
		}
		ks, ke, esc, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("expected ':'")
		}
		s.i++
		s.ws()
		vs := s.i
		if err := s.value(depth); err != nil {
			return err
		}
		if f != nil {
			f(s.b[ks:ke], vs, s.i, esc)
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unexpected end of object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or '}'")
		}
	}
}

func (s *scanner) array(depth int) error {
	if depth > maxDepth {
		return s.fail("nested too deeply")
	}
	s.i++ // '['
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unexpected end of array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or ']'")
		}
	}
}

// str validates a string at s.i and returns the span of its content and whether it holds
// escapes.
func (s *scanner) str() (start, end int, escaped bool, err error) {
	s.i++ // opening quote
	start = s.i
	for s.i < len(s.b) {
		// Fast path: the bytes that need no attention, eight at a time.
		s.i = jsonx.StringStop(s.b, s.i)
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			end = s.i
			s.i++
			return start, end, escaped, nil
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(s.b) {
				return 0, 0, false, s.fail("unexpected end of string")
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.b) {
					return 0, 0, false, s.fail("unexpected end of string")
				}
				for k := 1; k <= 4; k++ {
					if !isHex(s.b[s.i+k]) {
						return 0, 0, false, s.fail("bad \\u escape")
					}
				}
				s.i += 5
			default:
				return 0, 0, false, s.fail("bad escape")
			}
		case c < 0x20:
			return 0, 0, false, s.fail("control character in string")
		}
	}
	return 0, 0, false, s.fail("unexpected end of string")
}

// plain marks the bytes a string holds as they are: not '"', '\\' or a control character.
func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (s *scanner) lit(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.fail("unexpected literal")
	}
	s.i += len(word)
	return nil
}

// number validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.fail("bad number")
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.fail("bad number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.fail("bad number")
		}
	}
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// skip moves past the value at s.i without validating it, tracking only strings and brackets.
// It finds where a broken record ends, so that its neighbours can still be read.
func (s *scanner) skip() error {
	depth := 0
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case '"':
			s.i++
			for s.i < len(s.b) && s.b[s.i] != '"' {
				if s.b[s.i] == '\\' {
					s.i++
				}
				s.i++
			}
			if s.i >= len(s.b) {
				return s.fail("unterminated string")
			}
			s.i++
		case '{', '[':
			depth++
			s.i++
		case '}', ']':
			if depth == 0 {
				return nil // the end of the enclosing array
			}
			depth--
			s.i++
		case ',':
			if depth == 0 {
				return nil
			}
			s.i++
		default:
			s.i++
		}
	}
	return s.fail("unexpected end")
}

// validJSON reports whether b is one JSON value (with surrounding white space).
func validJSON(b []byte) bool {
	s := scanner{b: b}
	s.ws()
	if s.value(0) != nil {
		return false
	}
	s.ws()
	return s.i == len(b)
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
}

// parseAnswer reads {"ok":1,"result":[...],"wait_time":N,"timestamp_hwm":T}. Members other
// than these (and "error"/"message") are ignored. A result element that is not a valid JSON
// object is kept with its error, so the page can still be used; an answer whose structure is
// broken is an error.
func parseAnswer(body []byte) (*answer, error) {
	s := &scanner{b: body}
	s.ws()
	if s.i >= len(body) || body[s.i] != '{' {
		return nil, s.fail("the answer is not a JSON object")
	}
	a := &answer{}
	s.i++
	s.ws()
	if s.i < len(body) && body[s.i] == '}' {
		s.i++
		return a, s.end()
	}
	for {
		if s.i >= len(body) || body[s.i] != '"' {
			return nil, s.fail("expected a key")
		}
		ks, ke, esc, err := s.str()
		if err != nil {
			return nil, err
		}
		key := string(body[ks:ke])
		if esc {
			key = unquote(body[ks-1 : ke+1])
		}
		s.ws()
		if s.i >= len(body) || body[s.i] != ':' {
			return nil, s.fail("expected ':'")
		}
		s.i++
		s.ws()
		vs := s.i
		if key == "result" && s.i < len(body) && body[s.i] == '[' {
			if err := s.result(a); err != nil {
				return nil, err
			}
			a.result = body[vs:s.i]
		} else {
			if err := s.value(1); err != nil {
				return nil, err
			}
			v := body[vs:s.i]
			switch key {
			case "result":
				// Records not in an array would otherwise make an empty page, and the index
				// would move past them unseen. null is an answer with no page ("ok": 0).
				if string(v) != "null" {
					s.i = vs
					return nil, s.fail("result is not an array")
				}
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
		s.ws()
		if s.i >= len(body) {
			return nil, s.fail("unexpected end of the answer")
		}
		switch body[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return a, s.end()
		default:
			return nil, s.fail("expected ',' or '}'")
		}
	}
}

func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return s.fail("data after the answer")
	}
	return nil
}

// result reads the result array at s.i into a.elems.
func (s *scanner) result(a *answer) error {
	s.i++ // '['
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		start := s.i
		e := elem{pos: len(a.elems)}
		if s.i < len(s.b) && s.b[s.i] == '{' {
			e.err = s.record(&e.rec)
		} else {
			e.err = s.value(1)
			if e.err == nil {
				e.err = errors.New("not a JSON object")
			}
		}
		if e.err != nil && errors.Is(e.err, errSyntax) {
			// Find the element's end without the grammar, and go on with the next one.
			s.i = start
			if err := s.skip(); err != nil {
				return err
			}
		}
		e.raw = trimSpace(s.b[start:s.i])
		a.elems = append(a.elems, e)
		s.ws()
		if s.i >= len(s.b) {
			return s.fail("unexpected end of the result array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or ']' in the result array")
		}
	}
}

// record validates the object at s.i and fills f from its top-level members.
func (s *scanner) record(f *recordFields) error {
	base := s.i
	members := 0
	err := s.object(1, func(key []byte, vs, ve int, escaped bool) {
		members++
		if escaped {
			key = []byte(unquote(append(append([]byte{'"'}, key...), '"')))
		}
		value := s.b[vs:ve]
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
