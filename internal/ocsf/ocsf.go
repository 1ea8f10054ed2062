// Package ocsf maps logshipper records to OCSF 1.1.0 classes (the schema version Amazon
// Security Lake accepts) and validates them against the schema. Each class is a Go struct
// whose json and parquet tags carry the OCSF attribute names, so one value is both a JSON
// record and a Parquet row. README.md has the mapping table and the reasons for each class.
package ocsf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// unknown names what a required attribute needs and the record does not say: an endpoint, a
// user, a service. Observables never carry it.
const unknown = "Unknown"

// Version is the OCSF version of every record this package makes (metadata.version).
const Version = "1.1.0"

// Event is one OCSF record: a pointer to one of this package's class structs.
type Event interface {
	ClassUID() int        // e.g. 6003
	EventTime() time.Time // the record's time (Security Lake's eventDay partition)
	CloudAccount() string // cloud.account.uid; may be empty
	CloudRegion() string  // cloud.region; may be empty
}

// ErrUnsupported matches (errors.Is) the error FromRecord returns for a record of a kind it
// does not map.
var ErrUnsupported = errors.New("ocsf: record kind not mapped")

// FromRecord maps a record by its Kind and Subtype: an error wrapping ErrUnsupported for kinds
// it does not map, another error (naming the field) for a record it cannot map.
func FromRecord(r *event.Record) (Event, error) {
	if r == nil {
		return nil, errors.New("ocsf: nil record")
	}
	switch r.Kind {
	case event.KindCloudTrail:
		return fromCloudTrail(r)
	case event.KindNetskopeEvent, event.KindNetskopeAlert:
		return fromNetskope(r)
	}
	return nil, fmt.Errorf("%w: kind %q", ErrUnsupported, r.Kind)
}

// setClass fills the classification attributes of b: class, category, activity and type, with
// their captions from the schema table. name is the activity's name for activity 99 (Other),
// the source's own word for it; the table's caption otherwise.
func setClass(b *Base, class int64, activity int64, name string) {
	spec := classes[class]
	b.ClassID, b.ClassName = int32(class), spec.name
	b.CategoryID, b.CategoryName = int32(spec.categoryUID), spec.categoryName
	b.ActivityID = int32(activity)
	b.ActivityName = spec.activities[activity]
	if activity == 99 && name != "" {
		b.ActivityName = name
	}
	b.TypeID = class*100 + activity
	b.TypeName = spec.name + ": " + b.ActivityName
}

// setSeverity sets severity_id and its caption.
func setSeverity(b *Base, id int64) {
	b.SeverityID, b.Severity = int32(id), severityNames[id]
}

// setStatus sets status_id (1 Success, 2 Failure, 0 Unknown) and its caption.
func setStatus(b *Base, id int64) {
	if id == 0 {
		return
	}
	b.StatusID, b.Status = int32(id), statusNames[id]
}

// ValidateJSON checks one OCSF record given as a JSON object, as Validate does. It checks
// records read back from a file (a Parquet reader's JSON) the same way as those made here.
func ValidateJSON(data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return fmt.Errorf("ocsf: record is not a JSON object: %w", err)
	}
	return validateRecord(m)
}

// Validate checks ev against OCSF 1.1.0: required attributes present, enum values known,
// type_uid = class_uid*100 + activity_id, category_uid matching the class, metadata.version.
// Every attribute must be one the schema table lists for its class or object, with its type.
func Validate(ev Event) error {
	if ev == nil || reflect.ValueOf(ev).IsNil() {
		return errors.New("ocsf: nil event")
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("ocsf: encode class %d: %w", ev.ClassUID(), err)
	}
	return ValidateJSON(data)
}

func validateRecord(m map[string]any) error {
	class, ok := intOf(m["class_uid"])
	if !ok {
		return errors.New("ocsf: class_uid: missing or not an integer")
	}
	spec, ok := classes[class]
	if !ok {
		return fmt.Errorf("ocsf: class_uid %d: not a class of this package's OCSF %s table", class, Version)
	}
	v := validator{profiles: map[string]bool{}}
	if md, ok := m["metadata"].(map[string]any); ok {
		list, _ := md["profiles"].([]any)
		for _, p := range list {
			if s, ok := p.(string); ok {
				v.profiles[s] = true
			}
		}
	}
	v.object(spec.name, "", m, spec.attrs)
	if cat, ok := intOf(m["category_uid"]); ok && cat != spec.categoryUID {
		v.addf("category_uid: %d, want %d for class %d", cat, spec.categoryUID, class)
	}
	act, actOK := intOf(m["activity_id"])
	if actOK {
		if _, known := spec.activities[act]; !known {
			v.addf("activity_id: %d is not an activity of %s", act, spec.name)
		}
	}
	if typ, ok := intOf(m["type_uid"]); ok && actOK && typ != class*100+act {
		v.addf("type_uid: %d, want class_uid*100+activity_id = %d", typ, class*100+act)
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		if ver, _ := md["version"].(string); ver != Version {
			v.addf("metadata.version: %q, want %q", ver, Version)
		}
	}
	v.captions(m, spec, class)
	if len(v.errs) == 0 {
		return nil
	}
	return fmt.Errorf("ocsf: %s record invalid: %w", spec.name, errors.Join(v.errs...))
}

