package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestLoginAndStream is the smoke test of the harness: a user logs in through the form, sees
// the next page, and sees the lines of its event stream appear.
func TestLoginAndStream(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := New(t)

	if status := Navigate(t, ctx, s.URL+"/login"); status != http.StatusOK {
		t.Fatalf("GET /login: status %d, want 200", status)
	}
	Fill(t, ctx, ID("user"), siteUser)
	Fill(t, ctx, TestID("password"), sitePassword)
	Fill(t, ctx, Name("role"), "admin")
	Submit(t, ctx, ID("login"))

	WaitText(t, ctx, TestID("welcome"), "Welcome, ada (admin)")
	if u := URL(t, ctx); !strings.HasPrefix(u, s.URL+"/live") {
		t.Errorf("after logging in the page is %s, want %s/live", u, s.URL)
	}
	lines := Follow(t, ctx, ID("lines"))
	s.publish("first streamed line")
	if got := lines.Next(t); got != "first streamed line" {
		t.Errorf("first line %q, want %q", got, "first streamed line")
	}
	WaitText(t, ctx, ID("status"), "connected")
	s.publish("second line")
	s.publish("third line, the one awaited")
	if got := lines.WaitFor(t, "awaited"); got != "third line, the one awaited" {
		t.Errorf("WaitFor returned %q", got)
	}
	WaitText(t, ctx, ID("lines"), "second line")
}

func TestWrongPasswordShowsTheError(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := New(t)

	Navigate(t, ctx, s.URL+"/login")
	Fill(t, ctx, Name("user"), siteUser)
	Fill(t, ctx, Name("password"), "wrong")
	Click(t, ctx, Name("remember"))
	ClickToPage(t, ctx, ID("submit"))
	if got := Text(t, ctx, CSS("[role=alert]")); got != "Wrong user or password." {
		t.Errorf("alert %q, want %q", got, "Wrong user or password.")
	}
	// A second attempt, this time with Enter in the password field.
	Fill(t, ctx, Name("user"), siteUser)
	Fill(t, ctx, Name("password"), sitePassword+"\n")
	WaitText(t, ctx, TestID("welcome"), "Welcome, ada")
	ClickToPage(t, ctx, ID("again"))
	WaitVisible(t, ctx, ID("login"))
	WaitGone(t, ctx, TestID("welcome"))
}

// TestTabsHaveTheirOwnCookies checks that each tab has a browser context of its own: a login
// in one tab is not a login in another.
func TestTabsHaveTheirOwnCookies(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	first, second := New(t), New(t)

	Navigate(t, first, s.URL+"/login")
	Fill(t, first, Name("user"), siteUser)
	Fill(t, first, Name("password"), sitePassword)
	Submit(t, first, Name("password"))
	WaitText(t, first, TestID("welcome"), "Welcome")

	Navigate(t, second, s.URL+"/live")
	WaitVisible(t, second, ID("login"))
	if u := URL(t, second); u != s.URL+"/login" {
		t.Errorf("the second tab is at %s, want the login page", u)
	}
}

// fatalRecorder is a testing.TB whose Fatalf keeps the message and ends the goroutine, as
// t.Fatalf does, so that a test can check how a helper fails.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// failure runs do with a recorder and returns the message it failed with, "" when it did not.
func failure(t *testing.T, do func(tb testing.TB)) string {
	t.Helper()
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		do(rec)
	}()
	<-done
	return rec.msg
}

// TestHelpersFailWithWhatThePageShows checks that each helper fails the test, rather than
// passing or hanging, when the page does not do what the test expects, and says why.
func TestHelpersFailWithWhatThePageShows(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := New(t)

	tests := []struct {
		name string
		do   func(tb testing.TB, ctx context.Context)
		want []string
	}{
		{
			name: "text that never shows",
			do:   func(tb testing.TB, ctx context.Context) { WaitText(tb, ctx, CSS("h1"), "Welcome") },
			want: []string{`waiting for h1 to show "Welcome"`, `it shows "Log in"`, "deadline exceeded", "/login shows:"},
		},
		{
			name: "an element that is never visible",
			do:   func(tb testing.TB, ctx context.Context) { Click(tb, ctx, CSS(".hint")) },
			want: []string{"clicking .hint: no visible element matches .hint"},
		},
		{
			name: "an option that the select lacks",
			do:   func(tb testing.TB, ctx context.Context) { Fill(tb, ctx, Name("role"), "root") },
			want: []string{`no option "root"`, `["viewer","admin"]`},
		},
		{
			name: "a check box filled",
			do:   func(tb testing.TB, ctx context.Context) { Fill(tb, ctx, Name("remember"), "yes") },
			want: []string{"input of type checkbox", "use Click"},
		},
		{
			name: "a form with a required field empty",
			do:   func(tb testing.TB, ctx context.Context) { Submit(tb, ctx, ID("login")) },
			want: []string{"the form is not valid", "user:"},
		},
		{
			name: "a click that loads no page",
			do:   func(tb testing.TB, ctx context.Context) { ClickToPage(tb, ctx, Name("remember")) },
			want: []string{"clicking [name=\"remember\"]: no new page loaded"},
		},
		{
			name: "a follower whose page is gone",
			do: func(tb testing.TB, ctx context.Context) {
				f := Follow(tb, ctx, CSS("form"))
				Navigate(tb, ctx, s.URL+"/login")
				f.Next(tb)
			},
			want: []string{"waiting for line 1 of form", "the page was replaced"},
		},
		{
			name: "a follower that reads nothing",
			do: func(tb testing.TB, ctx context.Context) {
				Follow(tb, ctx, CSS("form")).WaitFor(tb, "never")
			},
			want: []string{`waiting for a line of form with "never"`, "deadline exceeded"},
		},
	}
	for _, tt := range tests {
		Navigate(t, ctx, s.URL+"/login")
		short, cancel := context.WithTimeout(ctx, time.Second)
		msg := failure(t, func(tb testing.TB) { tt.do(tb, short) })
		cancel()
		if msg == "" {
			t.Errorf("%s: the helper did not fail", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: the failure does not say %q:\n%s", tt.name, w, msg)
			}
		}
	}
}

func TestSelectorsQuoteValues(t *testing.T) {
	tests := []struct {
		got  Selector
		want string
	}{
		{ID("user"), `[id="user"]`},
		{Name(`a"b`), `[name="a\"b"]`},
		{TestID(`back\slash`), `[data-testid="back\\slash"]`},
		{TestID("two\nlines"), `[data-testid="two\a lines"]`},
		{CSS("ul > li"), `ul > li`},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}
