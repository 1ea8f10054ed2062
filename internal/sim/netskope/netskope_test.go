package netskope

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

const testToken = "tok-all"

// harness is a tenant behind a real HTTP server, with a manual clock.
type harness struct {
	t      *testing.T
	tenant *Tenant
	clock  *ManualClock
	srv    *httptest.Server
	client *http.Client
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	clock := NewManualClock(t0)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = -1 // most tests call faster than 4/s on a frozen clock
	}
	if opts.Tokens == nil {
		opts.Tokens = []Token{{Value: testToken}}
	}
	tn := New(opts)
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	return &harness{t: t, tenant: tn, clock: clock, srv: srv, client: srv.Client()}
}

type answer struct {
	status int
	header http.Header
	body   []byte
	page   pageJSON
}

type pageJSON struct {
	OK       int               `json:"ok"`
	Result   []json.RawMessage `json:"result"`
	WaitTime int               `json:"wait_time"`
	HWM      int64             `json:"timestamp_hwm"`
	Error    string            `json:"error"`
}

func (h *harness) call(token string, ep Endpoint, index, op string) answer {
	h.t.Helper()
	u := h.srv.URL + ep.Path() + "?" + url.Values{"index": {index}, "operation": {op}}.Encode()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set(TokenHeader, token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read %s: %v", u, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: body}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &a.page); err != nil {
			h.t.Fatalf("decode page: %v: %.200s", err, body)
		}
	}
	return a
}

func (h *harness) page(ep Endpoint, index, op string) answer {
	h.t.Helper()
	a := h.call(testToken, ep, index, op)
	if a.status != http.StatusOK || a.page.OK != 1 {
		h.t.Fatalf("%s %s %s: status %d body %.300s", ep, index, op, a.status, a.body)
	}
	return a
}

type head struct {
	ID        string `json:"_id"`
	Timestamp int64  `json:"timestamp"`
	Insertion int64  `json:"_insertion_epoch_timestamp"`
}

func ids(t *testing.T, recs []json.RawMessage) []string {
	t.Helper()
	out := make([]string, len(recs))
	for i, r := range recs {
		if id, ok := fastID(r); ok {
			out[i] = id
			continue
		}
		var h struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal(r, &h); err != nil {
			t.Fatal(err)
		}
		out[i] = h.ID
	}
	return out
}

// fastID reads the _id of a generated record, which always comes first;
// decoding thousands of records under the race detector is slow.
func fastID(r []byte) (string, bool) {
	const p = `{"_id":"`
	if !bytes.HasPrefix(r, []byte(p)) || len(r) < len(p)+25 || r[len(p)+24] != '"' {
		return "", false
	}
	return string(r[len(p) : len(p)+24]), true
}

