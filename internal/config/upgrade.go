package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Upgrader is implemented by a section of a plugin's options (the options struct itself, or a
// struct inside them) whose keys changed name or shape. Before the keys are checked, the loader
// hands UpgradeYAML the section's node; it returns the node to use instead, written with the
// current keys, and one Deprecation for each old key or shape it rewrote. Each becomes a
// warning of Config.Warnings, which validate and run print. An error is a file whose old and
// new keys contradict each other.
//
// UpgradeYAML is called on a zero value and must not modify n or the nodes below it (an anchor
// merged into several entries shares them): it builds new nodes, for which WithKey and
// WithoutKeys help.
type Upgrader interface {
	UpgradeYAML(n *yaml.Node) (*yaml.Node, []Deprecation, error)
}

// Deprecation is an old key (or shape) met in a file and the keys that replace it, both
// relative to the section ("" is the section itself).
type Deprecation struct {
	Old string
	New []string
	// Note, optional, says how the old value is read.
	Note string
}

// warning renders d for the section at path.
func (d Deprecation) warning(path string) string {
	old := path
	if d.Old != "" {
		old = joinPath(path, d.Old)
	}
	news := make([]string, len(d.New))
	for i, n := range d.New {
		news[i] = dottedKey(path, n)
	}
	msg := fmt.Sprintf("%s: deprecated; write %s instead", old, strings.Join(news, ", "))
	if d.Note != "" {
		msg += " (" + d.Note + ")"
	}
	return msg
}

// dottedKey names key below the section at path the way a reader writes it in the file:
// "proxy.url" for the url of the section "plugins[0] (x): proxy", "proxy.url" for a key of the
// options themselves.
func dottedKey(path, key string) string {
	if i := strings.LastIndex(path, ": "); i >= 0 {
		path = path[i+2:]
	} else if strings.HasSuffix(path, ")") || strings.HasSuffix(path, "]") {
		path = ""
	}
	switch {
	case path == "":
		return key
	case key == "":
		return path
	}
	return path + "." + key
}

var upgraderType = reflect.TypeFor[Upgrader]()

// upgrade applies the Upgraders of type t and of the types below it to n, returning the node to
// decode (n itself when nothing changed). Deprecations become warnings, conflicts errors.
func (l *loader) upgrade(n *yaml.Node, t reflect.Type, path string) *yaml.Node {
	if n == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(upgraderType) {
		u := reflect.New(t).Interface().(Upgrader)
		nn, deps, err := u.UpgradeYAML(n)
		if err != nil {
			l.errs = append(l.errs, &LineError{Line: n.Line, Path: path, Err: err})
			return n
		}
		for _, d := range deps {
			l.warns = append(l.warns, d.warning(path))
		}
		if nn != nil {
			n = nn
		}
	}
	if t == nodeType || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(unmarshalerType) {
		return n
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return n
		}
		fields := yamlFields(t)
		var out *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			ft, ok := fields[n.Content[i].Value]
			if !ok {
				continue
			}
			v := n.Content[i+1]
			if nv := l.upgrade(v, ft, joinPath(path, n.Content[i].Value)); nv != v {
				if out == nil {
					out = shallowCopy(n)
				}
				out.Content[i+1] = nv
			}
		}
		if out != nil {
			return out
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return n
		}
		var out *yaml.Node
		for i, c := range n.Content {
			if nc := l.upgrade(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); nc != c {
				if out == nil {
					out = shallowCopy(n)
				}
				out.Content[i] = nc
			}
		}
		if out != nil {
			return out
		}
	}
	return n
}

// shallowCopy copies n and its Content slice, not the nodes in it.
func shallowCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = append([]*yaml.Node(nil), n.Content...)
	return &c
}

// FindKey returns the value of key in mapping m, or nil.
func FindKey(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// WithoutKeys returns a copy of mapping m without keys.
func WithoutKeys(m *yaml.Node, keys ...string) *yaml.Node {
	out := shallowCopy(m)
	out.Content = out.Content[:0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		drop := false
		for _, k := range keys {
			if m.Content[i].Value == k {
				drop = true
			}
		}
		if !drop {
			out.Content = append(out.Content, m.Content[i], m.Content[i+1])
		}
	}
	return out
}

// WithKey returns a copy of mapping m with key set to v (replaced where m has it, else added).
func WithKey(m *yaml.Node, key string, v *yaml.Node) *yaml.Node {
	out := shallowCopy(m)
	for i := 0; i+1 < len(out.Content); i += 2 {
		if out.Content[i].Value == key {
			out.Content[i+1] = v
			return out
		}
	}
	out.Content = append(out.Content, StringNode(v.Line, key), v)
	return out
}

// StringNode is a string scalar placed at line (so problems with it point there).
func StringNode(line int, s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: line}
}

// MappingNode is an empty block mapping placed at line.
func MappingNode(line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
}
