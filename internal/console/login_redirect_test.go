package console

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"
)

var nextRE = regexp.MustCompile(`name="next" value="([^"]*)"`)

// redirectCases are login `next` values and where the login may send the browser after it.
var redirectCases = []struct {
	name, next, want string
}{
	{"a page", "/plugins", "/plugins"},
	{"a page with a query", "/rules?edit=dlp-high", "/rules?edit=dlp-high"},
	{"empty", "", "/"},
	{"another host", "//evil.example", "/"},
	{"another scheme and host", "https://evil.example", "/"},
	{"javascript", "javascript:alert(1)", "/"},
	{"relative", "evil.example", "/"},
	{"backslash after the slash", "/\\evil.example", "/"},
	{"backslash first", "\\\\evil.example", "/"},
	{"backslash later", "/plugins\\..\\\\evil.example", "/"},
	{"tab", "/\t/evil.example", "/"},
	{"newline", "/\n/evil.example", "/"},
	{"carriage return", "/\r/evil.example", "/"},
	{"DEL", "/\x7f/evil.example", "/"},
	{"escaped slash", "/%2F/evil.example", "/"},
	{"escaped backslash", "/%5Cevil.example", "/"},
	{"user info", "//user@evil.example/", "/"},
	{"escaped in the path stays escaped", "/plugins/edit/a%20b", "/plugins/edit/a%20b"},
}

func TestSafeNextKeepsTheRedirectOnTheSite(t *testing.T) {
	for _, tc := range redirectCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := safeNext(tc.next); got != tc.want {
				t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
			}
		})
	}
}

func TestLoginRedirectsOnlyToThisSite(t *testing.T) {
	f := newFixture(t, nil)
	t.Run("POST", func(t *testing.T) {
		for _, tc := range redirectCases {
			t.Run(tc.name, func(t *testing.T) {
				c := f.client()
				_, page := c.get("/login")
				f.clock.Advance(userLoginInterval) // one login each, from the same client: never limited
				resp, body := c.post("/login", url.Values{"csrf_token": {csrfOf(t, page)}, "name": {"admin"}, "password": {adminPassword}, "next": {tc.next}})
				if resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("login: %s\n%s", resp.Status, body)
				}
				if got := resp.Header.Get("Location"); got != tc.want {
					t.Errorf("next %q: Location %q, want %q", tc.next, got, tc.want)
				}
			})
		}
	})
	t.Run("GET with a session", func(t *testing.T) {
		c := f.client()
		f.clock.Advance(userLoginInterval)
		c.login("admin", adminPassword)
		for _, tc := range redirectCases {
			t.Run(tc.name, func(t *testing.T) {
				resp, _ := c.get("/login?next=" + url.QueryEscape(tc.next))
				if resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("got %s, want 303", resp.Status)
				}
				if got := resp.Header.Get("Location"); got != tc.want {
					t.Errorf("next %q: Location %q, want %q", tc.next, got, tc.want)
				}
			})
		}
	})
	t.Run("GET without a session", func(t *testing.T) {
		c := f.client()
		for _, tc := range redirectCases {
			t.Run(tc.name, func(t *testing.T) {
				_, page := c.get("/login?next=" + url.QueryEscape(tc.next))
				m := nextRE.FindStringSubmatch(page)
				if m == nil {
					t.Fatalf("no next in the login form:\n%s", page)
				}
				if got := html.UnescapeString(m[1]); got != tc.want {
					t.Errorf("next %q: the form sends %q, want %q", tc.next, got, tc.want)
				}
			})
		}
	})
}
