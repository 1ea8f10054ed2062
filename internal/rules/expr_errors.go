package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr/file"
)

// MatchError is an expression that failed on a record's values: which rule, where in the
// expression, and what, in the configuration's terms (an object, a string, a number) rather
// than Go's.
type MatchError struct {
	Rule string
	Msg  string // what went wrong, with the field and the value types
	Err  error  // expr's own error
}

func (e *MatchError) Error() string { return fmt.Sprintf("rule %s: %s", e.Rule, e.Msg) }

func (e *MatchError) Unwrap() error { return e.Err }

var (
	// expr's error when an object (a map with string keys) is indexed with another type.
	mapIndexRe = regexp.MustCompile(`reflect\.Value\.MapIndex: value of type (\S+) is not assignable to type string`)
	// Go type names in expr's messages.
	goTypeRe = regexp.MustCompile(`\bmap\[string\]interface \{\}|\bmap\[string\]any|\[\]interface \{\}|\[\]any|\b(?:u?int(?:8|16|32|64)?|float(?:32|64)|string|bool)\b|<nil>`)
)

// matchError explains expr's runtime error err on the rule's source.
func matchError(rule, source string, err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &MatchError{Rule: rule, Msg: goTypeRe.ReplaceAllStringFunc(err.Error(), typeName), Err: err}
	}
	msg := goTypeRe.ReplaceAllStringFunc(fe.Message, typeName)
	if m := mapIndexRe.FindStringSubmatch(fe.Message); m != nil {
		field := operandBefore(source, fe.Line, fe.Column)
		msg = fmt.Sprintf("%s is an object, whose keys are strings, and it is indexed with %s (write %s[\"key\"])", field, typeName(m[1]), field)
	}
	return &MatchError{Rule: rule, Msg: fmt.Sprintf("%s, at line %d, column %d of %q", msg, fe.Line, fe.Column+1, lineOf(source, fe.Line)), Err: err}
}

// typeName names a Go type as the configuration's values are named.
func typeName(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case goType == "<nil>":
		return "null"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	}
	return "a number"
}

func lineOf(source string, line int) string {
	lines := strings.Split(source, "\n")
	if line < 1 || line > len(lines) {
		return source
	}
	return lines[line-1]
}

// operandBefore is the field path (user, user.name, $env) that ends just before column col (from
// 0) of line: what an index at col applies to.
func operandBefore(source string, line, col int) string {
	l := lineOf(source, line)
	if col > len(l) {
		col = len(l)
	}
	start := col
	for start > 0 {
		c := l[start-1]
		if c == '.' || c == '_' || c == '$' || c == '?' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			start--
			continue
		}
		break
	}
	if start == col {
		return "the value"
	}
	return l[start:col]
}
