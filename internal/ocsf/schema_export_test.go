//go:build ocsfexport

package ocsf

// TestSchemaTableAgainstExport checks schema.go against the OCSF schema server's complete
// 1.1.0 export (README.md, "Schema table"). It needs the export, which is not in this
// repository; run it with:
//
//	go mod download github.com/valllabh/ocsf-schema-golang@v1.0.3   (outside this module: cd /tmp)
//	OCSF_SCHEMA_JSON=$(go env GOMODCACHE)/github.com/valllabh/ocsf-schema-golang@v1.0.3/schema/v1.1-schema.json \
//	    go test -tags ocsfexport -run TestSchemaTableAgainstExport ./internal/ocsf

import (
	"encoding/json"
	"os"
	"sort"
	"strconv"
	"testing"
)

type exportAttr struct {
	Type        string                     `json:"type"`
	ObjectType  string                     `json:"object_type"`
	IsArray     bool                       `json:"is_array"`
	Requirement string                     `json:"requirement"`
	Profile     string                     `json:"profile"`
	Enum        map[string]json.RawMessage `json:"enum"`
}

type exportSchema struct {
	Version    string `json:"version"`
	Categories struct {
		Attributes map[string]struct {
			UID int64 `json:"uid"`
		} `json:"attributes"`
	} `json:"categories"`
	Classes map[string]struct {
		UID        int64                 `json:"uid"`
		Caption    string                `json:"caption"`
		Category   string                `json:"category"`
		Attributes map[string]exportAttr `json:"attributes"`
	} `json:"classes"`
	Objects map[string]struct {
		Attributes  map[string]exportAttr `json:"attributes"`
		Constraints struct {
			AtLeastOne []string `json:"at_least_one"`
		} `json:"constraints"`
	} `json:"objects"`
}

// deliberate are the entries where the table is stricter than the release, on purpose.
var deliberate = map[string]bool{
	"Authentication.dst_endpoint": true, // AWS's validator requires it
	"observable.type_id":          true, // the values used here
}

func TestSchemaTableAgainstExport(t *testing.T) {
	path := os.Getenv("OCSF_SCHEMA_JSON")
	if path == "" {
		t.Fatal("OCSF_SCHEMA_JSON is not set: see this file's comment for the command")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ex exportSchema
	if err := json.Unmarshal(data, &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Version != Version {
		t.Fatalf("export is of OCSF %s, want %s", ex.Version, Version)
	}
	for uid, c := range classes {
		found := false
		for _, ec := range ex.Classes {
			cat, ok := ex.Categories.Attributes[ec.Category]
			if !ok || cat.UID*1000+ec.UID != uid {
				continue
			}
			found = true
			if ec.Caption != c.name {
				t.Errorf("class %d: caption %q, export %q", uid, c.name, ec.Caption)
			}
			act := enumKeys(ec.Attributes["activity_id"].Enum)
			if got := sortedKeys(c.activities); !equalInts(got, act) {
				t.Errorf("class %d: activities %v, export %v", uid, got, act)
			}
			compareAttrs(t, c.name, c.attrs, ec.Attributes)
		}
		if !found {
			t.Errorf("class %d is not in the export", uid)
		}
	}
	for name, attrs := range objects {
		eo, ok := ex.Objects[name]
		if !ok {
			t.Errorf("object %s is not in the export", name)
			continue
		}
		compareAttrs(t, name, attrs, eo.Attributes)
		if one := atLeastOne[name]; len(one) > 0 || len(eo.Constraints.AtLeastOne) > 0 {
			a, b := append([]string(nil), one...), append([]string(nil), eo.Constraints.AtLeastOne...)
			sort.Strings(a)
			sort.Strings(b)
			if !equalStrings(a, b) {
				t.Errorf("object %s: at_least_one %v, export %v", name, a, b)
			}
		}
	}
}

var stringTypes = map[string]bool{"string_t": true, "ip_t": true, "email_t": true, "hostname_t": true,
	"url_t": true, "uuid_t": true, "file_name_t": true, "mac_t": true, "username_t": true}

func compareAttrs(t *testing.T, where string, mine map[string]attrSpec, theirs map[string]exportAttr) {
	t.Helper()
	for name, a := range mine {
		e, ok := theirs[name]
		if !ok {
			t.Errorf("%s.%s is not in OCSF %s", where, name, Version)
			continue
		}
		typeOK := false
		switch a.typ {
		case tString:
			typeOK = stringTypes[e.Type]
		case tInteger:
			typeOK = e.Type == "integer_t" || e.Type == "port_t"
		case tLong:
			typeOK = e.Type == "long_t"
		case tTimestamp:
			typeOK = e.Type == "timestamp_t"
		case tBoolean:
			typeOK = e.Type == "boolean_t"
		case tObject:
			typeOK = e.Type == "object_t" && e.ObjectType == a.object
		case tMap:
			typeOK = e.Type == "object_t" || e.Type == "json_t"
		}
		if !typeOK {
			t.Errorf("%s.%s: type %d/%s, export %s/%s", where, name, a.typ, a.object, e.Type, e.ObjectType)
		}
		if a.array != e.IsArray {
			t.Errorf("%s.%s: list %v, export %v", where, name, a.array, e.IsArray)
		}
		// The export applies every profile: a profile's attribute is required there when its
		// profile requires it; activity_id's requirement is blank in some class exports.
		req := e.Requirement == "required" || (name == "activity_id" && e.Requirement == "")
		if a.required != req && !deliberate[where+"."+name] {
			t.Errorf("%s.%s: required %v, export %q", where, name, a.required, e.Requirement)
		}
		if a.enum != nil && len(e.Enum) > 0 && !deliberate[where+"."+name] {
			got := append([]int64(nil), a.enum...)
			sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
			if want := enumKeys(e.Enum); !equalInts(got, want) {
				t.Errorf("%s.%s: enum %v, export %v", where, name, got, want)
			}
		}
	}
	for name, e := range theirs {
		if e.Requirement == "required" && e.Profile == "" {
			if _, ok := mine[name]; !ok {
				t.Errorf("%s.%s: required by OCSF %s, not in the table", where, name, Version)
			}
		}
	}
}

func enumKeys(m map[string]json.RawMessage) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		n, err := strconv.ParseInt(k, 10, 64)
		if err == nil {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sortedKeys(m map[int64]string) []int64 {
	out := keys(m)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
