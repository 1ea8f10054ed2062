package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	suggestpkg "github.com/logshipper/logshipper/internal/suggest"
)

// Error is one problem found in a mapping file. Path names the place inside the mapping, in CE's
// terms ("taxonomy.alerts.dlp.extension.userIdentity.principalId"); Line is 1-based when known,
// counted inside the jsonData string when InJSONData is set.
type Error struct {
	File       string
	InJSONData bool
	Line       int
	Path       string
	Msg        string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		if e.InJSONData {
			fmt.Fprintf(&b, "jsonData line %d: ", e.Line)
		} else {
			fmt.Fprintf(&b, "line %d: ", e.Line)
		}
	} else if e.InJSONData && e.Path == "" {
		b.WriteString("jsonData: ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxErrors bounds the problems reported for one file.
const maxErrors = 20

// LoadFile reads a mapping file: a CE export (the object with a "jsonData" string), the decoded
// inner object, or the same structure as YAML. Errors name the file.
func LoadFile(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	return parse(data, path)
}

// Load reads a mapping file from r (see LoadFile). Every problem found is reported, each as an
// *Error (joined with errors.Join when there are several).
func Load(r io.Reader) (*Set, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("mapping: read: %w", err)
	}
	return parse(data, "")
}

// Parse reads a mapping file held in memory (see LoadFile); name labels errors and may be "".
func Parse(data []byte, name string) (*Set, error) { return parse(data, name) }

type loader struct {
	file       string
	inJSONData bool
	errs       []error
	more       int
}

func (l *loader) errorf(n *yaml.Node, path, format string, args ...any) {
	if len(l.errs) >= maxErrors {
		l.more++
		return
	}
	e := &Error{File: l.file, InJSONData: l.inJSONData, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line = n.Line
	}
	l.errs = append(l.errs, e)
}

func (l *loader) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	if l.more > 0 {
		l.errs = append(l.errs, fmt.Errorf("%d more problems not shown", l.more))
	}
	if len(l.errs) == 1 {
		return l.errs[0]
	}
	return errors.Join(l.errs...)
}

func parse(data []byte, file string) (*Set, error) {
	l := &loader{file: file}
	root, err := decodeNode(data)
	if err != nil {
		l.errorf(nil, "", "not a JSON or YAML object: %s", yamlMsg(err))
		return nil, l.err()
	}
	if root == nil {
		l.errorf(nil, "", "the file is empty")
		return nil, l.err()
	}
	if root.Kind != yaml.MappingNode {
		l.errorf(root, "", "the top level must be an object (a CE mapping export, or its jsonData object)")
		return nil, l.err()
	}
	name := ""
	if jd := l.get(root, "jsonData"); jd != nil {
		if n := l.get(root, "name"); n != nil && n.Kind == yaml.ScalarNode {
			name = n.Value
		}
		switch {
		case jd.Kind == yaml.ScalarNode && jd.Tag == "!!str":
			inner, err := decodeNode([]byte(jd.Value))
			l.inJSONData = true
			if err != nil {
				l.errorf(nil, "", "not valid JSON: %s", yamlMsg(err))
				return nil, l.err()
			}
			if inner == nil || inner.Kind != yaml.MappingNode {
				l.errorf(inner, "", "must hold a JSON object")
				return nil, l.err()
			}
			root = inner
		case jd.Kind == yaml.MappingNode:
			root = jd
		default:
			l.errorf(jd, "jsonData", "must be a string holding the mapping's JSON (or the mapping object itself)")
			return nil, l.err()
		}
	}
	s := l.set(root, name)
	if err := l.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// decodeNode parses JSON or YAML into a node tree, keeping the order of keys; nil for an empty
// document.
func decodeNode(data []byte) (*yaml.Node, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	return resolve(doc.Content[0]), nil
}

func yamlMsg(err error) string { return strings.TrimPrefix(err.Error(), "yaml: ") }

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// get returns the value of key in a mapping node, nil when absent.
func (l *loader) get(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return resolve(m.Content[i+1])
		}
	}
	return nil
}

