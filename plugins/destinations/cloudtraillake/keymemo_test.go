package cloudtraillake

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/mapping"
)

// prepareWith prepares r with sc (whose memo may hold an earlier record's keys).
func prepareWith(t *testing.T, d *Destination, sc *scratch, r *event.Record) (string, error) {
	t.Helper()
	p, err := d.prepareInto(r, nil, sc)
	if err != nil {
		return "", err
	}
	return p.ev.ID + " " + p.ev.EventData, nil
}

// A record prepared with the keys of the record before it remembered (keyMemo: flags and
// order taken, not worked out) gives the same event as one prepared afresh, for every sample;
// so does a record whose keys differ from the memo's (in order, in number, repeated).
func TestKeyMemoGivesTheSameEvents(t *testing.T) {
	d := &Destination{cfg: NewConfig().(*Config), maps: mapping.DefaultCloudTrail(), account: "123456789012"}
	d.cfg.AddAdditionalData = true
	samples, _ := sampleRecords(t)
	recs := []*event.Record{
		alert("a1", "DLP", `,"zeta":1,"beta":[1, 2]`),
		alert("a2", "DLP", `,"beta":2,"zeta":{"x" : 1}`),              // the same keys in another order
		alert("a3", "DLP", `,"beta":2,"beta":3,"alpha":"x","beta":4`), // a repeated key
		alert("a4", "DLP", `,"beta":2,"beta":3,"alpha":"y","beta":5`), // the same again: the memo's
		alert("a5", "DLP", `,"transaction_id":12345678901234567890`),  // a repeated 64-bit id
		{ID: "e1", Raw: []byte(`{"_id":"e1","event_type":"audit","audit_log_event":"Login Successful","user":"bob@example.com","timestamp":1795420800}`), Kind: event.KindNetskopeEvent, Subtype: "audit"},
	}
	for _, s := range samples {
		recs = append(recs, s.record())
	}
	memoHits := 0
	for i, r := range recs {
		fresh := &scratch{fields: map[string]any{}}
		want, werr := prepareWith(t, d, fresh, r)
		// Twice with one scratch: the second time from the memo the first left.
		sc := &scratch{fields: map[string]any{}}
		first, ferr := prepareWith(t, d, sc, r)
		members, _ := event.Members(r.Raw)
		m, ok := d.maps.For(r.Kind.Class(), r.Subtype)
		_, all := d.memberFlags(m)
		if ok && werr == nil && sc.memo.matches(m, all, members) {
			memoHits++
		}
		second, serr := prepareWith(t, d, sc, r)
		// And after the record before it (another record's memo).
		var after string
		var aerr error
		if i > 0 {
			prev := &scratch{fields: map[string]any{}}
			_, _ = prepareWith(t, d, prev, recs[i-1])
			after, aerr = prepareWith(t, d, prev, r)
		} else {
			after, aerr = want, werr
		}
		for _, got := range []struct {
			name string
			ev   string
			err  error
		}{{"first", first, ferr}, {"from the memo", second, serr}, {"after another record", after, aerr}} {
			if (got.err == nil) != (werr == nil) || got.ev != want {
				t.Errorf("record %d %s: %s (%v), want %s (%v)", i, got.name, got.ev, got.err, want, werr)
			}
		}
	}
	if memoHits == 0 {
		t.Fatal("no record left a memo")
	}
}

// The memo keeps copies of a record's keys, never its bytes (a pooled scratch pointing into a
// record would keep its page alive).
func TestKeyMemoKeepsNoRecordBytes(t *testing.T) {
	d := &Destination{cfg: NewConfig().(*Config), maps: mapping.DefaultCloudTrail(), account: "123456789012"}
	r := alert("a1", "DLP", `,"note":"shared bytes"`)
	sc := &scratch{fields: map[string]any{}}
	if _, err := prepareWith(t, d, sc, r); err != nil {
		t.Fatal(err)
	}
	if len(sc.memo.keys) == 0 {
		t.Fatal("no memo")
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(r.Raw)))
	hi := lo + uintptr(len(r.Raw))
	for _, k := range sc.memo.keys {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(k))); p >= lo && p < hi {
			t.Fatalf("the memo's key %q is in the record's bytes", k)
		}
	}
	if !strings.Contains(strings.Join(sc.memo.keys, ","), "note") {
		t.Fatalf("memo keys %v", sc.memo.keys)
	}
}
