package rules

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/suggest"
)

// FilterError is a problem in a Mongo-style filter, at a place in it.
type FilterError struct {
	Rule string // the rule's name
	Path string // where in the filter, as "$and[1].severity.$regex"; empty for the whole filter
	Err  error
}

func (e *FilterError) Error() string { return fmt.Sprintf("rule %q: %s", e.Rule, e.Problem()) }

// Problem is the error without the rule's name: "$and[1].severity.$regex: missing closing ) ...".
func (e *FilterError) Problem() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *FilterError) Unwrap() error { return e.Err }

// CompileMongo compiles a Mongo-style filter, the form in which Netskope Cloud Exchange stores
// business rules, and evaluates it as Cloud Exchange does (see README.md). filter is JSON text
// ([]byte, json.RawMessage or string: the "mongo" string of a Cloud Exchange rule, or its whole
// "filters" object) or a value decoded from YAML or JSON (map[string]any, ...).
//
// The error of a filter that does not compile is a *FilterError.
func CompileMongo(name string, filter any) (*Rule, error) {
	v, err := readFilter(filter)
	if err != nil {
		return nil, filterError(name, err)
	}
	o, ok := v.(*object)
	if !ok {
		return nil, &FilterError{Rule: name, Err: fmt.Errorf("a filter is an object of field conditions, such as {\"severity\": \"high\"}, not %s", describe(v))}
	}
	n, err := compileDoc(o, "")
	if err != nil {
		return nil, filterError(name, err)
	}
	src := ""
	switch f := filter.(type) {
	case string:
		src = f
	case []byte:
		src = string(f)
	}
	return &Rule{name: name, source: src, filter: n}, nil
}

func filterError(name string, err error) error {
	var e *errAt
	if errors.As(err, &e) {
		return &FilterError{Rule: name, Path: e.path, Err: errors.New(e.msg)}
	}
	return &FilterError{Rule: name, Err: err}
}

// fieldOperators are the operators a field condition takes, for messages and suggestions.
var fieldOperators = []string{"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex", "$options", "$not", "$exists"}

// unsupported are MongoDB query operators that a filter may not use, with why.
var unsupported = map[string]string{
	"$elemMatch":  "is not supported",
	"$size":       "is not supported",
	"$all":        "is not supported",
	"$type":       "is not supported",
	"$mod":        "is not supported",
	"$where":      "is not supported (no JavaScript)",
	"$expr":       "is not supported",
	"$text":       "is not supported",
	"$jsonSchema": "is not supported",
}

