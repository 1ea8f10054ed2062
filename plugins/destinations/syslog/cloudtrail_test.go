package syslog

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
)

// allCloudTrail returns every CloudTrail test record: the panther samples, the AWS
// documentation samples (one record per item of each file), and the CloudWatch subscription
// samples' events, each also wrapped in a CloudWatch envelope and in QRadar's text form.
func allCloudTrail(t testing.TB) [][]byte {
	t.Helper()
	recs := pantherRecords(t, 1<<20)
	for _, dir := range []string{"awsdocs", "cloudwatch-envelopes"} {
		files, _ := filepath.Glob(filepath.Join("/work/shared/testdata/cloudtrail", dir, "*.json"))
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
				recs = append(recs, it.Record)
			}
		}
	}
	n := len(recs)
	for i := range min(n, 60) {
		recs = append(recs, cloudWatchEnvelope(t, recs[i], i), qradarForm(recs[i], i))
	}
	return recs
}

// cloudWatchEnvelope is what the CloudWatch source sends with extract_original_event off.
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

func qradarForm(rec []byte, i int) []byte {
	return []byte(fmt.Sprintf("{LogStreamName: 111122223333_CloudTrail_us-east-1, Timestamp: %d, Message: %s, IngestionTime: 1700000000500, EventId: %d}",
		1700000000000+i, rec, 37920000000+i))
}

// The fast path (CloudTrail records written from cloudtrail.Event) and the mapping path
// (defaults/cloudtrail.json applied to the decoded fields plus CloudTrailEnricher's) give the
// same bytes, for every sample, bare and in envelopes, in CEF and LEEF.
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
		for i, raw := range recs {
			r1, r2 := &event.Record{Raw: raw}, &event.Record{Raw: raw}
			if i%4 == 0 {
				r1.Meta = map[string]string{event.MetaLogSourceID: "acct-1"}
				r2.Meta = r1.Meta
			}
			a, err1 := fast.message(nil, r1)
			b, err2 := slow.message(nil, r2)
			if fmt.Sprint(err1) != fmt.Sprint(err2) || string(a) != string(b) {
				t.Fatalf("%s, record %d:\nfast    %s (%v)\nmapping %s (%v)\nrecord %s", f, i, a, err1, b, err2, raw)
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

// A CloudWatch envelope and QRadar's text form are unwrapped: the record inside is mapped as
// if it came bare, plus the envelope's log group and stream.
func TestEnvelopesUnwrapped(t *testing.T) {
	raw := pantherRecords(t, 1)[0]
	for _, f := range []string{FormatCEF, FormatLEEF} {
		cfg := testConfig("127.0.0.1:514")
		cfg.Format = f
		e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
		e.now = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
		bare, err := e.message(nil, &event.Record{Raw: raw})
		if err != nil {
			t.Fatal(err)
		}
		sep := " "
		if f == FormatLEEF {
			sep = "\t"
		}
		for _, c := range []struct {
			name, in, extra string
		}{
			{"cloudwatch", string(cloudWatchEnvelope(t, raw, 0)), "deviceFacility=aws-cloudtrail-logs-111122223333" + sep + "deviceExternalId=111122223333_CloudTrail_us-east-1"},
			{"qradar", string(qradarForm(raw, 0)), "deviceExternalId=111122223333_CloudTrail_us-east-1"},
		} {
			got, err := e.message(nil, &event.Record{Raw: []byte(c.in)})
			if err != nil {
				t.Fatalf("%s %s: %v", f, c.name, err)
			}
			if want := string(bare) + sep + c.extra; string(got) != want {
				t.Errorf("%s %s:\n got  %s\n want %s", f, c.name, got, want)
			}
		}
	}
}

// Records that are not CloudTrail go out whole, generic, with their parse status.
func TestParseStatus(t *testing.T) {
	cases := []struct{ name, raw, status string }{
		{"not json", `nope, not json`, "not_json"},
		{"truncated", `{"eventName":"GetObject","eventSource":"s3.amazonaws.com"`, "not_json"},
		{"other json", `{"hello":"world"}`, "not_cloudtrail"},
		{"no eventTime", `{"eventName":"GetObject","eventSource":"s3.amazonaws.com"}`, "not_cloudtrail"},
		{"array", `[1,2]`, "not_cloudtrail"},
		{"cloudwatch, message not cloudtrail", `{"logGroup":"g","logStream":"s","timestamp":1,"ingestionTime":2,"eventId":"1","message":"plain text"}`, "not_json"},
	}
	for _, c := range cases {
		for _, f := range []string{FormatCEF, FormatLEEF, FormatJSON} {
			cfg := testConfig("127.0.0.1:514")
			cfg.Format = f
			cfg.JSONEnvelope = true
			e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
			r := &event.Record{Raw: []byte(c.raw), ID: "id-1", Time: time.Unix(1700000000, 0)}
			got, err := e.message(nil, r)
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, f, err)
			}
			s := msgOf(t, string(got))
			var want string
			switch f {
			case FormatCEF:
				want = "CEF:0|logshipper|logshipper|1.0|record|record|Unknown|rt=1700000000000 externalId=id-1 parse_status=" + c.status + " msg="
				m, err := parseCEF(s)
				if err != nil {
					t.Fatalf("%s: %v", s, err)
				}
				if v, _ := m.get("msg"); v != c.raw {
					t.Errorf("%s: msg = %q, want the record", c.name, v)
				}
			case FormatLEEF:
				want = "LEEF:2.0|logshipper|logshipper|1.0|record|x09|devTime=2023-11-14T22:13:20.000+0000\tdevTimeFormat=" + LEEFTimeFormat + "\texternalId=id-1\tparse_status=" + c.status + "\tmsg="
			case FormatJSON:
				want = `{"source":"","id":"id-1","time":"2023-11-14T22:13:20Z","parse_status":"` + c.status + `","event":`
				var env struct{ Event json.RawMessage }
				if err := json.Unmarshal([]byte(s), &env); err != nil {
					t.Fatalf("%s: the envelope is not JSON: %v: %s", c.name, err, s)
				}
				if !json.Valid([]byte(c.raw)) {
					var str string
					if err := json.Unmarshal(env.Event, &str); err != nil || str != c.raw {
						t.Errorf("%s: event = %s, want the record as a string", c.name, env.Event)
					}
				}
			}
			if !strings.HasPrefix(s, want) {
				t.Errorf("%s %s:\n got  %s\n want %s...", c.name, f, s, want)
			}
		}
	}
	// A CloudTrail record in a JSON envelope carries no parse_status.
	cfg := testConfig("127.0.0.1:514")
	cfg.Format, cfg.JSONEnvelope = FormatJSON, true
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	got, err := e.message(nil, &event.Record{Raw: pantherRecords(t, 1)[0]})
	if err != nil || strings.Contains(string(got), "parse_status") {
		t.Errorf("CloudTrail in a JSON envelope: %s (%v)", got, err)
	}
}

