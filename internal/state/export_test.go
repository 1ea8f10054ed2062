package state

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Export then ReadEntries gives back every key of every namespace, byte for byte.
func TestExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := []Entry{
		{Namespace: "plugin/acme", Key: "alerts/dlp", Value: []byte(`{"ts":1}`)},
		{Namespace: "plugin/acme", Key: "events/page", Value: []byte{0, 1, 0xff, '\n'}},
		{Namespace: "plugin/acme/sub", Key: "k", Value: []byte("v")},
		{Namespace: "spool/lake", Key: "head", Value: []byte("7")},
	}
	for _, e := range want {
		var s Store = db.Namespace(e.Namespace)
		if err := s.Put(ctx, e.Key, e.Value); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	n, err := Export(ctx, db, &buf)
	if err != nil || n != len(want) {
		t.Fatalf("Export = %d, %v; want %d", n, err, len(want))
	}
	if lines := strings.Count(buf.String(), "\n"); lines != len(want) {
		t.Errorf("%d lines; want %d:\n%s", lines, len(want), buf.String())
	}
	var got []Entry
	if err := ReadEntries(&buf, func(_ int, e Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d entries; want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Namespace != want[i].Namespace || got[i].Key != want[i].Key || !bytes.Equal(got[i].Value, want[i].Value) {
			t.Errorf("entry %d = %+v; want %+v", i, got[i], want[i])
		}
	}
}

func TestReadEntriesRefuses(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", "{\"namespace\":\"p\",\"key\":\"k\",\"value\":\"\"}\nnope\n", "line 2: not a state entry"},
		{"unknown field", `{"namespace":"p","key":"k","val":"eA=="}`, `line 1: not a state entry: json: unknown field "val"`},
		{"no key", `{"namespace":"p","value":"eA=="}`, "line 1: not a state entry: namespace and key are required"},
		{"two values", `{"namespace":"p","key":"k"} {}`, "line 1: not a state entry: more than one JSON value"},
		{"value not base64", `{"namespace":"p","key":"k","value":"%%"}`, "line 1: not a state entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ReadEntries(strings.NewReader(tt.in), func(int, Entry) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want %q", err, tt.want)
			}
		})
	}
}
