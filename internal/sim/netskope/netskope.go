// Package netskope simulates a Netskope tenant's REST API v2 data-export
// iterator endpoints:
//
//	GET /api/v2/events/dataexport/events/<type>?index=<name>&operation=<op>
//	GET /api/v2/events/dataexport/alerts/<type>?index=<name>&operation=<op>
//
// with the Netskope-Api-Token header, server-side iterator indexes
// (epoch, next, head, tail, resend), 10,000-record pages, wait_time and
// timestamp_hwm, the 4 requests per second per endpoint rate limit with its
// RateLimit-* headers, 401/403 for unknown or under-scoped tokens, and
// switchable faults (injected 429s, 5xx, bodies cut short, slow answers,
// "ok": 0).
//
// Records are generated from Netskope's own field dictionary (embedded in
// fields.json, see README.md), continuously at a rate and/or as a backlog
// spread over a past time range, deterministically from a seed; or loaded
// verbatim from JSON or NDJSON files with LoadFile.
//
// A Tenant is an http.Handler and is safe for concurrent use.
package netskope

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PathPrefix is the common prefix of every data-export endpoint.
const PathPrefix = "/api/v2/events/dataexport/"

// TokenHeader carries the REST API v2 token.
const TokenHeader = "Netskope-Api-Token"

// Kind is the first path element after PathPrefix.
type Kind string

// The two endpoint families.
const (
	Events Kind = "events"
	Alerts Kind = "alerts"
)

// EventTypes and AlertTypes are the data-export endpoint types.
var (
	EventTypes = []string{"page", "application", "audit", "infrastructure", "network", "incident", "endpoint"}
	AlertTypes = []string{"compromisedcredential", "policy", "malsite", "malware", "dlp", "securityassessment", "watchlist", "quarantine", "remediation", "uba", "ctep", "device", "content"}
)

// Endpoint names one data-export endpoint.
type Endpoint struct {
	Kind Kind
	Type string
}

// String returns "events/page", "alerts/dlp", ...
func (e Endpoint) String() string { return string(e.Kind) + "/" + e.Type }

// Path returns the endpoint's URL path.
func (e Endpoint) Path() string { return PathPrefix + e.String() }

// Endpoints lists the 20 data-export endpoints, events first.
func Endpoints() []Endpoint {
	out := make([]Endpoint, 0, len(EventTypes)+len(AlertTypes))
	for _, t := range EventTypes {
		out = append(out, Endpoint{Events, t})
	}
	for _, t := range AlertTypes {
		out = append(out, Endpoint{Alerts, t})
	}
	return out
}

// ParseEndpoint accepts "events/page", "alerts/dlp" or a full path
// ("/api/v2/events/dataexport/alerts/dlp").
func ParseEndpoint(s string) (Endpoint, error) {
	s = strings.TrimPrefix(s, "/")
	s = strings.TrimPrefix(s, strings.TrimPrefix(PathPrefix, "/"))
	kind, typ, ok := strings.Cut(s, "/")
	ep := Endpoint{Kind(kind), typ}
	if !ok {
		return ep, fmt.Errorf("netskope: endpoint %q: want events/<type> or alerts/<type>", s)
	}
	if _, known := typeDefs[ep]; !known {
		return ep, fmt.Errorf("netskope: unknown endpoint %q", s)
	}
	return ep, nil
}

// Token is a REST API v2 token and the endpoints it may read.
type Token struct {
	Value string
	// Endpoints the token may read: "events/page", "alerts/*", "events/*",
	// "*" or full paths. Empty means every data-export endpoint.
	Endpoints []string
	// Expires makes the token unknown (401) from that time on; zero never.
	Expires time.Time
}

func (tk Token) allows(ep Endpoint) bool {
	if len(tk.Endpoints) == 0 {
		return true
	}
	for _, s := range tk.Endpoints {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "/"), strings.TrimPrefix(PathPrefix, "/"))
		switch s {
		case "*", ep.String(), string(ep.Kind) + "/*":
			return true
		}
	}
	return false
}

