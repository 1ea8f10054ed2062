package mapping

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The five Cloud Exchange mapping files, unchanged (testdata/ce/README.md).
func TestLoadCloudExchangeFiles(t *testing.T) {
	tests := []struct {
		dir        string
		name       string
		plugin     string
		version    string
		kinds      []string
		alerts     int
		events     int
		checkKind  string
		checkSub   string
		wantTarget string
		json       bool
	}{
		{"cloudtrail", "AWS CloudTrail Lake Default Mappings", "cloudtrail", "1.0.0", []string{"alerts", "events"}, 12, 7, "alerts", "Compromised Credential", "userIdentity.principalId", false},
		{"syslog", "Syslog Default Mappings", "syslog", "3.3.1", []string{"logs", "webtx", "alerts", "events"}, 15, 13, "events", "clientstatus", "hostname", true},
		{"arcsight", "ArcSight Default Mappings", "arcsight", "3.1.0", []string{"logs", "webtx", "alerts", "events"}, 13, 6, "alerts", "dlp", "suser", true},
		{"qradar", "QRadar Default Mappings", "qradar", "3.1.0", []string{"logs", "webtx", "alerts", "events"}, 13, 6, "events", "page", "src", true},
		{"log_rhythm", "LogRhythm Default Mappings", "logrhythm", "3.1.0", []string{"logs", "webtx", "alerts", "events"}, 13, 6, "alerts", "uba", "suser", true},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			s, err := LoadFile(filepath.Join("testdata", "ce", tt.dir, "mappings.json"))
			if err != nil {
				t.Fatal(err)
			}
			if s.Name() != tt.name || s.Plugin() != tt.plugin || s.MapVersion() != tt.version {
				t.Errorf("name, plugin, version = %q, %q, %q", s.Name(), s.Plugin(), s.MapVersion())
			}
			if !slices.Equal(s.Kinds(), tt.kinds) {
				t.Errorf("kinds = %v, want %v", s.Kinds(), tt.kinds)
			}
			if got := len(s.Subtypes("alerts")); got != tt.alerts {
				t.Errorf("%d alert subtypes, want %d", got, tt.alerts)
			}
			if got := len(s.Subtypes("events")); got != tt.events {
				t.Errorf("%d event subtypes, want %d", got, tt.events)
			}
			m, ok := s.For(tt.checkKind, tt.checkSub)
			if !ok {
				t.Fatalf("For(%q, %q) not found", tt.checkKind, tt.checkSub)
			}
			if !slices.Contains(m.Targets(), tt.wantTarget) {
				t.Errorf("targets %v lack %q", m.Targets(), tt.wantTarget)
			}
			// Every subtype of every kind compiles and applies to an empty record without panicking.
			for _, kind := range s.Kinds() {
				for _, sub := range s.Subtypes(kind) {
					m, ok := s.For(kind, sub)
					if !ok {
						t.Fatalf("For(%q, %q) not found though listed", kind, sub)
					}
					if _, err := m.Apply(map[string]any{}); err != nil && tt.plugin != PluginCloudTrail {
						t.Errorf("%s/%s: %v", kind, sub, err)
					}
				}
			}
			f, ok := s.JSONFields("alerts", "dlp")
			if ok != tt.json || (ok && len(f) != 0) {
				t.Errorf("JSONFields(alerts, dlp) = %v, %v", f, ok)
			}
		})
	}
}

