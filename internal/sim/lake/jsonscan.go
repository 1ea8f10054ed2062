package lake

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// A small, allocation-free JSON scanner. PutAuditEvents validates up to 100 eventData
// documents per call; decoding each into map[string]any would cost more than the rest of
// the call, so the validator walks the bytes once, records where the fields it checks are,
// and skips (while fully validating) everything else.

var errSyntax = errors.New("invalid JSON")

// errTooDeep is returned for documents nested deeper than maxDepth (encoding/json's limit).
var errTooDeep = errors.New("JSON nested too deeply")

const maxDepth = 10000

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(d []byte, i int) int {
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// strStop marks the bytes that end a run of plain string content: '"', '\\' and control
// characters.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// SWAR helpers: each tests 8 bytes (little endian) at once. A mask has the top bit set in the
// first matching byte, exactly; bits above it may be spurious, so only "any match" and "lowest
// match" are meaningful.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

func zeroMask(x uint64) uint64         { return (x - lsb) &^ x & msb }
func byteMask(x uint64, b byte) uint64 { return zeroMask(x ^ (lsb * uint64(b))) }
func lessMask(x uint64, n byte) uint64 { return (x - lsb*uint64(n)) &^ x & msb } // n <= 128
func hasZeroByte(x uint64) bool        { return zeroMask(x) != 0 }
func hasByte(x uint64, b byte) bool    { return byteMask(x, b) != 0 }
func hasLess(x uint64, n byte) bool    { return lessMask(x, n) != 0 }
func stringStopMask(x uint64) uint64   { return byteMask(x, '"') | byteMask(x, '\\') | lessMask(x, 0x20) }
func firstMatch(mask uint64) int       { return bits.TrailingZeros64(mask) >> 3 }
func hasEscapeOrHigh(x uint64) bool    { return x&msb != 0 || hasByte(x, '\\') }
func hasStringStop(x uint64) bool      { return stringStopMask(x) != 0 }
func decodeStopMask(x uint64) uint64   { return stringStopMask(x) | x&msb }

// scanString scans the string starting at d[i] (which must be '"'). It returns the index just
// past the closing quote and whether the string holds escape sequences.
func scanString(d []byte, i int) (end int, esc bool, err error) {
	i++
	for {
		for i+8 <= len(d) {
			m := stringStopMask(binary.LittleEndian.Uint64(d[i:]))
			if m != 0 {
				i += firstMatch(m)
				break
			}
			i += 8
		}
		for i < len(d) && !strStop[d[i]] {
			i++
		}
		if i >= len(d) {
			return 0, esc, errSyntax
		}
		switch c := d[i]; {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(d) {
				return 0, esc, errSyntax
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return 0, esc, errSyntax
				}
				i += 6
			default:
				return 0, esc, errSyntax
			}
		default: // control character
			return 0, esc, errSyntax
		}
	}
}

func scanDigits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// scanNumber scans a JSON number starting at d[i].
func scanNumber(d []byte, i int) (int, error) {
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = scanDigits(d, i+1)
	default:
		return 0, errSyntax
	}
	if i < len(d) && d[i] == '.' {
		j := scanDigits(d, i+1)
		if j == i+1 {
			return 0, errSyntax
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := scanDigits(d, i)
		if j == i {
			return 0, errSyntax
		}
		i = j
	}
	return i, nil
}

func scanLiteral(d []byte, i int, lit string) (int, error) {
	if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// skipValue validates the JSON value starting at d[i] (no leading space) and returns the index
// just past it.
func skipValue(d []byte, i, depth int) (int, error) {
	if i >= len(d) {
		return 0, errSyntax
	}
	switch c := d[i]; {
	case c == '"':
		end, _, err := scanString(d, i)
		return end, err
	case c == '{':
		return skipObject(d, i, depth+1)
	case c == '[':
		return skipArray(d, i, depth+1)
	case c == 't':
		return scanLiteral(d, i, "true")
	case c == 'f':
		return scanLiteral(d, i, "false")
	case c == 'n':
		return scanLiteral(d, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(d, i)
	}
	return 0, errSyntax
}

func skipObject(d []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errTooDeep
	}
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return 0, errSyntax
		}
		var err error
		if i, _, err = scanString(d, i); err != nil {
			return 0, err
		}
		i = skipSpace(d, i)
		if i >= len(d) || d[i] != ':' {
			return 0, errSyntax
		}
		i = skipSpace(d, i+1)
		if i, err = skipValue(d, i, depth); err != nil {
			return 0, err
		}
		i = skipSpace(d, i)
		if i >= len(d) {
			return 0, errSyntax
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

func skipArray(d []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errTooDeep
	}
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = skipValue(d, i, depth); err != nil {
			return 0, err
		}
		i = skipSpace(d, i)
		if i >= len(d) {
			return 0, errSyntax
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, errSyntax
		}
	}
}

