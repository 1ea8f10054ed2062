package ocsf

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

// validFinding is a Detection Finding that validates; the cases below break one rule each.
func validFinding(t *testing.T) map[string]any {
	t.Helper()
	ev, err := FromRecord(&event.Record{Kind: event.KindNetskopeAlert, Subtype: "dlp",
		Raw: []byte(`{"_id":"f1","timestamp":1708989385,"alert_name":"DLP","dlp_rule":"PCI","severity":"High","file_name":"a.txt","md5":"00","user":"u@x.y","srcip":"10.0.0.1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(ev); err != nil {
		t.Fatalf("the valid record does not validate: %v", err)
	}
	data, _ := json.Marshal(ev)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func obj(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		switch v := m[p].(type) {
		case map[string]any:
			m = v
		case []any:
			m = v[0].(map[string]any)
		}
	}
	return m
}

// TestValidateRejects checks each rule of Validate can fail, and names what failed.
func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(m map[string]any)
		want   string
	}{
		{"class_uid missing", func(m map[string]any) { delete(m, "class_uid") }, "class_uid"},
		{"class not in the table", func(m map[string]any) { m["class_uid"] = 2001 }, "class_uid 2001"},
		{"time missing", func(m map[string]any) { delete(m, "time") }, "time: required"},
		{"metadata missing", func(m map[string]any) { delete(m, "metadata") }, "metadata: required"},
		{"metadata.product missing", func(m map[string]any) { delete(obj(m, "metadata"), "product") }, "metadata.product: required"},
		{"product.vendor_name empty", func(m map[string]any) { obj(m, "metadata", "product")["vendor_name"] = "" }, "metadata.product.vendor_name: required"},
		{"wrong metadata.version", func(m map[string]any) { obj(m, "metadata")["version"] = "1.0.0" }, `metadata.version: "1.0.0"`},
		{"finding_info missing", func(m map[string]any) { delete(m, "finding_info") }, "finding_info: required"},
		{"finding_info.uid missing", func(m map[string]any) { delete(obj(m, "finding_info"), "uid") }, "finding_info.uid: required"},
		{"type_uid not class*100+activity", func(m map[string]any) { m["type_uid"] = 200402 }, "type_uid: 200402"},
		{"category of another class", func(m map[string]any) { m["category_uid"] = 6 }, "category_uid: 6"},
		{"unknown activity", func(m map[string]any) { m["activity_id"] = 7; m["type_uid"] = 200407 }, "activity_id: 7"},
		{"unknown severity", func(m map[string]any) { m["severity_id"] = 9 }, "severity_id: 9"},
		{"finding status beyond the enum", func(m map[string]any) { m["status_id"] = 5 }, "status_id: 5"},
		{"nested enum", func(m map[string]any) { obj(m, "evidences", "file")["type_id"] = 42 }, "evidences[0].file.type_id: 42"},
		{"integer as string", func(m map[string]any) { m["severity_id"] = "4" }, "severity_id: want an integer"},
		{"time with a fraction", func(m map[string]any) { m["time"] = 1.5 }, "time: want an integer"},
		{"integer_t out of range", func(m map[string]any) { m["count"] = 1 << 40 }, "count: 1099511627776 is out of"},
		{"string as number", func(m map[string]any) { obj(m, "finding_info")["title"] = 5 }, "finding_info.title: want a string"},
		{"object as string", func(m map[string]any) { m["finding_info"] = "x" }, "want a finding_info object"},
		{"list as object", func(m map[string]any) { m["evidences"] = map[string]any{} }, "evidences: want a list"},
		{"attribute not in OCSF 1.1.0", func(m map[string]any) { m["data_security"] = map[string]any{} }, "data_security: not an attribute of Detection Finding"},
		{"nested attribute not in the object", func(m map[string]any) { obj(m, "metadata")["tenant"] = "x" }, "metadata.tenant: not an attribute of metadata"},
		{"unmapped value not text", func(m map[string]any) { m["unmapped"] = map[string]any{"a": 1} }, "unmapped.a: want a string"},
		{"caption not the class's", func(m map[string]any) { m["class_name"] = "Security Finding" }, `class_name: "Security Finding"`},
		{"a profile's attribute without the profile", func(m map[string]any) { m["cloud"] = map[string]any{"provider": "AWS"} }, "cloud: an attribute of the cloud profile"},
		{"a declared profile's required attribute missing", func(m map[string]any) { obj(m, "metadata")["profiles"] = []any{"cloud"} }, "cloud: required by Detection Finding"},
		{"an endpoint naming nothing", func(m map[string]any) { obj(m, "evidences")["src_endpoint"] = map[string]any{"port": 22} }, "evidences[0].src_endpoint: has none of ip, uid"},
		{"an evidence with nothing", func(m map[string]any) { m["evidences"] = []any{map[string]any{}} }, "evidences[0]: has none of actor, api"},
		{"a user without name, uid or account", func(m map[string]any) { obj(m, "evidences", "actor", "user")["name"] = "" }, "evidences[0].actor.user: has none of account, name, uid"},
		{"severity caption", func(m map[string]any) { m["severity"] = "Low" }, `severity: "Low", want "High"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validFinding(t)
			tt.change(m)
			data, _ := json.Marshal(m)
			err := ValidateJSON(data)
			if err == nil {
				t.Fatalf("validated: %s", data)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	if err := Validate(nil); err == nil {
		t.Fatal("nil validated")
	}
	if err := Validate((*APIActivity)(nil)); err == nil {
		t.Fatal("nil *APIActivity validated")
	}
	if err := ValidateJSON([]byte(`[1]`)); err == nil {
		t.Fatal("a JSON array validated")
	}
}

// TestSchemaTableIsConsistent checks the schema table itself: every object an attribute names
// is in the table, and every class's activities include 0 Unknown and 99 Other.
func TestSchemaTableIsConsistent(t *testing.T) {
	check := func(where string, attrs map[string]attrSpec) {
		for name, a := range attrs {
			if a.typ == tObject {
				if _, ok := objects[a.object]; !ok {
					t.Errorf("%s.%s names object %q, not in the table", where, name, a.object)
				}
			}
		}
	}
	for uid, c := range classes {
		check(c.name, c.attrs)
		if c.activities[0] != "Unknown" || c.activities[99] != "Other" {
			t.Errorf("class %d: activities %v lack Unknown or Other", uid, c.activities)
		}
		if uid/1000 != c.categoryUID {
			t.Errorf("class %d: category %d, want %d", uid, c.categoryUID, uid/1000)
		}
	}
	for name, attrs := range objects {
		check(name, attrs)
	}
}
