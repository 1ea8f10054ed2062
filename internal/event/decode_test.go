package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// referenceDecode is what Fields did before it had its own decoder: encoding/json with
// UseNumber, then every json.Number made an int64, a uint64 or a float64. The decoder must
// give the same map, or fail where it failed.
func referenceDecode(raw []byte) (map[string]any, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, false, err
	}
	if m == nil {
		return nil, false, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false, errors.New("unexpected data after the JSON object")
	}
	saw := false
	normalizeNumbers(m, &saw)
	return m, saw, nil
}

// normalizeNumbers turns json.Number values into int64 when they are integers that fit, uint64
// when they are larger non-negative integers, and float64 otherwise, in place. Integers keep
// every digit (a 19-digit Netskope id stays exact) and rules compare them as numbers.
// sawUint64 is set when one is made.
func normalizeNumbers(v any, sawUint64 *bool) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalizeNumbers(x, sawUint64)
		}
	case []any:
		for i, x := range t {
			t[i] = normalizeNumbers(x, sawUint64)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			*sawUint64 = true
			return u
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return string(t)
	}
	return v
}

var decodeCases = []string{
	`{}`,
	` {"a":1} `,
	`{"a":-0,"b":0.5,"c":1e3,"d":-1.5E-7,"e":9223372036854775807,"f":9223372036854775808,"g":-9223372036854775809,"h":18446744073709551616,"i":1e400}`,
	`{"s":"plain","t":"tab\tand \"quotes\" \\ \/ \b\f\n\r","u":"\u00e9\u4e2d\ud83d\ude00","v":"\ud800","w":"\ud800\u0041","x":"\udc00x"}`,
	"{\"bad\":\"\xff\xfe ok \xe2\x82\"}",
	`{"nested":{"a":[1,"two",true,false,null,{"b":[]}],"c":{}}}`,
	`{"dup":1,"dup":2}`,
	`{"big":1234567890123456789012345}`,
	`{"a":1,}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":nul}`,
	`{"a":"x`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a" 1}`, `{a:1}`, `{"a":1}{"b":2}`, `{"a":1} x`,
	`[1,2]`, `null`, `"s"`, `1`, ``, `   `, `{`, `{"a":[1,2}`, `{"a":{"b":1]}`,
	`{"a":` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001) + `}`,
	`{"a":` + strings.Repeat(`[`, 9990) + strings.Repeat(`]`, 9990) + `}`,
}

func TestDecodeObjectMatchesEncodingJSON(t *testing.T) {
	for i, in := range decodeCases {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			compareDecode(t, []byte(in))
			compareSome(t, []byte(in))
		})
	}
}

func compareDecode(t *testing.T, in []byte) {
	t.Helper()
	want, wantU, wantErr := referenceDecode(in)
	got, gotU, gotErr := decodeObject(in)
	if ValidObject(string(in)) != (gotErr == nil) {
		t.Fatalf("%.200q: ValidObject says %v, decodeObject says %v", in, ValidObject(string(in)), gotErr)
	}
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%.200q: encoding/json says %v, decodeObject says %v", in, wantErr, gotErr)
	}
	if wantErr != nil {
		return
	}
	// The decoder may say it saw a uint64 that a repeated key then replaced: that costs a
	// copy in the rules, never a wrong answer. It must never miss one.
	if !reflect.DeepEqual(got, want) || wantU && !gotU {
		t.Fatalf("%.200q:\n got %#v (uint64 %v)\nwant %#v (uint64 %v)", in, got, gotU, want, wantU)
	}
}

// someKeys are the keys decodeSome is asked for in the tests: present, absent, escaped.
var someKeys = map[string]struct{}{"a": {}, "h": {}, "u": {}, "dup": {}, "nested": {}, "é": {}, "missing": {}}

