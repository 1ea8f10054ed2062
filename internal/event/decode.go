package event

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/logshipper/logshipper/internal/jsonx"
)

// maxDepth is the deepest nesting decoded, as encoding/json's.
const maxDepth = 10000

// decoder decodes one JSON object into map[string]any with the number rules of Record.Fields:
// integers to int64 (uint64 past its range), other numbers to float64 (a number too large for
// a float64 stays a string; sawUint64 may also count one a repeated key replaced). It gives what encoding/json with UseNumber and normalizeNumbers
// gave (strings with invalid UTF-8 get U+FFFD per bad byte, lone surrogates U+FFFD, the last
// of duplicate keys wins) at a fraction of the cost: one pass, no reflection.
type decoder struct {
	b         []byte
	i         int
	depth     int
	sawUint64 bool
	scratch   []byte
	spaces    int  // white space bytes skipped so far
	share     bool // plain strings share b's bytes (see DecodeValueShared)
}

// syntaxError names the offset where the input stopped being JSON.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.offset) }

func (d *decoder) fail(msg string) error { return &syntaxError{msg: msg, offset: d.i} }

var errNotObject = errors.New("not a JSON object")

// decodeObject decodes b, which must hold exactly one JSON object (white space around it).
func decodeObject(b []byte) (map[string]any, bool, error) {
	d := decoder{b: b}
	d.ws()
	if d.i >= len(d.b) {
		return nil, false, d.fail("unexpected end of JSON input")
	}
	if d.b[d.i] != '{' {
		if _, err := d.value(); err != nil {
			return nil, false, err
		}
		return nil, false, errNotObject
	}
	m, err := d.object()
	if err != nil {
		return nil, false, err
	}
	d.ws()
	if d.i < len(d.b) {
		return nil, false, errors.New("unexpected data after the JSON object")
	}
	return m, d.sawUint64, nil
}

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
			d.spaces++
		default:
			return
		}
	}
}

func (d *decoder) value() (any, error) {
	d.ws()
	if d.i >= len(d.b) {
		return nil, d.fail("unexpected end of JSON input")
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.str()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	default:
		return nil, d.fail(fmt.Sprintf("invalid character %q looking for beginning of value", c))
	}
}

func (d *decoder) literal(lit string) error {
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		return d.fail("invalid literal")
	}
	d.i += len(lit)
	return nil
}

func (d *decoder) object() (map[string]any, error) {
	if d.depth++; d.depth > maxDepth {
		return nil, d.fail("exceeded max depth")
	}
	d.i++ // {
	m := make(map[string]any, 8)
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		d.depth--
		return m, nil
	}
	for {
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, d.fail("looking for beginning of object key string")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, d.fail("after object key: want ':'")
		}
		d.i++
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.ws()
		if d.i >= len(d.b) {
			return nil, d.fail("unexpected end of JSON input")
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return m, nil
		default:
			return nil, d.fail("after object key:value pair: want ',' or '}'")
		}
	}
}

func (d *decoder) array() ([]any, error) {
	if d.depth++; d.depth > maxDepth {
		return nil, d.fail("exceeded max depth")
	}
	d.i++ // [
	a := []any{}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.depth--
		return a, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.ws()
		if d.i >= len(d.b) {
			return nil, d.fail("unexpected end of JSON input")
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			return a, nil
		default:
			return nil, d.fail("after array element: want ',' or ']'")
		}
	}
}

// str decodes the string at d.i (its opening quote).
func (d *decoder) str() (string, error) {
	d.i++
	start := d.i
	// Fast path: printable ASCII without escapes.
	if j := jsonx.ASCIIStop(d.b, start); j < len(d.b) && d.b[j] == '"' {
		d.i = j + 1
		if d.share && j > start {
			return unsafe.String(&d.b[start], j-start), nil
		}
		return string(d.b[start:j]), nil
	}
	// Escapes or non-ASCII: check the whole string, then decode it as encoding/json does.
	d.i = start - 1
	if err := d.skipString(); err != nil {
		return "", err
	}
	d.scratch = jsonx.AppendUnescaped(d.scratch[:0], d.b[start:d.i-1])
	return string(d.scratch), nil
}

