package jsonx

import (
	"encoding/json"
	"fmt"
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
		{`""""""""\\\\\\\\"`, `"\"\"\"\"\"\"\"\"\\\\\\\\\\\\\\\\\""`},                    // words of nothing but escapes
		{`{"a":"b\"c","d":1}{"e":[true]}`, `"{\"a\":\"b\\\"c\",\"d\":1}{\"e\":[true]}"`}, // JSON text
	}
	for _, tc := range tests {
		if got := string(AppendString([]byte("x"), tc.in)); got != "x"+tc.want {
			t.Errorf("AppendString(%q) = %s, want x%s", tc.in, got, tc.want)
		}
	}
}

// appendStringRef is AppendString written a byte at a time: the word-at-a-time version must
// write exactly the same bytes.
func appendStringRef(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// The output is valid JSON that decodes to the input (invalid UTF-8 as U+FFFD, as Go's decoder
// would read it).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00\n\u2028", "bad\xff", "日本<&>", `\u0041`} {
		f.Add(s)
	}
	f.Add(strings.Repeat("abcdefg\"", 5) + "\x01é\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		if ref := appendStringRef(nil, s); string(out) != string(ref) {
			t.Fatalf("AppendString(%q) = %s, the byte-at-a-time reference writes %s", s, out, ref)
		}
		if pre := AppendString([]byte("prefix"), s); string(pre) != "prefix"+string(out) {
			t.Fatalf("AppendString after a prefix wrote %s", pre)
		}
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

// BenchmarkAppendStringJSON escapes a compact JSON document as a string, as PutAuditEvents
// sends eventData: a quote every few bytes.
func BenchmarkAppendStringJSON(b *testing.B) {
	doc := map[string]any{}
	for i := range 60 {
		doc[fmt.Sprintf("field_%d", i)] = fmt.Sprintf("value %d of the record", i*7919)
		doc[fmt.Sprintf("count_%d", i)] = i * 1000003
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	s := string(raw)
	buf := make([]byte, 0, 2*len(s)+64)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
