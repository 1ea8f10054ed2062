package cloudtrailrecord

import (
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/jsonx"
)

// maxDepth bounds nesting so that hostile input cannot grow the stack without limit.
const maxDepth = 512

// scanner is a validating JSON reader over one byte slice that never allocates on the path
// of a well-formed record: values it is not asked for are skipped (and checked) in place,
// strings come back as sub-slices of the input.
type scanner struct {
	b     []byte
	i     int
	depth int
	bad   bool
	// first is true between enter and the first key or elem call; a single flag serves
	// every level, because nothing nests in between.
	first bool
}

// plain marks the bytes a string can hold without a second look: printable ASCII other
// than '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scanner) ws() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) fail() bool {
	s.bad = true
	return false
}

// str reads a string whose opening quote is at s.i. It returns the bytes between the quotes
// and whether they need decoding (escapes, or invalid UTF-8 that encoding/json would replace).
func (s *scanner) str() (raw []byte, esc bool, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, s.fail()
	}
	s.i++
	start := s.i
	high := false
	for s.i < len(s.b) {
		// Fast path: plain ASCII needs no attention.
		for s.i < len(s.b) && plain[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			if high && !esc && !utf8.Valid(raw) {
				esc = true
			}
			return raw, esc, true
		case c == '\\':
			esc = true
			s.i++
			if s.i >= len(s.b) {
				return nil, false, s.fail()
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+5 > len(s.b) {
					return nil, false, s.fail()
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if unhex(h) < 0 {
						return nil, false, s.fail()
					}
				}
				s.i += 5
			default:
				return nil, false, s.fail()
			}
		case c < 0x20:
			return nil, false, s.fail()
		default:
			if c >= 0x80 {
				high = true
			}
			s.i++
		}
	}
	return nil, false, s.fail()
}

// text reads a string value and returns it decoded. Unescaped strings are returned as a
// sub-slice of the input; others are decoded into a new slice.
func (s *scanner) text() ([]byte, bool) {
	raw, esc, ok := s.str()
	if !ok {
		return nil, false
	}
	if esc {
		return jsonx.AppendUnescaped(make([]byte, 0, len(raw)), raw), true
	}
	return raw, true
}

// skip reads and checks one value of any kind, returning the bytes it spans.
func (s *scanner) skip() ([]byte, bool) {
	s.ws()
	start := s.i
	if s.i >= len(s.b) {
		return nil, s.fail()
	}
	switch c := s.b[s.i]; {
	case c == '"':
		if _, _, ok := s.str(); !ok {
			return nil, false
		}
	case c == '{':
		if !s.enter('{') {
			return nil, false
		}
		for {
			_, ok := s.key()
			if !ok {
				break
			}
			if _, ok := s.skip(); !ok {
				return nil, false
			}
		}
		if s.bad {
			return nil, false
		}
	case c == '[':
		if !s.enter('[') {
			return nil, false
		}
		for s.elem() {
			if _, ok := s.skip(); !ok {
				return nil, false
			}
		}
		if s.bad {
			return nil, false
		}
	case c == 't':
		return s.lit("true", start)
	case c == 'f':
		return s.lit("false", start)
	case c == 'n':
		return s.lit("null", start)
	case c == '-' || (c >= '0' && c <= '9'):
		if !s.num() {
			return nil, false
		}
	default:
		return nil, s.fail()
	}
	return s.b[start:s.i], true
}

func (s *scanner) lit(word string, start int) ([]byte, bool) {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return nil, s.fail()
	}
	s.i += len(word)
	return s.b[start:s.i], true
}

// num reads a number by the JSON grammar.
func (s *scanner) num() bool {
	b := s.b
	if s.i < len(b) && b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(b) && b[s.i] == '0':
		s.i++
	case s.i < len(b) && b[s.i] >= '1' && b[s.i] <= '9':
		for s.i < len(b) && b[s.i] >= '0' && b[s.i] <= '9' {
			s.i++
		}
	default:
		return s.fail()
	}
	if s.i < len(b) && b[s.i] == '.' {
		s.i++
		d := s.i
		for s.i < len(b) && b[s.i] >= '0' && b[s.i] <= '9' {
			s.i++
		}
		if s.i == d {
			return s.fail()
		}
	}
	if s.i < len(b) && (b[s.i] == 'e' || b[s.i] == 'E') {
		s.i++
		if s.i < len(b) && (b[s.i] == '+' || b[s.i] == '-') {
			s.i++
		}
		d := s.i
		for s.i < len(b) && b[s.i] >= '0' && b[s.i] <= '9' {
			s.i++
		}
		if s.i == d {
			return s.fail()
		}
	}
	return true
}

// enter consumes the opening bracket of an object or array and arms key/elem for its first
// member.
func (s *scanner) enter(open byte) bool {
	if s.peek() != open {
		return s.fail()
	}
	s.depth++
	if s.depth > maxDepth {
		return s.fail()
	}
	s.i++
	s.first = true
	return true
}

// key advances to the next member of the object being read and returns its (decoded) name,
// leaving s.i on the member's value. It returns false at the closing brace (consumed) or on
// an error (s.bad set).
func (s *scanner) key() ([]byte, bool) {
	c := s.peek()
	if c == '}' && s.first {
		s.i++
		s.first = false
		s.depth--
		return nil, false
	}
	if !s.first {
		switch c {
		case '}':
			s.i++
			s.depth--
			return nil, false
		case ',':
			s.i++
			s.ws()
		default:
			return nil, s.fail()
		}
	}
	s.first = false
	k, ok := s.text()
	if !ok {
		return nil, false
	}
	if s.peek() != ':' {
		return nil, s.fail()
	}
	s.i++
	s.ws()
	return k, true
}

// elem advances to the next element of the array being read; false at the closing bracket
// (consumed) or on an error.
func (s *scanner) elem() bool {
	c := s.peek()
	if c == ']' {
		s.i++
		s.first = false
		s.depth--
		return false
	}
	if !s.first {
		if c != ',' {
			return s.fail()
		}
		s.i++
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			return s.fail() // trailing comma
		}
	}
	s.first = false
	return true
}

// end reports whether only white space remains.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
