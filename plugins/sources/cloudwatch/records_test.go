package cloudwatch

import (
	"os"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
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
			r := tc.b.build(&ev)
			if string(r.Raw) != tc.want {
				t.Fatalf("raw %s\nwant %s", r.Raw, tc.want)
			}
			if _, err := r.Fields(); err != nil {
				t.Fatalf("not a JSON object: %v", err)
			}
			id, has := r.Meta[event.MetaLogSourceID]
			if has == tc.noIdent || id != tc.ident {
				t.Fatalf("identifier %q (%v)", id, has)
			}
			if r.ID != "3791" || r.Time.UnixMilli() != e.Timestamp || r.Meta[MetaLogStream] != e.Stream || r.Meta[MetaRegion] != "us-east-1" {
				t.Fatalf("record %+v", r)
			}
		})
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
	if _, err := decodeCheckpoint([]byte(`{"v":2}`)); err == nil {
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

// FuzzBuild: every record built is one JSON object.
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
		r := b.build(&logEvent{ID: "1", Message: msg, Stream: "s"})
		if _, err := r.Fields(); err != nil {
			t.Fatalf("%q (extract %v) -> %s: %v", msg, extract, r.Raw, err)
		}
	})
}
