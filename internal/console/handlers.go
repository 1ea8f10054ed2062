package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxFormBytes bounds a request body (a rule test's sample records are the largest).
const maxFormBytes = 4 << 20

// sessionCookie is the session cookie's name; with TLS it takes the __Host- prefix, which a
// browser accepts only from a secure origin, for the whole host, and never set by a subdomain.
func (s *Server) sessionCookie() string {
	if s.tlsConf != nil {
		return "__Host-logshipper_session"
	}
	return "logshipper_session"
}

// loginCookie carries the login form's CSRF token before there is a session.
func (s *Server) loginCookie() string {
	if s.tlsConf != nil {
		return "__Host-logshipper_login"
	}
	return "logshipper_login"
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.tlsConf != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// handler is a page's handler: the request's session is known.
type handler func(w http.ResponseWriter, r *http.Request, ss *session)

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(staticFS())))
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.post(s.logout))

	m.HandleFunc("GET /{$}", s.view(s.overviewPage))
	m.HandleFunc("GET /overview/live", s.view(s.overviewLive))

	m.HandleFunc("GET /plugins", s.view(s.pluginsPage))
	m.HandleFunc("GET /plugins/new", s.view(s.pluginNewPage))
	m.HandleFunc("GET /plugins/edit/{name}", s.view(s.pluginEditPage))
	m.HandleFunc("POST /plugins/save", s.change("plugin.save", s.pluginSave))
	m.HandleFunc("POST /plugins/delete/{name}", s.change("plugin.delete", s.pluginDelete))
	m.HandleFunc("POST /plugins/disable/{name}", s.change("plugin.disable", s.pluginDisable(true)))
	m.HandleFunc("POST /plugins/enable/{name}", s.change("plugin.enable", s.pluginDisable(false)))
	m.HandleFunc("POST /plugins/check/{name}", s.change("plugin.check", s.pluginCheck))

	m.HandleFunc("GET /rules", s.view(s.rulesPage))
	m.HandleFunc("POST /rules/save", s.change("rule.save", s.ruleSave))
	m.HandleFunc("POST /rules/delete/{name}", s.change("rule.delete", s.ruleDelete))
	m.HandleFunc("POST /rules/test", s.post(s.ruleTest))

	m.HandleFunc("GET /mappings", s.view(s.mappingsPage))
	m.HandleFunc("POST /mappings/save", s.change("mapping.save", s.mappingSave))
	m.HandleFunc("POST /mappings/delete/{name}", s.change("mapping.delete", s.mappingDelete))
	m.HandleFunc("POST /mappings/preview", s.post(s.mappingPreview))

	m.HandleFunc("GET /logs", s.view(s.logsPage))
	m.HandleFunc("GET /logs/stream", s.view(s.logsStream))

	m.HandleFunc("GET /deadletters", s.view(s.deadLettersPage))
	m.HandleFunc("GET /deadletters/{id}", s.view(s.deadLetterPage))
	m.HandleFunc("POST /deadletters/replay", s.change("deadletter.replay", s.deadLettersReplay))
	m.HandleFunc("POST /deadletters/purge", s.change("deadletter.purge", s.deadLettersPurge))
	return m
}

// currentSession is the request's live session, from its cookie.
func (s *Server) currentSession(r *http.Request) (*session, bool) {
	c, err := r.Cookie(s.sessionCookie())
	if err != nil {
		return nil, false
	}
	return s.sessions.get(c.Value)
}

// view serves a page to any logged-in user; without a session a browser is sent to the login.
func (s *Server) view(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, ok := s.currentSession(r)
		if !ok {
			if r.Header.Get("Accept") == "text/event-stream" {
				http.Error(w, "login required", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, ss)
	}
}

// post serves a request that sends a form to any logged-in user (a test, a preview, a
// logout): it needs the session's CSRF token and a same-origin request.
func (s *Server) post(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, ok := s.currentSession(r)
		if !ok {
			http.Error(w, "login required", http.StatusUnauthorized)
			return
		}
		if !s.checkCSRF(w, r, ss) {
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, ss)
	}
}

