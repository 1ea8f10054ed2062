package filterpattern

import (
	"strconv"
	"strings"
)

// spacePattern is `[f1, f2 = v, ..., fn > 3]`: positional fields over a space-delimited
// message, where text between double quotes or square brackets is one field.
type spacePattern struct {
	fields   []spaceField
	names    map[string]int // field name -> position in fields
	ellipsis int            // position of the ellipsis field, -1 when there is none
}

type spaceField struct {
	name     string // "" for an ellipsis
	ellipsis bool
	cond     spaceExpr // nil when the field has no condition
}

// spaceExpr is a condition over named fields: an OR of ANDs of comparisons.
type spaceExpr [][]spaceCmp

type spaceCmp struct {
	field string
	op    op
	val   value
}

func (ps *parser) parseSpacePattern() (*spacePattern, error) {
	open := ps.i
	ps.i++ // '['
	sp := &spacePattern{names: map[string]int{}, ellipsis: -1}
	for {
		ps.skipWS()
		if ps.eof() {
			return nil, ps.errf(open, "missing closing ]")
		}
		if ps.peek() == ']' {
			ps.i++
			break
		}
		if ps.peek() == ',' { // an empty slot, as in a trailing comma
			ps.i++
			continue
		}
		if ps.hasPrefix("...") || ps.hasPrefix("…") {
			if ps.hasPrefix("...") {
				ps.i += 3
			} else {
				ps.i += len("…")
			}
			switch {
			case sp.ellipsis < 0:
				sp.ellipsis = len(sp.fields)
				sp.fields = append(sp.fields, spaceField{ellipsis: true})
			case sp.ellipsis != len(sp.fields)-1:
				return nil, ps.errf(ps.i-3, "only one ellipsis is supported")
			} // "..., ..." is one ellipsis
		} else {
			name, err := ps.spaceName()
			if err != nil {
				return nil, err
			}
			if _, dup := sp.names[name]; dup {
				return nil, ps.errf(ps.i-len(name), "field %q is named twice", name)
			}
			f := spaceField{name: name}
			ps.skipWS()
			if o, ok := ps.parseOp(); ok {
				f.cond, err = ps.parseSpaceCond(name, o)
				if err != nil {
					return nil, err
				}
			}
			sp.names[name] = len(sp.fields)
			sp.fields = append(sp.fields, f)
		}
		ps.skipWS()
		switch ps.peek() {
		case ',':
			ps.i++
		case ']':
		default:
			if ps.eof() {
				return nil, ps.errf(open, "missing closing ]")
			}
			return nil, ps.errf(ps.i, "expected ',' or ']', found %q", ps.peek())
		}
	}
	ps.skipWS()
	if !ps.eof() {
		return nil, ps.errf(ps.i, "unexpected text after closing ]")
	}
	if len(sp.fields) == 0 {
		return nil, ps.errf(open, "a space-delimited pattern needs at least one field")
	}
	for _, f := range sp.fields {
		for _, and := range f.cond {
			for _, c := range and {
				if _, ok := sp.names[c.field]; !ok {
					return nil, ps.errf(open, "condition refers to unknown field %q", c.field)
				}
			}
		}
	}
	return sp, nil
}

func (ps *parser) spaceName() (string, error) {
	start := ps.i
	for ps.i < len(ps.s) && (isIdentByte(ps.s[ps.i]) && ps.s[ps.i] != '-') {
		ps.i++
	}
	if ps.i == start {
		return "", ps.errf(start, "expected a field name, found %q", ps.peek())
	}
	return ps.s[start:ps.i], nil
}

// parseSpaceCond reads `op value { (&& | ||) name op value }` for the field name, whose
// operator o has been read.
func (ps *parser) parseSpaceCond(name string, o op) (spaceExpr, error) {
	var expr spaceExpr
	and := []spaceCmp{}
	for {
		v, err := ps.parseValue(o, ",]")
		if err != nil {
			return nil, err
		}
		and = append(and, spaceCmp{field: name, op: o, val: v})
		ps.skipWS()
		switch {
		case ps.hasPrefix("&&"):
			ps.i += 2
		case ps.hasPrefix("||"):
			ps.i += 2
			expr = append(expr, and)
			and = []spaceCmp{}
		default:
			return append(expr, and), nil
		}
		ps.skipWS()
		name, err = ps.spaceName()
		if err != nil {
			return nil, err
		}
		ps.skipWS()
		var ok bool
		if o, ok = ps.parseOp(); !ok {
			return nil, ps.errf(ps.i, "expected an operator after %q", name)
		}
	}
}

// splitFields splits a message into fields on spaces; "..." and [...] are single fields.
func splitFields(msg string, dst []string) []string {
	i := 0
	for {
		for i < len(msg) && isSpace(msg[i]) {
			i++
		}
		if i >= len(msg) {
			return dst
		}
		var closer byte
		switch msg[i] {
		case '"':
			closer = '"'
		case '[':
			closer = ']'
		}
		if closer != 0 {
			if j := strings.IndexByte(msg[i+1:], closer); j >= 0 {
				dst = append(dst, msg[i+1:i+1+j])
				i += j + 2
				continue
			}
		}
		j := i
		for j < len(msg) && !isSpace(msg[j]) {
			j++
		}
		dst = append(dst, msg[i:j])
		i = j
	}
}

func (sp *spacePattern) match(msg string) bool {
	var buf [32]string
	toks := splitFields(msg, buf[:0])
	var bb [16]string
	bound := bb[:0]
	if len(sp.fields) > len(bb) {
		bound = make([]string, 0, len(sp.fields))
	}
	bound = bound[:len(sp.fields)]
	// Fields before the ellipsis bind from the start, fields after it from the end.
	e := sp.ellipsis
	if e < 0 {
		if len(toks) != len(sp.fields) {
			return false
		}
		copy(bound, toks)
		return sp.conditionsHold(bound)
	}
	after := len(sp.fields) - e - 1
	if len(toks) < e+after {
		return false
	}
	copy(bound[:e], toks[:e])
	copy(bound[e+1:], toks[len(toks)-after:])
	return sp.conditionsHold(bound)
}

func (sp *spacePattern) conditionsHold(bound []string) bool {
	for _, f := range sp.fields {
		if f.cond == nil {
			continue
		}
		ok := false
		for _, and := range f.cond {
			all := true
			for _, c := range and {
				if !c.holds(bound[sp.names[c.field]]) {
					all = false
					break
				}
			}
			if all {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c *spaceCmp) holds(tok string) bool {
	if c.op != opEq && c.op != opNe {
		f, err := strconv.ParseFloat(tok, 64)
		return err == nil && compareNum(c.op, f, c.val.num)
	}
	var eq bool
	if c.val.isNum {
		if f, err := strconv.ParseFloat(tok, 64); err == nil {
			eq = f == c.val.num
		} else {
			eq = tok == c.val.text
		}
	} else {
		eq = c.val.equalText(tok)
	}
	if c.op == opNe {
		return !eq
	}
	return eq
}
