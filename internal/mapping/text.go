package mapping

import (
	"iter"
	"math"
	"strconv"
)

// Leaf is one target of an Output with a value, as text formats (CEF, LEEF) need it: the
// dotted target name and the value rendered as text.
type Leaf struct {
	// Name is the target's dotted path ("src", "userIdentity.type").
	Name string
	v    value
	rec  bool
}

// FromRecord reports whether Apply read the value from the record: false for a default_value
// (a fixed text such as a CEF label's) and for a value added with Output.Set.
func (l Leaf) FromRecord() bool { return l.rec }

// Value is the leaf's value as Output.Get returns it (string, int64, uint64, float64, bool,
// nil, or a map or slice).
func (l Leaf) Value() any { return l.v.toAny() }

// AppendText appends the value as text: strings as they are, integers with every digit,
// floats as Python's str() prints them (CE's rendering), booleans as true/false, null as
// "null", objects and lists as compact JSON with sorted keys. No escaping is done: that is the
// caller's format's job.
func (l Leaf) AppendText(dst []byte) []byte {
	switch l.v.k {
	case vString:
		return append(dst, l.v.s...)
	case vInt:
		return strconv.AppendInt(dst, int64(l.v.n), 10)
	case vUint:
		return strconv.AppendUint(dst, l.v.n, 10)
	case vFloat:
		return append(dst, pyFloat(math.Float64frombits(l.v.n))...)
	case vBool:
		return strconv.AppendBool(dst, l.v.n == 1)
	case vAny:
		if s, ok := l.v.a.(string); ok {
			return append(dst, s...)
		}
		return appendAny(dst, l.v.a)
	case vRaw:
		return l.v.appendJSON(dst)
	}
	return append(dst, "null"...)
}

// Leaves yields the Output's targets that have a value, in the order AppendJSON writes them
// (mapping order, then fields added with Set). A target under a dotted path has its full path
// as Name; top-level targets (every CEF and LEEF key) cost no allocation.
func (o *Output) Leaves() iter.Seq[Leaf] {
	return func(yield func(Leaf) bool) {
		if len(o.nodes) == 0 {
			return
		}
		o.leaves(0, yield)
	}
}

func (o *Output) leaves(i int32, yield func(Leaf) bool) bool {
	for c := o.nodes[i].first; c >= 0; c = o.nodes[c].next {
		n := &o.nodes[c]
		if !n.live {
			continue
		}
		if n.obj {
			if !o.leaves(c, yield) {
				return false
			}
			continue
		}
		name := n.name
		if n.parent > 0 {
			name = (&tree{nodes: o.nodes}).path(c)
		}
		if !yield(Leaf{Name: name, v: n.val, rec: n.rec}) {
			return false
		}
	}
	return true
}
