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
const maxDepth = jsonx.MaxDepth

// decoder decodes one JSON object into map[string]any with the number rules of Record.Fields:
// integers to int64 (uint64 past its range), other numbers to float64 (a number too large for
// a float64 stays a string; sawUint64 may also count one a repeated key replaced). It gives what encoding/json with UseNumber and normalizeNumbers
// gave (strings with invalid UTF-8 get U+FFFD per bad byte, lone surrogates U+FFFD, the last
// of duplicate keys wins) at a fraction of the cost: one pass, no reflection.
type decoder struct {
	jsonx.Scanner
	sawUint64 bool
	scratch   []byte
	share     bool // plain strings share B's bytes (see DecodeValueShared)
}

var errNotObject = errors.New("not a JSON object")

// decodeObject decodes b, which must hold exactly one JSON object (white space around it).
func decodeObject(b []byte) (map[string]any, bool, error) {
	d := decoder{Scanner: jsonx.Scanner{B: b}}
	d.WS()
	if d.I >= len(d.B) {
		return nil, false, d.Fail("unexpected end of JSON input")
	}
	if d.B[d.I] != '{' {
		if _, err := d.value(); err != nil {
			return nil, false, err
		}
		return nil, false, errNotObject
	}
	m, err := d.object()
	if err != nil {
		return nil, false, err
	}
	d.WS()
	if d.I < len(d.B) {
		return nil, false, errors.New("unexpected data after the JSON object")
	}
	return m, d.sawUint64, nil
}

func (d *decoder) value() (any, error) {
	d.WS()
	if d.I >= len(d.B) {
		return nil, d.Fail("unexpected end of JSON input")
	}
	switch c := d.B[d.I]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.str()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return true, d.Literal("true")
	case c == 'f':
		return false, d.Literal("false")
	case c == 'n':
		return nil, d.Literal("null")
	default:
		return nil, d.Fail(fmt.Sprintf("invalid character %q looking for beginning of value", c))
	}
}

