package deadletter

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// A record nested as deeply as encoding/json reads (10,000 levels) or deeper is kept byte for
// byte in record_text, since as JSON in "record" it would sit one level deeper inside its entry,
// an entry nobody could read back; a record one level less deep stays JSON in "record". Every
// entry reads back.
func TestDeepRecordsLeaveEntriesReadable(t *testing.T) {
	nested := func(depth int) []byte {
		return []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
	}
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var in []Entry
	for _, d := range []int{9999, 10000, 20000} {
		e := Entry{Plugin: "p", Reason: "refused"}
		e.SetRecord(nested(d))
		in = append(in, e)
	}
	if err := s.Put("p", in); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(s.Path("p"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("entry %d cannot be read back: %v", i, err)
		}
		want := string(nested([]int{9999, 10000, 20000}[i]))
		switch {
		case i == 0 && string(e.Record) != want:
			t.Errorf("9,999 deep: not kept as JSON in record")
		case i > 0 && (e.Record != nil || e.RecordText != want):
			t.Errorf("entry %d: not kept byte for byte in record_text", i)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestDepth(t *testing.T) {
	for in, want := range map[string]int{
		`1`: 0, `{}`: 1, `[[]]`: 2, `{"a":"[[[{"}`: 1, `{"a":"\"[["}`: 1, `[{"a":[1]},{"b":2}]`: 3,
	} {
		if got := depth([]byte(in)); got != want {
			t.Errorf("depth(%s) = %d, want %d", in, got, want)
		}
	}
}
