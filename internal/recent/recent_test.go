package recent

import (
	"fmt"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

func recs(from, to int) []*event.Record {
	var out []*event.Record
	for i := from; i < to; i++ {
		out = append(out, &event.Record{Raw: fmt.Appendf(nil, `{"n":%d}`, i), Kind: event.KindNetskopeAlert})
	}
	return out
}

func TestKeepsTheLastRecordsOfEachSource(t *testing.T) {
	s := New(3)
	s.Keep("acme", recs(0, 2))
	s.Keep("acme", recs(2, 10)) // only the last 3 of a batch are copied
	s.Keep("cw", recs(100, 101))
	for _, tc := range []struct {
		source string
		limit  int
		want   []string
	}{
		{"acme", 0, []string{`{"n":7}`, `{"n":8}`, `{"n":9}`}},
		{"acme", 2, []string{`{"n":8}`, `{"n":9}`}},
		{"cw", 0, []string{`{"n":100}`}},
		{"nobody", 0, nil},
	} {
		got := s.Last(tc.source, tc.limit)
		var raws []string
		for _, r := range got {
			raws = append(raws, string(r.Raw))
		}
		if fmt.Sprint(raws) != fmt.Sprint(tc.want) {
			t.Errorf("Last(%s, %d) = %q; want %q", tc.source, tc.limit, raws, tc.want)
		}
	}
}

// The kept records are copies: the source may reuse its buffers, and a caller may change what
// it was given.
func TestKeptRecordsAreCopies(t *testing.T) {
	s := New(2)
	batch := recs(0, 1)
	s.Keep("acme", batch)
	batch[0].Raw[2] = 'X'
	got := s.Last("acme", 0)
	if string(got[0].Raw) != `{"n":0}` {
		t.Errorf("kept %q: the source's buffer was kept, not copied", got[0].Raw)
	}
	got[0].Raw[2] = 'Y'
	if again := s.Last("acme", 0); string(again[0].Raw) != `{"n":0}` {
		t.Errorf("kept %q after the caller changed its copy", again[0].Raw)
	}
	if e := got[0].Event("acme"); e.Kind != event.KindNetskopeAlert || e.Source != "acme" {
		t.Errorf("Event() = %+v", e)
	}
}
