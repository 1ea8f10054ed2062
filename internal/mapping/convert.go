package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The transformations are exactly those of Cloud Exchange: the core's type converters and
// sanitizers (netskope/integrations/cls/utils/{converter,sanitizer}.py: "String", the bounded
// "String31" ... "String8000", "Integer", "Floating Point", "IP Address", "IPv4 Address",
// "IPv6 address", "MAC Address", "Time Stamp") and "JSON object", which the CloudTrail Lake
// plugin adds. CE has no other transformation (no lower-casing, no free time format); README.md
// says where the results differ from CE's.
type convKind uint8

const (
	convString convKind = iota
	convInteger
	convFloat
	convIP
	convIPv4
	convIPv6
	convMAC
	convTime
	convJSON
)

type converter struct {
	name   string
	kind   convKind
	maxLen int // for the bounded strings, in characters
}

var converters = []converter{
	{name: "String", kind: convString},
	{name: "String31", kind: convString, maxLen: 31},
	{name: "String40", kind: convString, maxLen: 40},
	{name: "String63", kind: convString, maxLen: 63},
	{name: "String100", kind: convString, maxLen: 100},
	{name: "String128", kind: convString, maxLen: 128},
	{name: "String200", kind: convString, maxLen: 200},
	{name: "String255", kind: convString, maxLen: 255},
	{name: "String1023", kind: convString, maxLen: 1023},
	{name: "String2048", kind: convString, maxLen: 2048},
	{name: "String4000", kind: convString, maxLen: 4000},
	{name: "String8000", kind: convString, maxLen: 8000},
	{name: "Integer", kind: convInteger},
	{name: "Floating Point", kind: convFloat},
	{name: "IP Address", kind: convIP},
	{name: "IPv4 Address", kind: convIPv4},
	{name: "IPv6 address", kind: convIPv6},
	{name: "MAC Address", kind: convMAC},
	{name: "Time Stamp", kind: convTime},
	{name: "JSON object", kind: convJSON},
}

// lookupConverter finds a transformation by name, ignoring case (CE's names are not consistent:
// "IPv4 Address" but "IPv6 address").
func lookupConverter(name string) (converter, bool) {
	for _, c := range converters {
		if strings.EqualFold(c.name, strings.TrimSpace(name)) {
			return c, true
		}
	}
	return converter{}, false
}

func converterNames() []string {
	out := make([]string, len(converters))
	for i, c := range converters {
		out[i] = c.name
	}
	return out
}

// Transformations lists the transformation names a mapping may use.
func Transformations() []string { return converterNames() }

// TimeLayout is CloudTrail's eventTime format, yyyy-MM-ddTHH:mm:ssZ, always in UTC.
const TimeLayout = "2006-01-02T15:04:05Z"

// convert applies the transformation to a value taken from a record or a default_value.
func (c converter) convert(x any) (value, error) {
	switch c.kind {
	case convString:
		s := toString(x)
		if c.maxLen > 0 && len(s) > c.maxLen && utf8.RuneCountInString(s) > c.maxLen {
			return value{}, fmt.Errorf("longer than %d characters", c.maxLen)
		}
		return strValue(s), nil
	case convInteger:
		return toInteger(x)
	case convFloat:
		f, err := toFloat(x)
		if err != nil {
			return value{}, err
		}
		return floatValue(f), nil
	case convIP, convIPv4, convIPv6:
		s := toString(x)
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return value{}, fmt.Errorf("%q is not an IP address", s)
		}
		if c.kind == convIPv4 && !a.Is4() {
			return value{}, fmt.Errorf("%q is not an IPv4 address", s)
		}
		if c.kind == convIPv6 && !a.Is6() {
			return value{}, fmt.Errorf("%q is not an IPv6 address", s)
		}
		return strValue(s), nil
	case convMAC:
		s := toString(x)
		if !isMAC(s) {
			return value{}, fmt.Errorf("%q is not a MAC address (xx:xx:xx:xx:xx:xx)", s)
		}
		return strValue(s), nil
	case convTime:
		t, err := toTime(x)
		if err != nil {
			return value{}, err
		}
		return strValue(formatTime(t)), nil
	case convJSON:
		switch t := x.(type) {
		case map[string]any, []any:
			return anyValue(t), nil
		case string:
			v, err := decodeJSONContainer(t)
			if err != nil {
				return value{}, err
			}
			return anyValue(v), nil
		}
		return value{}, fmt.Errorf("%s is not a JSON object", short(toString(x)))
	}
	return value{}, fmt.Errorf("transformation %q has no converter", c.name)
}