// Generator makes records for one endpoint.
type Generator struct {
	// Rate is records per second, generated continuously from New on
	// (lazily, on each request, according to the clock).
	Rate float64
	// Backlog records exist at New, spread evenly over the BacklogSpan
	// before it (default 24h).
	Backlog     int
	BacklogSpan time.Duration
	// DuplicateRate (0..1) is the share of generated records that repeat an
	// earlier record of the same endpoint byte for byte (same _id).
	DuplicateRate float64
	// MaxLag lets "timestamp" lag "_insertion_epoch_timestamp" by a random
	// 0..MaxLag (whole seconds). Zero: equal.
	MaxLag time.Duration
	// Omit lists top-level fields the generated records leave out, as real
	// records do (incident records and several vendors' samples have no
	// "_insertion_epoch_timestamp"): "_insertion_epoch_timestamp",
	// "timestamp", "_id", any field. A record's place on the iterator
	// clock does not change. Without "_id" a record's ID (Records,
	// UniqueIDs) is "".
	Omit []string
}

// NewIndexStart says where an index seen for the first time with
// operation=next starts.
type NewIndexStart string

// Where a new index starts.
const (
	StartAtTail NewIndexStart = "tail" // records inserted from now on (default)
	StartAtHead NewIndexStart = "head" // the oldest retained record
)

// Options configure a Tenant. The zero value is usable: any non-empty token
// is accepted, nothing is generated, defaults as documented per field.
type Options struct {
	// Tokens known to the tenant. Empty: any non-empty token is accepted
	// for every endpoint.
	Tokens []Token
	// Seed makes generated records deterministic.
	Seed int64
	// Now is the clock (default time.Now); it must be safe for concurrent
	// use. See ManualClock.
	Now func() time.Time
	// Generators per endpoint. Keys: "events/page", "alerts/dlp", ...,
	// "events/*", "alerts/*" or "*" (the most specific key wins).
	Generators map[string]Generator
	// PageSize is the most records in a page (default and maximum 10,000).
	PageSize int
	// PageSpan limits one page to records inserted within this span of its
	// first record ("one hour batches"; default 1h; negative: no limit).
	PageSpan time.Duration
	// WaitTime is the wait_time in seconds when the consumer has caught up
	// with an empty page (default 5); partial last pages get less, pages
	// with more data ready after them get 0.
	WaitTime int
	// NewIndexStart: where operation=next on an unknown index starts
	// (default StartAtTail).
	NewIndexStart NewIndexStart
	// RateLimit is requests per second per token and endpoint (default 4;
	// negative: unlimited).
	RateLimit int
	// MaxRecords kept per endpoint; the oldest go first (default 250,000;
	// negative: unlimited).
	MaxRecords int
	// Retention drops records inserted longer ago (zero: keep).
	Retention time.Duration
	// Faults to inject from the start; see SetFaults.
	Faults Faults
}

const (
	maxPageSize       = 10000
	defaultWaitTime   = 5
	defaultRateLimit  = 4
	defaultMaxRecords = 250_000
	defaultSpan       = time.Hour
)

// Tenant is a simulated Netskope tenant. Create it with New.
type Tenant struct {
	opts    Options
	now     func() time.Time
	streams map[Endpoint]*stream

	tokMu    sync.RWMutex
	tokens   map[string]Token
	openAuth bool

	limiter *limiter

	faultMu sync.Mutex
	faults  Faults
	faultR  rng

	requests  atomic.Int64
	statusMu  sync.Mutex
	byStatus  map[int]int64
	faultStat faultCounters
}

