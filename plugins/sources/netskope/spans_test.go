package netskope

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

// checkSpans fails t unless every record with spans lists, from them, the members a walk over
// its bytes lists, and decodes the fields named alike; it returns how many had spans.
func checkSpans(t *testing.T, recs []*event.Record) int {
	t.Helper()
	n := 0
	want := map[string]struct{}{"event_type": {}, "_id": {}, "a\"b": {}, "n": {}, "severity": {}}
	for i, r := range recs {
		if r.Spans() == nil {
			continue
		}
		n++
		got, err := r.AppendMembers(nil)
		walked, werr := event.AppendMembers(nil, r.Raw)
		if err != nil || werr != nil {
			t.Fatalf("record %d %q: members: %v; walked: %v", i, r.Raw, err, werr)
		}
		if len(got) != len(walked) {
			t.Fatalf("record %d %q: %d members from spans, %d walked", i, r.Raw, len(got), len(walked))
		}
		for j := range got {
			if got[j].Key != walked[j].Key || !bytes.Equal(got[j].Value, walked[j].Value) || got[j].Compact != walked[j].Compact {
				t.Fatalf("record %d %q: member %d from spans %q=%q (compact %v), walked %q=%q (compact %v)",
					i, r.Raw, j, got[j].Key, got[j].Value, got[j].Compact, walked[j].Key, walked[j].Value, walked[j].Compact)
			}
		}
		f1, u1, err1 := r.FieldsNamedInto(nil, want)
		plain := &event.Record{Raw: r.Raw}
		f2, u2, err2 := plain.FieldsNamedInto(nil, want)
		if (err1 == nil) != (err2 == nil) || u1 != u2 || !reflect.DeepEqual(f1, f2) {
			t.Fatalf("record %d %q: fields from spans %v (%v, %v), walked %v (%v, %v)", i, r.Raw, f1, u1, err1, f2, u2, err2)
		}
	}
	return n
}

// The records build makes carry the spans of their members as found by the page reader, moved
// for the event_type spliced in: the members they list are those a walk over the bytes lists,
// for every endpoint kind, with or without room to splice in place.
func TestBuildGivesSpans(t *testing.T) {
	long := strings.Repeat("k", 300)
	big := strings.Repeat("x", 70000)
	for _, tc := range []struct {
		name    string
		ep      endpoint
		elems   string
		spanned int // records with spans
	}{
		{"events", endpoint{"events", "audit"}, `{"_id":"a","n":1,"o":{"p":[1, 2]}},{ "_id" : "b" , "s":"x\"y" }`, 2},
		{"event_type there, longer or shorter", endpoint{"events", "application"},
			`{"_id":"a","event_type":"x","n":2},{"event_type":"first","_id":"b","event_type":"a-much-longer-event-type","z":[1,2]},{"_id":"c","event_type":{ "deep": [1] },"t":3}`, 3},
		{"empty objects", endpoint{"events", "page"}, `{},{ },{"_id":"x"}`, 3},
		{"escaped keys", endpoint{"events", "audit"}, `{"a\"b":1,"\u005fid":"e","n":18446744073709551615}`, 1},
		{"invalid elements between", endpoint{"events", "network"}, `{"_id":"a"},17,{"_id":"b","v":[1,2,3]},{"x":}`, 2},
		{"alerts", endpoint{"alerts", "dlp"}, `{"_id":"a","severity":"high"},{"_id":"b","severity":{"x" : 1}}`, 2},
		{"too long a key", endpoint{"events", "audit"}, `{"_id":"a","` + long + `":1},{"_id":"b"}`, 1},
		{"too big a record", endpoint{"alerts", "dlp"}, `{"_id":"a","big":"` + big + `"},{"_id":"b"}`, 1},
		{"not UTF-8", endpoint{"events", "audit"}, "{\"_id\":\"a\",\"s\":\"\xff\"},{\"_id\":\"b\"}", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"ok":1,"result":[` + tc.elems + `]}`
			for _, room := range []int{0, 1 << 16} {
				inPlace, copied, _, _, _ := buildBoth(t, tc.ep, 0, body, room)
				for _, recs := range [][]*event.Record{inPlace, copied} {
					if n := checkSpans(t, recs); n != tc.spanned {
						t.Errorf("room %d: %d records with spans, want %d", room, n, tc.spanned)
					}
				}
			}
		})
	}
}
