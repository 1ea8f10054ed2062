package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrNoEntry is the error, wrapped, of an edit naming a plugin entry, rule or mapping the file
// does not have.
var ErrNoEntry = errors.New("no such entry")

// noEntry is an edit's error for an entry the file does not have.
type noEntry string

func (e noEntry) Error() string      { return string(e) }
func (noEntry) Is(target error) bool { return target == ErrNoEntry }

// SetRule is the edit that writes business rule r in place of the rule named name, or adds it
// at the end of business_rules when name is "" or names none. An edited rule keeps its comments
// and the style of the values that stay; description is written only when r has one; expr or
// filter, whichever r has, and the other removed. A filter is written as given: a string (the
// JSON text Cloud Exchange shows, as a literal block when it spans lines) or a mapping; a
// filter of the same value as the file's keeps the file's node.
func SetRule(name string, r RuleConfig) Edit {
	return Edit{func(e Editor, root *yaml.Node) error {
		n, err := entryToSet(root, "business_rules", name, entryName)
		if err != nil {
			return err
		}
		// A rule that changes from expr to filter, or back, keeps the comments of the one it
		// drops.
		var dropped *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if k := n.Content[j].Value; k == "expr" && r.Expr == "" || k == "filter" && r.Filter == nil {
				dropped = n.Content[j+1]
			}
		}
		setOrDrop(n, "name", r.Name, true)
		setOrDrop(n, "description", r.Description, r.Description != "")
		hadExpr := scalarOf(n, "expr") != ""
		setOrDrop(n, "expr", r.Expr, r.Expr != "")
		if r.Expr != "" && !hadExpr && dropped != nil {
			v := n.Content[len(n.Content)-1]
			v.HeadComment, v.LineComment, v.FootComment = dropped.HeadComment, dropped.LineComment, dropped.FootComment
		}
		if r.Filter == nil {
			deleteKey(n, "filter")
			return nil
		}
		var g yaml.Node
		if err := g.Encode(r.Filter); err != nil {
			return fmt.Errorf("business rule %q: filter: %w", r.Name, err)
		}
		if g.Kind == yaml.ScalarNode && strings.Contains(g.Value, "\n") {
			g.Style = yaml.LiteralStyle
		}
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value != "filter" {
				continue
			}
			if old := n.Content[j+1]; !sameValue(old, &g, e.resolver()) {
				keepLook(old, &g)
				n.Content[j+1] = &g
			}
			return nil
		}
		if dropped != nil {
			g.HeadComment, g.LineComment, g.FootComment = dropped.HeadComment, dropped.LineComment, dropped.FootComment
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "filter"}, &g)
		return nil
	}}
}

// DeleteRule is the edit that removes the business rule named name. A SIEM mapping that still
// names it makes the result invalid: change it in the same Apply.
func DeleteRule(name string) Edit {
	return deleteEntry("business_rules", "rule", name, entryName)
}

// RenamePlugin is the edit that makes the SIEM mappings naming plugin configuration from (as
// their source or destination) name to instead. It does not rename the plugin entry itself:
// SetPlugin does, in the same Apply. A mapping without a name key is named after its source and
// destination, so its name follows.
func RenamePlugin(from, to string) Edit {
	return Edit{func(_ Editor, root *yaml.Node) error {
		return eachMapping(root, func(n *yaml.Node) {
			for _, key := range []string{"source", "destination"} {
				if scalarOf(n, key) == from {
					setOrDrop(n, key, to, true)
				}
			}
		})
	}}
}

// RenameRule is the edit that makes the SIEM mappings naming business rule from name to
// instead (SetRule renames the rule itself, in the same Apply).
func RenameRule(from, to string) Edit {
	return Edit{func(_ Editor, root *yaml.Node) error {
		return eachMapping(root, func(n *yaml.Node) {
			if scalarOf(n, "rule") == from {
				setOrDrop(n, "rule", to, true)
			}
		})
	}}
}

// SetPluginDisabled is the edit that writes disabled: true in the plugin entry named name, or
// removes its disabled key (disabled false): the entry is otherwise kept as it is.
func SetPluginDisabled(name string, disabled bool) Edit {
	return Edit{func(_ Editor, root *yaml.Node) error {
		n, err := pluginEntry(root, name)
		if err != nil {
			return err
		}
		if !disabled {
			deleteKey(n, "disabled")
			return nil
		}
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == "disabled" {
				v := n.Content[j+1]
				*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true", HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
				return nil
			}
		}
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "disabled"},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
		return nil
	}}
}

