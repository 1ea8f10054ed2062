package rules

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// A compiled filter is a tree of nodes over the record's decoded fields. Evaluating it allocates
// nothing: paths are split at compile time, operands are converted at compile time, and values
// are compared where they lie.

type node interface {
	eval(doc map[string]any) bool
}

type andNode []node

func (n andNode) eval(doc map[string]any) bool {
	for _, c := range n {
		if !c.eval(doc) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) eval(doc map[string]any) bool {
	for _, c := range n {
		if c.eval(doc) {
			return true
		}
	}
	return false
}

type notNode struct{ n node }

func (n notNode) eval(doc map[string]any) bool { return !n.n.eval(doc) }

func allOf(nodes []node) node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	return andNode(nodes) // empty: true
}

func anyOf(nodes []node) node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	return orNode(nodes)
}

// fieldNode tests the values at a path with a predicate.
type fieldNode struct {
	segs  []string // the path, split at dots
	rest  []string // rest[i] is segs[i:] joined: a record's key may itself contain dots
	index []int    // index[i] is segs[i] as an array index, or -1
	p     pred
}

func newField(segs []string, p pred) *fieldNode {
	f := &fieldNode{segs: segs, rest: make([]string, len(segs)), index: make([]int, len(segs)), p: p}
	for i := range segs {
		f.rest[i] = strings.Join(segs[i:], ".")
		f.index[i] = -1
		if n, err := strconv.Atoi(segs[i]); err == nil && n >= 0 && segs[i][0] != '+' {
			f.index[i] = n
		}
	}
	return f
}

func (f *fieldNode) eval(doc map[string]any) bool { return f.walk(doc, 0) }

// walk applies the predicate to what the path reaches from v, from its i-th part, as MongoDB
// does: through objects by key, through arrays by index or into each element, and at the end
// to the value and, when it is an array, to each of its elements. A path that reaches nothing
// asks the predicate what it makes of a missing field.
func (f *fieldNode) walk(v any, i int) bool {
	if i == len(f.segs) {
		return f.leaf(v)
	}
	switch t := v.(type) {
	case map[string]any:
		if i < len(f.segs)-1 {
			if c, ok := t[f.rest[i]]; ok { // {"dotted.key": 7}
				return f.leaf(c)
			}
		}
		c, ok := t[f.segs[i]]
		if !ok {
			return f.p.missing()
		}
		return f.walk(c, i+1)
	case []any:
		reached := false
		if idx := f.index[i]; idx >= 0 && idx < len(t) {
			if f.walk(t[idx], i+1) {
				return true
			}
			reached = true
		}
		for _, e := range t {
			if m, ok := e.(map[string]any); ok {
				if f.walk(m, i) {
					return true
				}
				reached = true
			}
		}
		if !reached {
			return f.p.missing()
		}
		return false
	}
	return f.p.missing()
}

func (f *fieldNode) leaf(v any) bool {
	if f.p.test(v) {
		return true
	}
	if a, ok := v.([]any); ok {
		for _, e := range a {
			if f.p.test(e) {
				return true
			}
		}
	}
	return false
}

// pred is a test of one value.
type pred interface {
	// test reports whether a value present in the record passes (v is nil for a JSON null).
	test(v any) bool
	// missing reports whether a field the record lacks passes.
	missing() bool
}

type existsPred struct{}

func (existsPred) test(any) bool { return true }
func (existsPred) missing() bool { return false }

// eqPred is exact equality with a literal: null (which a missing field equals, as in MongoDB), a
// boolean, a number (of any Go type, compared exactly), a string, a date, or a list.
type eqPred struct{ v any }

func (p eqPred) test(v any) bool { return equal(v, p.v) }
func (p eqPred) missing() bool   { return p.v == nil }

// foldEqPred is Cloud Exchange's string equality: the same text, regardless of case.
type foldEqPred struct{ s string }

func (p foldEqPred) test(v any) bool {
	s, ok := v.(string)
	return ok && ceEqualFold(s, p.s)
}
func (foldEqPred) missing() bool { return false }

// containsFoldPred is Cloud Exchange's "Like": the field contains the text, regardless of case.
type containsFoldPred struct {
	sub    string
	firsts []rune // the runes that match the first rune of sub
}

func newContainsFold(sub string) containsFoldPred {
	p := containsFoldPred{sub: sub}
	if sub != "" {
		r, _ := utf8.DecodeRuneInString(sub)
		p.firsts = append(p.firsts, r)
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			p.firsts = append(p.firsts, f)
		}
	}
	return p
}

