package filterpattern

import (
	"errors"
	"strings"
	"testing"
)

// The JSON documents and the expectations below are the examples of the CloudWatch Logs user
// guide, "Filter and pattern syntax" (awsdocs/amazon-cloudwatch-logs-user-guide,
// doc_source/FilterAndPatternSyntax.md), plus CloudTrail-shaped cases.
const docJSON = `{
  "eventType": "UpdateTrail",
  "sourceIPAddress": "111.111.111.111",
  "arrayKey": [
        "value",
        "another value"
  ],
  "objectList": [
       {
         "name": "a",
         "id": 1
       },
       {
         "name": "b",
         "id": 2
       }
  ],
  "SomeObject": null,
  "ThisFlag": true
}`

const docCompound = `{
    "user": {
        "id": 1,
        "email": "John.Stiles@example.com"
    },
    "users": [
        {
         "id": 2,
         "email": "John.Doe@example.com"
        },
        {
         "id": 3,
         "email": "Jane.Doe@example.com"
        }
    ],
    "actions": [
        "GET",
        "PUT",
        "DELETE"
    ],
    "coordinates": [
        [0, 1, 2],
        [4, 5, 6],
        [7, 8, 9]
    ]
}`

const docNumbers = `{"latency": 500, "numbers": [9, 0.001], "processes": [{},{},{},{},{"averageRuntime": 55.5}], "errorCode": 400}`

