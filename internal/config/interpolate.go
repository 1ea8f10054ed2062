package config

import (
	"fmt"
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

// interpolate replaces ${NAME}, ${NAME:-default} and ${file:PATH} in every scalar value of the
// tree (never in keys, and after parsing, so a value cannot inject YAML structure). $${ writes a
// literal ${. It returns the values it substituted, so error messages can hide them.
func (r Resolver) interpolate(n *yaml.Node, path string, errs *[]error, subs *[]string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
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
		out, err := r.expand(n.Value, subs)
		if err != nil {
			*errs = append(*errs, &LineError{Line: n.Line, Path: path, Err: err})
			return
		}
		n.Value = out
		// A substituted value is a string, whatever it looks like: do not let "${PORT}" resolve
		// to an int in one place and a string in another.
		if n.Tag == "" || n.Tag == "!" {
			n.Tag = "!!str"
		}
	}
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
		v, err := r.lookup(ref)
		if err != nil {
			return "", err
		}
		if len(v) >= 4 {
			*subs = append(*subs, v)
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
}

func (r Resolver) lookup(ref string) (string, error) {
	if p, ok := strings.CutPrefix(ref, "file:"); ok {
		if p == "" {
			return "", fmt.Errorf("${file:} needs a path")
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(r.Dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("${file:%s}: %w", p, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	name, def, hasDef := strings.Cut(ref, ":-")
	if !validEnvName(name) {
		return "", fmt.Errorf("${%s}: %q is not an environment variable name", ref, name)
	}
	env := r.Env
	if env == nil {
		env = os.LookupEnv
	}
	v, ok := env(name)
	if (!ok || v == "") && hasDef {
		return def, nil
	}
	if !ok {
		return "", fmt.Errorf("${%s}: environment variable %s is not set", ref, name)
	}
	return v, nil
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