func (p containsFoldPred) test(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	if p.sub == "" {
		return true
	}
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		for _, f := range p.firsts {
			if r == f {
				if hasPrefixFold(s[i:], p.sub) {
					return true
				}
				break
			}
		}
		i += size
	}
	return false
}
func (containsFoldPred) missing() bool { return false }

type regexPred struct{ re *regexp.Regexp }

func (p regexPred) test(v any) bool {
	s, ok := v.(string)
	return ok && p.re.MatchString(s)
}
func (regexPred) missing() bool { return false }

// inPred is $in: exact equality with one of the values (strings are compared with their case,
// as Cloud Exchange does).
type inPred struct {
	strs   []string
	set    map[string]struct{} // strs, when there are many
	others []any
	null   bool
}

func (p inPred) test(v any) bool {
	if s, ok := v.(string); ok {
		if p.set != nil {
			_, ok := p.set[s]
			return ok
		}
		for _, x := range p.strs {
			if x == s {
				return true
			}
		}
		return false
	}
	if v == nil {
		return p.null
	}
	for _, x := range p.others {
		if equal(v, x) {
			return true
		}
	}
	return false
}
func (p inPred) missing() bool { return p.null }

// date is a date operand: a fixed time, or a duration from the time of the match.
type date struct {
	abs      time.Time
	rel      time.Duration
	relative bool
}

func (d date) at() time.Time {
	if d.relative {
		return time.Now().UTC().Truncate(time.Second).Add(d.rel)
	}
	return d.abs
}

type dateEqPred struct{ d date }

func (p dateEqPred) test(v any) bool {
	t, ok := toTime(v)
	return ok && t.Equal(p.d.at())
}
func (dateEqPred) missing() bool { return false }

const (
	kindNull = iota
	kindBool
	kindNumber
	kindString
	kindDate
)

// cmpPred is $gt, $gte, $lt and $lte. Values compare with operands of their own kind only, as in
// MongoDB: a number with a number, a string with a string; anything else does not match. A date
// operand compares with a date string (RFC 3339) or a number of seconds since 1970.
type cmpPred struct {
	kind    int
	want    int  // 1 for $gt and $gte, -1 for $lt and $lte
	orEqual bool // $gte, $lte
	b       bool
	n       number
	s       string
	d       date
}

func (p cmpPred) test(v any) bool {
	var c int
	switch p.kind {
	case kindNull:
		return v == nil && p.orEqual
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return false
		}
		c = boolCompare(b, p.b)
	case kindNumber:
		n, ok := toNumber(v)
		if !ok {
			return false
		}
		if c, ok = compareNumbers(n, p.n); !ok {
			return false
		}
	case kindString:
		s, ok := v.(string)
		if !ok {
			return false
		}
		c = strings.Compare(s, p.s)
	case kindDate:
		t, ok := toTime(v)
		if !ok {
			return false
		}
		c = t.Compare(p.d.at())
	}
	return c == p.want || c == 0 && p.orEqual
}