func (d *decoder) object() (map[string]any, error) {
	if d.Depth++; d.Depth > maxDepth {
		return nil, d.Fail("exceeded max depth")
	}
	d.I++ // {
	m := make(map[string]any, 8)
	d.WS()
	if d.I < len(d.B) && d.B[d.I] == '}' {
		d.I++
		d.Depth--
		return m, nil
	}
	for {
		d.WS()
		if d.I >= len(d.B) || d.B[d.I] != '"' {
			return nil, d.Fail("looking for beginning of object key string")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.WS()
		if d.I >= len(d.B) || d.B[d.I] != ':' {
			return nil, d.Fail("after object key: want ':'")
		}
		d.I++
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.WS()
		if d.I >= len(d.B) {
			return nil, d.Fail("unexpected end of JSON input")
		}
		switch d.B[d.I] {
		case ',':
			d.I++
		case '}':
			d.I++
			d.Depth--
			return m, nil
		default:
			return nil, d.Fail("after object key:value pair: want ',' or '}'")
		}
	}
}

func (d *decoder) array() ([]any, error) {
	if d.Depth++; d.Depth > maxDepth {
		return nil, d.Fail("exceeded max depth")
	}
	d.I++ // [
	a := []any{}
	d.WS()
	if d.I < len(d.B) && d.B[d.I] == ']' {
		d.I++
		d.Depth--
		return a, nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.WS()
		if d.I >= len(d.B) {
			return nil, d.Fail("unexpected end of JSON input")
		}
		switch d.B[d.I] {
		case ',':
			d.I++
		case ']':
			d.I++
			d.Depth--
			return a, nil
		default:
			return nil, d.Fail("after array element: want ',' or ']'")
		}
	}
}

// str decodes the string at d.I (its opening quote).
func (d *decoder) str() (string, error) {
	d.I++
	start := d.I
	// Fast path: printable ASCII without escapes.
	if j := jsonx.ASCIIStop(d.B, start); j < len(d.B) && d.B[j] == '"' {
		d.I = j + 1
		if d.share && j > start {
			return unsafe.String(&d.B[start], j-start), nil
		}
		return string(d.B[start:j]), nil
	}
	// Escapes or non-ASCII: check the whole string, then decode it as encoding/json does.
	d.I = start - 1
	if err := d.SkipString(); err != nil {
		return "", err
	}
	d.scratch = jsonx.AppendUnescaped(d.scratch[:0], d.B[start:d.I-1])
	return string(d.scratch), nil
}

// number decodes the number at d.I, checking JSON's grammar.
func (d *decoder) number() (any, error) {
	start := d.I
	integer, err := d.SkipNumber()
	if err != nil {
		return nil, err
	}
	return d.convert(d.B[start:d.I], integer), nil
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
// top-level keys in want, as decodeObject would, into m (emptied first; a new map when m is
// nil); the rest is checked and skipped, not built.
func decodeSome(m map[string]any, b []byte, want map[string]struct{}) (map[string]any, bool, error) {
	d := decoder{Scanner: jsonx.Scanner{B: b}}
	d.WS()
	if d.I >= len(d.B) {
		return nil, false, d.Fail("unexpected end of JSON input")
	}
	if d.B[d.I] != '{' {
		if err := d.Skip(); err != nil {
			return nil, false, err
		}
		return nil, false, errNotObject
	}
	if m == nil {
		m = make(map[string]any, len(want))
	} else {
		clear(m)
	}
	d.I++
	d.Depth = 1
	d.WS()
	if d.I < len(d.B) && d.B[d.I] == '}' {
		d.I++
	} else {
		for {
			d.WS()
			if d.I >= len(d.B) || d.B[d.I] != '"' {
				return nil, false, d.Fail("looking for beginning of object key string")
			}
			k, plain, err := d.key()
			if err != nil {
				return nil, false, err
			}
			d.WS()
			if d.I >= len(d.B) || d.B[d.I] != ':' {
				return nil, false, d.Fail("after object key: want ':'")
			}
			d.I++
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
			} else if err := d.Skip(); err != nil {
				return nil, false, err
			}
			d.WS()
			if d.I >= len(d.B) {
				return nil, false, d.Fail("unexpected end of JSON input")
			}
			if d.B[d.I] == ',' {
				d.I++
				continue
			}
			if d.B[d.I] == '}' {
				d.I++
				break
			}
			return nil, false, d.Fail("after object key:value pair: want ',' or '}'")
		}
	}
	d.WS()
	if d.I < len(d.B) {
		return nil, false, errors.New("unexpected data after the JSON object")
	}
	return m, d.sawUint64, nil
}

// key reads an object key: plain is its bytes when it has no escape and is ASCII (no copy),
// else k is the decoded key.
func (d *decoder) key() (k string, plain []byte, err error) {
	start := d.I + 1
	if j := jsonx.ASCIIStop(d.B, start); j < len(d.B) && d.B[j] == '"' {
		d.I = j + 1
		return "", d.B[start:j], nil
	}
	k, err = d.str()
	return k, nil, err
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
	d := decoder{Scanner: jsonx.Scanner{B: raw}}
	d.WS()
	if d.I >= len(d.B) {
		return nil, fmt.Errorf("decode record: %w", d.Fail("unexpected end of JSON input"))
	}
	if d.B[d.I] != '{' {
		if err := d.Skip(); err != nil {
			return nil, fmt.Errorf("decode record: %w", err)
		}
		return nil, fmt.Errorf("decode record: %w", errNotObject)
	}
	out := dst
	d.I++
	d.Depth = 1
	d.WS()
	if d.I < len(d.B) && d.B[d.I] == '}' {
		d.I++
	} else {
		for {
			d.WS()
			if d.I >= len(d.B) || d.B[d.I] != '"' {
				return nil, fmt.Errorf("decode record: %w", d.Fail("looking for beginning of object key string"))
			}
			k, plain, err := d.key()
			if err != nil {
				return nil, fmt.Errorf("decode record: %w", err)
			}
			if len(plain) > 0 {
				// The key's bytes in raw, not a copy: a record's Raw never changes once made.
				k = unsafe.String(&plain[0], len(plain))
			}
			d.WS()
			if d.I >= len(d.B) || d.B[d.I] != ':' {
				return nil, fmt.Errorf("decode record: %w", d.Fail("after object key: want ':'"))
			}
			d.I++
			d.WS()
			start, spaces := d.I, d.Spaces
			if err := d.Skip(); err != nil {
				return nil, fmt.Errorf("decode record: %w", err)
			}
			v := d.B[start:d.I]
			out = append(out, Member{Key: k, Value: v, Compact: d.Spaces == spaces && utf8.Valid(v)})
			d.WS()
			if d.I >= len(d.B) {
				return nil, fmt.Errorf("decode record: %w", d.Fail("unexpected end of JSON input"))
			}
			if d.B[d.I] == ',' {
				d.I++
				continue
			}
			if d.B[d.I] == '}' {
				d.I++
				break
			}
			return nil, fmt.Errorf("decode record: %w", d.Fail("after object key:value pair: want ',' or '}'"))
		}
	}
	d.WS()
	if d.I < len(d.B) {
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
	d := decoder{Scanner: jsonx.Scanner{B: raw, Depth: 1}, share: share}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.WS()
	if d.I < len(d.B) {
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
	d := decoder{Scanner: jsonx.Scanner{B: unsafe.Slice(unsafe.StringData(s), len(s))}} // read only
	d.WS()
	if d.I >= len(d.B) || d.B[d.I] != '{' {
		return false
	}
	if err := d.Skip(); err != nil {
		return false
	}
	d.WS()
	return d.I == len(d.B)
}
