package lakeapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// answerSeeds are PutAuditEvents answers and near misses: failures with codes and messages,
// unknown members, escapes, keys in another case, duplicate keys, nulls, wrong types.
var answerSeeds = []string{
	`{"successful":[{"id":"e-1","eventID":"11111111-2222-3333-4444-555555555555"}],"failed":[]}`,
	`{"successful":[],"failed":[{"id":"e-2","errorCode":"InvalidRecipient","errorMessage":"the account \"999999999999\" is not the channel's\n"}]}`,
	`{"failed":[{"id":"e-3","errorCode":"InvalidChecksum","errorMessage":"x","retry":true,"extra":{"a":[1,2,{"b":null}]}}],"successful":null}`,
	` { "successful" : [ { "id" : "a" , "eventID" : "b" } , null , { "ID" : "c", "EventId": "d" } ] } `,
	`{"Successful":[{"id":"\u00e9\ud83d\ude00\/","eventID":"\ud800"}],"unknown":"x","__type":1.5e3}`,
	`{"successful":[{"id":"a","eventID":"x"},{"id":"b","eventID":"y"}],"successful":[{"id":"c"}],"successful":[{},{}]}`,
	`{"successful":[{"id":"a"}],"successful":[]}`,
	`{"\u0073uccessful":[{"\u0069d":"k"}],"ſuccessful":[{"id":"s"}],"failed":[{"errorCode":"\u212a"}]}`,
	`{"successful":[{"id":null,"eventID":"n"}]}`,
	`{"successful":[{"id":5}]}`,
	`{"successful":{"id":"a"}}`,
	`{"successful":["a"]}`,
	`{"failed":[{"errorMessage":["x"]}]}`,
	`null`,
	` null `,
	`[]`,
	`"x"`,
	`{"successful":[]}x`,
	`{"successful":[{"id":"a",}]}`,
	`{"successful":[{"id":"a"}`,
	`{"successful":[{"id":"bad \xff utf8"}]}`,
	`{"successful":[{"id":"ctl ` + "\x01" + `"}]}`,
	``,
	`{}`,
}

// FuzzDecodePutOutput holds decodePutOutput to encoding/json: on any body, both fail, or both
// give the same output.
func FuzzDecodePutOutput(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecodeAgainstEncodingJSON(t, body)
	})
}

func checkDecodeAgainstEncodingJSON(t *testing.T, body []byte) {
	t.Helper()
	var want, got PutAuditEventsOutput
	werr := json.Unmarshal(body, &want)
	gerr := decodePutOutput(body, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q: encoding/json error %v, decodePutOutput error %v", body, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(want, got) {
		t.Fatalf("%q:\nencoding/json   %#v\ndecodePutOutput %#v", body, want, got)
	}
}

func TestDecodePutOutputAgreesWithEncodingJSON(t *testing.T) {
	for i, s := range answerSeeds {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkDecodeAgainstEncodingJSON(t, []byte(s)) })
	}
}

func TestDecodePutOutput(t *testing.T) {
	var out PutAuditEventsOutput
	body := `{"successful":[{"id":"e-1","eventID":"u-1"}],"failed":[{"id":"e-2","errorCode":"InvalidRecipient","errorMessage":"not \"yours\""}],"x":{}}`
	if err := decodePutOutput([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	want := PutAuditEventsOutput{
		Successful: []AuditEventResult{{ID: "e-1", EventID: "u-1"}},
		Failed:     []AuditEventError{{ID: "e-2", ErrorCode: "InvalidRecipient", ErrorMessage: `not "yours"`}},
	}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("%#v", out)
	}
	for _, bad := range []string{`{"successful":[{"id":1}]}`, `{"failed":"x"}`, `{"successful":[]`, `[]`, `{} {}`} {
		if err := decodePutOutput([]byte(bad), &PutAuditEventsOutput{}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// putAnswer is an answer to a call of n events, failed of them refused.
func putAnswer(n, failed int) []byte {
	var b strings.Builder
	b.WriteString(`{"successful":[`)
	for i := range n - failed {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"ns-%016x-%04d","eventID":"%08x-1b2c-4d5e-8f90-%012x"}`, 0x5eed+i, i, i*7919, i*104729)
	}
	b.WriteString(`],"failed":[`)
	for i := range failed {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"ns-%016x-%04d","errorCode":"InvalidChecksum","errorMessage":"the checksum of event %d does not match its eventData"}`, 0xfa11+i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkDecodePutOutput decodes the answer to a 100-event call (2 refused).
func BenchmarkDecodePutOutput(b *testing.B) {
	body := putAnswer(100, 2)
	for _, bc := range []struct {
		name   string
		decode func([]byte, *PutAuditEventsOutput) error
	}{
		{"encoding-json", func(b []byte, o *PutAuditEventsOutput) error { return json.Unmarshal(b, o) }},
		{"jsonx", decodePutOutput},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var out PutAuditEventsOutput
				if err := bc.decode(body, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
