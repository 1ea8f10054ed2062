package console

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
)

func TestRequestWithoutSessionIsRefused(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	for _, path := range []string{"/", "/overview/live", "/plugins", "/plugins/edit/ns1", "/plugins/new?type=netskope&kind=source",
		"/rules", "/mappings", "/logs", "/logs/stream", "/deadletters", "/deadletters/dl1"} {
		t.Run("GET "+path, func(t *testing.T) {
			resp, body := c.get(path)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
				t.Fatalf("got %s to %q, want 303 to the login", resp.Status, resp.Header.Get("Location"))
			}
			if strings.Contains(body, "goskope") || strings.Contains(body, "lake1") {
				t.Errorf("the answer shows the backend's data:\n%s", body)
			}
		})
	}
	for _, path := range []string{"/plugins/save", "/plugins/delete/ns1", "/plugins/disable/ns1", "/plugins/check/ns1", "/rules/save",
		"/rules/test", "/mappings/save", "/mappings/preview", "/deadletters/replay", "/deadletters/purge", "/logout"} {
		t.Run("POST "+path, func(t *testing.T) {
			resp, _ := c.post(path, url.Values{"id": {"dl1"}, "csrf_token": {"x"}})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("got %s, want 401", resp.Status)
			}
		})
	}
	if len(f.backend.deleted)+len(f.backend.replayed)+len(f.backend.purged)+len(f.backend.saved) > 0 {
		t.Errorf("the backend was changed without a session: %+v", f.backend)
	}
}

func TestLoginWithWrongPasswordStartsNoSession(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", "admin", "nope"},
		{"unknown user", "mallory", adminPassword},
		{"empty password", "admin", ""},
		{"wrong token", "", "not-the-token-at-all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.client()
			resp, body := c.tryLogin(tc.user, tc.pass)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong name or password") {
				t.Fatalf("got %s:\n%s", resp.Status, body)
			}
			if c.sessionCookie() != nil {
				t.Fatal("a failed login set a session cookie")
			}
		})
	}
	if !strings.Contains(f.logs.String(), "console login failed") || !strings.Contains(f.logs.String(), "audit=true") {
		t.Errorf("no audit line for the failed logins:\n%s", f.logs)
	}
}

func TestLoginWithToken(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	token := "a-long-enough-console-token"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.Users = nil; c.TokenFile = tokenFile })
	c := f.client()
	c.login("", token)
	_, page := c.get("/")
	if !strings.Contains(page, "token (admin)") {
		t.Errorf("the token did not log in as an admin:\n%s", page)
	}
}

