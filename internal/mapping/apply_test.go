package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// recordFields decodes a sample record the way the pipeline does (event.Record.Fields: integers
// exact as int64 or uint64).
func recordFields(t testing.TB, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "records", name))
	if err != nil {
		t.Fatal(err)
	}
	rec := &event.Record{Raw: bytes.TrimSpace(raw)}
	f, err := rec.Fields()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// kindOf reads the kind and subtype from a sample's name: alert_dlp.json -> alerts, dlp.
func kindOf(name string) (string, string) {
	base := strings.TrimSuffix(name, ".json")
	kind, sub, _ := strings.Cut(base, "_")
	if sub == "missing" {
		sub = "dlp"
	}
	return kind + "s", sub
}

// TestGolden applies CE's CloudTrail Lake mapping and the default one to every sample record and
// compares the eventData, with the fields used and left over, to testdata/golden. Run with
// -update to rewrite them after a deliberate change, and read the diff.
func TestGolden(t *testing.T) {
	ceCloudTrail, err := LoadFile("testdata/ce/cloudtrail/mappings.json")
	if err != nil {
		t.Fatal(err)
	}
	sets := []struct {
		name string
		set  *Set
	}{
		{"ce-cloudtrail", ceCloudTrail},
		{"default", DefaultCloudTrail()},
	}
	samples, err := filepath.Glob("testdata/records/*.json")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	// The time zone must not show in any output.
	setLocal(t, "America/Los_Angeles")
	for _, s := range sets {
		for _, path := range samples {
			name := filepath.Base(path)
			t.Run(s.name+"/"+name, func(t *testing.T) {
				rec := recordFields(t, name)
				kind, sub := kindOf(name)
				got := goldenCase(s.set, kind, sub, rec)
				golden := filepath.Join("testdata", "golden", s.name, name)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the golden file:\n got %s\nwant %s", name, got, want)
				}
			})
		}
	}
}