// New builds a tenant. It panics only if the embedded field table is
// broken, which tests catch.
func New(opts Options) *Tenant {
	specs, err := typeSpecs()
	if err != nil {
		panic(err)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PageSize <= 0 || opts.PageSize > maxPageSize {
		opts.PageSize = maxPageSize
	}
	if opts.PageSpan == 0 {
		opts.PageSpan = defaultSpan
	}
	if opts.WaitTime <= 0 {
		opts.WaitTime = defaultWaitTime
	}
	if opts.NewIndexStart == "" {
		opts.NewIndexStart = StartAtTail
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = defaultRateLimit
	}
	if opts.MaxRecords == 0 {
		opts.MaxRecords = defaultMaxRecords
	}
	t := &Tenant{
		opts:     opts,
		now:      opts.Now,
		streams:  make(map[Endpoint]*stream),
		tokens:   make(map[string]Token),
		openAuth: len(opts.Tokens) == 0,
		limiter:  newLimiter(opts.RateLimit),
		faults:   opts.Faults,
		faultR:   rng{s: mix64(uint64(opts.Seed) ^ 0xfa17)},
		byStatus: make(map[int]int64),
	}
	for _, tk := range opts.Tokens {
		t.tokens[tk.Value] = tk
	}
	start := t.now()
	seedMix := mix64(uint64(opts.Seed) ^ 0x5eed)
	usedPrefix := map[uint32]bool{}
	for i, ep := range Endpoints() {
		prefix := uint32(mix64(seedMix^uint64(i+1)) >> 32)
		for usedPrefix[prefix] {
			prefix++
		}
		usedPrefix[prefix] = true
		h := fnv.New64a()
		h.Write([]byte(ep.String()))
		s := &stream{
			ep:      ep,
			spec:    specs[ep],
			t:       t,
			salt:    h.Sum64(),
			prefix:  prefix,
			seedMix: seedMix,
			cursors: make(map[string]*cursor),
		}
		s.gen.cfg = generatorFor(opts.Generators, ep)
		if len(s.gen.cfg.Omit) > 0 {
			s.gen.omit = make(map[string]bool, len(s.gen.cfg.Omit))
			for _, f := range s.gen.cfg.Omit {
				s.gen.omit[f] = true
			}
		}
		s.gen.start = start
		s.addBacklog(start)
		t.streams[ep] = s
	}
	return t
}

func generatorFor(m map[string]Generator, ep Endpoint) Generator {
	for _, k := range []string{ep.String(), string(ep.Kind) + "/*", "*"} {
		if g, ok := m[k]; ok {
			return g
		}
	}
	return Generator{}
}

func (t *Tenant) stream(kind Kind, typ string) (*stream, error) {
	s, ok := t.streams[Endpoint{kind, typ}]
	if !ok {
		return nil, fmt.Errorf("netskope: unknown endpoint %s/%s", kind, typ)
	}
	return s, nil
}

// AddToken adds or replaces a token. Once tokens exist, only they are
// accepted.
func (t *Tenant) AddToken(tk Token) {
	t.tokMu.Lock()
	defer t.tokMu.Unlock()
	t.tokens[tk.Value] = tk
	t.openAuth = false
}

// RevokeToken forgets a token: its next call gets 401.
func (t *Tenant) RevokeToken(value string) {
	t.tokMu.Lock()
	defer t.tokMu.Unlock()
	delete(t.tokens, value)
	t.openAuth = false
}

func (t *Tenant) lookupToken(v string, now time.Time) (Token, bool) {
	if v == "" {
		return Token{}, false
	}
	t.tokMu.RLock()
	defer t.tokMu.RUnlock()
	if t.openAuth {
		return Token{Value: v}, true
	}
	tk, ok := t.tokens[v]
	if ok && !tk.Expires.IsZero() && !now.Before(tk.Expires) {
		return Token{}, false
	}
	return tk, ok
}

// Generate adds n freshly generated records to an endpoint now.
func (t *Tenant) Generate(kind Kind, typ string, n int) error {
	s, err := t.stream(kind, typ)
	if err != nil {
		return err
	}
	now := t.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(now)
	for i := 0; i < n; i++ {
		s.appendGenerated(now.Unix())
	}
	s.trim(now)
	return nil
}

// Record is one record held by the tenant.
type Record struct {
	ID        string // "_id" ("" if the record has none)
	Timestamp int64  // "timestamp" (0 if absent or not a number)
	Inserted  int64  // position on the iterator clock (_insertion_epoch_timestamp)
	Duplicate bool   // generated as a repeat of an earlier record
	Raw       json.RawMessage
}

// Records lists every record an endpoint holds now, in iterator order,
// duplicates included (Duplicate set). Raw shares the tenant's bytes: do
// not modify it.
func (t *Tenant) Records(kind Kind, typ string) []Record {
	s, err := t.stream(kind, typ)
	if err != nil {
		return nil
	}
	now := t.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(now)
	out := make([]Record, len(s.recs))
	for i, r := range s.recs {
		out[i] = Record{ID: r.id, Timestamp: r.ts, Inserted: r.ins, Duplicate: r.dup, Raw: json.RawMessage(r.raw)}
	}
	return out
}

// UniqueIDs returns the distinct _id values an endpoint holds now, sorted.
func (t *Tenant) UniqueIDs(kind Kind, typ string) []string {
	recs := t.Records(kind, typ)
	seen := make(map[string]struct{}, len(recs))
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		if _, ok := seen[r.ID]; ok {
			continue
		}
		seen[r.ID] = struct{}{}
		out = append(out, r.ID)
	}
	sort.Strings(out)
	return out
}

