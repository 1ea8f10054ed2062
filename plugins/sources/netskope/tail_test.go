package netskope

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

// A graceful restart of a caught-up source pulls nothing again, whatever fields the records
// have. The restart's resend answers the empty page served last, so the index is seeded again
// at the saved hwm, and the tenant answers the records of that second first: all delivered
// already, and recognised by their bytes, not by _insertion_epoch_timestamp (absent from
// incident records and several vendors' samples), timestamp or _id. Re-emitted duplicates
// carry their original's _insertion_epoch_timestamp, not the second they were inserted in.
// A second holding more records than the tail, over two pages, is recognised too (one holding
// more than a page is not: see the README's limits).
func TestRestartPullsNothingAgainWhateverFields(t *testing.T) {
	for _, c := range []struct {
		name      string
		perSecond int
		gen       sim.Generator
	}{
		{"every field", 10, sim.Generator{}},
		{"no _insertion_epoch_timestamp", 10, sim.Generator{Omit: []string{"_insertion_epoch_timestamp"}}},
		{"no _insertion_epoch_timestamp, timestamp or _id", 10, sim.Generator{Omit: []string{"_insertion_epoch_timestamp", "timestamp", "_id"}}},
		{"re-emitted duplicates", 10, sim.Generator{DuplicateRate: 0.3}},
		{"no _insertion_epoch_timestamp, a busy second", 60, sim.Generator{Omit: []string{"_insertion_epoch_timestamp"}}},
		{"re-emitted duplicates, a busy second", 60, sim.Generator{DuplicateRate: 0.3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A whole second: the last second of the backlog holds perSecond records.
			now := time.Now().Truncate(time.Second)
			gen := c.gen
			gen.Backlog, gen.BacklogSpan = 10*c.perSecond, 10*time.Second
			w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 100, Now: sim.NewManualClock(now).Now,
				Generators: map[string]sim.Generator{"events/incident": gen}})
			held := w.tenant.Records(sim.Events, "incident")
			inLast := 0
			for _, r := range held {
				if r.Inserted == now.Unix()-1 {
					inLast++
				}
			}
			if inLast != c.perSecond {
				t.Fatalf("the last second holds %d records, want %d", inLast, c.perSecond)
			}
			cfg := w.config([]string{"incident"}, nil)
			store := state.NewMemory().Namespace("p")
			s1, _ := newSource(t, cfg, store)
			pub1 := plugintest.NewPublisher(plugintest.AckAsync)
			stop1 := runFor(t, fast(s1, 100), pub1)
			pub1.WaitUntil(t, 0, "every record to be published", func() bool { return len(pub1.Records()) >= len(held) })
			// Caught up: "pending" is saved before the next `next`, whose empty page is then
			// acknowledged.
			seen := len(w.requests(""))
			pub1.WaitUntil(t, 0, "the empty page after the backlog to be acknowledged", func() bool {
				return len(w.requests("")) > seen && savedPosition(t, store, "events/incident").State == stateAcked
			})
			if err := stop1(); err != nil {
				t.Fatal(err)
			}
			if n := len(pub1.Records()); n != len(held) {
				t.Fatalf("the first run published %d records, want the %d held", n, len(held))
			}
			pos := savedPosition(t, store, "events/incident")
			if pos.State != stateAcked || pos.HWM != now.Unix()-1 {
				t.Fatalf("saved %+v; want acked at %d", pos, now.Unix()-1)
			}

			before := len(w.requests(""))
			s2, _ := newSource(t, cfg, store)
			pub2 := plugintest.NewPublisher(plugintest.AckAsync)
			stop2 := runFor(t, fast(s2, 100), pub2)
			pub2.WaitUntil(t, 0, "resend, the seed and a next", func() bool { return len(w.requests("")) >= before+3 })
			pub2.WaitUntil(t, 0, "every page to be acknowledged", func() bool { return len(pub2.Pending()) == 0 })
			_ = stop2()
			rs := w.requests("")[before:]
			if rs[0].op != opResend || rs[1].op != opEpoch(pos.HWM) {
				t.Fatalf("requests after the restart: %v; want resend then %s", rs, opEpoch(pos.HWM))
			}
			if n := len(pub2.Records()); n != 0 {
				t.Errorf("the restart published %d records again (the last second holds %d); want none", n, inLast)
			}
		})
	}
}

// elems makes page elements of raw records.
func elems(raws ...string) []elem {
	out := make([]elem, len(raws))
	for i, r := range raws {
		out[i] = elem{raw: []byte(r), pos: i}
	}
	return out
}

