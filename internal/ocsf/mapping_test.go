package ocsf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/sim/netskope"
)

// mapAll maps and validates every sample, failing the test on any error.
func mapAll(t *testing.T, samples []sample) []Event {
	t.Helper()
	out := make([]Event, 0, len(samples))
	for _, s := range samples {
		ev, err := FromRecord(s.record)
		if err != nil {
			t.Fatalf("%s: FromRecord: %v", s.where, err)
		}
		if err := Validate(ev); err != nil {
			t.Fatalf("%s: %v", s.where, err)
		}
		out = append(out, ev)
	}
	return out
}

// goldenJSON is the samples' OCSF records, one indented JSON object each, after its source.
func goldenJSON(t *testing.T, samples []sample) []byte {
	t.Helper()
	var buf bytes.Buffer
	for i, ev := range mapAll(t, samples) {
		out, err := json.MarshalIndent(ev, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&buf, "// %s\n%s\n", samples[i].where, out)
	}
	return buf.Bytes()
}

func TestGoldenCloudTrailAWSDocs(t *testing.T) {
	checkGolden(t, "cloudtrail-awsdocs.jsonc", goldenJSON(t, awsdocsSamples(t)))
}

func TestGoldenNetskopeRecords(t *testing.T) {
	checkGolden(t, "netskope-records.jsonc", goldenJSON(t, netskopeRecordSamples(t)))
}

func TestGoldenNetskopeAudit(t *testing.T) {
	checkGolden(t, "netskope-panther-audit.jsonc", goldenJSON(t, pantherNetskopeSamples(t)))
}

// TestGoldenCloudTrailPanther maps Panther's 395 CloudTrail records: one summary line each
// (class, activity, severity, status, operation) in the golden file, every one validated.
func TestGoldenCloudTrailPanther(t *testing.T) {
	samples, unreadable := pantherCloudTrailSamples(t)
	var buf bytes.Buffer
	for _, s := range unreadable {
		_, err := FromRecord(s.record)
		if err == nil || errors.Is(err, ErrUnsupported) {
			t.Fatalf("%s: cloudtrailrecord cannot read it, FromRecord gives %v", s.where, err)
		}
		fmt.Fprintf(&buf, "%s error: %v\n", s.where, err)
	}
	for i, ev := range mapAll(t, samples) {
		b := baseOf(ev)
		op := ""
		switch e := ev.(type) {
		case *APIActivity:
			op = e.API.Service.Name + " " + e.API.Operation
		case *Authentication:
			op = e.DstEndpoint.SvcName + " " + e.Metadata.EventCode
		}
		fmt.Fprintf(&buf, "%s %d %s sev=%d status=%d account=%s region=%s %s\n", samples[i].where, b.TypeID, b.TypeName,
			b.SeverityID, b.StatusID, ev.CloudAccount(), ev.CloudRegion(), op)
	}
	checkGolden(t, "cloudtrail-panther.txt", buf.Bytes())
}

