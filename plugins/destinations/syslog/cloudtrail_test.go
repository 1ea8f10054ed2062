package syslog

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
)

// allCloudTrail returns every CloudTrail test record as a source that read it as CloudTrail
// hands it on: the panther samples, the AWS documentation samples (one record per item of each
// file), and the CloudWatch subscription samples' events, some also as the CloudWatch source
// sends them with extract_original_event off.
func allCloudTrail(t testing.TB) []*event.Record {
	t.Helper()
	var recs []*event.Record
	for _, raw := range pantherRecords(t, 1<<20) {
		recs = append(recs, asCloudTrail(raw))
	}
	for _, dir := range []string{"awsdocs", "cloudwatch-envelopes"} {
		files, _ := filepath.Glob(filepath.Join("../../../internal/cloudtrailrecord/testdata", dir, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			items, err := cloudtrailrecord.Split(b)
			if err != nil {
				continue
			}
			for _, it := range items {
				recs = append(recs, asCloudTrail(it.Record))
			}
		}
	}
	n := len(recs)
	for i := range min(n, 60) {
		recs = append(recs, asCloudWatch(t, recs[i].Raw, i))
	}
	return recs
}

// asCloudTrail is raw as a source that read it as one CloudTrail record hands it on: Kind
// cloudtrail, Subtype its eventType.
func asCloudTrail(raw []byte) *event.Record {
	sum, _ := cloudtrailrecord.Identify(raw)
	return &event.Record{Raw: raw, Kind: event.KindCloudTrail, Subtype: sum.EventType}
}

// asCloudWatch is the CloudTrail record rec as the CloudWatch source hands it on with
// extract_original_event off: Raw its envelope, Payload the record.
func asCloudWatch(t testing.TB, rec []byte, i int) *event.Record {
	r := asCloudTrail(rec)
	r.Raw, r.Payload = cloudWatchEnvelope(t, rec, i), rec
	r.Meta = map[string]string{
		event.MetaInputForm: "cloudwatch", event.MetaAWSRegion: "us-east-1",
		event.MetaLogGroup: "aws-cloudtrail-logs-111122223333", event.MetaLogStream: fmt.Sprintf("111122223333_CloudTrail_us-east-%d", i%2+1),
	}
	return r
}

// fresh is a new record with r's fields (a record caches its decoded fields: tests that
// encode one input twice give each encoder its own).
func fresh(r *event.Record) *event.Record {
	return &event.Record{Raw: r.Raw, Payload: r.Payload, ID: r.ID, Time: r.Time, Source: r.Source, Kind: r.Kind, Subtype: r.Subtype, Meta: maps.Clone(r.Meta)}
}

// cloudWatchEnvelope is the CloudWatch source's envelope around rec (extract_original_event off).
func cloudWatchEnvelope(t testing.TB, rec []byte, i int) []byte {
	t.Helper()
	env, err := json.Marshal(map[string]any{
		"logGroup": "aws-cloudtrail-logs-111122223333", "logStream": fmt.Sprintf("111122223333_CloudTrail_us-east-%d", i%2+1),
		"timestamp": 1700000000000 + i, "ingestionTime": 1700000000500 + i, "eventId": fmt.Sprint(37920000000 + i),
		"message": string(rec),
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// The fast path (CloudTrail records written from cloudtrail.Event) and the mapping path
// (defaults/cloudtrail.json applied to the decoded fields plus CloudTrailEnricher's) give the
// same bytes, for every sample, bare and in the CloudWatch envelope, in CEF and LEEF.
func TestFastPathMatchesMapping(t *testing.T) {
	recs := allCloudTrail(t)
	for _, f := range []string{FormatCEF, FormatLEEF} {
		cfg := testConfig("127.0.0.1:514")
		cfg.Format = f
		fast := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
		slow := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
		slow.noFast = true
		fast.now = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
		slow.now = fast.now
		if !fast.fastPath() || slow.fastPath() {
			t.Fatal("fastPath() does not follow noFast")
		}
		mapped := 0
		for i, rec := range recs {
			r1, r2 := fresh(rec), fresh(rec)
			if i%4 == 0 {
				r1.Meta = map[string]string{event.MetaLogSourceID: "acct-1"}
				maps.Copy(r1.Meta, rec.Meta)
				r2.Meta = r1.Meta
			}
			a, err1 := fast.message(nil, r1)
			b, err2 := slow.message(nil, r2)
			if fmt.Sprint(err1) != fmt.Sprint(err2) || string(a) != string(b) {
				t.Fatalf("%s, record %d:\nfast    %s (%v)\nmapping %s (%v)\nrecord %s", f, i, a, err1, b, err2, rec.Raw)
			}
			if !strings.Contains(string(a), "parse_status=") {
				mapped++
			}
		}
		// Nearly every sample is CloudTrail (digest files and the like are not).
		if mapped < len(recs)*9/10 {
			t.Errorf("%s: only %d of %d records mapped as CloudTrail", f, mapped, len(recs))
		}
		t.Logf("%s: %d records, %d mapped as CloudTrail, identical", f, len(recs), mapped)
	}
}

// A record the CloudWatch source wrapped in its envelope is mapped from Payload as if it came
// bare, plus the log group and stream its source names; the input form alone decides whether
// they are written (a bare record from the same source carries them in Meta too).
func TestEnvelopeFields(t *testing.T) {
	raw := pantherRecords(t, 1)[0]
	for _, f := range []string{FormatCEF, FormatLEEF} {
		cfg := testConfig("127.0.0.1:514")
		cfg.Format = f
		e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
		e.now = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
		bare, err := e.message(nil, asCloudTrail(raw))
		if err != nil {
			t.Fatal(err)
		}
		sep := " "
		if f == FormatLEEF {
			sep = "\t"
		}
		extracted := asCloudTrail(raw)
		extracted.Meta = map[string]string{event.MetaLogGroup: "g", event.MetaLogStream: "s"}
		qradar := asCloudTrail(raw)
		qradar.Meta = map[string]string{event.MetaInputForm: "qradar", event.MetaLogStream: "111122223333_CloudTrail_us-east-1"}
		for _, c := range []struct {
			name  string
			r     *event.Record
			extra string
		}{
			{"cloudwatch envelope", asCloudWatch(t, raw, 0), sep + "deviceFacility=aws-cloudtrail-logs-111122223333" + sep + "deviceExternalId=111122223333_CloudTrail_us-east-1"},
			{"found in QRadar's form", qradar, sep + "deviceExternalId=111122223333_CloudTrail_us-east-1"},
			{"extracted, log group in Meta", extracted, ""},
		} {
			got, err := e.message(nil, c.r)
			if err != nil {
				t.Fatalf("%s %s: %v", f, c.name, err)
			}
			if want := string(bare) + c.extra; string(got) != want {
				t.Errorf("%s %s:\n got  %s\n want %s", f, c.name, got, want)
			}
		}
	}
}

// Records not read as CloudTrail go out whole, generic, with their parse status: those with no
// Kind (even when they happen to be CloudTrail JSON) and those labelled cloudtrail that do not
// parse.
func TestParseStatus(t *testing.T) {
	ct := `{"eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`
	env := `{"logGroup":"g","logStream":"s","timestamp":1,"ingestionTime":2,"eventId":"1","message":"plain text"}`
	cases := []struct {
		name    string
		r       *event.Record
		status  string
		subtype string
	}{
		{"not json", &event.Record{Raw: []byte(`nope, not json`)}, "not_json", ""},
		{"truncated", &event.Record{Raw: []byte(`{"eventName":"GetObject","eventSource":"s3.amazonaws.com"`)}, "not_json", ""},
		{"other json", &event.Record{Raw: []byte(`{"hello":"world"}`)}, "not_cloudtrail", ""},
		{"array", &event.Record{Raw: []byte(`[1,2]`)}, "not_cloudtrail", ""},
		{"no kind, CloudTrail JSON", &event.Record{Raw: []byte(ct)}, "not_cloudtrail", ""},
		{"another kind, CloudTrail JSON", &event.Record{Raw: []byte(ct), Kind: "acme/audit", Subtype: "login"}, "not_cloudtrail", "login"},
		{"no kind, envelope around text", &event.Record{Raw: []byte(env), Payload: []byte("plain text")}, "not_json", ""},
		{"cloudtrail, no eventTime", &event.Record{Raw: []byte(`{"eventName":"GetObject","eventSource":"s3.amazonaws.com"}`), Kind: event.KindCloudTrail}, "not_cloudtrail", ""},
		{"cloudtrail, not json", &event.Record{Raw: []byte(`nope`), Kind: event.KindCloudTrail, Subtype: "AwsApiCall"}, "not_json", ""},
		{"cloudtrail, envelope around text", &event.Record{Raw: []byte(env), Payload: []byte("plain text"), Kind: event.KindCloudTrail}, "not_json", ""},
	}
	for _, c := range cases {
		for _, f := range []string{FormatCEF, FormatLEEF, FormatJSON} {
			cfg := testConfig("127.0.0.1:514")
			cfg.Format = f
			cfg.JSONEnvelope = true
			e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
			r := fresh(c.r)
			r.ID, r.Time = "id-1", time.Unix(1700000000, 0)
			raw := string(r.Raw)
			got, err := e.message(nil, r)
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, f, err)
			}
			s := msgOf(t, string(got))
			class, typ := "record", ""
			if c.subtype != "" {
				class, typ = c.subtype, `"type":"`+c.subtype+`",`
			}
			var want string
			switch f {
			case FormatCEF:
				want = "CEF:0|logshipper|logshipper|1.0|" + class + "|" + class + "|Unknown|rt=1700000000000 externalId=id-1 parse_status=" + c.status + " msg="
				m, err := parseCEF(s)
				if err != nil {
					t.Fatalf("%s: %v", s, err)
				}
				if v, _ := m.get("msg"); v != raw {
					t.Errorf("%s: msg = %q, want the record", c.name, v)
				}
			case FormatLEEF:
				want = "LEEF:2.0|logshipper|logshipper|1.0|" + class + "|x09|devTime=2023-11-14T22:13:20.000+0000\tdevTimeFormat=" + LEEFTimeFormat + "\texternalId=id-1\tparse_status=" + c.status + "\tmsg="
			case FormatJSON:
				want = `{"source":"",` + typ + `"id":"id-1","time":"2023-11-14T22:13:20Z","parse_status":"` + c.status + `","event":`
				var env struct{ Event json.RawMessage }
				if err := json.Unmarshal([]byte(s), &env); err != nil {
					t.Fatalf("%s: the envelope is not JSON: %v: %s", c.name, err, s)
				}
				if !json.Valid([]byte(raw)) {
					var str string
					if err := json.Unmarshal(env.Event, &str); err != nil || str != raw {
						t.Errorf("%s: event = %s, want the record as a string", c.name, env.Event)
					}
				}
			}
			if !strings.HasPrefix(s, want) {
				t.Errorf("%s %s:\n got  %s\n want %s...", c.name, f, s, want)
			}
		}
	}
	// A CloudTrail record in a JSON envelope carries no parse_status, bare or in the
	// CloudWatch envelope (whose Raw is what is sent).
	cfg := testConfig("127.0.0.1:514")
	cfg.Format, cfg.JSONEnvelope = FormatJSON, true
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	raw := pantherRecords(t, 1)[0]
	for _, r := range []*event.Record{asCloudTrail(raw), asCloudWatch(t, raw, 0)} {
		got, err := e.message(nil, r)
		if err != nil || strings.Contains(string(got), "parse_status") || !strings.HasSuffix(string(got), `"event":`+string(r.Raw)+`}`) {
			t.Errorf("CloudTrail in a JSON envelope: %s (%v)", got, err)
		}
	}
}

// The destination splits nothing: a {"Records":[...]} file arrives as one record and goes out
// as one message, generic (the source that reads such files splits them).
func TestRecordsFileIsOneMessage(t *testing.T) {
	raw := `{"Records":[{"eventName":"A","eventSource":"s","eventTime":"2024-01-01T00:00:00Z"},{"eventName":"B","eventSource":"s","eventTime":"2024-01-01T00:00:00Z"}]}`
	for _, kind := range []event.Kind{"", event.KindCloudTrail} {
		for _, f := range []string{FormatCEF, FormatLEEF} {
			cfg := testConfig("127.0.0.1:514")
			cfg.Format = f
			d, err := New(cfg, plugintest.Settings(t, "siem", nil))
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Preview(&event.Record{Raw: []byte(raw), Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(got, "\n") || !strings.Contains(got, "parse_status=not_cloudtrail") || !strings.HasSuffix(got, "msg="+raw) {
				t.Errorf("kind %q, %s: %s", kind, f, got)
			}
		}
	}
	// Write frames one message per record (octet counting).
	srv := newServer(t, false, 0)
	d := newDest(t, testConfig(srv.addr()))
	if err := d.Write(context.Background(), []*event.Record{asCloudTrail(pantherRecords(t, 1)[0]), {Raw: []byte(raw)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(srv.messages()) == 2 })
	for k, want := range []string{"|UpdateFunctionConfiguration", "parse_status=not_cloudtrail"} {
		if m := srv.messages()[k]; !strings.Contains(m, want) {
			t.Errorf("message %d = %s, want %s in it", k, m, want)
		}
	}
}

// A configured cloudtrail mapping, or another Enricher, takes the mapping path and sees the
// computed fields.
func TestUserCloudTrailMapping(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	yaml := `taxonomy:
  cloudtrail:
    default:
      header:
        Device Vendor: {default_value: Amazon, transformation: String}
        Severity: {mapping_field: logshipper.severity, transformation: String}
      extension:
        act: {mapping_field: logshipper.action, transformation: String}
        cs1: {mapping_field: logshipper.input_form, transformation: String}
        cs2: {mapping_field: logshipper.extra, transformation: String}
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("127.0.0.1:514")
	cfg.Mapping = path
	d, err := New(cfg, plugintest.Settings(t, "siem", nil), WithEnricher(EnricherFunc(func(ev *cloudtrailrecord.Event, env *cloudtrailrecord.Envelope, c map[string]any) {
		CloudTrailEnricher.Enrich(ev, env, c)
		c["extra"] = "x-" + ev.EventName
	})))
	if err != nil {
		t.Fatal(err)
	}
	if d.enc.fastPath() {
		t.Fatal("fast path with a user mapping")
	}
	raw := `{"eventTime":"2024-01-02T03:04:05Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","errorCode":"AccessDenied","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"}}`
	got, err := d.Preview(asCloudTrail([]byte(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "CEF:0|Amazon|||||7|act=attack.defense_evasion.cloudtrail_stop cs1=record cs2=x-StopLogging"; !strings.HasSuffix(got, want) {
		t.Errorf("got %s\nwant ...%s", got, want)
	}
}

func BenchmarkEncodeCEFMappingPath(b *testing.B) {
	raws := pantherRecords(b, 30)
	cfg := testConfig("127.0.0.1:514")
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	e.noFast = true
	var dst []byte
	b.ReportAllocs()
	for range b.N {
		for _, raw := range raws {
			var err error
			if dst, err = e.message(dst[:0], asCloudTrail(raw)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raws)), "ns/record")
}

func BenchmarkEncodeCEFCloudWatchEnvelope(b *testing.B) {
	var recs []*event.Record
	for i, raw := range pantherRecords(b, 30) {
		recs = append(recs, asCloudWatch(b, raw, i))
	}
	cfg := testConfig("127.0.0.1:514")
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	var dst []byte
	b.ReportAllocs()
	for range b.N {
		for _, r := range recs {
			var err error
			if dst, err = e.message(dst[:0], r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

// FuzzCloudTrailPaths: for any input labelled cloudtrail, bare or in the CloudWatch envelope,
// the fast path and the mapping path agree, and the CEF parses back.
func FuzzCloudTrailPaths(f *testing.F) {
	for i, raw := range pantherRecords(f, 20) {
		f.Add(raw, i < 3)
	}
	f.Add([]byte(`{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventTime":"2024-01-01 00:00:00","errorCode":5,"errorCode":"x"}`), false)
	f.Add([]byte(`nope`), true)
	cfg := testConfig("127.0.0.1:514")
	fast := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	slow := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	slow.noFast = true
	fast.now = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
	slow.now = fast.now
	f.Fuzz(func(t *testing.T, raw []byte, wrapped bool) {
		r := asCloudTrail(raw)
		if wrapped {
			r = asCloudWatch(t, raw, len(raw))
		}
		a, err1 := fast.message(nil, fresh(r))
		b, err2 := slow.message(nil, fresh(r))
		if fmt.Sprint(err1) != fmt.Sprint(err2) || string(a) != string(b) {
			t.Fatalf("fast    %q (%v)\nmapping %q (%v)", a, err1, b, err2)
		}
		if err1 == nil {
			if _, err := parseCEF(msgOf(t, string(a))); err != nil {
				t.Fatalf("%v: %q", err, a)
			}
		}
	})
}

// isIP is netip.ParseAddr's verdict on the trimmed text.
func TestIsIP(t *testing.T) {
	for _, s := range []string{"", " ", "192.0.2.1", " 192.0.2.1 ", "2001:db8::1", "fe80::1%eth0", "fe80::1%", "::ffff:192.0.2.1",
		"AWS Internal", "s3.amazonaws.com", "abc", "1.2.3", "1.2.3.4.5", "ABCD::", "dead:beef::1", "1.2.3.4%x", "::", "x::1"} {
		_, err := netip.ParseAddr(strings.TrimSpace(s))
		if got := isIP(s); got != (err == nil) {
			t.Errorf("isIP(%q) = %v; netip says %v", s, got, err)
		}
	}
}
