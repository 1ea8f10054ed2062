package netskope

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var hex24 = regexp.MustCompile(`^[0-9a-f]{24}$`)

// decodeNumbers decodes a record keeping numbers as json.Number.
func decodeNumbers(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("record is not a JSON object: %v: %.200s", err, raw)
	}
	return m
}

func TestEveryTypeHasRealisticFields(t *testing.T) {
	tests := []struct {
		ep         string
		types      []string // allowed "type" values; nil: no type field
		alertTypes []string // allowed alert_type values
		recordType string
		fields     []string // always present
	}{
		{"events/page", []string{"connection"}, nil, "page", []string{"url", "srcip", "dstip", "app", "site", "transaction_id", "app_session_id", "connection_id", "request_id", "user", "conn_starttime", "conn_endtime"}},
		{"events/application", []string{"nspolicy"}, nil, "application", []string{"app", "activity", "object", "transaction_id", "app_session_id", "alert", "user"}},
		{"events/audit", []string{"admin_audit_logs"}, nil, "audit", []string{"audit_log_event", "supporting_data", "severity_level", "user", "ur_normalized"}},
		{"events/infrastructure", nil, nil, "infrastructure", []string{"metric_name", "metric_value", "metric_type", "serial", "hostname", "package_version"}},
		{"events/network", []string{"network"}, nil, "network", []string{"srcip", "dstip", "numbytes", "protocol", "app", "user"}},
		{"events/incident", nil, nil, "incident", []string{"dlp_incident_id", "dlp_match_info", "latest_incident_id", "object", "app_session_id"}},
		{"events/endpoint", []string{"endpoint"}, nil, "endpoint", []string{"device", "dlp_profile", "dlp_rule", "incident_id", "user"}},
		{"alerts/compromisedcredential", []string{"breach"}, []string{"Compromised Credential"}, "alert", []string{"breach_id", "breach_date", "user", "alert_name"}},
		{"alerts/policy", []string{"nspolicy"}, []string{"policy"}, "alert", []string{"policy", "url", "transaction_id", "app_session_id", "incident_id", "user"}},
		{"alerts/malsite", []string{"malsite"}, []string{"malsite"}, "alert", []string{"malsite_category", "url", "transaction_id", "severity_level"}},
		{"alerts/malware", []string{"nspolicy"}, []string{"Malware"}, "alert", []string{"malware_name", "malware_type", "md5", "transaction_id"}},
		{"alerts/dlp", []string{"nspolicy"}, []string{"DLP"}, "alert", []string{"dlp_profile", "dlp_rule", "dlp_incident_id", "dlp_parent_id", "transaction_id"}},
		{"alerts/securityassessment", []string{"nspolicy"}, []string{"Security Assessment"}, "alert", []string{"sa_rule_name", "object", "instance_id"}},
		{"alerts/watchlist", []string{"nspolicy"}, []string{"watchlist"}, "alert", []string{"user", "app", "transaction_id"}},
		{"alerts/quarantine", []string{"nspolicy"}, []string{"quarantine"}, "alert", []string{"dlp_profile", "object", "md5"}},
		{"alerts/remediation", []string{"nspolicy"}, []string{"Remediation"}, "alert", []string{"dlp_profile", "object", "transaction_id"}},
		{"alerts/uba", []string{"anomaly", "nspolicy"}, []string{"uba"}, "alert", []string{"anomalyData", "event_type", "transaction_id", "user"}},
		{"alerts/ctep", []string{"nspolicy"}, []string{"ctep", "ips", "c2"}, "alert", []string{"signature_id", "srcip", "dstip", "transaction_id"}},
		{"alerts/device", []string{"endpoint"}, []string{"Device"}, "alert", []string{"policy", "os", "user"}},
		{"alerts/content", []string{"endpoint"}, []string{"Content"}, "alert", []string{"dlp_profile", "file_type", "md5", "incident_id"}},
	}
	tn := New(Options{Seed: 7, Now: func() time.Time { return t0 }, Generators: map[string]Generator{"*": {Backlog: 200}}})
	if len(tests) != len(Endpoints()) {
		t.Fatalf("table covers %d endpoints, want %d", len(tests), len(Endpoints()))
	}
	for _, tc := range tests {
		t.Run(tc.ep, func(t *testing.T) {
			ep, err := ParseEndpoint(tc.ep)
			if err != nil {
				t.Fatal(err)
			}
			recs := tn.Records(ep.Kind, ep.Type)
			if len(recs) != 200 {
				t.Fatalf("%d records", len(recs))
			}
			seenType := map[string]bool{}
			seenAlert := map[string]bool{}
			nested := false
			for _, r := range recs {
				m := decodeNumbers(t, r.Raw)
				id, _ := m["_id"].(string)
				if !hex24.MatchString(id) || id != r.ID {
					t.Fatalf("_id %q (Record.ID %q)", id, r.ID)
				}
				for _, f := range []string{"timestamp", "_insertion_epoch_timestamp"} {
					n, ok := m[f].(json.Number)
					if !ok {
						t.Fatalf("%s is %T", f, m[f])
					}
					v, err := n.Int64()
					if err != nil || v < t0.Add(-25*time.Hour).Unix() || v > t0.Unix() {
						t.Fatalf("%s = %s", f, n)
					}
				}
				if m["record_type"] != tc.recordType {
					t.Fatalf("record_type %v", m["record_type"])
				}
				if tc.types == nil {
					if _, ok := m["type"]; ok {
						t.Fatalf("type %v present; the dictionary has none for this type", m["type"])
					}
				} else {
					seenType[m["type"].(string)] = true
				}
				if ep.Kind == Alerts {
					at, _ := m["alert_type"].(string)
					seenAlert[at] = true
					if m["alert"] != "yes" {
						t.Fatalf("alert = %v", m["alert"])
					}
				} else if _, ok := m["alert_type"]; ok {
					t.Fatal("event carries alert_type")
				}
				for _, f := range tc.fields {
					if _, ok := m[f]; !ok {
						t.Fatalf("field %q missing from %s", f, r.Raw)
					}
				}
				for _, v := range m {
					switch v.(type) {
					case map[string]any, []any:
						nested = true
					}
				}
			}
			if !sameSet(seenType, tc.types) {
				t.Fatalf("type values %v, want %v", seenType, tc.types)
			}
			if !sameSet(seenAlert, tc.alertTypes) {
				t.Fatalf("alert_type values %v, want %v", seenAlert, tc.alertTypes)
			}
			if !nested && tc.ep != "events/infrastructure" {
				t.Fatal("no nested object or list in 200 records")
			}
		})
	}
}