// TestClassBySource checks the class each kind and subtype goes to.
func TestClassBySource(t *testing.T) {
	signin := `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},"eventTime":"2024-02-01T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"errorMessage":"Failed authentication","eventID":"e1","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}`
	createUser := `{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"},"eventTime":"2024-02-01T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","requestParameters":{"userName":"bob"},"responseElements":null,"requestID":"r1","eventID":"e2","eventType":"AwsApiCall","recipientAccountId":"111122223333"}`
	denied := `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA1:s","arn":"arn:aws:sts::111122223333:assumed-role/dev/s","accountId":"111122223333","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/dev","userName":"dev"}}},"eventTime":"2024-02-01T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.1","errorCode":"AccessDenied","errorMessage":"not allowed","eventID":"e3","eventType":"AwsApiCall","recipientAccountId":"444455556666"}`
	tests := []struct {
		name     string
		rec      *event.Record
		class    int
		activity int32
		check    func(t *testing.T, ev Event)
	}{
		{"console sign-in failure", cloudTrailRecord([]byte(signin)), ClassAuthentication, 1, func(t *testing.T, ev Event) {
			a := ev.(*Authentication)
			if a.StatusID != 2 || a.IsMFA == nil || *a.IsMFA || a.User.Name != "alice" || a.SrcEndpoint.IP != "203.0.113.7" {
				t.Errorf("status %d mfa %v user %q src %+v", a.StatusID, a.IsMFA, a.User.Name, a.SrcEndpoint)
			}
		}},
		{"IAM CreateUser is API Activity Create", cloudTrailRecord([]byte(createUser)), ClassAPIActivity, 1, func(t *testing.T, ev Event) {
			a := ev.(*APIActivity)
			if a.API.Operation != "CreateUser" || a.API.Service.Name != "iam.amazonaws.com" || a.API.Request.UID != "r1" || a.StatusID != 1 {
				t.Errorf("api %+v status %d", a.API, a.StatusID)
			}
		}},
		{"denied StopLogging", cloudTrailRecord([]byte(denied)), ClassAPIActivity, 4, func(t *testing.T, ev Event) {
			a := ev.(*APIActivity)
			if a.StatusID != 2 || a.StatusCode != "AccessDenied" || a.API.Response.Error != "AccessDenied" ||
				ev.CloudAccount() != "444455556666" || ev.CloudRegion() != "eu-west-1" || a.Actor.Session.Issuer == "" {
				t.Errorf("status %d %q account %q region %q actor %+v", a.StatusID, a.StatusCode, ev.CloudAccount(), ev.CloudRegion(), a.Actor)
			}
		}},
		{"page", nsRec(event.KindNetskopeEvent, "page", `{"_id":"p1","timestamp":1708989085,"url":"www.example.com/a","user":"u@example.com","srcip":"10.0.0.1","dstip":"192.0.2.1"}`), ClassWebResourcesActivity, 2, nil},
		{"application upload", nsRec(event.KindNetskopeEvent, "application", `{"_id":"a1","timestamp":1708989085,"activity":"Upload","app":"Box","object":"x.pdf","user":"u@example.com"}`), ClassWebResourcesActivity, 6, nil},
		{"application login failed", nsRec(event.KindNetskopeEvent, "application", `{"_id":"a2","timestamp":1708989085,"activity":"Login Failed","app":"Box","user":"u@example.com","srcip":"10.0.0.1"}`), ClassAuthentication, 1, func(t *testing.T, ev Event) {
			if a := ev.(*Authentication); a.StatusID != 2 || a.DstEndpoint.SvcName != "Box" {
				t.Errorf("status %d dst %+v", a.StatusID, a.DstEndpoint)
			}
		}},
		{"application odd activity", nsRec(event.KindNetskopeEvent, "application", `{"_id":"a3","timestamp":1708989085,"activity":"Introspect","app":"Box","user":"u"}`), ClassWebResourcesActivity, 99, func(t *testing.T, ev Event) {
			if b := baseOf(ev); b.ActivityName != "Introspect" {
				t.Errorf("activity_name %q", b.ActivityName)
			}
		}},
		{"network", nsRec(event.KindNetskopeEvent, "network", `{"_id":"n1","timestamp":1708989085,"srcip":"10.0.0.1","dstip":"10.0.0.2","dstport":22,"ip_protocol":"TCP","client_bytes":10,"server_bytes":20}`), ClassNetworkActivity, 6, func(t *testing.T, ev Event) {
			if n := ev.(*NetworkActivity); n.Traffic.Bytes != 30 || n.ConnectionInfo.ProtocolNum != 6 || n.DstEndpoint.Port != 22 {
				t.Errorf("traffic %+v conn %+v dst %+v", n.Traffic, n.ConnectionInfo, n.DstEndpoint)
			}
		}},
		{"audit delete", nsRec(event.KindNetskopeEvent, "audit", `{"_id":"x1","timestamp":"2023-12-11 18:10:13.000000000","audit_log_event":"Deleted rbi template","user":"admin"}`), ClassAPIActivity, 4, func(t *testing.T, ev Event) {
			if got := ev.EventTime(); !got.Equal(time.Date(2023, 12, 11, 18, 10, 13, 0, time.UTC)) {
				t.Errorf("time %v", got)
			}
		}},
		{"audit login", nsRec(event.KindNetskopeEvent, "audit", `{"_id":"x2","timestamp":1702308331,"audit_log_event":"Login Successful","user":"a@b.c","supporting_data":{"data_type":"user","data_values":["11.22.33.44","a@b.c"]}}`), ClassAuthentication, 1, func(t *testing.T, ev Event) {
			if a := ev.(*Authentication); a.SrcEndpoint.IP != "11.22.33.44" || a.StatusID != 1 {
				t.Errorf("src %+v status %d", a.SrcEndpoint, a.StatusID)
			}
		}},
		{"infrastructure", nsRec(event.KindNetskopeEvent, "infrastructure", `{"_id":"i1","timestamp":1708989385,"hostname":"pub-1","metric_name":"CPU","metric_value":0.4}`), ClassDeviceInventoryInfo, 1, nil},
		{"unknown event type with a url", nsRec(event.KindNetskopeEvent, "brandnew", `{"_id":"u1","timestamp":1708989385,"url":"a.example/b"}`), ClassWebResourcesActivity, 99, nil},
		{"incident resolved closes its finding", nsRec(event.KindNetskopeEvent, "incident", `{"_id":"i9","timestamp":1708989385,"dlp_incident_id":8249162772736324744,"status":"resolved","user":"u@x.y"}`), ClassDetectionFinding, 3, func(t *testing.T, ev Event) {
			if f := ev.(*DetectionFinding); f.FindingInfo.UID != "8249162772736324744" || f.StatusID != 4 {
				t.Errorf("finding uid %q status %d", f.FindingInfo.UID, f.StatusID)
			}
		}},
		{"event without a subtype goes by record_type", nsRec(event.KindNetskopeEvent, "", `{"_id":"n2","timestamp":1708989085,"record_type":"network","srcip":"10.0.0.1","dstip":"10.0.0.2"}`), ClassNetworkActivity, 6, nil},
		{"dlp alert", nsRec(event.KindNetskopeAlert, "dlp", `{"_id":"d1","timestamp":1708989385,"alert_name":"DLP hit","alert_type":"DLP","dlp_rule":"PCI","dlp_rule_severity":"High","file_name":"a.xlsx","md5":"00112233445566778899aabbccddeeff","user":"u@x.y"}`), ClassDetectionFinding, 1, func(t *testing.T, ev Event) {
			f := ev.(*DetectionFinding)
			if f.SeverityID != 4 || f.FindingInfo.Analytic.Name != "PCI" || f.Evidences[0].File.Hashes[0].AlgorithmID != 1 || f.FindingInfo.UID != "d1" {
				t.Errorf("severity %d finding %+v evidences %+v", f.SeverityID, f.FindingInfo, f.Evidences)
			}
		}},
		{"uba alert", nsRec(event.KindNetskopeAlert, "uba", `{"_id":"b1","timestamp":1708989385,"alert_name":"Bulk Download","risk_level":"high","score":75}`), ClassDetectionFinding, 1, func(t *testing.T, ev Event) {
			f := ev.(*DetectionFinding)
			if f.RiskLevelID == nil || *f.RiskLevelID != 3 || f.RiskScore != 75 || f.FindingInfo.Analytic.TypeID != 2 {
				t.Errorf("risk %v %d analytic %+v", f.RiskLevelID, f.RiskScore, f.FindingInfo.Analytic)
			}
		}},
		{"security assessment severity", nsRec(event.KindNetskopeAlert, "securityassessment", `{"_id":"s1","timestamp":1708989385,"alert_name":"SA","sa_rule_severity":"Critical"}`), ClassDetectionFinding, 1, func(t *testing.T, ev Event) {
			if b := baseOf(ev); b.SeverityID != 5 || b.Unmapped["sa_rule_severity"] != "" {
				t.Errorf("severity %d unmapped %v", b.SeverityID, b.Unmapped)
			}
		}},
		{"audit severity_level word", nsRec(event.KindNetskopeEvent, "audit", `{"_id":"x3","timestamp":1702308331,"audit_log_event":"Edited policy","user":"a","severity_level":"med"}`), ClassAPIActivity, 3, func(t *testing.T, ev Event) {
			if b := baseOf(ev); b.SeverityID != 3 {
				t.Errorf("severity %d", b.SeverityID)
			}
		}},
		{"audit severity_level number stays unmapped", nsRec(event.KindNetskopeEvent, "audit", `{"_id":"x4","timestamp":1702308331,"audit_log_event":"Edited policy","user":"a","severity_level":2}`), ClassAPIActivity, 3, func(t *testing.T, ev Event) {
			if b := baseOf(ev); b.SeverityID != 1 || b.Unmapped["severity_level"] != "2" {
				t.Errorf("severity %d unmapped %v", b.SeverityID, b.Unmapped)
			}
		}},
		{"alert of a type this table does not name", nsRec(event.KindNetskopeAlert, "watchlist", `{"_id":"w1","timestamp":1708989385}`), ClassDetectionFinding, 1, func(t *testing.T, ev Event) {
			if f := ev.(*DetectionFinding); f.FindingInfo.Title != "Netskope watchlist alert" || f.SeverityID != 0 {
				t.Errorf("title %q severity %d", f.FindingInfo.Title, f.SeverityID)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := FromRecord(tt.rec)
			if err != nil {
				t.Fatalf("FromRecord: %v", err)
			}
			if err := Validate(ev); err != nil {
				t.Fatal(err)
			}
			if b := baseOf(ev); ev.ClassUID() != tt.class || b.ActivityID != tt.activity {
				t.Fatalf("class %d activity %d, want %d %d", ev.ClassUID(), b.ActivityID, tt.class, tt.activity)
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
		})
	}
}

func nsRec(kind event.Kind, sub, raw string) *event.Record {
	return &event.Record{Raw: []byte(raw), Kind: kind, Subtype: sub}
}

// TestCloudTrailParsedIsUsed checks a source's parse (Record.Parsed) gives the same record as
// FromRecord's own parse, and that a parse of other bytes is not used.
func TestCloudTrailParsedIsUsed(t *testing.T) {
	s := awsdocsSamples(t)[0]
	own, err := FromRecord(s.record)
	if err != nil {
		t.Fatal(err)
	}
	raw := s.record.Raw
	parsed, err := cloudtrailrecord.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	rec := &event.Record{Raw: raw, Kind: event.KindCloudTrail, Parsed: parsed}
	got, err := FromRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(own)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		t.Fatalf("with Parsed:\n%s\nwithout:\n%s", b, a)
	}
	// A Parsed made of other bytes is not trusted: the record's own bytes are parsed.
	panther, _ := pantherCloudTrailSamples(t)
	other, err := cloudtrailrecord.Parse(bytes.Clone(panther[0].record.Raw))
	if err != nil {
		t.Fatal(err)
	}
	got, err = FromRecord(&event.Record{Raw: raw, Kind: event.KindCloudTrail, Parsed: other})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := json.Marshal(got); !bytes.Equal(a, c) {
		t.Fatalf("a Parsed of other bytes was used:\n%s", c)
	}
}

// TestGeneratedNetskopeRecordsValidate maps records cloudsim's Netskope tenant generates for
// every event and alert endpoint (every field of Netskope's dictionary for the type, with its
// examples) and validates each.
func TestGeneratedNetskopeRecordsValidate(t *testing.T) {
	clock := netskope.NewManualClock(time.Date(2024, 2, 26, 12, 0, 0, 0, time.UTC))
	tn := netskope.New(netskope.Options{Seed: 7, Now: clock.Now})
	want := map[string]int{
		"events/page": ClassWebResourcesActivity, "events/network": ClassNetworkActivity,
		"events/infrastructure": ClassDeviceInventoryInfo, "events/incident": ClassDetectionFinding,
		"events/endpoint": ClassDetectionFinding,
	}
	for _, ep := range netskope.Endpoints() {
		if err := tn.Generate(ep.Kind, ep.Type, 40); err != nil {
			t.Fatalf("generate %s: %v", ep, err)
		}
		kind := event.KindNetskopeEvent
		if ep.Kind == netskope.Alerts {
			kind = event.KindNetskopeAlert
		}
		recs := tn.Records(ep.Kind, ep.Type)
		if len(recs) == 0 {
			t.Fatalf("%s: no records generated", ep)
		}
		for i, r := range recs {
			rec := &event.Record{Raw: r.Raw, Kind: kind, Subtype: ep.Type}
			ev, err := FromRecord(rec)
			if err != nil {
				t.Fatalf("%s record %d: %v\n%s", ep, i, err, r.Raw)
			}
			if err := Validate(ev); err != nil {
				t.Fatalf("%s record %d: %v\n%s", ep, i, err, r.Raw)
			}
			class, ok := want[ep.String()]
			if kind == event.KindNetskopeAlert {
				class, ok = ClassDetectionFinding, true
			}
			if ok && ev.ClassUID() != class {
				t.Fatalf("%s record %d: class %d, want %d", ep, i, ev.ClassUID(), class)
			}
		}
	}
}

// TestCannotMap checks the errors FromRecord gives: ErrUnsupported for a kind it does not
// map, an error naming the field for a record it cannot read.
func TestCannotMap(t *testing.T) {
	digest := readFile(t, awsdocsDir+"/cloudtrail-log-file-validation-digest-file-structure__block02__digest.json")
	tests := []struct {
		name        string
		rec         *event.Record
		unsupported bool
		mention     string
	}{
		{"no kind", &event.Record{Raw: []byte(`{"a":1}`)}, true, "kind"},
		{"other kind", &event.Record{Raw: []byte(`{}`), Kind: "syslog"}, true, "syslog"},
		{"cloudtrail digest file", &event.Record{Raw: digest, Kind: event.KindCloudTrail}, false, "cloudtrail"},
		{"cloudtrail not json", &event.Record{Raw: []byte(`{"eventTime":`), Kind: event.KindCloudTrail}, false, "not_json"},
		{"cloudtrail bad eventTime", &event.Record{Raw: []byte(`{"eventVersion":"1.08","eventTime":"yesterday","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`), Kind: event.KindCloudTrail}, false, "eventTime"},
		{"cloudtrail before 1970", &event.Record{Raw: []byte(`{"eventVersion":"1.08","eventTime":"1969-12-31T23:59:59Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`), Kind: event.KindCloudTrail}, false, "before 1970"},
		{"netskope not json", nsRec(event.KindNetskopeEvent, "page", `{"_id":`), false, "decode"},
		{"netskope bad timestamp", nsRec(event.KindNetskopeEvent, "page", `{"_id":"p","timestamp":"soon","url":"a"}`), false, "timestamp"},
		{"netskope no timestamp", nsRec(event.KindNetskopeEvent, "page", `{"_id":"p","url":"a"}`), false, "timestamp"},
		{"netskope timestamp out of range", nsRec(event.KindNetskopeAlert, "dlp", `{"_id":"p","timestamp":-5}`), false, "timestamp"},
		{"page with nothing to name", nsRec(event.KindNetskopeEvent, "page", `{"_id":"p","timestamp":1}`), false, "url"},
		{"audit without event", nsRec(event.KindNetskopeEvent, "audit", `{"_id":"p","timestamp":1,"user":"a"}`), false, "audit_log_event"},
		{"alert without id", nsRec(event.KindNetskopeAlert, "malware", `{"timestamp":1}`), false, "_id"},
		{"unknown event without url or address", nsRec(event.KindNetskopeEvent, "mystery", `{"_id":"p","timestamp":1}`), true, "mystery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := FromRecord(tt.rec)
			if err == nil {
				t.Fatalf("mapped to %T, want an error", ev)
			}
			if errors.Is(err, ErrUnsupported) != tt.unsupported {
				t.Fatalf("errors.Is(ErrUnsupported) = %v, want %v: %v", !tt.unsupported, tt.unsupported, err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("error %q does not name %q", err, tt.mention)
			}
		})
	}
}

// TestCloudTrailPayload maps the record proper when Raw is an envelope around it (the
// CloudWatch Logs source with extract_original_event off).
func TestCloudTrailPayload(t *testing.T) {
	s := awsdocsSamples(t)[0]
	want, err := FromRecord(s.record)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := json.Marshal(map[string]any{"eventId": "1", "timestamp": 1, "message": string(s.record.Raw)})
	got, err := FromRecord(&event.Record{Raw: env, Payload: s.record.Raw, Kind: event.KindCloudTrail})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		t.Fatalf("from the payload:\n%s\nwant:\n%s", b, a)
	}
}
