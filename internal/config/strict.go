package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
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
func checkKeys(n *yaml.Node, t reflect.Type, path string, errs *[]error, lines map[int]string) {
	if n == nil {
		return
	}
	if lines != nil && path != "" {
		if _, seen := lines[n.Line]; !seen {
			lines[n.Line] = path
		}
	}
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
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type mismatch with its line
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // merge key: check the merged mapping against the same struct
				checkKeys(v, t, path, errs, lines)
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, &LineError{Line: k.Line, Path: joinPath(path, k.Value), Err: unknownKey(k.Value, fields)})
				continue
			}
			checkKeys(v, ft, joinPath(path, k.Value), errs, lines)
		}
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

// yamlFields maps the YAML keys of struct t (inline structs flattened) to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
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
		if d := editDistance(strings.ToLower(key), n); d < bestD {
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

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