func TestLoginFormNeedsItsCSRFToken(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.get("/login")
	resp, _ := c.post("/login", url.Values{"name": {"admin"}, "password": {adminPassword}, "csrf_token": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got %s, want 403", resp.Status)
	}
	// Without the cookie the login page set, the form's own token is not enough either.
	_, page := f.client().get("/login")
	resp, _ = c.post("/login", url.Values{"name": {"admin"}, "password": {adminPassword}, "csrf_token": {csrfOf(t, page)}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("with another client's token: got %s, want 403", resp.Status)
	}
}

func TestChangeWithoutTheCSRFTokenIsRefused(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	good := c.login("admin", adminPassword)
	for _, tc := range []struct {
		name  string
		token string
		code  int
	}{
		{"missing", "", http.StatusForbidden},
		{"forged", "forged-token", http.StatusForbidden},
		{"another session's", f.client().login("admin", adminPassword), http.StatusForbidden},
		{"right", good, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			if tc.token != "" {
				form.Set("csrf_token", tc.token)
			}
			resp, body := c.post("/plugins/delete/ns1", form)
			if resp.StatusCode != tc.code {
				t.Fatalf("got %s, want %d:\n%s", resp.Status, tc.code, body)
			}
		})
	}
	if got := f.backend.deleted; len(got) != 1 {
		t.Errorf("deleted %v, want ns1 once (with the right token only)", got)
	}
}

func TestCSRFTokenInHeader(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/plugins/disable/ns1", nil)
	req.Header.Set("X-CSRF-Token", tok)
	if resp, body := c.do(req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("got %s:\n%s", resp.Status, body)
	}
	if !f.backend.disabled["ns1"] {
		t.Error("ns1 was not disabled")
	}
}

func TestCrossOriginChangeIsRefused(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/plugins/delete/ns1", strings.NewReader(url.Values{"csrf_token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, _ := c.do(req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got %s, want 403", resp.Status)
	}
	if len(f.backend.deleted) != 0 {
		t.Errorf("deleted %v", f.backend.deleted)
	}
}

func TestViewerCannotChangeAnything(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("viewer", viewerPassword)
	for _, path := range []string{"/plugins/save", "/plugins/delete/ns1", "/plugins/disable/ns1", "/plugins/enable/ns1", "/plugins/check/ns1",
		"/rules/save", "/rules/delete/dlp-high", "/mappings/save", "/mappings/delete/ns-to-lake", "/deadletters/replay", "/deadletters/purge"} {
		t.Run(path, func(t *testing.T) {
			form := url.Values{"csrf_token": {tok}, "type": {"netskope"}, "kind": {"source"}, "name": {"ns2"}, "id": {"dl1"}}
			resp, body := c.post(path, form)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "viewer") {
				t.Fatalf("got %s, want 403 naming the role:\n%s", resp.Status, body)
			}
		})
	}
	b := f.backend
	if len(b.saved)+len(b.deleted)+len(b.disabled)+len(b.replayed)+len(b.purged)+len(b.savedRule)+len(b.savedMap) > 0 {
		t.Errorf("a viewer changed the backend: %+v", b)
	}
	if !strings.Contains(f.logs.String(), "refused: the viewer role cannot change anything") {
		t.Errorf("no audit line for the refused change:\n%s", f.logs)
	}
	// What only reads stays open to a viewer: a rule test, a mapping preview.
	resp, body := c.post("/rules/test", url.Values{"csrf_token": {tok}, "filter": {`{"alert_type":"DLP"}`}, "records": {`{"alert_type":"DLP"}`}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-match="true"`) {
		t.Errorf("rule test as a viewer: %s\n%s", resp.Status, body)
	}
	// And a viewer's pages offer no change.
	_, page := c.get("/plugins")
	if strings.Contains(page, `id="delete-ns1"`) || strings.Contains(page, `id="new-plugin"`) {
		t.Error("the Plugins page offers a viewer to change something")
	}
}

func TestReplayedCookieAfterLogoutIsRefused(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	old := c.sessionCookie()
	if old == nil {
		t.Fatal("no session cookie after login")
	}
	resp, _ := c.post("/logout", url.Values{"csrf_token": {tok}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %s", resp.Status)
	}
	// An attacker who copied the cookie before the logout replays it.
	attacker := f.client()
	for _, path := range []string{"/", "/plugins"} {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: old.Name, Value: old.Value})
		resp, body := attacker.do(req)
		if resp.StatusCode != http.StatusSeeOther || strings.Contains(body, "ns1") {
			t.Fatalf("GET %s with the old cookie: %s\n%s", path, resp.Status, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/plugins/delete/ns1", strings.NewReader(url.Values{"csrf_token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: old.Name, Value: old.Value})
	if resp, _ := attacker.do(req); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST with the old cookie and token: %s, want 401", resp.Status)
	}
	if len(f.backend.deleted) != 0 {
		t.Error("the replayed cookie deleted a plugin")
	}
}

func TestSessionExpires(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.SessionTTL = time.Hour })
	c := f.client()
	c.login("admin", adminPassword)
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("fresh session: %s", resp.Status)
	}
	f.clock.Advance(time.Hour)
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the TTL: %s, want 303 to the login", resp.Status)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	resp, _ := c.tryLogin("admin", adminPassword)
	var ck *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == "logshipper_session" {
			ck = x
		}
	}
	if ck == nil {
		t.Fatalf("no session cookie in %v", resp.Header["Set-Cookie"])
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure without TLS", ck)
	}
	if len(ck.Value) < 40 {
		t.Errorf("session id %q is short", ck.Value)
	}
}

func TestLoginAttemptsAreRateLimited(t *testing.T) {
	t.Run("per user", func(t *testing.T) {
		f := newFixture(t, nil)
		for i := range userLoginBurst {
			// Each attempt from another browser at the same address: the limit of the user
			// at that address applies first.
			c := f.client()
			if resp, _ := c.tryLogin("admin", "wrong"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %s", i, resp.Status)
			}
		}
		resp, body := f.client().tryLogin("admin", adminPassword)
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many login attempts") {
			t.Fatalf("attempt past the burst, right password: %s, want 429", resp.Status)
		}
		// Another user is not held back by admin's limit (the client's limit is not reached).
		if resp, _ := f.client().tryLogin("viewer", viewerPassword); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("viewer: %s", resp.Status)
		}
		f.clock.Advance(userLoginInterval)
		if resp, _ := f.client().tryLogin("admin", adminPassword); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after the interval: %s", resp.Status)
		}
		if !strings.Contains(f.logs.String(), "result=rate_limited") {
			t.Errorf("no audit line for the refused attempt:\n%s", f.logs)
		}
	})
	t.Run("per client", func(t *testing.T) {
		f := newFixture(t, nil)
		c := f.client()
		for i := range clientLoginBurst {
			if resp, _ := c.tryLogin("user"+string(rune('a'+i)), "wrong"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %s", i, resp.Status)
			}
		}
		if resp, _ := c.tryLogin("viewer", viewerPassword); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("attempt past the client's burst: %s, want 429", resp.Status)
		}
	})
}

func TestEveryChangeHasAnAuditLine(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	for _, tc := range []struct {
		path   string
		form   url.Values
		action string
		target string
	}{
		{"/plugins/save", url.Values{"type": {"stdout"}, "kind": {"destination"}, "name": {"out1"}, "action": {"save"}}, "plugin.save", "out1"},
		{"/plugins/delete/lake1", nil, "plugin.delete", "lake1"},
		{"/plugins/disable/ns1", nil, "plugin.disable", "ns1"},
		{"/plugins/enable/ns1", nil, "plugin.enable", "ns1"},
		{"/rules/save", url.Values{"name": {"r2"}, "expr": {"true"}}, "rule.save", "r2"},
		{"/rules/delete/r2", nil, "rule.delete", "r2"},
		{"/mappings/save", url.Values{"name": {"m2"}, "source": {"ns1"}, "destination": {"lake1"}}, "mapping.save", "m2"},
		{"/mappings/delete/m2", nil, "mapping.delete", "m2"},
		{"/deadletters/replay", url.Values{"id": {"dl1", "dl2"}}, "deadletter.replay", "dl1,dl2"},
		{"/deadletters/purge", url.Values{"id": {"dl2"}}, "deadletter.purge", "dl2"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			form := url.Values{"csrf_token": {tok}}
			for k, v := range tc.form {
				form[k] = v
			}
			before := len(f.logs.String())
			resp, body := c.post(tc.path, form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: %s\n%s", tc.path, resp.Status, body)
			}
			line := f.logs.String()[before:]
			for _, want := range []string{"audit=true", "user=admin", "role=admin", "action=" + tc.action, "target=" + tc.target, "result=ok", "time="} {
				if !strings.Contains(line, want) {
					t.Errorf("audit line %q lacks %q", line, want)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	users := testConfig(t).Users
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   []string // each a problem's text; none: valid
	}{
		{"loopback with users", func(c *Config) { c.Listen = "127.0.0.1:9871" }, nil},
		{"off", func(c *Config) { c.Listen = ""; c.Users = nil }, nil},
		{"localhost with a token", func(c *Config) { c.Listen = "localhost:9871"; c.Users = nil; c.TokenFile = tokenFile }, nil},
		{"every address with TLS", func(c *Config) { c.Listen = "0.0.0.0:9871"; c.TLS = TLS{CertFile: cert, KeyFile: key} }, nil},
		{"every address without TLS", func(c *Config) { c.Listen = "0.0.0.0:9871" },
			[]string{`listen: "0.0.0.0:9871" is reachable from other machines`, "give tls.cert_file and tls.key_file, or listen on 127.0.0.1"}},
		{"a LAN address without TLS", func(c *Config) { c.Listen = "10.1.2.3:9871" }, []string{"reachable from other machines"}},
		{"IPv6 any without TLS", func(c *Config) { c.Listen = "[::]:9871" }, []string{"reachable from other machines"}},
		{"no login", func(c *Config) { c.Users = nil }, []string{"users, token_file: the console needs a login"}},
		{"no login, every address, TLS", func(c *Config) { c.Users = nil; c.Listen = ":9871"; c.TLS = TLS{CertFile: cert, KeyFile: key} },
			[]string{"the console needs a login"}},
		{"bad listen", func(c *Config) { c.Listen = "9871" }, []string{`listen: "9871" is not host:port`}},
		{"bad role", func(c *Config) { c.Users = []User{{Name: "a", PasswordHash: users[0].PasswordHash, Role: "root"}} },
			[]string{`users[0].role: "root" is not viewer or admin`}},
		{"plain password", func(c *Config) {
			c.Users = []User{{Name: "a", PasswordHash: config.NewSecret("secret"), Role: RoleAdmin}}
		},
			[]string{"users[0].password_hash: not a bcrypt hash"}},
		{"twice the same user", func(c *Config) { c.Users = append(c.Users, users[0]) }, []string{`users[2].name: "admin" is given twice`}},
		{"short token", func(c *Config) { c.TokenFile = short }, []string{"token_file: ", "at least 16 characters"}},
		{"missing token file", func(c *Config) { c.TokenFile = filepath.Join(dir, "nope") }, []string{"token_file: ", "no such file"}},
		{"cert without key", func(c *Config) { c.TLS = TLS{CertFile: cert} }, []string{"key_file: missing"}},
		{"bad TLS version", func(c *Config) { c.TLS = TLS{CertFile: cert, KeyFile: key, MinVersion: "1.1"} }, []string{`min_version: "1.1" is not 1.2 or 1.3`}},
		{"no session TTL", func(c *Config) { c.SessionTTL = 0 }, []string{"session_ttl: must be positive"}},
		{"a user named token", func(c *Config) { c.Users[1].Name = "token" }, []string{`users[1].name: "token" is reserved`}},
		{"name longer than the login takes", func(c *Config) { c.Users[0].Name = strings.Repeat("a", maxLoginName+1) },
			[]string{"users[0].name: longer than 128 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t)
			tc.change(c)
			err := errors.Join(config.ValidateTree(c, "console")...)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, nerr := New(c, newFakeBackend(), nil); nerr == nil {
				t.Error("New accepted what Validate refuses")
			}
		})
	}
}

func TestTokenFileReadableByOthersWarns(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o400, false}, {0o640, true}, {0o644, true}} {
		path := filepath.Join(dir, tc.mode.String())
		if err := os.WriteFile(path, []byte("0123456789abcdef0123\n"), tc.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.mode); err != nil { // past the umask
			t.Fatal(err)
		}
		c := testConfig(t)
		c.TokenFile = path
		w := config.WarnTree(c, "console")
		if got := len(w) == 1 && strings.Contains(w[0], "console: token_file: ") && strings.Contains(w[0], "chmod 600"); got != tc.warn {
			t.Errorf("mode %v: warnings %q, want a warning: %v", tc.mode, w, tc.warn)
		}
	}
}

func TestNewConfigDefaults(t *testing.T) {
	c := NewConfig()
	if c.Listen != "127.0.0.1:9871" || c.SessionTTL != 12*time.Hour {
		t.Errorf("defaults %+v", c)
	}
}

func TestServesTLSWithSecureCookies(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	cfg := testConfig(t)
	cfg.Listen = "127.0.0.1:0"
	cfg.TLS = TLS{CertFile: cert, KeyFile: key, MinVersion: "1.3"}
	s, err := New(cfg, newFakeBackend(), nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := s.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	base := "https://" + addr.String()
	resp, err := hc.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
		t.Fatalf("not TLS 1.3: %+v", resp.TLS)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS header over TLS")
	}
	var loginCk *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-logshipper_login" {
			loginCk = ck
		}
	}
	if loginCk == nil || !loginCk.Secure || !loginCk.HttpOnly || loginCk.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login cookie %+v: want __Host-, Secure, HttpOnly, SameSite=Strict", resp.Cookies())
	}
	form := url.Values{"name": {"admin"}, "password": {adminPassword}, "csrf_token": {loginCk.Value}, "next": {"/"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(loginCk)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	var ss *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-logshipper_session" {
			ss = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || ss == nil || !ss.Secure || !ss.HttpOnly || ss.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login over TLS: %s, cookies %+v", resp.Status, resp.Cookies())
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, nil)
	resp, _ := f.client().get("/login")
	for h, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

// writeCert writes a self-signed certificate for localhost and 127.0.0.1 and its key.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