// compileDoc compiles a document-level filter: the top level, or an item of $and, $or and $nor.
// Its keys are all true at once.
func compileDoc(o *object, at string) (node, error) {
	var nodes []node
	for i, k := range o.keys {
		v, p := o.vals[i], joinKey(at, k)
		var n node
		var err error
		switch {
		case k == "$and" || k == "$or" || k == "$nor":
			n, err = compileLogical(k, v, p)
		case strings.HasPrefix(k, "$"):
			err = unknownOperator(k, p, logicalOperators)
		default:
			var segs []string
			if segs, err = splitField(k, p); err == nil {
				n, err = compileField(segs, v, p)
			}
		}
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return allOf(nodes), nil
}

func unknownOperator(op, at string, known []string) error {
	if why, ok := unsupported[op]; ok {
		return failAt(at, "the operator %s %s", op, why)
	}
	all := append(append([]string{}, fieldOperators...), logicalOperators...)
	if contains(all, op) {
		return failAt(at, "%s is not allowed here: it goes %s", op, placeOf(op))
	}
	// The operators allowed here come first, so that they win a tie.
	if s := suggest.Closest(op, append(append([]string{}, known...), all...)); s != "" {
		if contains(known, s) {
			return failAt(at, "unknown operator %q (did you mean %q?)", op, s)
		}
		return failAt(at, "unknown operator %q (%s goes %s)", op, s, placeOf(s))
	}
	return failAt(at, "unknown operator %q (known here: %s)", op, strings.Join(known, ", "))
}

var logicalOperators = []string{"$and", "$or", "$nor"}

func placeOf(op string) string {
	if contains(logicalOperators, op) {
		return "at the top of a filter or in an item of $and, $or and $nor, not in a field's condition"
	}
	return "in a field's condition ({\"field\": {\"" + op + "\": ...}}), not at the top of a filter"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func compileLogical(op string, v any, at string) (node, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, failAt(at, "%s takes a list of conditions, not %s", op, describe(v))
	}
	if len(items) == 0 {
		return nil, failAt(at, "%s takes a list of conditions; the list is empty", op)
	}
	nodes := make([]node, len(items))
	for i, item := range items {
		p := fmt.Sprintf("%s[%d]", at, i)
		o, ok := item.(*object)
		if !ok {
			return nil, failAt(p, "an item of %s is an object of conditions, not %s", op, describe(item))
		}
		n, err := compileDoc(o, p)
		if err != nil {
			return nil, err
		}
		nodes[i] = n
	}
	switch op {
	case "$and":
		return allOf(nodes), nil
	case "$or":
		return anyOf(nodes), nil
	}
	return notNode{anyOf(nodes)}, nil // $nor
}

// splitField splits a field key into its path. Cloud Exchange writes "%" for "." in keys.
func splitField(key, at string) ([]string, error) {
	if key == "" {
		return nil, failAt(at, "a field name is empty")
	}
	segs := strings.Split(strings.ReplaceAll(key, "%", "."), ".")
	for _, s := range segs {
		if s == "" {
			return nil, failAt(at, "the field path %q has an empty part", key)
		}
	}
	return segs, nil
}

// compileField compiles the condition on one field: an object of operators (and of sub-fields),
// or a value the field must equal.
func compileField(segs []string, v any, at string) (node, error) {
	if o, ok := v.(*object); ok {
		if len(o.keys) == 0 {
			return nil, failAt(at, "the condition is an empty object")
		}
		return compileCond(segs, o, at, true)
	}
	return compileEq(segs, v, at, true)
}

// compileCond compiles an object of operators on the field at segs. Keys that are not operators
// are conditions on sub-fields ({"user": {"name": "alice"}} is {"user.name": "alice"}), as
// Cloud Exchange's evaluator reads them, where subFields allows them.
func compileCond(segs []string, o *object, at string, subFields bool) (node, error) {
	var nodes []node
	ri, oi := o.index("$regex"), o.index("$options")
	for i, k := range o.keys {
		v, p := o.vals[i], joinKey(at, k)
		var n node
		var err error
		switch k {
		case "$eq":
			n, err = compileEq(segs, v, p, false)
		case "$ne":
			if n, err = compileEq(segs, v, p, true); err == nil {
				n = notNode{n}
			}
		case "$gt", "$gte", "$lt", "$lte":
			n, err = compileCmp(segs, k, v, p)
		case "$in", "$nin":
			if n, err = compileIn(segs, k, v, p); err == nil && k == "$nin" {
				n = notNode{n}
			}
		case "$regex":
			var opts any
			hasOpts := oi >= 0
			if hasOpts {
				opts = o.vals[oi]
			}
			n, err = compileRegex(segs, v, p, opts, hasOpts, joinKey(at, "$options"))
		case "$options":
			if ri < 0 {
				return nil, failAt(p, "$options goes with $regex, and there is no $regex beside it")
			}
			continue
		case "$not":
			n, err = compileNot(segs, v, p)
		case "$exists":
			n, err = compileExists(segs, v, p)
		default:
			if !strings.HasPrefix(k, "$") {
				if !subFields {
					return nil, failAt(p, "%q is not an operator: $not takes operators, such as {\"$not\": {\"$gt\": 5}}", k)
				}
				var sub []string
				if sub, err = splitField(k, p); err == nil {
					n, err = compileField(append(append([]string{}, segs...), sub...), v, p)
				}
				break
			}
			err = unknownOperator(k, p, fieldOperators)
		}
		if err != nil {
			return nil, err
		}
		if n != nil {
			nodes = append(nodes, n)
		}
	}
	return allOf(nodes), nil
}

// compileEq compiles "the field equals v". With ceStrings (the implicit {"field": value}, and
// $ne), a string that is an ISO 8601 date compares as a date, as Cloud Exchange does; other
// strings compare without regard to case, also as Cloud Exchange does.
func compileEq(segs []string, v any, at string, ceStrings bool) (node, error) {
	var p pred
	switch t := v.(type) {
	case string:
		if d, ok := ceDate(t); ceStrings && ok {
			p = dateEqPred{date{abs: d}}
		} else {
			p = foldEqPred{t}
		}
	case time.Time:
		p = dateEqPred{date{abs: t}}
	case *object:
		d, ok, err := relativeDate(t, at)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, failAt(at, "equality with an object is not supported; write conditions on its fields instead ({\"user.name\": \"alice\"})")
		}
		p = dateEqPred{d}
	default:
		lit, err := literal(v, at)
		if err != nil {
			return nil, err
		}
		p = eqPred{lit}
	}
	return newField(segs, p), nil
}