func sameSet(m map[string]bool, want []string) bool {
	if len(m) != len(want) {
		return false
	}
	for _, w := range want {
		if !m[w] {
			return false
		}
	}
	return true
}

func TestBigIDsSurviveTheWire(t *testing.T) {
	h := newHarness(t, Options{Generators: map[string]Generator{"events/page": {Backlog: 100, BacklogSpan: time.Minute}}})
	a := h.page(pageEP, "big", "head")
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.UseNumber()
	var p struct {
		Result []map[string]any `json:"result"`
	}
	if err := dec.Decode(&p); err != nil {
		t.Fatal(err)
	}
	recs := h.tenant.Records(Events, "page")
	limit := new(big.Int).Lsh(big.NewInt(1), 53)
	corrupted := 0
	for i, m := range p.Result {
		for _, f := range []string{"transaction_id", "app_session_id", "connection_id", "request_id", "browser_session_id"} {
			n, ok := m[f].(json.Number)
			if !ok {
				t.Fatalf("%s is %T, want a JSON integer", f, m[f])
			}
			s := n.String()
			v, ok := new(big.Int).SetString(s, 10)
			if !ok || len(s) != 19 || v.Cmp(limit) <= 0 {
				t.Fatalf("%s = %s: want 19 digits above 2^53", f, s)
			}
			if !bytes.Contains(recs[i].Raw, []byte(`"`+f+`":`+s)) {
				t.Fatalf("%s %s differs from the stored record", f, s)
			}
			if f64, _ := strconv.ParseFloat(s, 64); strconv.FormatFloat(f64, 'f', 0, 64) != s {
				corrupted++
			}
		}
	}
	if corrupted == 0 {
		t.Fatal("expected float64 to corrupt some ids (they would be too small otherwise)")
	}
}