func recordIDs(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

var (
	pageEP = Endpoint{Events, "page"}
	dlpEP  = Endpoint{Alerts, "dlp"}
)

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOperations(t *testing.T) {
	backlog := map[string]Generator{"*": {Backlog: 30, BacklogSpan: 30 * time.Minute}}
	tests := []struct {
		name string
		opts Options
		run  func(t *testing.T, h *harness, all []string)
	}{
		{"head serves the oldest page then next continues", Options{PageSize: 10}, func(t *testing.T, h *harness, all []string) {
			a := h.page(pageEP, "c1", "head")
			if got := ids(t, a.page.Result); !equalStrings(got, all[:10]) {
				t.Fatalf("head = %v, want %v", got, all[:10])
			}
			b := h.page(pageEP, "c1", "next")
			if got := ids(t, b.page.Result); !equalStrings(got, all[10:20]) {
				t.Fatalf("next = %v, want %v", got, all[10:20])
			}
		}},
		{"epoch starts at that second", Options{}, func(t *testing.T, h *harness, all []string) {
			recs := h.tenant.Records(Events, "page")
			from := recs[12].Inserted
			a := h.page(pageEP, "c1", fmt.Sprint(from))
			got := ids(t, a.page.Result)
			first := 0
			for first < len(recs) && recs[first].Inserted < from {
				first++
			}
			if !equalStrings(got, all[first:]) {
				t.Fatalf("epoch page = %v, want %v", got, all[first:])
			}
			if first == 0 {
				t.Fatal("epoch should skip earlier records")
			}
		}},
		{"tail answers empty and serves only newer records", Options{}, func(t *testing.T, h *harness, all []string) {
			a := h.page(pageEP, "c1", "tail")
			if len(a.page.Result) != 0 {
				t.Fatalf("tail returned %d records", len(a.page.Result))
			}
			if a.page.HWM != t0.Unix() {
				t.Fatalf("tail hwm = %d, want now %d", a.page.HWM, t0.Unix())
			}
			h.clock.Advance(3 * time.Second)
			if err := h.tenant.Generate(Events, "page", 5); err != nil {
				t.Fatal(err)
			}
			b := h.page(pageEP, "c1", "next")
			recs := h.tenant.Records(Events, "page")
			if got, want := ids(t, b.page.Result), recordIDs(recs[len(recs)-5:]); !equalStrings(got, want) {
				t.Fatalf("after tail = %v, want %v", got, want)
			}
		}},
		{"resend returns identical bytes and leaves the index", Options{PageSize: 7}, func(t *testing.T, h *harness, all []string) {
			h.page(pageEP, "c1", "head")
			b := h.page(pageEP, "c1", "next")
			r1 := h.page(pageEP, "c1", "resend")
			r2 := h.page(pageEP, "c1", "resend")
			if !bytes.Equal(b.body, r1.body) || !bytes.Equal(r1.body, r2.body) {
				t.Fatalf("resend differs:\n%.200s\n%.200s", b.body, r1.body)
			}
			c := h.page(pageEP, "c1", "next")
			if got := ids(t, c.page.Result); !equalStrings(got, all[14:21]) {
				t.Fatalf("next after resend = %v, want %v", got, all[14:21])
			}
		}},
		{"resend on an unknown index is an empty page", Options{}, func(t *testing.T, h *harness, all []string) {
			a := h.page(pageEP, "never", "resend")
			if len(a.page.Result) != 0 {
				t.Fatalf("got %d records", len(a.page.Result))
			}
			if st := h.tenant.Stats().Endpoints["events/page"]; st.Indexes != 0 {
				t.Fatalf("resend created an index: %+v", st)
			}
		}},
		{"index names are independent", Options{PageSize: 10}, func(t *testing.T, h *harness, all []string) {
			h.page(pageEP, "a", "head")
			h.page(pageEP, "a", "next")
			b := h.page(pageEP, "b", "head")
			if got := ids(t, b.page.Result); !equalStrings(got, all[:10]) {
				t.Fatalf("index b = %v, want the first page", got)
			}
			a3 := h.page(pageEP, "a", "next")
			if got := ids(t, a3.page.Result); !equalStrings(got, all[20:30]) {
				t.Fatalf("index a = %v, want the third page", got)
			}
		}},
		{"endpoints are independent under one index name", Options{PageSize: 10}, func(t *testing.T, h *harness, all []string) {
			h.page(pageEP, "same", "head")
			h.page(pageEP, "same", "next")
			d := h.page(dlpEP, "same", "next") // unknown there: starts at the tail
			if len(d.page.Result) != 0 {
				t.Fatalf("dlp next on a new index returned %d records", len(d.page.Result))
			}
			d2 := h.page(dlpEP, "same", "head")
			want := recordIDs(h.tenant.Records(Alerts, "dlp"))[:10]
			if got := ids(t, d2.page.Result); !equalStrings(got, want) {
				t.Fatalf("dlp head = %v, want %v", got, want)
			}
			p3 := h.page(pageEP, "same", "next")
			if got := ids(t, p3.page.Result); !equalStrings(got, all[20:30]) {
				t.Fatalf("page index moved by dlp calls: %v", got)
			}
		}},
		{"next on a new index starts at the tail by default", Options{}, func(t *testing.T, h *harness, all []string) {
			a := h.page(pageEP, "fresh", "next")
			if len(a.page.Result) != 0 {
				t.Fatalf("got %d records", len(a.page.Result))
			}
		}},
		{"next on a new index can start at the head", Options{NewIndexStart: StartAtHead, PageSize: 10}, func(t *testing.T, h *harness, all []string) {
			a := h.page(pageEP, "fresh", "next")
			if got := ids(t, a.page.Result); !equalStrings(got, all[:10]) {
				t.Fatalf("got %v", got)
			}
		}},
		{"head again rewinds", Options{PageSize: 10}, func(t *testing.T, h *harness, all []string) {
			h.page(pageEP, "c", "head")
			h.page(pageEP, "c", "next")
			a := h.page(pageEP, "c", "head")
			if got := ids(t, a.page.Result); !equalStrings(got, all[:10]) {
				t.Fatalf("got %v", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Generators = backlog
			h := newHarness(t, tc.opts)
			all := recordIDs(h.tenant.Records(Events, "page"))
			if len(all) != 30 {
				t.Fatalf("backlog = %d", len(all))
			}
			tc.run(t, h, all)
		})
	}
}

func TestPagingWaitTimeAndHWM(t *testing.T) {
	// Infrastructure records are the smallest: 10,000-record pages stay
	// cheap under the race detector.
	infra := Endpoint{Events, "infrastructure"}
	h := newHarness(t, Options{Generators: map[string]Generator{"events/infrastructure": {Backlog: 25000, BacklogSpan: 50 * time.Minute}}})
	all := h.tenant.Records(Events, "infrastructure")
	var got []string
	var waits []int
	for i := 0; i < 4; i++ {
		op := "next"
		if i == 0 {
			op = "head"
		}
		a := h.page(infra, "p", op)
		if n := len(a.page.Result); n > maxPageSize {
			t.Fatalf("page of %d records", n)
		}
		got = append(got, ids(t, a.page.Result)...)
		waits = append(waits, a.page.WaitTime)
		if n := len(a.page.Result); n > 0 {
			var last head
			_ = json.Unmarshal(a.page.Result[n-1], &last)
			if a.page.HWM != last.Insertion {
				t.Fatalf("hwm %d, want last record's insertion time %d", a.page.HWM, last.Insertion)
			}
		}
		if i == 3 && a.page.HWM != all[len(all)-1].Inserted {
			t.Fatalf("empty page hwm = %d, want %d", a.page.HWM, all[len(all)-1].Inserted)
		}
	}
	if !equalStrings(got, recordIDs(all)) {
		t.Fatalf("pages hold %d records, want all %d in order", len(got), len(all))
	}
	want := []int{0, 0, waitFor(5000, maxPageSize, defaultWaitTime), defaultWaitTime}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("wait_time = %v, want %v", waits, want)
		}
	}
}

func TestPageLimits(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		gen   Generator
		sizes []int
	}{
		{"page size option", Options{PageSize: 400}, Generator{Backlog: 1000, BacklogSpan: time.Minute}, []int{400, 400, 200, 0}},
		{"page size capped at 10,000", Options{PageSize: 50000}, Generator{Backlog: 12000, BacklogSpan: time.Minute}, []int{10000, 2000, 0}},
		{"one hour batches", Options{}, Generator{Backlog: 300, BacklogSpan: 3 * time.Hour}, []int{100, 100, 100, 0}},
		{"no span limit", Options{PageSpan: -1}, Generator{Backlog: 300, BacklogSpan: 3 * time.Hour}, []int{300, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			infra := Endpoint{Events, "infrastructure"}
			tc.opts.Generators = map[string]Generator{infra.String(): tc.gen}
			h := newHarness(t, tc.opts)
			for i, want := range tc.sizes {
				op := "next"
				if i == 0 {
					op = "head"
				}
				a := h.page(infra, "x", op)
				if len(a.page.Result) != want {
					t.Fatalf("page %d has %d records, want %d", i, len(a.page.Result), want)
				}
				more := i+1 < len(tc.sizes) && tc.sizes[i+1] > 0
				if more && a.page.WaitTime != 0 {
					t.Fatalf("page %d: wait_time %d with more data ready", i, a.page.WaitTime)
				}
				if !more && a.page.WaitTime == 0 {
					t.Fatalf("page %d: wait_time 0 when caught up", i)
				}
			}
		})
	}
}

