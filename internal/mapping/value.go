package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/logshipper/logshipper/internal/jsonx"
)

type vkind uint8

const (
	vNone vkind = iota
	vNull
	vString
	vInt
	vUint
	vFloat
	vBool
	vAny // a map, slice or other Go value, encoded by appendAny
	vRaw // json.RawMessage, inserted as is
)

// value is one output value, held without boxing the common scalar kinds.
type value struct {
	k vkind
	s string
	n uint64 // int64 and float64 bits, uint64, bool
	a any
}

func strValue(s string) value    { return value{k: vString, s: s} }
func intValue(i int64) value     { return value{k: vInt, n: uint64(i)} }
func uintValue(u uint64) value   { return value{k: vUint, n: u} }
func floatValue(f float64) value { return value{k: vFloat, n: math.Float64bits(f)} }
func anyValue(v any) value       { return value{k: vAny, a: v} }
func boolValue(b bool) value {
	if b {
		return value{k: vBool, n: 1}
	}
	return value{k: vBool}
}

func (v value) toAny() any {
	switch v.k {
	case vString:
		return v.s
	case vInt:
		return int64(v.n)
	case vUint:
		return v.n
	case vFloat:
		return math.Float64frombits(v.n)
	case vBool:
		return v.n == 1
	case vAny:
		return v.a
	case vRaw:
		return v.a
	}
	return nil
}

func (v value) appendJSON(dst []byte) []byte {
	switch v.k {
	case vString:
		return jsonx.AppendString(dst, v.s)
	case vInt:
		return strconv.AppendInt(dst, int64(v.n), 10)
	case vUint:
		return strconv.AppendUint(dst, v.n, 10)
	case vFloat:
		return appendFloat(dst, math.Float64frombits(v.n))
	case vBool:
		return strconv.AppendBool(dst, v.n == 1)
	case vAny:
		return appendAny(dst, v.a)
	case vRaw:
		return append(dst, v.a.(json.RawMessage)...)
	}
	return append(dst, "null"...)
}

var errNotFinite = errors.New("NaN and infinite numbers have no JSON form")

// valueOf turns a Go value given to Output.Set into a value.
func valueOf(x any) (value, error) {
	switch t := x.(type) {
	case nil:
		return value{k: vNull}, nil
	case string:
		return strValue(t), nil
	case bool:
		return boolValue(t), nil
	case int:
		return intValue(int64(t)), nil
	case int8:
		return intValue(int64(t)), nil
	case int16:
		return intValue(int64(t)), nil
	case int32:
		return intValue(int64(t)), nil
	case int64:
		return intValue(t), nil
	case uint:
		return uintValue(uint64(t)), nil
	case uint8:
		return uintValue(uint64(t)), nil
	case uint16:
		return uintValue(uint64(t)), nil
	case uint32:
		return uintValue(uint64(t)), nil
	case uint64:
		return uintValue(t), nil
	case float32:
		return floatOf(float64(t))
	case float64:
		return floatOf(t)
	case json.Number:
		if !jsonx.Valid([]byte(t)) {
			return value{}, fmt.Errorf("%q is not a JSON number", string(t))
		}
		return value{k: vRaw, a: json.RawMessage(t)}, nil
	case json.RawMessage:
		if !jsonx.Valid(t) {
			return value{}, errors.New("json.RawMessage holds invalid JSON")
		}
		return value{k: vRaw, a: t}, nil
	case map[string]any, []any, map[string]string, []string:
		return anyValue(t), nil
	}
	// Anything else goes through encoding/json; find out now whether it can.
	if _, err := json.Marshal(x); err != nil {
		return value{}, err
	}
	return anyValue(x), nil
}

func floatOf(f float64) (value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return value{}, errNotFinite
	}
	return floatValue(f), nil
}

// appendAny encodes a record value (what event.Record.Fields yields: string, int64, uint64,
// float64, bool, nil, map[string]any, []any) and a few common Go types. Maps get sorted keys.
func appendAny(dst []byte, x any) []byte {
	switch t := x.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return jsonx.AppendString(dst, t)
	case bool:
		return strconv.AppendBool(dst, t)
	case int64:
		return strconv.AppendInt(dst, t, 10)
	case uint64:
		return strconv.AppendUint(dst, t, 10)
	case int:
		return strconv.AppendInt(dst, int64(t), 10)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return append(dst, "null"...)
		}
		return appendFloat(dst, t)
	case json.Number:
		if t == "" {
			return append(dst, '0')
		}
		return append(dst, t...)
	case map[string]any:
		dst = append(dst, '{')
		for i, k := range sortedKeys(t) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.AppendString(dst, k)
			dst = append(dst, ':')
			dst = appendAny(dst, t[k])
		}
		return append(dst, '}')
	case []any:
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendAny(dst, e)
		}
		return append(dst, ']')
	case map[string]string:
		dst = append(dst, '{')
		for i, k := range sortedKeys(t) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.AppendString(dst, k)
			dst = append(dst, ':')
			dst = jsonx.AppendString(dst, t[k])
		}
		return append(dst, '}')
	case []string:
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.AppendString(dst, e)
		}
		return append(dst, ']')
	}
	b, err := json.Marshal(x)
	if err != nil {
		return append(dst, "null"...)
	}
	return append(dst, b...)
}

// appendFloat formats a float as encoding/json does.
func appendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// toString renders a record value as CE's str() would, with JSON in place of Python's reprs:
// true/false rather than True/False, and maps and lists as compact JSON with sorted keys.
func toString(x any) string {
	switch t := x.(type) {
	case string:
		return t
	case int64:
		return strconv.FormatInt(t, 10)
	case uint64:
		return strconv.FormatUint(t, 10)
	case int:
		return strconv.Itoa(t)
	case float64:
		return pyFloat(t)
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return "null"
	case json.Number:
		return string(t)
	}
	return string(appendAny(nil, x))
}

// pyFloat formats a float as Python's str() does: the shortest repr, ".0" on integral values,
// exponent form outside [1e-4, 1e16).
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s
		}
	}
	return s + ".0"
}