func TestLoadSyslogHeaders(t *testing.T) {
	s, err := LoadFile("testdata/ce/syslog/mappings.json")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s.WithVariables(map[string]string{"$Tenant_Name": "acme"}).For("alerts", "DLP")
	out, err := m.Apply(map[string]any{"alert_type": "DLP", "alert_name": "x", "dlp_rule_severity": "High", "user": "u@x"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{"Device Vendor", "Netskope"}, {"Device Product", "acme"}, {"Device Version", "NULL"},
		{"Device Event Class ID", "DLP"}, {"Name", "x"}, {"Severity", "High"},
	}
	if !slices.Equal(out.Header, want) {
		t.Errorf("header = %v, want %v", out.Header, want)
	}
	// A dotted mapping_field without is_json_path reads nested keys (CE syslog 4.x does).
	m, _ = s.For("events", "clientstatus")
	out, _ = m.Apply(map[string]any{"host_info": map[string]any{"hostname": "mbp-7", "os": "Mac"}})
	if v, _ := out.Get("hostname"); v != "mbp-7" {
		t.Errorf("hostname = %v", v)
	}
	if !slices.Equal(out.Used, []string{"host_info.hostname", "host_info.os"}) {
		t.Errorf("used = %v", out.Used)
	}
}

// The CE export, its decoded jsonData, the jsonData as an object, and our YAML form load to the
// same mapping.
func TestLoadForms(t *testing.T) {
	export, err := os.ReadFile("testdata/ce/cloudtrail/mappings.json")
	if err != nil {
		t.Fatal(err)
	}
	var outer struct {
		JSONData string `json:"jsonData"`
	}
	if err := json.Unmarshal(export, &outer); err != nil {
		t.Fatal(err)
	}
	inner := outer.JSONData
	asObject := `{"name": "n", "jsonData": ` + inner + `}`
	yamlForm := `
cloudtrail_map_version: "1.0.0"
taxonomy:
  alerts:
    dlp:
      extension:
        version: {default_value: "1", transformation: String}
        userIdentity.type: {default_value: NA, transformation: String, mapping_field: group}
        userIdentity.principalId: {mapping_field: user, transformation: String, default_value: NA}
        eventTime: {mapping_field: timestamp, transformation: String}
        eventName: {mapping_field: app_activity, transformation: String, default_value: NA}
        sourceIPAddress: {mapping_field: srcip, transformation: IP Address}
        UID: {mapping_field: transaction_id, transformation: String}
        userAgent: {transformation: String, mapping_field: browser}
`
	rec := recordFields(t, "alert_dlp.json")
	var want string
	for i, src := range []string{string(export), inner, asObject, yamlForm} {
		s, err := Load(strings.NewReader(src))
		if err != nil {
			t.Fatalf("form %d: %v", i, err)
		}
		m, ok := s.For("alerts", "dlp")
		if !ok {
			t.Fatalf("form %d: no alerts/dlp", i)
		}
		out, err := m.Apply(rec)
		if err != nil {
			t.Fatalf("form %d: %v", i, err)
		}
		got := out.String()
		if i == 0 {
			want = got
		} else if got != want {
			t.Errorf("form %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	ext := func(body string) string {
		return `{"taxonomy": {"alerts": {"dlp": {"header": {}, "extension": {` + body + `}}}}}`
	}
	wrap := func(inner string) string {
		b, _ := json.Marshal(map[string]any{"name": "x", "jsonData": inner})
		return string(b)
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"unknown transformation",
			ext(`"userIdentity.principalId": {"mapping_field": "user", "transformation": "Foo"}`),
			[]string{`line 1: taxonomy.alerts.dlp.extension.userIdentity.principalId: transformation "Foo" is not known (known: String, `}},
		{"unknown transformation inside jsonData",
			wrap("{\n\"taxonomy\": {\"alerts\": {\"dlp\": {\"extension\": {\n\"UID\": {\"mapping_field\": \"_id\", \"transformation\": \"Lowercase\"}}}}}}"),
			[]string{`jsonData line 3: taxonomy.alerts.dlp.extension.UID: transformation "Lowercase" is not known`}},
		{"misspelt key",
			ext(`"UID": {"maping_field": "_id"}`),
			[]string{`taxonomy.alerts.dlp.extension.UID.maping_field: is not known: a target field holds mapping_field, default_value, transformation, is_json_path (did you mean "mapping_field"?)`}},
		{"both empty", ext(`"UID": {"mapping_field": "", "default_value": ""}`),
			[]string{"taxonomy.alerts.dlp.extension.UID: mapping_field and default_value are both empty"}},
		{"empty field, no default", ext(`"UID": {"mapping_field": ""}`),
			[]string{"UID: mapping_field is empty and there is no default_value"}},
		{"empty default, no field", ext(`"UID": {"default_value": ""}`),
			[]string{"UID: default_value is empty and there is no mapping_field"}},
		{"neither", ext(`"UID": {"transformation": "String"}`),
			[]string{"UID: needs a mapping_field or a default_value"}},
		{"not a string", ext(`"UID": {"mapping_field": ["a"]}`),
			[]string{"UID: mapping_field must be a string"}},
		{"is_json_path not a bool", ext(`"UID": {"mapping_field": "a", "is_json_path": "yes"}`),
			[]string{"UID: is_json_path must be true or false"}},
		{"bad JSON path", ext(`"UID": {"mapping_field": "$.a[?(@.b)]", "is_json_path": true}`),
			[]string{`UID: mapping_field "$.a[?(@.b)]": filter and script expressions ([?(@.b)]) are not supported`}},
		{"value and object", ext(`"userIdentity": {"default_value": "x"}, "userIdentity.type": {"default_value": "User"}`),
			[]string{`userIdentity.type: target "userIdentity.type" needs "userIdentity" to be an object, but it is a target of its own`}},
		{"object then value", ext(`"a.b": {"default_value": "x"}, "a": {"default_value": "y"}`),
			[]string{`extension.a: target "a" is also an object holding other targets (a.*)`}},
		{"empty target part", ext(`"a..b": {"default_value": "x"}`),
			[]string{`target "a..b" has an empty part`}},
		{"duplicate key", ext(`"UID": {"default_value": "x"}, "UID": {"default_value": "y"}`),
			[]string{"taxonomy.alerts.dlp.extension.UID: appears twice"}},
		{"same subtype twice", `{"taxonomy": {"alerts": {"Security Assessment": {"extension": {}}, "securityassessment": {"extension": {}}}}}`,
			[]string{`taxonomy.alerts.securityassessment: is the same subtype as "Security Assessment"`}},
		{"no extension", `{"taxonomy": {"alerts": {"dlp": {"header": {}}}}}`,
			[]string{`taxonomy.alerts.dlp: has no "extension" object`}},
		{"unknown subtype key", `{"taxonomy": {"alerts": {"dlp": {"extension": {}, "extensions": {}}}}}`,
			[]string{`taxonomy.alerts.dlp.extensions: is not known: a subtype holds "header" and "extension" (did you mean "extension"?)`}},
		{"no taxonomy", `{"name": "x", "delimiter": "|"}`,
			[]string{`has no "taxonomy" object: not a Cloud Exchange mapping`}},
		{"taxonomy not an object", `{"taxonomy": []}`, []string{"taxonomy: must be an object of kinds"}},
		{"kind not an object", `{"taxonomy": {"alerts": "dlp"}}`, []string{"taxonomy.alerts: must be an object of subtypes"}},
		{"jsonData not JSON", `{"name": "x", "jsonData": "{\"taxonomy\": {"}`, []string{"jsonData: not valid JSON"}},
		{"jsonData wrong type", `{"name": "x", "jsonData": 3}`, []string{"jsonData: must be a string holding the mapping's JSON"}},
		{"not JSON or YAML", `{"taxonomy": `, []string{"not a JSON or YAML object"}},
		{"empty", ``, []string{"the file is empty"}},
		{"a list", `[1, 2]`, []string{"the top level must be an object"}},
		{"json list not a list", `{"taxonomy": {"json": {"alerts": {"dlp": "x"}}}}`, []string{"taxonomy.json.alerts.dlp: must be a list of field names"}},
		{"default fails its transformation", ext(`"n": {"mapping_field": "count", "default_value": "many", "transformation": "Integer"}`),
			[]string{`extension.n: default_value "many" does not pass transformation "Integer": "many" is not an integer`}},
		{"several problems", ext(`"a": {"transformation": "X", "default_value": "1"}, "b": {}`),
			[]string{`extension.a: transformation "X" is not known`, "extension.b: needs a mapping_field or a default_value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("loaded (%v); want an error", s.Kinds())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %v\nlacks\n  %s", err, w)
				}
			}
			var me *Error
			if !errors.As(err, &me) {
				t.Errorf("error %T is not a *mapping.Error", err)
			}
		})
	}
}

func TestLoadFileNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "my-mapping.yaml")
	if err := os.WriteFile(p, []byte("taxonomy:\n  alerts:\n    dlp:\n      extension:\n        UID: {mapping_field: _id, transformation: Foo}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(p)
	want := p + `: line 5: taxonomy.alerts.dlp.extension.UID: transformation "Foo" is not known`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v\nwant prefix %s", err, want)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadCapsErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"taxonomy": {"alerts": {"dlp": {"extension": {`)
	for i := range 30 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"t` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `": {}`)
	}
	b.WriteString(`}}}}}`)
	_, err := Load(strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "10 more problems not shown") {
		t.Errorf("error = %v", err)
	}
}

func TestForMatching(t *testing.T) {
	s, err := LoadFile("testdata/ce/cloudtrail/mappings.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind, sub string
		want      string // Subtype as written, "" for not found
	}{
		{"alerts", "dlp", "dlp"},
		{"alerts", "DLP", "dlp"},
		{"alert", "dlp", "dlp"},
		{"Alerts", "compromisedcredential", "Compromised Credential"},
		{"alerts", "Compromised Credential", "Compromised Credential"},
		{"alerts", "securityassessment", "Security Assessment"},
		{"alerts", "malsite", "Malsite"},
		{"events", "audit", "audit"},
		{"event", "page", "page"},
		{"alerts", "ctep", ""},     // not in CE's CloudTrail file
		{"events", "endpoint", ""}, // nor this
		{"alerts", "nosuch", ""},
		{"webtx", "v2", ""},
		{"", "dlp", ""},
	}
	for _, tt := range tests {
		m, ok := s.For(tt.kind, tt.sub)
		if ok != (tt.want != "") || (ok && m.Subtype != tt.want) {
			t.Errorf("For(%q, %q) = %v, %v; want %q", tt.kind, tt.sub, m, ok, tt.want)
		}
	}
}