func TestContinuousGeneration(t *testing.T) {
	h := newHarness(t, Options{Generators: map[string]Generator{"alerts/*": {Rate: 10}}})
	a := h.page(dlpEP, "c", "head")
	if len(a.page.Result) != 0 {
		t.Fatalf("records before the clock moved: %d", len(a.page.Result))
	}
	h.clock.Advance(2 * time.Second)
	b := h.page(dlpEP, "c", "next")
	if len(b.page.Result) != 20 {
		t.Fatalf("after 2s at 10/s: %d records", len(b.page.Result))
	}
	if b.page.WaitTime == 0 {
		t.Fatal("caught up but wait_time 0")
	}
	h.clock.Advance(1500 * time.Millisecond)
	c := h.page(dlpEP, "c", "next")
	if len(c.page.Result) != 15 {
		t.Fatalf("after 1.5s more: %d records", len(c.page.Result))
	}
	if n := len(h.tenant.Records(Events, "page")); n != 0 {
		t.Fatalf("events/page generated %d without a generator", n)
	}
	if st := h.tenant.Stats().Endpoints["alerts/dlp"]; st.Generated != 35 || st.Served != 35 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, Options{RateLimit: 4, Tokens: []Token{{Value: "a"}, {Value: "b"}}})
	for i := 0; i < 4; i++ {
		a := h.call("a", pageEP, "i", "next")
		if a.status != http.StatusOK {
			t.Fatalf("call %d: %d", i, a.status)
		}
		if got := a.header.Get("RateLimit-Remaining"); got != fmt.Sprint(3-i) {
			t.Fatalf("call %d: RateLimit-Remaining %q", i, got)
		}
		if a.header.Get("RateLimit-Limit") != "4" || a.header.Get("RateLimit-Reset") != "1" {
			t.Fatalf("call %d headers %v", i, a.header)
		}
	}
	a := h.call("a", pageEP, "i", "next")
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("5th call: %d", a.status)
	}
	if a.header.Get("Retry-After") != "1" || a.header.Get("RateLimit-Remaining") != "0" || a.header.Get("RateLimit-Limit") != "4" {
		t.Fatalf("429 headers %v", a.header)
	}
	if string(a.body) != `{"message":"API rate limit exceeded"}` {
		t.Fatalf("429 body %s", a.body)
	}
	if h.call("a", dlpEP, "i", "next").status != http.StatusOK {
		t.Fatal("another endpoint shares the limit")
	}
	if h.call("b", pageEP, "i", "next").status != http.StatusOK {
		t.Fatal("another token shares the limit")
	}
	h.clock.Advance(time.Second)
	if st := h.call("a", pageEP, "i", "next").status; st != http.StatusOK {
		t.Fatalf("next second: %d", st)
	}
	if got := h.tenant.Stats().ByStatus[http.StatusTooManyRequests]; got != 1 {
		t.Fatalf("429 count %d", got)
	}
}

