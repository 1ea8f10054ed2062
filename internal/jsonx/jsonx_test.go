package jsonx

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"line\nfeed\rtab\t", `"line\nfeed\rtab\t"`},
		{"\b\f\x00\x1f", `"\b\f\u0000\u001f"`},
		{"<a&b>", `"<a&b>"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"héllo 日本", `"héllo 日本"`},
	}
	for _, tc := range tests {
		if got := string(AppendString([]byte("x"), tc.in)); got != "x"+tc.want {
			t.Errorf("AppendString(%q) = %s, want x%s", tc.in, got, tc.want)
		}
	}
}

// The output is valid JSON that decodes to the input (invalid UTF-8 as U+FFFD, as Go's decoder
// would read it).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00\n\u2028", "bad\xff", "日本<&>", `\u0041`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON for %q: %s", s, out)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if utf8.ValidString(s) && back != want {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
		// ToValidUTF8 folds a run of bad bytes into one U+FFFD; AppendString writes one per byte.
		if strings.ReplaceAll(back, "\uFFFD", "") != strings.ReplaceAll(want, "\uFFFD", "") {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := strings.Repeat(`arn:aws:iam::123456789012:user/alice "quoted" \ path`, 4)
	buf := make([]byte, 0, 512)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
