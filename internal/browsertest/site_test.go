package browsertest

import (
	"crypto/rand"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// site is the small web application that the tests drive: a login form, and a page that
// shows the lines of a Server-Sent Events stream as they come.
type site struct {
	URL string

	done chan struct{} // closed when the test ends: the streams stop

	mu       sync.Mutex
	sessions map[string]string // session cookie → user
	lines    []string          // every line published, replayed to each stream
	changed  chan struct{}     // closed and replaced when a line is published
}

const (
	siteUser     = "ada"
	sitePassword = "s3cret"
)

var pages = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><title>Log in</title></head><body>
<h1>Log in</h1>
{{if .}}<p role="alert">{{.}}</p>{{end}}
<form id="login" method="post" action="/login">
  <label>User <input id="user" name="user" required></label>
  <label>Password <input type="password" name="password" data-testid="password" required></label>
  <label>Role <select name="role"><option value="viewer">viewer</option><option value="admin">admin</option></select></label>
  <label><input type="checkbox" name="remember"> Remember me</label>
  <button type="submit" id="submit">Log in</button>
</form>
<p class="hint" style="display:none">a hint that is never shown</p>
</body></html>`))

var livePage = template.Must(template.New("live").Parse(`<!doctype html>
<html><head><title>Live</title></head><body>
<h1 data-testid="welcome">Welcome, {{.User}} ({{.Role}})</h1>
<p>Stream: <span id="status">connecting</span></p>
<ul id="lines"></ul>
<a id="again" href="/login">Log in again</a>
<div style="height: 2500px">(space below the lines, so that the page is taller than the window)</div>
<script>
const events = new EventSource("/events");
events.onopen = () => { document.getElementById("status").textContent = "connected"; };
events.onmessage = (e) => {
  const li = document.createElement("li");
  li.textContent = e.data;
  document.getElementById("lines").append(li);
};
</script>
</body></html>`))

// newSite serves the site until the test ends.
func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{
		done:     make(chan struct{}),
		sessions: map[string]string{},
		changed:  make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		_ = pages.Execute(w, "")
	})
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET /live", func(w http.ResponseWriter, r *http.Request) {
		user, ok := s.user(r)
		if !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		_ = livePage.Execute(w, map[string]string{"User": user, "Role": r.URL.Query().Get("role")})
	})
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `<!doctype html><p>A page whose script fails.</p>`+
			`<script>console.error("an error the page logs"); null.boom();</script>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(s.done)
		srv.Close()
	})
	s.URL = srv.URL
	return s
}

func (s *site) login(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("user") != siteUser || r.FormValue("password") != sitePassword {
		w.WriteHeader(http.StatusUnauthorized)
		_ = pages.Execute(w, "Wrong user or password.")
		return
	}
	id := rand.Text()
	s.mu.Lock()
	s.sessions[id] = siteUser
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/live?role="+r.FormValue("role"), http.StatusSeeOther)
}

func (s *site) user(r *http.Request) (string, bool) {
	c, err := r.Cookie("session")
	if err != nil {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	user, ok := s.sessions[c.Value]
	return user, ok
}

// events streams every line published, the earlier ones first, until the page or the test
// ends.
func (s *site) events(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.user(r); !ok {
		http.Error(w, "log in first", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	flusher.Flush()
	sent := 0
	for {
		s.mu.Lock()
		pending := s.lines[sent:]
		changed := s.changed
		s.mu.Unlock()
		for _, line := range pending {
			if _, err := fmt.Fprintf(w, "data: %s\n\n", line); err != nil {
				return
			}
			sent++
		}
		flusher.Flush()
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// publish sends line to every stream, and to the ones that connect later.
func (s *site) publish(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, line)
	close(s.changed)
	s.changed = make(chan struct{})
}
