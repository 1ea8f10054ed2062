package filterpattern

import (
	"encoding/json"
	"strconv"
	"strings"
)

// node is a JSON-pattern expression.
type node interface {
	eval(msg string) bool
}

type andNode []node

func (n andNode) eval(msg string) bool {
	for _, c := range n {
		if !c.eval(msg) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) eval(msg string) bool {
	for _, c := range n {
		if c.eval(msg) {
			return true
		}
	}
	return false
}

// seg is one step of a selector: a property name, or an array index when name is "".
type seg struct {
	name  string
	index int
}

type test uint8

const (
	testCompare test = iota
	testIsNull
	testNotExists
	testIsTrue
	testIsFalse
)

type condNode struct {
	path []seg
	test test
	op   op
	val  value
}

func (c *condNode) eval(msg string) bool {
	kind, raw, res := lookup(msg, c.path)
	switch res {
	case lookBad:
		return false
	case lookMissing:
		return c.test == testNotExists
	}
	switch c.test {
	case testNotExists:
		return false
	case testIsNull:
		return kind == 'n' && raw == "null"
	case testIsTrue:
		return kind == 'b' && raw == "true"
	case testIsFalse:
		return kind == 'b' && raw == "false"
	}
	// A comparison needs a value node: objects and arrays never match, whatever the operator.
	if kind == '{' || kind == '[' {
		return false
	}
	if c.op != opEq && c.op != opNe {
		if kind != '0' {
			return false
		}
		f, err := strconv.ParseFloat(raw, 64)
		return err == nil && compareNum(c.op, f, c.val.num)
	}
	var eq bool
	switch {
	case kind == '0' && c.val.isNum:
		f, err := strconv.ParseFloat(raw, 64)
		eq = err == nil && f == c.val.num
	case kind == '"':
		eq = c.val.equalText(unquoteJSON(raw))
	default: // number compared with text, true, false, null: compare the literal text
		eq = c.val.equalText(raw)
	}
	if c.op == opNe {
		return !eq
	}
	return eq
}

// parseJSONPattern parses `{ expr }` that must span the whole pattern.
func (ps *parser) parseJSONPattern() (node, error) {
	ps.i++ // '{'
	n, err := ps.parseOr()
	if err != nil {
		return nil, err
	}
	ps.skipWS()
	if ps.peek() != '}' {
		if ps.eof() {
			return nil, ps.errf(ps.i, "missing closing }")
		}
		return nil, ps.errf(ps.i, "unexpected %q", ps.peek())
	}
	ps.i++
	ps.skipWS()
	if !ps.eof() {
		return nil, ps.errf(ps.i, "unexpected text after closing }")
	}
	return n, nil
}

func (ps *parser) parseOr() (node, error) {
	var ors orNode
	for {
		n, err := ps.parseAnd()
		if err != nil {
			return nil, err
		}
		ors = append(ors, n)
		ps.skipWS()
		if !ps.hasPrefix("||") {
			break
		}
		ps.i += 2
	}
	if len(ors) == 1 {
		return ors[0], nil
	}
	return ors, nil
}

func (ps *parser) parseAnd() (node, error) {
	var ands andNode
	for {
		n, err := ps.parseUnary()
		if err != nil {
			return nil, err
		}
		ands = append(ands, n)
		ps.skipWS()
		if !ps.hasPrefix("&&") {
			break
		}
		ps.i += 2
	}
	if len(ands) == 1 {
		return ands[0], nil
	}
	return ands, nil
}

func (ps *parser) parseUnary() (node, error) {
	ps.skipWS()
	switch ps.peek() {
	case '(':
		open := ps.i
		ps.i++
		n, err := ps.parseOr()
		if err != nil {
			return nil, err
		}
		ps.skipWS()
		if ps.peek() != ')' {
			return nil, ps.errf(open, "unbalanced parenthesis")
		}
		ps.i++
		return n, nil
	case '$':
		return ps.parseCond()
	case 0:
		return nil, ps.errf(ps.i, "missing condition")
	}
	return nil, ps.errf(ps.i, "expected a selector starting with $ or a parenthesis, found %q", ps.peek())
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (ps *parser) parseSelector() ([]seg, error) {
	start := ps.i
	ps.i++ // '$'
	var path []seg
	for ps.i < len(ps.s) {
		switch ps.s[ps.i] {
		case '.':
			ps.i++
			ns := ps.i
			for ps.i < len(ps.s) && isIdentByte(ps.s[ps.i]) {
				ps.i++
			}
			if ps.i == ns {
				return nil, ps.errf(ns, "missing property name after '.'")
			}
			path = append(path, seg{name: ps.s[ns:ps.i]})
			continue
		case '[':
			if len(path) == 0 {
				return nil, ps.errf(ps.i, "an array index must follow a property")
			}
			ps.i++
			ns := ps.i
			for ps.i < len(ps.s) && ps.s[ps.i] >= '0' && ps.s[ps.i] <= '9' {
				ps.i++
			}
			if ps.i == ns || ps.peek() != ']' {
				return nil, ps.errf(ns, "array index must be a number in brackets")
			}
			idx, err := strconv.Atoi(ps.s[ns:ps.i])
			if err != nil {
				return nil, ps.errf(ns, "bad array index")
			}
			ps.i++
			path = append(path, seg{index: idx})
			continue
		}
		break
	}
	if len(path) == 0 {
		return nil, ps.errf(start, "selector must name a property, as in $.eventName")
	}
	if ps.i < len(ps.s) && !isSpace(ps.s[ps.i]) && strings.IndexByte("=!<>)}&|", ps.s[ps.i]) < 0 {
		return nil, ps.errf(ps.i, "unexpected %q in selector", ps.s[ps.i])
	}
	return path, nil
}

// keyword consumes an upper- or lower-case keyword followed by a delimiter.
func (ps *parser) keyword(kw string) bool {
	if len(ps.s)-ps.i < len(kw) || !strings.EqualFold(ps.s[ps.i:ps.i+len(kw)], kw) {
		return false
	}
	end := ps.i + len(kw)
	if end < len(ps.s) && isIdentByte(ps.s[end]) {
		return false
	}
	ps.i = end
	return true
}

func (ps *parser) parseCond() (node, error) {
	path, err := ps.parseSelector()
	if err != nil {
		return nil, err
	}
	c := &condNode{path: path}
	ps.skipWS()
	at := ps.i
	switch {
	case ps.keyword("IS"):
		ps.skipWS()
		switch {
		case ps.keyword("NULL"):
			c.test = testIsNull
		case ps.keyword("TRUE"):
			c.test = testIsTrue
		case ps.keyword("FALSE"):
			c.test = testIsFalse
		default:
			return nil, ps.errf(ps.i, "IS must be followed by NULL, TRUE or FALSE")
		}
		return c, nil
	case ps.keyword("NOT"):
		ps.skipWS()
		if !ps.keyword("EXISTS") {
			return nil, ps.errf(ps.i, "NOT must be followed by EXISTS")
		}
		c.test = testNotExists
		return c, nil
	}
	o, ok := ps.parseOp()
	if !ok {
		if ps.eof() {
			return nil, ps.errf(at, "missing operator after selector")
		}
		return nil, ps.errf(at, "expected an operator (=, !=, <, <=, >, >=), IS or NOT EXISTS")
	}
	c.op = o
	c.val, err = ps.parseValue(o, ")}")
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ---------------------------------------------------------------------------------------------
// a small JSON scanner: finds the value at a path without decoding the document

type lookResult uint8

const (
	lookFound lookResult = iota
	lookMissing
	lookBad // not JSON, or malformed where we looked
)

// lookup returns the kind of the value at path ('"' string, '0' number, 'b' boolean,
// 'n' null, '{' object, '[' array) and its raw text (strings keep their quotes).
func lookup(msg string, path []seg) (kind byte, raw string, res lookResult) {
	i := skipWS(msg, 0)
	for _, sg := range path {
		if i >= len(msg) {
			return 0, "", lookBad
		}
		if sg.name != "" {
			if msg[i] != '{' {
				if validStart(msg[i]) {
					return 0, "", lookMissing
				}
				return 0, "", lookBad
			}
			i = skipWS(msg, i+1)
			found := false
			if i < len(msg) && msg[i] == '}' {
				return 0, "", lookMissing
			}
			for i < len(msg) {
				if msg[i] != '"' {
					return 0, "", lookBad
				}
				kend, ok := skipString(msg, i)
				if !ok {
					return 0, "", lookBad
				}
				key := msg[i+1 : kend-1]
				if strings.IndexByte(key, '\\') >= 0 {
					key = unquoteJSON(msg[i:kend])
				}
				i = skipWS(msg, kend)
				if i >= len(msg) || msg[i] != ':' {
					return 0, "", lookBad
				}
				i = skipWS(msg, i+1)
				if key == sg.name {
					found = true
					break
				}
				vend, ok := skipValue(msg, i)
				if !ok {
					return 0, "", lookBad
				}
				i = skipWS(msg, vend)
				if i < len(msg) && msg[i] == ',' {
					i = skipWS(msg, i+1)
					continue
				}
				if i < len(msg) && msg[i] == '}' {
					return 0, "", lookMissing
				}
				return 0, "", lookBad
			}
			if !found {
				return 0, "", lookBad
			}
			continue
		}
		if msg[i] != '[' {
			if validStart(msg[i]) {
				return 0, "", lookMissing
			}
			return 0, "", lookBad
		}
		i = skipWS(msg, i+1)
		if i < len(msg) && msg[i] == ']' {
			return 0, "", lookMissing
		}
		for n := 0; ; n++ {
			if n == sg.index {
				break
			}
			vend, ok := skipValue(msg, i)
			if !ok {
				return 0, "", lookBad
			}
			i = skipWS(msg, vend)
			if i < len(msg) && msg[i] == ',' {
				i = skipWS(msg, i+1)
				continue
			}
			if i < len(msg) && msg[i] == ']' {
				return 0, "", lookMissing
			}
			return 0, "", lookBad
		}
	}
	if i >= len(msg) {
		return 0, "", lookBad
	}
	end, ok := skipValue(msg, i)
	if !ok {
		return 0, "", lookBad
	}
	raw = msg[i:end]
	switch c := msg[i]; {
	case c == '"':
		kind = '"'
	case c == '{' || c == '[':
		kind = c
	case c == 't' || c == 'f':
		kind = 'b'
	case c == 'n':
		kind = 'n'
	default:
		kind = '0'
	}
	return kind, raw, lookFound
}

func validStart(c byte) bool {
	return c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' || c == 'n' || c == '-' || c >= '0' && c <= '9'
}

func skipWS(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// skipString returns the index after the closing quote of the string starting at s[i] == '"'.
func skipString(s string, i int) (int, bool) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// skipValue returns the index after the JSON value starting at s[i].
func skipValue(s string, i int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch c := s[i]; {
	case c == '"':
		return skipString(s, i)
	case c == '{' || c == '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				end, ok := skipString(s, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	case c == 't':
		if strings.HasPrefix(s[i:], "true") {
			return i + 4, true
		}
	case c == 'f':
		if strings.HasPrefix(s[i:], "false") {
			return i + 5, true
		}
	case c == 'n':
		if strings.HasPrefix(s[i:], "null") {
			return i + 4, true
		}
	case c == '-' || c >= '0' && c <= '9':
		j := i + 1
		for j < len(s) && strings.IndexByte("0123456789.eE+-", s[j]) >= 0 {
			j++
		}
		return j, true
	}
	return 0, false
}

// unquoteJSON returns the content of a JSON string literal (with its quotes).
func unquoteJSON(raw string) string {
	inner := raw[1 : len(raw)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner
	}
	var out string
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return inner
	}
	return out
}
