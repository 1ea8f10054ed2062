// Package filterpattern parses and evaluates CloudWatch Logs filter patterns, the syntax that
// FilterLogEvents, metric filters and subscription filters use to select log events.
//
// Supported, following the CloudWatch Logs "Filter and pattern syntax" documentation:
//
//   - the empty pattern, which matches every event;
//   - terms: `ERROR Exception` (every term must appear, case-sensitive substring match),
//     quoted terms with spaces or punctuation `"Failed to process"`, alternatives
//     `?ERROR ?WARN` (any of them), exclusions `-Exiting` / `-"Exiting now"`;
//   - a regular expression between percent signs, `%ERROR|WARN%` (RE2 syntax, unanchored;
//     parentheses are refused, as the service refuses them);
//   - JSON patterns `{ $.eventName = "ConsoleLogin" && $.errorCode != * }` with selectors
//     (`$.a.b`, `$.a[0].b`, `$.a[1][2]`), the operators = != < <= > >=, `*` wildcards in string
//     values, regular expressions `%...%` as values, && (binds tighter) and ||, parentheses, and
//     the postfix tests IS NULL, NOT EXISTS, IS TRUE and IS FALSE;
//   - space-delimited patterns `[ip, user, ..., status_code = 4* && status_code != 403, bytes > 1000]`.
//
// A JSON pattern never matches a message that is not a JSON object. A selector that does not
// resolve to a scalar (it is missing, or it names an object or an array) makes its comparison
// false, whichever the operator (use NOT EXISTS to test for absence).
package filterpattern

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MaxLength is the longest filter pattern the service accepts.
const MaxLength = 1024

// SyntaxError reports why a pattern could not be parsed and where.
type SyntaxError struct {
	Pattern string
	Offset  int // byte offset in Pattern
	Msg     string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid filter pattern at offset %d: %s", e.Offset, e.Msg)
}

// Pattern is a compiled filter pattern. It is immutable and safe for concurrent use.
type Pattern struct {
	src   string
	kind  kind
	terms termSet
	re    *regexp.Regexp
	json  node
	space *spacePattern
}

type kind uint8

const (
	kindAll kind = iota
	kindTerms
	kindRegex
	kindJSON
	kindSpace
)

