package jsonx

import (
	"bytes"
	"testing"
)

// stopRef is the byte-at-a-time definition the word-at-a-time scanners must agree with.
func stopRef(b []byte, i int, ascii bool) int {
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || ascii && c >= 0x80 {
			return i
		}
	}
	return i
}

func TestStringStop(t *testing.T) {
	long := bytes.Repeat([]byte("abcdefgh"), 4)
	tests := []string{
		"", "a", `"`, `\`, "\x00", "\x1f", " ", "\x7f", "\x80", "\xff", "é",
		`abcdefg"`, `abcdefgh"`, `abcdefghi\`, "abcdefghijklmno\n", "abc\x21\x23\x5b\x5d",
		"\x21\x21\x21\x21\x21\x21\x21\x22", // a quote after bytes one above it (borrow)
		"\x1f\x20\x1f\x20\x22\x5c\x5c\x22",
		"\x20\x20\x20\x20\x20\x20\x20\x20\x20\x1f",
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"rest",
		string(long) + `"`, string(long) + "\x01" + string(long),
	}
	for _, s := range tests {
		b := []byte(s)
		for i := 0; i <= len(b); i++ {
			if got, want := StringStop(b, i), stopRef(b, i, false); got != want {
				t.Errorf("StringStop(%q, %d) = %d, want %d", s, i, got, want)
			}
			if got, want := ASCIIStop(b, i), stopRef(b, i, true); got != want {
				t.Errorf("ASCIIStop(%q, %d) = %d, want %d", s, i, got, want)
			}
		}
	}
}

func FuzzStringStop(f *testing.F) {
	f.Add([]byte(`{"a":"b\"c"}`), 0)
	f.Add([]byte("\x21\x21\x21\x21\x21\x21\x21\x22\x1f"), 3)
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		if i < 0 || i > len(b) {
			return
		}
		if got, want := StringStop(b, i), stopRef(b, i, false); got != want {
			t.Fatalf("StringStop(%q, %d) = %d, want %d", b, i, got, want)
		}
		if got, want := ASCIIStop(b, i), stopRef(b, i, true); got != want {
			t.Fatalf("ASCIIStop(%q, %d) = %d, want %d", b, i, got, want)
		}
	})
}

func BenchmarkStringStop(b *testing.B) {
	s := []byte(`https://www.example.com/some/path/to/a/resource?with=query&and=more"`)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		if StringStop(s, 0) != len(s)-1 {
			b.Fatal("wrong stop")
		}
	}
}
