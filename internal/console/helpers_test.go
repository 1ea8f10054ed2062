package console

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/logshipper/logshipper/internal/config"
)

const (
	adminPassword  = "admin-password-1"
	viewerPassword = "viewer-password-1"
)

// syncBuffer is a log sink several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeClock is a time that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func hash(t testing.TB, password string) config.Secret {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return config.NewSecret(string(h))
}

// testConfig is a console with an admin and a viewer on a loopback address.
func testConfig(t testing.TB) *Config {
	c := NewConfig()
	c.Listen = "127.0.0.1:0"
	c.Users = []User{
		{Name: "admin", PasswordHash: hash(t, adminPassword), Role: RoleAdmin},
		{Name: "viewer", PasswordHash: hash(t, viewerPassword), Role: RoleViewer},
	}
	return c
}

type fixture struct {
	t       *testing.T
	console *Server
	backend *fakeBackend
	logs    *syncBuffer
	clock   *fakeClock
	srv     *httptest.Server
}

// newFixture serves a console over the fake backend on an httptest server; change, when not
// nil, changes the configuration first.
func newFixture(t *testing.T, change func(*Config)) *fixture {
	t.Helper()
	cfg := testConfig(t)
	if change != nil {
		change(cfg)
	}
	f := &fixture{t: t, backend: newFakeBackend(), logs: &syncBuffer{}, clock: &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg, f.backend, log, WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	f.console = s
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

// client is a browser: a cookie jar, no redirect followed.
type client struct {
	t   *testing.T
	f   *fixture
	c   *http.Client
	jar *cookiejar.Jar
}

func (f *fixture) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return &client{t: f.t, f: f, jar: jar, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.f.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrfOf is the CSRF token of a page.
func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token in the page:\n%s", page)
	}
	return m[1]
}

// tryLogin fills the login form with a name and password (or token, when name is "").
func (c *client) tryLogin(name, password string) (*http.Response, string) {
	c.t.Helper()
	_, page := c.get("/login")
	form := url.Values{"csrf_token": {csrfOf(c.t, page)}, "next": {"/"}}
	if name == "" {
		form.Set("token", password)
	} else {
		form.Set("name", name)
		form.Set("password", password)
	}
	return c.post("/login", form)
}

// login logs in and returns the session's CSRF token.
func (c *client) login(name, password string) string {
	c.t.Helper()
	resp, body := c.tryLogin(name, password)
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("login as %s: %s\n%s", name, resp.Status, body)
	}
	return c.csrf()
}

// csrf is the session's CSRF token, read from a page.
func (c *client) csrf() string {
	c.t.Helper()
	resp, page := c.get("/plugins")
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /plugins: %s", resp.Status)
	}
	return csrfOf(c.t, page)
}

// sessionCookie is the client's session cookie.
func (c *client) sessionCookie() *http.Cookie {
	u, _ := url.Parse(c.f.srv.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == c.f.console.sessionCookie() {
			return ck
		}
	}
	return nil
}