func short(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}

// toInteger converts as Python's int() does for the types a record holds: integers stay exact
// (int64, or uint64 past its range), floats are truncated, strings are parsed, true is 1.
func toInteger(x any) (value, error) {
	switch t := x.(type) {
	case int64:
		return intValue(t), nil
	case uint64:
		return uintValue(t), nil
	case int:
		return intValue(int64(t)), nil
	case bool:
		if t {
			return intValue(1), nil
		}
		return intValue(0), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return value{}, errNotFinite
		}
		tr := math.Trunc(t)
		if tr >= -9223372036854775808 && tr < 9223372036854775808 {
			return intValue(int64(tr)), nil
		}
		if tr >= 0 && tr < 18446744073709551616 {
			return uintValue(uint64(tr)), nil
		}
		return value{}, fmt.Errorf("%s is out of the 64-bit integer range", pyFloat(t))
	case string, json.Number:
		s := strings.TrimSpace(toString(t))
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return intValue(i), nil
		}
		if u, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 64); err == nil {
			return uintValue(u), nil
		}
		return value{}, fmt.Errorf("%s is not an integer", short(s))
	}
	return value{}, fmt.Errorf("%s is not an integer", short(toString(x)))
}

func toFloat(x any) (float64, error) {
	var f float64
	switch t := x.(type) {
	case float64:
		f = t
	case int64:
		f = float64(t)
	case uint64:
		f = float64(t)
	case int:
		f = float64(t)
	case bool:
		if t {
			f = 1
		}
	case string, json.Number:
		s := strings.TrimSpace(toString(t))
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("%s is not a number", short(s))
		}
		f = v
	default:
		return 0, fmt.Errorf("%s is not a number", short(toString(x)))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errNotFinite
	}
	return f, nil
}

// Epoch seconds CloudTrail's format can show: years 0001 to 9999.
const (
	minEpoch = -62135596800
	maxEpoch = 253402300799
)

// timeLayouts are the date strings Time Stamp accepts besides epoch seconds. Netskope's API gives
// epoch seconds; other exports write "2023-12-11 15:25:31.000000000". A date without a zone is
// UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// toTime reads epoch seconds (a number, or a string of one; a fraction is dropped, as CE does)
// or one of timeLayouts. The result is in UTC: the local time zone never enters.
func toTime(x any) (time.Time, error) {
	var sec int64
	switch t := x.(type) {
	case int64:
		sec = t
	case int:
		sec = int64(t)
	case uint64:
		if t > maxEpoch {
			return time.Time{}, fmt.Errorf("%d is out of range for a time", t)
		}
		sec = int64(t)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) || t < minEpoch || t > maxEpoch+1 {
			return time.Time{}, fmt.Errorf("%s is out of range for a time", pyFloat(t))
		}
		sec = int64(math.Trunc(t))
	case string, json.Number:
		s := strings.TrimSpace(toString(t))
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			sec = i
			break
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			if f < minEpoch || f > maxEpoch+1 {
				return time.Time{}, fmt.Errorf("%s is out of range for a time", short(s))
			}
			sec = int64(math.Trunc(f))
			break
		}
		for _, layout := range timeLayouts {
			if tm, err := time.Parse(layout, s); err == nil {
				return checkYear(tm.UTC().Truncate(time.Second), s)
			}
		}
		return time.Time{}, fmt.Errorf("%s is neither epoch seconds nor a date and time", short(s))
	default:
		return time.Time{}, fmt.Errorf("%s is not a time", short(toString(x)))
	}
	if sec < minEpoch || sec > maxEpoch {
		return time.Time{}, fmt.Errorf("%d is out of range for a time", sec)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func checkYear(t time.Time, s string) (time.Time, error) {
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("%s is out of range for a time", short(s))
	}
	return t, nil
}

func formatTime(t time.Time) string {
	var buf [20]byte
	return string(t.UTC().AppendFormat(buf[:0], TimeLayout))
}

func isMAC(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < 17; i++ {
		c := s[i]
		if i%3 == 2 {
			if c != ':' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// decodeJSONContainer parses a JSON object or array held in a string, integers exact.
func decodeJSONContainer(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, fmt.Errorf("%s is not a JSON object", short(s))
	}
	switch v.(type) {
	case map[string]any, []any:
		return exactNumbers(v), nil
	}
	return nil, fmt.Errorf("%s is not a JSON object", short(s))
}

// exactNumbers turns json.Number into int64, uint64 or float64, as event.Record.Fields does.
func exactNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = exactNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = exactNumbers(x)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			return u
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return string(t)
	}
	return v
}
