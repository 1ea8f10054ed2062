// Package cwlogs simulates Amazon CloudWatch Logs for cloudsim: the awsJson1.1 protocol
// (POST /, X-Amz-Target: Logs_20140328.<Op>) with the operations a log shipper uses —
// CreateLogGroup, CreateLogStream, DeleteLogGroup, DeleteLogStream, PutLogEvents,
// PutRetentionPolicy, DeleteRetentionPolicy, DescribeLogGroups, DescribeLogStreams,
// GetLogEvents and FilterLogEvents — with state per
// account and region, the service's validation, limits, error shapes and quotas, plus switches
// for injected faults (throttling, 5xx, empty pages, slow and cut answers) and for late,
// out-of-order ingestion.
//
// The request's account and region come from the awssim.Caller that SigV4 verification puts in
// the request context; a request without one is refused with 403
// MissingAuthenticationTokenException.
package cwlogs

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs/filterpattern"
	"github.com/logshipper/logshipper/internal/sim/simfault"
)

// TargetPrefix is the X-Amz-Target prefix of the CloudWatch Logs API.
const TargetPrefix = "Logs_20140328."

// Limits of the real service.
const (
	MaxPutEvents      = 10_000    // events in one PutLogEvents call
	MaxPutBytes       = 1_048_576 // bytes in one PutLogEvents call, counting EventOverhead per event
	EventOverhead     = 26        // bytes added per event when sizing a PutLogEvents batch
	MaxPageEvents     = 10_000    // events in one FilterLogEvents or GetLogEvents page
	MaxPageBytes      = 1_048_576 // bytes of events in one page
	MaxDescribeLimit  = 50        // items in one DescribeLogGroups or DescribeLogStreams page
	MaxFilterStreams  = 100       // names in FilterLogEvents logStreamNames
	MaxEventAge       = 14 * 24 * time.Hour
	MaxEventFuture    = 2 * time.Hour
	MaxBatchSpan      = 24 * time.Hour
	DefaultTokenTTL   = 24 * time.Hour
	DefaultScanBudget = 10_000 // stored events one FilterLogEvents page examines
)

// DefaultRates are the default per-second quotas of each API, per account and region.
func DefaultRates() map[string]float64 {
	return map[string]float64{
		"FilterLogEvents":    5,
		"DescribeLogStreams": 25,
		"PutLogEvents":       5000,
		"GetLogEvents":       25,
		"DescribeLogGroups":  10,
		"CreateLogGroup":     5,
		"CreateLogStream":    50,
	}
}

// Faults are injected failures. Rates are fractions of requests, from 0 to 1.
type Faults struct {
	// ThrottleRate answers this fraction of requests with 400 ThrottlingException "Rate exceeded",
	// on top of the quotas.
	ThrottleRate float64
	// UnavailableRate answers this fraction of requests with 503 ServiceUnavailableException.
	UnavailableRate float64
	// EmptyPageRate answers this fraction of FilterLogEvents calls with an empty page whose
	// nextToken continues where the request's left off.
	EmptyPageRate float64
	// SlowRate makes this fraction of requests wait SlowDelay before anything else (after the
	// request body is read); a caller that goes away ends the wait and gets no answer.
	SlowRate  float64
	SlowDelay time.Duration
	// CutRate cuts this fraction of successful answers: the request is processed in full (a
	// PutLogEvents batch is stored, a FilterLogEvents page is served), then the answer promises
	// its whole Content-Length, sends half of the body and the connection is closed. An answer
	// without a body is aborted before its status line. Error answers are never cut.
	CutRate float64
	// Ops limits the faults to these operations (e.g. "FilterLogEvents"); empty means all.
	Ops []string
}

// Options configure a Service. The zero value is usable: real quotas, no faults, events
// visible as soon as they are put.
type Options struct {
	// Now is the clock (default time.Now). Event ages, visibility and token expiry use it.
	Now func() time.Time
	// Rates are per-second quotas by API name, per account and region. Nil means DefaultRates;
	// a missing API or a rate <= 0 is not limited.
	Rates map[string]float64
	// Faults are the initial injected faults; see SetFaults.
	Faults Faults
	// IngestDelay makes an event visible to GetLogEvents and FilterLogEvents only this long
	// after it was put; its ingestionTime is when it became visible.
	IngestDelay time.Duration
	// IngestJitter adds a random delay in [0, IngestJitter) per event on top of IngestDelay, so
	// events become visible out of order.
	IngestJitter time.Duration
	// ScanBudget is how many stored events in the query's time range one FilterLogEvents page
	// examines before it answers (default DefaultScanBudget). A sparse filter therefore yields
	// empty pages carrying a nextToken, as the real service does.
	ScanBudget int
	// TokenTTL is how long pagination tokens stay valid (default 24 h).
	TokenTTL time.Duration
	// Seed seeds the random source of faults and jitter; 0 picks a random seed.
	Seed uint64
	// Logger gets what the service does on its own initiative (LoadCloudTrail moving sample
	// times); nil discards it.
	Logger *slog.Logger
}

