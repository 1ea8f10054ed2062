package event

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/jsonx"
)

// spansByWalk finds raw's member spans as a source does while checking it.
func spansByWalk(t *testing.T, raw []byte) []Span {
	t.Helper()
	s := jsonx.Scanner{B: raw}
	var out []Span
	err := s.Object(func(key []byte, escaped bool, vs, ve int) {
		sp := Span{KeyStart: uint16(cap(raw) - cap(key)), KeyLen: uint8(len(key)), ValueStart: uint16(vs), ValueEnd: uint16(ve)}
		if escaped {
			sp.Flags |= SpanKeyEscaped
		}
		if s.ValueSpaced {
			sp.Flags |= SpanSpaced
		}
		out = append(out, sp)
	})
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return out
}

// A record with spans lists its members and decodes the fields named from them as a walk over
// its bytes does; spans set for other bytes, or on a record not marked checked, are not used.
func TestSpansMatchTheWalk(t *testing.T) {
	long := strings.Repeat("l", 70) // past the lengths a bit stands for alone
	want := map[string]struct{}{"a": {}, "k\"q": {}, "é": {}, "big": {}, "o": {}, long: {}, long + "x": {}}
	for _, raw := range []string{
		`{}`,
		`{"a":1,"b":"x"}`,
		`{"a":1,"a":[1, 2],"o":{ "p" : null }}`,
		`{"k\"q":"v","\u00e9":true,"é":false}`,
		`{"big":18446744073709551615,"n":-1.5e3,"s":"\u263a"}`,
		`{ "a" : { "b" : [ 1 , { } ] } , "c":"d" }`,
		`{"` + long + `":1,"` + long + `y":2,"` + long + `x":[3]}`,
	} {
		b := []byte(raw)
		r := &Record{Raw: b, ValidJSON: true}
		r.SetSpans(spansByWalk(t, b))
		if r.Spans() == nil && raw != `{}` {
			t.Fatalf("%s: spans not used", raw)
		}
		got, err := r.AppendMembers(nil)
		walked, werr := AppendMembers(nil, b)
		if err != nil || werr != nil || len(got) != len(walked) {
			t.Fatalf("%s: %d members (%v), walked %d (%v)", raw, len(got), err, len(walked), werr)
		}
		for i := range got {
			if got[i].Key != walked[i].Key || !bytes.Equal(got[i].Value, walked[i].Value) || got[i].Compact != walked[i].Compact {
				t.Errorf("%s: member %d is %+v, walked %+v", raw, i, got[i], walked[i])
			}
		}
		f1, u1, err1 := r.FieldsNamedInto(map[string]any{"stale": 1}, want)
		f2, u2, err2 := (&Record{Raw: b}).FieldsNamedInto(nil, want)
		if err1 != nil || err2 != nil || u1 != u2 || !reflect.DeepEqual(f1, f2) {
			t.Errorf("%s: fields %v (%v, %v), walked %v (%v, %v)", raw, f1, u1, err1, f2, u2, err2)
		}
	}

	b := []byte(`{"a":1,"b":2}`)
	spans := spansByWalk(t, b)
	for _, tc := range []struct {
		name string
		r    func() *Record
	}{
		{"not marked checked", func() *Record { r := &Record{Raw: b}; r.SetSpans(spans); return r }},
		{"other bytes since", func() *Record {
			r := &Record{Raw: b, ValidJSON: true}
			r.SetSpans(spans)
			r.Raw = []byte(`{"b":2,"a":1}`)
			return r
		}},
		{"a shorter slice of the same bytes", func() *Record {
			r := &Record{Raw: b, ValidJSON: true}
			r.SetSpans(spans)
			r.Raw = b[:len(b)-1]
			return r
		}},
	} {
		if r := tc.r(); r.Spans() != nil {
			t.Errorf("%s: spans used", tc.name)
		}
	}
}

// BenchmarkSpans is the two passes over a record after its source (the rules' fields, a
// destination's members), walking the record ("walk") or from the spans its source gave
// ("spans"), for the 2.4 kB record of BenchmarkMembers.
func BenchmarkSpans(b *testing.B) {
	raw := benchRecord()
	want := map[string]struct{}{"event_type": {}, "alert_type": {}, "severity": {}}
	s := jsonx.Scanner{B: raw}
	var spans []Span
	if err := s.Object(func(key []byte, escaped bool, vs, ve int) {
		sp := Span{KeyStart: uint16(cap(raw) - cap(key)), KeyLen: uint8(len(key)), ValueStart: uint16(vs), ValueEnd: uint16(ve)}
		if escaped {
			sp.Flags |= SpanKeyEscaped
		}
		if s.ValueSpaced {
			sp.Flags |= SpanSpaced
		}
		spans = append(spans, sp)
	}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		spans []Span
	}{{"walk", nil}, {"spans", spans}} {
		b.Run(tc.name, func(b *testing.B) {
			r := &Record{Raw: raw, ValidJSON: true}
			if tc.spans != nil {
				r.SetSpans(tc.spans)
			}
			fields := map[string]any{}
			ms := make([]Member, 0, 128)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if _, _, err = r.FieldsNamedInto(fields, want); err != nil {
					b.Fatal(err)
				}
				if ms, err = r.AppendMembers(ms[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