// objectIter walks the members of a JSON object one at a time.
type objectIter struct {
	d     []byte
	i     int
	depth int
	first bool
	err   error
	// unescapeKey names a member whose string value is decoded while it is scanned (one pass
	// instead of two) into member.decoded, carved from arena (shared by the values of one
	// request, so that they cost one allocation).
	unescapeKey string
	arena       []byte
}

// newObjectIter starts iterating the object at d[i] (which must be '{').
func newObjectIter(d []byte, i, depth int) objectIter {
	return objectIter{d: d, i: i + 1, depth: depth + 1, first: true}
}

// member is one object member: the raw key (without quotes) and the value's span.
type member struct {
	key        []byte
	keyEsc     bool
	valStart   int
	valEnd     int
	valueFirst byte
	valEsc     bool   // a string value holds escapes
	decoded    []byte // the decoded string value of objectIter.unescapeKey
}

// next returns the next member; ok is false at the end of the object or on error (it.err).
func (it *objectIter) next() (m member, ok bool) {
	if it.err != nil {
		return m, false
	}
	if it.depth > maxDepth {
		it.err = errTooDeep
		return m, false
	}
	d := it.d
	i := skipSpace(d, it.i)
	if i >= len(d) {
		it.err = errSyntax
		return m, false
	}
	if it.first {
		it.first = false
		if d[i] == '}' {
			it.i = i + 1
			return m, false
		}
	} else {
		switch d[i] {
		case '}':
			it.i = i + 1
			return m, false
		case ',':
			i = skipSpace(d, i+1)
		default:
			it.err = errSyntax
			return m, false
		}
	}
	if i >= len(d) || d[i] != '"' {
		it.err = errSyntax
		return m, false
	}
	end, esc, err := scanString(d, i)
	if err != nil {
		it.err = err
		return m, false
	}
	m.key, m.keyEsc = d[i+1:end-1], esc
	i = skipSpace(d, end)
	if i >= len(d) || d[i] != ':' {
		it.err = errSyntax
		return m, false
	}
	i = skipSpace(d, i+1)
	m.valStart = i
	if i < len(d) {
		m.valueFirst = d[i]
	}
	switch {
	case m.valueFirst == '"' && it.unescapeKey != "" && m.keyIs(it.unescapeKey):
		// Decode into the free end of the arena; a value that does not fit gets its own
		// allocation from scanUnescape.
		free := it.arena[len(it.arena):]
		var out []byte
		i, out, err = scanUnescape(d, i, free)
		if err == nil {
			if len(out) > 0 && len(out) <= cap(free) && &out[0] == &free[:1][0] {
				it.arena = it.arena[:len(it.arena)+len(out)]
			}
			m.decoded = out[:len(out):len(out)]
			m.valEsc = true
		}
	case m.valueFirst == '"':
		i, m.valEsc, err = scanString(d, i)
	default:
		i, err = skipValue(d, i, it.depth)
	}
	if err != nil {
		it.err = err
		return m, false
	}
	m.valEnd = i
	it.i = i
	return m, true
}

// keyString returns the member's key, unescaped when needed.
func (m member) keyString() string {
	if !m.keyEsc {
		return string(m.key)
	}
	return string(unescape(nil, m.key))
}

// keyIs reports whether the member's key equals k (no allocation for unescaped keys).
func (m member) keyIs(k string) bool {
	if !m.keyEsc {
		return string(m.key) == k
	}
	return string(unescape(nil, m.key)) == k
}

