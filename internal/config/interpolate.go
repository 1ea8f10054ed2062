package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Resolver looks up interpolated values. Tests replace Env; Dir anchors relative file paths.
type Resolver struct {
	Env func(string) (string, bool)
	Dir string
}

// substitutions records what interpolation put into the tree, so error messages can hide it.
type substitutions struct {
	values []string     // the substituted values
	lines  map[int]bool // the lines of the scalars that received one
}

// interpolate replaces ${NAME}, ${NAME:-default} and ${file:PATH} in every scalar value of the
// tree (never in keys, and after parsing, so a value cannot inject YAML structure). $${ writes a
// literal ${. It records the values it substituted, so error messages can hide them.
func (r Resolver) interpolate(n *yaml.Node, path string, errs *[]error, subs *substitutions) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			switch {
			case n.Kind == yaml.SequenceNode && path == "plugins":
				p = pluginPath(i, entryName(c)) // as the loader writes the entry's other problems
			case n.Kind == yaml.SequenceNode:
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			r.interpolate(c, p, errs, subs)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			r.interpolate(n.Content[i+1], joinPath(path, n.Content[i].Value), errs, subs)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		before := len(subs.values)
		out, err := r.expand(n.Value, &subs.values)
		if len(subs.values) > before {
			if subs.lines == nil {
				subs.lines = map[int]bool{}
			}
			subs.lines[n.Line] = true
		}
		if err != nil {
			*errs = append(*errs, &LineError{Line: n.Line, Path: path, Err: err})
			// A null leaves the key at its default: the decoder would report "${X}" again as a
			// value of the wrong type. The configuration is not used, as there is an error.
			n.Tag, n.Value, n.Style = "!!null", "", 0
			return
		}
		n.Value = out
		n.Tag = substitutedTag(n)
	}
}

// substitutedTag is the tag of a scalar after substitution. A plain scalar takes the type its
// new text reads as when that is a number or a boolean, so `eps: ${EPS}` is an int; anything
// else stays a string (a password "null" is not a null). A quoted or explicitly tagged scalar
// keeps its tag. A string field takes the text as written in any case.
func substitutedTag(n *yaml.Node) string {
	const notPlain = yaml.TaggedStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle
	if n.Style&notPlain != 0 {
		if n.Tag == "" || n.Tag == "!" {
			return "!!str"
		}
		return n.Tag
	}
	probe := yaml.Node{Kind: yaml.ScalarNode, Value: n.Value}
	switch t := probe.ShortTag(); t {
	case "!!int", "!!float", "!!bool":
		return t
	}
	return "!!str"
}

// entryName is the literal name of a plugin entry, or "".
func entryName(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := n.Content[i+1]; n.Content[i].Value == "name" && v.Kind == yaml.ScalarNode && !strings.Contains(v.Value, "${") {
			return v.Value
		}
	}
	return ""
}

func (r Resolver) expand(s string, subs *[]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' { // $${ is a literal ${
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unclosed %q (write $${ for a literal ${)", s[i:])
		}
		ref := s[i+2 : i+end]
		v, fromOutside, err := r.lookup(ref)
		if err != nil {
			return "", err
		}
		if fromOutside && len(v) >= 4 { // a default written in the file is no secret
			*subs = append(*subs, v)
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
}

// maxValueFile bounds a ${file:} value: a secret or a setting, not a data file.
const maxValueFile = 1 << 20

// readValueFile reads a ${file:} value: a regular file (a FIFO would block the load, a device
// such as /dev/zero would never end) of at most maxValueFile bytes.
func readValueFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", st.Mode().Type())
	}
	if st.Size() > maxValueFile {
		return nil, fmt.Errorf("%d bytes: a value file holds at most %d", st.Size(), maxValueFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxValueFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxValueFile {
		return nil, fmt.Errorf("more than %d bytes: a value file holds at most that", maxValueFile)
	}
	return b, nil
}

// lookup resolves one reference. fromOutside is false for a default written in the file.
func (r Resolver) lookup(ref string) (value string, fromOutside bool, err error) {
	if p, ok := strings.CutPrefix(ref, "file:"); ok {
		if p == "" {
			return "", false, fmt.Errorf("${file:} needs a path")
		}
		full := p
		if !filepath.IsAbs(full) {
			full = filepath.Join(r.Dir, full)
		}
		b, err := readValueFile(full)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", false, fmt.Errorf("${file:%s}: cannot read %s: %w", p, full, err)
		}
		return strings.TrimRight(string(b), "\r\n"), true, nil
	}
	name, def, hasDef := strings.Cut(ref, ":-")
	if !validEnvName(name) {
		return "", false, fmt.Errorf("${%s}: %q is not an environment variable name", ref, name)
	}
	env := r.Env
	if env == nil {
		env = os.LookupEnv
	}
	v, ok := env(name)
	if (!ok || v == "") && hasDef {
		return def, false, nil
	}
	if !ok {
		return "", false, fmt.Errorf("${%s}: environment variable %s is not set", ref, name)
	}
	return v, true, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}
