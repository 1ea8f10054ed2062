package mapping

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/logshipper/logshipper/internal/jsonx"
)

// Output is the result of applying a mapping to one record: an ordered tree of target fields.
// Dotted targets ("userIdentity.principalId") are nested objects; fields keep the mapping's
// order, and fields added with Set come after them. The zero Output is an empty object. Like a
// slice, an Output must not be copied and then changed through both copies: use Clone.
type Output struct {
	nodes []node

	// Used lists the record fields the mapping read and took a value from, as written in the
	// mapping (a top-level name, a dotted path, or a JSON path), without repeats. A field whose
	// value failed its transformation is not listed, so it is not lost from additional data.
	// The CloudTrail rules add "_id" (CE never puts it in additionalEventData).
	Used []string

	// Header holds the CEF-style header fields (empty for CloudTrail Lake mappings).
	Header []Field

	// Dropped lists the targets left out because the record's value failed the target's
	// transformation (CE logs and skips such a field too). Nil when none were.
	Dropped []Dropped
}

// Field is one header field.
type Field struct {
	Name  string
	Value any
}

// Dropped is a target left out of an Output, and why.
type Dropped struct {
	Target string // the target field ("sourceIPAddress")
	Field  string // the record field it came from
	Reason string
}

func (d Dropped) String() string {
	return fmt.Sprintf("%s (from %q): %s", d.Target, d.Field, d.Reason)
}

// Reset empties the Output and lets go of the values it held (which may share the bytes of the
// record it was made from), keeping its room for the next ApplyTo: for a caller that pools
// Outputs, so that a pooled Output does not keep a record, or the page it shares bytes with,
// alive.
func (o *Output) Reset() {
	clear(o.nodes)
	clear(o.Header)
	o.nodes, o.Used, o.Header, o.Dropped = o.nodes[:0], o.Used[:0], o.Header[:0], nil
}

// Clone returns a copy of the Output that can be changed without affecting o. (An Output holds
// slices: two plain copies share spare capacity, and Set on both would collide.)
func (o *Output) Clone() Output {
	return Output{
		nodes:   append([]node(nil), o.nodes...),
		Used:    append([]string(nil), o.Used...),
		Header:  append([]Field(nil), o.Header...),
		Dropped: append([]Dropped(nil), o.Dropped...),
	}
}

// node is one place in an Output. Index 0 is the root object.
type node struct {
	name   string
	parent int32
	first  int32 // first child, -1 when none
	last   int32 // last child, -1 when none
	next   int32 // next sibling, -1 when none
	obj    bool
	live   bool // a leaf that has a value, or an object with a live descendant
	rec    bool // a leaf whose value Apply read from the record (not a default_value, not Set)
	val    value
}

// tree is the layout of a mapping's output, built once at load and copied per record.
type tree struct{ nodes []node }

func newTree() tree {
	return tree{nodes: []node{{parent: -1, first: -1, last: -1, next: -1, obj: true}}}
}

func (t *tree) child(parent int32, name string) int32 {
	for c := t.nodes[parent].first; c >= 0; c = t.nodes[c].next {
		if t.nodes[c].name == name {
			return c
		}
	}
	return -1
}

func (t *tree) add(parent int32, name string, obj bool) int32 {
	idx := int32(len(t.nodes))
	t.nodes = append(t.nodes, node{name: name, parent: parent, first: -1, last: -1, next: -1, obj: obj})
	p := &t.nodes[parent]
	if p.last >= 0 {
		t.nodes[p.last].next = idx
	} else {
		p.first = idx
	}
	p.last = idx
	return idx
}

// insertLeaf places a dotted target, creating the objects on its way. A target that is both a
// value and an object ("a" and "a.b") is refused.
func (t *tree) insertLeaf(target string) (int32, error) {
	cur := int32(0)
	rest := target
	for {
		seg, tail, more := strings.Cut(rest, ".")
		if seg == "" {
			return -1, fmt.Errorf("target %q has an empty part", target)
		}
		c := t.child(cur, seg)
		if !more {
			if c >= 0 {
				if t.nodes[c].obj {
					return -1, fmt.Errorf("target %q is also an object holding other targets (%s.*)", target, target)
				}
				return -1, fmt.Errorf("target %q appears twice", target)
			}
			return t.add(cur, seg, false), nil
		}
		if c < 0 {
			c = t.add(cur, seg, true)
		} else if !t.nodes[c].obj {
			return -1, fmt.Errorf("target %q needs %q to be an object, but it is a target of its own", target, t.path(c))
		}
		cur, rest = c, tail
	}
}

func (t *tree) path(i int32) string {
	var parts []string
	for ; i > 0; i = t.nodes[i].parent {
		parts = append(parts, t.nodes[i].name)
	}
	for a, b := 0, len(parts)-1; a < b; a, b = a+1, b-1 {
		parts[a], parts[b] = parts[b], parts[a]
	}
	return strings.Join(parts, ".")
}

func (o *Output) ensureRoot() {
	if len(o.nodes) == 0 {
		o.nodes = newTree().nodes
	}
}

// find returns the node at a dotted path, -1 when there is none.
func (o *Output) find(path string) int32 {
	if len(o.nodes) == 0 {
		return -1
	}
	t := tree{nodes: o.nodes}
	cur := int32(0)
	rest := path
	for {
		seg, tail, more := strings.Cut(rest, ".")
		c := t.child(cur, seg)
		if c < 0 {
			return -1
		}
		if !more {
			return c
		}
		if !o.nodes[c].obj {
			return -1
		}
		cur, rest = c, tail
	}
}