// change serves a request that changes the configuration or the dead letters: an admin's
// session, its CSRF token, a same-origin request; every one leaves an audit line.
func (s *Server) change(action string, h handler) http.HandlerFunc {
	return s.post(func(w http.ResponseWriter, r *http.Request, ss *session) {
		if !ss.role.CanChange() {
			s.auditLog(r, ss, action, r.PathValue("name")+r.PathValue("id"), errors.New("refused: the viewer role cannot change anything"))
			http.Error(w, "forbidden: your role ("+string(ss.role)+") cannot change anything; ask an admin", http.StatusForbidden)
			return
		}
		h(w, r, ss)
	})
}

// checkCSRF refuses (403) a request without the session's CSRF token or from another origin.
func (s *Server) checkCSRF(w http.ResponseWriter, r *http.Request, ss *session) bool {
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		http.Error(w, "forbidden: cross-origin request", http.StatusForbidden)
		return false
	}
	s.bodyDeadline(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return false
	}
	tok := r.PostForm.Get("csrf_token")
	if tok == "" {
		tok = r.Header.Get("X-CSRF-Token")
	}
	if !sameToken(tok, ss.csrf) {
		s.audit.Warn("console request refused: missing or wrong CSRF token", "user", ss.user, "path", clipText(r.URL.Path, maxAuditTarget), "client", clientAddr(r))
		http.Error(w, "forbidden: missing or wrong CSRF token (reload the page)", http.StatusForbidden)
		return false
	}
	return true
}

// maxAuditTarget is the most of a change's target (names, dead letters' ids) or of a path an
// audit line holds; the rest is cut, with its length said.
const maxAuditTarget = 1 << 10

// bodyDeadline gives the request's body bodyTimeout to arrive: a client sending it a byte at a
// time gets an error rather than hold its connection. (A server that cannot set it, as in
// tests through a ResponseRecorder, does without.)
func (s *Server) bodyDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.bodyTimeout))
}

// auditLog writes the audit line of a change: who, what, on what, from where, and the
// outcome; the time is the line's.
func (s *Server) auditLog(r *http.Request, ss *session, action, target string, err error) {
	s.auditLogFrom(r, ss, action, "", target, err)
}

// auditLogFrom is auditLog of a change that renames: original is the name before the change
// (empty for a new one), target the name after.
func (s *Server) auditLogFrom(r *http.Request, ss *session, action, original, target string, err error) {
	attrs := []any{"user", ss.user, "role", string(ss.role), "action", action, "target", clipText(target, maxAuditTarget)}
	if original != "" {
		attrs = append(attrs, "original", clipText(original, maxAuditTarget))
	}
	attrs = append(attrs, "client", clientAddr(r))
	if err != nil {
		s.audit.Warn("console change failed", append(attrs, "result", "error", "error", err.Error())...)
		return
	}
	s.audit.Info("console change", append(attrs, "result", "ok")...)
}

// clientKey is what the login limits count a client address by: an IPv4 address, or the /64
// network of an IPv6 one (a single host is commonly given a whole /64).
func clientKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

// clientAddr is the client's IP address (the peer's: no forwarded header is trusted).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type loginData struct {
	Next  string
	CSRF  string
	Error string
	Name  string
	Token bool
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.currentSession(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.renderLogin(w, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) renderLogin(w http.ResponseWriter, code int, d loginData) {
	d.CSRF = randomToken()
	d.Token = s.token != ""
	s.setCookie(w, s.loginCookie(), d.CSRF, 600)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, code, "login", pageData{Title: "Log in", Data: d})
}

