package jsonx

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays a Scanner accepts, as encoding/json's.
const MaxDepth = 10000

// SyntaxError names where input stopped being JSON.
type SyntaxError struct {
	Msg    string
	Offset int
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset) }

// Scanner is the project's one JSON syntax checker: it moves through B from I, checking the
// grammar encoding/json's Valid checks (UTF-8 is not its business: encoders replace bad bytes),
// without building anything. The record decoder (internal/event) builds values on top of it,
// and the Netskope page reader walks a page of records with it, so a record is checked once, by
// one piece of code, wherever it comes from.
type Scanner struct {
	B []byte
	I int
	// Depth is the nesting of the value at I: the objects and arrays it is inside.
	Depth int
	// Spaces counts the white-space bytes WS has skipped: a value during whose scan it did not
	// grow holds no white space between its tokens.
	Spaces int
	// DepthLimit is the deepest nesting this scanner accepts, for a reader that bounds nesting
	// more tightly than MaxDepth; zero (or anything above MaxDepth) means MaxDepth.
	DepthLimit int
	// ValueSpaced says, while Object calls its Member function, that the member's value holds
	// white space between its tokens.
	ValueSpaced bool
}

// Valid reports whether b holds exactly one JSON value (white space around it allowed): what
// encoding/json's Valid says, several times faster.
func Valid(b []byte) bool {
	s := Scanner{B: b}
	if s.Skip() != nil {
		return false
	}
	s.WS()
	return s.I == len(b)
}

// Fail returns a SyntaxError at the scanner's position.
func (s *Scanner) Fail(msg string) error { return &SyntaxError{Msg: msg, Offset: s.I} }

// WS moves past white space.
func (s *Scanner) WS() {
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
			s.Spaces++
		default:
			return
		}
	}
}

// Skip checks the value at I (after white space) and moves past it.
func (s *Scanner) Skip() error {
	s.WS()
	if s.I >= len(s.B) {
		return s.Fail("unexpected end of JSON input")
	}
	switch c := s.B[s.I]; {
	case c == '"':
		return s.SkipString()
	case c == '{':
		return s.Object(nil)
	case c == '[':
		return s.skipArray()
	case c == '-' || c >= '0' && c <= '9':
		_, err := s.SkipNumber()
		return err
	case c == 't':
		return s.Literal("true")
	case c == 'f':
		return s.Literal("false")
	case c == 'n':
		return s.Literal("null")
	default:
		return s.Fail(fmt.Sprintf("invalid character %q looking for beginning of value", c))
	}
}

// deeper enters an object or array: it counts one more level of nesting and refuses it beyond
// the scanner's limit.
func (s *Scanner) deeper() error {
	s.Depth++
	if s.Depth > MaxDepth || s.DepthLimit > 0 && s.Depth > s.DepthLimit {
		return s.Fail("exceeded max depth")
	}
	return nil
}

// skipArray checks the array at I (its opening bracket) and moves past it.
func (s *Scanner) skipArray() error {
	if err := s.deeper(); err != nil {
		return err
	}
	s.I++
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == ']' {
		s.I++
		s.Depth--
		return nil
	}
	for {
		if err := s.Skip(); err != nil {
			return err
		}
		if done, err := s.next(']', "after array element: want ',' or ']'"); done || err != nil {
			return err
		}
	}
}

// next reads what follows an element or a member: a comma (more follow) or the closing
// bracket (done: the container is left). Anything else is an error saying want.
func (s *Scanner) next(closer byte, want string) (done bool, err error) {
	s.WS()
	if s.I >= len(s.B) {
		return false, s.Fail("unexpected end of JSON input")
	}
	switch s.B[s.I] {
	case ',':
		s.I++
		return false, nil
	case closer:
		s.I++
		s.Depth--
		return true, nil
	}
	return false, s.Fail(want)
}

// Key reads the object key at I (its opening quote) and the colon after it. The key's content
// is B[start:end]; escaped says it holds an escape to decode (AppendUnescaped).
func (s *Scanner) Key() (start, end int, escaped bool, err error) {
	start = s.I + 1
	if j := StringStop(s.B, start); j < len(s.B) && s.B[j] == '"' {
		s.I = j + 1
	} else {
		escaped = true
		if err := s.SkipString(); err != nil {
			return 0, 0, false, err
		}
	}
	end = s.I - 1
	s.WS()
	if s.I >= len(s.B) || s.B[s.I] != ':' {
		return 0, 0, false, s.Fail("after object key: want ':'")
	}
	s.I++
	return start, end, escaped, nil
}

