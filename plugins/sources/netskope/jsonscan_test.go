package netskope

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseAnswer(t *testing.T) {
	body := `{"ok":1,"result":[{"_id":"a1","timestamp":1700000000,"alert_type":"DLP","transaction_id":9007199254740993123},` +
		`42, "text" , [1,2],{"_id":"b2","timestamp":"2024-05-01 10:00:00","nested":{"event_type":"x"}},` +
		`{"_id": broken, "x":[1,{"y":"}"}]},{},{"_id":7,"event_type":"old"}],"wait_time":3,"timestamp_hwm":1700000099}`
	a, err := parseAnswer([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !a.ok || !a.hasOK || a.waitTime != 3 || a.hwm != 1700000099 || !a.hasHWM {
		t.Fatalf("envelope: %+v", a)
	}
	if !strings.HasPrefix(string(a.result), `[{"_id":"a1"`) || !strings.HasSuffix(string(a.result), `"old"}]`) {
		t.Errorf("result span %q", a.result)
	}
	type want struct {
		raw     string
		valid   bool
		id      string
		hasEv   bool
		empty   bool
		tsBytes string
	}
	wants := []want{
		{raw: `{"_id":"a1","timestamp":1700000000,"alert_type":"DLP","transaction_id":9007199254740993123}`, valid: true, id: "a1", tsBytes: "1700000000"},
		{raw: `42`},
		{raw: `"text"`},
		{raw: `[1,2]`},
		{raw: `{"_id":"b2","timestamp":"2024-05-01 10:00:00","nested":{"event_type":"x"}}`, valid: true, id: "b2", tsBytes: `"2024-05-01 10:00:00"`},
		{raw: `{"_id": broken, "x":[1,{"y":"}"}]}`},
		{raw: `{}`, valid: true, empty: true},
		{raw: `{"_id":7,"event_type":"old"}`, valid: true, id: "7", hasEv: true},
	}
	if len(a.elems) != len(wants) {
		t.Fatalf("%d elements, want %d: %+v", len(a.elems), len(wants), a.elems)
	}
	for i, w := range wants {
		e := a.elems[i]
		if string(e.raw) != w.raw {
			t.Errorf("elem %d raw %q, want %q", i, e.raw, w.raw)
		}
		if (e.err == nil) != w.valid {
			t.Errorf("elem %d err %v, want valid=%v", i, e.err, w.valid)
		}
		if !w.valid {
			continue
		}
		if e.rec.id != w.id || e.rec.hasEventType != w.hasEv || e.rec.empty != w.empty || string(e.rec.timestamp) != w.tsBytes {
			t.Errorf("elem %d fields %+v, want %+v", i, e.rec, w)
		}
		if w.hasEv && string(e.raw[e.rec.evStart:e.rec.evEnd]) != `"old"` {
			t.Errorf("elem %d event_type span %q", i, e.raw[e.rec.evStart:e.rec.evEnd])
		}
	}
}

func TestParseAnswerErrors(t *testing.T) {
	for _, body := range []string{
		``,
		`<html>502</html>`,
		`{"ok":1,"result":[{"_id":"a"}`, // cut
		`{"ok":1,"result":[{"_id":"a"},`,
		`{"ok":1,"result":[{"_id":"a"}]`,
		`{"ok":1,"result":[{"_id":"a"}]} trailing`,
		`{"ok":1,"result":["unterminated]}`,
	} {
		if a, err := parseAnswer([]byte(body)); err == nil {
			t.Errorf("parseAnswer(%q) = %+v, want an error", body, a)
		}
	}
	a, err := parseAnswer([]byte(`{"ok":0,"error":"Internal error, please retry"}`))
	if err != nil || a.ok || !a.hasOK || a.errMsg != "Internal error, please retry" {
		t.Errorf("ok 0: %+v %v", a, err)
	}
}

// FuzzParseAnswer checks that every record parseAnswer accepts is valid JSON (an object), that
// it never panics, and that the records are the array's elements.
func FuzzParseAnswer(f *testing.F) {
	f.Add(`{"ok":1,"result":[{"_id":"a","timestamp":1},{"_id":"b","event_type":"x"}],"wait_time":0,"timestamp_hwm":5}`)
	f.Add(`{"ok":1,"result":[1,{"a":}, {"b":[}],"timestamp_hwm":5}`)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAnswer([]byte(s))
		if err != nil {
			return
		}
		// Events spliced in the body itself are the bytes of the copies.
		for _, room := range []int{0, 64, len(s) * 24} {
			got, want, inv1, inv2, _ := buildBoth(t, endpoint{"events", "audit"}, 0, s, room)
			if len(got) != len(want) || len(inv1) != len(inv2) {
				t.Fatalf("room %d: %d records, %d invalid; copies: %d, %d", room, len(got), len(inv1), len(want), len(inv2))
			}
			for i := range got {
				if !bytes.Equal(got[i].Raw, want[i].Raw) {
					t.Fatalf("room %d: record %d spliced in place is %q, copied %q", room, i, got[i].Raw, want[i].Raw)
				}
			}
			// And their spans list the members a walk lists.
			checkSpans(t, got)
			checkSpans(t, want)
			for i := range inv1 {
				if !bytes.Equal(inv1[i].raw, inv2[i].raw) {
					t.Fatalf("room %d: invalid element %d is %q, want %q", room, i, inv1[i].raw, inv2[i].raw)
				}
			}
		}
		for _, e := range a.elems {
			if e.err != nil {
				continue
			}
			if !json.Valid(e.raw) || e.raw[0] != '{' {
				t.Fatalf("accepted record %q is not a JSON object", e.raw)
			}
			if e.rec.hasEventType {
				out := spliceEventType(nil, e.raw, &e.rec, `"event_type":"audit"`, "audit")
				if !json.Valid(out) {
					t.Fatalf("splice of %q gave invalid %q", e.raw, out)
				}
			}
			out := spliceEventType(nil, e.raw, &e.rec, `"event_type":"audit"`, "audit")
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil || m["event_type"] != "audit" {
				t.Fatalf("splice of %q gave %q (%v)", e.raw, out, err)
			}
		}
	})
}

