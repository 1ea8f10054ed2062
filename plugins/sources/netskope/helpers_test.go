package netskope

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/state"
)

const testToken = "secret-token-value-0123456789"

// world is a simulated tenant behind a real HTTP server, with a log of the requests it got.
type world struct {
	t      *testing.T
	tenant *sim.Tenant
	srv    *httptest.Server

	mu   sync.Mutex
	reqs []request
	// intercept, when set, may answer a request instead of the tenant (returning true).
	intercept func(w http.ResponseWriter, r *http.Request, n int) bool
}

// request is one request the server got.
type request struct {
	at       time.Time
	endpoint string // "alerts/dlp"
	index    string
	op       string
}

func newWorld(t *testing.T, opts sim.Options) *world {
	t.Helper()
	if opts.Tokens == nil {
		opts.Tokens = []sim.Token{{Value: testToken}}
	}
	w := &world{t: t, tenant: sim.New(opts)}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *world) serve(rw http.ResponseWriter, r *http.Request) {
	ep, _ := sim.ParseEndpoint(r.URL.Path)
	q := r.URL.Query()
	w.mu.Lock()
	w.reqs = append(w.reqs, request{at: time.Now(), endpoint: ep.String(), index: q.Get("index"), op: q.Get("operation")})
	n := len(w.reqs)
	f := w.intercept
	w.mu.Unlock()
	if f != nil && f(rw, r, n) {
		return
	}
	w.tenant.ServeHTTP(rw, r)
}

func (w *world) setIntercept(f func(w http.ResponseWriter, r *http.Request, n int) bool) {
	w.mu.Lock()
	w.intercept = f
	w.mu.Unlock()
}

// requests returns the requests to an endpoint ("" for all).
func (w *world) requests(endpoint string) []request {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []request
	for _, r := range w.reqs {
		if endpoint == "" || r.endpoint == endpoint {
			out = append(out, r)
		}
	}
	return out
}

// ids returns the distinct _ids an endpoint holds.
func (w *world) ids(kind sim.Kind, typ string) []string { return w.tenant.UniqueIDs(kind, typ) }

// generate has the tenant make n new records of the endpoint and returns their ids.
func (w *world) generate(t *testing.T, kind sim.Kind, typ string, n int) []string {
	t.Helper()
	if err := w.tenant.Generate(kind, typ, n); err != nil {
		t.Fatal(err)
	}
	recs := w.tenant.Records(kind, typ)
	ids := make([]string, 0, n)
	for _, r := range recs[len(recs)-n:] {
		ids = append(ids, r.ID)
	}
	return ids
}

// testConfig returns a valid configuration for the world reading the given endpoints.
func (w *world) config(events, alerts []string) *Config {
	c := NewConfig().(*Config)
	c.Tenant = w.srv.URL
	c.APIToken = config.NewSecret(testToken)
	c.EventTypes = events
	c.AlertTypes = alerts
	c.Start = "-72h"
	if err := c.Validate(); err != nil {
		w.t.Fatal(err)
	}
	return c
}

// fast makes a source poll and retry quickly: no wait_time longer than 20ms, backoff from 2ms
// to 20ms, perSecond requests per second per endpoint (0: the API's 4).
func fast(s *Source, perSecond float64) *Source {
	s.tune.maxWait = 20 * time.Millisecond
	s.tune.backoffBase = 2 * time.Millisecond
	s.tune.maxBackoff = 20 * time.Millisecond
	if perSecond > 0 {
		s.tune.perSecond = perSecond
	}
	return s
}

func newSource(t *testing.T, cfg *Config, store state.Store) (*Source, plugin.Settings) {
	t.Helper()
	set := plugintest.Settings(t, "ns-test", store)
	s, err := New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	return s, set
}

// idsOf returns the distinct ids of records, sorted.
func idsOf(recs []*event.Record) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range recs {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r.ID)
		}
	}
	sort.Strings(out)
	return out
}

// waitIDs waits until pub published every id of want.
func waitIDs(t *testing.T, pub *plugintest.Publisher, want []string, timeout time.Duration) {
	t.Helper()
	pub.WaitUntil(t, timeout, "every id to be published", func() bool {
		got := map[string]bool{}
		for _, r := range pub.Records() {
			got[r.ID] = true
		}
		for _, id := range want {
			if !got[id] {
				return false
			}
		}
		return true
	})
}

// missing returns the ids of want not in got.
func missing(want, got []string) []string {
	var out []string
	for _, id := range want {
		if _, ok := slices.BinarySearch(got, id); !ok {
			out = append(out, id)
		}
	}
	return out
}

// runFor starts s with pub and returns a function that stops it and returns Run's error.
func runFor(t *testing.T, s plugin.Source, pub *plugintest.Publisher) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		defer pub.Close()
		done <- s.Run(ctx, pub)
	}()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(plugintest.DefaultTimeout):
				t.Errorf("Run did not return within %s of its context's end", plugintest.DefaultTimeout)
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func simDefaults() sim.Options { return sim.Options{RateLimit: -1} }

func counter(c prometheus.Counter) float64 { return testutil.ToFloat64(c) }