func (o *Output) setLeaf(i int32, v value) {
	n := &o.nodes[i]
	n.val = v
	n.live = true
	n.rec = false
	for p := n.parent; p >= 0 && !o.nodes[p].live; p = o.nodes[p].parent {
		o.nodes[p].live = true
	}
}

// Has reports whether a target (a dotted path to a value or an object) is present.
func (o *Output) Has(path string) bool {
	i := o.find(path)
	return i >= 0 && o.nodes[i].live
}

// Get returns the value at a dotted path: a string, int64, uint64, float64, bool, nil, the
// record's own value (map[string]any, []any) for JSON objects, or a map[string]any for an
// object of targets.
func (o *Output) Get(path string) (any, bool) {
	i := o.find(path)
	if i < 0 || !o.nodes[i].live {
		return nil, false
	}
	return o.anyAt(i), true
}

func (o *Output) anyAt(i int32) any {
	n := &o.nodes[i]
	if !n.obj {
		return n.val.toAny()
	}
	m := map[string]any{}
	for c := n.first; c >= 0; c = o.nodes[c].next {
		if o.nodes[c].live {
			m[o.nodes[c].name] = o.anyAt(c)
		}
	}
	return m
}

// Set puts a value at a dotted path, creating objects on the way, replacing a value already
// there. v may be a string, any integer or float type, bool, nil, json.RawMessage (inserted as
// is; it must be valid JSON), or maps and slices of those (encoded with sorted keys); other types
// are encoded with encoding/json. Setting a value where an object of targets is, or under a
// value, is an error.
func (o *Output) Set(path string, v any) error {
	val, err := valueOf(v)
	if err != nil {
		return fmt.Errorf("mapping: set %s: %w", path, err)
	}
	i, err := o.leafFor(path)
	if err != nil {
		return err
	}
	o.setLeaf(i, val)
	return nil
}

// SetTrustedJSON is Set for JSON the caller built and knows to be valid (compact, valid
// UTF-8): it is inserted as it is, without checking it again.
func (o *Output) SetTrustedJSON(path string, raw []byte) error {
	i, err := o.leafFor(path)
	if err != nil {
		return err
	}
	o.setLeaf(i, value{k: vRaw, a: json.RawMessage(raw)})
	return nil
}

func (o *Output) leafFor(path string) (int32, error) {
	o.ensureRoot()
	t := tree{nodes: o.nodes}
	defer func() { o.nodes = t.nodes }()
	cur := int32(0)
	rest := path
	for {
		seg, tail, more := strings.Cut(rest, ".")
		if seg == "" {
			return -1, fmt.Errorf("mapping: set %q: empty part in path", path)
		}
		c := t.child(cur, seg)
		if !more {
			if c < 0 {
				return t.add(cur, seg, false), nil
			}
			if t.nodes[c].obj {
				return -1, fmt.Errorf("mapping: set %q: it holds an object of other fields", path)
			}
			return c, nil
		}
		if c < 0 {
			c = t.add(cur, seg, true)
		} else if !t.nodes[c].obj {
			return -1, fmt.Errorf("mapping: set %q: %q holds a value, not an object", path, t.path(c))
		}
		cur, rest = c, tail
	}
}

// Delete removes the value or object at a dotted path; it reports whether anything was there.
func (o *Output) Delete(path string) bool {
	i := o.find(path)
	if i < 0 || !o.nodes[i].live {
		return false
	}
	o.kill(i)
	for p := o.nodes[i].parent; p >= 0; p = o.nodes[p].parent {
		live := false
		for c := o.nodes[p].first; c >= 0; c = o.nodes[c].next {
			if o.nodes[c].live {
				live = true
				break
			}
		}
		if live || p == 0 {
			break
		}
		o.nodes[p].live = false
	}
	return true
}

func (o *Output) kill(i int32) {
	n := &o.nodes[i]
	n.live = false
	n.val = value{}
	for c := n.first; c >= 0; c = o.nodes[c].next {
		o.kill(c)
	}
}

// Unused returns, sorted, the record's top-level fields that are not in Used: what CE's
// "Add Additional Data" puts in additionalEventData.
func (o *Output) Unused(rec map[string]any) []string {
	var out []string
	for k := range rec {
		if !o.used(k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (o *Output) used(field string) bool {
	for _, u := range o.Used {
		if u == field {
			return true
		}
	}
	return false
}

func (o *Output) addUsed(field string) {
	if !o.used(field) {
		o.Used = append(o.Used, field)
	}
}

// AppendJSON appends the Output as a JSON object to dst. The encoding is deterministic: targets
// in mapping order, then fields added with Set; maps inside values with sorted keys. Integers
// keep every digit.
func (o *Output) AppendJSON(dst []byte) []byte {
	if len(o.nodes) == 0 {
		return append(dst, '{', '}')
	}
	return o.appendObject(dst, 0)
}

func (o *Output) appendObject(dst []byte, i int32) []byte {
	dst = append(dst, '{')
	first := true
	for c := o.nodes[i].first; c >= 0; c = o.nodes[c].next {
		n := &o.nodes[c]
		if !n.live {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsonx.AppendString(dst, n.name)
		dst = append(dst, ':')
		if n.obj {
			dst = o.appendObject(dst, c)
		} else {
			dst = n.val.appendJSON(dst)
		}
	}
	return append(dst, '}')
}

// MarshalJSON encodes the Output as AppendJSON does.
func (o Output) MarshalJSON() ([]byte, error) { return o.AppendJSON(nil), nil }

// String is the Output's JSON.
func (o Output) String() string { return string(o.AppendJSON(nil)) }

var _ json.Marshaler = Output{}

// Uses reports whether the mapping read the record's top-level field (what Unused leaves out).
func (o *Output) Uses(field string) bool { return o.used(field) }