// literal checks a value compared exactly: null, a boolean, a number, a string, a date or a list
// of them.
func literal(v any, at string) (any, error) {
	switch t := v.(type) {
	case nil, bool, string, int64, uint64, time.Time:
		return v, nil
	case float64:
		if math.IsNaN(t) {
			return nil, failAt(at, "NaN is not a value a field can be compared with")
		}
		return v, nil
	case []any:
		for i, x := range t {
			if _, err := literal(x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return nil, err
			}
		}
		return v, nil
	}
	return nil, failAt(at, "a field cannot be compared with %s", describe(v))
}

func compileCmp(segs []string, op string, v any, at string) (node, error) {
	var c cmpPred
	switch op {
	case "$gt":
		c.want = 1
	case "$gte":
		c.want, c.orEqual = 1, true
	case "$lt":
		c.want = -1
	case "$lte":
		c.want, c.orEqual = -1, true
	}
	switch t := v.(type) {
	case nil:
		c.kind = kindNull
	case bool:
		c.kind, c.b = kindBool, t
	case int64, uint64, float64:
		n, _ := toNumber(t)
		if n.k == numFloat && math.IsNaN(n.f) {
			return nil, failAt(at, "%s NaN compares with nothing", op)
		}
		c.kind, c.n = kindNumber, n
	case string:
		if d, ok := ceDate(t); ok {
			c.kind, c.d = kindDate, date{abs: d}
		} else {
			c.kind, c.s = kindString, t
		}
	case time.Time:
		c.kind, c.d = kindDate, date{abs: t}
	case *object:
		d, ok, err := relativeDate(t, at)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, failAt(at, "%s takes a number, a string, a date or {\"__RELATIVE__\": ...}, not an object", op)
		}
		c.kind, c.d = kindDate, d
	default:
		return nil, failAt(at, "%s takes a number, a string or a date, not %s", op, describe(v))
	}
	return newField(segs, c), nil
}

func compileIn(segs []string, op string, v any, at string) (node, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, failAt(at, "%s takes a list of values, not %s", op, describe(v))
	}
	var in inPred
	for i, x := range items {
		p := fmt.Sprintf("%s[%d]", at, i)
		if s, ok := x.(string); ok && s == "null" {
			x = nil // Cloud Exchange writes null in a list as the string "null"
		}
		lit, err := literal(x, p)
		if err != nil {
			return nil, err
		}
		switch t := lit.(type) {
		case nil:
			in.null = true
		case string:
			in.strs = append(in.strs, t)
		default:
			in.others = append(in.others, t)
		}
	}
	if len(in.strs) > 8 {
		in.set = make(map[string]struct{}, len(in.strs))
		for _, s := range in.strs {
			in.set[s] = struct{}{}
		}
	}
	return newField(segs, in), nil
}