func goldenCase(s *Set, kind, sub string, rec map[string]any) []byte {
	type result struct {
		Kind      string          `json:"kind"`
		Subtype   string          `json:"subtype"`
		NotFound  bool            `json:"notFound,omitempty"`
		Error     string          `json:"error,omitempty"`
		EventData json.RawMessage `json:"eventData,omitempty"`
		Used      []string        `json:"used,omitempty"`
		Unused    []string        `json:"unused,omitempty"`
		Dropped   []string        `json:"dropped,omitempty"`
	}
	r := result{Kind: kind, Subtype: sub}
	m, ok := s.For(kind, sub)
	if !ok {
		r.NotFound = true
	} else {
		out, err := m.Apply(rec)
		if err != nil {
			r.Error = err.Error()
		} else {
			r.EventData = out.AppendJSON(nil)
			r.Used = out.Used
			r.Unused = out.Unused(rec)
		}
		for _, d := range out.Dropped {
			r.Dropped = append(r.Dropped, d.String())
		}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// setLocal makes the process's local time zone name for the test, through TZ and time.Local
// (Go reads TZ once, at start).
func setLocal(t *testing.T, name string) {
	t.Helper()
	t.Setenv("TZ", name)
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.FixedZone(name, -8*3600)
	}
	old := time.Local
	time.Local = loc
	t.Cleanup(func() { time.Local = old })
}

func TestEventTimeIsUTCWhateverTheTimeZone(t *testing.T) {
	for _, tz := range []string{"Asia/Kolkata", "America/St_Johns", "Pacific/Kiritimati", "UTC"} {
		t.Run(tz, func(t *testing.T) {
			setLocal(t, tz)
			for _, ts := range []any{int64(1702308331), uint64(1702308331), float64(1702308331.9), "1702308331", "2023-12-11 15:25:31.000000000", "2023-12-11T16:25:31+01:00"} {
				m, _ := DefaultCloudTrail().For("events", "audit")
				out, err := m.Apply(map[string]any{"_id": "x", "timestamp": ts, "user": "u", "audit_log_event": "e"})
				if err != nil {
					t.Fatal(err)
				}
				if v, _ := out.Get("eventTime"); v != "2023-12-11T15:25:31Z" {
					t.Errorf("timestamp %v (%T): eventTime = %v", ts, ts, v)
				}
			}
			// CE's own CloudTrail mapping says "String" for eventTime: the plugin's rule formats it.
			ce, err := LoadFile("testdata/ce/cloudtrail/mappings.json")
			if err != nil {
				t.Fatal(err)
			}
			m, _ := ce.For("events", "audit")
			out, err := m.Apply(map[string]any{"_id": "x", "timestamp": int64(1702308331)})
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := out.Get("eventTime"); v != "2023-12-11T15:25:31Z" {
				t.Errorf("CE mapping: eventTime = %v", v)
			}
		})
	}
}

func TestNineteenDigitIDsStayExact(t *testing.T) {
	const doc = `{"taxonomy": {"events": {"page": {"extension": {
		"asString": {"mapping_field": "transaction_id", "transformation": "String"},
		"asInteger": {"mapping_field": "transaction_id", "transformation": "Integer"},
		"big": {"mapping_field": "max_uint", "transformation": "Integer"},
		"neg": {"mapping_field": "min_int", "transformation": "String"},
		"fromString": {"mapping_field": "id_string", "transformation": "Integer"},
		"deep": {"mapping_field": "$.nested.ids[1]", "is_json_path": true, "transformation": "Integer"},
		"all": {"mapping_field": "$.nested.ids[*]", "is_json_path": true, "transformation": "String"}
	}}}}}`
	s, err := Load(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	rec := (&event.Record{Raw: []byte(`{"transaction_id": 7147084621365701239, "max_uint": 18446744073709551615,
		"min_int": -9223372036854775808, "id_string": "5683712749073620667",
		"nested": {"ids": [3407323330241432032, 4527923634787424815]}}`)})
	f, err := rec.Fields()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s.For("events", "page")
	out, err := m.Apply(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"asString":"7147084621365701239","asInteger":7147084621365701239,"big":18446744073709551615,` +
		`"neg":"-9223372036854775808","fromString":5683712749073620667,"deep":4527923634787424815,` +
		`"all":"3407323330241432032,4527923634787424815"}`
	if got := out.String(); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	if v, _ := out.Get("big"); v != uint64(18446744073709551615) {
		t.Errorf("Get(big) = %v (%T)", v, v)
	}
}

func TestDefaultValues(t *testing.T) {
	const doc = `
taxonomy:
  alerts:
    dlp:
      extension:
        name: {mapping_field: alert_name, default_value: "no name"}
        who: {mapping_field: user, default_value: netskope}
        ip: {mapping_field: srcip, default_value: "0.0.0.0", transformation: IP Address}
        count: {mapping_field: n, default_value: "7", transformation: Integer}
        fixed: {default_value: "1.0"}
        list: {mapping_field: tags, default_value: none}
        obj: {mapping_field: meta, default_value: none}
        optional: {mapping_field: browser}
        badNoDefault: {mapping_field: dstip, transformation: IP Address}
`
	s, err := Load(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s.For("alerts", "dlp")
	tests := []struct {
		name    string
		rec     map[string]any
		want    string
		used    []string
		dropped int
	}{
		{"all absent", map[string]any{},
			`{"name":"no name","who":"netskope","ip":"0.0.0.0","count":7,"fixed":"1.0","list":"none","obj":"none"}`, nil, 0},
		{"empty values take the default", map[string]any{"alert_name": "", "user": nil, "tags": []any{}, "meta": map[string]any{}, "browser": ""},
			`{"name":"no name","who":"netskope","ip":"0.0.0.0","count":7,"fixed":"1.0","list":"none","obj":"none"}`,
			[]string{"alert_name", "user", "tags", "meta", "browser"}, 0},
		{"present values win", map[string]any{"alert_name": "A", "user": "u", "srcip": "10.0.0.1", "n": int64(0), "tags": []any{"x", int64(2)}, "meta": map[string]any{"b": true, "a": 1.5}, "browser": "Chrome"},
			`{"name":"A","who":"u","ip":"10.0.0.1","count":0,"fixed":"1.0","list":"[\"x\",2]","obj":"{\"a\":1.5,\"b\":true}","optional":"Chrome"}`,
			[]string{"alert_name", "user", "srcip", "n", "tags", "meta", "browser"}, 0},
		{"a failed transformation takes the default, or leaves the target out", map[string]any{"srcip": "not-an-ip", "n": "seven", "dstip": "nope"},
			`{"name":"no name","who":"netskope","ip":"0.0.0.0","count":7,"fixed":"1.0","list":"none","obj":"none"}`, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := m.Apply(tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
			if !slices.Equal(out.Used, tt.used) && !(len(out.Used) == 0 && len(tt.used) == 0) {
				t.Errorf("used = %v, want %v", out.Used, tt.used)
			}
			if len(out.Dropped) != tt.dropped {
				t.Errorf("dropped = %v", out.Dropped)
			}
		})
	}
}

func TestUnknownSubtypeIsNotFound(t *testing.T) {
	for _, s := range []*Set{DefaultCloudTrail()} {
		for _, c := range [][2]string{{"alerts", "anomaly"}, {"alerts", "Legal Hold"}, {"events", "clientstatus"}, {"webtx", "v2"}, {"logs", "info"}} {
			if m, ok := s.For(c[0], c[1]); ok {
				t.Errorf("For(%q, %q) = %v, want not found", c[0], c[1], m.Subtype)
			}
		}
	}
}

// The default mapping covers every Netskope type DESIGN.md §5 lists, each producing a valid
// eventData from a record that has only _id and timestamp.
func TestDefaultCoversEveryType(t *testing.T) {
	types := map[string][]string{
		"events": {"page", "application", "audit", "infrastructure", "network", "incident", "endpoint"},
		"alerts": {"compromisedcredential", "policy", "malsite", "malware", "dlp", "securityassessment",
			"watchlist", "quarantine", "remediation", "uba", "ctep", "device", "content"},
	}
	s := DefaultCloudTrail()
	if s.Plugin() != PluginCloudTrail {
		t.Errorf("plugin = %q", s.Plugin())
	}
	n := 0
	for kind, subs := range types {
		n += len(subs)
		if got := len(s.Subtypes(kind)); got != len(subs) {
			t.Errorf("%s: %d subtypes, want %d", kind, got, len(subs))
		}
		for _, sub := range subs {
			m, ok := s.For(kind, sub)
			if !ok {
				t.Errorf("%s/%s is not mapped", kind, sub)
				continue
			}
			out, err := m.Apply(map[string]any{"_id": "5182808a2a99fc688d4a8057", "timestamp": int64(1708989085)})
			if err != nil {
				t.Errorf("%s/%s: %v", kind, sub, err)
				continue
			}
			for path, want := range map[string]any{"version": "1.0", "userIdentity.principalId": "netskope", "eventTime": "2024-02-26T23:11:25Z", "UID": "5182808a2a99fc688d4a8057"} {
				if got, _ := out.Get(path); got != want {
					t.Errorf("%s/%s: %s = %v, want %v", kind, sub, path, got, want)
				}
			}
			if typ, _ := out.Get("userIdentity.type"); typ != "User" && typ != "Service" {
				t.Errorf("%s/%s: userIdentity.type = %v", kind, sub, typ)
			}
			if name, _ := out.Get("eventName"); name == "" || name == nil {
				t.Errorf("%s/%s: no eventName", kind, sub)
			}
		}
	}
	if n != 20 {
		t.Errorf("%d types", n)
	}
}

// The default mapping file is in CE's format: an export whose jsonData string holds the mapping,
// every target with at most CE's four keys and a CE transformation name.
func TestDefaultFileIsCloudExchangeFormat(t *testing.T) {
	var outer map[string]any
	if err := json.Unmarshal(DefaultCloudTrailFile(), &outer); err != nil {
		t.Fatal(err)
	}
	jd, ok := outer["jsonData"].(string)
	if !ok || outer["name"] == nil {
		t.Fatalf("not a CE export: keys %v", sortedKeys(outer))
	}
	var inner struct {
		Version  string `json:"cloudtrail_map_version"`
		Taxonomy map[string]map[string]struct {
			Header    map[string]map[string]any `json:"header"`
			Extension map[string]map[string]any `json:"extension"`
		} `json:"taxonomy"`
	}
	if err := json.Unmarshal([]byte(jd), &inner); err != nil {
		t.Fatal(err)
	}
	if inner.Version == "" {
		t.Error("no cloudtrail_map_version")
	}
	ceNames := []string{"String", "Integer", "Floating Point", "IP Address", "Time Stamp"}
	for kind, subs := range inner.Taxonomy {
		for sub, m := range subs {
			if m.Header == nil {
				t.Errorf("%s/%s: no header object (CE's files always have one)", kind, sub)
			}
			for target, e := range m.Extension {
				if len(e) > 4 {
					t.Errorf("%s/%s/%s: %d keys", kind, sub, target, len(e))
				}
				if tr, _ := e["transformation"].(string); !slices.Contains(ceNames, tr) {
					t.Errorf("%s/%s/%s: transformation %q", kind, sub, target, tr)
				}
			}
		}
	}
	b := DefaultCloudTrailFile()
	b[0] = 'x'
	if DefaultCloudTrailFile()[0] == 'x' {
		t.Error("DefaultCloudTrailFile shares its bytes")
	}
}

func TestCloudTrailRules(t *testing.T) {
	ce, err := LoadFile("testdata/ce/cloudtrail/mappings.json")
	if err != nil {
		t.Fatal(err)
	}
	dlp, _ := ce.For("alerts", "dlp")

	t.Run("native user agent, UID from _id, details", func(t *testing.T) {
		out, err := dlp.Apply(map[string]any{"_id": "abc", "timestamp": int64(0), "browser": "native", "user": "u", "access_method": "Client"})
		if err != nil {
			t.Fatal(err)
		}
		want := `{"version":"1","userIdentity":{"type":"NA","principalId":"u","details":{"access_method":"Client"}},"eventTime":"1970-01-01T00:00:00Z","eventName":"NA","UID":"abc","userAgent":"AWS CLI"}`
		if got := out.String(); got != want {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
		// access_method is copied to details, not used up: CE keeps it in additionalEventData.
		if !slices.Equal(out.Used, []string{"user", "timestamp", "browser", "_id"}) {
			t.Errorf("used = %v", out.Used)
		}
	})
	t.Run("details null without access_method; UID NA without _id", func(t *testing.T) {
		out, err := dlp.Apply(map[string]any{"timestamp": int64(1)})
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := out.Get("userIdentity.details"); d == nil || d.(map[string]any)["access_method"] != nil {
			t.Errorf("details = %v", d)
		}
		if uid, _ := out.Get("UID"); uid != "NA" {
			t.Errorf("UID = %v", uid)
		}
	})
	t.Run("missing eventTime", func(t *testing.T) {
		_, err := dlp.Apply(map[string]any{"_id": "abc"})
		if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(),
			`alerts/dlp: eventData has no eventTime, which CloudTrail Lake requires (mapped from "timestamp", which the record lacks, with no default_value)`) {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("bad eventTime", func(t *testing.T) {
		_, err := dlp.Apply(map[string]any{"_id": "abc", "timestamp": "yesterday"})
		if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), `eventTime: "yesterday" is neither epoch seconds nor a date and time`) {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("principalId too long", func(t *testing.T) {
		_, err := dlp.Apply(map[string]any{"_id": "abc", "timestamp": int64(1), "user": strings.Repeat("x", 1025)})
		if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), "userIdentity.principalId is longer than CloudTrail Lake's 1024 characters") {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("required field not in the mapping", func(t *testing.T) {
		s, err := Load(strings.NewReader(`{"cloudtrail_map_version": "1", "taxonomy": {"alerts": {"dlp": {"extension": {"eventTime": {"mapping_field": "timestamp"}}}}}}`))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := s.For("alerts", "dlp")
		_, err = m.Apply(map[string]any{"timestamp": int64(1)})
		if !errors.Is(err, ErrRecord) || !strings.Contains(err.Error(), `eventData has no version, which CloudTrail Lake requires (taxonomy.alerts.dlp.extension has no "version")`) {
			t.Errorf("error = %v", err)
		}
	})
	t.Run("numbers in required fields become strings", func(t *testing.T) {
		s, err := Load(strings.NewReader(`{"taxonomy": {"alerts": {"dlp": {"extension": {
			"version": {"default_value": "1", "transformation": "Integer"},
			"userIdentity.type": {"default_value": "User"},
			"userIdentity.principalId": {"mapping_field": "user"},
			"eventName": {"default_value": "x"},
			"eventTime": {"mapping_field": "timestamp", "transformation": "Integer"},
			"UID": {"mapping_field": "transaction_id", "transformation": "Integer"}}}}}}`))
		if err != nil {
			t.Fatal(err)
		}
		if s.Plugin() != "" {
			t.Fatalf("plugin %q", s.Plugin())
		}
		m, _ := s.For("alerts", "dlp")
		rec := map[string]any{"user": "u", "timestamp": int64(1702308331), "transaction_id": uint64(18446744073709551615)}
		out, err := m.Apply(rec)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), `"eventTime":1702308331,"UID":18446744073709551615`) {
			t.Errorf("without the rules: %s", out)
		}
		m, _ = s.WithPlugin("CloudTrail").For("alerts", "dlp")
		out, err = m.Apply(rec)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"version":"1","userIdentity":{"type":"User","principalId":"u","details":{"access_method":null}},"eventName":"x","eventTime":"2023-12-11T15:25:31Z","UID":"18446744073709551615"}`
		if got := out.String(); got != want {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
		m, _ = s.WithPlugin("CloudTrail").WithPlugin("").For("alerts", "dlp")
		if m.Plugin() != "" {
			t.Errorf("WithPlugin(\"\") kept %q", m.Plugin())
		}
	})
}

func TestOutputSetGetDelete(t *testing.T) {
	m, _ := DefaultCloudTrail().For("alerts", "dlp")
	rec := recordFields(t, "alert_dlp.json")
	out, err := m.Apply(rec)
	if err != nil {
		t.Fatal(err)
	}
	add := map[string]any{}
	for _, k := range out.Unused(rec) {
		add[k] = rec[k]
	}
	for _, kv := range []struct {
		path string
		v    any
	}{
		{"eventSource", "netskopealert.dlp"},
		{"recipientAccountId", "123456789012"},
		{"additionalEventData", add},
	} {
		if err := out.Set(kv.path, kv.v); err != nil {
			t.Fatal(err)
		}
	}
	enc := out.AppendJSON(nil)
	var back map[string]any
	dec := json.NewDecoder(bytes.NewReader(enc))
	dec.UseNumber()
	if err := dec.Decode(&back); err != nil {
		t.Fatalf("invalid JSON %s: %v", enc, err)
	}
	if back["eventSource"] != "netskopealert.dlp" || back["recipientAccountId"] != "123456789012" {
		t.Errorf("set fields missing: %s", enc)
	}
	ad := back["additionalEventData"].(map[string]any)
	if ad["incident_id"] != json.Number("7837511415432668963") || ad["user"] != nil || ad["_id"] != nil {
		t.Errorf("additionalEventData = %v", ad)
	}
	if !bytes.Contains(enc, []byte(`,"UID":"7147084621365701239","eventSource":"netskopealert.dlp","recipientAccountId":"123456789012","additionalEventData":{"_insertion_epoch_timestamp":1708989185,"acked":"false",`)) {
		t.Errorf("order: %s", enc)
	}
	// Deterministic.
	for range 20 {
		if again := out.AppendJSON(nil); !bytes.Equal(again, enc) {
			t.Fatal("encoding changed between calls")
		}
	}

	if err := out.Set("userIdentity", "x"); err == nil {
		t.Error("set a value over an object")
	}
	if err := out.Set("eventName.sub", "x"); err == nil {
		t.Error("set under a value")
	}
	if err := out.Set("a..b", "x"); err == nil {
		t.Error("empty path part accepted")
	}
	if err := out.Set("bad", func() {}); err == nil {
		t.Error("set a func")
	}
	if !out.Delete("userIdentity.details") || out.Has("userIdentity.details") || !out.Has("userIdentity.type") {
		t.Error("delete details")
	}
	out.Delete("userIdentity.type")
	out.Delete("userIdentity.principalId")
	if out.Has("userIdentity") {
		t.Errorf("empty userIdentity kept: %s", out.AppendJSON(nil))
	}
	if out.Delete("userIdentity") {
		t.Error("deleted an absent object")
	}
	c := out.Clone()
	if err := c.Set("eventName", "changed"); err != nil {
		t.Fatal(err)
	}
	if err := out.Set("extra", "x"); err != nil {
		t.Fatal(err)
	}
	if v, _ := out.Get("eventName"); v == "changed" || c.Has("extra") {
		t.Error("Clone shares state")
	}
	var zero Output
	if string(zero.AppendJSON(nil)) != "{}" {
		t.Error("zero Output")
	}
	if err := zero.Set("a.b", json.RawMessage(`[1,2]`)); err != nil || zero.String() != `{"a":{"b":[1,2]}}` {
		t.Errorf("zero Output set: %v %s", err, zero.String())
	}
	if b, err := json.Marshal(zero); err != nil || string(b) != `{"a":{"b":[1,2]}}` {
		t.Errorf("MarshalJSON: %s %v", b, err)
	}
}

func TestStringEscaping(t *testing.T) {
	for _, s := range []string{"plain", `q"b\s`, "nl\n\r\t\b\f", "\x00\x1f", "<&>", "é ü 日本", "\u2028\u2029", "bad\xffutf8", ""} {
		got := jsonx.AppendString(nil, s)
		want, _ := json.Marshal(s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%q: invalid JSON %s", s, got)
			continue
		}
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q: decodes to %q, encoding/json's to %q", s, back, wantBack)
		}
	}
}

func TestConcurrentApply(t *testing.T) {
	s := DefaultCloudTrail()
	rec := recordFields(t, "alert_dlp.json")
	m, _ := s.For("alerts", "dlp")
	first, err := m.Apply(rec)
	if err != nil {
		t.Fatal(err)
	}
	want := first.String()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				out, err := m.Apply(rec)
				if err != nil || out.String() != want {
					t.Errorf("concurrent apply: %v %s", err, out.String())
					return
				}
				_ = out.Set("eventSource", "netskopealert.dlp")
			}
		})
	}
	wg.Wait()
}