// scanUnescape scans the string starting at d[i] (which must be '"'), validating it as
// scanString does and decoding it as unescape does, in one pass. It appends the decoded
// content to dst and returns the index just past the closing quote.
func scanUnescape(d []byte, i int, dst []byte) (int, []byte, error) {
	w := len(dst)
	buf := dst[:cap(dst)]
	i++
	for {
		if w+16 > len(buf) { // room for 8 bytes of plain text or one decoded character
			buf = slices.Grow(buf[:w], max(64, len(buf)))
			buf = buf[:cap(buf)]
		}
		if i+8 <= len(d) {
			// Copy 8 bytes, keep those before the first byte that needs a look.
			x := binary.LittleEndian.Uint64(d[i:])
			binary.LittleEndian.PutUint64(buf[w:], x)
			m := decodeStopMask(x)
			if m == 0 {
				i += 8
				w += 8
				continue
			}
			k := firstMatch(m)
			i += k
			w += k
		}
		if i >= len(d) {
			return 0, nil, errSyntax
		}
		c := d[i]
		switch {
		case c == '"':
			return i + 1, buf[:w], nil
		case c < 0x20:
			return 0, nil, errSyntax
		case c < utf8.RuneSelf && c != '\\':
			buf[w] = c
			w++
			i++
		case c >= utf8.RuneSelf:
			rr, size := utf8.DecodeRune(d[i:])
			if rr == utf8.RuneError && size == 1 {
				w += utf8.EncodeRune(buf[w:], unicode.ReplacementChar)
			} else {
				w += copy(buf[w:], d[i:i+size])
			}
			i += size
		default: // an escape
			if i+1 >= len(d) {
				return 0, nil, errSyntax
			}
			switch e := d[i+1]; e {
			case '"', '\\', '/':
				buf[w] = e
			case 'b':
				buf[w] = '\b'
			case 'f':
				buf[w] = '\f'
			case 'n':
				buf[w] = '\n'
			case 'r':
				buf[w] = '\r'
			case 't':
				buf[w] = '\t'
			case 'u':
				rr := getu4(d[i:])
				if rr < 0 {
					return 0, nil, errSyntax
				}
				i += 6
				if utf16.IsSurrogate(rr) {
					if rr1 := getu4(d[i:]); rr1 >= 0 {
						if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
							i += 6
							w += utf8.EncodeRune(buf[w:], dec)
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				w += utf8.EncodeRune(buf[w:], rr)
				continue
			default:
				return 0, nil, errSyntax
			}
			w++
			i += 2
		}
	}
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// unescape appends the decoded content of a JSON string (raw: the bytes between the quotes,
// already validated by scanString) to dst, the way encoding/json decodes strings: invalid UTF-8
// and unpaired surrogates become U+FFFD.
//
// Every transformation but one makes the text shorter or keeps its length, so the output is
// written by index into room for len(raw) bytes; only an invalid UTF-8 byte (1 byte in, 3 out)
// grows the buffer.
func unescape(dst, raw []byte) []byte {
	w := len(dst)
	buf := slices.Grow(dst, len(raw))
	buf = buf[:cap(buf)]
	for r := 0; r < len(raw); {
		for r+8 <= len(raw) && w+8 <= len(buf) {
			x := binary.LittleEndian.Uint64(raw[r:])
			if hasEscapeOrHigh(x) {
				break
			}
			binary.LittleEndian.PutUint64(buf[w:], x)
			r += 8
			w += 8
		}
		if r >= len(raw) {
			break
		}
		c := raw[r]
		if c != '\\' && c < utf8.RuneSelf {
			buf[w] = c
			w++
			r++
			continue
		}
		if c >= utf8.RuneSelf {
			rr, size := utf8.DecodeRune(raw[r:])
			if rr == utf8.RuneError && size == 1 {
				buf = slices.Grow(buf[:w], len(raw)-r+utf8.UTFMax)
				buf = utf8.AppendRune(buf, unicode.ReplacementChar)
				w = len(buf)
				buf = buf[:cap(buf)]
			} else {
				w += copy(buf[w:], raw[r:r+size])
			}
			r += size
			continue
		}
		switch raw[r+1] {
		case '"', '\\', '/', '\'':
			buf[w] = raw[r+1]
		case 'b':
			buf[w] = '\b'
		case 'f':
			buf[w] = '\f'
		case 'n':
			buf[w] = '\n'
		case 'r':
			buf[w] = '\r'
		case 't':
			buf[w] = '\t'
		case 'u':
			rr := getu4(raw[r:])
			r += 6
			if utf16.IsSurrogate(rr) {
				rr1 := getu4(raw[r:])
				if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
					r += 6
					w += utf8.EncodeRune(buf[w:], dec)
					continue
				}
				rr = unicode.ReplacementChar
			}
			w += utf8.EncodeRune(buf[w:], rr)
			continue
		}
		w++
		r += 2
	}
	return buf[:w]
}

// stringValue returns the content of a JSON string (raw between quotes) as a Go string.
func stringValue(raw []byte, esc bool) string {
	if !esc && utf8.Valid(raw) {
		return string(raw)
	}
	return string(unescape(make([]byte, 0, len(raw)), raw))
}

// runeLen returns the length in characters of a JSON string's content.
func runeLen(raw []byte, esc bool) int {
	if !esc {
		return utf8.RuneCount(raw)
	}
	return utf8.RuneCount(unescape(make([]byte, 0, len(raw)), raw))
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal (with HTML-safe escaping off).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