func compileExists(segs []string, v any, at string) (node, error) {
	want := false
	switch t := v.(type) {
	case bool:
		want = t
	case int64, uint64, float64:
		n, _ := toNumber(t)
		c, _ := compareNumbers(n, number{k: numInt})
		want = c != 0
	default:
		return nil, failAt(at, "$exists takes true or false, not %s", describe(v))
	}
	n := newField(segs, existsPred{})
	if !want {
		return notNode{n}, nil
	}
	return n, nil
}

func compileNot(segs []string, v any, at string) (node, error) {
	switch t := v.(type) {
	case string:
		// Cloud Exchange's "Not Like": no match of the pattern, with case, as $regex alone (a
		// date: "is not").
		if d, ok := ceDate(t); ok {
			return notNode{newField(segs, dateEqPred{date{abs: d}})}, nil
		}
		p, err := compilePattern(t, "")
		if err != nil {
			return nil, failAt(at, "%v", err)
		}
		return notNode{newField(segs, p)}, nil
	case *object:
		if len(t.keys) == 0 {
			return nil, failAt(at, "$not takes an operator expression, such as {\"$gt\": 5}; the object is empty")
		}
		n, err := compileCond(segs, t, at, false)
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	return nil, failAt(at, "$not takes an operator expression, such as {\"$gt\": 5}, or a string, not %s", describe(v))
}

// compileRegex compiles $regex: a regular expression the field's string must contain a match of
// (Python's re.search, which Cloud Exchange's evaluator uses). Case counts unless $options has i,
// as in MongoDB and in Cloud Exchange's evaluator (mongoquery searches with no flags); $options
// gives exactly the options i, m, s and x. The syntax is Go's RE2: what Python has and RE2 lacks
// (lookarounds, backreferences, ...) is an error naming the construct.
func compileRegex(segs []string, v any, at string, opts any, hasOpts bool, optsAt string) (node, error) {
	pattern, ok := v.(string)
	if !ok {
		return nil, failAt(at, "$regex takes a string, not %s", describe(v))
	}
	flags := ""
	if hasOpts {
		o, ok := opts.(string)
		if !ok {
			return nil, failAt(optsAt, "$options takes a string of options (i, m, s, x), not %s", describe(opts))
		}
		var err error
		if flags, pattern, err = regexOptions(o, pattern); err != nil {
			return nil, failAt(optsAt, "%v", err)
		}
	}
	p, err := compilePattern(pattern, flags)
	if err != nil {
		return nil, failAt(at, "%v", err)
	}
	return newField(segs, p), nil
}

// regexOptions reads $options into RE2 flags; x (verbose) is applied to pattern here, as RE2 has
// no such flag.
func regexOptions(o, pattern string) (flags, out string, err error) {
	verbose := false
	for _, c := range o {
		switch c {
		case 'i', 'm', 's':
			if !strings.ContainsRune(flags, c) {
				flags += string(c)
			}
		case 'x':
			verbose = true
		case 'u':
			// Unicode is always on.
		default:
			return "", "", fmt.Errorf("unknown option %q (known: i, m, s, x)", c)
		}
	}
	if verbose {
		pattern = stripVerbose(pattern)
	}
	return flags, pattern, nil
}

// compilePattern compiles a pattern searched in a string, with RE2 flags ("i", "ms", ...). A
// pattern without metacharacters that ignores case is a plain case-insensitive "contains", which
// means the same and is much faster.
func compilePattern(pattern, flags string) (pred, error) {
	if flags == "i" && regexp.QuoteMeta(pattern) == pattern {
		return newContainsFold(pattern), nil
	}
	// The pattern is checked alone, so that a problem is shown in the user's text, without the
	// flags put before it.
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, errors.New(regexpProblem(err, pattern))
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return regexPred{re}, nil
}

// stripVerbose applies Python's re.VERBOSE to a pattern: whitespace is dropped and # starts a
// comment to the end of the line, except in a character class or after a backslash.
func stripVerbose(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// A ] first in the class (after an optional ^) is a literal.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// regexpProblem explains why a pattern does not compile, with a hint when the pattern uses Perl
// syntax that RE2 lacks.
func regexpProblem(err error, pattern string) string {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return err.Error()
	}
	msg := fmt.Sprintf("%s in %q", se.Code, se.Expr)
	switch se.Code {
	case syntax.ErrInvalidPerlOp:
		if se.Expr == "(?P" && strings.Contains(pattern, "(?P=") {
			msg += ": Go's regular expressions (RE2) have no backreferences"
			break
		}
		msg += ": Go's regular expressions (RE2) have no lookahead, lookbehind, atomic groups or conditionals"
	case syntax.ErrInvalidEscape:
		if len(se.Expr) == 2 && se.Expr[1] >= '1' && se.Expr[1] <= '9' {
			msg += ": Go's regular expressions (RE2) have no backreferences"
		}
		if se.Expr == `\Z` {
			msg += `: write \z for the end of the text`
		}
	case syntax.ErrInvalidNamedCapture:
		if strings.HasPrefix(se.Expr, "(?<=") || strings.HasPrefix(se.Expr, "(?<!") {
			msg += ": Go's regular expressions (RE2) have no lookahead, lookbehind, atomic groups or conditionals"
		}
	case syntax.ErrInvalidRepeatOp:
		msg += ": Go's regular expressions (RE2) have no possessive quantifiers (a++)"
	}
	if se.Expr != pattern && !strings.Contains(msg, pattern) {
		msg += fmt.Sprintf(" (the pattern is %q)", pattern)
	}
	return msg
}

// isoDate is the form of the date strings Cloud Exchange turns into dates in a filter.
var isoDate = regexp.MustCompile(`(?i)^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$`)

// ceDate reads s as Cloud Exchange reads date strings in filters: ISO 8601 with a time zone,
// to the second.
func ceDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if !isoDate.MatchString(s) {
		return time.Time{}, false
	}
	s = strings.ToUpper(s)
	for _, layout := range []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Second), true
		}
	}
	return time.Time{}, false
}