// Stats is a snapshot of what the tenant did.
type Stats struct {
	Requests  int64                    // HTTP requests received
	ByStatus  map[int]int64            // answers by HTTP status
	Faults    FaultStats               // faults injected
	Endpoints map[string]EndpointStats // by "events/page", ...
}

// FaultStats counts injected faults.
type FaultStats struct {
	Throttled    int64 // injected 429s (ThrottleRate), not the limiter's own
	ServerErrors int64
	CutBodies    int64
	Slow         int64
	OKZero       int64
}

// EndpointStats describes one endpoint.
type EndpointStats struct {
	Generated  int64 // records generated, duplicates included
	Duplicates int64 // generated repeats of earlier records
	Loaded     int64 // records loaded from files
	Dropped    int64 // records dropped by MaxRecords/Retention
	Retained   int   // records held now
	Pages      int64 // pages answered (200, ok 1), resends included
	Resends    int64 // of which resends
	Served     int64 // records in those pages
	Indexes    int   // iterator indexes known
	LastID     string
}

// Stats returns counters; it also brings generation up to now.
func (t *Tenant) Stats() Stats {
	st := Stats{
		Requests:  t.requests.Load(),
		ByStatus:  map[int]int64{},
		Endpoints: map[string]EndpointStats{},
		Faults: FaultStats{
			Throttled:    t.faultStat.throttled.Load(),
			ServerErrors: t.faultStat.serverErrors.Load(),
			CutBodies:    t.faultStat.cuts.Load(),
			Slow:         t.faultStat.slow.Load(),
			OKZero:       t.faultStat.okZero.Load(),
		},
	}
	t.statusMu.Lock()
	for k, v := range t.byStatus {
		st.ByStatus[k] = v
	}
	t.statusMu.Unlock()
	now := t.now()
	for ep, s := range t.streams {
		s.mu.Lock()
		s.advance(now)
		es := EndpointStats{
			Generated:  s.generated,
			Duplicates: s.duplicates,
			Loaded:     s.loaded,
			Dropped:    s.dropped,
			Retained:   len(s.recs),
			Pages:      s.pages,
			Resends:    s.resends,
			Served:     s.served,
			Indexes:    len(s.cursors),
		}
		if n := len(s.recs); n > 0 {
			es.LastID = s.recs[n-1].id
		}
		s.mu.Unlock()
		st.Endpoints[ep.String()] = es
	}
	return st
}

func (t *Tenant) countStatus(code int) {
	t.statusMu.Lock()
	t.byStatus[code]++
	t.statusMu.Unlock()
}

// operation is a parsed operation= value.
type operation struct {
	kind  string // "epoch", "next", "head", "tail", "resend"
	epoch int64
}

