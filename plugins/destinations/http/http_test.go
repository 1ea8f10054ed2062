package httpdest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

func records(n int, prefix string) []*event.Record {
	out := make([]*event.Record, n)
	for i := range out {
		out[i] = plugintest.NewRecord(fmt.Sprintf("%s-%d", prefix, i), map[string]any{"seq": i})
	}
	return out
}

// The body's framing, compression, method and headers are what the options say.
func TestWriteSendsWhatTheOptionsSay(t *testing.T) {
	recs := records(3, "r")
	ndjson := string(recs[0].Raw) + "\n" + string(recs[1].Raw) + "\n" + string(recs[2].Raw) + "\n"
	array := "[" + string(recs[0].Raw) + "," + string(recs[1].Raw) + "," + string(recs[2].Raw) + "]"
	cases := []struct {
		name       string
		change     func(*Config)
		method     string
		body       string
		gzip       bool
		ctype      string
		authHeader string
	}{
		{"defaults", nil, "POST", ndjson, true, "application/x-ndjson", ""},
		{"array uncompressed PUT", func(c *Config) {
			c.Format, c.Compression, c.Method = FormatJSONArray, CompressionNone, "PUT"
		}, "PUT", array, false, "application/json", ""},
		{"bearer token", func(c *Config) { c.Token = config.NewSecret("t0k3n") }, "POST", ndjson, true, "application/x-ndjson", "Bearer t0k3n"},
		{"other scheme", func(c *Config) { c.Token, c.AuthScheme = config.NewSecret("k"), "ApiKey" }, "POST", ndjson, true, "application/x-ndjson", "ApiKey k"},
		{"basic", func(c *Config) { c.Username, c.Password = "u", config.NewSecret("p") }, "POST", ndjson, true, "application/x-ndjson", "Basic dTpw"},
		{"content type header wins", func(c *Config) {
			c.Headers["content-type"] = config.NewSecret("application/json")
		}, "POST", ndjson, true, "application/json", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRecorder(t, nil)
			d := newDest(t, cfgFor(t, srv.srv.URL+"/ingest?x=1", func(c *Config) {
				if c.Headers == nil {
					c.Headers = map[string]config.Secret{}
				}
				c.Headers["X-Api-Key"] = config.NewSecret("header-secret")
				if tc.change != nil {
					tc.change(c)
				}
			}))
			if err := d.Write(t.Context(), recs); err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			g := reqs[0]
			if g.Method != tc.method || g.Path != "/ingest" || g.Query != "x=1" {
				t.Errorf("request %s %s?%s", g.Method, g.Path, g.Query)
			}
			if string(g.Body) != tc.body {
				t.Errorf("body\n%s\nwant\n%s", g.Body, tc.body)
			}
			if g.Gzip != tc.gzip {
				t.Errorf("gzip %v, want %v", g.Gzip, tc.gzip)
			}
			if ct := g.Header.Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if a := g.Header.Get("Authorization"); a != tc.authHeader {
				t.Errorf("Authorization %q, want %q", a, tc.authHeader)
			}
			if k := g.Header.Get("X-Api-Key"); k != "header-secret" {
				t.Errorf("X-Api-Key %q", k)
			}
		})
	}
}

