package mapping

import (
	"errors"
	"strings"
)

// ErrRecord marks the errors of Apply: this record cannot be mapped (a required field is
// missing or unusable). Other records of the same subtype may well be fine.
var ErrRecord = errors.New("record cannot be mapped")

// entry is one compiled target of a header or extension.
type entry struct {
	target string
	node   int32 // place in the output tree (extension entries)
	field  string
	nested []string  // a dotted mapping_field: looked up as a key first, then as nested keys
	path   *jsonPath // is_json_path
	def    string
	defVal value // def after the transformation, converted once at load
	hasDef bool
	conv   converter
}

// compiled is one subtype's mapping, shared by the Mapping values of Set copies.
type compiled struct {
	kindPath string // "taxonomy.alerts.dlp", for messages
	header   []entry
	ext      []entry
	tmpl     tree

	// definesDetails: the mapping fills userIdentity.details itself (CloudTrail rules).
	definesDetails bool
}

func (c *compiled) finish() {
	for i := range c.ext {
		if t := c.ext[i].target; t == "userIdentity.details" || strings.HasPrefix(t, "userIdentity.details.") {
			c.definesDetails = true
		}
	}
}

func (c *compiled) entryFor(target string) *entry {
	for i := range c.ext {
		if c.ext[i].target == target {
			return &c.ext[i]
		}
	}
	return nil
}

type lookupState uint8

const (
	absent lookupState = iota
	empty
	found
)

// lookup reads the entry's field from the record.
func (e *entry) lookup(rec map[string]any) (any, lookupState) {
	if e.field == "" {
		return nil, absent
	}
	if e.path != nil {
		if e.path.simple {
			v, ok := e.path.get(rec)
			if !ok {
				return nil, absent
			}
			return v, stateOf(v)
		}
		var first any
		var parts []string
		n := 0
		e.path.all(rec, func(v any) {
			if n == 0 {
				first = v
			} else {
				if n == 1 {
					parts = append(parts, toString(first))
				}
				parts = append(parts, toString(v))
			}
			n++
		})
		switch n {
		case 0:
			return nil, absent
		case 1:
			return first, stateOf(first)
		}
		return strings.Join(parts, ","), found
	}
	v, ok := rec[e.field]
	if !ok && e.nested != nil {
		// Newer CE plugins (syslog 4.x) read "host_info.os" as a nested key when there is no
		// key of that name.
		var cur any = rec
		for _, part := range e.nested {
			m, isMap := cur.(map[string]any)
			if !isMap {
				return nil, absent
			}
			if cur, ok = m[part]; !ok {
				return nil, absent
			}
		}
		v = cur
	}
	if !ok {
		return nil, absent
	}
	return v, stateOf(v)
}

// stateOf: null, "" and empty lists and objects are empty (CE maps them to "null"; here they
// take the default_value, or leave the target out).
func stateOf(v any) lookupState {
	switch t := v.(type) {
	case nil:
		return empty
	case string:
		if t == "" {
			return empty
		}
	case []any:
		if len(t) == 0 {
			return empty
		}
	case map[string]any:
		if len(t) == 0 {
			return empty
		}
	}
	return found
}

// outputSlack is room for the fields a destination adds (eventSource, recipientAccountId,
// additionalEventData, userIdentity.details) without growing the node slice.
const outputSlack = 6

// Apply maps one record (as event.Record.Fields returns it) to the target fields. For each
// target, in mapping order:
//
//   - the value of mapping_field is taken from the record: a top-level key, else, for a dotted
//     name, nested keys; with is_json_path, a JSON path (several matches joined with ",");
//   - when the record lacks the field, or holds null, "" or an empty list or object, the
//     default_value is used; with no default_value the target is left out;
//   - the transformation converts the value; when that fails the default_value is used if there
//     is one, else the target is left out; either way the failure is listed in Output.Dropped.
//
// For a CloudTrail Lake mapping the plugin's rules then run (see cloudtrail.go); they return an
// error wrapping ErrRecord when the record cannot make a valid eventData.
func (m *Mapping) Apply(rec map[string]any) (Output, error) {
	c := m.c
	out := Output{nodes: make([]node, 0, len(c.tmpl.nodes)+outputSlack)}
	if n := len(c.ext) + len(c.header); n > 0 {
		out.Used = make([]string, 0, n+1)
	}
	err := m.ApplyTo(&out, rec)
	return out, err
}

// ApplyTo is Apply into an Output the caller reuses from record to record: whatever out held
// is replaced, and its slices are used again, so a hot path allocates nothing for them.
func (m *Mapping) ApplyTo(out *Output, rec map[string]any) error {
	c := m.c
	clear(out.nodes) // the previous record's values: not kept alive by the spare capacity
	out.nodes = append(out.nodes[:0], c.tmpl.nodes...)
	clear(out.Header)
	out.Used, out.Header, out.Dropped = out.Used[:0], out.Header[:0], nil
	for i := range c.header {
		e := &c.header[i]
		v, _, ok := m.resolve(out, e, rec)
		if !ok {
			continue
		}
		if s, isStr := v.toAny().(string); isStr {
			if sub, found := m.vars[strings.ToLower(s)]; found {
				v = strValue(sub)
			}
		}
		out.Header = append(out.Header, Field{Name: e.target, Value: v.toAny()})
	}
	for i := range c.ext {
		e := &c.ext[i]
		if v, fromRecord, ok := m.resolve(out, e, rec); ok {
			out.setLeaf(e.node, v)
			out.nodes[e.node].rec = fromRecord
		}
	}
	if m.ctRules {
		return m.cloudTrail(out, rec)
	}
	return nil
}

// resolve finds and converts one entry's value; fromRecord is false when it is the
// default_value.
func (m *Mapping) resolve(out *Output, e *entry, rec map[string]any) (v value, fromRecord, ok bool) {
	raw, state := e.lookup(rec)
	if state == found {
		v, err := e.conv.convert(raw)
		if err == nil {
			out.addUsed(e.field)
			return v, true, true
		}
		out.Dropped = append(out.Dropped, Dropped{Target: e.target, Field: e.field, Reason: e.conv.name + ": " + err.Error()})
	} else if state == empty {
		out.addUsed(e.field)
	}
	if !e.hasDef {
		return value{}, false, false
	}
	return e.defVal, false, true
}