// compareSome holds decodeSome to decodeObject: it fails where decodeObject fails, and
// otherwise gives decodeObject's map cut down to the wanted keys.
func compareSome(t *testing.T, in []byte) {
	t.Helper()
	full, _, fullErr := decodeObject(in)
	got, gotU, err := decodeSome(nil, in, someKeys)
	if (fullErr == nil) != (err == nil) {
		t.Fatalf("%.200q: decodeObject says %v, decodeSome says %v", in, fullErr, err)
	}
	if fullErr != nil {
		if _, err := Members(in); err == nil {
			t.Fatalf("%.200q: decodeObject says %v, Members takes it", in, fullErr)
		}
		return
	}
	want := map[string]any{}
	for k := range someKeys {
		if v, ok := full[k]; ok {
			want[k] = v
		}
	}
	// Into a map of an earlier record: nothing of it is left.
	if reused, _, err := decodeSome(map[string]any{"stale": true, "a": "earlier"}, in, someKeys); err != nil || !reflect.DeepEqual(reused, got) {
		t.Fatalf("%.200q: into a used map: %#v, %v; into a new one: %#v", in, reused, err, got)
	}
	if !reflect.DeepEqual(got, want) || containsUint64(want) && !gotU {
		t.Fatalf("%.200q:\n got %#v (uint64 %v)\nwant %#v", in, got, gotU, want)
	}
	compareMembers(t, in, full)
}

// compareMembers holds Members and DecodeValue to decodeObject: the last value of each key
// decodes to the map's, and a value is
// called Compact exactly when json.Compact leaves it as it is and it is valid UTF-8.
func compareMembers(t *testing.T, in []byte, full map[string]any) {
	t.Helper()
	ms, err := Members(in)
	if err != nil {
		t.Fatalf("%.200q: decodeObject decodes it, Members says %v", in, err)
	}
	got := map[string]any{}
	for _, m := range ms {
		v, err := DecodeValue(m.Value)
		if err != nil {
			t.Fatalf("%.200q: member %q: %v", in, m.Key, err)
		}
		if sv, err := DecodeValueShared(m.Value); err != nil || !reflect.DeepEqual(sv, v) {
			t.Fatalf("%.200q: member %q: DecodeValueShared gives %#v, %v; DecodeValue %#v", in, m.Key, sv, err, v)
		}
		got[m.Key] = v
		var c bytes.Buffer
		if err := json.Compact(&c, m.Value); err != nil {
			t.Fatalf("%.200q: member %q is not valid JSON: %v", in, m.Key, err)
		}
		if compact := bytes.Equal(c.Bytes(), m.Value) && utf8.Valid(m.Value); m.Compact != compact {
			t.Fatalf("%.200q: member %q: Compact is %v, want %v", in, m.Key, m.Compact, compact)
		}
	}
	if !reflect.DeepEqual(got, full) {
		t.Fatalf("%.200q: Members give\n%#v\nwant %#v", in, got, full)
	}
}

// FuzzDecodeObject holds the decoder to encoding/json on any input: the same map, or both fail.
func FuzzDecodeObject(f *testing.F) {
	for _, in := range decodeCases {
		if len(in) < 1000 {
			f.Add([]byte(in))
		}
	}
	f.Add(benchRecord())
	f.Add([]byte(`{"\u00e9":1,"a\"b":2,"a":{"x":[1,{"y":"\ud83d\ude00"}]},"h":18446744073709551615}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		compareDecode(t, in)
		compareSome(t, in)
	})
}

// BenchmarkDecodeReference is BenchmarkRecordFields' floor: the same record through
// encoding/json with UseNumber, the decoder it is held to.
func BenchmarkDecodeReference(b *testing.B) {
	raw := benchRecord()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := referenceDecode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMembers is the destination's pass over a record: its top-level members, checked.
func BenchmarkMembers(b *testing.B) {
	raw := benchRecord()
	ms := make([]Member, 0, 128)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if ms, err = AppendMembers(ms[:0], raw); err != nil {
			b.Fatal(err)
		}
	}
}