func recs(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf(`{"n":"%s%d"}`, prefix, i))
	}
	return out
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// skipDelivered counts, by their bytes alone, the records at the start of a page that end the
// sequence delivered; on a doubt it counts fewer (a duplicate), never a record not delivered.
func TestSkipDelivered(t *testing.T) {
	a, b, c := `{"a":1}`, `{"b":1}`, `{"c":1}`
	for _, tc := range []struct {
		name      string
		delivered []string // in the order served, across pages
		page      []string
		want      int
	}{
		{"nothing delivered", nil, []string{a, b}, 0},
		{"an empty page", []string{a}, nil, 0},
		{"the last record", []string{c, a}, []string{a, b}, 1},
		{"the last three", []string{c, a, b, c}, []string{a, b, c, a}, 3},
		{"all of the page", []string{a, b}, []string{a, b}, 2},
		{"none: the page starts elsewhere", []string{a, b}, []string{c, b}, 0},
		{"none: the delivered records come back in another order", []string{a, b}, []string{c, a, b}, 0},
		{"a duplicate inside the second", []string{c, a, b, a}, []string{a, b, a, c}, 3},
		{"a re-emitted duplicate after it is not taken", []string{c, b}, []string{b, c, b}, 1},
		{"a second longer than the tail", recs("r", 0, 100), concat(recs("r", 60, 100), recs("n", 0, 5)), 40},
		{"a second longer than the tail, its start in an earlier page", recs("r", 0, 100), concat(recs("r", 20, 100), recs("n", 0, 5)), 80},
		{"a tail found nowhere", recs("r", 0, 100), recs("n", 0, 50), 0},
		{"a second longer than the page", recs("r", 0, 100), recs("r", 10, 60), 0},
		// A short tail (few records delivered since the seed) is never searched for inside
		// the page: one record byte for byte identical further on is not taken for it.
		{"a short tail is looked for at the start only", []string{a}, []string{b, a, c}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tail := extendTail(nil, elems(tc.delivered...))
			if got := skipDelivered(elems(tc.page...), tail); got != tc.want {
				t.Errorf("skipDelivered = %d, want %d", got, tc.want)
			}
		})
	}
}

// The tail keeps the last tailLen records delivered, across pages, and is saved and read back
// exactly; a tail saved by an earlier version ("<second>:<count>:<crc>") is read as one and
// recognises its records by their bytes, with or without _insertion_epoch_timestamp.
func TestTailAcrossPagesAndSaved(t *testing.T) {
	all := recs("r", 0, 50)
	var tail []uint64
	for i := 0; i < len(all); i += 7 {
		tail = extendTail(tail, elems(all[i:min(i+7, len(all))]...))
	}
	if want := extendTail(nil, elems(all...)); fmt.Sprint(tail) != fmt.Sprint(want) || len(tail) != tailLen {
		t.Fatalf("tail over pages of 7 = %x, want %x", tail, want)
	}
	back, legacy := decodeTail(encodeTail(tail))
	if fmt.Sprint(back) != fmt.Sprint(tail) || legacy.n != 0 {
		t.Fatalf("decode(encode(tail)) = %x %+v, want %x", back, legacy, tail)
	}
	for _, bad := range []string{"", "xyz", strings.Repeat("0", 15), strings.Repeat("g", 16), strings.Repeat("0", 16*(tailLen+1)), "1:x:2"} {
		if tl, l := decodeTail(bad); len(tl) != 0 || l.n != 0 {
			t.Errorf("decodeTail(%q) = %x %+v, want no tail", bad, tl, l)
		}
	}

	// An earlier version's tail: the last two records of its page, in second 1700000005.
	r1, r2 := `{"_id":"x1","timestamp":1700000005}`, `{"_id":"x2"}`
	old := legacyTail{sec: 1700000005, n: 2, crc: legacyCRC(r1, r2)}
	_, legacy = decodeTail(old.String())
	if legacy != old {
		t.Fatalf("decodeTail(%q) = %+v, want %+v", old.String(), legacy, old)
	}
	if n := legacy.skip(elems(r1, r2, `{"_id":"x3"}`)); n != 2 {
		t.Errorf("the legacy tail skipped %d records, want 2", n)
	}
	if n := legacy.skip(elems(r2, r1)); n != 0 {
		t.Errorf("the legacy tail skipped %d records of another page, want 0", n)
	}
}

func legacyCRC(raws ...string) uint64 {
	var b []byte
	for _, r := range raws {
		b = append(append(b, r...), '\n')
	}
	return recordSum(b)
}

// BenchmarkExtendTail is what an acknowledged page adds to BenchmarkParsePage: the tail of a
// page of 10,000 records of about 1 kB.
func BenchmarkExtendTail(b *testing.B) {
	a, err := parseAnswer(benchPage(10000))
	if err != nil {
		b.Fatal(err)
	}
	tail := extendTail(nil, a.elems[:10])
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeTail(extendTail(tail, a.elems))
	}
}