// pairs walks a mapping node's keys in order, reporting duplicate keys (CE's JSON parser would
// silently keep the last one; a repeated key is almost always a mistake).
func (l *loader) pairs(m *yaml.Node, path string, fn func(k *yaml.Node, v *yaml.Node)) {
	seen := make(map[string]bool, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, path, "keys must be strings")
			continue
		}
		if seen[k.Value] {
			l.errorf(k, join(path, k.Value), "appears twice")
			continue
		}
		seen[k.Value] = true
		fn(k, v)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (l *loader) set(root *yaml.Node, name string) *Set {
	s := &Set{name: name, kinds: map[string]*kindMappings{}}
	var tax *yaml.Node
	l.pairs(root, "", func(k, v *yaml.Node) {
		switch {
		case k.Value == "taxonomy":
			tax = v
		case strings.HasSuffix(k.Value, "_map_version"):
			s.plugin = strings.ToLower(strings.TrimSuffix(k.Value, "_map_version"))
			if v.Kind == yaml.ScalarNode {
				s.mapVersion = v.Value
			}
		}
	})
	if tax == nil {
		l.errorf(root, "", `has no "taxonomy" object: not a Cloud Exchange mapping`)
		return nil
	}
	if tax.Kind != yaml.MappingNode {
		l.errorf(tax, "taxonomy", "must be an object of kinds (alerts, events, ...)")
		return nil
	}
	l.pairs(tax, "taxonomy", func(k, v *yaml.Node) {
		kindPath := "taxonomy." + k.Value
		if k.Value == "json" {
			s.json = l.jsonLists(v, kindPath)
			return
		}
		if v.Kind != yaml.MappingNode {
			l.errorf(v, kindPath, "must be an object of subtypes")
			return
		}
		nk := normalizeName(k.Value)
		if _, dup := s.kinds[nk]; dup {
			l.errorf(k, kindPath, "repeats another kind's name (names match ignoring case)")
			return
		}
		km := &kindMappings{name: k.Value, subs: map[string]*Mapping{}}
		s.kinds[nk] = km
		s.kindOrder = append(s.kindOrder, k.Value)
		l.pairs(v, kindPath, func(sk, sv *yaml.Node) {
			subPath := kindPath + "." + sk.Value
			ns := normalizeName(sk.Value)
			if ns == "" {
				l.errorf(sk, subPath, "a subtype needs a name")
				return
			}
			if other, dup := km.subs[ns]; dup {
				l.errorf(sk, subPath, "is the same subtype as %q (subtypes match ignoring case and spaces)", other.Subtype)
				return
			}
			c := l.subtype(sv, subPath)
			if c == nil {
				return
			}
			m := s.wrap(k.Value, sk.Value, c)
			km.subs[ns] = m
			km.order = append(km.order, m)
		})
	})
	return s
}

// jsonLists reads the syslog file's "json" section: json.<kind>.<subtype> = [fields].
func (l *loader) jsonLists(n *yaml.Node, path string) map[string]map[string][]string {
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "must be an object of kinds")
		return nil
	}
	out := map[string]map[string][]string{}
	l.pairs(n, path, func(k, v *yaml.Node) {
		kp := path + "." + k.Value
		if v.Kind != yaml.MappingNode {
			l.errorf(v, kp, "must be an object of subtypes")
			return
		}
		byKind := map[string][]string{}
		out[normalizeName(k.Value)] = byKind
		l.pairs(v, kp, func(sk, sv *yaml.Node) {
			sp := kp + "." + sk.Value
			if sv.Kind != yaml.SequenceNode {
				l.errorf(sv, sp, "must be a list of field names")
				return
			}
			fields := []string{}
			for _, f := range sv.Content {
				f = resolve(f)
				if f.Kind != yaml.ScalarNode || f.Value == "" {
					l.errorf(f, sp, "must be a list of field names")
					return
				}
				fields = append(fields, f.Value)
			}
			byKind[normalizeName(sk.Value)] = fields
		})
	})
	return out
}