func (p cmpPred) missing() bool { return p.kind == kindNull && p.orEqual }

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// equal is exact equality of a record's value with a literal.
func equal(v, lit any) bool {
	switch l := lit.(type) {
	case nil:
		return v == nil
	case bool:
		b, ok := v.(bool)
		return ok && b == l
	case string:
		s, ok := v.(string)
		return ok && s == l
	case int64, uint64, float64:
		a, ok := toNumber(v)
		if !ok {
			return false
		}
		b, _ := toNumber(l)
		c, ok := compareNumbers(a, b)
		return ok && c == 0
	case time.Time:
		t, ok := toTime(v)
		return ok && t.Equal(l)
	case []any:
		a, ok := v.([]any)
		if !ok || len(a) != len(l) {
			return false
		}
		for i := range a {
			if !equal(a[i], l[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// number holds any numeric value exactly.
type number struct {
	k int
	i int64
	u uint64
	f float64
}

const (
	numInt = iota
	numUint
	numFloat
)

func toNumber(v any) (number, bool) {
	switch t := v.(type) {
	case int64:
		return number{k: numInt, i: t}, true
	case float64:
		return number{k: numFloat, f: t}, true
	case uint64:
		if t <= math.MaxInt64 {
			return number{k: numInt, i: int64(t)}, true
		}
		return number{k: numUint, u: t}, true
	case int:
		return number{k: numInt, i: int64(t)}, true
	case int32:
		return number{k: numInt, i: int64(t)}, true
	case int16:
		return number{k: numInt, i: int64(t)}, true
	case int8:
		return number{k: numInt, i: int64(t)}, true
	case uint:
		return toNumber(uint64(t))
	case uint32:
		return number{k: numInt, i: int64(t)}, true
	case uint16:
		return number{k: numInt, i: int64(t)}, true
	case uint8:
		return number{k: numInt, i: int64(t)}, true
	case float32:
		return number{k: numFloat, f: float64(t)}, true
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return number{k: numInt, i: i}, true
		}
		if u, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			return number{k: numUint, u: u}, true
		}
		if f, err := strconv.ParseFloat(string(t), 64); err == nil {
			return number{k: numFloat, f: f}, true
		}
	}
	return number{}, false
}

// compareNumbers compares exactly, without rounding an integer to a float; false when a NaN
// is involved.
func compareNumbers(a, b number) (int, bool) {
	switch {
	case a.k == numInt && b.k == numInt:
		return cmp3(a.i < b.i, a.i > b.i), true
	case a.k == numUint && b.k == numUint:
		return cmp3(a.u < b.u, a.u > b.u), true
	case a.k == numInt && b.k == numUint: // b.u > MaxInt64
		return -1, true
	case a.k == numUint && b.k == numInt:
		return 1, true
	case a.k == numFloat && b.k == numFloat:
		if math.IsNaN(a.f) || math.IsNaN(b.f) {
			return 0, false
		}
		return cmp3(a.f < b.f, a.f > b.f), true
	case a.k == numFloat:
		c, ok := compareNumbers(b, a)
		return -c, ok
	case a.k == numInt:
		return cmpIntFloat(a.i, b.f)
	}
	return cmpUintFloat(a.u, b.f)
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

func cmpIntFloat(i int64, f float64) (int, bool) {
	switch {
	case math.IsNaN(f):
		return 0, false
	case f >= 1<<63:
		return -1, true
	case f < -(1 << 63):
		return 1, true
	}
	t := math.Trunc(f)
	if ti := int64(t); i != ti {
		return cmp3(i < ti, i > ti), true
	}
	return cmp3(f > t, f < t), true
}

func cmpUintFloat(u uint64, f float64) (int, bool) {
	switch {
	case math.IsNaN(f):
		return 0, false
	case f < 0:
		return 1, true
	case f >= 1<<64:
		return -1, true
	}
	t := math.Trunc(f)
	if tu := uint64(t); u != tu {
		return cmp3(u < tu, u > tu), true
	}
	return cmp3(f > t, f < t), true
}

// toTime reads a record's value as a time: an RFC 3339 string, or a number of seconds since
// 1970 (Netskope's timestamp).
func toTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case string:
		// Only what looks like a date is parsed, so that other strings cost nothing.
		if len(t) < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') {
			return time.Time{}, false
		}
		if tm, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return tm, true
		}
		if tm, err := time.Parse("2006-01-02T15:04:05.999999999Z0700", t); err == nil {
			return tm, true
		}
		return time.Time{}, false
	case time.Time:
		return t, true
	}
	n, ok := toNumber(v)
	if !ok {
		return time.Time{}, false
	}
	switch n.k {
	case numInt:
		return time.Unix(n.i, 0), true
	case numFloat:
		if math.IsNaN(n.f) || math.IsInf(n.f, 0) || math.Abs(n.f) > 1e15 {
			return time.Time{}, false
		}
		sec, frac := math.Modf(n.f)
		return time.Unix(int64(sec), int64(frac*1e9)), true
	}
	return time.Time{}, false
}

// ceEqualFold is Cloud Exchange's string equality, a case-insensitive regular expression
// ^text$ in Python: $ also matches before a final newline.
func ceEqualFold(s, t string) bool {
	if strings.EqualFold(s, t) {
		return true
	}
	return len(s) > 0 && s[len(s)-1] == '\n' && strings.EqualFold(s[:len(s)-1], t)
}

// hasPrefixFold reports whether s starts with prefix, regardless of case (Unicode simple folding,
// as strings.EqualFold).
func hasPrefixFold(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		var r, t rune
		var rs, ts int
		if s[0] < utf8.RuneSelf {
			r, rs = rune(s[0]), 1
		} else {
			r, rs = utf8.DecodeRuneInString(s)
		}
		if prefix[0] < utf8.RuneSelf {
			t, ts = rune(prefix[0]), 1
		} else {
			t, ts = utf8.DecodeRuneInString(prefix)
		}
		if !foldEq(r, t) {
			return false
		}
		s, prefix = s[rs:], prefix[ts:]
	}
	return true
}

func foldEq(r, t rune) bool {
	if r == t {
		return true
	}
	if t < r {
		r, t = t, r
	}
	if t < utf8.RuneSelf {
		return 'A' <= r && r <= 'Z' && t == r+'a'-'A'
	}
	f := unicode.SimpleFold(r)
	for f != r && f < t {
		f = unicode.SimpleFold(f)
	}
	return f == t
}