// Input holding several CloudTrail records gives one message each; one that is not CloudTrail
// is sent generic, with its status.
func TestSeveralRecords(t *testing.T) {
	raw := `{"Records":[{"eventName":"A","eventSource":"s","eventTime":"2024-01-01T00:00:00Z"},{"eventName":"B","eventSource":"s","eventTime":"2024-01-01T00:00:00Z"},{"x":1}]}`
	for _, f := range []string{FormatCEF, FormatLEEF} {
		cfg := testConfig("127.0.0.1:514")
		cfg.Format = f
		d, err := New(cfg, plugintest.Settings(t, "siem", nil))
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Preview(&event.Record{Raw: []byte(raw)})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(got, "\n")
		if len(lines) != 3 {
			t.Fatalf("%s: %d messages, want 3:\n%s", f, len(lines), got)
		}
		for k, want := range []string{"|A|", "|B|", "parse_status=not_cloudtrail"} {
			if !strings.Contains(lines[k], want) || !strings.HasPrefix(lines[k], "<166>1 ") {
				t.Errorf("%s: message %d = %s, want %s in it", f, k, lines[k], want)
			}
		}
		if !strings.HasSuffix(lines[2], `msg={"x":1}`) {
			t.Errorf("%s: the record that is not CloudTrail goes alone: %s", f, lines[2])
		}
	}
	// Write frames each message alone (octet counting), after the single record before it.
	srv := newServer(t, false, 0)
	d := newDest(t, testConfig(srv.addr()))
	if err := d.Write(context.Background(), []*event.Record{{Raw: pantherRecords(t, 1)[0]}, {Raw: []byte(raw)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(srv.messages()) == 4 })
	for k, want := range []string{"|UpdateFunctionConfiguration", "|A|", "|B|", "parse_status=not_cloudtrail"} {
		if m := srv.messages()[k]; !strings.Contains(m, want) {
			t.Errorf("message %d = %s, want %s in it", k, m, want)
		}
	}

	// The JSON envelope: the first status that is not ok.
	cfg := testConfig("127.0.0.1:514")
	cfg.Format, cfg.JSONEnvelope = FormatJSON, true
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	got, _ := e.message(nil, &event.Record{Raw: []byte(raw)})
	if !strings.Contains(string(got), `"parse_status":"not_cloudtrail"`) {
		t.Errorf("json: %s", got)
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
	got, err := d.Preview(&event.Record{Raw: []byte(raw)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "CEF:0|Amazon|||||7|act=logging.tampering cs1=record cs2=x-StopLogging"; !strings.HasSuffix(got, want) {
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
			if dst, err = e.message(dst[:0], &event.Record{Raw: raw}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raws)), "ns/record")
}

func BenchmarkEncodeCEFCloudWatchEnvelope(b *testing.B) {
	var raws [][]byte
	for i, raw := range pantherRecords(b, 30) {
		raws = append(raws, cloudWatchEnvelope(b, raw, i))
	}
	cfg := testConfig("127.0.0.1:514")
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	var dst []byte
	b.ReportAllocs()
	for range b.N {
		for _, raw := range raws {
			var err error
			if dst, err = e.message(dst[:0], &event.Record{Raw: raw}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raws)), "ns/record")
}

// FuzzCloudTrailPaths: for any input, the fast path and the mapping path agree, and the CEF
// parses back.
func FuzzCloudTrailPaths(f *testing.F) {
	for i, raw := range pantherRecords(f, 20) {
		f.Add(raw)
		if i < 3 {
			f.Add(cloudWatchEnvelope(f, raw, i))
			f.Add(qradarForm(raw, i))
		}
	}
	f.Add([]byte(`{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","eventTime":"2024-01-01 00:00:00","errorCode":5,"errorCode":"x"}`))
	f.Add([]byte(`nope`))
	cfg := testConfig("127.0.0.1:514")
	fast := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	slow := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	slow.noFast = true
	fast.now = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
	slow.now = fast.now
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err1 := fast.message(nil, &event.Record{Raw: raw})
		b, err2 := slow.message(nil, &event.Record{Raw: raw})
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