// login checks a name and password (or the token) and starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		http.Error(w, "forbidden: cross-origin request", http.StatusForbidden)
		return
	}
	s.bodyDeadline(w)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	password := r.PostForm.Get("password")
	token := strings.TrimSpace(r.PostForm.Get("token"))
	next := safeNext(r.PostForm.Get("next"))
	c, err := r.Cookie(s.loginCookie())
	if err != nil || !sameToken(c.Value, r.PostForm.Get("csrf_token")) {
		http.Error(w, "forbidden: missing or wrong CSRF token (reload the login page)", http.StatusForbidden)
		return
	}
	client := clientAddr(r)
	from := clientKey(client)
	who := name
	if token != "" {
		who = tokenUser
	}
	if !s.allowLogin(w, s.clientRate.allow("client:"+from), s.clientRate, who, client, next) {
		return
	}
	if len(who) > maxLoginName {
		// Refused before it becomes a rate limiter's key or a whole line of the log.
		s.audit.Warn("console login refused: name too long", "user", logName(who), "name_bytes", len(who), "client", client, "action", "login", "result", "refused")
		s.renderLogin(w, http.StatusBadRequest, loginData{Next: next, Error: fmt.Sprintf("Wrong name: longer than %d bytes.", maxLoginName)})
		return
	}
	if !s.allowLogin(w, s.userRate.allow("user:"+who+" client:"+from), s.userRate, who, client, next) ||
		!s.allowLogin(w, s.userFail.check("user:"+who), s.userFail, who, client, next) {
		return
	}
	user, role, ok := s.authenticate(name, password, token)
	if !ok {
		s.userFail.spend("user:" + who)
		s.audit.Warn("console login failed", "user", logName(who), "client", client, "action", "login", "result", "refused")
		s.renderLogin(w, http.StatusUnauthorized, loginData{Next: next, Name: name, Error: "Wrong name or password, or wrong token."})
		return
	}
	ss := s.sessions.create(user, role)
	s.setCookie(w, s.sessionCookie(), ss.id, int(s.cfg.SessionTTL.Seconds()))
	s.setCookie(w, s.loginCookie(), "", -1)
	s.audit.Info("console login", "user", user, "role", string(role), "client", client, "action", "login", "result", "ok")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// maxLoginName is the longest user name the login takes (Validate refuses a longer one in the
// configuration).
const maxLoginName = 128

// allowLogin reports whether lim's verdict v lets a login attempt go ahead. When it does not,
// it answers 429, and logs the refusal when v says so (once an interval for each key, counting
// the refusals of the key not logged since).
func (s *Server) allowLogin(w http.ResponseWriter, v verdict, lim *loginLimiter, who, client, next string) bool {
	if v.ok {
		return true
	}
	if v.log {
		s.audit.Warn("console login refused: too many attempts", "user", logName(who), "client", client, "action", "login", "result", "rate_limited", "unlogged_refusals", v.unlogged)
	}
	w.Header().Set("Retry-After", fmt.Sprint(int(lim.every.Seconds())))
	d := loginData{Next: next, Error: "Too many login attempts: wait a minute and try again."}
	if len(who) <= maxLoginName && who != tokenUser {
		d.Name = who
	}
	s.renderLogin(w, http.StatusTooManyRequests, d)
	return false
}

// logName is a login name as the log shows it: at most 64 bytes of it (a longer one cut on a
// character boundary, followed by its length), quoted when it holds anything but letters,
// digits and ._@+- (a control character, a quote, a space).
func logName(name string) string {
	const keep = 64
	if len(name) > keep {
		return strconv.Quote(cutText(name, keep)) + fmt.Sprintf("…(%d bytes)", len(name))
	}
	if name != "" && !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r))
	}) {
		return name
	}
	return strconv.Quote(name)
}

// logout ends the session on the server: its cookie, replayed, is refused.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, ss *session) {
	s.sessions.end(ss.id)
	s.setCookie(w, s.sessionCookie(), "", -1)
	s.audit.Info("console logout", "user", ss.user, "role", string(ss.role), "client", clientAddr(r), "action", "logout", "result", "ok")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after login on this site: a path of this site, rebuilt from its
// parsed parts (its escaped path and its query), never another host. A browser drops tabs and
// newlines from a URL and reads a backslash as a slash, so "/\t/evil.example" or "/\\evil.example"
// would take it to evil.example: a next holding a control character, DEL or a backslash
// anywhere is refused, as is one that is not a plain path ("//host", "https://host").
func safeNext(next string) string {
	const home = "/"
	if next == "" || strings.ContainsFunc(next, unsafeInURL) {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.HasPrefix(p, "//") ||
		strings.ContainsFunc(u.Path, unsafeInURL) {
		return home
	}
	if u.RawQuery == "" {
		return p
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return p
	}
	return p + "?" + q.Encode()
}

// unsafeInURL reports the runes a browser drops from a URL or reads as a slash: the control
// characters, DEL and the backslash.
func unsafeInURL(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }

// backendError answers a Backend's failure: 404 for ErrNotFound, else 500 with its text (the
// Backend's errors name what failed and never hold a secret).
func (s *Server) backendError(w http.ResponseWriter, r *http.Request, ss *session, what string, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, ErrNotFound) {
		code = http.StatusNotFound
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelWarn, "console: "+what+" failed", slog.String("user", ss.user), slog.String("error", err.Error()))
	s.render(w, code, "error", s.page(ss, "", what, map[string]string{"Error": err.Error(), "What": what}))
}
