package lake

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// objOfSize returns a JSON object exactly n bytes long.
func objOfSize(n int) json.RawMessage {
	const pre, post = `{"k":"`, `"}`
	return json.RawMessage(pre + strings.Repeat("x", n-len(pre)-len(post)) + post)
}

func TestValidateEventData(t *testing.T) {
	type mod func(m map[string]any)
	set := func(k string, v any) mod { return func(m map[string]any) { m[k] = v } }
	del := func(k string) mod { return func(m map[string]any) { delete(m, k) } }
	setUI := func(k string, v any) mod {
		return func(m map[string]any) { m["userIdentity"].(map[string]any)[k] = v }
	}
	delUI := func(k string) mod {
		return func(m map[string]any) { delete(m["userIdentity"].(map[string]any), k) }
	}
	long := func(n int) string { return strings.Repeat("a", n) }

	tests := []struct {
		name  string
		mod   mod
		raw   string // used instead of mod when set
		rules func(*validateRules)
		code  string
	}{
		{name: "valid", mod: func(map[string]any) {}},
		{name: "minimal", raw: `{"version":"1","userIdentity":{"type":"t","principalId":"p"},"eventSource":"s","eventName":"n","eventTime":"2024-01-02T03:04:05Z","UID":"u","recipientAccountId":"111122223333"}`},
		{name: "whitespace around", raw: " \n{\"version\":\"1\",\"userIdentity\":{\"type\":\"t\",\"principalId\":\"p\"},\"eventSource\":\"s\",\"eventName\":\"n\",\"eventTime\":\"2024-01-02T03:04:05Z\",\"UID\":\"u\",\"recipientAccountId\":\"111122223333\"}\n "},
		{name: "escaped key and values", raw: `{"\u0076ersion":"1","userIdentity":{"type":"t\u00e9","principalId":"p\"q"},"eventSource":"s\/x","eventName":"n","eventTime":"2024-01-02T03:04:05Z","UID":"u","recipientAccountId":"111122223333"}`},
		{name: "duplicate key last wins", raw: `{"version":1,"version":"1","userIdentity":{"type":"t","principalId":"p"},"eventSource":"s","eventName":"n","eventTime":"2024-01-02T03:04:05Z","UID":"u","recipientAccountId":"111122223333"}`},

		{name: "empty", raw: ``, code: CodeInvalidData},
		{name: "not JSON", raw: `{"version":`, code: CodeInvalidData},
		{name: "bad escape", raw: `{"version":"\x"}`, code: CodeInvalidData},
		{name: "control char in string", raw: "{\"version\":\"a\tb\"}", code: CodeInvalidData},
		{name: "array", raw: `[1,2]`, code: CodeInvalidData},
		{name: "string", raw: `"x"`, code: CodeInvalidData},
		{name: "null", raw: `null`, code: CodeInvalidData},
		{name: "trailing data", raw: `{} {}`, code: CodeInvalidData},
		{name: "trailing comma", raw: `{"version":"1",}`, code: CodeInvalidData},
		{name: "bad number", raw: `{"x":01}`, code: CodeInvalidData},
		{name: "too deep", raw: `{"requestParameters":` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001) + `}`, code: CodeInvalidData},

		{name: "version missing", mod: del("version"), code: CodeFieldNotFound},
		{name: "version null", mod: set("version", nil), code: CodeFieldNotFound},
		{name: "version empty", mod: set("version", ""), code: CodeFieldNotFound},
		{name: "version number", mod: set("version", 1), code: CodeInvalidData},
		{name: "version 256", mod: set("version", long(256))},
		{name: "version 257", mod: set("version", long(257)), code: CodeFieldTooLong},
		{name: "userIdentity missing", mod: del("userIdentity"), code: CodeFieldNotFound},
		{name: "userIdentity string", mod: set("userIdentity", "x"), code: CodeInvalidData},
		{name: "userIdentity.type missing", mod: delUI("type"), code: CodeFieldNotFound},
		{name: "userIdentity.type 128", mod: setUI("type", long(128))},
		{name: "userIdentity.type 129", mod: setUI("type", long(129)), code: CodeFieldTooLong},
		{name: "userIdentity.type object", mod: setUI("type", map[string]any{}), code: CodeInvalidData},
		{name: "principalId missing", mod: delUI("principalId"), code: CodeFieldNotFound},
		{name: "principalId 1024", mod: setUI("principalId", long(1024))},
		{name: "principalId 1024 two-byte chars", mod: setUI("principalId", strings.Repeat("é", 1024))},
		{name: "principalId 1025", mod: setUI("principalId", long(1025)), code: CodeFieldTooLong},
		{name: "principalId 1025 escaped chars", raw: `{"version":"1","userIdentity":{"type":"t","principalId":"` + strings.Repeat(`\u00e9`, 1025) + `"},"eventSource":"s","eventName":"n","eventTime":"2024-01-02T03:04:05Z","UID":"u","recipientAccountId":"111122223333"}`, code: CodeFieldTooLong},
		{name: "details optional", mod: delUI("details")},
		{name: "details null", mod: setUI("details", nil)},
		{name: "details string", mod: setUI("details", "x"), code: CodeInvalidData},
		{name: "details at 100 kB", mod: setUI("details", objOfSize(MaxDetailsBytes))},
		{name: "details over 100 kB", mod: setUI("details", objOfSize(MaxDetailsBytes+1)), code: CodeFieldTooLong},
		{name: "userAgent optional", mod: del("userAgent")},
		{name: "userAgent 1025", mod: set("userAgent", long(1025)), code: CodeFieldTooLong},
		{name: "userAgent number", mod: set("userAgent", 5), code: CodeInvalidData},
		{name: "eventSource missing", mod: del("eventSource"), code: CodeFieldNotFound},
		{name: "eventSource 1025", mod: set("eventSource", long(1025)), code: CodeFieldTooLong},
		{name: "eventName missing", mod: del("eventName"), code: CodeFieldNotFound},
		{name: "eventName 1025", mod: set("eventName", long(1025)), code: CodeFieldTooLong},
		{name: "eventTime missing", mod: del("eventTime"), code: CodeFieldNotFound},
		{name: "eventTime no Z", mod: set("eventTime", "2024-05-06T07:08:09"), code: CodeInvalidData},
		{name: "eventTime fraction", mod: set("eventTime", "2024-05-06T07:08:09.123Z"), code: CodeInvalidData},
		{name: "eventTime offset", mod: set("eventTime", "2024-05-06T07:08:09+00:00"), code: CodeInvalidData},
		{name: "eventTime space", mod: set("eventTime", "2024-05-06 07:08:09Z"), code: CodeInvalidData},
		{name: "eventTime bad month", mod: set("eventTime", "2024-13-06T07:08:09Z"), code: CodeInvalidData},
		{name: "eventTime epoch", mod: set("eventTime", 1714979289), code: CodeInvalidData},
		{name: "UID missing", mod: del("UID"), code: CodeFieldNotFound},
		{name: "UID 1025", mod: set("UID", long(1025)), code: CodeFieldTooLong},
		{name: "requestParameters optional", mod: del("requestParameters")},
		{name: "requestParameters array", mod: set("requestParameters", []any{1}), code: CodeInvalidData},
		{name: "requestParameters at 100 kB", mod: set("requestParameters", objOfSize(MaxRequestBytes))},
		{name: "requestParameters over 100 kB", mod: set("requestParameters", objOfSize(MaxRequestBytes+1)), code: CodeFieldTooLong},
		{name: "responseElements over 100 kB", mod: set("responseElements", objOfSize(MaxResponseBytes+1)), code: CodeFieldTooLong},
		{name: "responseElements string", mod: set("responseElements", "x"), code: CodeInvalidData},
		{name: "errorCode 256", mod: set("errorCode", long(256))},
		{name: "errorCode 257", mod: set("errorCode", long(257)), code: CodeFieldTooLong},
		{name: "errorMessage 257", mod: set("errorMessage", long(257)), code: CodeFieldTooLong},
		{name: "sourceIPAddress any string by default", mod: set("sourceIPAddress", "proxy.example.com")},
		{name: "sourceIPAddress strict", mod: set("sourceIPAddress", "proxy.example.com"), rules: func(r *validateRules) { r.strictSourceIP = true }, code: CodeInvalidData},
		{name: "sourceIPAddress strict IPv6", mod: set("sourceIPAddress", "2001:db8::1"), rules: func(r *validateRules) { r.strictSourceIP = true }},
		{name: "additionalEventData at 28 kB", mod: set("additionalEventData", objOfSize(MaxAdditionalBytes))},
		{name: "additionalEventData over 28 kB", mod: set("additionalEventData", objOfSize(MaxAdditionalBytes+1)), code: CodeFieldTooLong},
		{name: "recipientAccountId missing", mod: del("recipientAccountId"), code: CodeFieldNotFound},
		{name: "recipientAccountId other", mod: set("recipientAccountId", otherAccount), code: CodeInvalidRecipient},
		{name: "recipientAccountId number", mod: set("recipientAccountId", 111122223333), code: CodeInvalidData},
		{name: "unknown field accepted", mod: set("tenant", "acme")},
		{name: "unknown field rejected", mod: set("tenant", "acme"), rules: func(r *validateRules) { r.rejectUnknownFields = true }, code: CodeInvalidData},
		{name: "unknown userIdentity field rejected", mod: setUI("arn", "x"), rules: func(r *validateRules) { r.rejectUnknownFields = true }, code: CodeInvalidData},
		{name: "event source allowed", rules: func(r *validateRules) { r.eventSources = map[string]bool{"netskopealert.dlp": true} }, mod: func(map[string]any) {}},
		{name: "event source not allowed", rules: func(r *validateRules) { r.eventSources = map[string]bool{"other": true} }, mod: func(map[string]any) {}, code: CodeInvalidEventSource},
		// The first problem wins, in schema order.
		{name: "missing beats too long", mod: func(m map[string]any) { delete(m, "version"); m["UID"] = long(2000) }, code: CodeFieldNotFound},
		{name: "too long beats recipient", mod: func(m map[string]any) { m["UID"] = long(2000); m["recipientAccountId"] = otherAccount }, code: CodeFieldTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.raw
			if tc.raw == "" && tc.mod != nil {
				m := baseEvent()
				tc.mod(m)
				data = eventJSON(t, m)
			}
			rules := validateRules{account: testAccount}
			if tc.rules != nil {
				tc.rules(&rules)
			}
			pe, e := validateEventData([]byte(data), &rules)
			code, msg := "", ""
			if e != nil {
				code, msg = e.code, e.msg
			}
			if code != tc.code {
				t.Fatalf("code = %q (%s), want %q", code, msg, tc.code)
			}
			if e != nil && (msg == "" || !utf8.ValidString(msg)) {
				t.Errorf("bad message %q", msg)
			}
			if e == nil && (pe.eventSource == "" || pe.eventName == "" || pe.eventTime.IsZero() || pe.recipient != testAccount) {
				t.Errorf("parsed %+v", pe)
			}
		})
	}
}