func (d *decoder) hex4(at int) (rune, bool) {
	if at+4 > len(d.b) {
		return 0, false
	}
	var r rune
	for _, c := range d.b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// number decodes the number at d.i, checking JSON's grammar.
func (d *decoder) number() (any, error) {
	start := d.i
	integer, err := d.scanNumber()
	if err != nil {
		return nil, err
	}
	return d.convert(d.b[start:d.i], integer), nil
}

// scanNumber moves past the number at d.i, checking JSON's grammar; integer says it has
// neither fraction nor exponent.
func (d *decoder) scanNumber() (integer bool, err error) {
	integer = true
	if d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case d.i < len(d.b) && d.b[d.i] >= '1' && d.b[d.i] <= '9':
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
	default:
		return false, d.fail("invalid number")
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		integer = false
		d.i++
		if d.i >= len(d.b) || d.b[d.i] < '0' || d.b[d.i] > '9' {
			return false, d.fail("invalid number: no digit after the decimal point")
		}
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		integer = false
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.i >= len(d.b) || d.b[d.i] < '0' || d.b[d.i] > '9' {
			return false, d.fail("invalid number: no digit in the exponent")
		}
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
		}
	}
	return integer, nil
}

// convert makes a number literal an int64, a uint64 or a float64 (a string if it is too large
// for a float64).
func (d *decoder) convert(lit []byte, integer bool) any {
	if integer {
		if len(lit) < 19 { // fits an int64 whatever its digits
			var n int64
			neg := lit[0] == '-'
			digits := lit
			if neg {
				digits = lit[1:]
			}
			for _, c := range digits {
				n = n*10 + int64(c-'0')
			}
			if neg {
				n = -n
			}
			return n
		}
		s := string(lit)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			d.sawUint64 = true
			return u
		}
	}
	s := string(lit)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}

// decodeSome checks that b holds exactly one JSON object and decodes only the values of its
// top-level keys in want, as decodeObject would; the rest is checked and skipped, not built.
func decodeSome(b []byte, want map[string]struct{}) (map[string]any, bool, error) {
	d := decoder{b: b}
	d.ws()
	if d.i >= len(d.b) {
		return nil, false, d.fail("unexpected end of JSON input")
	}
	if d.b[d.i] != '{' {
		if err := d.skip(); err != nil {
			return nil, false, err
		}
		return nil, false, errNotObject
	}
	m := make(map[string]any, len(want))
	d.i++
	d.depth = 1
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
	} else {
		for {
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != '"' {
				return nil, false, d.fail("looking for beginning of object key string")
			}
			k, plain, err := d.key()
			if err != nil {
				return nil, false, err
			}
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != ':' {
				return nil, false, d.fail("after object key: want ':'")
			}
			d.i++
			var wanted bool
			var name string
			if plain != nil {
				_, wanted = want[string(plain)]
				if wanted {
					name = string(plain)
				}
			} else {
				_, wanted = want[k]
				name = k
			}
			if wanted {
				v, err := d.value()
				if err != nil {
					return nil, false, err
				}
				m[name] = v
			} else if err := d.skip(); err != nil {
				return nil, false, err
			}
			d.ws()
			if d.i >= len(d.b) {
				return nil, false, d.fail("unexpected end of JSON input")
			}
			if d.b[d.i] == ',' {
				d.i++
				continue
			}
			if d.b[d.i] == '}' {
				d.i++
				break
			}
			return nil, false, d.fail("after object key:value pair: want ',' or '}'")
		}
	}
	d.ws()
	if d.i < len(d.b) {
		return nil, false, errors.New("unexpected data after the JSON object")
	}
	return m, d.sawUint64, nil
}

// key reads an object key: plain is its bytes when it has no escape and is ASCII (no copy),
// else k is the decoded key.
func (d *decoder) key() (k string, plain []byte, err error) {
	start := d.i + 1
	if j := jsonx.ASCIIStop(d.b, start); j < len(d.b) && d.b[j] == '"' {
		d.i = j + 1
		return "", d.b[start:j], nil
	}
	k, err = d.str()
	return k, nil, err
}