func TestDuplicates(t *testing.T) {
	for _, rate := range []float64{0, 0.05, 0.25} {
		t.Run(strconv.FormatFloat(rate, 'f', -1, 64), func(t *testing.T) {
			tn := New(Options{Seed: 3, Now: func() time.Time { return t0 }, Generators: map[string]Generator{"alerts/policy": {Backlog: 8000, DuplicateRate: rate}}})
			recs := tn.Records(Alerts, "policy")
			first := map[string][]byte{}
			dups := 0
			for _, r := range recs {
				if prev, ok := first[r.ID]; ok {
					dups++
					if !r.Duplicate || !bytes.Equal(prev, r.Raw) {
						t.Fatalf("repeat of %s not marked or not identical", r.ID)
					}
					continue
				}
				if r.Duplicate {
					t.Fatalf("first %s marked duplicate", r.ID)
				}
				first[r.ID] = r.Raw
			}
			got := float64(dups) / float64(len(recs))
			if math.Abs(got-rate) > 0.02 {
				t.Fatalf("duplicate share %.3f, want %.2f", got, rate)
			}
			st := tn.Stats().Endpoints["alerts/policy"]
			if st.Duplicates != int64(dups) || len(tn.UniqueIDs(Alerts, "policy")) != len(recs)-dups {
				t.Fatalf("stats %+v, dups %d", st, dups)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	gen := map[string]Generator{"*": {Backlog: 50, Rate: 5, DuplicateRate: 0.1, MaxLag: 30 * time.Second}}
	build := func(seed int64) *Tenant {
		clock := NewManualClock(t0)
		tn := New(Options{Seed: seed, Now: clock.Now, Generators: gen})
		clock.Advance(3 * time.Second)
		_ = tn.Stats() // generation in two batches must not matter
		clock.Advance(7 * time.Second)
		return tn
	}
	a, b, c := build(42), build(42), build(43)
	same, differ := 0, 0
	for _, ep := range Endpoints() {
		ra, rb, rc := a.Records(ep.Kind, ep.Type), b.Records(ep.Kind, ep.Type), c.Records(ep.Kind, ep.Type)
		if len(ra) != 100 || len(ra) != len(rb) {
			t.Fatalf("%s: %d vs %d records", ep, len(ra), len(rb))
		}
		for i := range ra {
			if !bytes.Equal(ra[i].Raw, rb[i].Raw) {
				t.Fatalf("%s record %d differs with the same seed", ep, i)
			}
			if bytes.Equal(ra[i].Raw, rc[i].Raw) {
				same++
			} else {
				differ++
			}
		}
	}
	if differ == 0 || same > differ/10 {
		t.Fatalf("another seed changed %d records, kept %d", differ, same)
	}
	ids := map[string]string{}
	for _, ep := range Endpoints() {
		for _, r := range a.Records(ep.Kind, ep.Type) {
			if prev, ok := ids[r.ID]; ok && prev != ep.String() {
				t.Fatalf("_id %s on %s and %s", r.ID, prev, ep)
			}
			ids[r.ID] = ep.String()
		}
	}
}

func TestTimestampLag(t *testing.T) {
	tn := New(Options{Now: func() time.Time { return t0 }, Generators: map[string]Generator{"events/page": {Backlog: 500, MaxLag: time.Minute}}})
	lagged := 0
	for _, r := range tn.Records(Events, "page") {
		d := r.Inserted - r.Timestamp
		if d < 0 || d > 60 {
			t.Fatalf("lag %d", d)
		}
		if d > 0 {
			lagged++
		}
	}
	if lagged < 400 {
		t.Fatalf("only %d of 500 lag", lagged)
	}
}

func TestLoadFile(t *testing.T) {
	const arr = `[
	  {"_id": "aaaaaaaaaaaaaaaaaaaaaaa1", "timestamp": 1772452000, "transaction_id": 7147084621365701239, "nested": {"x": [1, 2.50, "s"]}, "type": "nspolicy", "alert_type": "DLP"},
	  {"_id": "aaaaaaaaaaaaaaaaaaaaaaa2", "timestamp": 1772451000, "_insertion_epoch_timestamp": 1772452100, "incident_id": 9223372036854775807, "type": "nspolicy"}
	]`
	ndjson := "{\"_id\":\"b1\",\"timestamp\":1772452300,\"app_session_id\":5870330112534445000}\n\n" +
		"{\"_id\":\"b2\",\"timestamp\":\"2026-03-02 11:50:00.000000000\",\"type\":\"admin_audit_logs\"}\n" +
		"{\"_id\":\"future\",\"timestamp\":1772460000}\n"
	h := newHarness(t, Options{PageSpan: -1})
	n, err := h.tenant.LoadFile(Alerts, "dlp", strings.NewReader(arr))
	if err != nil || n != 2 {
		t.Fatalf("array: %d %v", n, err)
	}
	n, err = h.tenant.LoadFile(Events, "audit", strings.NewReader(ndjson))
	if err != nil || n != 3 {
		t.Fatalf("ndjson: %d %v", n, err)
	}

	a := h.page(dlpEP, "l", "head")
	if len(a.page.Result) != 2 {
		t.Fatalf("dlp page %d records", len(a.page.Result))
	}
	want1 := `{"_id":"aaaaaaaaaaaaaaaaaaaaaaa1","timestamp":1772452000,"transaction_id":7147084621365701239,"nested":{"x":[1,2.50,"s"]},"type":"nspolicy","alert_type":"DLP"}`
	if string(a.page.Result[0]) != want1 {
		t.Fatalf("record changed:\n%s\nwant\n%s", a.page.Result[0], want1)
	}
	if !bytes.Contains(a.page.Result[1], []byte(`"incident_id":9223372036854775807`)) {
		t.Fatalf("big id changed: %s", a.page.Result[1])
	}

	b := h.page(Endpoint{Events, "audit"}, "l", "head")
	if got := ids(t, b.page.Result); !equalStrings(got, []string{"b2", "b1"}) {
		t.Fatalf("audit order %v (string timestamp 11:50 sorts first; future hidden)", got)
	}
	h.clock.Set(time.Unix(1772460000, 0))
	c := h.page(Endpoint{Events, "audit"}, "l", "next")
	if got := ids(t, c.page.Result); !equalStrings(got, []string{"future"}) {
		t.Fatalf("after the clock reached it: %v", got)
	}
	st := h.tenant.Stats().Endpoints["events/audit"]
	if st.Loaded != 3 || st.Generated != 0 {
		t.Fatalf("stats %+v", st)
	}

	for name, bad := range map[string]string{
		"not an object": `[1, 2]`,
		"broken json":   `{"_id": "x"`,
		"unclosed":      `[{"_id":"x"}`,
	} {
		if _, err := h.tenant.LoadFile(Events, "page", strings.NewReader(bad)); err == nil {
			t.Fatalf("%s accepted", name)
		}
	}
	if _, err := h.tenant.LoadFile(Events, "nope", strings.NewReader(arr)); err == nil {
		t.Fatal("unknown endpoint accepted")
	}
	if n, err := h.tenant.LoadFile(Events, "page", strings.NewReader("  \n")); n != 0 || err != nil {
		t.Fatalf("empty file: %d %v", n, err)
	}
}

// TestLoadRealAuditSamples replays the public Netskope audit samples in
// testdata (string timestamps, nested supporting_data) through the API.
func TestLoadRealAuditSamples(t *testing.T) {
	f, err := os.Open("testdata/audit-samples.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newHarness(t, Options{PageSpan: -1})
	n, err := h.tenant.LoadFile(Events, "audit", f)
	if err != nil || n == 0 {
		t.Fatalf("%d %v", n, err)
	}
	a := h.page(Endpoint{Events, "audit"}, "r", "head")
	if len(a.page.Result) != n {
		t.Fatalf("served %d of %d", len(a.page.Result), n)
	}
	for _, r := range a.page.Result {
		m := decodeNumbers(t, r)
		if m["type"] != "admin_audit_logs" {
			t.Fatalf("type %v", m["type"])
		}
	}
}

func TestEmbeddedFieldTable(t *testing.T) {
	if len(fieldsJSON) > 512<<10 {
		t.Fatalf("fields.json is %d bytes", len(fieldsJSON))
	}
	specs, err := typeSpecs()
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range Endpoints() {
		for _, v := range specs[ep].variants {
			if len(v.fields) < 8 {
				t.Fatalf("%s/%s: %d fields", ep, v.def.dict, len(v.fields))
			}
		}
	}
	var sf schemaFile
	if err := json.Unmarshal(fieldsJSON, &sf); err != nil || !strings.Contains(sf.License, "BSD-3-Clause") {
		t.Fatalf("license %q: %v", sf.License, err)
	}
}

// Generator.Omit leaves top-level fields out of generated records, and nothing else changes:
// the records are those of the same seed without Omit, less those members, at the same
// places on the iterator clock.
func TestOmitLeavesFieldsOut(t *testing.T) {
	for _, omit := range [][]string{
		{"_insertion_epoch_timestamp"},
		{"_insertion_epoch_timestamp", "timestamp", "_id"},
	} {
		t.Run(strings.Join(omit, ","), func(t *testing.T) {
			build := func(omit []string) []Record {
				tn := New(Options{Seed: 7, Now: func() time.Time { return t0 }, Generators: map[string]Generator{
					"*": {Backlog: 40, BacklogSpan: time.Minute, Omit: omit},
				}})
				return tn.Records(Alerts, "dlp")
			}
			full, cut := build(nil), build(omit)
			if len(full) != 40 || len(cut) != len(full) {
				t.Fatalf("%d and %d records, want 40", len(full), len(cut))
			}
			for i := range cut {
				m := decodeNumbers(t, cut[i].Raw)
				want := decodeNumbers(t, full[i].Raw)
				for _, f := range omit {
					if _, ok := m[f]; ok {
						t.Fatalf("record %d has %s: %s", i, f, cut[i].Raw)
					}
					delete(want, f)
				}
				if len(m) != len(want) {
					t.Fatalf("record %d has %d fields, want %d", i, len(m), len(want))
				}
				if cut[i].Inserted != full[i].Inserted {
					t.Fatalf("record %d inserted at %d, want %d", i, cut[i].Inserted, full[i].Inserted)
				}
				if wantID := full[i].ID; slices.Contains(omit, "_id") && cut[i].ID != "" || !slices.Contains(omit, "_id") && cut[i].ID != wantID {
					t.Fatalf("record %d ID %q", i, cut[i].ID)
				}
			}
		})
	}
}
