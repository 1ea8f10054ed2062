package cloudtrailrecord

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const sampleRecord = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2023-11-14T22:13:20Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","userAgent":"aws-cli/2.0, \"quoted\" } brace","requestParameters":{"name":"trail, }"},"responseElements":null,"requestID":"r-1","eventID":"e-1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012"}`

func TestSplitForms(t *testing.T) {
	quoted, _ := json.Marshal(sampleRecord)
	ts := time.UnixMilli(1700000000000).UTC()
	it := time.UnixMilli(1700000000500).UTC()
	tests := []struct {
		name      string
		in        string
		wantForm  Form
		wantN     int
		wantEnv   Envelope // checked when Form != FormRecord
		wantFirst string   // the first item's record; empty: sampleRecord
	}{
		{name: "bare record", in: "  " + sampleRecord + "\n", wantForm: FormRecord, wantN: 1},
		{name: "records file", in: `{"Records":[` + sampleRecord + `, ` + sampleRecord + `]}`, wantForm: FormRecordsFile, wantN: 2,
			wantEnv: Envelope{Form: FormRecordsFile}},
		{name: "empty records file", in: `{"Records":[]}`, wantN: 0},
		{name: "cloudwatch json", in: `{"logGroup":"ct","logStream":"123456789012_CloudTrail_us-east-1","timestamp":1700000000000,"ingestionTime":1700000000500,"eventId":"3792","message":` + string(quoted) + `}`,
			wantForm: FormCloudWatch, wantN: 1,
			wantEnv: Envelope{Form: FormCloudWatch, LogGroup: "ct", LogStream: "123456789012_CloudTrail_us-east-1", EventID: "3792", Timestamp: ts, IngestionTime: it}},
		{name: "filterlogevents event", in: `{"logStreamName":"s","timestamp":1700000000000,"message":` + string(quoted) + `,"ingestionTime":1700000000500,"eventId":"9"}`,
			wantForm: FormCloudWatch, wantN: 1,
			wantEnv: Envelope{Form: FormCloudWatch, LogStream: "s", EventID: "9", Timestamp: ts, IngestionTime: it}},
		{name: "qradar text", in: `{LogStreamName: 123456789012_CloudTrail_us-east-1, Timestamp: 1700000000000, Message: ` + sampleRecord + `, IngestionTime: 1700000000500, EventId: 37920000000000000000000000000000000000000000000000000001}`,
			wantForm: FormQRadar, wantN: 1,
			wantEnv: Envelope{Form: FormQRadar, LogStream: "123456789012_CloudTrail_us-east-1", EventID: "37920000000000000000000000000000000000000000000000000001", Timestamp: ts, IngestionTime: it}},
		{name: "qradar text, message last", in: `{LogStreamName: s, EventId: 1, Message: ` + sampleRecord + `}`,
			wantForm: FormQRadar, wantN: 1, wantEnv: Envelope{Form: FormQRadar, LogStream: "s", EventID: "1"}},
		{name: "qradar text, message not json", in: `{LogStreamName: s, Message: hello, world, EventId: 7}`,
			wantForm: FormQRadar, wantN: 1, wantEnv: Envelope{Form: FormQRadar, LogStream: "s", EventID: "7"}, wantFirst: "hello, world"},
		{name: "qradar text, broken json message", in: `{LogStreamName: s, Message: {"eventName": "x", IngestionTime: 5}`,
			wantForm: FormQRadar, wantN: 1, wantEnv: Envelope{Form: FormQRadar, LogStream: "s", IngestionTime: time.UnixMilli(5).UTC()}, wantFirst: `{"eventName": "x"`},
		{name: "subscription", in: `{"messageType":"DATA_MESSAGE","owner":"123456789012","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1700000000000,"message":` + string(quoted) + `},{"id":"2","timestamp":1700000000000,"message":` + string(quoted) + `}]}`,
			wantForm: FormSubscription, wantN: 2,
			wantEnv: Envelope{Form: FormSubscription, MessageType: "DATA_MESSAGE", Owner: "123456789012", LogGroup: "g", LogStream: "s", EventID: "1", Timestamp: ts}},
		{name: "subscription control message", in: `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}`,
			wantForm: FormSubscription, wantN: 1, wantFirst: "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.",
			wantEnv: Envelope{Form: FormSubscription, MessageType: ControlMessage, Owner: "CloudwatchLogs", Timestamp: time.UnixMilli(1432826855000).UTC()}},
		{name: "not json", in: `hello world`, wantForm: FormRecord, wantN: 1, wantFirst: "hello world"},
		{name: "broken json", in: `{"Records":[` + sampleRecord, wantForm: FormRecord, wantN: 1, wantFirst: `{"Records":[` + sampleRecord},
		{name: "other json", in: `{"a":1}`, wantForm: FormRecord, wantN: 1, wantFirst: `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := Split([]byte(tt.in))
			if err != nil {
				t.Fatalf("Split: %v", err)
			}
			if len(items) != tt.wantN {
				t.Fatalf("got %d items, want %d", len(items), tt.wantN)
			}
			if tt.wantN == 0 {
				return
			}
			want := tt.wantFirst
			if want == "" {
				want = sampleRecord
			}
			if got := string(items[0].Record); got != want {
				t.Errorf("record:\n got %s\nwant %s", got, want)
			}
			if items[0].Envelope.Form != tt.wantForm {
				t.Errorf("form %s, want %s", items[0].Envelope.Form, tt.wantForm)
			}
			if tt.wantForm != FormRecord && items[0].Envelope != tt.wantEnv {
				t.Errorf("envelope:\n got %+v\nwant %+v", items[0].Envelope, tt.wantEnv)
			}
			if tt.wantFirst == "" {
				for i, it := range items {
					if _, err := Parse(it.Record); err != nil {
						t.Errorf("item %d: Parse: %v", i, err)
					}
				}
			}
		})
	}
}

func TestSplitEmpty(t *testing.T) {
	for _, in := range []string{"", "  \n\t"} {
		if _, err := Split([]byte(in)); !errors.Is(err, ErrEmpty) {
			t.Errorf("Split(%q) error %v, want ErrEmpty", in, err)
		}
	}
}

// TestSplitQRadarPanther wraps every panther record in the QRadar text form and checks that
// Split gives back the record byte for byte.
func TestSplitQRadarPanther(t *testing.T) {
	for i, rec := range pantherRecords(t) {
		in := "{LogStreamName: 123456789012_CloudTrail_us-east-1, Timestamp: 1700000000000, Message: " + string(rec) + ", IngestionTime: 1700000000500, EventId: 3792}"
		items, err := Split([]byte(in))
		if err != nil || len(items) != 1 {
			t.Fatalf("record %d: Split gave %d items, %v", i+1, len(items), err)
		}
		if string(items[0].Record) != string(rec) || items[0].Envelope.EventID != "3792" {
			t.Fatalf("record %d: got %q (event id %q)", i+1, items[0].Record, items[0].Envelope.EventID)
		}
	}
	if !strings.Contains(sampleRecord, `, \"quoted\" }`) {
		t.Fatal("sample record lost its awkward characters")
	}
}

// Control is true only for a subscription delivery whose messageType is CONTROL_MESSAGE.
func TestEnvelopeControl(t *testing.T) {
	tests := []struct {
		env  Envelope
		want bool
	}{
		{Envelope{Form: FormSubscription, MessageType: ControlMessage}, true},
		{Envelope{Form: FormSubscription, MessageType: "DATA_MESSAGE"}, false},
		{Envelope{Form: FormSubscription}, false},
		{Envelope{Form: FormCloudWatch, MessageType: ControlMessage}, false},
	}
	for _, tt := range tests {
		if got := tt.env.Control(); got != tt.want {
			t.Errorf("%+v: Control() = %v, want %v", tt.env, got, tt.want)
		}
	}
}