const cloudTrail = `{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","principalId":"AIDACKCEVSQ6C2EXAMPLE","arn":"arn:aws:iam::111122223333:user/anaya","accountId":"111122223333","userName":"anaya"},"eventTime":"2022-11-10T16:24:34Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"Yes"},"resources":[{"ARN":"arn:aws:s3:::bucket","type":"AWS::S3::Bucket"}],"readOnly":false,"eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333","key\"q":"esc\u0041ped"}`

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern string
		msg     string
		want    bool
	}{
		// empty
		{"", "anything", true},
		{"   ", "", true},

		// terms (doc: "Matching terms in log events")
		{"ERROR", "[ERROR] A fatal exception has occurred", true},
		{"ERROR", "Exiting with ERRORCODE: -1", true},
		{"ERROR", "error in lower case", false},
		{`"ERROR" -"Exiting"`, "Exiting with ERRORCODE: -1", false},
		{`"ERROR" - "Exiting"`, "Exiting with ERRORCODE: -1", false},
		{`"ERROR" -"Exiting"`, "[ERROR] A fatal exception has occurred", true},
		{"ERROR Exception", "[ERROR] Caught IllegalArgumentException", true},
		{"ERROR Exception", "[ERROR] Unhandled Exception", true},
		{"ERROR Exception", "[ERROR] Unhandled", false},
		{"Failed to process the request", "[WARN] Failed to process the request", true},
		{"Failed to process the request", "[ERROR] Unable to continue: Failed to process the request", true},
		{`"Failed to process the request"`, "[WARN] Failed to process this request", false},
		{`"Failed to process the request"`, "Failed to process the request now", true},
		// OR pattern matching
		{"?ERROR ?WARN", "ERROR WARN message", true},
		{"?ERROR ?WARN", "ERROR message", true},
		{"?ERROR ?WARN", "WARN message", true},
		{"?ERROR ?WARN", "INFO message", false},
		{"ERROR WARN", "ERROR WARN message", true},
		{"ERROR WARN", "ERROR message", false},
		{"ERROR -WARN", "ERROR message", true},
		{"ERROR -WARN", "ERROR WARN message", false},
		{"ERROR -WARN", "WARN message", false},
		{`"user/anaya"`, cloudTrail, true},
		{`ConsoleLogin`, cloudTrail, true},
		{`ConsoleLogin -Success`, cloudTrail, false},

		// regular expressions
		{`%ERROR|WARN%`, "a WARN here", true},
		{`%ERROR|WARN%`, "an INFO here", false},
		{`%^\[ERROR\]%`, "[ERROR] x", true},
		{`%^\[ERROR\]%`, "x [ERROR]", false},

		// JSON (doc: "JSON metric filter examples")
		{`{ $.eventType = "UpdateTrail" }`, docJSON, true},
		{`{ $.eventType = UpdateTrail }`, docJSON, true},
		{`{ $.eventType = "CreateTrail" }`, docJSON, false},
		{`{ $.sourceIPAddress != 123.123.* }`, docJSON, true},
		{`{ $.sourceIPAddress != 111.111.* }`, docJSON, false},
		{`{ $.sourceIPAddress = 111.111.* }`, docJSON, true},
		{`{ $.arrayKey[0] = "value" }`, docJSON, true},
		{`{ $.arrayKey[1] = "another value" }`, docJSON, true},
		{`{ $.arrayKey[2] = "value" }`, docJSON, false},
		{`{ $.eventType[0] = "value" }`, docJSON, false},
		{`{ $.objectList[1].id = 2 }`, docJSON, true},
		{`{ $.objectList[0].id = 2 }`, docJSON, false},
		{`{ $.SomeObject IS NULL }`, docJSON, true},
		{`{ $.eventType IS NULL }`, docJSON, false},
		{`{ $.SomeOtherObject NOT EXISTS }`, docJSON, true},
		{`{ $.SomeObject NOT EXISTS }`, docJSON, false},
		{`{ $.ThisFlag IS TRUE }`, docJSON, true},
		{`{ $.ThisFlag IS FALSE }`, docJSON, false},
		{`{ $.ThisFlag is true }`, docJSON, true},
		// wildcards
		{`{ $.eventType = "*Trail" }`, docJSON, true},
		{`{ $.eventType = Update* }`, docJSON, true},
		{`{ $.eventType = "Up*ail" }`, docJSON, true},
		{`{ $.eventType = "*" }`, docJSON, true},
		{`{ $.missing = "*" }`, docJSON, false},
		{`{ $.eventType = "Create*" }`, docJSON, false},
		// compound conditions
		{`{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }`, docCompound, true},
		{`{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }`, docCompound, false},
		{`{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }`, docCompound, true},
		{`{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }`, docCompound, false},
		{`{ $.coordinates[2][1] = 8 }`, docCompound, true},
		{`{$.foo = bar || $.foo = baz }`, `{"foo": "bar"}`, true},
		{`{$.foo = bar || $.foo = baz }`, `{"foo": "baz"}`, true},
		{`{$.foo = bar || $.foo = baz }`, `{"foo": "qux"}`, false},
		// selectors on objects or arrays never match (doc: "JSON special considerations")
		{`{ $.users = 1 }`, `{"users": [1, 2, 3]}`, false},
		{`{ $.users != 1 }`, `{"users": [1, 2, 3]}`, false},
		// numeric comparisons
		{`{ $.latency >= 500 }`, docNumbers, true},
		{`{ $.latency > 500 }`, docNumbers, false},
		{`{ $.numbers[0] < 10e3 }`, docNumbers, true},
		{`{ $.numbers[1] < 10e-3 }`, docNumbers, true},
		{`{ $.processes[4].averageRuntime <= 55.5 }`, docNumbers, true},
		{`{ $.errorCode = 400 }`, docNumbers, true},
		{`{ $.errorCode != 500 }`, docNumbers, true},
		{`{ $.latency > +1000 }`, docNumbers, false},
		{`{ $.latency = 500.0 }`, docNumbers, true},
		{`{ $.errorCode = 400 }`, `{"errorCode": "400"}`, true},
		{`{ $.errorCode > 300 }`, `{"errorCode": "400"}`, false},
		// CloudTrail
		{`{ $.eventName = "ConsoleLogin" }`, cloudTrail, true},
		{`{ $.eventName = ConsoleLogin && $.responseElements.ConsoleLogin = Success }`, cloudTrail, true},
		{`{ $.userIdentity.type = "Root" }`, cloudTrail, false},
		{`{ $.userIdentity.type = "IAMUser" && $.additionalEventData.MFAUsed != "Yes" }`, cloudTrail, false},
		{`{ $.resources[0].ARN = "arn:aws:s3:::*" }`, cloudTrail, true},
		{`{ $.requestParameters IS NULL }`, cloudTrail, true},
		{`{ $.readOnly IS FALSE }`, cloudTrail, true},
		{`{ $.errorCode NOT EXISTS }`, cloudTrail, true},
		{`{ $.errorCode = "*" }`, cloudTrail, false},
		{`{ $.eventName = %Console.*% }`, cloudTrail, true},
		{`{ $.eventName != %^Get% }`, cloudTrail, true},
		{`{ $.eventSource = "*.amazonaws.com" }`, cloudTrail, true},
		// a JSON selector on a message that is not JSON does not match
		{`{ $.eventName = "ConsoleLogin" }`, `eventName = ConsoleLogin`, false},
		{`{ $.x NOT EXISTS }`, `plain text`, false},
		{`{ $.x NOT EXISTS }`, `{"y": 1}`, true},
		{`{ $.a = 1 }`, `{"a": 1`, true}, // the scanner only reads as far as it needs
		{`{ $.b = 1 }`, `{"a": 1`, false},

		// space-delimited (doc: "Using metric filters to extract values from space-delimited log events")
		{`[ip, user, username, timestamp, request, status_code, bytes]`, apacheLine(200, 1534), true},
		{`[ip, user, username, timestamp, request, status_code, bytes > 1000]`, apacheLine(200, 1534), true},
		{`[ip, user, username, timestamp, request, status_code, bytes > 5000]`, apacheLine(200, 1534), false},
		{`[ip, user, username, timestamp, request, status_code = 200, bytes]`, apacheLine(200, 1534), true},
		{`[ip, user, username, timestamp, request, status_code = 4*, bytes]`, apacheLine(404, 1534), true},
		{`[ip, user, username, timestamp, request, status_code = 4*, bytes]`, apacheLine(500, 1534), false},
		{`[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]`, apacheLine(404, 1534), false},
		{`[ip, user, username, timestamp, request = *gif*, status_code = 4*, bytes]`, apacheLine(404, 1534), true},
		{`[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]`, apacheLine(404, 1), true},
		{`[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]`, apacheLine(403, 1), false},
		{`[..., status_code, bytes]`, apacheLine(200, 1534), true},
		{`[ip, user, ..., status_code, bytes]`, apacheLine(200, 1534), true},
		{`[ip, user, ...]`, apacheLine(200, 1534), true},
		{`[ip, ..., ..., bytes = 1534]`, apacheLine(200, 1534), true},
		{`[a, b, c, ..., d, e, f, g, h, i]`, "1 2 3 4 5 6 7 8", false},
		{`[ip, user]`, apacheLine(200, 1534), false},
		{`[..., status_code = 500, bytes]`, apacheLine(500, 5324), true},
		{`[w1=ERROR, w2]`, "ERROR message", true},
		{`[w1=ERROR || w1=WARN, w2]`, "WARN message", true},
		{`[w1=ERROR || w1=WARN, w2]`, "INFO message", false},
	}
	for _, tt := range tests {
		p, err := Parse(tt.pattern)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.pattern, err)
			continue
		}
		if got := p.Match(tt.msg); got != tt.want {
			t.Errorf("Parse(%q).Match(%.60q) = %v, want %v", tt.pattern, tt.msg, got, tt.want)
		}
	}
}

