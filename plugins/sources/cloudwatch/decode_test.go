package cloudwatch

import (
	"strings"
	"testing"
)

// decodeCases are bodies of FilterLogEvents answers, good and bad; ok says whether the SDK's
// decoder (and so ours) accepts them. They seed FuzzFilterLogEventsDecode too.
var decodeCases = []struct {
	name string
	body string
	ok   bool
}{
	{"empty body", ``, true},
	{"empty object", `{}`, true},
	{"whitespace only", " \n\t", false},
	{"top-level null", `null`, false},
	{"top-level array", `[]`, false},
	{"top-level string", `"x"`, false},
	{"one event", `{"events":[{"eventId":"1","ingestionTime":2,"logStreamName":"s","message":"m","timestamp":3}],"searchedLogStreams":[],"nextToken":"t"}`, true},
	{"two events, one stream", `{"events":[{"eventId":"1","logStreamName":"s","message":"a","timestamp":1},{"eventId":"2","logStreamName":"s","message":"b","timestamp":2}]}`, true},
	{"streams change", `{"events":[{"logStreamName":"a"},{"logStreamName":"b"},{"logStreamName":"a"},{"logStreamName":"a\u0000"}]}`, true},
	{"empty lists", `{"events":[],"searchedLogStreams":[]}`, true},
	{"null members", `{"events":null,"nextToken":null,"searchedLogStreams":null}`, true},
	{"null event", `{"events":[null,{"eventId":"x"}]}`, true},
	{"null event members", `{"events":[{"eventId":null,"ingestionTime":null,"logStreamName":null,"message":null,"timestamp":null}]}`, true},
	{"null keeps the earlier value", `{"events":[{"eventId":"a","eventId":null}],"nextToken":"t","nextToken":null}`, true},
	{"last duplicate wins", `{"events":[{"eventId":"a","eventId":"b"}],"events":[{"message":"c"}],"nextToken":"1","nextToken":"2"}`, true},
	{"unknown members skipped", `{"x":{"a":[1,2,{"b":null}],"c":"\ud800"},"events":[{"y":[[]],"eventId":"1","z":-1.5e+3}],"searchedLogStreams":[{"q":true}],"w":false}`, true},
	{"searched streams", `{"searchedLogStreams":[{"logStreamName":"s","searchedCompletely":true},{"searchedCompletely":false},null,{}]}`, true},
	{"escaped keys", `{"even\u0074s":[{"event\u0049d":"1","m\u0065ssage":"x"}],"next\u0054oken":"t"}`, true},
	{"keys are case sensitive", `{"Events":[{"EventId":"1"}],"NextToken":"t","message":"m"}`, true},
	{"escapes", `{"nextToken":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac"}`, true},
	{"surrogate pair", `{"nextToken":"\ud83d\ude00"}`, true},
	{"lone high surrogate", `{"nextToken":"\ud83dx"}`, true},
	{"lone low surrogate", `{"nextToken":"\ude00"}`, true},
	{"high then high", `{"nextToken":"\ud83d\ud83d\ude00"}`, true},
	{"high then non-surrogate escape", `{"nextToken":"\ud83d\u0041"}`, true},
	{"high surrogate at the end", `{"nextToken":"\ud83d"}`, true},
	{"invalid UTF-8 without escape kept", "{\"nextToken\":\"a\xffb\xc3\"}", true},
	{"invalid UTF-8 with escape replaced", "{\"nextToken\":\"a\xffb\\n\xc3\"}", true},
	{"invalid UTF-8 before escape replaced", "{\"events\":[{\"message\":\"\xed\xa0\x80\\t\"}]}", true},
	{"valid UTF-8 with escape", "{\"nextToken\":\"\xc3\xa9\\n\xf0\x9f\x98\x80\"}", true},
	// messages are unquoted in place in the body, but for one with an escape and invalid UTF-8
	{"messages unquoted in place", "{\"events\":[{\"message\":\"a\\\"b\\\\c\"},{\"message\":\"\xc3\xa9\\n\xe2\x82\xac\"},{\"message\":\"\\ud83d\\ude00x\\u00e9\"},{\"message\":\"plain\"}]}", true},
	{"messages with invalid UTF-8", "{\"events\":[{\"message\":\"\\\"q\\\" \xff\"},{\"message\":\"\xff\xfe raw\"},{\"message\":\"x\xc3\\t\"},{\"message\":\"\xe2\x82\\u0041\xe2\x82\xac\"},{\"message\":\"after\\\"\"}]}", true},
	{"message escape after non-ASCII", "{\"events\":[{\"message\":\"\xc3\xa9\xc3\xa9\\\"\\\"\\ud800\"},{\"message\":\"\\/\"}],\"nextToken\":\"\xc3\"}", true},
	{"message with a bad escape after non-ASCII", "{\"events\":[{\"message\":\"\xc3\xa9\\x\"}]}", false},
	{"message with a control character after non-ASCII", "{\"events\":[{\"message\":\"\xc3\xa9\x01\"}]}", false},
	{"unterminated message after non-ASCII", "{\"events\":[{\"message\":\"\xc3\xa9", false},
	{"integers", `{"events":[{"timestamp":-0,"ingestionTime":9223372036854775807},{"timestamp":-9223372036854775808}]}`, true},
	{"trailing garbage ignored", `{"nextToken":"t"} }{ not json`, true},
	{"whitespace everywhere", " \r\n\t{ \"events\" : [ { \"eventId\" : \"1\" } , null ] , \"nextToken\" : \"t\" } ", true},
	{"int64 overflow", `{"events":[{"timestamp":9223372036854775808}]}`, false},
	{"int64 underflow", `{"events":[{"timestamp":-9223372036854775809}]}`, false},
	{"fraction", `{"events":[{"timestamp":1.0}]}`, false},
	{"exponent", `{"events":[{"timestamp":1e3}]}`, false},
	{"string timestamp", `{"events":[{"timestamp":"1"}]}`, false},
	{"bool timestamp", `{"events":[{"timestamp":true}]}`, false},
	{"number message", `{"events":[{"message":1}]}`, false},
	{"object message", `{"events":[{"message":{}}]}`, false},
	{"number token", `{"nextToken":1}`, false},
	{"string searchedCompletely", `{"searchedLogStreams":[{"searchedCompletely":"true"}]}`, false},
	{"events object", `{"events":{}}`, false},
	{"event array", `{"events":[[]]}`, false},
	{"event string", `{"events":["x"]}`, false},
	{"unterminated", `{"events":[{"eventId":"1"}`, false},
	{"unterminated string", `{"nextToken":"abc`, false},
	{"control character", "{\"nextToken\":\"a\nb\"}", false},
	{"bad escape", `{"nextToken":"\x"}`, false},
	{"single-quote escape", `{"nextToken":"\'"}`, false},
	{"short \\u", `{"nextToken":"\u12"}`, false},
	{"bad hex", `{"nextToken":"\u12g4"}`, false},
	{"leading zero", `{"x":01}`, false},
	{"bare minus", `{"x":-}`, false},
	{"no fraction digits", `{"x":1.}`, false},
	{"no exponent digits", `{"x":1e+}`, false},
	{"trailing comma in object", `{"nextToken":"t",}`, false},
	{"trailing comma in array", `{"events":[{},]}`, false},
	{"missing colon", `{"nextToken" "t"}`, false},
	{"bad literal", `{"x":nul}`, false},
	{"bad literal in event", `{"events":[{"eventId":nulL}]}`, false},
	{"mismatched close", `{"x":[1}`, false},
	{"bad unknown member", `{"x":[1,]}`, false},
	// The SDK drops an error met looking for a list's next element and reads on; its
	// deserializer's own bookkeeping then refuses the body.
	{"junk after an event", `{"events":[{} 1,"x"],"k":{}}`, false},
	{"colon after an event", `{"events":[{}:]}`, false},
	{"junk after a searched stream", `{"searchedLogStreams":[{} "x"}`, false},
	{"nesting 10,000 deep", `{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`, true},
	{"nesting 10,001 deep", `{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, false},
	{"nesting 10,001 deep in an event", `{"events":[{"x":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}]}`, false},
}

func TestDecodeMatchesTheSDK(t *testing.T) {
	var pd pageDecoder
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := sdkDecode([]byte(tc.body))
			if (werr == nil) != tc.ok {
				t.Fatalf("the SDK: err %v, the case expects ok=%v", werr, tc.ok)
			}
			got, gerr := pd.decode([]byte(tc.body))
			if (gerr == nil) != tc.ok {
				t.Fatalf("ours: err %v, want ok=%v", gerr, tc.ok)
			}
			if tc.ok && !sameOutput(got, want) {
				t.Fatalf("ours gives %s\nthe SDK gives %s", dump(got), dump(want))
			}
		})
	}
}
