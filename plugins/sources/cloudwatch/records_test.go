package cloudwatch

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

func TestIdentifierPatterns(t *testing.T) {
	patterns := strings.Join([]string{
		"# comments and blank lines are ignored",
		"",
		`acct-$1=\"recipientAccountId":"(\d{12})"`,
		`iam-\1-\2=\"eventSource":"(iam)\.amazonaws\.com".*"awsRegion":"([a-z0-9-]+)"`,
		`$1_x=\"userName":"(\w+)"`,
		`literal-host=ConsoleLogin`,
	}, "\n")
	ids, err := parseIdentifierPatterns(patterns)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, msg, want string
		ok              bool
	}{
		{"first match wins, $1", `{"eventSource":"iam.amazonaws.com","awsRegion":"eu-west-1","recipientAccountId":"111122223333"}`, "acct-111122223333", true},
		{"backslash refs", `{"eventSource":"iam.amazonaws.com","awsRegion":"eu-west-1"}`, "iam-iam-eu-west-1", true},
		{"$1 followed by text", `{"userName":"alice"}`, "alice_x", true},
		{"no refs", `{"eventName":"ConsoleLogin"}`, "literal-host", true},
		{"no match", `{"eventName":"GetObject"}`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ids.match(tc.msg)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("match = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	for _, bad := range []string{"no-equals-sign", "=regex-without-name", "name=(unclosed", "name="} {
		if _, err := parseIdentifierPatterns(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Identifier patterns at their edges: spaces around the '=' are layout, part of neither the
// identifier nor the regular expression; the identifier ends at the first '=', and later ones
// belong to the regular expression; captures that expand to nothing give the default identifier,
// not the empty one.
func TestIdentifierPatternEdges(t *testing.T) {
	ids, err := parseIdentifierPatterns("acct = ConsoleLogin\nx-$1=user=(\\w*)")
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := ids.match(`"eventName":"ConsoleLogin"`); !ok || id != "acct" {
		t.Errorf("`acct = ConsoleLogin` on a ConsoleLogin message: %q, %v (the space after '=' is part of the regex)", id, ok)
	}
	if id, ok := ids.match("user=bob"); !ok || id != "x-bob" {
		t.Errorf("x-$1=user=(\\w*) on user=bob: %q, %v", id, ok)
	}
	ids2, _ := parseIdentifierPatterns("$1=user=(\\w*)")
	if id, ok := ids2.match("user="); ok && id == "" {
		t.Errorf("an empty expansion gives the empty identifier instead of the default")
	}
}

func TestBuildRecord(t *testing.T) {
	ids, _ := parseIdentifierPatterns(`acct-$1="recipientAccountId":"(\d+)"`)
	e := logEvent{ID: "3791", Timestamp: 1767225600123, IngestionTime: 1767225900000, Stream: "123456789012_CloudTrail_us-east-1"}
	tests := []struct {
		name    string
		b       builder
		msg     string
		want    string
		ident   string
		noIdent bool
	}{
		{"extract JSON", builder{extract: true}, ` {"a":1} `, ` {"a":1} `, "", true},
		{"extract text", builder{extract: true}, "plain \"text\"\n\x01", `{"message":"plain \"text\"\n\u0001"}`, "", true},
		{"extract broken JSON", builder{extract: true}, `{"a":`, `{"message":"{\"a\":"}`, "", true},
		{"envelope", builder{group: "g"}, `{"a":1}`, `{"logGroup":"g","logStream":"123456789012_CloudTrail_us-east-1","timestamp":1767225600123,"ingestionTime":1767225900000,"eventId":"3791","message":"{\"a\":1}"}`, "", true},
		{"gateway match", builder{extract: true, idents: ids}, `{"recipientAccountId":"42"}`, `{"recipientAccountId":"42"}`, "acct-42", false},
		{"gateway default", builder{extract: true, idents: ids, defIdent: "ct-gw"}, `{}`, `{}`, "ct-gw", false},
		{"gateway stream", builder{extract: true, idents: ids}, `{}`, `{}`, "123456789012_CloudTrail_us-east-1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.b.region = "us-east-1"
			ev := e
			ev.Message = tc.msg
			recs := appendAll(&tc.b, nil, &ev)
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			r := recs[0]
			if string(r.Raw) != tc.want {
				t.Fatalf("raw %s\nwant %s", r.Raw, tc.want)
			}
			if _, err := r.Fields(); err != nil || !r.ValidJSON {
				t.Fatalf("not a JSON object (%v), or not marked ValidJSON (%v)", err, r.ValidJSON)
			}
			id, has := r.Meta[event.MetaLogSourceID]
			if has == tc.noIdent || id != tc.ident {
				t.Fatalf("identifier %q (%v)", id, has)
			}
			if r.ID != "3791" || r.Time.UnixMilli() != e.Timestamp || r.Meta[event.MetaLogStream] != e.Stream || r.Meta[event.MetaAWSRegion] != "us-east-1" {
				t.Fatalf("record %+v", r)
			}
			if r.Kind != "" || r.Subtype != "" {
				t.Fatalf("a message without CloudTrail has kind %q/%q", r.Kind, r.Subtype)
			}
		})
	}
}

// ctRecord is a CloudTrail record with the given eventID and eventType ("" leaves it out).
func ctRecord(id, eventType string) string {
	r := `{"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"` + id + `"`
	if eventType != "" {
		r += `,"eventType":"` + eventType + `"`
	}
	return r + `}`
}

// quoted is s as a JSON string.
func quoted(s string) string { return string(jsonx.AppendString(nil, s)) }

// TestCloudTrailKinds: a message holding CloudTrail gives one record per CloudTrail record,
// each saying what it is; with extract off, Raw is an envelope around that one record and
// Payload the record.
func TestCloudTrailKinds(t *testing.T) {
	a, b2 := ctRecord("a", "AwsApiCall"), ctRecord("b", "AwsConsoleSignIn")
	noName := `{"eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventID":"bad"}`
	type want struct {
		id, kind, subtype, rec, form string
	}
	ct := string(event.KindCloudTrail)
	tests := []struct {
		name string
		msg  string
		want []want
	}{
		{"bare record", a, []want{{"3791", ct, "AwsApiCall", a, ""}}},
		{"bare record without eventType", ctRecord("x", ""), []want{{"3791", ct, "", ctRecord("x", ""), ""}}},
		{"Records file", `{"Records":[` + a + `,` + b2 + `]}`, []want{{"3791-0", ct, "AwsApiCall", a, "records_file"}, {"3791-1", ct, "AwsConsoleSignIn", b2, "records_file"}}},
		{"Records file of one", `{"Records":[` + a + `]}`, []want{{"3791", ct, "AwsApiCall", a, "records_file"}}},
		{"Records file with a bad element", `{"Records":[` + a + `,` + noName + `]}`, []want{{"3791-0", ct, "AwsApiCall", a, "records_file"}, {"3791-1", "", "", noName, "records_file"}}},
		{"subscription", `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":` + quoted(a) + `},{"id":"2","timestamp":2,"message":` + quoted(b2) + `}]}`,
			[]want{{"3791-0", ct, "AwsApiCall", a, "subscription"}, {"3791-1", ct, "AwsConsoleSignIn", b2, "subscription"}}},
		{"CloudWatch event as JSON", `{"logGroup":"g","logStream":"s","eventId":"9","message":` + quoted(a) + `}`, []want{{"3791", ct, "AwsApiCall", a, "cloudwatch"}}},
		{"QRadar text form", `{LogStreamName: 111111111111_CloudTrail_us-east-2,Timestamp: 1505744407363,Message: ` + a + `,IngestionTime: 1505744407506,EventId: 3357}`, []want{{"3791", ct, "AwsApiCall", a, "qradar"}}},
		{"Records without CloudTrail", `{"Records":[{"a":1}]}`, []want{{"3791", "", "", `{"Records":[{"a":1}]}`, ""}}},
		{"not CloudTrail", noName, []want{{"3791", "", "", noName, ""}}},
		{"text", "hello", []want{{"3791", "", "", "hello", ""}}},
		{"empty Records file", `{"Records":[]}`, nil},
		{"empty delivery", `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[]}`, nil},
	}
	for _, tc := range tests {
		for _, extract := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/extract=%v", tc.name, extract), func(t *testing.T) {
				empties := 0
				bl := builder{source: "cw", region: "us-east-1", group: "g", extract: extract, empty: func(*logEvent) { empties++ }}
				e := logEvent{ID: "3791", Timestamp: 1767225600123, IngestionTime: 1767225900000, Stream: "s", Message: tc.msg}
				recs := appendAll(&bl, nil, &e)
				if len(recs) != len(tc.want) {
					t.Fatalf("%d records; want %d", len(recs), len(tc.want))
				}
				// A file or delivery with nothing in it gives no record and is counted.
				if wantEmpty := len(tc.want) == 0; (empties == 1) != wantEmpty || empties > 1 {
					t.Errorf("counted %d empty messages; want %v", empties, wantEmpty)
				}
				for i, w := range tc.want {
					r := recs[i]
					if r.ID != w.id || string(r.Kind) != w.kind || r.Subtype != w.subtype {
						t.Errorf("record %d: id %q kind %q subtype %q; want %q %q %q", i, r.ID, r.Kind, r.Subtype, w.id, w.kind, w.subtype)
					}
					if _, err := r.Fields(); err != nil || !r.ValidJSON {
						t.Errorf("record %d: Raw is not a JSON object (%v), or not marked ValidJSON (%v)", i, err, r.ValidJSON)
					}
					// A CloudTrail record carries the source's parse of its own bytes; any
					// other record, none.
					if ev, ok := cloudtrailrecord.Parsed(r.Parsed, r.RecordBytes()); ok != (w.kind == ct) || (ok && ev.EventType != w.subtype) {
						t.Errorf("record %d: Parsed %#v (of its own bytes: %v); want one of them: %v", i, r.Parsed, ok, w.kind == ct)
					}
					if w.kind != ct && r.Parsed != nil {
						t.Errorf("record %d: Parsed %#v on a record that is not CloudTrail", i, r.Parsed)
					}
					rec := w.rec
					if extract && !isJSONObject([]byte(rec)) {
						rec = `{"message":` + quoted(rec) + `}`
					}
					form := w.form
					if extract {
						if r.Payload != nil || string(r.Raw) != rec {
							t.Errorf("record %d: Raw %s, Payload %q; want Raw %s, no Payload", i, r.Raw, r.Payload, rec)
						}
					} else {
						form = "cloudwatch"
						env := string(bl.envelope(&e, w.id, []byte(w.rec)))
						if string(r.Payload) != w.rec || string(r.Raw) != env {
							t.Errorf("record %d: Raw %s, Payload %s; want Raw %s, Payload %s", i, r.Raw, r.Payload, env, w.rec)
						}
					}
					if got := r.Meta[event.MetaInputForm]; got != form {
						t.Errorf("record %d: input form %q; want %q", i, got, form)
					}
					if r.Meta[event.MetaLogGroup] != "g" || r.Meta[event.MetaLogStream] != "s" || r.Meta[event.MetaAWSRegion] != "us-east-1" || r.Time.UnixMilli() != e.Timestamp || r.Source != "cw" {
						t.Errorf("record %d: %+v", i, r)
					}
				}
			})
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	cp := &checkpoint{V: 1, Start: 5, From: 10, To: 20, Token: "t\"ok", Seen: map[string]int64{"a": 11, "b\\": 12}}
	got, err := decodeCheckpoint(cp.encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Start != 5 || got.From != 10 || got.To != 20 || got.Token != cp.Token || got.Done || len(got.Seen) != 2 || got.Seen["b\\"] != 12 {
		t.Fatalf("%+v", got)
	}
	if _, err := decodeCheckpoint([]byte(`{"v":3}`)); err == nil {
		t.Fatal("unknown version accepted")
	}
}

// FuzzIdentifierPatterns: parsing never panics, and what parses matches without panicking.
func FuzzIdentifierPatterns(f *testing.F) {
	f.Add("a-$1=x(\\d+)", `{"x":12}`)
	f.Add("\\1\\2=(a)(b)", "ab")
	f.Add("$=.", "z")
	f.Fuzz(func(t *testing.T, patterns, msg string) {
		ids, err := parseIdentifierPatterns(patterns)
		if err != nil {
			return
		}
		ids.match(msg)
	})
}

// FuzzBuild: every record built is one JSON object, ids are distinct, and what is labelled
// cloudtrail parses as CloudTrail.
func FuzzBuild(f *testing.F) {
	f.Add(`{"a":1}`, true)
	f.Add("text", true)
	f.Add("text", false)
	if b, err := os.ReadFile("testdata/messages.txt"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f.Add(l, true)
		}
	}
	f.Fuzz(func(t *testing.T, msg string, extract bool) {
		b := builder{extract: extract, group: "g", region: "r"}
		d := &plugintest.Dropper{}
		b.drops = d
		recs := appendAll(&b, nil, &logEvent{ID: "1", Message: msg, Stream: "s"})
		if len(recs) == 0 && d.Count(plugin.ReasonControlMessage) == 0 {
			t.Fatalf("%q (extract %v): no record", msg, extract)
		}
		ids := map[string]bool{}
		for _, r := range recs {
			if _, err := r.Fields(); err != nil {
				t.Fatalf("%q (extract %v) -> %s: %v", msg, extract, r.Raw, err)
			}
			if ids[r.ID] {
				t.Fatalf("%q: two records with the id %q", msg, r.ID)
			}
			ids[r.ID] = true
			if r.Kind == event.KindCloudTrail {
				want, err := cloudtrailrecord.Parse(r.RecordBytes())
				if err != nil {
					t.Fatalf("%q: a cloudtrail record that does not parse: %v", msg, err)
				}
				// The parse it carries is the one a destination would make of its bytes.
				if got, ok := cloudtrailrecord.Parsed(r.Parsed, r.RecordBytes()); !ok || !reflect.DeepEqual(got, want) {
					t.Fatalf("%q: Parsed %#v (of its own bytes: %v); want %#v", msg, r.Parsed, ok, want)
				}
			} else if r.Parsed != nil {
				t.Fatalf("%q: Parsed on a record that is not CloudTrail", msg)
			}
		}
	})
}
