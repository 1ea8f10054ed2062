package browsertest

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
)

func TestFindChromium(t *testing.T) {
	tests := []struct {
		name      string
		env       string
		installed []string // what lookPath finds
		want      string
		wantErr   []string
	}{
		{name: "Debian's chromium", installed: []string{"chromium", "google-chrome"}, want: "/usr/bin/chromium"},
		{name: "chromium-browser", installed: []string{"chromium-browser", "google-chrome"}, want: "/usr/bin/chromium-browser"},
		{name: "google-chrome", installed: []string{"google-chrome"}, want: "/usr/bin/google-chrome"},
		{name: "the variable wins", env: "/opt/chrome/chrome", installed: []string{"chromium", "/opt/chrome/chrome"}, want: "/usr/bin//opt/chrome/chrome"},
		{name: "none", wantErr: []string{"no Chromium found", "chromium, chromium-browser, google-chrome", "scripts/setup.sh"}},
		{name: "the variable names nothing", env: "/nowhere/chrome", installed: []string{"chromium"}, wantErr: []string{"LOGSHIPPER_CHROMIUM=/nowhere/chrome", "scripts/setup.sh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == ChromiumEnv {
					return tt.env
				}
				return ""
			}
			lookPath := func(name string) (string, error) {
				for _, p := range tt.installed {
					if p == name {
						return "/usr/bin/" + name, nil
					}
				}
				return "", fs.ErrNotExist
			}
			got, err := findChromium(getenv, lookPath)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("found %s, want an error", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("the error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestClosedBrowserFailsTheTest(t *testing.T) {
	var b Browser
	if err := b.Close(); err != nil {
		t.Fatalf("closing a browser that never started: %v", err)
	}
	msg := failure(t, func(tb testing.TB) { b.New(tb) })
	if !strings.Contains(msg, "the browser is closed") {
		t.Errorf("New on a closed browser failed with %q", msg)
	}
}

// TestOwnBrowser starts and closes a Browser of its own, as a test binary without Main can.
func TestOwnBrowser(t *testing.T) {
	t.Parallel()
	var b Browser
	s := newSite(t)
	t.Run("tab", func(t *testing.T) {
		ctx := b.New(t)
		Navigate(t, ctx, s.URL+"/login")
		WaitText(t, ctx, CSS("h1"), "Log in")
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.start(); err == nil {
		t.Errorf("start after Close: %v, want an error", err)
	}
}

// logRecorder is a testing.TB that keeps what is logged to it.
type logRecorder struct {
	testing.TB
	mu   sync.Mutex
	logs []string
}

func (r *logRecorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.logs, "\n")
}

func TestPageErrorsGoToTheTestLog(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	rec := &logRecorder{TB: t}
	ctx := New(rec)
	Navigate(t, ctx, s.URL+"/broken")
	err := poll(ctx, func(context.Context) (bool, error) {
		logs := rec.String()
		return strings.Contains(logs, "an error the page logs") && strings.Contains(logs, "Cannot read properties of null"), nil
	})
	if err != nil {
		t.Errorf("the page's errors are not in the test's log: %v; it has:\n%s", err, rec.String())
	}
}
