package lake

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// seed ingests 6 events on two channels: sources a/b, eventTime hour 0..5 of 2024-01-01.
func seedQuery(t *testing.T) *Service {
	t.Helper()
	const second = "arn:aws:cloudtrail:us-east-1:" + testAccount + ":channel/second"
	s := New(Options{Channels: []Channel{{ARN: testChanARN, Name: "first"}, {ARN: second, Name: "other"}}})
	h := withCaller(s.DataHandler(), testCaller)
	for i := 0; i < 6; i++ {
		m := baseEvent()
		m["eventSource"] = []string{"src.a", "src.b"}[i%2]
		m["eventTime"] = fmt.Sprintf("2024-01-01T%02d:00:00Z", i)
		ch := testChanARN
		if i >= 4 {
			ch = second
		}
		res := doPut(t, h, chanQuery(ch), bodyOf(t, []inEvent{ev(fmt.Sprintf("e%d", i), eventJSON(t, m))}))
		if len(res.resp.Successful) != 1 {
			t.Fatalf("%s", res.body)
		}
	}
	return s
}

func idsOf(evs []StoredEvent) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return strings.Join(out, ",")
}

func TestQuery(t *testing.T) {
	s := seedQuery(t)
	hour := func(h int) time.Time { return time.Date(2024, 1, 1, h, 0, 0, 0, time.UTC) }
	tests := []struct {
		name   string
		filter Filter
		want   string
	}{
		{"all", Filter{}, "e0,e1,e2,e3,e4,e5"},
		{"channel by ARN", Filter{Channel: testChanARN}, "e0,e1,e2,e3"},
		{"channel by id", Filter{Channel: "second"}, "e4,e5"},
		{"channel by name", Filter{Channel: "first"}, "e0,e1,e2,e3"},
		{"unknown channel", Filter{Channel: "nope"}, ""},
		{"eventSource", Filter{EventSource: "src.b"}, "e1,e3,e5"},
		{"id", Filter{ID: "e2"}, "e2"},
		{"from inclusive", Filter{From: hour(3)}, "e3,e4,e5"},
		{"to exclusive", Filter{To: hour(2)}, "e0,e1"},
		{"range", Filter{From: hour(1), To: hour(4)}, "e1,e2,e3"},
		{"limit", Filter{Limit: 2}, "e0,e1"},
		{"combined", Filter{Channel: testChanARN, EventSource: "src.a", From: hour(1), Limit: 5}, "e2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := idsOf(s.Query(tc.filter)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Query returns copies.
	got := s.Query(Filter{Limit: 1})
	got[0].ID = "changed"
	if s.Query(Filter{Limit: 1})[0].ID != "e0" {
		t.Error("Query exposed internal state")
	}
}

func get(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestQueryHandlerEvents(t *testing.T) {
	s := seedQuery(t)
	h := s.QueryHandler()
	tests := []struct {
		target string
		status int
		want   string
	}{
		{"/lake/events", 200, "e0,e1,e2,e3,e4,e5"},
		{"/lake/events?channel=second&eventSource=src.a", 200, "e4"},
		{"/lake/events?from=2024-01-01T01:00:00Z&to=2024-01-01T03:00:00Z", 200, "e1,e2"},
		{"/lake/events?limit=3", 200, "e0,e1,e2"},
		{"/lake/events?id=e5", 200, "e5"},
		{"/lake/events?from=yesterday", 400, ""},
		{"/lake/events?to=2024-01-01", 400, ""},
		{"/lake/events?limit=-1", 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, tc.target, "")
			if rec.Code != tc.status {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			if tc.status != 200 {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/x-ndjson" {
				t.Errorf("Content-Type %q", ct)
			}
			var got []StoredEvent
			sc := bufio.NewScanner(rec.Body)
			for sc.Scan() {
				var e StoredEvent
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				var data map[string]any
				if err := json.Unmarshal(e.EventData, &data); err != nil || data["eventSource"] != e.EventSource {
					t.Errorf("eventData %s: %v", e.EventData, err)
				}
				got = append(got, e)
			}
			if ids := idsOf(got); ids != tc.want {
				t.Errorf("got %q, want %q", ids, tc.want)
			}
		})
	}
}

func TestQueryHandlerStatsConfigReset(t *testing.T) {
	s := seedQuery(t)
	put(t, s, ev("e0", validEventData(t)), ev("bad", "{}")) // one duplicate, one failure
	h := s.QueryHandler()

	rec := get(t, h, http.MethodGet, "/lake/stats", "")
	var st Stats
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Total != 6 || st.Duplicates != 1 || st.ByEventSource["src.a"] != 3 || st.ByEventSource["src.b"] != 3 ||
		st.Failed[CodeFieldNotFound] != 1 || st.Calls != 7 || st.ByChannel[testChanARN] != 4 {
		t.Errorf("stats %s", rec.Body.String())
	}

	rec = get(t, h, http.MethodGet, "/lake/config", "")
	if !strings.Contains(rec.Body.String(), `"duplicateMode": "dedupe"`) {
		t.Errorf("config %s", rec.Body.String())
	}
	rec = get(t, h, http.MethodPut, "/lake/config", `{"duplicateMode":"reject","faults":{"eventThrottleRate":0.5}}`)
	if rec.Code != 200 || s.DuplicateMode() != DuplicateReject || s.Faults().EventThrottleRate != 0.5 {
		t.Errorf("%d %s", rec.Code, rec.Body.String())
	}
	rec = get(t, h, http.MethodPut, "/lake/config", `{"faults":{"callThrottleRate":0.25}}`)
	if rec.Code != 200 || s.DuplicateMode() != DuplicateReject || s.Faults() != (Faults{CallThrottleRate: 0.25}) {
		t.Errorf("partial update: %d %s", rec.Code, rec.Body.String())
	}
	for _, bad := range []string{`{"duplicateMode":"maybe"}`, `{"faults":{"eventThrottleRate":2}}`, `{"nope":1}`, `{`, `{"faults":{"latency":-1}}`} {
		if rec := get(t, h, http.MethodPut, "/lake/config", bad); rec.Code != 400 {
			t.Errorf("%s: %d", bad, rec.Code)
		}
	}

	if rec := get(t, h, http.MethodPost, "/lake/reset", ""); rec.Code != 204 {
		t.Errorf("reset %d", rec.Code)
	}
	if st := s.Stats(); st.Total != 0 || len(s.Query(Filter{})) != 0 {
		t.Errorf("after reset %+v", st)
	}
	if rec := get(t, h, http.MethodGet, "/lake/nothing", ""); rec.Code != 404 {
		t.Errorf("unknown path %d", rec.Code)
	}
}
