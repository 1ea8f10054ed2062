package config

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/rules"
)

// Editor changes one plugin configuration or one SIEM mapping in a configuration file, for the
// console: it edits the YAML document's node tree, so the comments, the order and the style of
// everything else are kept (blank lines between entries are not: the YAML library drops them);
// checks the whole result as Load does; and only then replaces the file atomically (a
// temporary file in the same directory, synced, renamed over it, with the file's mode). A
// result with problems is refused as an *Error and the file is left as it was.
//
// The configuration returned by each change is the file's new content, loaded: give it to
// the running process (app.Reload) to apply it.
type Editor struct {
	// Path is the configuration file. A symbolic link is followed: the file it points to is
	// replaced.
	Path string
	// Registry decodes plugin options, as for Load.
	Registry *plugin.Registry
	// Resolver interpolates ${...}, as for Load (its Dir defaults to the file's directory).
	Resolver Resolver
	// Options are Load's options: those `run` loads with (CheckHost, the sections).
	Options []Option
}

// Edit is one change of the file: SetPlugin, DeletePlugin, SetMapping, DeleteMapping,
// SetRule, DeleteRule, RenamePlugin, RenameRule, SetPluginDisabled, UnsetPluginKeys.
type Edit struct {
	apply func(e Editor, root *yaml.Node) error
}

// Apply makes the edits in order and checks their result as a whole (a plugin entry and the
// mapping that uses it are added, or removed, together), then writes the file once.
func (e Editor) Apply(edits ...Edit) (*Config, error) {
	return e.edit(true, e.change(edits))
}

// Check is Apply without writing: the edits are made in memory and their result checked as
// Apply checks it; the file is left as it is. The configuration returned is what Apply would
// load.
func (e Editor) Check(edits ...Edit) (*Config, error) {
	return e.edit(false, e.change(edits))
}

func (e Editor) change(edits []Edit) func(root *yaml.Node) error {
	return func(root *yaml.Node) error {
		for _, ed := range edits {
			if err := ed.apply(e, root); err != nil {
				return err
			}
		}
		return nil
	}
}

// SetPlugin applies the edit SetPlugin(name, entry) alone.
func (e Editor) SetPlugin(name string, entry map[string]any) (*Config, error) {
	return e.Apply(SetPlugin(name, entry))
}

// DeletePlugin applies the edit DeletePlugin(name) alone.
func (e Editor) DeletePlugin(name string) (*Config, error) { return e.Apply(DeletePlugin(name)) }

// SetMapping applies the edit SetMapping(name, m) alone.
func (e Editor) SetMapping(name string, m RouteConfig) (*Config, error) {
	return e.Apply(SetMapping(name, m))
}

// DeleteMapping applies the edit DeleteMapping(name) alone.
func (e Editor) DeleteMapping(name string) (*Config, error) { return e.Apply(DeleteMapping(name)) }

// SetPlugin is the edit that writes the plugin entry named name with the values of entry: its keys as in the
// file (name, type, kind, the shared keys, the type's options; nested sections as maps),
// its values Go values as YAML encodes them (strings, numbers, booleans, []any,
// map[string]any). When the file has an entry named name (entry may rename it), the entry is
// edited in place: a key whose value is unchanged keeps its node (its comments, its quoting, a
// ${...} reference whose value is the one given), a changed value is replaced, a key that entry
// leaves out is removed, and new keys follow, sorted. Otherwise (or with name "") the entry is
// added at the end of plugins.
//
// Secrets (options of type Secret) are never shown back by the console, so a secret given as ""
// or left out keeps the value the file has.
func SetPlugin(name string, entry map[string]any) Edit {
	return Edit{func(e Editor, root *yaml.Node) error {
		seq, err := sequenceOf(root, "plugins")
		if err != nil {
			return err
		}
		var secrets map[string]bool
		if t, ok := entry["type"].(string); ok {
			secrets = e.secretPaths(t)
		}
		var n yaml.Node
		if err := n.Encode(entry); err != nil {
			return fmt.Errorf("plugin %q: %w", name, err)
		}
		orderEntry(&n)
		i := slices.IndexFunc(seq.Content, func(c *yaml.Node) bool { return name != "" && entryName(c) == name })
		if i < 0 {
			seq.Content = append(seq.Content, &n)
			return nil
		}
		old := seq.Content[i]
		if old.Kind != yaml.MappingNode {
			seq.Content[i] = &n
			return nil
		}
		mergeMapping(old, &n, "", secrets, e.resolver())
		return nil
	}}
}