// skip checks the value at d.i and moves past it without building it.
func (d *decoder) skip() error {
	d.ws()
	if d.i >= len(d.b) {
		return d.fail("unexpected end of JSON input")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.skipString()
	case c == '{', c == '[':
		if d.depth++; d.depth > maxDepth {
			return d.fail("exceeded max depth")
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		d.i++
		d.ws()
		if d.i < len(d.b) && d.b[d.i] == closer {
			d.i++
			d.depth--
			return nil
		}
		for {
			if c == '{' {
				d.ws()
				if d.i >= len(d.b) || d.b[d.i] != '"' {
					return d.fail("looking for beginning of object key string")
				}
				if err := d.skipString(); err != nil {
					return err
				}
				d.ws()
				if d.i >= len(d.b) || d.b[d.i] != ':' {
					return d.fail("after object key: want ':'")
				}
				d.i++
			}
			if err := d.skip(); err != nil {
				return err
			}
			d.ws()
			if d.i >= len(d.b) {
				return d.fail("unexpected end of JSON input")
			}
			switch d.b[d.i] {
			case ',':
				d.i++
			case closer:
				d.i++
				d.depth--
				return nil
			default:
				return d.fail("want ',' or the end of the object or array")
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		_, err := d.scanNumber()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	default:
		return d.fail(fmt.Sprintf("invalid character %q looking for beginning of value", c))
	}
}

// skipString checks the string at d.i (escapes, no control character) and moves past it.
func (d *decoder) skipString() error {
	d.i++
	for {
		if d.i = jsonx.StringStop(d.b, d.i); d.i >= len(d.b) {
			break
		}
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return nil
		case c < 0x20:
			return d.fail("invalid control character in string")
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return d.fail("unexpected end of JSON input in a string escape")
			}
			switch d.b[d.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i += 2
			case 'u':
				if _, ok := d.hex4(d.i + 2); !ok {
					return d.fail("invalid \\u escape in string")
				}
				d.i += 6
			default:
				return d.fail("invalid escape in string")
			}
		}
	}
	return d.fail("unexpected end of JSON input in a string")
}

// Member is one top-level member of a record: its key, and its value's bytes as they are in
// the record (checked JSON, white space around it trimmed). Both share the record's bytes.
type Member struct {
	Key   string
	Value []byte
	// Compact says Value is already what an encoder would write: no white space between its
	// tokens and valid UTF-8 (control characters are refused in strings anyway). Such a
	// value can be copied as it is.
	Compact bool
}

// Members checks that raw holds exactly one JSON object, as Fields would, and lists its
// top-level members in order. A key may repeat; the last is the one Fields keeps. It lets a
// destination decode only the fields it reads and copy the others as they are.
func Members(raw []byte) ([]Member, error) { return AppendMembers(make([]Member, 0, 64), raw) }

// AppendMembers is Members appending to dst, for a caller that reuses its slice.
func AppendMembers(dst []Member, raw []byte) ([]Member, error) {
	d := decoder{b: raw}
	d.ws()
	if d.i >= len(d.b) {
		return nil, fmt.Errorf("decode record: %w", d.fail("unexpected end of JSON input"))
	}
	if d.b[d.i] != '{' {
		if err := d.skip(); err != nil {
			return nil, fmt.Errorf("decode record: %w", err)
		}
		return nil, fmt.Errorf("decode record: %w", errNotObject)
	}
	out := dst
	d.i++
	d.depth = 1
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
	} else {
		for {
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != '"' {
				return nil, fmt.Errorf("decode record: %w", d.fail("looking for beginning of object key string"))
			}
			k, plain, err := d.key()
			if err != nil {
				return nil, fmt.Errorf("decode record: %w", err)
			}
			if len(plain) > 0 {
				// The key's bytes in raw, not a copy: a record's Raw never changes once made.
				k = unsafe.String(&plain[0], len(plain))
			}
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != ':' {
				return nil, fmt.Errorf("decode record: %w", d.fail("after object key: want ':'"))
			}
			d.i++
			d.ws()
			start, spaces := d.i, d.spaces
			if err := d.skip(); err != nil {
				return nil, fmt.Errorf("decode record: %w", err)
			}
			v := d.b[start:d.i]
			out = append(out, Member{Key: k, Value: v, Compact: d.spaces == spaces && utf8.Valid(v)})
			d.ws()
			if d.i >= len(d.b) {
				return nil, fmt.Errorf("decode record: %w", d.fail("unexpected end of JSON input"))
			}
			if d.b[d.i] == ',' {
				d.i++
				continue
			}
			if d.b[d.i] == '}' {
				d.i++
				break
			}
			return nil, fmt.Errorf("decode record: %w", d.fail("after object key:value pair: want ',' or '}'"))
		}
	}
	d.ws()
	if d.i < len(d.b) {
		return nil, errors.New("decode record: unexpected data after the JSON object")
	}
	return out, nil
}

// DecodeValue decodes one JSON value (a Member's Value) as Fields decodes values.
func DecodeValue(raw []byte) (any, error) { return decodeValue(raw, false) }

// DecodeValueShared is DecodeValue whose strings without escapes share raw's bytes instead of
// copying them: for a record's Raw (which never changes) and values used only while the record
// is, like a destination's while it encodes the record.
func DecodeValueShared(raw []byte) (any, error) { return decodeValue(raw, true) }

func decodeValue(raw []byte, share bool) (any, error) {
	d := decoder{b: raw, depth: 1, share: share}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i < len(d.b) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// ValidObject reports whether s is exactly one JSON object (white space around it allowed), as
// Fields would decode it: what encoding/json.Valid checks, several times faster.
func ValidObject(s string) bool {
	if len(s) == 0 {
		return false
	}
	d := decoder{b: unsafe.Slice(unsafe.StringData(s), len(s))} // read only
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	if err := d.skip(); err != nil {
		return false
	}
	d.ws()
	return d.i == len(d.b)
}