// ReadString checks the string at I (its opening quote), as SkipString does, and moves past
// it. Its content is B[start:end]; decode says AppendUnescaped would change it (it holds an
// escape, or bytes that are not valid UTF-8); without it the content is the string's value as
// encoding/json decodes it.
func (s *Scanner) ReadString() (start, end int, decode bool, err error) {
	start = s.I + 1
	j := ASCIIStop(s.B, start)
	if j < len(s.B) && s.B[j] >= utf8.RuneSelf {
		// Not ASCII: the rest of a run without escapes is checked as UTF-8.
		k := StringStop(s.B, j)
		if k < len(s.B) && s.B[k] == '"' {
			s.I = k + 1
			return start, k, !utf8.Valid(s.B[j:k]), nil
		}
	} else if j < len(s.B) && s.B[j] == '"' {
		s.I = j + 1
		return start, j, false, nil
	}
	// An escape, a control character or the end of B.
	if err := s.SkipString(); err != nil {
		return 0, 0, false, err
	}
	return start, s.I - 1, true, nil
}

// Member is called by Object for each member: the key's content is key (escapes not decoded
// when escaped), the value is B[vs:ve].
type Member func(key []byte, escaped bool, vs, ve int)

// Object checks the object at I (its opening brace), calling f (when not nil) for each member
// in order, and moves past it.
func (s *Scanner) Object(f Member) error {
	if err := s.deeper(); err != nil {
		return err
	}
	s.I++
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == '}' {
		s.I++
		s.Depth--
		return nil
	}
	for {
		s.WS()
		if s.I >= len(s.B) || s.B[s.I] != '"' {
			return s.Fail("looking for beginning of object key string")
		}
		ks, ke, esc, err := s.Key()
		if err != nil {
			return err
		}
		s.WS()
		vs, spaces := s.I, s.Spaces
		if err := s.Skip(); err != nil {
			return err
		}
		if f != nil {
			s.ValueSpaced = s.Spaces != spaces
			f(s.B[ks:ke], esc, vs, s.I)
		}
		if done, err := s.next('}', "after object key:value pair: want ',' or '}'"); done || err != nil {
			return err
		}
	}
}