// Every status (and HEC code) maps to the class the engine acts on.
func TestClassify(t *testing.T) {
	type class int
	const (
		ok class = iota
		retry
		throttled
		refused
		fatal
	)
	classOf := func(err error) class {
		var te *plugin.ThrottledError
		var re *plugin.RefusedError
		switch {
		case err == nil:
			return ok
		case plugin.IsFatal(err):
			return fatal
		case errors.As(err, &te):
			return throttled
		case errors.As(err, &re):
			return refused
		}
		return retry
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		hec     bool
		status  int
		retryAt string
		body    string
		want    class
		after   time.Duration
		inMsg   string
	}{
		{status: 200, want: ok},
		{status: 201, want: ok},
		{status: 204, want: ok},
		{status: 429, retryAt: "7", want: throttled, after: 7 * time.Second},
		{status: 429, want: throttled},
		{status: 503, retryAt: "Fri, 02 Jan 2026 03:04:35 GMT", want: throttled, after: 30 * time.Second},
		{status: 503, retryAt: "86400", want: throttled, after: maxRetryAfter},
		{status: 500, body: "boom", want: retry, inMsg: "500 Internal Server Error: boom"},
		{status: 502, want: retry},
		{status: 504, want: retry},
		{status: 408, want: retry},
		{status: 401, want: fatal, inMsg: "check token"},
		{status: 403, want: fatal, inMsg: "refused the credentials"},
		{status: 407, want: fatal, inMsg: "proxy"},
		{status: 415, want: fatal, inMsg: "compression"},
		{status: 301, want: fatal, inMsg: "redirects"},
		{status: 413, want: refused, inMsg: "max_body_bytes"},
		{status: 400, body: `{"error":"bad field"}`, want: refused, inMsg: `400 Bad Request: {"error":"bad field"}`},
		{status: 404, want: fatal, inMsg: "check url and method"},
		{status: 405, want: fatal, inMsg: "405 Method Not Allowed"},
		{status: 410, want: fatal},
		{status: 501, want: fatal},
		{status: 422, body: strings.Repeat("é", 400), want: refused},
		{hec: true, status: 200, body: `{"text":"Success","code":0}`, want: ok},
		{hec: true, status: 200, body: `not json`, want: ok},
		{hec: true, status: 403, body: `{"text":"Invalid token","code":4}`, want: fatal, inMsg: "HEC code 4"},
		{hec: true, status: 401, body: `{"text":"Token is required","code":2}`, want: fatal},
		{hec: true, status: 403, body: `{"text":"Token disabled","code":1}`, want: fatal},
		{hec: true, status: 400, body: `{"text":"Incorrect index","code":7,"invalid-event-number":1}`, want: fatal, inMsg: "check index"},
		{hec: true, status: 400, body: `{"text":"Data channel is missing","code":10}`, want: fatal, inMsg: "channel"},
		{hec: true, status: 400, body: `{"text":"Invalid data format","code":6}`, want: refused, inMsg: "Invalid data format"},
		{hec: true, status: 400, body: `{"text":"No data","code":5}`, want: refused},
		{hec: true, status: 503, body: `{"text":"Server is busy","code":9}`, retryAt: "3", want: throttled, after: 3 * time.Second},
		{hec: true, status: 503, body: `{"text":"HEC is unhealthy, queues are full","code":18}`, want: throttled},
		{hec: true, status: 500, body: `{"text":"Internal server error","code":8}`, want: retry},
		{hec: true, status: 502, body: `<html>bad gateway</html>`, want: retry},
		{hec: true, status: 400, body: `{"text":"something new","code":99}`, want: refused},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("hec=%v/%d/%s", tc.hec, tc.status, tc.body)
		t.Run(name, func(t *testing.T) {
			c := classifier{hec: tc.hec, url: "https://siem.example/in"}
			h := http.Header{}
			if tc.retryAt != "" {
				h.Set("Retry-After", tc.retryAt)
			}
			err := c.classify(tc.status, h, []byte(tc.body), now)
			if got := classOf(err); got != tc.want {
				t.Fatalf("class %d, want %d (error: %v)", got, tc.want, err)
			}
			var te *plugin.ThrottledError
			if errors.As(err, &te) && te.After != tc.after {
				t.Errorf("retry after %s, want %s", te.After, tc.after)
			}
			if err != nil && !strings.Contains(err.Error(), tc.inMsg) {
				t.Errorf("message %q lacks %q", err, tc.inMsg)
			}
			if err != nil && len(err.Error()) > 800 {
				t.Errorf("message of %d bytes: the body is not cut to 512", len(err.Error()))
			}
			if err != nil && !strings.Contains(err.Error(), "https://siem.example/in") {
				t.Errorf("message %q does not name the URL", err)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "0": 0, "-5": 0, "12": 12 * time.Second, " 3 ": 3 * time.Second, "soon": 0,
		"Fri, 02 Jan 2026 03:05:05 GMT": time.Minute, "Fri, 02 Jan 2026 03:00:00 GMT": 0,
		"99999999999999999999": 0, "3601": maxRetryAfter,
	} {
		h := http.Header{}
		h.Set("Retry-After", v)
		if got := retryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %s, want %s", v, got, want)
		}
	}
}

// Through a real server: the Retry-After of a 429 reaches the engine, a 401 stops the
// destination with a message naming the URL but not the token, a 413 refuses the whole call.
func TestWriteOutcomes(t *testing.T) {
	cases := []struct {
		status int
		check  func(t *testing.T, err error)
	}{
		{429, func(t *testing.T, err error) {
			var te *plugin.ThrottledError
			if !errors.As(err, &te) || te.After != 2*time.Second {
				t.Fatalf("want throttled 2s, got %v", err)
			}
		}},
		{401, func(t *testing.T, err error) {
			if !plugin.IsFatal(err) {
				t.Fatalf("want fatal, got %v", err)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "qsecret") {
				t.Fatalf("message shows a secret: %v", err)
			}
			if !strings.Contains(err.Error(), "/in?...") {
				t.Fatalf("message does not name the URL: %v", err)
			}
		}},
		{413, func(t *testing.T, err error) {
			var re *plugin.RefusedError
			if !errors.As(err, &re) || re.Code != "413" {
				t.Fatalf("want a whole-call refusal 413, got %#v", err)
			}
		}},
		{500, func(t *testing.T, err error) {
			var be *plugin.BatchError
			var re *plugin.RefusedError
			if err == nil || plugin.IsFatal(err) || errors.As(err, &be) || errors.As(err, &re) {
				t.Fatalf("want a plain error, got %#v", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := newRecorder(t, func(_ int, _ got, w http.ResponseWriter) {
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(tc.status)
			})
			d := newDest(t, cfgFor(t, srv.srv.URL+"/in?key=qsecret", func(c *Config) { c.Token = config.NewSecret("s3cr3t") }))
			tc.check(t, d.Write(t.Context(), records(4, "x")))
		})
	}
}

// A batch larger than max_body_bytes goes in several requests, in order; when a later request
// fails, the records already delivered are not reported, the others are to be retried (a
// refusal too: the engine splits it once it is a batch of its own).
func TestWriteSplitsIntoRequests(t *testing.T) {
	recs := records(100, "s") // about 25 bytes each
	cases := []struct {
		name     string
		failAt   int // request number that fails; -1 none
		status   int
		whole    bool // the whole call fails
		delivers int  // requests that succeed
	}{
		{"all fine", -1, 0, false, 0},
		{"second refused", 1, 400, false, 1},
		{"second throttled", 1, 429, false, 1},
		{"first refused", 0, 400, true, 0},
		{"first 500", 0, 500, true, 0},
		{"second fatal", 1, 401, true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRecorder(t, func(n int, _ got, w http.ResponseWriter) {
				if n == tc.failAt {
					w.WriteHeader(tc.status)
				}
			})
			d := newDest(t, cfgFor(t, srv.srv.URL, func(c *Config) { c.MaxBodyBytes = 1024 }))
			err := d.Write(t.Context(), recs)
			reqs := srv.requests()
			if tc.failAt < 0 {
				if err != nil {
					t.Fatal(err)
				}
				var all []string
				for _, g := range reqs {
					if len(g.Body) > 1024 {
						t.Errorf("a body of %d bytes, over max_body_bytes", len(g.Body))
					}
					all = append(all, strings.Split(strings.TrimSuffix(string(g.Body), "\n"), "\n")...)
				}
				if len(reqs) < 2 || len(all) != len(recs) {
					t.Fatalf("%d requests holding %d records", len(reqs), len(all))
				}
				for i, line := range all {
					if line != string(recs[i].Raw) {
						t.Fatalf("record %d: %s, want %s", i, line, recs[i].Raw)
					}
				}
				return
			}
			if len(reqs) != tc.failAt+1 {
				t.Fatalf("%d requests, want %d (nothing after a failure)", len(reqs), tc.failAt+1)
			}
			var be *plugin.BatchError
			if tc.whole {
				if err == nil || errors.As(err, &be) {
					t.Fatalf("want the whole call's error, got %v", err)
				}
				return
			}
			if !errors.As(err, &be) {
				t.Fatalf("want a BatchError, got %v", err)
			}
			delivered := strings.Count(string(reqs[0].Body), "\n")
			if len(be.Failed) != len(recs)-delivered {
				t.Fatalf("%d failed, want %d", len(be.Failed), len(recs)-delivered)
			}
			for i, e := range be.Failed {
				var re *plugin.RefusedError
				if i < delivered || errors.As(e, &re) {
					t.Fatalf("record %d: %v", i, e)
				}
			}
			if tc.status == 429 {
				var te *plugin.ThrottledError
				if !errors.As(be.Failed[len(recs)-1], &te) {
					t.Fatalf("the throttle is lost: %v", be.Failed[len(recs)-1])
				}
			}
		})
	}
}

// Records that are not JSON objects are refused alone; pretty-printed ones are compacted so
// NDJSON framing holds; one larger than max_body_bytes is refused.
func TestWriteRefusesBadRecords(t *testing.T) {
	srv := newRecorder(t, nil)
	d := newDest(t, cfgFor(t, srv.srv.URL, func(c *Config) { c.MaxBodyBytes = 2048 }))
	recs := []*event.Record{
		{Raw: []byte(`{"a":1}`)},
		{Raw: []byte("plain text line")},
		{Raw: []byte("{\n  \"b\": \"x y\"\n}\n")},
		{Raw: []byte(`{"big":"` + strings.Repeat("z", 3000) + `"}`)},
		{Raw: nil},
	}
	err := d.Write(t.Context(), recs)
	var be *plugin.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 3 {
		t.Fatalf("want 3 failed records, got %v", err)
	}
	for _, i := range []int{1, 3, 4} {
		var re *plugin.RefusedError
		if !errors.As(be.Failed[i], &re) {
			t.Errorf("record %d: %v, want refused", i, be.Failed[i])
		}
	}
	reqs := srv.requests()
	if len(reqs) != 1 || string(reqs[0].Body) != "{\"a\":1}\n{\"b\":\"x y\"}\n" {
		t.Fatalf("got %+v", reqs)
	}
}

// Nothing secret reaches the log, even at debug level and on failures.
func TestNoSecretInLogs(t *testing.T) {
	var logs lockedBuffer
	srv := newRecorder(t, func(n int, _ got, w http.ResponseWriter) {
		if n == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	c := cfgFor(t, srv.srv.URL+"/p?apikey=query-secret", func(c *Config) {
		c.Token = config.NewSecret("token-secret")
		c.Headers = map[string]config.Secret{"X-Key": config.NewSecret("header-secret")}
		c.Proxy = netconf.Proxy{URL: netconf.ProxySystem}
	})
	set := plugintest.Settings(t, "http", nil)
	set.Logger = newBufLogger(&logs)
	d, err := New(c, set)
	if err != nil {
		t.Fatal(err)
	}
	werr := d.Write(t.Context(), records(2, "l"))
	_ = d.Write(t.Context(), records(2, "m"))
	_ = d.Check(t.Context())
	out := logs.String() + fmt.Sprint(werr)
	for _, s := range []string{"token-secret", "header-secret", "query-secret"} {
		if strings.Contains(out, s) {
			t.Errorf("%q appears in logs or errors:\n%s", s, out)
		}
	}
	if !strings.Contains(logs.String(), "X-Key") || !strings.Contains(logs.String(), "http request") {
		t.Errorf("expected the header name and the per-request debug line in:\n%s", logs.String())
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name    string
		hec     bool
		reply   func(g got, w http.ResponseWriter)
		wantErr string
	}{
		{"http 405 is reachable", false, func(_ got, w http.ResponseWriter) { w.WriteHeader(405) }, ""},
		{"http 401", false, func(_ got, w http.ResponseWriter) { w.WriteHeader(401) }, "refused the credentials"},
		{"hec healthy, token ok", true, func(g got, w http.ResponseWriter) {
			if g.Path == "/services/collector/health" {
				_, _ = w.Write([]byte(`{"text":"HEC is healthy","code":17}`))
				return
			}
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"text":"No data","code":5}`))
		}, ""},
		{"hec bad token", true, func(g got, w http.ResponseWriter) {
			if g.Path == "/services/collector/health" {
				_, _ = w.Write([]byte(`{"text":"HEC is healthy","code":17}`))
				return
			}
			w.WriteHeader(403)
			_, _ = w.Write([]byte(`{"text":"Invalid token","code":4}`))
		}, "refused the token"},
		{"hec unhealthy", true, func(_ got, w http.ResponseWriter) {
			w.WriteHeader(503)
			_, _ = w.Write([]byte(`{"text":"HEC is unhealthy, queues are full","code":18}`))
		}, "health"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRecorder(t, func(_ int, g got, w http.ResponseWriter) { tc.reply(g, w) })
			d := newDest(t, cfgFor(t, srv.srv.URL, func(c *Config) {
				if tc.hec {
					c.Mode, c.Token = ModeSplunkHEC, config.NewSecret("tok")
				}
			}))
			err := d.Check(t.Context())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			}
			reqs := srv.requests()
			if tc.hec && len(reqs) > 1 && reqs[1].Header.Get("Authorization") != "Splunk tok" {
				t.Errorf("HEC check sent Authorization %q", reqs[1].Header.Get("Authorization"))
			}
			if !tc.hec && reqs[0].Method != http.MethodOptions {
				t.Errorf("check used %s", reqs[0].Method)
			}
		})
	}
}

func TestClosedRefusesWrites(t *testing.T) {
	srv := newRecorder(t, nil)
	d := newDest(t, cfgFor(t, srv.srv.URL, nil))
	if err := d.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(t.Context(), records(1, "c")); err == nil {
		t.Fatal("a write after close succeeded")
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests after close", n)
	}
}
