package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Validator is implemented by configuration structs. Validate checks the struct's own fields;
// ValidateTree walks into nested structs itself, so a parent does not validate its children.
type Validator interface {
	Validate() error
}

var validatorType = reflect.TypeFor[Validator]()

// ValidateTree calls Validate on v and on every struct reachable from it through fields with a
// yaml key, slices and maps, and returns every problem, each prefixed with its path (yaml keys
// joined by dots, indexes in brackets). It never stops at the first problem.
func ValidateTree(v any, path string) []error {
	var errs []error
	walkValidate(reflect.ValueOf(v), path, &errs)
	return errs
}

func walkValidate(v reflect.Value, path string, errs *[]error) {
	if !v.IsValid() {
		return
	}
	if v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		// The struct behind the pointer is addressable, so the struct case below calls its
		// Validate exactly once.
		walkValidate(v.Elem(), path, errs)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if !v.CanAddr() && reflect.PointerTo(v.Type()).Implements(validatorType) {
			// A map value or a struct in an interface: validate a copy that has an address, or
			// a Validate with a pointer receiver would be skipped.
			c := reflect.New(v.Type()).Elem()
			c.Set(v)
			v = c
		}
		if v.CanAddr() && v.Addr().Type().Implements(validatorType) {
			addErrs(errs, path, v.Addr().Interface().(Validator).Validate())
		} else if v.Type().Implements(validatorType) {
			addErrs(errs, path, v.Interface().(Validator).Validate())
		}
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
			// Walk into structs and containers only; a Validate on the parent covers scalars.
			switch fv.Kind() {
			case reflect.Struct, reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Array, reflect.Map:
				walkValidate(fv, fp, errs)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkValidate(v.Index(i), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			walkValidate(iter.Value(), joinPath(path, fmt.Sprint(iter.Key().Interface())), errs)
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
	if path == "" {
		*errs = append(*errs, err)
		return
	}
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
