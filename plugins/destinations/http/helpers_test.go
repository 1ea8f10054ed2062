package httpdest

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/logshipper/logshipper/internal/plugintest"
)

// got is one request as the test server received it, its body decompressed.
type got struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	Gzip   bool
}

// recorder is a test server that keeps every request and answers with reply.
type recorder struct {
	mu    sync.Mutex
	reqs  []got
	reply func(n int, g got, w http.ResponseWriter) // n: the request's number from 0
	srv   *httptest.Server
}

func newRecorder(t *testing.T, reply func(n int, g got, w http.ResponseWriter)) *recorder {
	t.Helper()
	r := &recorder{reply: reply}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve(t)))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) serve(t *testing.T) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, req *http.Request) {
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("server: read body: %v", err)
		}
		g := got{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: raw}
		if req.Header.Get("Content-Encoding") == "gzip" {
			g.Gzip = true
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Errorf("server: body is not gzip: %v", err)
				http.Error(w, "bad gzip", http.StatusBadRequest)
				return
			}
			if g.Body, err = io.ReadAll(zr); err != nil {
				t.Errorf("server: bad gzip stream: %v", err)
			}
		}
		r.mu.Lock()
		n := len(r.reqs)
		r.reqs = append(r.reqs, g)
		r.mu.Unlock()
		if r.reply != nil {
			r.reply(n, g, w)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func (r *recorder) requests() []got {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]got(nil), r.reqs...)
}

// cfgFor returns the defaults pointed at url, with the given changes, validated.
func cfgFor(t testing.TB, url string, change func(*Config)) *Config {
	t.Helper()
	c := NewConfig().(*Config)
	c.URL = url
	if change != nil {
		change(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

func newDest(t testing.TB, c *Config) *Destination {
	t.Helper()
	d, err := New(c, plugintest.Settings(t, "http", nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(t.Context()) })
	return d
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newBufLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
