package event

import (
	"fmt"
	"unsafe"

	"github.com/logshipper/logshipper/internal/jsonx"
)

// Span locates one top-level member of a record's Raw, as the source that checked Raw found it:
// the key's bytes (between its quotes) at [KeyStart, KeyStart+KeyLen) and the value's at
// [ValueStart, ValueEnd), offsets from Raw's first byte. A source that walks every member of a
// record anyway (the Netskope page reader) gives them, so that the stages after it (the rules'
// fields, a destination's members pass) do not walk the record again. Eight bytes a member:
// records of more than MaxSpanned bytes, or with a key of more than 255 bytes, have none.
type Span struct {
	KeyStart, ValueStart, ValueEnd uint16
	KeyLen                         uint8
	Flags                          SpanFlag
}

// SpanFlag says what a Span's member needs beyond its bytes.
type SpanFlag uint8

const (
	// SpanKeyEscaped: the key holds an escape; its bytes are not the key's text.
	SpanKeyEscaped SpanFlag = 1 << iota
	// SpanSpaced: the value holds white space between its tokens (Member.Compact is false).
	SpanSpaced
)

// MaxSpanned is the largest Raw, and MaxSpanKey the longest key, a Span describes.
const (
	MaxSpanned = 1<<16 - 1
	MaxSpanKey = 1<<8 - 1
)

// SetSpans gives the record the spans of Raw's top-level members, in order (repeated keys
// included), as its source found them while checking Raw (ValidJSON). They are used only while
// Raw is the very bytes they were set for (the same slice): a stage that gives the record
// other bytes leaves them unused. The slice is the record's from then on and never modified.
func (r *Record) SetSpans(s []Span) {
	r.spans, r.spansOf, r.spansLen = s, unsafe.SliceData(r.Raw), len(r.Raw)
}

// Spans returns the spans SetSpans gave, when they describe Raw as it is and Raw is checked
// JSON (ValidJSON); nil otherwise.
func (r *Record) Spans() []Span {
	if r.spans == nil || !r.ValidJSON || len(r.Raw) != r.spansLen || unsafe.SliceData(r.Raw) != r.spansOf {
		return nil
	}
	return r.spans
}

// AppendMembers is AppendMembers of r.Raw, from its spans when it has them (no walk over the
// record); the members share Raw's bytes as AppendMembers' do.
func (r *Record) AppendMembers(dst []Member) ([]Member, error) {
	spans := r.Spans()
	if spans == nil {
		return AppendMembers(dst, r.Raw)
	}
	raw := r.Raw
	for _, s := range spans {
		k, err := spanKey(raw, s)
		if err != nil {
			return nil, fmt.Errorf("decode record: %w", err)
		}
		dst = append(dst, Member{Key: k, Value: raw[s.ValueStart:s.ValueEnd], Compact: s.Flags&SpanSpaced == 0})
	}
	return dst, nil
}

// spanKey is the key of s in raw: its bytes (shared, as AppendMembers shares them), or its
// decoded text when it holds an escape.
func spanKey(raw []byte, s Span) (string, error) {
	kb := raw[s.KeyStart : int(s.KeyStart)+int(s.KeyLen)]
	if s.Flags&SpanKeyEscaped == 0 {
		if len(kb) == 0 {
			return "", nil
		}
		return unsafe.String(&kb[0], len(kb)), nil
	}
	d := decoder{Scanner: jsonx.Scanner{B: raw[s.KeyStart-1 : int(s.KeyStart)+int(s.KeyLen)+1]}}
	return d.str()
}

// fieldsFromSpans is decodeSome over Raw's spans: the values of the keys in want, decoded as
// decodeSome decodes them (the last of a repeated key), into m (emptied first; a new map when
// nil), and whether one of them holds a uint64.
func fieldsFromSpans(m map[string]any, raw []byte, spans []Span, want map[string]struct{}) (map[string]any, bool, error) {
	if m == nil {
		m = make(map[string]any, len(want))
	} else {
		clear(m)
	}
	// lengths has bit n set when a key of n bytes is wanted (n < 64; bit 63 stands for the
	// longer): a member whose key is of no such length is passed over without a lookup.
	var lengths uint64
	for k := range want {
		lengths |= 1 << min(len(k), 63)
	}
	saw := false
	for _, s := range spans {
		kb := raw[s.KeyStart : int(s.KeyStart)+int(s.KeyLen)]
		name := ""
		if s.Flags&SpanKeyEscaped == 0 {
			if lengths&(1<<min(len(kb), 63)) == 0 {
				continue
			}
			if _, ok := want[string(kb)]; !ok {
				continue
			}
			name = string(kb)
		} else {
			k, err := spanKey(raw, s)
			if err != nil {
				return nil, false, err
			}
			if _, ok := want[k]; !ok {
				continue
			}
			name = k
		}
		d := decoder{Scanner: jsonx.Scanner{B: raw[s.ValueStart:s.ValueEnd], Depth: 1}}
		v, err := d.value()
		if err != nil {
			return nil, false, err
		}
		m[name] = v
		saw = saw || d.sawUint64
	}
	return m, saw, nil
}