// TestRateLimitHeaderCasing reads the raw answer: the headers go out spelt
// as Netskope documents them.
func TestRateLimitHeaderCasing(t *testing.T) {
	h := newHarness(t, Options{RateLimit: 4})
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s?index=x&operation=next HTTP/1.1\r\nHost: x\r\n%s: %s\r\nConnection: close\r\n\r\n", pageEP.Path(), TokenHeader, testToken)
	raw, err := io.ReadAll(bufio.NewReader(conn))
	if err != nil {
		t.Fatal(err)
	}
	for _, hd := range []string{"\r\nRateLimit-Limit: 4\r\n", "\r\nRateLimit-Remaining: 3\r\n", "\r\nRateLimit-Reset: 1\r\n"} {
		if !bytes.Contains(raw, []byte(hd)) {
			t.Fatalf("missing %q in\n%s", hd, raw)
		}
	}
}

func TestAuth(t *testing.T) {
	h := newHarness(t, Options{RateLimit: 4, Tokens: []Token{
		{Value: "all"},
		{Value: "pages", Endpoints: []string{"events/page"}},
		{Value: "alerts", Endpoints: []string{"alerts/*"}},
		{Value: "fullpath", Endpoints: []string{"/api/v2/events/dataexport/alerts/dlp"}},
		{Value: "old", Expires: t0.Add(time.Minute)},
	}})
	tests := []struct {
		token string
		ep    Endpoint
		want  int
	}{
		{"", pageEP, 401},
		{"nope", pageEP, 401},
		{"all", pageEP, 200},
		{"all", dlpEP, 200},
		{"pages", pageEP, 200},
		{"pages", dlpEP, 403},
		{"pages", Endpoint{Events, "audit"}, 403},
		{"alerts", dlpEP, 200},
		{"alerts", Endpoint{Alerts, "uba"}, 200},
		{"alerts", pageEP, 403},
		{"fullpath", dlpEP, 200},
		{"fullpath", Endpoint{Alerts, "policy"}, 403},
		{"old", pageEP, 200},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s_%s", tc.token, tc.ep), func(t *testing.T) {
			a := h.call(tc.token, tc.ep, "i", "next")
			if a.status != tc.want {
				t.Fatalf("status %d, want %d: %s", a.status, tc.want, a.body)
			}
			if a.header.Get("RateLimit-Limit") == "" {
				t.Fatal("no RateLimit headers")
			}
			if tc.want != 200 {
				var e struct {
					Status  int
					Message string
				}
				if err := json.Unmarshal(a.body, &e); err != nil || e.Status != tc.want || e.Message == "" {
					t.Fatalf("error body %s", a.body)
				}
			}
		})
	}
	h.clock.Advance(time.Minute)
	if a := h.call("old", pageEP, "i", "next"); a.status != 401 {
		t.Fatalf("expired token: %d", a.status)
	}
	h.tenant.RevokeToken("all")
	if a := h.call("all", pageEP, "i", "next"); a.status != 401 {
		t.Fatalf("revoked token: %d", a.status)
	}
	h.tenant.AddToken(Token{Value: "new"})
	if a := h.call("new", pageEP, "i", "next"); a.status != 200 {
		t.Fatalf("added token: %d", a.status)
	}
}