// SkipString checks the string at I (its opening quote: escapes, no control character) and
// moves past its closing quote.
func (s *Scanner) SkipString() error {
	s.I++
	for {
		if s.I = StringStop(s.B, s.I); s.I >= len(s.B) {
			break
		}
		switch c := s.B[s.I]; {
		case c == '"':
			s.I++
			return nil
		case c < 0x20:
			return s.Fail("invalid control character in string")
		default: // a backslash
			if s.I+1 >= len(s.B) {
				return s.Fail("unexpected end of JSON input in a string escape")
			}
			switch s.B[s.I+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.I += 2
			case 'u':
				if s.I+6 > len(s.B) || !isHex4(s.B[s.I+2:s.I+6]) {
					return s.Fail("invalid \\u escape in string")
				}
				s.I += 6
			default:
				return s.Fail("invalid escape in string")
			}
		}
	}
	return s.Fail("unexpected end of JSON input in a string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// SkipNumber checks the number at I against JSON's grammar and moves past it; integer says it
// has neither fraction nor exponent.
func (s *Scanner) SkipNumber() (integer bool, err error) {
	integer = true
	b := s.B
	if b[s.I] == '-' {
		s.I++
	}
	switch {
	case s.I < len(b) && b[s.I] == '0':
		s.I++
	case s.I < len(b) && b[s.I] >= '1' && b[s.I] <= '9':
		s.I = digits(b, s.I)
	default:
		return false, s.Fail("invalid number")
	}
	if s.I < len(b) && b[s.I] == '.' {
		integer = false
		s.I++
		if s.I >= len(b) || b[s.I] < '0' || b[s.I] > '9' {
			return false, s.Fail("invalid number: no digit after the decimal point")
		}
		s.I = digits(b, s.I)
	}
	if s.I < len(b) && (b[s.I] == 'e' || b[s.I] == 'E') {
		integer = false
		s.I++
		if s.I < len(b) && (b[s.I] == '+' || b[s.I] == '-') {
			s.I++
		}
		if s.I >= len(b) || b[s.I] < '0' || b[s.I] > '9' {
			return false, s.Fail("invalid number: no digit in the exponent")
		}
		s.I = digits(b, s.I)
	}
	return integer, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// Literal checks that lit (true, false or null) is at I and moves past it.
func (s *Scanner) Literal(lit string) error {
	if len(s.B)-s.I < len(lit) || string(s.B[s.I:s.I+len(lit)]) != lit {
		return s.Fail("invalid literal")
	}
	s.I += len(lit)
	return nil
}

// SkipUnchecked moves past the value at I without checking its grammar, following only strings
// and brackets, and stops at the comma or closing bracket that ends it (white space after the
// value is passed too). It finds where broken input ends, so that its neighbours (the other
// records of a page) can still be read. It never reads past B, whatever B holds.
func (s *Scanner) SkipUnchecked() error {
	depth := 0
	b := s.B
	for s.I < len(b) {
		switch b[s.I] {
		case '"':
			s.I++
			for {
				if s.I = StringStop(b, s.I); s.I >= len(b) {
					return s.Fail("unterminated string")
				}
				if c := b[s.I]; c == '"' {
					s.I++
					break
				} else if c == '\\' {
					s.I += 2
				} else {
					s.I++ // a control character: not this function's to refuse
				}
			}
		case '{', '[':
			depth++
			s.I++
		case '}', ']':
			if depth == 0 {
				return nil
			}
			depth--
			s.I++
		case ',':
			if depth == 0 {
				return nil
			}
			s.I++
		case ' ', '\t', '\n', '\r':
			s.I++
			s.Spaces++
		default:
			s.I++
		}
	}
	if depth == 0 {
		return nil // a scalar at the end of B
	}
	return s.Fail("unexpected end of JSON input")
}

// AppendCompact appends src to dst without the white space outside its strings, as
// encoding/json's Compact does (nothing is escaped or changed); src must be exactly one JSON
// value, else it returns dst unchanged and a *SyntaxError.
func AppendCompact(dst, src []byte) ([]byte, error) {
	s := Scanner{B: src}
	if err := s.Skip(); err != nil {
		return dst, err
	}
	if s.WS(); s.I != len(src) {
		return dst, s.Fail("unexpected data after the JSON value")
	}
	for i := 0; i < len(src); {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		case '"':
			// Checked above: the string ends, and holds no control byte.
			j := i + 1
			for {
				j = StringStop(src, j)
				if src[j] == '"' {
					j++
					break
				}
				j += 2 // a backslash and the byte it escapes
			}
			dst = append(dst, src[i:j]...)
			i = j
		default:
			j := i + 1
			for j < len(src) && src[j] != '"' && src[j] != ' ' && src[j] != '\t' && src[j] != '\n' && src[j] != '\r' {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j
		}
	}
	return dst, nil
}

// IsCompact reports whether b is exactly one JSON value with no white space outside its
// strings: what AppendCompact would write.
func IsCompact(b []byte) bool {
	s := Scanner{B: b}
	return s.Skip() == nil && s.I == len(b) && s.Spaces == 0
}

// AppendLine appends raw to dst as one line of text: as it is when it holds no line break,
// compacted (AppendCompact) when it does, which needs it to be JSON.
func AppendLine(dst, raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return append(dst, raw...), nil
	}
	return AppendCompact(dst, raw)
}

// Members checks the object at I (its opening brace) and moves past it, calling f for each
// member with I at the member's value (white space skipped): f must check the value and move
// past it (Skip, ReadString, Elements, Members…). The key's content is key (escapes not
// decoded when escaped). An error of f ends the walk and is returned.
func (s *Scanner) Members(f func(key []byte, escaped bool) error) error {
	if err := s.deeper(); err != nil {
		return err
	}
	s.I++
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == '}' {
		s.I++
		s.Depth--
		return nil
	}
	for {
		s.WS()
		if s.I >= len(s.B) || s.B[s.I] != '"' {
			return s.Fail("looking for beginning of object key string")
		}
		ks, ke, esc, err := s.Key()
		if err != nil {
			return err
		}
		s.WS()
		if s.I >= len(s.B) {
			return s.Fail("unexpected end of JSON input")
		}
		if err := f(s.B[ks:ke], esc); err != nil {
			return err
		}
		if done, err := s.next('}', "after object key:value pair: want ',' or '}'"); done || err != nil {
			return err
		}
	}
}

// Elements checks the array at I (its opening bracket) and moves past it, calling f for each
// element with I at the element (white space skipped): f must check the element and move
// past it. An error of f ends the walk and is returned.
func (s *Scanner) Elements(f func() error) error {
	if err := s.deeper(); err != nil {
		return err
	}
	s.I++
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == ']' {
		s.I++
		s.Depth--
		return nil
	}
	for {
		s.WS()
		if s.I >= len(s.B) {
			return s.Fail("unexpected end of JSON input")
		}
		if err := f(); err != nil {
			return err
		}
		if done, err := s.next(']', "after array element: want ',' or ']'"); done || err != nil {
			return err
		}
	}
}
