// Package lake simulates AWS CloudTrail Lake for cloudsim: the data plane's PutAuditEvents
// (service cloudtrail-data, restJson1), the control plane's GetChannel, ListChannels,
// ListEventDataStores and the SQL query operations StartQuery, DescribeQuery and
// GetQueryResults (service cloudtrail, awsJson1.1, for the subset of SQL in sql.go), and an
// unsigned admin API to query what was ingested.
//
// The handlers expect a router in front of them that verifies SigV4 and puts an
// awssim.Caller in the request context; a request without one is refused with 403
// MissingAuthenticationTokenException. See README.md for the behaviour chosen where AWS does
// not document it.
package lake

import (
	"bufio"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"io"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// DuplicateMode says what PutAuditEvents does with an id that an earlier call already
// ingested on the same channel. AWS does not document it.
type DuplicateMode string

const (
	// DuplicateDedupe (the default) accepts the event again and answers with the eventID it
	// got the first time, without storing a second copy.
	DuplicateDedupe DuplicateMode = "dedupe"
	// DuplicateStore stores the event again under a new eventID.
	DuplicateStore DuplicateMode = "store-duplicate"
	// DuplicateReject fails the event with errorCode InvalidData.
	DuplicateReject DuplicateMode = "reject"
)

// ParseDuplicateMode parses a mode name; "" is the default (dedupe).
func ParseDuplicateMode(s string) (DuplicateMode, error) {
	switch DuplicateMode(s) {
	case "", DuplicateDedupe:
		return DuplicateDedupe, nil
	case DuplicateStore, DuplicateReject:
		return DuplicateMode(s), nil
	}
	return "", fmt.Errorf("unknown duplicate mode %q (want dedupe, store-duplicate or reject)", s)
}

// Faults are injected failures. Rates are probabilities in [0, 1].
type Faults struct {
	// EventThrottleRate fails each otherwise valid event with errorCode Throttling.
	EventThrottleRate float64 `json:"eventThrottleRate,omitempty"`
	// EventInternalFailureRate fails each otherwise valid event with errorCode InternalFailure.
	EventInternalFailureRate float64 `json:"eventInternalFailureRate,omitempty"`
	// CallThrottleRate fails a whole call with 400 ThrottlingException.
	CallThrottleRate float64 `json:"callThrottleRate,omitempty"`
	// CallServerErrorRate fails a whole call with 500 InternalFailure or 503
	// ServiceUnavailable (half each).
	CallServerErrorRate float64 `json:"callServerErrorRate,omitempty"`
	// Latency is added to every PutAuditEvents call.
	Latency time.Duration `json:"latency,omitempty"`
	// SlowRate is the share of PutAuditEvents calls that wait SlowDelay before anything else
	// (on top of Latency); a caller that goes away ends the wait.
	SlowRate  float64       `json:"slowRate,omitempty"`
	SlowDelay time.Duration `json:"slowDelay,omitempty"`
	// CutRate is the share of PutAuditEvents calls whose 200 answer is cut: the call is
	// processed in full (events stored, ids remembered), then the answer promises its whole
	// Content-Length, sends half of the body and the connection is closed, as when a
	// connection drops after the service did the work. Calls that fail anyway (quota, call
	// errors, validation) are answered in full.
	CutRate float64 `json:"cutRate,omitempty"`
}

// Channel is a CloudTrail Lake channel for events from outside AWS.
type Channel struct {
	// ARN is arn:<partition>:cloudtrail:<region>:<12-digit account>:channel/<id>; the channel's
	// owner account and region are taken from it.
	ARN string `json:"arn"`
	// Name defaults to the id (the ARN suffix).
	Name string `json:"name,omitempty"`
	// Source is the channel's source as GetChannel shows it; default "Custom".
	Source string `json:"source,omitempty"`
	// EventDataStore is the ARN of the event data store the channel feeds; default
	// arn:<partition>:cloudtrail:<region>:<account>:eventdatastore/<id>-eds.
	EventDataStore string `json:"eventDataStore,omitempty"`
	// ExternalID, when set, must be sent as externalId by every caller (see README).
	ExternalID string `json:"externalId,omitempty"`
	// AllowedAccounts are other accounts the channel's resource policy lets call
	// PutAuditEvents (partner integrations). The owner is always allowed.
	AllowedAccounts []string `json:"allowedAccounts,omitempty"`
	// EventSources, when set, are the only eventSource values accepted (others fail with
	// InvalidEventSource), as for a partner integration.
	EventSources []string `json:"eventSources,omitempty"`
	// ServiceLinked makes the channel a service-linked channel (destination AWS_SERVICE): it
	// takes no PutAuditEvents (ChannelUnsupportedSchema).
	ServiceLinked bool `json:"serviceLinked,omitempty"`
}

// Options configure a Service.
type Options struct {
	Channels []Channel
	// DuplicateMode applies to ids re-sent in a later call; default dedupe.
	DuplicateMode DuplicateMode
	Faults        Faults
	// Seed seeds the fault-injection random source; 0 picks a random seed.
	Seed uint64
	// CallsPerSecond is the PutAuditEvents quota per account and region: 0 means AWS's 100,
	// a negative value means no limit. Ignored when Quota is set.
	CallsPerSecond float64
	// Quota, when set, is used instead of a quota of its own (API name "PutAuditEvents").
	Quota *awssim.Quota
	// MaxBodyBytes is the largest request body taken; default 1 MiB (1,048,576 bytes).
	MaxBodyBytes int
	// NDJSON, when set, receives every stored event as one JSON line (flushed after each
	// call). The caller opens and closes it.
	NDJSON io.Writer
	// MaxStoredEvents caps the events kept in memory (oldest dropped first; the duplicate
	// index and the counters keep everything); 0 means no cap.
	MaxStoredEvents int
	// UnsupportedRegions answer every PutAuditEvents with UnsupportedOperationException.
	UnsupportedRegions []string
	// NotSubscribedAccounts are channel owners whose events all fail with
	// AccountNotSubscribed (CloudTrail Lake closed to new customers on 2026-05-31).
	NotSubscribedAccounts []string
	// RejectUnknownFields fails events whose eventData has members outside the schema with
	// InvalidData (AWS's behaviour is undocumented; default accept).
	RejectUnknownFields bool
	// StrictSourceIP fails events whose sourceIPAddress is not an IP address with InvalidData.
	StrictSourceIP bool
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// StoredEvent is an ingested event.
type StoredEvent struct {
	EventID       string    `json:"eventID"` // assigned by the service (a UUID)
	ID            string    `json:"id"`      // the caller's id
	ChannelARN    string    `json:"channelArn"`
	Account       string    `json:"account"` // the channel owner
	Region        string    `json:"region"`
	CallerAccount string    `json:"callerAccount"`
	ReceivedAt    time.Time `json:"receivedAt"`
	EventSource   string    `json:"eventSource"`
	EventName     string    `json:"eventName"`
	EventTime     time.Time `json:"eventTime"`
	// Duplicate marks a copy stored for an id ingested before (store-duplicate mode).
	Duplicate bool `json:"duplicate,omitempty"`
	// EventData is the eventData document as sent (compacted if it spanned several lines).
	EventData []byte `json:"-"`
}

// channelARN is a parsed channel ARN.
type channelARN struct {
	partition, region, account, id string
}

func (a channelARN) String() string {
	return "arn:" + a.partition + ":cloudtrail:" + a.region + ":" + a.account + ":channel/" + a.id
}

var (
	arnRe       = regexp.MustCompile(`^arn:(aws[a-z-]*):cloudtrail:([a-z]{2}(?:-[a-z]+)+-[0-9]+):([0-9]{12}):channel/([A-Za-z0-9._-]{1,128})$`)
	channelIDRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	accountRe   = regexp.MustCompile(`^[0-9]{12}$`)
)

// ParseChannelARN parses arn:<partition>:cloudtrail:<region>:<account>:channel/<id>.
func ParseChannelARN(s string) (partition, region, account, id string, err error) {
	a, err := parseChannelARN(s)
	return a.partition, a.region, a.account, a.id, err
}

func parseChannelARN(s string) (channelARN, error) {
	m := arnRe.FindStringSubmatch(s)
	if m == nil {
		return channelARN{}, fmt.Errorf("%q is not a channel ARN (arn:aws:cloudtrail:<region>:<12-digit account>:channel/<id>)", s)
	}
	return channelARN{partition: m[1], region: m[2], account: m[3], id: m[4]}, nil
}

// idEntry remembers an id ingested on a channel.
type idEntry struct {
	eventID string
	hash    uint64 // of eventData, to count re-sends with different content
}

type ingestionStatus struct {
	successTime    time.Time
	successEventID string
	errorCode      string
	attemptTime    time.Time
	attemptEventID string
}

type channelState struct {
	cfg     Channel
	arn     channelARN
	allowed map[string]bool
	rules   validateRules
	ids     map[string]idEntry
	ingest  ingestionStatus
}

// Service is the simulated CloudTrail Lake. Safe for concurrent use.
type Service struct {
	maxBody       int
	quota         *awssim.Quota
	now           func() time.Time
	unsupported   map[string]bool
	notSubscribed map[string]bool
	rejectUnknown bool
	strictIP      bool
	maxStored     int
	seed          maphash.Seed

	cfgMu  sync.Mutex // guards faults, mode and rng
	faults Faults
	mode   DuplicateMode
	rng    *rand.Rand

	mu       sync.RWMutex // guards everything below
	channels map[string]*channelState
	log      eventLog
	stats    counters

	outMu sync.Mutex
	out   *bufio.Writer

	qmu     sync.Mutex // guards queries
	queries queryStore
}

type counters struct {
	calls              int64
	stored             int64
	evicted            int64
	duplicates         int64
	duplicateConflicts int64
	slow               int64
	cut                int64
	byEventSource      map[string]int64
	byChannel          map[string]int64
	failed             map[string]int64
	callErrors         map[string]int64
}

func newCounters() counters {
	return counters{
		byEventSource: map[string]int64{},
		byChannel:     map[string]int64{},
		failed:        map[string]int64{},
		callErrors:    map[string]int64{},
	}
}

// New builds a Service. It panics if a channel's ARN is malformed (use AddChannel to add
// channels from untrusted configuration).
func New(opts Options) *Service {
	s := &Service{
		maxBody:       opts.MaxBodyBytes,
		quota:         opts.Quota,
		now:           opts.Now,
		unsupported:   toSet(opts.UnsupportedRegions),
		notSubscribed: toSet(opts.NotSubscribedAccounts),
		rejectUnknown: opts.RejectUnknownFields,
		strictIP:      opts.StrictSourceIP,
		maxStored:     opts.MaxStoredEvents,
		seed:          maphash.MakeSeed(),
		faults:        opts.Faults,
		channels:      map[string]*channelState{},
		stats:         newCounters(),
	}
	if s.maxBody <= 0 {
		s.maxBody = 1 << 20
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.quota == nil {
		r := opts.CallsPerSecond
		if r == 0 {
			r = 100
		}
		s.quota = awssim.NewQuota(map[string]float64{"PutAuditEvents": r})
	}
	mode, err := ParseDuplicateMode(string(opts.DuplicateMode))
	if err != nil {
		panic("lake: " + err.Error())
	}
	s.mode = mode
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	if opts.NDJSON != nil {
		s.out = bufio.NewWriterSize(opts.NDJSON, 256<<10)
	}
	for _, c := range opts.Channels {
		if err := s.AddChannel(c); err != nil {
			panic("lake: " + err.Error())
		}
	}
	return s
}

func toSet(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// AddChannel adds or replaces a channel. Replacing keeps the channel's ingested ids.
func (s *Service) AddChannel(c Channel) error {
	a, err := parseChannelARN(c.ARN)
	if err != nil {
		return err
	}
	if c.Name == "" {
		c.Name = a.id
	}
	if c.Source == "" {
		c.Source = "Custom"
	}
	if c.EventDataStore == "" && !c.ServiceLinked {
		c.EventDataStore = "arn:" + a.partition + ":cloudtrail:" + a.region + ":" + a.account + ":eventdatastore/" + a.id + "-eds"
	}
	for _, acct := range c.AllowedAccounts {
		if !accountRe.MatchString(acct) {
			return fmt.Errorf("channel %s: allowed account %q is not a 12-digit account ID", c.ARN, acct)
		}
	}
	st := &channelState{
		cfg:     c,
		arn:     a,
		allowed: toSet(append([]string{a.account}, c.AllowedAccounts...)),
		rules: validateRules{
			account:             a.account,
			rejectUnknownFields: s.rejectUnknown,
			strictSourceIP:      s.strictIP,
		},
		ids: map[string]idEntry{},
	}
	if len(c.EventSources) > 0 {
		st.rules.eventSources = toSet(c.EventSources)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.channels[a.String()]; ok {
		st.ids, st.ingest = old.ids, old.ingest
	}
	s.channels[a.String()] = st
	return nil
}

// Channels returns the configured channels, sorted by ARN.
func (s *Service) Channels() []Channel {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Channel, 0, len(s.channels))
	for _, st := range s.channels {
		out = append(out, st.cfg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}

// SetFaults replaces the injected faults.
func (s *Service) SetFaults(f Faults) {
	s.cfgMu.Lock()
	s.faults = f
	s.cfgMu.Unlock()
}

// Faults returns the injected faults.
func (s *Service) Faults() Faults {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.faults
}

// SetDuplicateMode changes what happens to ids re-sent in a later call.
func (s *Service) SetDuplicateMode(m DuplicateMode) error {
	m, err := ParseDuplicateMode(string(m))
	if err != nil {
		return err
	}
	s.cfgMu.Lock()
	s.mode = m
	s.cfgMu.Unlock()
	return nil
}

// DuplicateMode returns the current duplicate mode.
func (s *Service) DuplicateMode() DuplicateMode {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.mode
}

// Reset forgets every stored event, every ingested id and every counter; channels stay.
func (s *Service) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = eventLog{}
	s.stats = newCounters()
	for _, st := range s.channels {
		st.ids = map[string]idEntry{}
		st.ingest = ingestionStatus{}
	}
}

// Stats are the service's counters.
type Stats struct {
	Calls              int64            `json:"calls"`              // PutAuditEvents calls received
	Total              int64            `json:"total"`              // events stored
	InMemory           int              `json:"inMemory"`           // events Query can still see
	Evicted            int64            `json:"evicted"`            // dropped by MaxStoredEvents
	Duplicates         int64            `json:"duplicates"`         // ids re-sent in a later call (any mode)
	DuplicateConflicts int64            `json:"duplicateConflicts"` // ... of which with different eventData
	ByEventSource      map[string]int64 `json:"byEventSource"`
	ByChannel          map[string]int64 `json:"byChannel"`
	Failed             map[string]int64 `json:"failed"`     // per-event failures by errorCode
	CallErrors         map[string]int64 `json:"callErrors"` // failed calls by error code
	Slow               int64            `json:"slow"`       // calls delayed by Faults.SlowRate
	Cut                int64            `json:"cut"`        // answers cut by Faults.CutRate
}

// Stats returns a snapshot of the counters.
func (s *Service) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.stats
	return Stats{
		Calls:              c.calls,
		Total:              c.stored,
		InMemory:           s.log.len(),
		Evicted:            c.evicted,
		Duplicates:         c.duplicates,
		DuplicateConflicts: c.duplicateConflicts,
		ByEventSource:      copyMap(c.byEventSource),
		ByChannel:          copyMap(c.byChannel),
		Failed:             copyMap(c.failed),
		CallErrors:         copyMap(c.callErrors),
		Slow:               c.slow,
		Cut:                c.cut,
	}
}

// StoredIDs counts the stored events by the caller's id, over every channel: the events held
// in memory, as Query sees them. Events dropped by MaxStoredEvents or Reset are not counted,
// although the duplicate index remembers their ids. In the default dedupe mode every count is
// 1 unless two channels got the same id; in store-duplicate mode a re-sent id counts once per
// copy.
func (s *Service) StoredIDs() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]int, s.log.len())
	s.log.each(func(e *StoredEvent) bool {
		out[e.ID]++
		return true
	})
	return out
}

func copyMap(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// newUUIDs returns n random (version 4) UUIDs.
func newUUIDs(n int) []string {
	b := make([]byte, 16*n)
	_, _ = crand.Read(b)
	out := make([]string, n)
	var buf [36]byte
	for i := range out {
		u := b[16*i : 16*i+16]
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		hex.Encode(buf[0:8], u[0:4])
		buf[8] = '-'
		hex.Encode(buf[9:13], u[4:6])
		buf[13] = '-'
		hex.Encode(buf[14:18], u[6:8])
		buf[18] = '-'
		hex.Encode(buf[19:23], u[8:10])
		buf[23] = '-'
		hex.Encode(buf[24:36], u[10:16])
		out[i] = string(buf[:])
	}
	return out
}

func newRequestID() string { return newUUIDs(1)[0] }

// lookupChannel finds a channel by its parsed ARN (see resolveRef for bare ids). Caller holds
// s.mu.
func (s *Service) lookupChannel(a channelARN) *channelState {
	return s.channels[a.String()]
}

// resolveRef turns a channel reference (an ARN or an id) into a parsed ARN, using the caller's
// account and region for a bare id. ok is false when ref is neither.
func resolveRef(ref string, c awssim.Caller) (channelARN, bool) {
	if strings.HasPrefix(ref, "arn:") {
		a, err := parseChannelARN(ref)
		return a, err == nil
	}
	if !channelIDRe.MatchString(ref) {
		return channelARN{}, false
	}
	return channelARN{partition: partitionOf(c.Region), region: c.Region, account: c.AccountID, id: ref}, true
}

func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}