func TestOpenAuthAcceptsAnyToken(t *testing.T) {
	tn := New(Options{})
	srv := httptest.NewServer(tn)
	defer srv.Close()
	for token, want := range map[string]int{"anything": 200, "": 401} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+pageEP.Path()+"?index=i&operation=next", nil)
		if token != "" {
			req.Header.Set(TokenHeader, token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("token %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		name, path, query string
		method            string
		want              int
	}{
		{"unknown type", "/api/v2/events/dataexport/events/nope", "index=i&operation=next", "GET", 404},
		{"unknown kind", "/api/v2/events/dataexport/things/page", "index=i&operation=next", "GET", 404},
		{"outside the API", "/events/page", "index=i&operation=next", "GET", 404},
		{"POST", pageEP.Path(), "index=i&operation=next", "POST", 405},
		{"no index", pageEP.Path(), "operation=next", "GET", 400},
		{"no operation", pageEP.Path(), "index=i", "GET", 400},
		{"bad operation", pageEP.Path(), "index=i&operation=later", "GET", 400},
		{"negative epoch", pageEP.Path(), "index=i&operation=-5", "GET", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, h.srv.URL+tc.path+"?"+tc.query, nil)
			req.Header.Set(TokenHeader, testToken)
			resp, err := h.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if !json.Valid(body) {
				t.Fatalf("body is not JSON: %s", body)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	gen := map[string]Generator{"events/page": {Backlog: 50, BacklogSpan: time.Minute}}
	t.Run("5xx leaves the index", func(t *testing.T) {
		h := newHarness(t, Options{Generators: gen, PageSize: 10})
		all := recordIDs(h.tenant.Records(Events, "page"))
		h.page(pageEP, "f", "head")
		h.tenant.SetFaults(Faults{ServerErrorRate: 1, ServerErrorStatus: 503})
		for i := 0; i < 3; i++ {
			if a := h.call(testToken, pageEP, "f", "next"); a.status != 503 {
				t.Fatalf("status %d", a.status)
			}
		}
		h.tenant.SetFaults(Faults{})
		a := h.page(pageEP, "f", "next")
		if got := ids(t, a.page.Result); !equalStrings(got, all[10:20]) {
			t.Fatalf("after 5xx: %v", got)
		}
		if h.tenant.Stats().Faults.ServerErrors != 3 {
			t.Fatalf("stats %+v", h.tenant.Stats().Faults)
		}
	})
	t.Run("throttled: the limiter's 429, index unmoved", func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			rateLimit int
			remaining string // RateLimit-Remaining of the first good answer after
		}{
			{"limit 4", 4, "0"}, // the two throttled calls count against the window
			{"no limit", -1, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h := newHarness(t, Options{Generators: gen, PageSize: 10, RateLimit: tc.rateLimit})
				all := recordIDs(h.tenant.Records(Events, "page"))
				h.tenant.SetFaults(Faults{ThrottleRate: 1, ServerErrorRate: 1, CutBodyRate: 1})
				if a := h.call("", pageEP, "f", "head"); a.status != http.StatusUnauthorized {
					t.Fatalf("faults apply only past authentication: %d", a.status)
				}
				for i := 0; i < 2; i++ {
					a := h.call(testToken, pageEP, "f", "head")
					if a.status != http.StatusTooManyRequests {
						t.Fatalf("status %d %s", a.status, a.body)
					}
					if string(a.body) != `{"message":"API rate limit exceeded"}` {
						t.Fatalf("429 body %s", a.body)
					}
					for k, want := range map[string]string{
						"Retry-After": "1", "RateLimit-Limit": "4", "RateLimit-Remaining": "0", "RateLimit-Reset": "1",
						"Content-Type": "application/json",
					} {
						if got := a.header.Get(k); got != want {
							t.Fatalf("%s: %q, want %q (headers %v)", k, got, want, a.header)
						}
					}
				}
				h.tenant.SetFaults(Faults{})
				a := h.page(pageEP, "f", "resend")
				if len(a.page.Result) != 0 {
					t.Fatalf("a throttled head made the index: resend gave %d records", len(a.page.Result))
				}
				a = h.page(pageEP, "f", "head")
				if got := ids(t, a.page.Result); !equalStrings(got, all[:10]) {
					t.Fatalf("after throttling: %v", got)
				}
				if got := a.header.Get("RateLimit-Remaining"); got != tc.remaining {
					t.Fatalf("RateLimit-Remaining after: %q, want %q", got, tc.remaining)
				}
				st := h.tenant.Stats()
				if st.Faults.Throttled != 2 || st.Faults.ServerErrors != 0 || st.Faults.CutBodies != 0 {
					t.Fatalf("fault stats %+v", st.Faults)
				}
				if st.ByStatus[http.StatusTooManyRequests] != 2 {
					t.Fatalf("by status %v", st.ByStatus)
				}
			})
		}
	})
	t.Run("throttle rate is a probability", func(t *testing.T) {
		h := newHarness(t, Options{Generators: gen, PageSize: 1, Faults: Faults{ThrottleRate: 0.25}})
		n := 0
		for i := 0; i < 400; i++ {
			if h.call(testToken, pageEP, "f", "head").status == http.StatusTooManyRequests {
				n++
			}
		}
		if n < 60 || n > 140 || h.tenant.Stats().Faults.Throttled != int64(n) {
			t.Fatalf("%d of 400 throttled at rate 0.25 (stats %+v)", n, h.tenant.Stats().Faults)
		}
	})
	t.Run("ok 0 leaves the index", func(t *testing.T) {
		h := newHarness(t, Options{Generators: gen, PageSize: 10})
		all := recordIDs(h.tenant.Records(Events, "page"))
		h.tenant.SetFaults(Faults{OKZeroRate: 1})
		a := h.call(testToken, pageEP, "f", "head")
		if a.status != 200 || a.page.OK != 0 || a.page.Error == "" || len(a.page.Result) != 0 {
			t.Fatalf("ok 0 answer: %d %s", a.status, a.body)
		}
		h.tenant.SetFaults(Faults{})
		b := h.page(pageEP, "f", "head")
		if got := ids(t, b.page.Result); !equalStrings(got, all[:10]) {
			t.Fatalf("after ok 0: %v", got)
		}
	})
	t.Run("cut body: Content-Length promised, connection closed, resend recovers", func(t *testing.T) {
		h := newHarness(t, Options{Generators: gen, PageSize: 10})
		all := recordIDs(h.tenant.Records(Events, "page"))
		h.tenant.SetFaults(Faults{CutBodyRate: 1})
		if a := h.call("", pageEP, "f", "head"); a.status != 401 {
			t.Fatalf("faults apply only past authentication: %d", a.status)
		}
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+pageEP.Path()+"?index=f&operation=head", nil)
		req.Header.Set(TokenHeader, testToken)
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContentLength <= 0 {
			t.Fatalf("Content-Length %d", resp.ContentLength)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("read err %v after %d of %d bytes", err, len(body), resp.ContentLength)
		}
		if int64(len(body)) >= resp.ContentLength {
			t.Fatalf("got the whole body")
		}
		h.tenant.SetFaults(Faults{})
		r := h.page(pageEP, "f", "resend")
		if got := ids(t, r.page.Result); !equalStrings(got, all[:10]) {
			t.Fatalf("resend after cut: %v", got)
		}
		if !bytes.HasPrefix(r.body, body) {
			t.Fatal("resend bytes differ from the cut answer")
		}
		n := h.page(pageEP, "f", "next")
		if got := ids(t, n.page.Result); !equalStrings(got, all[10:20]) {
			t.Fatalf("next after cut: %v", got)
		}
		if h.tenant.Stats().Faults.CutBodies != 1 {
			t.Fatal("cut not counted")
		}
	})
	t.Run("slow answers", func(t *testing.T) {
		h := newHarness(t, Options{Generators: gen})
		h.tenant.SetFaults(Faults{SlowRate: 1, SlowDelay: 150 * time.Millisecond})
		start := time.Now()
		h.page(pageEP, "f", "head")
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("answered in %v", d)
		}
		client := &http.Client{Timeout: 50 * time.Millisecond}
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+pageEP.Path()+"?index=g&operation=head", nil)
		req.Header.Set(TokenHeader, testToken)
		if _, err := client.Do(req); err == nil {
			t.Fatal("client with a short timeout got an answer")
		}
		if got := h.tenant.Faults(); got.SlowDelay != 150*time.Millisecond {
			t.Fatalf("Faults() = %+v", got)
		}
	})
	t.Run("rates are probabilities", func(t *testing.T) {
		h := newHarness(t, Options{Generators: gen, Faults: Faults{ServerErrorRate: 0.3}})
		fails := 0
		for i := 0; i < 400; i++ {
			if h.call(testToken, pageEP, "f", "head").status == 500 {
				fails++
			}
		}
		if fails < 80 || fails > 160 {
			t.Fatalf("%d of 400 failed at rate 0.3", fails)
		}
	})
}