func apacheLine(status, bytes int) string {
	return `127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" ` +
		itoa(status) + " " + itoa(bytes)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		pattern string
		want    string // substring of the error
	}{
		{`"unterminated`, "unterminated quoted string"},
		{`{ $.eventName = "x" `, "missing closing }"},
		{`{ eventName = "x" }`, "expected a selector"},
		{`{ $.eventName }`, "expected an operator"},
		{`{ $.eventName = }`, "missing value"},
		{`{ $.eventName == "x" }`, "unexpected operator"},
		{`{ $.latency > abc }`, "needs a number"},
		{`{ $.latency > "5" }`, "needs a number"},
		{`{ ($.a = 1 }`, "unbalanced parenthesis"},
		{`{ $.a = 1 } trailing`, "after closing }"},
		{`{ $.a = 1 && }`, "expected a selector"},
		{`{ $ = 1 }`, "selector must name a property"},
		{`{ $.[0] = 1 }`, "missing property name"},
		{`{ $.a[x] = 1 }`, "array index"},
		{`{ $.a IS MAYBE }`, "IS must be followed"},
		{`{ $.a NOT THERE }`, "NOT must be followed"},
		{`{ $.a = %(x)% }`, "parentheses"},
		{`{ $.a > %x% }`, "regular expression can only"},
		{`%unterminated`, "unterminated regular expression"},
		{`%[%`, "bad regular expression"},
		{`ERROR {`, "can only start"},
		{`ERROR ?`, "must be followed by a term"},
		{`?-x`, "cannot follow"},
		{`foo"bar`, "inside a quoted term"},
		{`[a, b`, "missing closing ]"},
		{`[a, a]`, "named twice"},
		{`[a = 1 && b = 2]`, "unknown field"},
		{`[]`, "at least one field"},
		{`[a, ..., b, ..., c]`, "only one ellipsis"},
		{strings.Repeat("a", MaxLength+1), "longer than"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.pattern)
		if err == nil {
			t.Errorf("Parse(%.40q): no error, want %q", tt.pattern, tt.want)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%.40q): error %T, want *SyntaxError", tt.pattern, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%.40q) = %v, want it to mention %q", tt.pattern, err, tt.want)
		}
	}
}

func TestMatchesAll(t *testing.T) {
	if !MustParse("").MatchesAll() || MustParse("x").MatchesAll() {
		t.Fatal("MatchesAll")
	}
	var p *Pattern
	if !p.Match("x") {
		t.Fatal("nil pattern must match")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "ERROR", `?a ?b -c "d e"`, `{ $.a.b[0] = "x*" && ($.c > 1 || $.d IS NULL) }`, `[a, ..., b = 4* && b != 403]`, `%a|b%`} {
		f.Add(s, docJSON)
	}
	f.Fuzz(func(t *testing.T, pattern, msg string) {
		p, err := Parse(pattern)
		if err != nil {
			return
		}
		p.Match(msg)
	})
}

func BenchmarkMatchJSON(b *testing.B) {
	p := MustParse(`{ $.userIdentity.type = "IAMUser" && $.eventName = "Console*" }`)
	b.SetBytes(int64(len(cloudTrail)))
	for b.Loop() {
		if !p.Match(cloudTrail) {
			b.Fatal("no match")
		}
	}
}