type validator struct {
	errs     []error
	profiles map[string]bool // the profiles metadata.profiles declares
}

func (v *validator) addf(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf(format, args...))
}

// captions checks the *_name siblings of the ids against the table's captions.
func (v *validator) captions(m map[string]any, spec classSpec, class int64) {
	want := func(key, caption string) {
		if got, ok := m[key].(string); ok && got != caption {
			v.addf("%s: %q, want %q", key, got, caption)
		}
	}
	want("class_name", spec.name)
	want("category_name", spec.categoryName)
	act, _ := intOf(m["activity_id"])
	if act != 99 {
		want("activity_name", spec.activities[act])
		if name, ok := spec.activities[act]; ok {
			want("type_name", spec.name+": "+name)
		}
	}
	if sev, ok := intOf(m["severity_id"]); ok && sev != 99 {
		want("severity", severityNames[sev])
	}
	if st, ok := intOf(m["status_id"]); ok && st != 99 {
		names := statusNames
		if class == ClassDetectionFinding {
			names = findingStatusNames
		}
		want("status", names[st])
	}
}

// object checks the attributes of one object (or of the record itself) named name at path.
func (v *validator) object(name, path string, m map[string]any, attrs map[string]attrSpec) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec, ok := attrs[k]
		if !ok {
			v.addf("%s%s: not an attribute of %s in OCSF %s", path, k, name, Version)
			continue
		}
		if m[k] == nil {
			continue // null: absent; required attributes are checked below
		}
		if spec.profile != "" && !v.profiles[spec.profile] {
			v.addf("%s%s: an attribute of the %s profile, which metadata.profiles does not name", path, k, spec.profile)
		}
		v.attr(path+k, m[k], spec)
	}
	req := make([]string, 0, len(attrs))
	for k, spec := range attrs {
		if spec.required && (spec.profile == "" || v.profiles[spec.profile]) {
			req = append(req, k)
		}
	}
	sort.Strings(req)
	for _, k := range req {
		if missing(m[k]) {
			v.addf("%s%s: required by %s, missing", path, k, name)
		}
	}
	if one, ok := atLeastOne[name]; ok {
		for _, k := range one {
			if !missing(m[k]) {
				return
			}
		}
		v.addf("%s: has none of %s (the %s object's at_least_one)", strings.TrimSuffix(path, "."), strings.Join(one, ", "), name)
	}
}

// missing reports whether a required attribute's value is absent: null, an empty string or
// an empty list.
func missing(val any) bool {
	switch t := val.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	}
	return false
}

func (v *validator) attr(path string, val any, spec attrSpec) {
	if spec.array {
		list, ok := val.([]any)
		if !ok {
			v.addf("%s: want a list", path)
			return
		}
		one := spec
		one.array = false
		for i, e := range list {
			if e == nil {
				v.addf("%s[%d]: null element", path, i)
				continue
			}
			v.attr(fmt.Sprintf("%s[%d]", path, i), e, one)
		}
		return
	}
	switch spec.typ {
	case tString:
		if _, ok := val.(string); !ok {
			v.addf("%s: want a string, have %T", path, val)
		}
	case tBoolean:
		if _, ok := val.(bool); !ok {
			v.addf("%s: want a boolean, have %T", path, val)
		}
	case tInteger, tLong, tTimestamp:
		n, ok := intOf(val)
		switch {
		case !ok:
			v.addf("%s: want an integer, have %v", path, val)
		case spec.typ == tInteger && (n < math.MinInt32 || n > math.MaxInt32):
			v.addf("%s: %d is out of integer_t's 32-bit range", path, n)
		case spec.typ == tTimestamp && n < 0:
			v.addf("%s: %d is before the epoch", path, n)
		case spec.enum != nil && !containsInt(spec.enum, n):
			v.addf("%s: %d is not a known value", path, n)
		}
	case tMap:
		obj, ok := val.(map[string]any)
		if !ok {
			v.addf("%s: want an object, have %T", path, val)
			return
		}
		for k, e := range obj {
			if _, ok := e.(string); !ok && e != nil {
				v.addf("%s.%s: want a string, have %T", path, k, e)
			}
		}
	case tObject:
		obj, ok := val.(map[string]any)
		if !ok {
			v.addf("%s: want a %s object, have %T", path, spec.object, val)
			return
		}
		v.object(spec.object, path+".", obj, objects[spec.object])
	}
}

func containsInt(list []int64, n int64) bool {
	for _, e := range list {
		if e == n {
			return true
		}
	}
	return false
}

// intOf is val as an integer when it is a JSON integer.
func intOf(val any) (int64, bool) {
	switch t := val.(type) {
	case json.Number:
		if strings.ContainsAny(string(t), ".eE") {
			return 0, false
		}
		n, err := t.Int64()
		return n, err == nil
	case float64:
		if t != math.Trunc(t) {
			return 0, false
		}
		return int64(t), true
	}
	return 0, false
}