func TestValidateEventDataExtracts(t *testing.T) {
	data := `{"version":"1","userIdentity":{"type":"t","principalId":"p"},"eventSource":"net\u0073kope","eventName":"na\"me","eventTime":"2024-01-02T03:04:05Z","UID":"u","recipientAccountId":"111122223333"}`
	pe, e := validateEventData([]byte(data), &validateRules{account: testAccount})
	if e != nil {
		t.Fatal(e.msg)
	}
	want := parsedEvent{eventSource: "netskope", eventName: `na"me`, eventTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), recipient: testAccount}
	if pe != want {
		t.Errorf("got %+v, want %+v", pe, want)
	}
}

// The awsdocs example of put-audit-events (query-lake-cli) must be accepted.
func TestValidateAWSDocsExample(t *testing.T) {
	b := readTestdata(t, "query-lake-cli__block11__eventData-decoded.json")
	_, e := validateEventData(b, &validateRules{account: "152089810396"})
	if e != nil {
		t.Fatalf("%s: %s", e.code, e.msg)
	}
}

func TestUnescapeMatchesEncodingJSON(t *testing.T) {
	for _, lit := range []string{
		`""`, `"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u4e2d"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00x"`,
		`"\ud83d\u0041"`, "\"caf\xc3\xa9\"", "\"bad\xff\xfeutf8\"", `"\u0000"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		end, esc, err := scanString([]byte(lit), 0)
		if err != nil || end != len(lit) {
			t.Fatalf("%s: scan end=%d err=%v", lit, end, err)
		}
		if end2, got, err := scanUnescape([]byte(lit), 0, []byte("prefix")); err != nil || end2 != len(lit) || string(got) != "prefix"+want {
			t.Errorf("%s: scanUnescape %q %d %v", lit, got, end2, err)
		}
		if got := stringValue([]byte(lit[1:len(lit)-1]), esc); got != want {
			t.Errorf("%s: got %q, want %q", lit, got, want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "abc", "quote\" back\\ nl\n tab\t ctl\x01", "é中😀", "bad\xffutf8", "\u2028\u2029"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if got != want {
			t.Errorf("%q -> %s -> %q", s, b, got)
		}
	}
}

func FuzzValidateEventData(f *testing.F) {
	f.Add([]byte(`{"version":"1","userIdentity":{"type":"t","principalId":"p"},"eventSource":"s","eventName":"n","eventTime":"2024-01-02T03:04:05Z","UID":"u","recipientAccountId":"111122223333"}`))
	f.Add([]byte(`{"a":[1,2.5e3,-0,true,false,null,{"b":"\u00e9"}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, e := validateEventData(data, &validateRules{account: testAccount})
		if !json.Valid(data) {
			if e == nil || e.code != CodeInvalidData {
				t.Fatalf("invalid JSON %q accepted (%v)", data, e)
			}
			return
		}
		// Valid JSON: the scanner must agree that it is valid.
		if _, err := skipValue(data, skipSpace(data, 0), 0); err != nil {
			t.Fatalf("valid JSON %q rejected by the scanner: %v", data, err)
		}
	})
}

func FuzzJSONString(f *testing.F) {
	f.Add(`plain`)
	f.Add(`\ud83d\ude00 \" \\ \u0041`)
	f.Add("\xff")
	f.Add(strings.Repeat("long plain text é ", 40) + `\n\u12`)
	f.Fuzz(func(t *testing.T, content string) {
		lit := []byte(`"` + content + `"`)
		var want string
		errStd := json.Unmarshal(lit, &want)
		end, esc, err := scanString(lit, 0)
		if (errStd == nil) != (err == nil && end == len(lit)) {
			t.Fatalf("%q: encoding/json err=%v, scanner end=%d err=%v", lit, errStd, end, err)
		}
		end2, decoded, err2 := scanUnescape(lit, 0, nil)
		if (errStd == nil) != (err2 == nil && end2 == len(lit)) {
			t.Fatalf("%q: encoding/json err=%v, scanUnescape end=%d err=%v", lit, errStd, end2, err2)
		}
		if errStd != nil {
			return
		}
		if got := stringValue(lit[1:len(lit)-1], esc); got != want {
			t.Fatalf("%q: got %q, want %q", lit, got, want)
		}
		if string(decoded) != want {
			t.Fatalf("%q: scanUnescape gave %q, want %q", lit, decoded, want)
		}
		var back string
		if err := json.Unmarshal(appendJSONString(nil, want), &back); err != nil || back != want {
			t.Fatalf("round trip of %q: %q, %v", want, back, err)
		}
	})
}
