package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// CE reads a mapping_field marked is_json_path with Python's jsonpath package: the leading "$"
// is optional, ".name" and "['name']" select a key, "[n]" (or ".n" on a list) an element, "*" every
// key or element, ".." descends. Several matches are joined with "," after str() on each, one
// match is the value itself. Filters "[?(...)]", script expressions "[(...)]" and slices are not
// supported here; a mapping that uses them is refused at load.

type stepKind uint8

const (
	stepName stepKind = iota
	stepIndex
	stepWild
	stepDescend // ".." followed by a name or "*"
)

type step struct {
	kind  stepKind
	name  string // stepName, stepDescend (empty with wild)
	index int    // stepIndex
	wild  bool   // stepDescend: "..*"
}

type jsonPath struct {
	text   string
	steps  []step
	simple bool // names and indexes only: at most one match
}

func compileJSONPath(expr string) (*jsonPath, error) {
	p := &jsonPath{text: expr}
	s := strings.TrimSpace(expr)
	if s == "" {
		return nil, errors.New("empty JSON path")
	}
	if strings.HasPrefix(s, "$") {
		s = s[1:]
	} else if s[0] != '.' && s[0] != '[' {
		s = "." + s
	}
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, ".."):
			s = s[2:]
			if strings.HasPrefix(s, "*") {
				p.steps = append(p.steps, step{kind: stepDescend, wild: true})
				s = s[1:]
				continue
			}
			if strings.HasPrefix(s, "[") {
				name, rest, err := bracketName(s)
				if err != nil {
					return nil, err
				}
				p.steps = append(p.steps, step{kind: stepDescend, name: name})
				s = rest
				continue
			}
			name, rest := dotName(s)
			if name == "" {
				return nil, errors.New(`".." must be followed by a name or "*"`)
			}
			p.steps = append(p.steps, step{kind: stepDescend, name: name})
			s = rest
		case s[0] == '.':
			s = s[1:]
			if strings.HasPrefix(s, "*") {
				p.steps = append(p.steps, step{kind: stepWild})
				s = s[1:]
				continue
			}
			name, rest := dotName(s)
			if name == "" {
				return nil, errors.New(`"." must be followed by a name`)
			}
			p.steps = append(p.steps, step{kind: stepName, name: name})
			s = rest
		case s[0] == '[':
			inner, rest, ok := strings.Cut(s[1:], "]")
			if !ok {
				return nil, errors.New(`"[" without "]"`)
			}
			inner = strings.TrimSpace(inner)
			switch {
			case inner == "*":
				p.steps = append(p.steps, step{kind: stepWild})
				s = rest
			case strings.HasPrefix(inner, "?") || strings.HasPrefix(inner, "("):
				return nil, fmt.Errorf("filter and script expressions (%s) are not supported", "["+inner+"]")
			case strings.Contains(inner, ":"):
				return nil, fmt.Errorf("slices (%s) are not supported", "["+inner+"]")
			case strings.HasPrefix(inner, "'") || strings.HasPrefix(inner, `"`):
				name, rest2, err := bracketName(s)
				if err != nil {
					return nil, err
				}
				p.steps = append(p.steps, step{kind: stepName, name: name})
				s = rest2
			default:
				i, err := strconv.Atoi(inner)
				if err != nil {
					return nil, fmt.Errorf("[%s] is neither an index nor a quoted name", inner)
				}
				p.steps = append(p.steps, step{kind: stepIndex, index: i})
				s = rest
			}
		default:
			return nil, fmt.Errorf("unexpected %q", s)
		}
	}
	if len(p.steps) == 0 {
		return nil, errors.New(`the path selects the whole record; name a field ("$.field")`)
	}
	p.simple = true
	for _, st := range p.steps {
		if st.kind == stepWild || st.kind == stepDescend {
			p.simple = false
		}
	}
	return p, nil
}

// dotName reads a name after "." up to the next "." or "[".
func dotName(s string) (string, string) {
	i := strings.IndexAny(s, ".[")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// bracketName reads ['name'] or ["name"]; the quote may not appear inside the name.
func bracketName(s string) (string, string, error) {
	if len(s) < 2 || s[0] != '[' {
		return "", "", errors.New(`expected "['name']"`)
	}
	q := s[1]
	if q != '\'' && q != '"' {
		return "", "", errors.New(`expected "['name']"`)
	}
	end := strings.IndexByte(s[2:], q)
	if end < 0 {
		return "", "", errors.New("unterminated quoted name")
	}
	name := s[2 : 2+end]
	rest := s[2+end+1:]
	if !strings.HasPrefix(rest, "]") {
		return "", "", errors.New(`expected "]" after a quoted name`)
	}
	return name, rest[1:], nil
}

// get returns the single match of a simple path.
func (p *jsonPath) get(rec map[string]any) (any, bool) {
	var cur any = rec
	for _, st := range p.steps {
		switch st.kind {
		case stepName:
			next, ok := child(cur, st.name)
			if !ok {
				return nil, false
			}
			cur = next
		case stepIndex:
			next, ok := index(cur, st.index)
			if !ok {
				return nil, false
			}
			cur = next
		}
	}
	return cur, true
}

// all calls fn for every match, in document order (maps, which keep no order once decoded, in
// key order).
func (p *jsonPath) all(rec map[string]any, fn func(any)) {
	walkSteps(rec, p.steps, fn)
}

func walkSteps(cur any, steps []step, fn func(any)) {
	if len(steps) == 0 {
		fn(cur)
		return
	}
	st, rest := steps[0], steps[1:]
	switch st.kind {
	case stepName:
		if next, ok := child(cur, st.name); ok {
			walkSteps(next, rest, fn)
		}
	case stepIndex:
		if next, ok := index(cur, st.index); ok {
			walkSteps(next, rest, fn)
		}
	case stepWild:
		eachChild(cur, func(v any) { walkSteps(v, rest, fn) })
	case stepDescend:
		// Python's jsonpath: match the name here, then in every descendant.
		var visit func(v any)
		visit = func(v any) {
			if st.wild {
				eachChild(v, func(c any) { walkSteps(c, rest, fn) })
			} else if next, ok := child(v, st.name); ok {
				walkSteps(next, rest, fn)
			}
			eachChild(v, func(c any) {
				switch c.(type) {
				case map[string]any, []any:
					visit(c)
				}
			})
		}
		visit(cur)
	}
}

func child(cur any, name string) (any, bool) {
	switch t := cur.(type) {
	case map[string]any:
		v, ok := t[name]
		return v, ok
	case []any:
		if i, err := strconv.Atoi(name); err == nil {
			return index(t, i)
		}
	}
	return nil, false
}

func index(cur any, i int) (any, bool) {
	l, ok := cur.([]any)
	if !ok {
		return nil, false
	}
	if i < 0 {
		i += len(l)
	}
	if i < 0 || i >= len(l) {
		return nil, false
	}
	return l[i], true
}

func eachChild(cur any, fn func(any)) {
	switch t := cur.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			fn(t[k])
		}
	case []any:
		for _, v := range t {
			fn(v)
		}
	}
}
