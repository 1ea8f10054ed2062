package httpdest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// Whatever a record holds, an encoded record is one line, and in HEC mode a valid JSON object
// whose event is the record, when the record is a JSON object.
func FuzzEncodeRecord(f *testing.F) {
	for _, r := range testRecords(f) {
		f.Add(r.Raw, "host-1", int64(1709296245678))
	}
	f.Add([]byte("{\n\"a\":\n1}\n"), "", int64(0))
	f.Add([]byte("not json"), "h\"\n", int64(-5))
	f.Add([]byte(`{"u":"\u2028"}`), "\xff", int64(1))
	hec := newEncoder(&Config{Mode: ModeSplunkHEC, Host: "d", Source: "s", Sourcetype: "st", Index: "i", Fields: map[string]string{"k": "v"}})
	nd := newEncoder(&Config{Mode: ModeHTTP, Format: FormatNDJSON})
	f.Fuzz(func(t *testing.T, raw []byte, host string, ms int64) {
		rec := &event.Record{Raw: raw, Meta: map[string]string{event.MetaLogSourceID: host}}
		if ms != 0 {
			rec.Time = time.UnixMilli(ms)
		}
		line, err := nd.appendRecord(nil, rec)
		if err != nil {
			if json.Valid(raw) && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
				t.Fatalf("a JSON object was refused: %q", raw)
			}
			return
		}
		if i := bytes.IndexByte(line, '\n'); i != len(line)-1 || bytes.IndexByte(line, '\r') >= 0 {
			t.Fatalf("NDJSON line %q is not one line", line)
		}
		ev, err := hec.appendRecord(nil, rec)
		if err != nil {
			t.Fatalf("HEC refused what NDJSON took: %v", err)
		}
		if !json.Valid(raw) {
			return // sent as is; the receiver refuses it
		}
		var got struct {
			Event json.RawMessage `json:"event"`
			Host  string          `json:"host"`
		}
		if err := json.Unmarshal(ev, &got); err != nil {
			t.Fatalf("HEC event %s is not JSON: %v", ev, err)
		}
		if !json.Valid(got.Event) || (bytes.Equal(raw, bytes.TrimSpace(raw)) && !bytes.ContainsAny(raw, "\r\n") && !bytes.Equal(got.Event, raw)) {
			t.Fatalf("event %s is not the record %s", got.Event, raw)
		}
	})
}

// Any answer is classified without a panic, and only a success status is delivered.
func FuzzClassify(f *testing.F) {
	f.Add(true, 200, []byte(`{"text":"Success","code":0}`), "")
	f.Add(true, 400, []byte(`{"text":"Invalid data format","code":6,"invalid-event-number":3}`), "")
	f.Add(true, 503, []byte(`{"text":"Server is busy","code":9}`), "Fri, 02 Jan 2026 03:04:35 GMT")
	f.Add(false, 429, []byte("slow down"), "12")
	f.Add(false, 301, []byte(""), "")
	f.Fuzz(func(t *testing.T, hec bool, status int, body []byte, ra string) {
		c := classifier{hec: hec, url: "https://x"}
		h := http.Header{}
		h.Set("Retry-After", ra)
		err := c.classify(status, h, body, time.Unix(1767322000, 0))
		if err == nil && (status < 200 || status > 299) {
			t.Fatalf("status %d delivered", status)
		}
		if d := retryAfter(h, time.Unix(1767322000, 0)); d < 0 || d > maxRetryAfter {
			t.Fatalf("retry after %s", d)
		}
	})
}
