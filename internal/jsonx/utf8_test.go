package jsonx

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestRepairUTF8(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string
		first int
	}{
		{"empty", "", "", -1},
		{"ASCII", `{"a":"b"}`, `{"a":"b"}`, -1},
		{"valid multi-byte", `{"u":"zoë 日本 🙂"}`, `{"u":"zoë 日本 🙂"}`, -1},
		{"one bad byte", "{\"u\":\"a\xffb\"}", "{\"u\":\"a\uFFFDb\"}", 7},
		{"each byte of a bad run", "{\"u\":\"\xff\xfeal\xc3ice\"}", "{\"u\":\"\uFFFD\uFFFDal\uFFFDice\"}", 6},
		{"truncated sequence at the end", "\"\xe6\x97\"", "\"\uFFFD\uFFFD\"", 1},
		{"surrogate half encoded", "\"\xed\xa0\x80\"", "\"\uFFFD\uFFFD\uFFFD\"", 1},
		{"overlong encoding", "\"\xc0\xaf\"", "\"\uFFFD\uFFFD\"", 1},
		{"Latin-1 é", "\"rapport-\xe9t\xe9.pdf\"", "\"rapport-\uFFFDt\uFFFD.pdf\"", 9},
		{"valid then invalid", "\"é\x80\"", "\"é\uFFFD\"", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			got, first := RepairUTF8(in)
			if string(got) != tc.want || first != tc.first {
				t.Errorf("RepairUTF8(%q) = %q, %d; want %q, %d", tc.in, got, first, tc.want, tc.first)
			}
			if !utf8.Valid(got) {
				t.Errorf("RepairUTF8(%q) = %q: not valid UTF-8", tc.in, got)
			}
			if tc.first < 0 && (len(in) > 0 && &got[0] != &in[0]) {
				t.Errorf("RepairUTF8(%q) copied valid input", tc.in)
			}
			if s := RepairUTF8String(tc.in); s != tc.want {
				t.Errorf("RepairUTF8String(%q) = %q, want %q", tc.in, s, tc.want)
			}
		})
	}
}

func TestRepairUTF8ValidAllocatesNothing(t *testing.T) {
	b := []byte(`{"u":"zoë","n":1}`)
	if n := testing.AllocsPerRun(100, func() { _, _ = RepairUTF8(b) }); n != 0 {
		t.Errorf("RepairUTF8 of valid UTF-8 allocates %v times", n)
	}
}

// FuzzRepairUTF8 holds the repair to what encoding/json reads: a JSON text keeps its value
// (each invalid byte already decoded as U+FFFD) and stays a JSON text, now valid UTF-8.
func FuzzRepairUTF8(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, "{\"u\":\"\xff\xfeal\xc3ice\"}", "[\"\xed\xa0\x80\",\"\\ud800\"]", "\"\xe6\x97\"", "x\x80y"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		got, first := RepairUTF8(b)
		if !bytes.Equal(b, orig) {
			t.Fatal("RepairUTF8 changed its input")
		}
		if !utf8.Valid(got) {
			t.Fatalf("RepairUTF8(%q) = %q: not valid UTF-8", b, got)
		}
		if (first < 0) != utf8.Valid(b) {
			t.Fatalf("RepairUTF8(%q): first %d, but utf8.Valid says %v", b, first, utf8.Valid(b))
		}
		if first >= 0 && !bytes.Equal(got[:first], b[:first]) {
			t.Fatalf("RepairUTF8(%q) changed bytes before %d", b, first)
		}
		if !Valid(b) {
			return
		}
		if !Valid(got) {
			t.Fatalf("RepairUTF8(%q) = %q: no longer JSON", b, got)
		}
		var want, have any
		if err := json.Unmarshal(b, &want); err != nil {
			t.Skip(err) // depth beyond encoding/json's
		}
		if err := json.Unmarshal(got, &have); err != nil {
			t.Fatalf("RepairUTF8(%q) = %q: %v", b, got, err)
		}
		if !reflect.DeepEqual(want, have) {
			t.Fatalf("RepairUTF8(%q) = %q: decodes to %v, the input to %v", b, got, have, want)
		}
	})
}

// BenchmarkRepairUTF8 is what a valid record costs each source: one utf8.Valid, no copy.
func BenchmarkRepairUTF8(b *testing.B) {
	ascii := []byte(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"},"eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","userAgent":"aws-cli/2","requestParameters":{"bucketName":"b","key":"k"},"responseElements":null,"eventID":"1","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}`)
	for _, bc := range []struct {
		name string
		rec  []byte
	}{
		{"valid ASCII", ascii},
		{"valid non-ASCII", bytes.ReplaceAll(ascii, []byte("alice"), []byte("zoë"))},
		{"invalid", bytes.ReplaceAll(ascii, []byte("alice"), []byte("al\xe9ce"))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.rec)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = RepairUTF8(bc.rec)
			}
		})
	}
}