func (l *loader) subtype(n *yaml.Node, path string) *compiled {
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, `must be an object with "extension" (and optionally "header")`)
		return nil
	}
	var header, ext *yaml.Node
	l.pairs(n, path, func(k, v *yaml.Node) {
		switch k.Value {
		case "header":
			header = v
		case "extension":
			ext = v
		default:
			l.errorf(k, join(path, k.Value), `is not known: a subtype holds "header" and "extension"%s`,
				suggest(k.Value, []string{"header", "extension"}))
		}
	})
	if ext == nil {
		l.errorf(n, path, `has no "extension" object`)
		return nil
	}
	before := len(l.errs) + l.more
	c := &compiled{kindPath: path}
	if header != nil {
		c.header = l.entries(header, path+".header", nil)
	}
	c.tmpl = newTree()
	c.ext = l.entries(ext, path+".extension", &c.tmpl)
	if len(l.errs)+l.more != before {
		return nil
	}
	c.finish()
	return c
}

var entryKeys = []string{"mapping_field", "default_value", "transformation", "is_json_path"}

// entries compiles one header or extension object. With a tree, each target gets its place in
// the output (dotted targets nest); without one (headers) targets are flat names.
func (l *loader) entries(n *yaml.Node, path string, t *tree) []entry {
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "must be an object of target fields")
		return nil
	}
	var out []entry
	l.pairs(n, path, func(k, v *yaml.Node) {
		p := path + "." + k.Value
		e, ok := l.entry(k.Value, v, p)
		if !ok {
			return
		}
		if t != nil {
			idx, err := t.insertLeaf(k.Value)
			if err != nil {
				l.errorf(k, p, "%s", err)
				return
			}
			e.node = idx
		}
		out = append(out, e)
	})
	return out
}

func (l *loader) entry(target string, n *yaml.Node, path string) (entry, bool) {
	e := entry{target: target, conv: converters[0]}
	if target == "" {
		l.errorf(n, path, "a target field needs a name")
		return e, false
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, path, "must be an object with mapping_field, default_value, transformation")
		return e, false
	}
	ok := true
	var hasField, jsonPath bool
	l.pairs(n, path, func(k, v *yaml.Node) {
		kp := path + "." + k.Value
		switch k.Value {
		case "mapping_field", "default_value", "transformation":
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				l.errorf(v, path, "%s must be a string", k.Value)
				ok = false
				return
			}
			switch k.Value {
			case "mapping_field":
				hasField = true
				e.field = v.Value
			case "default_value":
				e.hasDef = true
				e.def = v.Value
			case "transformation":
				c, found := lookupConverter(v.Value)
				if !found {
					l.errorf(v, path, "transformation %q is not known (known: %s)", v.Value, strings.Join(converterNames(), ", "))
					ok = false
					return
				}
				e.conv = c
			}
		case "is_json_path":
			var b bool
			if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Decode(&b) != nil {
				l.errorf(v, path, "is_json_path must be true or false")
				ok = false
				return
			}
			jsonPath = b
		default:
			l.errorf(k, kp, "is not known: a target field holds %s%s", strings.Join(entryKeys, ", "), suggest(k.Value, entryKeys))
			ok = false
		}
	})
	if !ok {
		return e, false
	}
	// CE's rules (cloudtrail_helper.validate_extension_field): one of the two must be given and
	// not be empty.
	switch {
	case hasField && e.hasDef && e.field == "" && e.def == "":
		l.errorf(n, path, "mapping_field and default_value are both empty")
		return e, false
	case hasField && !e.hasDef && e.field == "":
		l.errorf(n, path, "mapping_field is empty and there is no default_value")
		return e, false
	case !hasField && e.hasDef && e.def == "":
		l.errorf(n, path, "default_value is empty and there is no mapping_field")
		return e, false
	case !hasField && !e.hasDef:
		l.errorf(n, path, "needs a mapping_field or a default_value")
		return e, false
	}
	if e.hasDef {
		v, err := e.conv.convert(e.def)
		if err != nil {
			l.errorf(n, path, "default_value %q does not pass transformation %q: %s", e.def, e.conv.name, err)
			return e, false
		}
		e.defVal = v
	}
	if jsonPath && e.field != "" {
		jp, err := compileJSONPath(e.field)
		if err != nil {
			l.errorf(n, path, "mapping_field %q: %s", e.field, err)
			return e, false
		}
		e.path = jp
	} else if strings.Contains(e.field, ".") {
		e.nested = strings.Split(e.field, ".")
	}
	return e, true
}

// suggest returns ` (did you mean "x"?)` for a key close to a known one.
func suggest(got string, known []string) string {
	best := suggestpkg.Closest(got, known)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
