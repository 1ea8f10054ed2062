package cloudtrailrecord

import "github.com/logshipper/logshipper/internal/jsonx"

// maxDepth bounds nesting, tighter than jsonx.MaxDepth: a CloudTrail record nests a handful of
// levels, and input nested deeper than this is not one.
const maxDepth = 512

// scanner walks the members of the few objects the parser reads (the record, userIdentity,
// sessionContext, an envelope) and reads their string values, over one byte slice, without
// allocating on the path of a well-formed record: strings come back as sub-slices of the input
// when they need no decoding. Every grammar check (a value it is not asked for, a string's
// escapes and control bytes, numbers, literals, nesting) is jsonx.Scanner's: the scanner hands
// it the input at its position and the nesting it is at, and takes back where it stopped.
type scanner struct {
	b     []byte
	i     int
	depth int
	bad   bool
	// first is true between enter and the first key or elem call; a single flag serves
	// every level, because nothing nests in between.
	first bool
}

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

// hand sets j to the scanner's input, position and nesting; done moves the scanner to where j
// stopped. (j is set field by field, not assigned a struct value: a copied struct is written
// and read back in pieces of different widths, which stalls the CPU on every call.)
func (s *scanner) hand(j *jsonx.Scanner) {
	j.B, j.I, j.Depth, j.DepthLimit = s.b, s.i, s.depth, maxDepth
}

func (s *scanner) done(j *jsonx.Scanner, err error) bool {
	s.i, s.depth = j.I, j.Depth
	if err != nil {
		return s.fail()
	}
	return true
}

// text reads the string value whose opening quote is at s.i and returns it as encoding/json
// decodes it: a sub-slice of the input when it holds neither an escape nor invalid UTF-8, else
// a decoded copy.
func (s *scanner) text() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, s.fail()
	}
	var j jsonx.Scanner
	s.hand(&j)
	start, end, decode, err := j.ReadString()
	if !s.done(&j, err) {
		return nil, false
	}
	if decode {
		return jsonx.AppendUnescaped(make([]byte, 0, end-start), s.b[start:end]), true
	}
	return s.b[start:end], true
}

// skip reads and checks one value of any kind, returning the bytes it spans.
func (s *scanner) skip() ([]byte, bool) {
	s.ws()
	start := s.i
	var j jsonx.Scanner
	s.hand(&j)
	if !s.done(&j, j.Skip()) {
		return nil, false
	}
	return s.b[start:s.i], true
}

// enter consumes the opening bracket of an object or array and arms key/elem for its first
// member. It is used only at the few levels the parser reads (deeper values are skip's), so
// the nesting it counts stays far below maxDepth; skip goes on counting from it.
func (s *scanner) enter(open byte) bool {
	if s.peek() != open {
		return s.fail()
	}
	s.depth++
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
	// Decoded as values are: a member named by another value (responseElements.<eventName>)
	// is found whatever either holds.
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
