package netskope

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/logshipper/logshipper/internal/event"
)

// buildBoth builds the page body twice for ep: from a copy read with room bytes to spare (as
// client.get reads it, answer.body set) and from a copy without (records spliced into an
// arena). It returns both results and the body the first was built in.
func buildBoth(t *testing.T, ep endpoint, until int64, body string, room int) (inPlace, copied []*event.Record, inv1, inv2 []elem, buf []byte) {
	t.Helper()
	buf = make([]byte, len(body), len(body)+room)
	copy(buf, body)
	a1, err := parseAnswer(buf)
	if err != nil {
		t.Fatalf("parseAnswer: %v", err)
	}
	a1.body = buf
	a2, err := parseAnswer([]byte(body))
	if err != nil {
		t.Fatalf("parseAnswer: %v", err)
	}
	b1 := builder{ep: ep, source: "ns", until: until}
	b2 := builder{ep: ep, source: "ns", until: until}
	inPlace, inv1, _ = b1.build(a1)
	copied, inv2, _ = b2.build(a2)
	return inPlace, copied, inv1, inv2, buf
}

// within reports whether b's bytes are in buf's array.
func within(buf, b []byte) bool {
	full := buf[:cap(buf)]
	return len(b) > 0 && offsetIn(unsafe.Pointer(unsafe.SliceData(full)), len(full), b) >= 0
}

// Events spliced in the body they were read in are the bytes the copies are, whatever the
// page holds: records without event_type, with a longer or shorter one, empty objects, invalid
// elements between them (kept as received), records a backfill's end leaves out. With room to
// spare they are spliced in the body; without enough, they are copied as before.
func TestSpliceInPlaceMatchesCopies(t *testing.T) {
	const ok = `{"ok":1,"timestamp_hwm":1700000000,"result":[`
	for _, tc := range []struct {
		name  string
		ep    endpoint
		until int64
		elems string
	}{
		{"plain events", endpoint{"events", "audit"}, 0,
			`{"_id":"a","n":1},{"_id":"b","s":"x\"y"} , {"_id":"c"}`},
		{"event_type already there", endpoint{"events", "application"}, 0,
			`{"_id":"a","event_type":"x","n":2},{"_id":"b","event_type":"a-much-longer-event-type-than-ours","z":[1,2]},{"_id":"c","event_type":{"deep":[1]},"t":3}`},
		{"empty objects", endpoint{"events", "page"}, 0, `{},{ },{"_id":"x"},{}`},
		{"invalid elements between", endpoint{"events", "network"}, 0,
			`{"_id":"a"},17,"text",{"_id":"b","v":[1,2,3]},[1],{"_id":"c"}`},
		{"later records left out", endpoint{"events", "audit"}, 1700000100,
			`{"_id":"a","_insertion_epoch_timestamp":1700000000},{"_id":"b","_insertion_epoch_timestamp":1700000200,"big":"` + string(bytes.Repeat([]byte("x"), 300)) + `"},{"_id":"c","_insertion_epoch_timestamp":1700000050}`},
		{"alerts keep their bytes", endpoint{"alerts", "dlp"}, 0, `{"_id":"a"},{"_id":"b","alert_type":"DLP"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ok + tc.elems + `]}`
			for _, room := range []int{0, 8, 4096} {
				got, want, inv1, inv2, buf := buildBoth(t, tc.ep, tc.until, body, room)
				if len(got) != len(want) || len(inv1) != len(inv2) {
					t.Fatalf("room %d: %d records and %d invalid, want %d and %d", room, len(got), len(inv1), len(want), len(inv2))
				}
				shared := 0
				for i := range got {
					if !bytes.Equal(got[i].Raw, want[i].Raw) || got[i].ID != want[i].ID || !got[i].Time.Equal(want[i].Time) {
						t.Errorf("room %d: record %d is %q (%s), want %q (%s)", room, i, got[i].Raw, got[i].ID, want[i].Raw, want[i].ID)
					}
					if cap(got[i].Raw) != len(got[i].Raw) {
						t.Errorf("room %d: record %d has capacity past its bytes", room, i)
					}
					if within(buf, got[i].Raw) {
						shared++
					}
				}
				for i := range inv1 {
					if !bytes.Equal(inv1[i].raw, inv2[i].raw) {
						t.Errorf("room %d: invalid element %d is %q, want %q", room, i, inv1[i].raw, inv2[i].raw)
					}
				}
				// In place when the room holds every record's growth (4096 does), for events, and
				// copied when there is none for records that grow; an alert is always a slice of
				// the body.
				switch {
				case room == 4096 || tc.ep.kind == "alerts":
					if shared != len(got) {
						t.Errorf("room %d: %d of %d records in the body, want all", room, shared, len(got))
					}
				case room == 0 && tc.name == "plain events":
					if shared != 0 {
						t.Errorf("room 0: %d of %d records in the body, want none", shared, len(got))
					}
				}
			}
		})
	}
}

// The room read for a page comes from the last page's element size: enough for the next page
// of records of that size, none for alerts; so does the room for its member spans.
func TestSpareFollowsTheLastPage(t *testing.T) {
	b := builder{ep: endpoint{"events", "audit"}, source: "ns"}
	page := func(n, size int) string {
		rec := `{"_id":"` + string(bytes.Repeat([]byte("i"), size-10)) + `"}`
		var sb bytes.Buffer
		sb.WriteString(`{"ok":1,"result":[`)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(rec)
		}
		sb.WriteString(`]}`)
		return sb.String()
	}
	for _, size := range []int{3000, 200, 60} {
		body := page(100, size)
		_, _, _, _, _ = buildBoth(t, b.ep, 0, body, 0) // (checks the page parses)
		a, err := parseAnswer([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		b.build(a) // learns the size
		room := b.spare(int64(len(body)))
		need := 100 * (len(b.field()) + 1)
		if room < need {
			t.Errorf("records of %d bytes: spare %d, want at least %d", size, room, need)
		}
		if room > 4*need+4096 {
			t.Errorf("records of %d bytes: spare %d, more than needed (%d)", size, room, need)
		}
		// The spans of a page like the last fit the room made for them: the arena does not
		// grow (copying itself).
		spans := b.spanRoom(len(body))
		next, err := parseAnswerSpans([]byte(body), spans)
		if err != nil {
			t.Fatal(err)
		}
		if len(next.spans) > spans || spans > 2*len(next.spans)+128 {
			t.Errorf("records of %d bytes: room for %d spans, %d needed", size, spans, len(next.spans))
		}
		got, _, _, _, buf := buildBoth(t, b.ep, 0, body, room)
		for i, r := range got {
			if !within(buf, r.Raw) {
				t.Fatalf("records of %d bytes: record %d was copied, not spliced in the body", size, i)
			}
		}
	}
	if n := (&builder{ep: endpoint{"alerts", "dlp"}}).spare(1 << 20); n != 0 {
		t.Errorf("alerts: spare %d, want 0", n)
	}
}
