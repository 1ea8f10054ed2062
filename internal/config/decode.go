package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DecodeStrict decodes the YAML document data into out, which holds the defaults, with the
// checks and messages of Load: every unknown key with its line, path and a "did you mean"
// suggestion, type errors with their line and path in words, all problems at once. It is for
// the project's other configuration files (cloudsim's); it does not interpolate ${...}. An
// empty document leaves out unchanged. On failure the error is an *Error naming name.
func DecodeStrict(data []byte, name string, out any) error {
	l := &loader{lines: linePaths{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return nil
		}
		l.errs = append(l.errs, errors.New(strings.TrimPrefix(err.Error(), "yaml: ")))
		return l.fail(name)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.errs = append(l.errs, &LineError{Line: extra.Line, Err: errors.New("a second YAML document (after ---): a configuration is one document")})
		return l.fail(name)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		l.errs = append(l.errs, &LineError{Line: root.Line, Err: errors.New("the top level must be a mapping of keys")})
		return l.fail(name)
	}
	checkKeys(root, reflect.TypeOf(out), "", &l.errs, l.lines)
	l.decode(root, out)
	if len(l.errs) > 0 {
		return l.fail(name)
	}
	return nil
}