// UnsetPluginKeys is the edit that removes keys, by their dotted path ("proxy.password"), from
// the plugin entry named name: a secret the console clears, which SetPlugin would keep. A key
// the entry does not have is ignored; a section left empty is removed.
func UnsetPluginKeys(name string, paths ...string) Edit {
	return Edit{func(_ Editor, root *yaml.Node) error {
		n, err := pluginEntry(root, name)
		if err != nil {
			return err
		}
		for _, p := range paths {
			deletePath(n, strings.Split(p, "."))
		}
		return nil
	}}
}

// PluginEntry is one plugin entry as the file writes it.
type PluginEntry struct {
	Name string
	Type string
	// Kind is the entry's kind key ("" when it has none).
	Kind     string
	Disabled bool
	// Values are the entry's keys (merge keys expanded) as YAML decodes them, ${...}
	// references as written: not resolved.
	Values map[string]any
	Line   int
}

// PluginEntries reads the plugin entries of the file as written, for a form to show what the
// file sets: the values are not interpolated, defaulted or checked.
func (e Editor) PluginEntries() ([]PluginEntry, error) {
	path, err := filepath.EvalSymlinks(e.Path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("read configuration: %s: %w", e.Path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("read configuration: %s: the top level is not a mapping of keys", e.Path)
	}
	seq, err := sequenceOf(doc.Content[0], "plugins")
	if err != nil {
		return nil, fmt.Errorf("read configuration: %s: %w", e.Path, err)
	}
	var out []PluginEntry
	for _, c := range seq.Content {
		if c.Kind != yaml.MappingNode {
			continue
		}
		pe := PluginEntry{Values: map[string]any{}, Line: c.Line}
		pairs := mergedPairs(c)
		for j := 0; j+1 < len(pairs); j += 2 {
			var v any
			if err := pairs[j+1].Decode(&v); err != nil {
				return nil, fmt.Errorf("read configuration: %s: line %d: %w", e.Path, pairs[j+1].Line, err)
			}
			pe.Values[pairs[j].Value] = v
		}
		pe.Name, _ = pe.Values["name"].(string)
		pe.Type, _ = pe.Values["type"].(string)
		pe.Kind, _ = pe.Values["kind"].(string)
		pe.Disabled, _ = pe.Values["disabled"].(bool)
		out = append(out, pe)
	}
	return out, nil
}

// pluginEntry is the plugin entry named name.
func pluginEntry(root *yaml.Node, name string) (*yaml.Node, error) {
	seq, err := sequenceOf(root, "plugins")
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(seq.Content, func(c *yaml.Node) bool { return entryName(c) == name })
	if i < 0 || seq.Content[i].Kind != yaml.MappingNode {
		return nil, noEntry(fmt.Sprintf("plugins: no entry is named %q", name))
	}
	return seq.Content[i], nil
}

// eachMapping calls f on each entry of siem_mappings that is a mapping.
func eachMapping(root *yaml.Node, f func(n *yaml.Node)) error {
	seq, err := sequenceOf(root, "siem_mappings")
	if err != nil {
		return err
	}
	for _, n := range seq.Content {
		if n.Kind == yaml.MappingNode {
			f(n)
		}
	}
	return nil
}

// scalarOf is the value of key in mapping n when it is a scalar, else "".
func scalarOf(n *yaml.Node, key string) string {
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == key && n.Content[j+1].Kind == yaml.ScalarNode {
			return n.Content[j+1].Value
		}
	}
	return ""
}

// deleteKey removes key from mapping n.
func deleteKey(n *yaml.Node, key string) {
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == key {
			n.Content = slices.Delete(n.Content, j, j+2)
			return
		}
	}
}

// deletePath removes the key at path below mapping n, and a mapping the removal leaves empty.
func deletePath(n *yaml.Node, path []string) {
	if len(path) == 1 {
		deleteKey(n, path[0])
		return
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if v := n.Content[j+1]; n.Content[j].Value == path[0] && v.Kind == yaml.MappingNode {
			deletePath(v, path[1:])
			if len(v.Content) == 0 {
				n.Content = slices.Delete(n.Content, j, j+2)
			}
			return
		}
	}
}