func parseOperation(s string) (operation, error) {
	switch strings.ToLower(s) {
	case "next", "head", "tail", "resend":
		return operation{kind: strings.ToLower(s)}, nil
	case "":
		return operation{}, errors.New("operation is required: an epoch timestamp, next, head, tail or resend")
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return operation{}, fmt.Errorf("invalid operation %q: want an epoch timestamp, next, head, tail or resend", s)
	}
	return operation{kind: "epoch", epoch: v}, nil
}

// ServeHTTP implements http.Handler.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.requests.Add(1)
	now := t.now()
	ep, err := ParseEndpoint(r.URL.Path)
	if err != nil || !strings.HasPrefix(r.URL.Path, PathPrefix) {
		t.gatewayError(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		t.gatewayError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	s := t.streams[ep]
	tokenValue := r.Header.Get(TokenHeader)
	rlKey := tokenValue + "\x00" + ep.String()
	tk, ok := t.lookupToken(tokenValue, now)
	if !ok {
		t.limiter.setHeaders(w.Header(), t.limiter.peek(rlKey, now))
		t.gatewayError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if !tk.allows(ep) {
		t.limiter.setHeaders(w.Header(), t.limiter.peek(rlKey, now))
		t.gatewayError(w, http.StatusForbidden, "Forbidden")
		return
	}
	st := t.limiter.take(rlKey, now)
	t.limiter.setHeaders(w.Header(), st)
	if !st.allowed {
		t.tooManyRequests(w, st.reset)
		return
	}

	plan := t.drawFaults()
	if plan.throttle {
		t.faultStat.throttled.Add(1)
		// The answer the limiter gives when the window is used up.
		thr := limitState{limit: st.limit, reset: 1}
		if thr.limit < 0 { // no limit configured: show the real service's
			thr.limit = defaultRateLimit
		}
		t.limiter.setHeaders(w.Header(), thr)
		t.tooManyRequests(w, 1)
		return
	}
	if plan.slow > 0 {
		t.faultStat.slow.Add(1)
		timer := time.NewTimer(plan.slow)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return
		}
	}
	if plan.serverError != 0 {
		t.faultStat.serverErrors.Add(1)
		t.gatewayError(w, plan.serverError, http.StatusText(plan.serverError))
		return
	}
	if plan.okZero {
		t.faultStat.okZero.Add(1)
		t.dataError(w, http.StatusOK, "Internal error while fetching data, please retry")
		return
	}

	q := r.URL.Query()
	index := q.Get("index")
	if index == "" {
		t.dataError(w, http.StatusBadRequest, "index is required")
		return
	}
	op, err := parseOperation(q.Get("operation"))
	if err != nil {
		t.dataError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Taking the page moves the index even if the body is then cut: the
	// consumer must resend, as against the real service.
	p := s.serve(index, op, t.now())
	body := p.encode()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	t.countStatus(http.StatusOK)
	if plan.cut {
		t.faultStat.cuts.Add(1)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	putPageBuf(body)
}

// tooManyRequests answers the way the rate limiter does; the RateLimit-*
// headers must already be set.
func (t *Tenant) tooManyRequests(w http.ResponseWriter, retryAfter int) {
	w.Header()["Retry-After"] = []string{strconv.Itoa(retryAfter)}
	writeJSON(w, http.StatusTooManyRequests, []byte(`{"message":"API rate limit exceeded"}`))
	t.countStatus(http.StatusTooManyRequests)
}

// gatewayError answers the way the API gateway in front of the v2 API does.
func (t *Tenant) gatewayError(w http.ResponseWriter, code int, msg string) {
	body := fmt.Appendf(nil, `{"Status":%d,"Message":%s}`, code, quote(msg))
	writeJSON(w, code, body)
	t.countStatus(code)
}

// dataError answers with the data-export envelope and ok 0.
func (t *Tenant) dataError(w http.ResponseWriter, code int, msg string) {
	body := fmt.Appendf(nil, `{"ok":0,"error":%s}`, quote(msg))
	writeJSON(w, code, body)
	t.countStatus(code)
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
