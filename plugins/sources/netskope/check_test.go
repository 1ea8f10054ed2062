package netskope

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		intercept func(w http.ResponseWriter, r *http.Request, n int) bool
		want      string // "" for ok
	}{
		{name: "a token reading everything", token: testToken},
		{name: "an unknown token", token: "not-a-token", want: "refused the API token (401 Unauthorized)"},
		{name: "a token for alerts only", token: "alerts-only", want: "may not read 2 of the 4 endpoints configured (403 Forbidden): events/page, events/audit"},
		{name: "rate-limited", token: testToken, intercept: func(w http.ResponseWriter, _ *http.Request, _ int) bool {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}},
		{name: "not a Netskope tenant", token: testToken, intercept: func(w http.ResponseWriter, _ *http.Request, _ int) bool {
			_, _ = w.Write([]byte("<html>sign in</html>"))
			return true
		}, want: "is not a data-export page"},
		{name: "a failing tenant", token: testToken, intercept: func(w http.ResponseWriter, _ *http.Request, _ int) bool {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}, want: "502 Bad Gateway"},
		{name: "a passing fault", token: testToken, intercept: func(w http.ResponseWriter, _ *http.Request, n int) bool {
			if n <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, sim.Options{Tokens: []sim.Token{{Value: testToken}, {Value: "alerts-only", Endpoints: []string{"alerts/*"}}}})
			w.setIntercept(tc.intercept)
			cfg := w.config([]string{"page", "audit"}, []string{"dlp", "uba"})
			cfg.APIToken = config.NewSecret(tc.token)
			s, _ := newSource(t, cfg, state.NewMemory().Namespace("t"))
			fast(s, 1000)
			err := s.Check(context.Background())
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Check: %v; want an error containing %q", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), w.srv.Listener.Addr().String()) {
				t.Errorf("the error does not name the tenant: %v", err)
			}
			if err != nil && strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error shows the token: %v", err)
			}
			// Nothing read, nothing moved: only resends, on the check index.
			for _, r := range w.requests("") {
				if r.op != opResend || r.index != s.checkIndex() {
					t.Errorf("Check asked %s on %s", r.op, r.index)
				}
			}
			if st := w.tenant.Stats(); st.Requests > 0 {
				for ep, e := range st.Endpoints {
					if e.Indexes > 0 {
						t.Errorf("%s: Check created %d indexes", ep, e.Indexes)
					}
				}
			}
		})
	}
}

// validate --check against a host that is not a Netskope tenant (404 Not Found, text/plain, for
// every path) fails.
func TestCheckFailsOnHostThatIsNotATenant(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := NewConfig().(*Config)
	c.Tenant, c.APIToken, c.EventTypes, c.AlertTypes = srv.URL, config.NewSecret(testToken), []string{"audit"}, nil
	s, _ := newSource(t, c, nil)
	if err := s.Check(context.Background()); err == nil {
		t.Fatal("Check passed against a server answering 404 Not Found (text/plain) to every request")
	}
}
