// Package rules compiles business rules once, at load, and matches records against them.
package rules

import (
	"errors"
	"fmt"
	"sort"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/logshipper/logshipper/internal/event"
)

// All is the built-in rule that matches every record. It cannot be redefined or removed.
const All = "All"

// Rule is a compiled business rule: an expr-lang expression (CompileExpr) or a Mongo-style
// filter (CompileMongo).
type Rule struct {
	name    string
	source  string
	program *vm.Program // an expression; nil for All and for filters
	filter  node        // a filter; nil for All and for expressions
}

// Name is the rule's name.
func (r *Rule) Name() string { return r.name }

// MatchesAll reports whether the rule matches every record without looking at it.
func (r *Rule) MatchesAll() bool { return r.program == nil && r.filter == nil }

// Match evaluates the rule against rec. A record whose fields cannot be decoded, or whose
// evaluation fails (a type mismatch on this record's values), does not match; the error says why.
// A filter never fails on a record it can decode: a value of the wrong type does not match.
func (r *Rule) Match(rec *event.Record) (bool, error) {
	if r.program == nil && r.filter == nil {
		return true, nil
	}
	fields, err := rec.Fields()
	if err != nil {
		return false, err
	}
	return r.MatchFields(fields, rec.HasUint64())
}

// uint64sAsFloats returns a copy of v with every uint64 as a float64 (the record's own fields
// are shared and must not change), for the rare record that holds one (event.Record decodes
// integers above the int64 range as uint64, which expr compares as if they were negative).
// Order comparisons are then right; equality to such a number is approximate in expr
// (Mongo-style filters compare it exactly).
func uint64sAsFloats(v any) any {
	switch t := v.(type) {
	case uint64:
		return float64(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = uint64sAsFloats(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = uint64sAsFloats(e)
		}
		return out
	}
	return v
}

// shadowedBuiltins are expr functions whose names are also Netskope record fields (from
// Netskope's field dictionary): in a rule, `type`, `count` and `date` mean the record's fields.
var shadowedBuiltins = []string{"count", "date", "type"}

// CompileExpr compiles an expr-lang expression over a record's top-level fields. Fields a
// record lacks are nil, so `severity == "high"` is simply false for a record without one; keys
// that are not identifiers are reached with $env["key-name"].
func CompileExpr(name, source string) (*Rule, error) {
	if source == "" {
		return nil, errors.New("expression is empty")
	}
	opts := []expr.Option{expr.Env(map[string]any{}), expr.AllowUndefinedVariables(), expr.AsBool()}
	for _, name := range shadowedBuiltins {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	p, err := expr.Compile(source, opts...)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%s at line %d, column %d", fe.Message, fe.Line, fe.Column+1)
		}
		return nil, err
	}
	return &Rule{name: name, source: source, program: p}, nil
}

// Set holds the compiled rules of a configuration by name, with All always present.
type Set struct {
	rules map[string]*Rule
}

// NewSet returns a set holding All and the given rules.
func NewSet(rs ...*Rule) (*Set, error) {
	s := &Set{rules: map[string]*Rule{All: {name: All}}}
	for _, r := range rs {
		if _, dup := s.rules[r.name]; dup {
			return nil, fmt.Errorf("rule %q defined twice", r.name)
		}
		s.rules[r.name] = r
	}
	return s, nil
}

// Get returns the rule of that name.
func (s *Set) Get(name string) (*Rule, bool) {
	r, ok := s.rules[name]
	return r, ok
}

// Names lists the rules, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.rules))
	for n := range s.rules {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Needs lists the top-level fields the rule reads, so that a record need not be decoded whole
// to be judged; all is true when the rule may read any field (an expression that uses $env) or
// needs none (All).
func (r *Rule) Needs() (fields []string, all bool) {
	switch {
	case r.filter != nil:
		seen := map[string]bool{}
		if !filterNeeds(r.filter, seen) {
			return nil, true
		}
		return sortedKeys(seen), false
	case r.program != nil:
		seen := map[string]bool{}
		everything := false
		ast.Find(r.program.Node(), func(n ast.Node) bool {
			if id, ok := n.(*ast.IdentifierNode); ok {
				if id.Value == "$env" {
					everything = true
				}
				seen[id.Value] = true
			}
			return false
		})
		if everything {
			return nil, true
		}
		return sortedKeys(seen), false
	}
	return nil, true
}

// filterNeeds adds the top-level keys a filter reads; false if it cannot tell.
func filterNeeds(n node, seen map[string]bool) bool {
	switch t := n.(type) {
	case andNode:
		for _, c := range t {
			if !filterNeeds(c, seen) {
				return false
			}
		}
		return true
	case orNode:
		for _, c := range t {
			if !filterNeeds(c, seen) {
				return false
			}
		}
		return true
	case notNode:
		return filterNeeds(t.n, seen)
	case *fieldNode:
		// The first part of the path, or the whole path when a record's key holds dots.
		seen[t.segs[0]] = true
		seen[t.rest[0]] = true
		return true
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// MatchFields is Match on fields already decoded (all the rule Needs, at least); hasUint64
// says whether they hold an integer above the int64 range.
func (r *Rule) MatchFields(fields map[string]any, hasUint64 bool) (bool, error) {
	if r.program == nil && r.filter == nil {
		return true, nil
	}
	if r.filter != nil {
		return r.filter.eval(fields), nil
	}
	if hasUint64 {
		fields = uint64sAsFloats(fields).(map[string]any)
	}
	out, err := expr.Run(r.program, fields)
	if err != nil {
		return false, matchError(r.name, r.source, err)
	}
	b, _ := out.(bool)
	return b, nil
}