// relativeDate reads Cloud Exchange's relative date, {"__RELATIVE__": {"__amount__": -7,
// "__unit__": "day"}}: that many days, hours or minutes from the time of the match.
func relativeDate(o *object, at string) (date, bool, error) {
	if len(o.keys) != 1 || o.keys[0] != "__RELATIVE__" {
		return date{}, false, nil
	}
	at = joinKey(at, "__RELATIVE__")
	r, ok := o.vals[0].(*object)
	if !ok {
		return date{}, false, failAt(at, "takes {\"__amount__\": N, \"__unit__\": \"day\"}, not %s", describe(o.vals[0]))
	}
	var amount int64
	var unit time.Duration
	var haveAmount bool
	for i, k := range r.keys {
		switch v := r.vals[i]; k {
		case "__amount__":
			n, ok := toNumber(v)
			if !ok || n.k == numFloat || n.k == numUint {
				return date{}, false, failAt(joinKey(at, k), "takes a whole number, not %s", describe(v))
			}
			amount, haveAmount = n.i, true
		case "__unit__":
			switch v {
			case "day":
				unit = 24 * time.Hour
			case "hour":
				unit = time.Hour
			case "minute":
				unit = time.Minute
			default:
				return date{}, false, failAt(joinKey(at, k), "takes \"day\", \"hour\" or \"minute\", not %s", describe(v))
			}
		default:
			return date{}, false, failAt(joinKey(at, k), "unknown key (known: __amount__, __unit__)")
		}
	}
	if !haveAmount || unit == 0 {
		return date{}, false, failAt(at, "needs both __amount__ and __unit__")
	}
	if amount > math.MaxInt64/int64(unit) || amount < math.MinInt64/int64(unit) {
		return date{}, false, failAt(at, "the amount is too large")
	}
	return date{rel: time.Duration(amount) * unit, relative: true}, true, nil
}
