package config

import (
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

func parseNode(t *testing.T, doc string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	return n.Content[0]
}

// find returns the value of key in mapping n.
func find(t *testing.T, n *yaml.Node, key string) *yaml.Node {
	t.Helper()
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	t.Fatalf("no key %q", key)
	return nil
}

func TestInterpolateTagsString(t *testing.T) {
	root := parseNode(t, `
port: ${PORT}
flag: ${FLAG}
quoted: "${PORT}"
tagged: !!int ${PORT}
plain: 8080
literal: $${PORT}
short: ${SHORT}
`)
	env := map[string]string{"PORT": "8080", "FLAG": "true", "SHORT": "ab"}
	var errs []error
	var subs substitutions
	Resolver{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}.interpolate(root, "", &errs, &subs)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for key, want := range map[string]struct{ value, tag string }{
		"port":    {"8080", "!!int"},  // plain: reads as the number it now holds
		"flag":    {"true", "!!bool"}, // likewise a boolean
		"quoted":  {"8080", "!!str"},
		"tagged":  {"8080", "!!int"}, // an explicit tag is kept
		"plain":   {"8080", "!!int"}, // not interpolated: untouched
		"literal": {"${PORT}", "!!str"},
		"short":   {"ab", "!!str"},
	} {
		n := find(t, root, key)
		if n.Value != want.value || n.Tag != want.tag {
			t.Errorf("%s: value %q tag %q, want %q %q", key, n.Value, n.Tag, want.value, want.tag)
		}
	}
	// The values hidden in messages: four characters or more, each time it is used.
	if !slices.Equal(subs.values, []string{"8080", "true", "8080", "8080"}) {
		t.Errorf("subs = %q", subs.values)
	}
	for _, line := range []int{2, 3, 4, 5} {
		if !subs.lines[line] {
			t.Errorf("line %d not recorded as interpolated (%v)", line, subs.lines)
		}
	}
	// Lines 6 and 7 have no substitution; line 8's value is too short to be hidden.
	if subs.lines[6] || subs.lines[7] || subs.lines[8] {
		t.Errorf("lines without a hidden substitution recorded: %v", subs.lines)
	}
}

// A value that failed to interpolate becomes null, so the decoder keeps the default and says
// nothing more.
func TestInterpolateFailureLeavesNull(t *testing.T) {
	root := parseNode(t, "a: \"${UNSET}\"\nb: [x, '${ALSO_UNSET}']\n")
	var errs []error
	var subs substitutions
	Resolver{Env: func(string) (string, bool) { return "", false }}.interpolate(root, "", &errs, &subs)
	if len(errs) != 2 {
		t.Fatalf("errs = %v", errs)
	}
	if errs[0].Error() != "line 1: a: ${UNSET}: environment variable UNSET is not set" ||
		errs[1].Error() != "line 2: b[1]: ${ALSO_UNSET}: environment variable ALSO_UNSET is not set" {
		t.Errorf("errs = %q", errs)
	}
	var out struct {
		A int      `yaml:"a"`
		B []string `yaml:"b"`
	}
	out.A = 42
	if err := root.Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.A != 42 || !slices.Equal(out.B, []string{"x"}) { // the decoder drops a null item
		t.Errorf("decoded %+v", out)
	}
}

// Interpolation errors inside a plugin entry carry the entry's name, as the loader's do.
func TestInterpolatePluginPath(t *testing.T) {
	root := parseNode(t, "plugins:\n  - name: lake\n    token: ${T}\n  - name: ${N}\n    x: ${T}\n  - ['${T}']\n")
	var errs []error
	var subs substitutions
	Resolver{Env: func(string) (string, bool) { return "", false }}.interpolate(root, "", &errs, &subs)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"line 3: plugins[0] (lake): token: ${T}: environment variable T is not set",
		"line 4: plugins[1].name: ${N}: environment variable N is not set",
		"line 5: plugins[1].x: ${T}: environment variable T is not set",
		"line 6: plugins[2][0]: ${T}: environment variable T is not set",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

func TestValidEnvName(t *testing.T) {
	for s, want := range map[string]bool{
		"A": true, "_": true, "a_b_9": true, "PATH": true, "_1": true,
		"": false, "1A": false, "A-B": false, "A B": false, "A.B": false, "É": false, "A:": false,
	} {
		if got := validEnvName(s); got != want {
			t.Errorf("validEnvName(%q) = %v, want %v", s, got, want)
		}
	}
}