func TestSpliceEventType(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"_id":"a","n":1}`, `{"event_type":"audit","_id":"a","n":1}`},
		{`{ "_id":"a" }`, `{"event_type":"audit", "_id":"a" }`},
		{`{}`, `{"event_type":"audit"}`},
		{`{ }`, `{"event_type":"audit"}`},
		{`{"_id":"a","event_type":"x","n":2}`, `{"_id":"a","event_type":"audit","n":2}`},
		{`{"_id":"a","event_type":{"deep":[1]}}`, `{"_id":"a","event_type":"audit"}`},
		{`{"_id":"a","sub":{"event_type":"x"}}`, `{"event_type":"audit","_id":"a","sub":{"event_type":"x"}}`},
		{`{"_id":"a","transaction_id":9007199254740993123}`, `{"event_type":"audit","_id":"a","transaction_id":9007199254740993123}`},
	} {
		a, err := parseAnswer([]byte(`{"ok":1,"result":[` + c.in + `]}`))
		if err != nil || len(a.elems) != 1 || a.elems[0].err != nil {
			t.Fatalf("%s: %v %+v", c.in, err, a)
		}
		e := a.elems[0]
		if got := string(spliceEventType(nil, e.raw, &e.rec, `"event_type":"audit"`, "audit")); got != c.want {
			t.Errorf("splice(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestRecordTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		`1700000000`:             time.Unix(1700000000, 0).UTC(),
		`1700000000.75`:          time.Unix(1700000000, 0).UTC(),
		`"1700000000"`:           time.Unix(1700000000, 0).UTC(),
		`"2024-05-01 10:00:00"`:  time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		`"2024-05-01T10:00:00Z"`: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		`"soon"`:                 {},
		`null`:                   {},
		``:                       {},
	} {
		if got := recordTime([]byte(in)); !got.Equal(want) {
			t.Errorf("recordTime(%s) = %v, want %v", in, got, want)
		}
	}
}

// benchPage is a page of n copies of a DLP alert of about 1 kB: the pages both page
// benchmarks measure.
func benchPage(n int) []byte {
	rec := `{"_id":"f0e1d2c3b4a5968778695a4b","timestamp":1700000000,"_insertion_epoch_timestamp":1700000001,` +
		`"type":"nspolicy","alert_type":"DLP","user":"alice@example.com","app":"Box","url":"https://app.box.com/files/0/f/123",` +
		`"transaction_id":9007199254740993123,"app_session_id":4611686018427387904,"srcip":"10.1.2.3","dstip":"52.1.2.3",` +
		`"dlp_profile":"PCI","dlp_rule":"credit cards","dlp_match_info":[{"count":3,"name":"cc"}],"policy":"Block uploads",` +
		`"action":"block","activity":"Upload","object":"report.xlsx","file_size":123456,"md5":"d41d8cd98f00b204e9800998ecf8427e",` +
		`"browser":"Chrome","os":"Windows 11","device":"Windows Device","site":"Box","category":"Cloud Storage","ccl":"high",` +
		`"organization_unit":"Sales","hostname":"LAPTOP-1","supporting_data":{"data_type":"incidents","data_values":["a","b"]}}`
	return []byte(`{"ok":1,"result":[` + strings.TrimSuffix(strings.Repeat(rec+",", n), ",") + `],"wait_time":0,"timestamp_hwm":1700000001}`)
}

func BenchmarkParsePage(b *testing.B) {
	n := 10000
	body := benchPage(n)
	bld := &builder{ep: endpoint{"events", "page"}, source: "src"}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		a, err := parseAnswer(body)
		if err != nil {
			b.Fatal(err)
		}
		recs, _, _ := bld.build(a)
		if len(recs) != n {
			b.Fatal(len(recs))
		}
		_ = fingerprint(a)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// A page is recognised on a resend by its fingerprint, and so is a page whose fingerprint an
// earlier version saved (CRC-64, without the prefix); another page is not.
func TestSamePageReadsBothFingerprints(t *testing.T) {
	page := &answer{elems: []elem{{raw: []byte(`{"_id":"a"}`)}, {raw: []byte(`{"_id":"b"}`)}}, result: []byte(`[{"_id":"a"},{"_id":"b"}]`), hwm: 1700000000}
	other := &answer{elems: page.elems, result: []byte(`[{"_id":"a"},{"_id":"c"}]`), hwm: 1700000000}
	for _, tc := range []struct {
		name  string
		saved string
		a     *answer
		want  bool
	}{
		{"this version's", fingerprint(page), page, true},
		{"an earlier version's", fingerprintV1(page), page, true},
		{"another page, this version's", fingerprint(page), other, false},
		{"another page, an earlier version's", fingerprintV1(page), other, false},
		{"nothing saved", "", page, false},
		{"an empty page", fingerprint(page), &answer{}, false},
	} {
		if got := samePage(tc.a, tc.saved); got != tc.want {
			t.Errorf("%s: samePage = %v; want %v", tc.name, got, tc.want)
		}
	}
	if !strings.HasPrefix(fingerprint(page), fingerprintPrefix) || strings.HasPrefix(fingerprintV1(page), fingerprintPrefix) {
		t.Errorf("fingerprints %q and %q: only this version's has the prefix", fingerprint(page), fingerprintV1(page))
	}
}
