package file

import (
	"encoding/json"
	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// ct is a CloudTrail record with the given eventID and eventType ("" leaves it out).
func ct(id, eventType string) string {
	r := `{"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"` + id + `"`
	if eventType != "" {
		r += `,"eventType":"` + eventType + `"`
	}
	return r + `}`
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// published is what the test reads of a record.
type published struct {
	raw, kind, subtype, form, group, stream string
}

func publishedOf(r *event.Record) published {
	return published{string(r.Raw), string(r.Kind), r.Subtype, r.Meta[event.MetaInputForm], r.Meta[event.MetaLogGroup], r.Meta[event.MetaLogStream]}
}

// With record_kind cloudtrail, every line is split into its CloudTrail records, each saying
// what it is; what is not CloudTrail is dead-lettered as invalid, alone when it is an element.
func TestRecordKindCloudTrail(t *testing.T) {
	a, b, c := ct("a", "AwsApiCall"), ct("b", "AwsConsoleSignIn"), ct("c", "")
	noName := `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventID":"bad"}`
	cwEvent := `{"logGroup":"grp","logStream":"111122223333_CloudTrail_us-east-1","timestamp":1,"ingestionTime":2,"eventId":"9","message":` + jsonString(t, c) + `}`
	qradar := `{LogStreamName: 111122223333_CloudTrail_eu-west-1, Timestamp: 1700000000000, Message: ` + a + `, IngestionTime: 1700000000500, EventId: 3792}`
	tests := []struct {
		name  string
		line  string
		want  []published
		drops []string // what each drop kept
	}{
		{"bare record", a, []published{{a, "cloudtrail", "AwsApiCall", "", "", ""}}, nil},
		{"no eventType", c, []published{{c, "cloudtrail", "", "", "", ""}}, nil},
		{"Records digest", `{"Records":[` + a + `,` + b + `]}`, []published{{a, "cloudtrail", "AwsApiCall", "records_file", "", ""}, {b, "cloudtrail", "AwsConsoleSignIn", "records_file", "", ""}}, nil},
		{"Records with a bad element", `{"Records":[` + a + `,` + noName + `]}`, []published{{a, "cloudtrail", "AwsApiCall", "records_file", "", ""}}, []string{noName}},
		{"CloudWatch event", cwEvent, []published{{c, "cloudtrail", "", "cloudwatch", "grp", "111122223333_CloudTrail_us-east-1"}}, nil},
		{"QRadar form", qradar, []published{{a, "cloudtrail", "AwsApiCall", "qradar", "", "111122223333_CloudTrail_eu-west-1"}}, nil},
		{"not CloudTrail", `{"hello":"world"}`, nil, []string{`{"hello":"world"}`}},
		{"CloudWatch event around text", `{"logGroup":"g","logStream":"s","eventId":"1","message":"text"}`, nil, []string{`{"logGroup":"g","logStream":"s","eventId":"1","message":"text"}`}},
		{"not JSON", `nope`, nil, []string{`nope`}},
		{"Records, none CloudTrail", `{"Records":[{"x":1},{"y":2}]}`, nil, []string{`{"x":1}`, `{"y":2}`}},
		{"empty Records file", `{"Records":[]}`, nil, nil},
		{"empty delivery", `{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[]}`, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ct.ndjson")
			// The line between two good ones: the records keep their order and the position
			// moves past the line.
			writeFile(t, path, b+"\n"+tc.line+"\n"+b+"\n")
			cfg := testConfig(t, path)
			cfg.RecordKind = KindCloudTrail
			f := newFixture(t, cfg, nil)
			f.scan()
			want := append(append([]published{{b, "cloudtrail", "AwsConsoleSignIn", "", "", ""}}, tc.want...), published{b, "cloudtrail", "AwsConsoleSignIn", "", "", ""})
			recs := f.pub.Records()
			if len(recs) != len(want) {
				t.Fatalf("%d records, want %d: %+v", len(recs), len(want), recs)
			}
			for i, r := range recs {
				if got := publishedOf(r); got != want[i] {
					t.Errorf("record %d:\n got  %+v\n want %+v", i, got, want[i])
				}
				if r.Source != "src" || r.Payload != nil {
					t.Errorf("record %d: source %q, payload %q", i, r.Source, r.Payload)
				}
				// The parse travels with the record, made from its own bytes, so a
				// destination does not parse it again.
				if ev, ok := cloudtrailrecord.Parsed(r.Parsed, r.Raw); !ok || ev.EventType != r.Subtype {
					t.Errorf("record %d: Parsed %T %v does not hold the parse of its Raw", i, r.Parsed, ok)
				}
			}
			var reasons []plugin.Reason
			for range tc.drops {
				reasons = append(reasons, plugin.ReasonInvalid)
			}
			drops := f.expectDrops(reasons...)
			for i, d := range drops {
				if string(d.Raw) != tc.drops[i] || d.Err == nil || !strings.Contains(d.Err.Error(), path) || !strings.Contains(d.Err.Error(), "not") {
					t.Errorf("drop %d kept %q (%v), want %q", i, d.Raw, d.Err, tc.drops[i])
				}
			}
			if got := f.saved()[path]; got != size(t, path) {
				t.Errorf("saved offset %d, want the file's size %d", got, size(t, path))
			}
			// A file or delivery with nothing in it gives no record and is counted.
			wantEmpty := 0.0
			if strings.HasPrefix(tc.name, "empty") {
				wantEmpty = 1
			}
			if got := testutil.ToFloat64(f.set.Metrics.DroppedCounter(string(plugin.ReasonEmpty))); got != wantEmpty {
				t.Errorf("counted %v empty inputs, want %v", got, wantEmpty)
			}
		})
	}
}

// A JSON-array file with record_kind cloudtrail: each element is split the same way.
func TestRecordKindCloudTrailArray(t *testing.T) {
	a, b := ct("a", "AwsApiCall"), ct("b", "AwsServiceEvent")
	path := filepath.Join(t.TempDir(), "ct.json")
	writeFile(t, path, `[`+a+`, {"Records":[`+b+`,`+a+`]}, {"x":1}]`)
	cfg := testConfig(t, path)
	cfg.RecordKind = KindCloudTrail
	f := newFixture(t, cfg, nil)
	f.scan()
	var got []string
	for _, r := range f.pub.Records() {
		got = append(got, string(r.Kind)+"/"+r.Subtype)
	}
	if want := "cloudtrail/AwsApiCall cloudtrail/AwsServiceEvent cloudtrail/AwsApiCall"; strings.Join(got, " ") != want {
		t.Fatalf("records %q, want %q", got, want)
	}
	f.expectDrops(plugin.ReasonInvalid)
}

// Issue 14, item 8: a subscription CONTROL_MESSAGE (CloudWatch Logs' health check of a
// subscription destination, as the CloudWatch Logs user guide shows it) is dropped whole as
// control_message, not dead-lettered as invalid; the records around it go on.
func TestRecordKindCloudTrailControlMessage(t *testing.T) {
	a := ct("a", "AwsApiCall")
	control := `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}`
	path := filepath.Join(t.TempDir(), "ct.ndjson")
	writeFile(t, path, a+"\n"+control+"\n"+a+"\n")
	cfg := testConfig(t, path)
	cfg.RecordKind = KindCloudTrail
	f := newFixture(t, cfg, nil)
	f.scan()
	if n := len(f.pub.Records()); n != 2 {
		t.Fatalf("%d records, want the 2 around the control message", n)
	}
	d := f.expectDrops(plugin.ReasonControlMessage)
	if string(d[0].Raw) != control || d[0].Err == nil || !strings.Contains(d[0].Err.Error(), path) {
		t.Fatalf("drop %q: %v", d[0].Raw, d[0].Err)
	}
}

// A line holding more records than batch_size still goes out whole in one batch: the
// position after it is never published before all its records.
func TestRecordKindCloudTrailLineIsOneBatch(t *testing.T) {
	var elems []string
	for i := range 5 {
		elems = append(elems, ct(strings.Repeat("x", i+1), "AwsApiCall"))
	}
	path := filepath.Join(t.TempDir(), "ct.ndjson")
	writeFile(t, path, ct("first", "")+"\n"+`{"Records":[`+strings.Join(elems, ",")+`]}`+"\n")
	cfg := testConfig(t, path)
	cfg.RecordKind, cfg.BatchSize = KindCloudTrail, 2
	f := newFixture(t, cfg, nil)
	f.scan()
	batches := f.pub.Batches()
	if len(batches) != 1 || len(batches[0].Records) != 6 {
		var sizes []int
		for _, b := range batches {
			sizes = append(sizes, len(b.Records))
		}
		t.Fatalf("batches of %v records, want one of 6", sizes)
	}
}

// With record_kind netskope, a record with a string alert_type is an alert of that type, any
// other an event of its event_type; subtypes are lower-cased and named after the endpoint that
// serves them: ips and c2 are ctep, anomaly is uba (a UBA alert whichever way it names itself).
func TestRecordKindNetskope(t *testing.T) {
	tests := []struct {
		line, kind, subtype string
	}{
		{`{"_id":"1","alert_type":"DLP"}`, "netskope/alert", "dlp"},
		{`{"_id":"2","alert_type":"Malware","event_type":"page"}`, "netskope/alert", "malware"},
		{`{"_id":"3","alert_type":"ips"}`, "netskope/alert", "ctep"},
		{`{"_id":"4","alert_type":"C2"}`, "netskope/alert", "ctep"},
		{`{"_id":"8","alert_type":"anomaly","type":"anomaly"}`, "netskope/alert", "uba"},
		{`{"_id":"9","alert_type":"uba","type":"anomaly"}`, "netskope/alert", "uba"},
		{`{"_id":"5","event_type":"Audit"}`, "netskope/event", "audit"},
		{`{"_id":"6","alert_type":7,"event_type":"page"}`, "netskope/event", "page"},
		{`{"_id":"7"}`, "netskope/event", ""},
	}
	var content strings.Builder
	for _, tc := range tests {
		content.WriteString(tc.line + "\n")
	}
	content.WriteString("[1]\n")
	path := filepath.Join(t.TempDir(), "ns.ndjson")
	writeFile(t, path, content.String())
	cfg := testConfig(t, path)
	cfg.RecordKind = KindNetskope
	f := newFixture(t, cfg, nil)
	f.scan()
	recs := f.pub.Records()
	if len(recs) != len(tests) {
		t.Fatalf("%d records, want %d", len(recs), len(tests))
	}
	for i, tc := range tests {
		if r := recs[i]; string(r.Raw) != tc.line || string(r.Kind) != tc.kind || r.Subtype != tc.subtype {
			t.Errorf("%s: kind %q subtype %q, want %q %q", tc.line, r.Kind, r.Subtype, tc.kind, tc.subtype)
		}
	}
	f.expectDrops(plugin.ReasonInvalid)
}

// Without record_kind, records carry no Kind, CloudTrail or not.
func TestNoRecordKind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.ndjson")
	writeFile(t, path, ct("a", "AwsApiCall")+"\n"+`{"alert_type":"dlp"}`+"\n")
	f := newFixture(t, testConfig(t, path), nil)
	f.scan()
	for _, r := range f.pub.Records() {
		if r.Kind != "" || r.Subtype != "" || r.Meta != nil {
			t.Errorf("%s: kind %q subtype %q meta %v", r.Raw, r.Kind, r.Subtype, r.Meta)
		}
		if !r.ValidJSON { // the source checked it as a JSON object
			t.Errorf("%s: not marked ValidJSON", r.Raw)
		}
	}
	if n := len(f.pub.Records()); n != 2 {
		t.Fatalf("%d records", n)
	}
}
