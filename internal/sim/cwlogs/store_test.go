package cwlogs

import (
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"unicode/utf8"
)

func TestEventIDLayout(t *testing.T) {
	// A real CloudTrail event id from a CloudWatch Logs subscription (the shared test data's
	// cloudwatch-envelopes/valid_cloudwatch_log.json): its top bits are the timestamp.
	real, _ := new(big.Int).SetString("31953106606966983378809025079804211143289615424298221568", 10)
	const ts = 1432826855000
	if new(big.Int).Rsh(real, 144).Int64() != ts {
		t.Fatal("the real id's layout is not timestamp<<144")
	}
	tests := []key{{ts, 1}, {ts, 1 << 40}, {1, 1}, {maxTimestamp, 1<<64 - 1}, {1767225600000, 123456789}}
	for _, k := range tests {
		id := eventID(k)
		want := new(big.Int).Lsh(big.NewInt(k.ts), 144)
		want.Or(want, new(big.Int).SetUint64(k.seq))
		if id != want.String() {
			t.Errorf("eventID(%v) = %s, want %s", k, id, want)
		}
		hi, mid, lo, ok := parseDecimal192(id)
		if !ok || int64(hi>>16) != k.ts || mid != 0 || lo != k.seq {
			t.Errorf("parseDecimal192(%s) = %d %d %d %v", id, hi, mid, lo, ok)
		}
	}
	if id := eventID(key{ts, 7}); len(id) != 56 {
		t.Errorf("id %s has %d digits", id, len(id))
	}
	for _, bad := range []string{"", "12a", "-1", "99999999999999999999999999999999999999999999999999999999999"} {
		if _, _, _, ok := parseDecimal192(bad); ok {
			t.Errorf("parseDecimal192(%q) ok", bad)
		}
	}
	if got := string(appendDecimal192(nil, 0, 0, 42, 56)); len(got) != 56 || got[54:] != "42" {
		t.Errorf("padded: %s", got)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `{"a":"b\\c"}`, "tab\tnew\nline\r\x00\x1f\x7f", "ünïcödé ✓ \u2028", `"`} {
		var back string
		if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil || back != s {
			t.Errorf("%q: %q, %v", s, back, err)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("x\"y\\z\n")
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		var back string
		if err := json.Unmarshal(appendJSONString(nil, s), &back); err != nil || back != s {
			t.Fatalf("%q: %q, %v", s, back, err)
		}
	})
}

// TestStreamInsertOutOfOrder inserts enough events in random order to split chunks, and checks
// the order, the counts and seeks.
func TestStreamInsertOutOfOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	st := &stream{}
	var all []event
	seq := uint64(0)
	for batch := range 40 {
		n := 1 + r.IntN(2000)
		evs := make([]event, n)
		for i := range evs {
			seq++
			ts := int64(r.IntN(100_000))
			if batch%3 == 0 {
				ts += 100_000 + int64(batch)*1000 // some batches append at the end
			}
			evs[i] = event{ts: ts, seq: seq, msg: "m"}
		}
		sortEvents(evs)
		st.insert(evs)
		all = append(all, evs...)
	}
	sortEvents(all)
	var got []event
	for p := st.lowerBound(key{}); st.valid(p); p = st.next(p) {
		got = append(got, *st.at(p))
	}
	if !slices.Equal(got, all) || st.count != len(all) {
		t.Fatalf("stream holds %d events (count %d), want %d in order", len(got), st.count, len(all))
	}
	if len(st.chunks) < 2 {
		t.Fatal("no chunk split happened")
	}
	for _, c := range st.chunks {
		if len(c) == 0 || len(c) > 2*chunkSize {
			t.Fatalf("chunk of %d events", len(c))
		}
	}
	if st.firstTs != all[0].ts || st.lastTs != all[len(all)-1].ts {
		t.Fatalf("first/last %d %d", st.firstTs, st.lastTs)
	}
	for range 200 {
		k := key{int64(r.IntN(200_000)), uint64(r.IntN(int(seq)))}
		p := st.lowerBound(k)
		i, _ := slices.BinarySearchFunc(all, k, func(e event, k key) int {
			if e.key().less(k) {
				return -1
			}
			if k.less(e.key()) {
				return 1
			}
			return 0
		})
		if i == len(all) {
			if st.valid(p) {
				t.Fatalf("lowerBound(%v) valid past the end", k)
			}
			continue
		}
		if !st.valid(p) || *st.at(p) != all[i] {
			t.Fatalf("lowerBound(%v) wrong", k)
		}
		if i > 0 {
			if q := st.prev(p); !st.valid(q) || *st.at(q) != all[i-1] {
				t.Fatalf("prev of lowerBound(%v) wrong", k)
			}
		}
	}
}
