package config_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
)

// leaf validates with a value receiver.
type leaf struct {
	N int `yaml:"n"`
}

func (l leaf) Validate() error {
	if l.N < 0 {
		return fmt.Errorf("n: %d is negative", l.N)
	}
	return nil
}

// ptrLeaf validates with a pointer receiver and reports two problems at once.
type ptrLeaf struct {
	S string `yaml:"s"`
	T string `yaml:"t"`
}

func (p *ptrLeaf) Validate() error {
	var v config.Problems
	if p.S == "" {
		v.Addf("s: missing")
	}
	if p.T == "" {
		v.Addf("t: missing")
	}
	return v.Err()
}

// plain has no Validate, but holds structs that do.
type plain struct {
	Inner leaf `yaml:"inner"`
}

type inlined struct {
	Deep leaf `yaml:"deep"`
}

type root struct {
	Name     string             `yaml:"name"`
	Leaf     leaf               `yaml:"leaf"`
	Ptr      *ptrLeaf           `yaml:"ptr"`
	NilPtr   *ptrLeaf           `yaml:"nil_ptr"`
	List     []leaf             `yaml:"list"`
	PtrList  []*ptrLeaf         `yaml:"ptr_list"`
	Map      map[string]leaf    `yaml:"map"`
	PtrMap   map[string]ptrLeaf `yaml:"ptr_map"`
	Plain    plain              `yaml:"plain"`
	Inline   inlined            `yaml:",inline"`
	Iface    config.Validator   `yaml:"iface"`
	Array    [2]leaf            `yaml:"array"`
	Skipped  leaf               `yaml:"-"`
	NoTag    leaf
	Duration time.Duration `yaml:"duration"`
	hidden   leaf
}

func (r *root) Validate() error {
	if r.Name == "" {
		return errors.New("name: missing")
	}
	return nil
}

func messages(errs []error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestValidateTree(t *testing.T) {
	r := &root{
		Leaf:    leaf{N: -1},
		Ptr:     &ptrLeaf{},
		List:    []leaf{{N: 1}, {N: -2}},
		PtrList: []*ptrLeaf{nil, {S: "x"}},
		Map:     map[string]leaf{"k": {N: -3}},
		PtrMap:  map[string]ptrLeaf{"p": {T: "y"}},
		Plain:   plain{Inner: leaf{N: -4}},
		Inline:  inlined{Deep: leaf{N: -5}},
		Iface:   leaf{N: -6},
		Array:   [2]leaf{{N: -7}, {}},
		Skipped: leaf{N: -100},
		NoTag:   leaf{N: -8},
		hidden:  leaf{N: -100},
	}
	got := messages(config.ValidateTree(r, ""))
	want := []string{
		"name: missing",
		"leaf: n: -1 is negative",
		"ptr: s: missing",
		"ptr: t: missing",
		"list[1]: n: -2 is negative",
		"ptr_list[1]: t: missing",
		"map.k: n: -3 is negative",
		"ptr_map.p: s: missing",
		"plain.inner: n: -4 is negative",
		"deep: n: -5 is negative",
		"iface: n: -6 is negative",
		"array[0]: n: -7 is negative",
		"notag: n: -8 is negative",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}

	// Under a plugin entry's path, keys follow a colon.
	got = messages(config.ValidateTree(&root{Name: "n", Leaf: leaf{N: -1}, List: []leaf{{N: -2}}, Ptr: &ptrLeaf{S: "s"}}, "plugins[2] (lake)"))
	want = []string{
		"plugins[2] (lake): leaf: n: -1 is negative",
		"plugins[2] (lake): ptr: t: missing",
		"plugins[2] (lake): list[0]: n: -2 is negative",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}

// Each problem is its own error, with its path as a *LineError.
func TestValidateTreeErrorsArePathed(t *testing.T) {
	errs := config.ValidateTree(&root{Name: "x", Ptr: &ptrLeaf{}}, "top")
	if len(errs) != 2 {
		t.Fatalf("errs = %q", messages(errs))
	}
	for _, e := range errs {
		var le *config.LineError
		if !errors.As(e, &le) || le.Path != "top.ptr" || le.Line != 0 {
			t.Errorf("%q: %#v", e, le)
		}
	}
}

func TestValidateTreeNothing(t *testing.T) {
	for name, v := range map[string]any{
		"nil":         nil,
		"nil pointer": (*root)(nil),
		"valid":       &root{Name: "ok"},
		"scalar":      42,
		"empty slice": []leaf{},
	} {
		if errs := config.ValidateTree(v, ""); len(errs) != 0 {
			t.Errorf("%s: %q", name, messages(errs))
		}
	}
}

// joined validates to an errors.Join of joins and wrapped joins.
type joined struct{}

func (joined) Validate() error {
	return errors.Join(
		errors.New("a: one"),
		errors.Join(errors.New("b: two"), errors.Join(errors.New("c: three"))),
		nil,
		fmt.Errorf("d: wraps %w", errors.New("four")),
	)
}

func TestValidateTreeFlattensJoins(t *testing.T) {
	got := messages(config.ValidateTree(joined{}, "j"))
	want := []string{"j: a: one", "j: b: two", "j: c: three", "j: d: wraps four"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := messages(config.ValidateTree(joined{}, "")); !slices.Equal(got, []string{"a: one", "b: two", "c: three", "d: wraps four"}) {
		t.Errorf("without a path: %q", got)
	}
}

// multiWrap validates to one message that wraps two errors: it is one problem, not a join.
type multiWrap struct{}

func (multiWrap) Validate() error {
	return fmt.Errorf("endpoint: %w (%w)", errors.New("unreachable"), errors.New("timeout"))
}

func TestValidateTreeKeepsMultiWrap(t *testing.T) {
	got := messages(config.ValidateTree(multiWrap{}, "x"))
	if !slices.Equal(got, []string{"x: endpoint: unreachable (timeout)"}) {
		t.Errorf("got %q", got)
	}
}

// The shared keys of a plugin entry: the path format of the loader, from ValidateTree alone.
func TestValidateTreePlugin(t *testing.T) {
	p := &config.Plugin{
		Name:      "lake",
		Kind:      plugin.KindDestination,
		Batch:     config.BatchConfig{MaxRecords: 0, MaxBytes: 4 << 20, MaxWait: time.Second},
		Retry:     config.RetryConfig{InitialInterval: time.Second, MaxInterval: time.Minute},
		Workers:   2,
		QueueSize: 1,
	}
	got := messages(config.ValidateTree(p, "plugins[2] (lake)"))
	if !slices.Equal(got, []string{"plugins[2] (lake): batch.max_records: must be at least 1"}) {
		t.Errorf("got %q", got)
	}
}

func TestProblems(t *testing.T) {
	var p config.Problems
	if p.Err() != nil {
		t.Fatalf("empty: %v", p.Err())
	}
	p.Addf("a: %d", 1)
	p.Addf("b: %s", "two")
	err := p.Err()
	if err == nil || err.Error() != "a: 1\nb: two" {
		t.Fatalf("err = %q", err)
	}
	if got := messages(config.ValidateTree(problemsValidator{&p}, "p")); !slices.Equal(got, []string{"p: a: 1", "p: b: two"}) {
		t.Errorf("got %q", got)
	}
}

type problemsValidator struct{ p *config.Problems }

func (v problemsValidator) Validate() error { return v.p.Err() }
