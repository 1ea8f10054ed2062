package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/suggest"
)

// LineError is a problem at a place in the file.
type LineError struct {
	Line int
	Path string
	Err  error
}

func (e *LineError) Error() string {
	switch {
	case e.Line > 0 && e.Path != "":
		return fmt.Sprintf("line %d: %s: %v", e.Line, e.Path, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	case e.Path != "":
		return e.Path + ": " + e.Err.Error()
	}
	return e.Err.Error()
}

func (e *LineError) Unwrap() error { return e.Err }

// joinPath appends key to a dotted path. Below a plugin entry, rendered "plugins[2] (name)",
// keys follow a colon, so errors read "plugins[2] (lake): batch.max_records: ...".
func joinPath(base, key string) string {
	switch {
	case base == "":
		return key
	case strings.HasSuffix(base, ")"):
		return base + ": " + key
	}
	return base + "." + key
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	nodeType        = reflect.TypeFor[yaml.Node]()
)

// checkKeys reports every mapping key in n that has no field in t, with its path and line, and
// a suggestion when the key looks like a misspelt field. It walks nested structs, slices and
// maps; types that decode themselves (yaml.Unmarshaler, yaml.Node, interfaces) are not entered.
func checkKeys(n *yaml.Node, t reflect.Type, path string, errs *[]error, lines linePaths) {
	if n == nil {
		return
	}
	notePath(lines, n.Line, path)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if t == nodeType || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		checkFields(n, yamlFields(t), path, errs, lines)
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs, lines)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkKeys(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value), errs, lines)
		}
	}
}

// checkFields is checkKeys on a mapping whose keys must be those of fields.
func checkFields(n *yaml.Node, fields map[string]reflect.Type, path string, errs *[]error, lines linePaths) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return // the decoder reports the type mismatch with its line
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "<<" { // merge key: check the merged mapping against the same fields
			if v.Kind == yaml.SequenceNode {
				for _, m := range v.Content {
					checkFields(m, fields, path, errs, lines)
				}
				continue
			}
			checkFields(v, fields, path, errs, lines)
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			*errs = append(*errs, &LineError{Line: k.Line, Path: joinPath(path, k.Value), Err: unknownKey(k.Value, fields)})
			continue
		}
		checkKeys(v, ft, joinPath(path, k.Value), errs, lines)
	}
}

// linePaths maps a line to the path of what is on it, for the decoder's type errors, which give
// only a line.
type linePaths map[int]linePath

type linePath struct {
	path   string
	shared bool // several keys are on the line: path is their common parent
}

// notePath records path as the place of line. The deepest path wins ("batch.max_records" over
// "batch" when the mapping starts on the key's line); unrelated paths on one line (a flow
// mapping) leave their common parent, which a later key on that line does not replace.
func notePath(lines linePaths, line int, path string) {
	if lines == nil || path == "" {
		return
	}
	prev, seen := lines[line]
	switch {
	case !seen:
		lines[line] = linePath{path: path}
	case prev.path == path || isUnder(prev.path, path):
	case isUnder(path, prev.path):
		if !prev.shared {
			lines[line] = linePath{path: path}
		}
	default:
		lines[line] = linePath{path: commonPath(prev.path, path), shared: true}
	}
}

// pathBoundary reports whether a path may end before s: s is empty or starts the next key.
func pathBoundary(s string) bool {
	return s == "" || s[0] == '.' || s[0] == '[' || strings.HasPrefix(s, ": ") || strings.HasPrefix(s, " (")
}

// isUnder reports whether path p is below path q.
func isUnder(p, q string) bool {
	return len(p) > len(q) && strings.HasPrefix(p, q) && pathBoundary(p[len(q):])
}

// commonPath is the deepest path that a and b are both at or below ("" if none).
func commonPath(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	for ; n > 0; n-- {
		if pathBoundary(a[n:]) && pathBoundary(b[n:]) {
			return a[:n]
		}
	}
	return ""
}

// yamlFields maps the YAML keys of struct t (inline structs flattened) to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		inline := strings.Contains(opts, "inline")
		// The decoder inlines an embedded struct even when its type is unexported.
		if name == "-" || (!f.IsExported() && !(f.Anonymous && inline)) {
			continue
		}
		if inline {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range yamlFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func unknownKey(key string, fields map[string]reflect.Type) error {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestD := "", 3
	for _, n := range names {
		if d := suggest.Distance(strings.ToLower(key), n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown key (did you mean %q?)", best)
	}
	if len(names) == 0 {
		return fmt.Errorf("unknown key (this section takes no keys)")
	}
	return fmt.Errorf("unknown key (known keys: %s)", strings.Join(names, ", "))
}
