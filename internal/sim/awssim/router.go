package awssim

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Router serves every AWS service of the simulator on one listener, as a single endpoint URL for
// all of them (what `--endpoint-url` and the SDKs' BaseEndpoint point at). It verifies the SigV4
// signature of each request and dispatches it by the service named in its credential scope
// (logs, cloudtrail-data, cloudtrail, sts, ...). Authentication failures are written in the
// protocol of the service the request was meant for.
type Router struct {
	v      *Verifier
	mu     sync.RWMutex
	routes map[string]*route
}

type route struct {
	service string
	h       http.Handler
	errw    ErrorWriter
}

// RouteOption configures a service registered on a Router.
type RouteOption func(*route)

// RouteErrors sets how authentication failures of requests to the service are written
// (default JSONErrors; STS uses QueryErrors).
func RouteErrors(ew ErrorWriter) RouteOption { return func(rt *route) { rt.errw = ew } }

// NewRouter returns a router verifying requests with v.
func NewRouter(v *Verifier) *Router {
	return &Router{v: v, routes: map[string]*route{}}
}

// Verifier returns the router's verifier.
func (rt *Router) Verifier() *Verifier { return rt.v }

// Handle registers h for requests signed for service (the SigV4 signing name). h sees only
// verified requests, with their Caller in the context.
func (rt *Router) Handle(service string, h http.Handler, opts ...RouteOption) {
	r := &route{service: service, h: h, errw: JSONErrors}
	for _, o := range opts {
		o(r)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.routes[service] = r
}

// Services returns the registered services' names, sorted.
func (rt *Router) Services() []string {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	var s []string
	for name := range rt.routes {
		s = append(s, name)
	}
	sort.Strings(s)
	return s
}

// ServeHTTP dispatches r.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r, _ = EnsureRequestID(w, r)
	w.Header().Set("Date", rt.v.now().UTC().Format(http.TimeFormat))

	service := ScopeService(r)
	rt.mu.RLock()
	target := rt.routes[service]
	rt.mu.RUnlock()
	if target != nil {
		rt.v.serve(w, r, target.errw, target.h)
		return
	}

	errw := rt.guessErrors(r)
	if service == "" {
		// No usable Authorization header: let the verifier say what is wrong with it.
		if _, err := rt.v.Verify(r); err != nil {
			errw.WriteError(w, r, err)
			return
		}
	}
	errw.WriteError(w, r, invalidSignature(fmt.Sprintf(
		"Credential should be scoped to correct service: %s; cloudsim serves no service '%s'.",
		quoteList(rt.Services()), service)))
}

// guessErrors picks the error format for a request that names no registered service: the
// service of the host name (sts.us-east-1.amazonaws.com), else the query protocol for form posts
// and Action= queries, else S3's for methods other than POST when S3 is served, else JSON.
func (rt *Router) guessErrors(r *http.Request) ErrorWriter {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	first, _, _ := strings.Cut(host, ".")
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	if target := rt.routes[first]; target != nil {
		return target.errw
	}
	if r.Header.Get("X-Amz-Target") != "" {
		return JSONErrors
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" || r.URL.Query().Get("Action") != "" {
		for _, name := range sortedKeys(rt.routes) {
			if q, ok := rt.routes[name].errw.(QueryErrors); ok {
				return q
			}
		}
	}
	// The JSON and query protocols POST; any other method is S3's REST protocol.
	if target := rt.routes["s3"]; target != nil && r.Method != http.MethodPost {
		return target.errw
	}
	return JSONErrors
}

func sortedKeys(m map[string]*route) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	switch len(q) {
	case 0:
		return "(none)"
	case 1:
		return q[0]
	default:
		return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
	}
}
