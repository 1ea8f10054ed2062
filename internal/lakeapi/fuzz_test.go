package lakeapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// viaEncodingJSON is s after a trip through encoding/json: what a JSON reader makes of s
// written as a JSON string (each invalid UTF-8 byte becomes U+FFFD).
func viaEncodingJSON(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzAppendPutBody: the PutAuditEvents body of any events is valid JSON that reads back as
// the same events (invalid UTF-8 as U+FFFD, as encoding/json writes it), with
// eventDataChecksum only when it is set.
func FuzzAppendPutBody(f *testing.F) {
	data := `{"version":"1.0","userIdentity":{"type":"u","principalId":"p"},"eventName":"x \"q\" \\ \n","eventTime":"2024-01-02T03:04:05Z","UID":"é☃"}`
	f.Add("id-1", data, Checksum([]byte(data)), "id-2", "")
	f.Add("", "", "", "x", "\x00\x1f\x7f\"\\\u2028")
	f.Add("a", "\xff\xfe 12345678\xe2\x98", "", "b", strings.Repeat("abcdefg\"", 20))
	f.Fuzz(func(t *testing.T, id1, data1, sum1, id2, data2 string) {
		events := []AuditEvent{{ID: id1, EventData: data1, EventDataChecksum: sum1}, {ID: id2, EventData: data2}}
		prefix := []byte("keep")
		body := appendPutBody(prefix, events)
		if string(body[:4]) != "keep" {
			t.Fatalf("the bytes before the body changed: %q", body[:4])
		}
		body = body[4:]
		var got struct {
			AuditEvents []map[string]string `json:"auditEvents"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body is not JSON: %v: %q", err, body)
		}
		if len(got.AuditEvents) != 2 {
			t.Fatalf("%d events in %q", len(got.AuditEvents), body)
		}
		for i, e := range events {
			g := got.AuditEvents[i]
			if g["id"] != viaEncodingJSON(t, e.ID) || g["eventData"] != viaEncodingJSON(t, e.EventData) {
				t.Fatalf("event %d reads back as %q, want %+v", i, g, e)
			}
			if _, has := g["eventDataChecksum"]; has != (e.EventDataChecksum != "") || g["eventDataChecksum"] != viaEncodingJSON(t, e.EventDataChecksum) {
				t.Fatalf("event %d checksum reads back as %q, want %q", i, g["eventDataChecksum"], e.EventDataChecksum)
			}
		}
	})
}

// FuzzParseChannelARN: a channel ARN either gives a region, an account and an id that put
// together give the ARN back, or an *InvalidInputError.
func FuzzParseChannelARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:cloudtrail:us-east-1:123456789012:channel/6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01",
		"arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:channel/x",
		"arn:aws:cloudtrail::123456789012:channel/x", "6b1b5a5e", " arn:aws:cloudtrail:us-east-1:123456789012:channel/x",
		"arn:aws:cloudtrail:us-east-1:123456789012:channel/a:b", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		region, account, id, err := ParseChannelARN(arn)
		if err != nil {
			var ie *InvalidInputError
			if !errors.As(err, &ie) || region != "" || account != "" || id != "" {
				t.Fatalf("ParseChannelARN(%q) = %q, %q, %q, %v", arn, region, account, id, err)
			}
			return
		}
		partition := strings.Split(arn, ":")[1]
		if back := "arn:" + partition + ":cloudtrail:" + region + ":" + account + ":channel/" + id; back != arn {
			t.Fatalf("ParseChannelARN(%q) = %q, %q, %q: put together %q", arn, region, account, id, back)
		}
		if region == "" || len(account) != 12 || id == "" || len(id) > 128 || strings.ContainsAny(id, ":/ ") {
			t.Fatalf("ParseChannelARN(%q) = %q, %q, %q", arn, region, account, id)
		}
	})
}