// DeletePlugin is the edit that removes the plugin entry named name. A SIEM mapping that still
// names it makes the result invalid: delete it in the same Apply.
func DeletePlugin(name string) Edit {
	return deleteEntry("plugins", "entry", name, entryName)
}

// entryToSet returns the entry of the list under key whose name (read by nameOf) is name, to
// be written in place: a mapping node kept as it is (with its comments), or a new one put in
// place of an entry that is not a mapping, or added at the end when name is "" or names none.
func entryToSet(root *yaml.Node, key, name string, nameOf func(*yaml.Node) string) (*yaml.Node, error) {
	seq, err := sequenceOf(root, key)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(seq.Content, func(c *yaml.Node) bool { return name != "" && nameOf(c) == name })
	if i >= 0 && seq.Content[i].Kind == yaml.MappingNode {
		return seq.Content[i], nil
	}
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if i >= 0 {
		seq.Content[i] = n
	} else {
		seq.Content = append(seq.Content, n)
	}
	return n, nil
}

// deleteEntry is the edit that removes, from the list under key, the entry whose name (read
// by nameOf) is name; what names the entries in the error when there is none.
func deleteEntry(key, what, name string, nameOf func(*yaml.Node) string) Edit {
	return Edit{func(_ Editor, root *yaml.Node) error {
		seq, err := sequenceOf(root, key)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(seq.Content, func(c *yaml.Node) bool { return nameOf(c) == name })
		if i < 0 {
			return noEntry(fmt.Sprintf("%s: no %s is named %q", key, what, name))
		}
		seq.Content = slices.Delete(seq.Content, i, i+1)
		return nil
	}}
}

// SetMapping is the edit that writes SIEM mapping m in place of the mapping named name (its name as the loader
// gives it: the name key, else "source->destination [rule]"), or adds it at the end of
// siem_mappings when name is "" or names none. An edited mapping keeps its comments; name and
// rule are written only when the entry had them or m needs them (a name other than the
// default, a rule other than All).
func SetMapping(name string, m RouteConfig) Edit {
	return Edit{func(_ Editor, root *yaml.Node) error {
		n, err := entryToSet(root, "siem_mappings", name, mappingName)
		if err != nil {
			return err
		}
		rule := m.Rule
		if rule == "" {
			rule = rules.All
		}
		setOrDrop(n, "name", m.Name, m.Name != "" && m.Name != defaultMappingName(m.Source, m.Destination, rule))
		setOrDrop(n, "source", m.Source, true)
		setOrDrop(n, "destination", m.Destination, true)
		setOrDrop(n, "rule", rule, rule != rules.All)
		return nil
	}}
}

// DeleteMapping is the edit that removes the SIEM mapping named name (as SetMapping names it).
func DeleteMapping(name string) Edit {
	return deleteEntry("siem_mappings", "mapping", name, mappingName)
}

func (e Editor) resolver() Resolver {
	res := e.Resolver
	if res.Dir == "" {
		res.Dir = filepath.Dir(e.Path)
	}
	return res
}