// Service is a simulated CloudWatch Logs. It is an http.Handler and safe for concurrent use.
type Service struct {
	now        func() time.Time
	logger     *slog.Logger
	quota      *awssim.Quota
	delay      time.Duration
	jitter     time.Duration
	scanBudget int
	tokenTTL   time.Duration

	faults simfault.Box[Faults]
	rnd    *simfault.Rand

	seq    atomic.Uint64 // event sequence, unique across the service
	served atomic.Uint64 // events returned by GetLogEvents and FilterLogEvents
	calls  sync.Map      // operation name -> *atomic.Uint64: requests answered with success
	slow   atomic.Uint64 // requests delayed by Faults.SlowRate
	cut    atomic.Uint64 // answers cut by Faults.CutRate
	reqs   atomic.Uint64 // requests answered: the request ids' sequence

	mu      sync.RWMutex
	regions map[string]*regionState // account "/" region
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{
		now:        opts.Now,
		delay:      opts.IngestDelay,
		jitter:     opts.IngestJitter,
		scanBudget: opts.ScanBudget,
		tokenTTL:   opts.TokenTTL,
		regions:    map[string]*regionState{},
		logger:     opts.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	rates := opts.Rates
	if rates == nil {
		rates = DefaultRates()
	}
	s.quota = awssim.NewQuota(rates)
	if s.scanBudget <= 0 {
		s.scanBudget = DefaultScanBudget
	}
	if s.tokenTTL <= 0 {
		s.tokenTTL = DefaultTokenTTL
	}
	s.faults.Set(opts.Faults)
	s.rnd = simfault.NewRand(opts.Seed, 0x9e3779b97f4a7c15)
	return s
}

// Stats are counters of a Service's activity.
type Stats struct {
	EventsStored uint64 // events stored by PutLogEvents, Put and LoadCloudTrail
	EventsServed uint64 // events returned by GetLogEvents and FilterLogEvents (cut answers too)
	Slow         uint64 // requests delayed by Faults.SlowRate
	Cut          uint64 // answers cut by Faults.CutRate
	// Calls counts the requests answered with success, by operation (FilterLogEvents, ...).
	Calls map[string]uint64
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	st := Stats{EventsStored: s.seq.Load(), EventsServed: s.served.Load(), Slow: s.slow.Load(), Cut: s.cut.Load(), Calls: map[string]uint64{}}
	s.calls.Range(func(k, v any) bool {
		st.Calls[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return st
}

// countCall counts a request of op answered with success.
func (s *Service) countCall(op string) {
	c, ok := s.calls.Load(op)
	if !ok {
		c, _ = s.calls.LoadOrStore(op, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
}

// SetFaults replaces the injected faults.
func (s *Service) SetFaults(f Faults) { s.faults.Set(f) }

// Faults returns the injected faults.
func (s *Service) Faults() Faults { return s.faults.Get() }

func (s *Service) float64() float64 { return s.rnd.Float64() }

func (s *Service) nowMs() int64 { return s.now().UnixMilli() }

// ingestTime returns when an event put at now becomes visible, in ms.
func (s *Service) ingestTime(nowMs int64) int64 {
	d := s.delay
	if s.jitter > 0 {
		d += time.Duration(s.rnd.Int64N(int64(s.jitter)))
	}
	return nowMs + d.Milliseconds()
}

// fault picks an injected fault for op, or nil.
func (s *Service) fault(op string) *awssim.Error {
	f := s.Faults()
	if f.ThrottleRate <= 0 && f.UnavailableRate <= 0 {
		return nil
	}
	if !f.applies(op) {
		return nil
	}
	r := s.float64()
	if r < f.ThrottleRate {
		return errThrottled()
	}
	if r < f.ThrottleRate+f.UnavailableRate {
		return awssim.Errorf(http.StatusServiceUnavailable, "ServiceUnavailableException", "The service cannot complete the request.")
	}
	return nil
}

// transportFaults draws the slow and cut faults for a request of op. The random source is
// drawn only for rates that are set, so seeded runs without them draw as before.
func (s *Service) transportFaults(op string) (slow time.Duration, cut bool) {
	f := s.Faults()
	if (f.SlowRate <= 0 || f.SlowDelay <= 0) && f.CutRate <= 0 || !f.applies(op) {
		return 0, false
	}
	if f.SlowRate > 0 && f.SlowDelay > 0 && s.float64() < f.SlowRate {
		slow = f.SlowDelay
	}
	cut = f.CutRate > 0 && s.float64() < f.CutRate
	return slow, cut
}

// applies says whether the faults apply to op: Ops lists it, or is empty.
func (f Faults) applies(op string) bool { return len(f.Ops) == 0 || slices.Contains(f.Ops, op) }

func (s *Service) emptyPage() bool {
	f := s.Faults()
	return f.EmptyPageRate > 0 && f.applies("FilterLogEvents") && s.float64() < f.EmptyPageRate
}

// ---------------------------------------------------------------------------------------------
// errors

func errThrottled() *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
}

func errInvalid(format string, args ...any) *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

// errValidation is the wording of the service's request validation.
func errValidation(value any, field, constraint string) *awssim.Error {
	return errInvalid("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

func errGroupNotFound() *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
}

func errStreamNotFound() *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
}

func errTokenInvalid() *awssim.Error { return errInvalid("The specified nextToken is invalid.") }

func errTokenExpired() *awssim.Error { return errInvalid("The specified nextToken has expired.") }

func errPattern() *awssim.Error { return errInvalid("Invalid filter pattern") }

// ---------------------------------------------------------------------------------------------
// HTTP

type handlerFunc func(s *Service, rs *regionState, body []byte) (any, *awssim.Error)

var handlers = map[string]handlerFunc{
	"CreateLogGroup":        (*Service).createLogGroup,
	"CreateLogStream":       (*Service).createLogStream,
	"DeleteLogGroup":        (*Service).deleteLogGroup,
	"DeleteLogStream":       (*Service).deleteLogStream,
	"PutLogEvents":          (*Service).putLogEvents,
	"DescribeLogGroups":     (*Service).describeLogGroups,
	"DescribeLogStreams":    (*Service).describeLogStreams,
	"GetLogEvents":          (*Service).getLogEvents,
	"FilterLogEvents":       (*Service).filterLogEvents,
	"PutRetentionPolicy":    (*Service).putRetentionPolicy,
	"DeleteRetentionPolicy": (*Service).deleteRetentionPolicy,
}

// maxBody bounds request bodies: a full PutLogEvents batch JSON-escaped, with room to spare.
const maxBody = 8 << 20

// ServeHTTP implements the awsJson1.1 protocol.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", s.requestID())
	caller, ok := awssim.CallerFrom(r.Context())
	if !ok {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"))
		return
	}
	if r.Method != http.MethodPost {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusMethodNotAllowed, "UnknownOperationException", "Only POST is supported."))
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, found := strings.CutPrefix(target, TargetPrefix)
	h := handlers[op]
	if !found || h == nil {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusBadRequest, "UnknownOperationException", "Unknown operation %q", target))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/x-amz-json-1.") {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusBadRequest, "SerializationException", "Unsupported Content-Type %q", ct))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusBadRequest, "SerializationException", "could not read the request body"))
		return
	}
	if len(body) > maxBody {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusRequestEntityTooLarge, "SerializationException", "Request body too large"))
		return
	}
	// The body is read first: net/http notices that a caller went away only once it has been.
	slow, cut := s.transportFaults(op)
	if slow > 0 {
		s.slow.Add(1)
		if !retry.Sleep(r.Context(), slow) {
			return
		}
	}
	if e := s.fault(op); e != nil {
		awssim.WriteJSONError(w, e)
		return
	}
	if !s.quota.Allow(caller.AccountID, caller.Region, op) {
		awssim.WriteJSONError(w, errThrottled())
		return
	}
	out, e := h(s, s.region(caller.AccountID, caller.Region, true), body)
	if e != nil {
		awssim.WriteJSONError(w, e)
		return
	}
	s.countCall(op)
	var b []byte
	switch v := out.(type) {
	case nil:
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			awssim.WriteJSONError(w, awssim.Errorf(http.StatusInternalServerError, "InternalFailure", "%v", err))
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if cut {
		s.cut.Add(1)
		simfault.WriteCut(w, b)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// requestID returns a request id of the UUID form CloudWatch Logs answers with, unique within
// the service.
func (s *Service) requestID() string {
	n := s.reqs.Add(1)
	t := uint64(time.Now().UnixNano())
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(t>>32), uint16(t>>16), n>>48&0xfff, n>>36&0xfff, n&0xffffffffffff)
}

// compilePattern parses a filter pattern, answering InvalidParameterException on error.
func compilePattern(p *string) (*filterpattern.Pattern, *awssim.Error) {
	if p == nil {
		return nil, nil
	}
	if len(*p) > filterpattern.MaxLength {
		return nil, errValidation(*p, "filterPattern", fmt.Sprintf("Member must have length less than or equal to %d", filterpattern.MaxLength))
	}
	pat, err := filterpattern.Parse(*p)
	if err != nil {
		return nil, errPattern()
	}
	if pat.MatchesAll() {
		return nil, nil
	}
	return pat, nil
}
