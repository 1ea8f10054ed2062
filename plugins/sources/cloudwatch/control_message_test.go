package cloudwatch

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

// controlMessage is the subscription health check CloudWatch Logs sends to a subscription
// destination, as the CloudWatch Logs user guide shows it ("Using CloudWatch Logs subscription
// filters": messageType CONTROL_MESSAGE, owner CloudwatchLogs, no log group or stream).
const controlMessage = `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}`

// Issue 14, item 8: a subscription CONTROL_MESSAGE stored as a log event is CloudWatch Logs'
// health check, not a record: it is dropped at the source under control_message (counted, not
// dead-lettered), whatever extract_original_event says; a DATA_MESSAGE is read as before.
func TestControlMessageDropped(t *testing.T) {
	data := `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1,"message":` + quoted(ctRecord("a", "AwsApiCall")) + `}]}`
	tests := []struct {
		name      string
		msg       string
		records   int
		controlNo int
	}{
		{"control message", controlMessage, 0, 1},
		{"control message, spaced", strings.ReplaceAll(controlMessage, `":`, `": `), 0, 1},
		{"data message", data, 1, 0},
		{"a record naming CONTROL_MESSAGE", ctRecord("CONTROL_MESSAGE", "AwsApiCall"), 1, 0},
		{"an object with messageType but no logEvents", `{"messageType":"CONTROL_MESSAGE"}`, 1, 0},
	}
	for _, tc := range tests {
		for _, extract := range []bool{true, false} {
			t.Run(tc.name, func(t *testing.T) {
				d := &plugintest.Dropper{}
				b := builder{source: "cw", region: "us-east-1", group: "g", extract: extract, drops: d}
				recs, err := b.appendRecords(context.Background(), nil, &logEvent{ID: "37", Timestamp: 1, Stream: "s", Message: tc.msg})
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != tc.records {
					t.Fatalf("extract %v: %d records, want %d", extract, len(recs), tc.records)
				}
				if n := d.Count(plugin.ReasonControlMessage); n != tc.controlNo || len(d.Drops()) != tc.controlNo {
					t.Fatalf("extract %v: %d control_message drops of %d, want %d", extract, n, len(d.Drops()), tc.controlNo)
				}
				if tc.controlNo > 0 {
					drop := d.Drops()[0]
					if string(drop.Raw) != tc.msg || drop.Err == nil || !strings.Contains(drop.Err.Error(), "CONTROL_MESSAGE") || !strings.Contains(drop.Err.Error(), "37") {
						t.Fatalf("drop %q: %v", drop.Raw, drop.Err)
					}
				}
			})
		}
	}
	if plugin.ReasonControlMessage.Deadletters() {
		t.Error("a health check goes to the dead-letter store")
	}
}

// A Dropper that fails: the error comes back, so that the partition reads the page again
// rather than moving past the message.
func TestControlMessageDropFailure(t *testing.T) {
	d := &plugintest.Dropper{}
	d.Fail(errors.New("disk full"))
	b := builder{extract: true, drops: d}
	if _, err := b.appendRecords(context.Background(), nil, &logEvent{ID: "9", Message: controlMessage}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err %v, want the Dropper's", err)
	}
}
