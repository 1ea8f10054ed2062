package console

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// stream is an open /logs/stream: its lines come on lines, which closes when the stream ends.
type stream struct {
	resp  *http.Response
	lines chan string
}

// openStream opens the log stream as c and waits until it has subscribed.
func (c *client) openStream(ctx context.Context, path string) *stream {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.f.srv.URL+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { _ = resp.Body.Close() })
	st := &stream{resp: resp, lines: make(chan string, 64)}
	if resp.StatusCode != http.StatusOK {
		close(st.lines)
		return st
	}
	go func() {
		defer close(st.lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			st.lines <- sc.Text()
		}
	}()
	return st
}

// waitSubscribed waits for the backend to see n more subscriptions.
func (f *fixture) waitSubscribed(ctx context.Context, n int) {
	f.t.Helper()
	for range n {
		select {
		case <-f.backend.subscribe:
		case <-ctx.Done():
			f.t.Fatal("the stream did not subscribe")
		}
	}
}

func TestLogStreamEndsWithItsSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(f *fixture, c *client, csrf string)
	}{
		{"logout", func(f *fixture, c *client, csrf string) {
			if resp, _ := c.post("/logout", url.Values{"csrf_token": {csrf}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("logout: %s", resp.Status)
			}
		}},
		{"expiry", func(f *fixture, c *client, csrf string) { f.clock.Advance(DefaultSessionTTL) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.backend.subscribe = make(chan LogFilter, 1)
			c := f.client()
			csrf := c.login("admin", adminPassword)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			st := c.openStream(ctx, "/logs/stream")
			f.waitSubscribed(ctx, 1)
			tc.end(f, c, csrf)
			f.backend.publish(LogLine{Time: time.Now(), Level: "info", Message: "after the end of the session"})
			for {
				select {
				case l, ok := <-st.lines:
					if !ok {
						return // the stream ended without the line
					}
					if strings.Contains(l, "after the end of the session") {
						t.Fatalf("the stream sent a line after the session ended: %s", l)
					}
				case <-ctx.Done():
					t.Fatal("the stream is still open after the session ended")
				}
			}
		})
	}
}

func TestLogStreamsAreCapped(t *testing.T) {
	f := newFixture(t, nil)
	f.backend.subscribe = make(chan LogFilter, 64)
	f.console.streams.total = maxStreamsPerSession + 1 // so that a second session reaches it
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	a, b := f.client(), f.client()
	a.login("admin", adminPassword)
	b.login("viewer", viewerPassword)
	var first context.CancelFunc
	for i := range maxStreamsPerSession {
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		if i == 0 {
			first = scancel
		}
		if st := a.openStream(sctx, "/logs/stream"); st.resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %s", i, st.resp.Status)
		}
	}
	f.waitSubscribed(ctx, maxStreamsPerSession)
	if st := a.openStream(ctx, "/logs/stream"); st.resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a session's stream past its cap: %s, want 429", st.resp.Status)
	}
	if st := b.openStream(ctx, "/logs/stream"); st.resp.StatusCode != http.StatusOK {
		t.Fatalf("another session's first stream: %s", st.resp.Status)
	}
	f.waitSubscribed(ctx, 1)
	if st := b.openStream(ctx, "/logs/stream"); st.resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a stream past the total: %s, want 429", st.resp.Status)
	}
	// A stream closed gives its place back.
	first()
	for {
		st := b.openStream(ctx, "/logs/stream")
		if st.resp.StatusCode == http.StatusOK {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no stream after one closed: %s", st.resp.Status)
		}
	}
}
