package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/logshipper/logshipper/internal/event"
)

// Validator is implemented by configuration structs. Validate checks the struct's own fields;
// ValidateTree walks into nested structs itself, so a parent does not validate its children.
type Validator interface {
	Validate() error
}

// Warner is implemented by configuration structs whose valid settings still deserve a warning
// (an insecure choice). Warnings lists them, each starting with its key, in the form of a
// Validate problem ("insecure_skip_verify: ...").
type Warner interface {
	Warnings() []string
}

// KindedSource is implemented by source configurations whose key chooses the kinds of their
// records (the file source's record_kind). The loader warns of a SIEM mapping whose destination
// (a plugin.KindRefuser) refuses every kind the source's records carry: it would send nothing.
type KindedSource interface {
	// RecordKinds returns the key, its value in this configuration, and the kinds of record
	// each of its values gives ("" is a record of no kind).
	RecordKinds() (key, value string, kinds map[string][]event.Kind)
}

// HostChecker is implemented by configuration structs that name places on this machine that
// run writes (a file destination's path). CheckHost reports what would stop run from using them,
// creating nothing; the loader calls it only when asked (CheckHost), as validate and run do.
type HostChecker interface {
	CheckHost() error
}

// Claimer is implemented by plugin configurations that need something no other configuration
// of the process may use (a Netskope tenant's iterator indexes). The loader refuses a second
// entry with a key of the first, with the second's Problem.
type Claimer interface {
	// Claims lists what the configuration named name claims.
	Claims(name string) []Claim
}

// Claim is one thing a Claimer needs for itself.
type Claim struct {
	// Key identifies what is claimed: two entries with one key conflict.
	Key string
	// Problem is the problem of the entry that claims Key second, given the path of the first
	// ("plugins[0] (acme)"); it starts with the key of the option to change.
	Problem func(first string) string
}

// hostTree is ValidateTree for HostChecker.
func hostTree(v any, path string) []error {
	var errs []error
	walkStructs(reflect.ValueOf(v), path, func(s any, path string) {
		if h, ok := s.(HostChecker); ok {
			addErrs(&errs, path, h.CheckHost())
		}
	})
	return errs
}

// ValidateTree calls Validate on v and on every struct reachable from it through fields with a
// yaml key, slices and maps, and returns every problem, each prefixed with its path (yaml keys
// joined by dots, indexes in brackets). It never stops at the first problem.
func ValidateTree(v any, path string) []error {
	var errs []error
	walkStructs(reflect.ValueOf(v), path, func(s any, path string) {
		if val, ok := s.(Validator); ok {
			addErrs(&errs, path, val.Validate())
		}
	})
	return errs
}

// WarnTree collects the Warnings of v and of every struct reachable from it, as ValidateTree
// walks, each prefixed with its path.
func WarnTree(v any, path string) []string {
	var out []string
	walkStructs(reflect.ValueOf(v), path, func(s any, path string) {
		if w, ok := s.(Warner); ok {
			for _, msg := range w.Warnings() {
				out = append(out, (&LineError{Path: path, Err: errors.New(msg)}).Error())
			}
		}
	})
	return out
}

// walkStructs calls visit with every struct reachable from v (through fields with a yaml key,
// pointers, interfaces, slices and maps), as a pointer to it, so that methods with either
// receiver are found, and with its path.
func walkStructs(v reflect.Value, path string, visit func(s any, path string)) {
	if !v.IsValid() {
		return
	}
	if v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		// The struct behind the pointer is addressable, so the struct case below visits it
		// exactly once.
		walkStructs(v.Elem(), path, visit)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if !v.CanAddr() {
			// A map value or a struct in an interface: visit a copy that has an address, or
			// a method with a pointer receiver would be missed.
			c := reflect.New(v.Type()).Elem()
			c.Set(v)
			v = c
		}
		visit(v.Addr().Interface(), path)
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			fp := path
			if !strings.Contains(opts, "inline") {
				if name == "" {
					name = strings.ToLower(f.Name)
				}
				fp = joinPath(path, name)
			}
			fv := v.Field(i)
			// Walk into structs and containers only; a method of the parent covers scalars.
			switch fv.Kind() {
			case reflect.Struct, reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Array, reflect.Map:
				walkStructs(fv, fp, visit)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStructs(v.Index(i), fmt.Sprintf("%s[%d]", path, i), visit)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			walkStructs(iter.Value(), joinPath(path, fmt.Sprint(iter.Key().Interface())), visit)
		}
	}
}

// addErrs flattens joined errors so each problem gets its own line and its own path.
func addErrs(errs *[]error, path string, err error) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok && isJoin(err, j.Unwrap()) {
		for _, e := range j.Unwrap() {
			addErrs(errs, path, e)
		}
		return
	}
	// With no path the problem still becomes a LineError: the loader finds its line by the key
	// its message starts with ("data_dir: must not be empty").
	*errs = append(*errs, &LineError{Path: path, Err: err})
}

// isJoin tells an errors.Join, whose text is its errors' texts one a line, from an error that
// wraps several in a message of its own (fmt.Errorf with two %w), which must stay whole.
func isJoin(err error, parts []error) bool {
	texts := make([]string, 0, len(parts))
	for _, p := range parts {
		texts = append(texts, p.Error())
	}
	return err.Error() == strings.Join(texts, "\n")
}

// Problems collects validation messages in a Validate method, so it can report every one.
type Problems struct{ errs []error }

// Addf records a problem; start the format with the field's key ("max_records: must be ...").
func (p *Problems) Addf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

// Err returns the problems joined, or nil.
func (p *Problems) Err() error { return errors.Join(p.errs...) }
