package mapping

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestTransformations(t *testing.T) {
	tests := []struct {
		tr   string
		in   any
		want string // the JSON of the result, or "error: <substring>"
	}{
		{"String", "abc", `"abc"`},
		{"String", int64(-42), `"-42"`},
		{"String", uint64(18446744073709551615), `"18446744073709551615"`},
		{"String", 1.5, `"1.5"`},
		{"String", 3.0, `"3.0"`},
		{"String", 1e16, `"1e+16"`},
		{"String", 0.00001, `"1e-05"`},
		{"String", true, `"true"`},
		{"String", []any{"a", int64(1)}, `"[\"a\",1]"`},
		{"String", map[string]any{"z": nil, "a": "x"}, `"{\"a\":\"x\",\"z\":null}"`},
		{"string", "case does not matter", `"case does not matter"`},
		{"String31", strings.Repeat("é", 31), `"` + strings.Repeat("é", 31) + `"`},
		{"String31", strings.Repeat("x", 32), "error: longer than 31 characters"},
		{"Integer", int64(7147084621365701239), `7147084621365701239`},
		{"Integer", uint64(18446744073709551615), `18446744073709551615`},
		{"Integer", " 5683712749073620667 ", `5683712749073620667`},
		{"Integer", "18446744073709551615", `18446744073709551615`},
		{"Integer", "-12", `-12`},
		{"Integer", 2.9, `2`},
		{"Integer", -2.9, `-2`},
		{"Integer", true, `1`},
		{"Integer", "1.5", "error: is not an integer"},
		{"Integer", "99999999999999999999", "error: is not an integer"},
		{"Integer", 1e300, "error: out of the 64-bit integer range"},
		{"Integer", []any{}, "error: is not an integer"},
		{"Floating Point", "37.5", `37.5`},
		{"Floating Point", int64(3), `3`},
		{"Floating Point", 1e-7, `1e-7`},
		{"Floating Point", "nan", "error: NaN"},
		{"Floating Point", "x", "error: is not a number"},
		{"IP Address", "13.248.193.251", `"13.248.193.251"`},
		{"IP Address", "2001:db8::1", `"2001:db8::1"`},
		{"IP Address", "300.1.1.1", "error: is not an IP address"},
		{"IP Address", "", "error: is not an IP address"},
		{"IPv4 Address", "10.0.0.1", `"10.0.0.1"`},
		{"IPv4 Address", "::1", "error: is not an IPv4 address"},
		{"IPv6 address", "::1", `"::1"`},
		{"IPv6 address", "10.0.0.1", "error: is not an IPv6 address"},
		{"MAC Address", "00:1A:2b:3c:4D:5e", `"00:1A:2b:3c:4D:5e"`},
		{"MAC Address", "00-1A-2b-3c-4D-5e", "error: is not a MAC address"},
		{"Time Stamp", int64(1708989085), `"2024-02-26T23:11:25Z"`},
		{"Time Stamp", uint64(1708989085), `"2024-02-26T23:11:25Z"`},
		{"Time Stamp", 1708989085.999, `"2024-02-26T23:11:25Z"`},
		{"Time Stamp", "1708989085", `"2024-02-26T23:11:25Z"`},
		{"Time Stamp", "1708989085.5", `"2024-02-26T23:11:25Z"`},
		{"Time Stamp", "2023-12-11 15:25:31.000000000", `"2023-12-11T15:25:31Z"`},
		{"Time Stamp", "2023-12-11T15:25:31Z", `"2023-12-11T15:25:31Z"`},
		{"Time Stamp", "2023-12-11T10:25:31.5-05:00", `"2023-12-11T15:25:31Z"`},
		{"Time Stamp", int64(0), `"1970-01-01T00:00:00Z"`},
		{"Time Stamp", int64(253402300800), "error: out of range"},
		{"Time Stamp", uint64(1 << 63), "error: out of range"},
		{"Time Stamp", "soon", "error: is neither epoch seconds nor a date and time"},
		{"Time Stamp", true, "error: is not a time"},
		{"JSON object", map[string]any{"b": int64(1), "a": []any{}}, `{"a":[],"b":1}`},
		{"JSON object", []any{"x"}, `["x"]`},
		{"JSON object", `{"id": 7147084621365701239}`, `{"id":7147084621365701239}`},
		{"JSON object", "plain", "error: is not a JSON object"},
		{"JSON object", int64(1), "error: is not a JSON object"},
	}
	for _, tt := range tests {
		c, ok := lookupConverter(tt.tr)
		if !ok {
			t.Fatalf("no converter %q", tt.tr)
		}
		v, err := c.convert(tt.in)
		var got string
		if err != nil {
			got = "error: " + err.Error()
		} else {
			got = string(v.appendJSON(nil))
		}
		if strings.HasPrefix(tt.want, "error: ") {
			if err == nil || !strings.Contains(got, strings.TrimPrefix(tt.want, "error: ")) {
				t.Errorf("%s(%#v) = %s, want %s", tt.tr, tt.in, got, tt.want)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%s(%#v) = %s, want %s", tt.tr, tt.in, got, tt.want)
		}
	}
	if _, ok := lookupConverter("Lowercase"); ok {
		t.Error("a transformation CE does not have")
	}
	if len(Transformations()) != 20 {
		t.Errorf("transformations: %v", Transformations())
	}
}

func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", -2.5: "-2.5", 0.1: "0.1", 1e15: "1000000000000000.0", 1e16: "1e+16",
		0.0001: "0.0001", 0.00001: "1e-05", 123456789.125: "123456789.125", math.Inf(1): "inf",
	} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, 1, -1.5, 1e-7, 1e20, 1e21, 123.456, 5e-324, math.MaxFloat64} {
		want, _ := json.Marshal(f)
		if got := appendFloat(nil, f); string(got) != string(want) {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestJSONPath(t *testing.T) {
	rec := map[string]any{
		"supporting_data": map[string]any{"data_type": "user", "data_values": []any{"11.22.33.44", "admin@netskope.com"}},
		"a.b":             "dotted key",
		"list":            []any{map[string]any{"id": int64(1)}, map[string]any{"id": int64(2), "sub": map[string]any{"id": int64(3)}}},
		"n":               int64(7147084621365701239),
	}
	tests := []struct {
		path string
		want string // "absent", or the value as toString renders it
	}{
		{"$.supporting_data.data_type", "user"},
		{"supporting_data.data_type", "user"},
		{"$['supporting_data']['data_values'][0]", "11.22.33.44"},
		{`$["supporting_data"].data_values[-1]`, "admin@netskope.com"},
		{"$.supporting_data.data_values.1", "admin@netskope.com"},
		{"$.supporting_data.data_values[*]", "11.22.33.44,admin@netskope.com"},
		{"$.supporting_data.*", `user,["11.22.33.44","admin@netskope.com"]`},
		{"$['a.b']", "dotted key"},
		{"$.list[*].id", "1,2"},
		{"$..id", "1,2,3"},
		{"$.list..id", "1,2,3"},
		{"$.n", "7147084621365701239"},
		{"$.missing", "absent"},
		{"$.supporting_data.data_values[5]", "absent"},
		{"$.n.x", "absent"},
		{"$..nothing", "absent"},
	}
	for _, tt := range tests {
		p, err := compileJSONPath(tt.path)
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		e := entry{field: tt.path, path: p}
		v, st := e.lookup(rec)
		got := "absent"
		if st != absent {
			got = toString(v)
		}
		if got != tt.want {
			t.Errorf("%s = %s, want %s", tt.path, got, tt.want)
		}
	}
	for _, bad := range []string{"", "$", "$.", "$..", "$[", "$[?(@.a)]", "$[(@.length-1)]", "$[0:2]", "$[x]", "$['a'", "$['a'x]", "$.a b[0]x"} {
		if _, err := compileJSONPath(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}