func TestConcurrentConsumers(t *testing.T) {
	gens := map[string]Generator{"*": {Backlog: 600, BacklogSpan: 10 * time.Minute}}
	h := newHarness(t, Options{Generators: gens, PageSize: 100})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for _, ep := range Endpoints()[:6] {
		for c := 0; c < 3; c++ {
			wg.Add(1)
			go func(ep Endpoint, index string) {
				defer wg.Done()
				want := recordIDs(h.tenant.Records(ep.Kind, ep.Type))
				var got []string
				op := "head"
				for i := 0; i < 20; i++ {
					u := h.srv.URL + ep.Path() + "?index=" + index + "&operation=" + op
					req, _ := http.NewRequest(http.MethodGet, u, nil)
					req.Header.Set(TokenHeader, testToken)
					resp, err := h.client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					var p pageJSON
					err = json.NewDecoder(resp.Body).Decode(&p)
					resp.Body.Close()
					if err != nil {
						errs <- err
						return
					}
					for _, r := range p.Result {
						id, ok := fastID(r)
						if !ok {
							var hd head
							_ = json.Unmarshal(r, &hd)
							id = hd.ID
						}
						got = append(got, id)
					}
					op = "next"
					if len(p.Result) == 0 {
						break
					}
				}
				if !equalStrings(got, want) {
					errs <- fmt.Errorf("%s %s: got %d records, want %d", ep, index, len(got), len(want))
				}
			}(ep, fmt.Sprintf("consumer-%d", c))
		}
	}
	wg.Add(1)
	go func() { // stats and records readers race with the consumers
		defer wg.Done()
		for i := 0; i < 50; i++ {
			_ = h.tenant.Stats()
			_ = h.tenant.Records(Alerts, "dlp")
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRetention(t *testing.T) {
	t.Run("max records", func(t *testing.T) {
		h := newHarness(t, Options{MaxRecords: 100, Generators: map[string]Generator{"events/page": {Backlog: 150, BacklogSpan: time.Minute}}})
		recs := h.tenant.Records(Events, "page")
		if len(recs) != 100 {
			t.Fatalf("retained %d", len(recs))
		}
		a := h.page(pageEP, "r", "head")
		if got := ids(t, a.page.Result); !equalStrings(got, recordIDs(recs)) {
			t.Fatal("head does not start at the oldest retained record")
		}
		if st := h.tenant.Stats().Endpoints["events/page"]; st.Dropped != 50 || st.Retained != 100 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("retention window", func(t *testing.T) {
		h := newHarness(t, Options{Retention: time.Hour, Generators: map[string]Generator{"events/page": {Backlog: 120, BacklogSpan: 2 * time.Hour}}})
		recs := h.tenant.Records(Events, "page")
		if len(recs) != 60 || recs[0].Inserted < t0.Add(-time.Hour).Unix() {
			t.Fatalf("retained %d from %d", len(recs), recs[0].Inserted)
		}
	})
	t.Run("clock jump never holds more than MaxRecords", func(t *testing.T) {
		h := newHarness(t, Options{MaxRecords: 1000, Generators: map[string]Generator{"events/page": {Rate: 1000}}})
		h.clock.Advance(time.Hour)
		if n := len(h.tenant.Records(Events, "page")); n != 1000 {
			t.Fatalf("held %d", n)
		}
	})
}

func TestStats(t *testing.T) {
	h := newHarness(t, Options{PageSize: 5, Generators: map[string]Generator{"events/page": {Backlog: 12, BacklogSpan: time.Minute}}})
	h.page(pageEP, "s", "head")
	h.page(pageEP, "s", "next")
	h.page(pageEP, "s", "resend")
	h.call("bad", pageEP, "s", "next")
	st := h.tenant.Stats()
	es := st.Endpoints["events/page"]
	if es.Generated != 12 || es.Pages != 3 || es.Resends != 1 || es.Served != 15 || es.Indexes != 1 || es.Retained != 12 {
		t.Fatalf("endpoint stats %+v", es)
	}
	if st.Requests != 4 || st.ByStatus[200] != 3 || st.ByStatus[401] != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(st.Endpoints) != 20 {
		t.Fatalf("%d endpoints", len(st.Endpoints))
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"events/page":                          "events/page",
		"/api/v2/events/dataexport/alerts/uba": "alerts/uba",
		"api/v2/events/dataexport/alerts/dlp":  "alerts/dlp",
	} {
		ep, err := ParseEndpoint(in)
		if err != nil || ep.String() != want {
			t.Fatalf("%q: %v %v", in, ep, err)
		}
	}
	for _, bad := range []string{"page", "events/nope", "alerts/", ""} {
		if _, err := ParseEndpoint(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	if len(Endpoints()) != 20 {
		t.Fatal("want 20 endpoints")
	}
}
