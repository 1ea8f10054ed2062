package appendfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOpenEndsATornLine(t *testing.T) {
	tests := []struct{ before, want string }{
		{"", "{\"b\":2}\n"},
		{"{\"a\":1}\n", "{\"a\":1}\n{\"b\":2}\n"},
		{"{\"a\":1}\n{\"to", "{\"a\":1}\n{\"to\n{\"b\":2}\n"},
	}
	for _, tc := range tests {
		p := filepath.Join(t.TempDir(), "f.ndjson")
		if err := os.WriteFile(p, []byte(tc.before), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Open(p, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Append([]byte("{\"b\":2}\n")); err != nil {
			t.Fatal(err)
		}
		if f.Size() != int64(len(tc.want)) {
			t.Errorf("size %d, want %d", f.Size(), len(tc.want))
		}
		_ = f.Close()
		got, _ := os.ReadFile(p)
		if string(got) != tc.want {
			t.Errorf("before %q: got %q, want %q", tc.before, got, tc.want)
		}
	}
}

// /dev/full accepts the open and fails every write: Append reports it and the size stays.
func TestAppendFailureKeepsSize(t *testing.T) {
	f, err := Open("/dev/full", 0o644)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer f.Close()
	if err := f.Append([]byte("x\n")); err == nil {
		t.Fatal("write to /dev/full succeeded")
	}
	if f.Size() != 0 {
		t.Fatalf("size %d after a failed write", f.Size())
	}
}
