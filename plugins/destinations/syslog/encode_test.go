package syslog

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	nssim "github.com/logshipper/logshipper/internal/sim/netskope"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestSDEscaping(t *testing.T) {
	if got := string(appendSDValue(nil, `a"b\c]d`)); got != `a\"b\\c\]d` {
		t.Fatalf("got %q", got)
	}
	// No escape exists for a line break or a control character: the text \xHH, escaped.
	if got := string(appendSDValue(nil, "a\nb\r\x00\x1b\u0085")); got != `a\\x0ab\\x0d\\x00\\x1b\\x85` {
		t.Fatalf("got %q", got)
	}
	cfg := testConfig("127.0.0.1:514")
	cfg.StructuredData = true
	cfg.Format = FormatJSON
	e := newEncoder(cfg, "collector", nil, nil)
	r := &event.Record{Raw: []byte(`{"a":1}`), Source: `src"]`, Subtype: "dlp", ID: `id\1`, Time: time.Date(2024, 5, 6, 7, 8, 9, 10e6, time.UTC)}
	got, err := e.message(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	want := `<166>1 2024-05-06T07:08:09.010Z collector logshipper - dlp [logshipper@32473 source="src\"\]" type="dlp" id="id\\1"] {"a":1}`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRFC3164AndHostnameFromLogSource(t *testing.T) {
	cfg := testConfig("127.0.0.1:514")
	cfg.Header = HeaderRFC3164
	cfg.Format = FormatJSON
	cfg.Facility, cfg.Severity = "local0", "warning"
	e := newEncoder(cfg, "collector", nil, nil)
	r := &event.Record{Raw: []byte(`{"a":1}`), Time: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Meta: map[string]string{event.MetaLogSourceID: "aws cloudtrail eu"}}
	got, _ := e.message(nil, r)
	if want := `<132>May  6 07:08:09 aws_cloudtrail_eu logshipper: {"a":1}`; string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	r.Meta = nil
	got, _ = e.message(nil, r)
	if want := `<132>May  6 07:08:09 collector logshipper: {"a":1}`; string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	// The log-source identifier also names the device in CEF (dvchost) and LEEF (devName).
	for _, f := range []string{FormatCEF, FormatLEEF} {
		cfg := testConfig("127.0.0.1:514")
		cfg.Format = f
		e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
		r := &event.Record{Raw: []byte(`{"eventName":"GetObject","eventSource":"s3.amazonaws.com","eventTime":"2024-01-02T03:04:05Z"}`),
			Meta: map[string]string{event.MetaLogSourceID: "gw-1"}}
		got, err := e.message(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		s := string(got)
		if !strings.Contains(s, " gw-1 ") || !(strings.Contains(s, "dvchost=gw-1") || strings.Contains(s, "devName=gw-1")) {
			t.Errorf("%s: %s", f, s)
		}
	}
}

func testConfig(addr string) *Config {
	c := NewConfig().(*Config)
	c.Address = addr
	return c
}

// pantherRecords reads the first n CloudTrail samples.
func pantherRecords(t testing.TB, n int) [][]byte {
	t.Helper()
	f, err := os.Open("../../../internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson")
	if err != nil {
		t.Fatalf("CloudTrail samples: %v", err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() && len(out) < n {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// netskopeRecords generates two records of a few alert and event types, as the netskope source
// hands them over.
func netskopeRecords(t testing.TB) []*event.Record {
	t.Helper()
	tn := nssim.New(nssim.Options{Seed: 7, Now: nssim.NewManualClock(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)).Now})
	var out []*event.Record
	for _, ep := range []struct {
		kind nssim.Kind
		typ  string
	}{{nssim.Alerts, "dlp"}, {nssim.Alerts, "malware"}, {nssim.Alerts, "compromisedcredential"}, {nssim.Events, "audit"}, {nssim.Events, "page"}, {nssim.Alerts, "uba"}} {
		if err := tn.Generate(ep.kind, ep.typ, 2); err != nil {
			t.Fatal(err)
		}
		for _, r := range tn.Records(ep.kind, ep.typ) {
			kind := event.KindNetskopeEvent
			if ep.kind == nssim.Alerts {
				kind = event.KindNetskopeAlert
			}
			out = append(out, &event.Record{Raw: r.Raw, ID: r.ID, Time: time.Unix(r.Timestamp, 0), Source: "tenant-a", Kind: kind, Subtype: ep.typ})
		}
	}
	return out
}

func goldenRecords(t testing.TB) []*event.Record {
	var recs []*event.Record
	for i, raw := range pantherRecords(t, 30) {
		r := asCloudTrail(raw)
		r.Source = "cloudwatch"
		if i%3 == 0 {
			r.Meta = map[string]string{event.MetaLogSourceID: "aws-account-1"}
		}
		recs = append(recs, r)
	}
	recs = append(recs, netskopeRecords(t)...)
	recs = append(recs, &event.Record{Raw: []byte(`{"hello":"a=b|c\\d","n":1}`), Subtype: "custom", ID: "x-1", Time: time.Unix(1700000000, 0)})
	// The CloudWatch source's envelope (extract_original_event off), a record the file source
	// found in QRadar's text form, and a record that is not JSON.
	raws := pantherRecords(t, 2)
	cw := asCloudWatch(t, raws[0], 0)
	cw.Source = "cloudwatch"
	qr := asCloudTrail(raws[1])
	qr.Source, qr.Meta = "qradar", map[string]string{event.MetaInputForm: "qradar", event.MetaLogStream: "111122223333_CloudTrail_us-east-1"}
	recs = append(recs, cw, qr,
		&event.Record{Raw: []byte("<13>not json = at all|"), Source: "udp", Time: time.Unix(1700000000, 0)})
	return recs
}

func TestGolden(t *testing.T) {
	for _, f := range []string{FormatCEF, FormatLEEF, FormatJSON} {
		t.Run(f, func(t *testing.T) {
			cfg := testConfig("127.0.0.1:514")
			cfg.Format = f
			cfg.JSONEnvelope = f == FormatJSON
			e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
			e.now = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
			var out bytes.Buffer
			for _, r := range goldenRecords(t) {
				msg, err := e.message(nil, r)
				if err != nil {
					fmt.Fprintf(&out, "ERROR %v\n", err)
					continue
				}
				if bytes.ContainsAny(msg, "\r\n") {
					t.Errorf("message holds a line break: %q", msg)
				}
				out.Write(msg)
				out.WriteByte('\n')
				if f == FormatCEF {
					if _, err := parseCEF(msgOf(t, string(msg))); err != nil {
						t.Errorf("%v: %s", err, msg)
					}
				}
			}
			path := filepath.Join("testdata", "golden", f+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update and read the diff):\n%s", path, firstDiff(out.String(), string(want)))
			}
		})
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}

// The CloudTrail mapping fills what a SIEM needs, and a Netskope DLP alert gets CE's header.
func TestMappedFields(t *testing.T) {
	cfg := testConfig("127.0.0.1:514")
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	raw := `{"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2","errorCode":"AccessDenied","errorMessage":"no = way\nreally","eventID":"e-1","recipientAccountId":"111122223333","eventType":"AwsApiCall","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/a|b","principalId":"AID1","accessKeyId":"AKIA1"}}`
	ct := asCloudTrail([]byte(raw))
	ct.Meta = map[string]string{event.MetaLogSourceID: "gw"}
	msg, err := e.message(nil, ct)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseCEF(msgOf(t, string(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if h := m.Header; h[1] != "AWS" || h[2] != "CloudTrail" || h[3] != "1.08" || h[4] != "CreateUser" || h[6] != "5" {
		t.Errorf("header %q", h)
	}
	want := map[string]string{
		"rt": "1704164645000", "src": "198.51.100.7", "suser": "a|b", "act": "CreateUser",
		"outcome": "failure", "reason": "no = way\nreally", "cs1Label": "eventSource", "cs1": "iam.amazonaws.com",
		"cs2": "us-east-1", "cs3": "111122223333", "cs4": "AccessDenied", "externalId": "e-1", "dvchost": "gw",
		"requestClientApplication": "aws-cli/2", "cat": "error.access_denied", "cs5": "IAMUser", "suid": "arn:aws:iam::111122223333:user/a|b",
		"cs6": "AKIA1", "cn1Label": "ocsfClassUid", "cn1": "3001", "cn2": "1", "cn3": "300101", "flexString1": "Account Change",
		"flexString2Label": "ocsfActivityName", "flexString2": "Create",
	}
	for k, v := range want {
		if got, _ := m.get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// A sourceIPAddress that is a service name is not an address: no src.
	msg, _ = e.message(nil, asCloudTrail([]byte(`{"eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"s3.amazonaws.com"}`)))
	if m, _ := parseCEF(msgOf(t, string(msg))); func() bool { _, ok := m.get("src"); return ok }() {
		t.Errorf("src set from a service name: %s", msg)
	}

	// Netskope: the CE mapping, $tenant_name from the record's source.
	r := &event.Record{Raw: []byte(`{"_id":"1","alert_type":"DLP","alert_name":"Leak","dlp_rule_severity":"High","srcip":"10.0.0.1","user":"u@x"}`),
		Source: "tenant-a", Kind: event.KindNetskopeAlert, Subtype: "dlp"}
	msg, err = e.message(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	m, err = parseCEF(msgOf(t, string(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if h := m.Header; h[1] != "Netskope" || h[2] != "tenant-a" || h[4] != "DLP" || h[5] != "Leak" || h[6] != "High" {
		t.Errorf("header %q", h)
	}
	if v, _ := m.get("src"); v != "10.0.0.1" {
		t.Errorf("src = %q", v)
	}
	// A Netskope subtype the mapping lacks is skipped as unmapped.
	r.Subtype = "nosuchtype"
	if _, err := e.message(nil, r); !isSkipped(err, plugin.ReasonUnmapped) {
		t.Errorf("unmapped subtype: err = %v", err)
	}
	// The mapping is chosen by the Kind's class: an event mapping lacks dlp.
	r = &event.Record{Raw: r.Raw, Source: "tenant-a", Kind: event.KindNetskopeEvent, Subtype: "dlp"}
	if _, err := e.message(nil, r); !isSkipped(err, plugin.ReasonUnmapped) {
		t.Errorf("an event of subtype dlp: err = %v", err)
	}
	// The Kind decides, never the record's content or Meta: a Netskope alert without its Kind
	// is generic.
	r = &event.Record{Raw: r.Raw, Subtype: "dlp", Meta: map[string]string{"endpoint": "alerts/dlp"}}
	if msg, err := e.message(nil, r); err != nil || !strings.Contains(string(msg), "CEF:0|logshipper|logshipper|1.0|dlp|dlp|Unknown|") {
		t.Errorf("no Kind: %s (%v)", msg, err)
	}
	// A Netskope record that is not JSON: refused (its mapping needs the fields).
	r = &event.Record{Raw: []byte(`nope`), Kind: event.KindNetskopeAlert, Subtype: "dlp"}
	if _, err := e.message(nil, r); !isRefused(err) {
		t.Errorf("Netskope, not JSON: err = %v", err)
	}
}

func isSkipped(err error, reason plugin.Reason) bool {
	se, ok := err.(*plugin.SkippedError)
	return ok && se.Reason == reason
}

func isRefused(err error) bool {
	_, ok := err.(*plugin.RefusedError)
	return ok
}

func TestLEEFShape(t *testing.T) {
	cfg := testConfig("127.0.0.1:514")
	cfg.Format = FormatLEEF
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	raw := `{"eventTime":"2024-01-02T03:04:05Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","sourceIPAddress":"198.51.100.7","eventType":"AwsApiCall","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a\tb"}}`
	msg, err := e.message(nil, asCloudTrail([]byte(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body := msgOf(t, string(msg))
	prefix := "LEEF:2.0|AWS|CloudTrail|1.0|CreateUser|x09|"
	if !strings.HasPrefix(body, prefix) {
		t.Fatalf("%q does not start with %q", body, prefix)
	}
	got := map[string]string{}
	for _, kv := range strings.Split(body[len(prefix):], "\t") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("attribute %q has no =", kv)
		}
		got[k] = v
	}
	want := map[string]string{"devTime": "2024-01-02T03:04:05.000+0000", "devTimeFormat": LEEFTimeFormat, "src": "198.51.100.7",
		"usrName": "a b", "sev": "6", "cat": "attack.persistence.iam_create_admin_user", AttackTechniqueKey: "T1136.003", "outcome": "success", "cn1": "3001", "flexString2": "Create"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (%s)", k, got[k], v, body)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{{"abcdef", 4, "abcd"}, {"ab日本", 4, "ab"}, {`ab\=c`, 3, "ab"}, {`a\\b`, 3, `a\\`}, {"abc", 5, "abc"}} {
		if got := string(truncate([]byte(c.in), c.max)); got != c.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func BenchmarkEncodeCEF(b *testing.B)  { benchEncode(b, FormatCEF, false) }
func BenchmarkEncodeLEEF(b *testing.B) { benchEncode(b, FormatLEEF, false) }
func BenchmarkEncodeJSON(b *testing.B) { benchEncode(b, FormatJSON, false) }

// The same with the parse the CloudWatch source hands over with each CloudTrail record
// (event.Record.Parsed): the encoding alone, the parse counted in the source's BenchmarkBuild.
func BenchmarkEncodeCEFParsed(b *testing.B)  { benchEncode(b, FormatCEF, true) }
func BenchmarkEncodeLEEFParsed(b *testing.B) { benchEncode(b, FormatLEEF, true) }
func BenchmarkEncodeJSONParsed(b *testing.B) { benchEncode(b, FormatJSON, true) }

// benchEncode encodes the first 30 CloudTrail samples as CloudTrail records (Kind cloudtrail,
// Subtype their eventType), with their parse (parsed) or without (the encoder parses them);
// each iteration uses fresh records, so the one-time field decode a mapping needs is counted
// (as it is on the hot path).
func benchEncode(b *testing.B, format string, parsed bool) {
	raws := pantherRecords(b, 30)
	cfg := testConfig("127.0.0.1:514")
	cfg.Format = format
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	var dst []byte
	bytesIn := 0
	protos := make([]*event.Record, len(raws))
	for i, raw := range raws {
		bytesIn += len(raw)
		protos[i] = asCloudTrail(raw)
		if ev, err := cloudtrailrecord.Parse(raw); parsed && err == nil {
			protos[i].Parsed = ev
		}
	}
	b.SetBytes(int64(bytesIn))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, p := range protos {
			r := &event.Record{Raw: p.Raw, Kind: p.Kind, Subtype: p.Subtype, Parsed: p.Parsed}
			var err error
			if dst, err = e.message(dst[:0], r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raws)), "ns/record")
}

var _ = plugintest.RawKey
