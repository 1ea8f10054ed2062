package syslog

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

// ceTarget is one header or extension entry of CE's syslog mapping file.
type ceTarget struct {
	Field string  `json:"mapping_field"`
	Def   *string `json:"default_value"`
	Conv  string  `json:"transformation"`
}

// ceSubtype is one subtype of CE's syslog mapping file.
type ceSubtype struct {
	Header    map[string]ceTarget `json:"header"`
	Extension map[string]ceTarget `json:"extension"`
}

// TestCEFMatchesCloudExchange compares our CEF, field by field, with what CE's syslog plugin
// writes for the same record (its CEF generator, netskopeoss/ta_cloud_exchange_plugins
// syslog/utils/syslog_cef_generator.py, modelled below), for every alert and event subtype of
// CE's mapping file: a record holding every field the subtype maps. CE writes every mapped key
// whose field the record holds, labels included, the header values with $tenant_name replaced,
// and the Severity through its severity maps. Extension order is not compared (CE sorts keys).
func TestCEFMatchesCloudExchange(t *testing.T) {
	var file struct{ JSONData string }
	if err := json.Unmarshal(netskopeMappingFile, &file); err != nil {
		t.Fatal(err)
	}
	var inner struct {
		Taxonomy map[string]map[string]ceSubtype `json:"taxonomy"`
	}
	if err := json.Unmarshal([]byte(file.JSONData), &inner); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("127.0.0.1:514")
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	subtypes := 0
	for _, kind := range []string{"alerts", "events"} {
		for _, st := range slices.Sorted(maps.Keys(inner.Taxonomy[kind])) {
			sub := inner.Taxonomy[kind][st]
			subtypes++
			t.Run(kind+"/"+st, func(t *testing.T) {
				// A record with every mapped field, valued by its transformation.
				rec := map[string]any{}
				text := map[string]string{} // the field's value as CE's str() writes it
				for _, tg := range append(slices.Collect(maps.Values(sub.Header)), slices.Collect(maps.Values(sub.Extension))...) {
					if tg.Field == "" {
						continue
					}
					switch tg.Conv {
					case "Integer":
						rec[tg.Field], text[tg.Field] = 1709294400, "1709294400"
					case "Floating Point":
						rec[tg.Field], text[tg.Field] = 2.5, "2.5"
					case "MAC Address":
						rec[tg.Field], text[tg.Field] = "00:11:22:aa:bb:cc", "00:11:22:aa:bb:cc"
					default:
						v := "v-" + tg.Field + " a=b|c"
						rec[tg.Field], text[tg.Field] = v, v
					}
				}
				// The Severity field holds a severity both maps know.
				if sev := sub.Header["Severity"]; sev.Field != "" {
					rec[sev.Field], text[sev.Field] = "2", "2"
				}
				raw, _ := json.Marshal(rec)
				kindOf := event.KindNetskopeEvent
				if kind == "alerts" {
					kindOf = event.KindNetskopeAlert
				}
				r := &event.Record{Raw: raw, Source: "tenant-a", Kind: kindOf, Subtype: strings.ToLower(strings.ReplaceAll(st, " ", ""))}
				msg, err := e.message(nil, r)
				if err != nil {
					t.Fatal(err)
				}
				got, err := parseCEF(msgOf(t, string(msg)))
				if err != nil {
					t.Fatalf("%v: %s", err, msg)
				}

				// CE's CEF of the same record.
				value := func(tg ceTarget) (string, bool) {
					if v, ok := text[tg.Field]; ok && tg.Field != "" {
						return v, true
					}
					if tg.Def != nil {
						return *tg.Def, true
					}
					return "", false
				}
				for i, name := range []string{"Device Vendor", "Device Product", "Device Version", "Device Event Class ID", "Name", "Severity"} {
					want, _ := value(sub.Header[name])
					switch {
					case strings.EqualFold(want, "$tenant_name"):
						want = "tenant-a"
					case name == "Severity":
						want = ceModelSeverity(want, st)
					}
					if got.Header[i+1] != want {
						t.Errorf("header %s = %q, CE writes %q", name, got.Header[i+1], want)
					}
				}
				wantExt := map[string]string{}
				for k, tg := range sub.Extension {
					if v, ok := value(tg); ok {
						wantExt[k] = v
					}
				}
				gotExt := map[string]string{}
				for _, kv := range got.Ext {
					gotExt[kv[0]] = kv[1]
				}
				for k, v := range wantExt {
					if g, ok := gotExt[k]; !ok {
						t.Errorf("%s=%q: CE writes it, we do not", k, v)
					} else if g != v {
						t.Errorf("%s = %q, CE writes %q", k, g, v)
					}
				}
				for k, v := range gotExt {
					if _, ok := wantExt[k]; !ok {
						t.Errorf("%s=%q: we write it, CE does not", k, v)
					}
				}
			})
		}
	}
	if subtypes < 25 {
		t.Fatalf("%d subtypes compared: the mapping file did not load as expected", subtypes)
	}
}

// ceModelSeverity is CE's severity rule, written from syslog_constants.py as a switch (the
// encoder's tables are not used, so a wrong entry there shows).
func ceModelSeverity(v, subtype string) string {
	v = strings.ToLower(v)
	if strings.EqualFold(subtype, "audit") {
		switch v {
		case "low", "4":
			return "Low"
		case "med", "medium", "2":
			return "Medium"
		case "high", "very-high", "critical", "1":
			return "High"
		case "6":
			return "Info"
		}
		return "Unknown"
	}
	switch v {
	case "low":
		return "Low"
	case "med", "medium":
		return "Medium"
	case "high":
		return "High"
	case "very-high", "critical":
		return "Very-High"
	}
	if n, err := strconv.Atoi(v); err == nil && strconv.Itoa(n) == v && n >= 0 && n <= 10 {
		return [...]string{"Low", "Low", "Low", "Low", "Medium", "Medium", "Medium", "High", "High", "Very-High", "Very-High"}[n]
	}
	return "Unknown"
}

// The severity maps, value by value: an audit record's severity_level 2 is Medium (not 2).
func TestCESeverity(t *testing.T) {
	for _, sub := range []string{"audit", "dlp", "incident"} {
		for _, v := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "-1", "02", "low", "LOW", "med", "Medium", "high", "very-high", "Critical", "informational", "", "2.0"} {
			if got, want := ceSeverity(v, sub), ceModelSeverity(v, sub); got != want {
				t.Errorf("%s %q: %q, want %q", sub, v, got, want)
			}
		}
	}
	if got := ceSeverity("2", "audit"); got != "Medium" {
		t.Errorf("audit 2 = %q, want Medium", got)
	}
}