// edit reads the file, lets change edit its top-level mapping, checks the result as Load
// does, and writes it when write is true.
func (e Editor) edit(write bool, change func(root *yaml.Node) error) (*Config, error) {
	path, err := filepath.EvalSymlinks(e.Path)
	if err != nil {
		return nil, fmt.Errorf("edit configuration: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("edit configuration: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("edit configuration: %s: %w", e.Path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("edit configuration: %s: the top level is not a mapping of keys", e.Path)
	}
	if err := change(doc.Content[0]); err != nil {
		return nil, fmt.Errorf("edit configuration: %w", err)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(indentOf(data))
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("edit configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("edit configuration: %w", err)
	}
	out := keepBlankLines(data, b.Bytes())
	cfg, err := Parse(out, e.Path, e.Registry, e.resolver(), e.Options...)
	if err != nil {
		return nil, err
	}
	if !write {
		return cfg, nil
	}
	if err := writeFileAtomic(path, out, sha256.Sum256(data)); err != nil {
		return nil, fmt.Errorf("edit configuration: %w", err)
	}
	return cfg, nil
}

// keepBlankLines puts back into out, the document as the YAML library writes it, the blank
// lines that orig had before a line: before each line of out that is, indentation included,
// the one line of its text in both (a section's key, a comment). The library drops blank
// lines; lines that repeat ("type: file") cannot be placed, and stay without.
func keepBlankLines(orig, out []byte) []byte {
	count := func(data []byte) (lines []string, n map[string]int) {
		n = map[string]int{}
		for l := range bytes.Lines(data) {
			s := strings.TrimRight(string(l), " \t\r\n")
			lines = append(lines, s)
			n[s]++
		}
		return lines, n
	}
	ol, on := count(orig)
	nl, nn := count(out)
	blankBefore := map[string]bool{}
	for i := 1; i < len(ol); i++ {
		if ol[i] != "" && ol[i-1] == "" && on[ol[i]] == 1 && nn[ol[i]] == 1 {
			blankBefore[ol[i]] = true
		}
	}
	var b bytes.Buffer
	for i, l := range nl {
		if i > 0 && blankBefore[l] && nl[i-1] != "" {
			b.WriteByte('\n')
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// writeFileAtomic replaces the file at path with data: written to a temporary file beside it,
// synced, given the file's mode, and renamed over it, then the directory synced. It refuses
// when the file no longer holds what was read (sum): someone else saved it meanwhile.
func writeFileAtomic(path string, data []byte, sum [sha256.Size]byte) (err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	now, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if sha256.Sum256(now) != sum {
		return fmt.Errorf("%s changed on disk while it was being edited: nothing was written; edit it again", path)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// indentOf is the indentation the file uses: that of its first indented line, 2 when none.
func indentOf(data []byte) int {
	for line := range bytes.Lines(data) {
		t := bytes.TrimLeft(line, " ")
		if n := len(line) - len(t); n > 0 && len(bytes.TrimSpace(t)) > 0 && t[0] != '#' {
			return n
		}
	}
	return 2
}

// sequenceOf returns the sequence under key of the top-level mapping, adding an empty one when
// the key is absent (or null).
func sequenceOf(root *yaml.Node, key string) (*yaml.Node, error) {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != key {
			continue
		}
		v := root.Content[i+1]
		switch {
		case v.Kind == yaml.SequenceNode:
			return v, nil
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			*v = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", HeadComment: v.HeadComment, LineComment: v.LineComment}
			return v, nil
		}
		return nil, fmt.Errorf("line %d: %s: not a list", v.Line, key)
	}
	v := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v, nil
}

// orderEntry puts name, type and kind first in a new plugin entry (the encoder sorts keys).
func orderEntry(n *yaml.Node) {
	first := []string{"name", "type", "kind"}
	rank := func(k string) int {
		if i := slices.Index(first, k); i >= 0 {
			return i
		}
		return len(first)
	}
	type pair struct{ k, v *yaml.Node }
	var pairs []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		pairs = append(pairs, pair{n.Content[i], n.Content[i+1]})
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return rank(a.k.Value) - rank(b.k.Value) })
	n.Content = n.Content[:0]
	for _, p := range pairs {
		n.Content = append(n.Content, p.k, p.v)
	}
}

// mergeMapping edits mapping old into mapping nw, keeping old's nodes where the values are the
// same: see SetPlugin. path is the dotted path of old below the entry; secrets the paths of
// secret options.
func mergeMapping(old, nw *yaml.Node, path string, secrets map[string]bool, res Resolver) {
	given := map[string]*yaml.Node{}
	for i := 0; i+1 < len(nw.Content); i += 2 {
		given[nw.Content[i].Value] = nw.Content[i+1]
	}
	// The values old has, its own and those it takes from merge keys (<<: *anchor).
	merged := map[string]*yaml.Node{}
	pairs := mergedPairs(old)
	for j := 0; j+1 < len(pairs); j += 2 {
		merged[pairs[j].Value] = pairs[j+1]
	}
	kept := old.Content[:0:0]
	seen := map[string]bool{}
	for i := 0; i+1 < len(old.Content); i += 2 {
		k, v := old.Content[i], old.Content[i+1]
		key := k.Value
		if key == "<<" {
			kept = append(kept, k, v)
			continue
		}
		p := joinDot(path, key)
		seen[key] = true
		g, ok := given[key]
		switch {
		case secrets[p] && (!ok || g.Kind == yaml.ScalarNode && g.Value == ""):
			// The console never shows a secret: none given keeps the file's.
		case !ok:
			continue // left out: removed
		case v.Kind == yaml.MappingNode && g.Kind == yaml.MappingNode:
			mergeMapping(v, g, p, secrets, res)
		case sameValue(v, g, res):
		default:
			keepLook(v, g)
			v = g
		}
		kept = append(kept, k, v)
	}
	for i := 0; i+1 < len(nw.Content); i += 2 {
		k, v := nw.Content[i], nw.Content[i+1]
		if seen[k.Value] {
			continue
		}
		if m, ok := merged[k.Value]; ok && sameValue(m, v, res) {
			continue // the merged mapping gives it already
		}
		if secrets[joinDot(path, k.Value)] && v.Kind == yaml.ScalarNode && v.Value == "" {
			continue
		}
		kept = append(kept, k, v)
	}
	old.Content = kept
}

// keepLook gives nw, which replaces old, old's comments and, where they still fit, its style:
// a flow list stays a flow list, a quoted string stays quoted.
func keepLook(old, nw *yaml.Node) {
	nw.HeadComment, nw.LineComment, nw.FootComment = old.HeadComment, old.LineComment, old.FootComment
	switch {
	case old.Kind != nw.Kind:
	case old.Kind == yaml.SequenceNode || old.Kind == yaml.MappingNode:
		nw.Style |= old.Style & yaml.FlowStyle
	case old.Kind == yaml.ScalarNode && nw.Tag == "!!str" && old.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		nw.Style = old.Style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)
	}
}

func joinDot(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// sameValue reports whether old (as written, ${...} resolved) and nw hold the same value.
func sameValue(old, nw *yaml.Node, res Resolver) bool {
	c := cloneNode(old)
	var errs []error
	res.interpolate(c, "", &errs, &substitutions{})
	if len(errs) > 0 {
		return false
	}
	var a, b any
	if c.Decode(&a) != nil || nw.Decode(&b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

func cloneNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = cloneNode(k)
	}
	return &c
}

// secretPaths are the dotted paths of the Secret options of plugin type typ (of either kind).
func (e Editor) secretPaths(typ string) map[string]bool {
	out := map[string]bool{}
	for _, k := range e.Registry.Kinds(typ) {
		f, _ := e.Registry.Lookup(typ, k)
		collectSecrets(reflect.TypeOf(f.NewConfig()), "", out, 0)
	}
	return out
}

var secretType = reflect.TypeFor[Secret]()

func collectSecrets(t reflect.Type, path string, out map[string]bool, depth int) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || depth > 8 {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		p := path
		if !strings.Contains(opts, "inline") {
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			p = joinDot(path, name)
		}
		switch {
		case f.Type == secretType:
			out[p] = true
		default:
			collectSecrets(f.Type, p, out, depth+1)
		}
	}
}

// mappingName is the name the loader gives a siem_mappings entry.
func mappingName(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	var name, src, dst string
	rule := rules.All
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch v := n.Content[i+1].Value; n.Content[i].Value {
		case "name":
			name = v
		case "source":
			src = v
		case "destination":
			dst = v
		case "rule":
			if v != "" {
				rule = v
			}
		}
	}
	if name != "" {
		return name
	}
	return defaultMappingName(src, dst, rule)
}

// defaultMappingName is the name of a mapping without a name key (as the loader gives it).
func defaultMappingName(src, dst, rule string) string {
	name := src + "->" + dst
	if rule != rules.All {
		name += " [" + rule + "]"
	}
	return name
}

// setOrDrop sets key to the string value in mapping n (in place, keeping its comments), when
// want or when n has the key already; otherwise it removes the key.
func setOrDrop(n *yaml.Node, key, value string, want bool) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != key {
			continue
		}
		if !want && value == "" {
			n.Content = slices.Delete(n.Content, i, i+2)
			return
		}
		v := n.Content[i+1]
		if v.Kind != yaml.ScalarNode || v.Value != value {
			*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: v.Style &^ (yaml.LiteralStyle | yaml.FoldedStyle | yaml.TaggedStyle),
				HeadComment: v.HeadComment, LineComment: v.LineComment, FootComment: v.FootComment}
		}
		return
	}
	if want {
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
	}
}
