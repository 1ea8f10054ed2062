package console

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// loginFrom fills the login form as a browser at the IP address addr would (through the
// handler, so that the client's address can be any) and returns the answer's status.
func (f *fixture) loginFrom(addr, name, password string) int {
	f.t.Helper()
	remote := net.JoinHostPort(addr, "40000")
	get := httptest.NewRequest(http.MethodGet, "/login", nil)
	get.Host, get.RemoteAddr = "127.0.0.1", remote
	rec := httptest.NewRecorder()
	f.console.ServeHTTP(rec, get)
	form := url.Values{"csrf_token": {csrfOf(f.t, rec.Body.String())}, "name": {name}, "password": {password}, "next": {"/"}}
	post := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	post.Host, post.RemoteAddr = "127.0.0.1", remote
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range rec.Result().Cookies() {
		post.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	f.console.ServeHTTP(rec, post)
	return rec.Code
}

func TestOneAttackerCannotLockAUserOut(t *testing.T) {
	f := newFixture(t, nil)
	for range 3 * clientLoginBurst {
		if code := f.loginFrom("192.0.2.66", "admin", "guess"); code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
			t.Fatalf("attacker: %d", code)
		}
	}
	if code := f.loginFrom("192.0.2.66", "admin", adminPassword); code != http.StatusTooManyRequests {
		t.Fatalf("the attacker's address is not limited: %d", code)
	}
	if code := f.loginFrom("198.51.100.7", "admin", adminPassword); code != http.StatusSeeOther {
		t.Fatalf("the admin, from another address, got %d, want 303 (logged in)", code)
	}
}

func TestSuccessfulLoginsDoNotSpendTheUsersLimit(t *testing.T) {
	f := newFixture(t, nil)
	for i := range 2 * userFailBurst {
		if code := f.loginFrom(fmt.Sprintf("198.51.100.%d", i+1), "admin", adminPassword); code != http.StatusSeeOther {
			t.Fatalf("login %d: %d, want 303", i, code)
		}
	}
}

func TestFailuresFromManyAddressesBackTheUserOff(t *testing.T) {
	f := newFixture(t, nil)
	for i := range userFailBurst {
		if code := f.loginFrom(fmt.Sprintf("203.0.113.%d", i+1), "admin", "guess"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i, code)
		}
	}
	if code := f.loginFrom("198.51.100.7", "admin", adminPassword); code != http.StatusTooManyRequests {
		t.Fatalf("past the user's failures: %d, want 429", code)
	}
	if code := f.loginFrom("198.51.100.7", "viewer", viewerPassword); code != http.StatusSeeOther {
		t.Fatalf("another user: %d, want 303", code)
	}
	f.clock.Advance(userFailInterval)
	if code := f.loginFrom("198.51.100.7", "admin", adminPassword); code != http.StatusSeeOther {
		t.Fatalf("after the interval: %d, want 303", code)
	}
}

func TestIPv6ClientIsLimitedByItsSlash64(t *testing.T) {
	f := newFixture(t, nil)
	for i := range clientLoginBurst {
		if code := f.loginFrom(fmt.Sprintf("2001:db8:1:2::%x", i+1), fmt.Sprintf("user%d", i), "guess"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i, code)
		}
	}
	if code := f.loginFrom("2001:db8:1:2:ffff:ffff:ffff:ffff", "viewer", viewerPassword); code != http.StatusTooManyRequests {
		t.Fatalf("another address of the same /64: %d, want 429", code)
	}
	if code := f.loginFrom("2001:db8:1:3::1", "viewer", viewerPassword); code != http.StatusSeeOther {
		t.Fatalf("another /64: %d, want 303", code)
	}
}

func TestClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::1%eth0": "2001:db8:1:2::/64",
		"not an address":       "not an address",
	} {
		if got := clientKey(addr); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", addr, got, want)
		}
	}
}