// Parse compiles a filter pattern.
func Parse(src string) (*Pattern, error) {
	if len(src) > MaxLength {
		return nil, &SyntaxError{Pattern: src, Offset: MaxLength, Msg: fmt.Sprintf("pattern is longer than %d characters", MaxLength)}
	}
	p := &Pattern{src: src}
	s := strings.TrimSpace(src)
	off := strings.Index(src, s)
	if s == "" {
		p.kind = kindAll
		return p, nil
	}
	ps := &parser{src: src, s: s, base: off}
	var err error
	switch s[0] {
	case '{':
		p.kind = kindJSON
		p.json, err = ps.parseJSONPattern()
	case '[':
		p.kind = kindSpace
		p.space, err = ps.parseSpacePattern()
	case '%':
		p.kind = kindRegex
		p.re, err = ps.parseStandaloneRegex()
	default:
		p.kind = kindTerms
		p.terms, err = ps.parseTerms()
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// MustParse is Parse that panics on error, for tests and constants.
func MustParse(src string) *Pattern {
	p, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the source of the pattern.
func (p *Pattern) String() string { return p.src }

// MatchesAll reports whether the pattern matches every message (the empty pattern).
func (p *Pattern) MatchesAll() bool { return p == nil || p.kind == kindAll }

// Match reports whether msg matches the pattern.
func (p *Pattern) Match(msg string) bool {
	if p == nil {
		return true
	}
	switch p.kind {
	case kindAll:
		return true
	case kindTerms:
		return p.terms.match(msg)
	case kindRegex:
		return p.re.MatchString(msg)
	case kindJSON:
		i := skipWS(msg, 0)
		if i >= len(msg) || msg[i] != '{' {
			return false
		}
		return p.json.eval(msg)
	case kindSpace:
		return p.space.match(msg)
	}
	return false
}

// ---------------------------------------------------------------------------------------------
// parser plumbing

type parser struct {
	src  string // the whole pattern, for errors
	s    string // the trimmed pattern
	base int    // offset of s in src
	i    int
}

func (ps *parser) errf(at int, format string, args ...any) error {
	return &SyntaxError{Pattern: ps.src, Offset: ps.base + at, Msg: fmt.Sprintf(format, args...)}
}

func (ps *parser) eof() bool { return ps.i >= len(ps.s) }

func (ps *parser) skipWS() {
	for ps.i < len(ps.s) && isSpace(ps.s[ps.i]) {
		ps.i++
	}
}

func (ps *parser) peek() byte {
	if ps.i < len(ps.s) {
		return ps.s[ps.i]
	}
	return 0
}

func (ps *parser) hasPrefix(p string) bool { return strings.HasPrefix(ps.s[ps.i:], p) }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// quoted reads a double-quoted string at ps.i; \" and \\ are escapes.
func (ps *parser) quoted() (string, error) {
	start := ps.i
	ps.i++ // opening quote
	var b strings.Builder
	for ps.i < len(ps.s) {
		c := ps.s[ps.i]
		switch c {
		case '\\':
			if ps.i+1 < len(ps.s) && (ps.s[ps.i+1] == '"' || ps.s[ps.i+1] == '\\') {
				b.WriteByte(ps.s[ps.i+1])
				ps.i += 2
				continue
			}
			b.WriteByte(c)
			ps.i++
		case '"':
			ps.i++
			return b.String(), nil
		default:
			b.WriteByte(c)
			ps.i++
		}
	}
	return "", ps.errf(start, "unterminated quoted string")
}

// regex reads %...% at ps.i and compiles it.
func (ps *parser) regex() (*regexp.Regexp, error) {
	start := ps.i
	ps.i++
	var b strings.Builder
	for ps.i < len(ps.s) {
		c := ps.s[ps.i]
		if c == '\\' && ps.i+1 < len(ps.s) && ps.s[ps.i+1] == '%' {
			b.WriteByte('%')
			ps.i += 2
			continue
		}
		if c == '%' {
			ps.i++
			expr := b.String()
			if expr == "" {
				return nil, ps.errf(start, "empty regular expression")
			}
			if strings.ContainsAny(expr, "()") {
				return nil, ps.errf(start, "parentheses are not supported in regular expressions")
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, ps.errf(start, "bad regular expression: %v", err)
			}
			return re, nil
		}
		b.WriteByte(c)
		ps.i++
	}
	return nil, ps.errf(start, "unterminated regular expression (missing closing %%)")
}

func (ps *parser) parseStandaloneRegex() (*regexp.Regexp, error) {
	re, err := ps.regex()
	if err != nil {
		return nil, err
	}
	ps.skipWS()
	if !ps.eof() {
		return nil, ps.errf(ps.i, "unexpected text after regular expression")
	}
	return re, nil
}

// ---------------------------------------------------------------------------------------------
// terms

type termSet struct {
	all  []string // every one must appear
	any  []string // at least one must appear, when there are any
	none []string // none may appear
}

func (t *termSet) match(msg string) bool {
	for _, s := range t.all {
		if !strings.Contains(msg, s) {
			return false
		}
	}
	for _, s := range t.none {
		if strings.Contains(msg, s) {
			return false
		}
	}
	if len(t.any) == 0 {
		return true
	}
	for _, s := range t.any {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func (ps *parser) parseTerms() (termSet, error) {
	var t termSet
	for {
		ps.skipWS()
		if ps.eof() {
			return t, nil
		}
		start := ps.i
		var mod byte
		if c := ps.peek(); c == '?' || c == '-' {
			mod = c
			ps.i++
			if c == '-' {
				ps.skipWS() // `"ERROR" - "Exiting"` is written with a space in the documentation
			}
			if ps.eof() || isSpace(ps.peek()) {
				return t, ps.errf(start, "%q must be followed by a term", string(mod))
			}
		}
		var term string
		switch c := ps.peek(); c {
		case '"':
			q, err := ps.quoted()
			if err != nil {
				return t, err
			}
			if ps.i < len(ps.s) && !isSpace(ps.s[ps.i]) {
				return t, ps.errf(ps.i, "a quoted term must be followed by a space")
			}
			term = q
		case '{', '[':
			return t, ps.errf(ps.i, "%q can only start a JSON or space-delimited pattern", string(c))
		case '?', '-':
			return t, ps.errf(ps.i, "%q cannot follow %q", string(c), string(mod))
		default:
			ts := ps.i
			for ps.i < len(ps.s) && !isSpace(ps.s[ps.i]) {
				if strings.IndexByte(`"{}[]()%`, ps.s[ps.i]) >= 0 {
					return t, ps.errf(ps.i, "character %q must be inside a quoted term", ps.s[ps.i])
				}
				ps.i++
			}
			term = ps.s[ts:ps.i]
		}
		if term == "" {
			return t, ps.errf(start, "empty term")
		}
		switch mod {
		case '?':
			t.any = append(t.any, term)
		case '-':
			t.none = append(t.none, term)
		default:
			t.all = append(t.all, term)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// values and comparisons shared by JSON and space-delimited patterns

type op uint8

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

func (ps *parser) parseOp() (op, bool) {
	switch {
	case ps.hasPrefix("!="):
		ps.i += 2
		return opNe, true
	case ps.hasPrefix("<="):
		ps.i += 2
		return opLe, true
	case ps.hasPrefix(">="):
		ps.i += 2
		return opGe, true
	case ps.hasPrefix("="):
		ps.i++
		return opEq, true
	case ps.hasPrefix("<"):
		ps.i++
		return opLt, true
	case ps.hasPrefix(">"):
		ps.i++
		return opGt, true
	}
	return 0, false
}

// value is the right-hand side of a comparison.
type value struct {
	text   string   // the literal (unquoted) text
	num    float64  // when isNum
	isNum  bool     // an unquoted number
	glob   []string // when the text holds '*': the parts between wildcards
	re     *regexp.Regexp
	quoted bool
}

func isNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ed := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			ed++
		}
		if ed == 0 {
			return false
		}
	}
	return i == len(s)
}

// parseValue reads a comparison value. stop lists the bytes that end an unquoted value besides
// white space; && and || also end it.
func (ps *parser) parseValue(o op, stop string) (value, error) {
	ps.skipWS()
	start := ps.i
	var v value
	switch ps.peek() {
	case 0:
		return v, ps.errf(ps.i, "missing value after operator")
	case '"':
		q, err := ps.quoted()
		if err != nil {
			return v, err
		}
		v.text, v.quoted = q, true
	case '%':
		re, err := ps.regex()
		if err != nil {
			return v, err
		}
		if o != opEq && o != opNe {
			return v, ps.errf(start, "a regular expression can only be compared with = or !=")
		}
		v.re = re
		return v, nil
	case '=', '!', '<', '>':
		return v, ps.errf(ps.i, "unexpected operator %q where a value was expected", ps.peek())
	default:
		for ps.i < len(ps.s) {
			c := ps.s[ps.i]
			if isSpace(c) || strings.IndexByte(stop, c) >= 0 || ps.hasPrefix("&&") || ps.hasPrefix("||") {
				break
			}
			if c == '"' || c == '(' {
				return v, ps.errf(ps.i, "character %q must be inside a quoted value", c)
			}
			ps.i++
		}
		v.text = ps.s[start:ps.i]
		if v.text == "" {
			return v, ps.errf(start, "missing value after operator")
		}
		if isNumber(v.text) {
			n, err := strconv.ParseFloat(v.text, 64)
			if err != nil {
				return v, ps.errf(start, "bad number %q", v.text)
			}
			v.num, v.isNum = n, true
		}
	}
	if o != opEq && o != opNe {
		if !v.isNum {
			return v, ps.errf(start, "%q needs a number to compare with", opString(o))
		}
		return v, nil
	}
	if strings.Contains(v.text, "*") {
		v.glob = strings.Split(v.text, "*")
	}
	return v, nil
}

func opString(o op) string {
	return [...]string{"=", "!=", "<", "<=", ">", ">="}[o]
}

// globMatch matches s against parts split on '*'.
func globMatch(parts []string, s string) bool {
	if len(parts) == 1 {
		return s == parts[0]
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}

// equalText compares a textual value with v (= semantics, before negation).
func (v *value) equalText(s string) bool {
	switch {
	case v.re != nil:
		return v.re.MatchString(s)
	case v.glob != nil:
		return globMatch(v.glob, s)
	default:
		return s == v.text
	}
}

func compareNum(o op, a, b float64) bool {
	switch o {
	case opEq:
		return a == b
	case opNe:
		return a != b
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	case opGe:
		return a >= b
	}
	return false
}
