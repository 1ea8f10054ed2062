package console

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestLongLoginNameIsRefusedBeforeTheLimiterAndTheLog(t *testing.T) {
	f := newFixture(t, nil)
	long := strings.Repeat("A", 60<<10)
	c := f.client()
	_, page := c.get("/login")
	resp, body := c.post("/login", url.Values{"csrf_token": {csrfOf(t, page)}, "name": {long}, "password": {"x"}, "next": {"/"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("got %s, want 400:\n%.300s", resp.Status, body)
	}
	if strings.Contains(body, strings.Repeat("A", 200)) {
		t.Error("the page shows the long name back")
	}
	if strings.Contains(f.logs.String(), strings.Repeat("A", 200)) {
		t.Errorf("the log holds the long name: %d bytes of log", len(f.logs.String()))
	}
	if !strings.Contains(f.logs.String(), "name too long") || !strings.Contains(f.logs.String(), "bytes)") {
		t.Errorf("no line for the refused name:\n%s", f.logs)
	}
	for _, l := range []*loginLimiter{f.console.clientRate, f.console.userRate} {
		l.mu.Lock()
		for k := range l.limiters {
			if len(k) > maxLoginName+64 {
				t.Errorf("a limiter has a key of %d bytes", len(k))
			}
		}
		l.mu.Unlock()
	}
}

func TestRateLimitedLoginsAreLoggedOnceAnInterval(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	const attempts = 40
	limited := 0
	for range attempts {
		if resp, _ := c.tryLogin("admin", "wrong"); resp.StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited < attempts-clientLoginBurst {
		t.Fatalf("%d of %d attempts limited", limited, attempts)
	}
	lines := strings.Count(f.logs.String(), "too many attempts")
	// One line for each key that refused: the user's, the client's.
	if lines == 0 || lines > 2 {
		t.Fatalf("%d lines for %d refused attempts, want one a key:\n%s", lines, limited, f.logs)
	}
	f.clock.Advance(clientLoginInterval) // the client may try once more, the user not yet
	before := len(f.logs.String())
	c.tryLogin("admin", "wrong")
	if resp, _ := c.tryLogin("admin", "wrong"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("got %s, want 429", resp.Status)
	}
	next := f.logs.String()[before:]
	if strings.Count(next, "too many attempts") != 1 || !strings.Contains(next, "unlogged_refusals=") || strings.Contains(next, "unlogged_refusals=0 ") {
		t.Errorf("after the interval, want one line counting the refusals not logged:\n%s", next)
	}
}

func TestLogNameIsShortAndQuoted(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"admin", "admin"},
		{"a.b-c_d@example.com", "a.b-c_d@example.com"},
		{"", `""`},
		{"admin\nlevel=ERROR msg=forged", `"admin\nlevel=ERROR msg=forged"`},
		{`say "hi"`, `"say \"hi\""`},
		{strings.Repeat("é", 40), `"` + strings.Repeat("é", 32) + `"…(80 bytes)`},
	} {
		if got := logName(tc.name); got != tc.want {
			t.Errorf("logName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestLogHubCutsLongValues(t *testing.T) {
	h := NewLogHub(10)
	log, _ := hubLogger(h, slog.LevelInfo)
	huge := strings.Repeat("x", 64<<10)
	log.Info(huge, "name", huge, "short", "kept")
	got, _ := h.Logs(t.Context(), LogFilter{})
	if len(got) != 1 {
		t.Fatalf("got %d lines", len(got))
	}
	l := got[0]
	for what, v := range map[string]string{"message": l.Message, "attribute": l.Attrs["name"]} {
		if len(v) > maxLogValue+64 || !strings.HasPrefix(v, strings.Repeat("x", maxLogValue)) || !strings.Contains(v, "[cut: 65536 bytes]") {
			t.Errorf("%s of %d bytes, want %d bytes and a mark of the cut", what, len(v), maxLogValue)
		}
	}
	if l.Attrs["short"] != "kept" {
		t.Errorf("short attribute %q", l.Attrs["short"])
	}
}
