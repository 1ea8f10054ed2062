package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"
)

// A filter is read into a small tree of its own before it is compiled, whatever it came as (JSON
// text, or a value decoded from YAML or JSON): nil, bool, string, int64, uint64, float64,
// time.Time, []any and *object. Objects keep the order of their keys, so that the first problem
// reported is the first in the text.

// object is a JSON object (YAML mapping) with its keys in order.
type object struct {
	keys []string
	vals []any
}

// maxDepth bounds the nesting of a filter: deeper is certainly a mistake, and recursion on
// hostile input stays shallow.
const maxDepth = 100

// errAt is a problem at a place in the filter: "$and[1].severity.$regex".
type errAt struct {
	path string
	msg  string
}

func (e *errAt) Error() string { return e.msg }

func failAt(path, format string, args ...any) error {
	return &errAt{path: path, msg: fmt.Sprintf(format, args...)}
}

// readFilter turns what CompileMongo was given into the filter's tree.
func readFilter(filter any) (any, error) {
	var v any
	var err error
	switch f := filter.(type) {
	case []byte:
		v, err = decodeJSON(f)
	case json.RawMessage:
		v, err = decodeJSON(f)
	case string:
		v, err = decodeJSON([]byte(f))
	default:
		v, err = fromValue(filter, "", 0)
	}
	if err != nil {
		return nil, err
	}
	// A JSON string holding the filter, as Cloud Exchange stores it ("mongo": "{\"$and\":...}")
	// when copied with its quotes.
	if s, ok := v.(string); ok {
		if v, err = decodeJSON([]byte(s)); err != nil {
			return nil, err
		}
	}
	// Cloud Exchange's whole "filters" object: {"query": "...", "mongo": "{...}", "isValid": true}.
	if o, ok := v.(*object); ok && isCEFilters(o) {
		s := o.vals[o.index("mongo")].(string)
		if v, err = decodeJSON([]byte(s)); err != nil {
			var e *errAt
			if errors.As(err, &e) {
				e.msg = "mongo: " + e.msg
			}
			return nil, err
		}
	}
	return v, nil
}

func (o *object) index(key string) int {
	for i, k := range o.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// isCEFilters reports whether o is the "filters" object of a Cloud Exchange business rule rather
// than a filter: a "mongo" string, with at most "query" and "isValid" beside it.
func isCEFilters(o *object) bool {
	i := o.index("mongo")
	if i < 0 {
		return false
	}
	if _, ok := o.vals[i].(string); !ok {
		return false
	}
	for _, k := range o.keys {
		if k != "mongo" && k != "query" && k != "isValid" {
			return false
		}
	}
	return true
}

// decodeJSON reads one JSON value, keeping the order of object keys and every digit of integers.
func decodeJSON(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, failAt("", "the filter is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSON(dec, data, "", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, jsonError(data, dec.InputOffset(), errors.New("unexpected data after the JSON value"))
	}
	return v, nil
}

func readJSON(dec *json.Decoder, data []byte, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, failAt(path, "nested more than %d levels deep", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(data, dec.InputOffset(), err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, jsonError(data, dec.InputOffset(), err)
				}
				k := kt.(string) // the decoder only gives strings as keys
				kp := joinKey(path, k)
				if o.index(k) >= 0 {
					return nil, failAt(kp, "the key %q appears twice in one object", k)
				}
				v, err := readJSON(dec, data, kp, depth+1)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k)
				o.vals = append(o.vals, v)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, jsonError(data, dec.InputOffset(), err)
			}
			return o, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := readJSON(dec, data, fmt.Sprintf("%s[%d]", path, len(a)), depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, jsonError(data, dec.InputOffset(), err)
			}
			return a, nil
		}
	case json.Number:
		n, err := parseNumber(string(t))
		if err != nil {
			return nil, failAt(path, "%v", err)
		}
		return n, nil
	}
	return tok, nil // nil, bool, string
}

// parseNumber reads a JSON number as records hold numbers: int64, else uint64, else float64.
func parseNumber(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("the number %s is out of range", s)
	}
	return f, nil
}

// jsonError places a JSON syntax error at its line and column. offset is the decoder's
// InputOffset, which is where the bad character is (the SyntaxError's own offset is, after
// Token, sometimes that and sometimes one past it).
func jsonError(data []byte, offset int64, err error) error {
	msg := err.Error()
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		msg = "unexpected end of the JSON text"
		offset = int64(len(data))
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col := 1, 1
	for _, c := range data[:offset] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return failAt("", "invalid JSON at line %d, column %d: %s", line, col, msg)
}

// fromValue reads a filter given as a decoded value: what yaml.v3 or encoding/json produce, or a
// Go literal. Map keys are sorted, as maps have no order.
func fromValue(v any, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, failAt(path, "nested more than %d levels deep", maxDepth)
	}
	switch t := v.(type) {
	case nil, bool, string, int64, float64, time.Time:
		return t, nil
	case *object:
		return t, nil
	case uint64:
		if t <= math.MaxInt64 {
			return int64(t), nil
		}
		return t, nil
	case int:
		return int64(t), nil
	case int8:
		return int64(t), nil
	case int16:
		return int64(t), nil
	case int32:
		return int64(t), nil
	case uint:
		return fromValue(uint64(t), path, depth)
	case uint8:
		return int64(t), nil
	case uint16:
		return int64(t), nil
	case uint32:
		return int64(t), nil
	case float32:
		return float64(t), nil
	case json.Number:
		n, err := parseNumber(string(t))
		if err != nil {
			return nil, failAt(path, "%v", err)
		}
		return n, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			c, err := fromValue(x, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := &object{keys: keys, vals: make([]any, len(keys))}
		for i, k := range keys {
			c, err := fromValue(t[k], joinKey(path, k), depth+1)
			if err != nil {
				return nil, err
			}
			o.vals[i] = c
		}
		return o, nil
	case map[any]any:
		// yaml.v3 decodes a mapping with a key that is not a string ("1: x") so.
		m := make(map[string]any, len(t))
		for k, x := range t {
			ks, ok := k.(string)
			if !ok {
				switch k.(type) {
				case int, int64, uint64, float64, bool:
					ks = fmt.Sprint(k)
				default:
					return nil, failAt(path, "the key %v is not a string", k)
				}
			}
			if _, dup := m[ks]; dup {
				return nil, failAt(joinKey(path, ks), "the key %q appears twice in one object", ks)
			}
			m[ks] = x
		}
		return fromValue(m, path, depth)
	}
	// Other slices and maps with string keys ([]string, map[string]string, ...).
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return fromValue(out, path, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			m := make(map[string]any, rv.Len())
			it := rv.MapRange()
			for it.Next() {
				m[it.Key().String()] = it.Value().Interface()
			}
			return fromValue(m, path, depth)
		}
	case reflect.Pointer:
		if !rv.IsNil() {
			return fromValue(rv.Elem().Interface(), path, depth)
		}
		return nil, nil
	}
	return nil, failAt(path, "a value of type %T cannot be in a filter", v)
}

// joinKey appends an object key to a path in the filter.
func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names the JSON type of a filter value, for messages.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return fmt.Sprintf("the string %q", t)
	case int64, uint64, float64:
		return "a number"
	case time.Time:
		return "a date"
	case []any:
		return "a list"
	case *object:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}
