// Package sqs simulates Amazon SQS standard queues for cloudsim, as the current AWS SDKs speak
// to it: the awsJson1.0 protocol in query-compatible mode (POST /, X-Amz-Target:
// AmazonSQS.<Op>, X-Amzn-Query-Mode: true), errors carrying the x-amzn-query-error header, and
// the MD5OfBody the SDKs check. It keeps queues per account and region with visibility
// timeouts, long polling, receive counts, redrive to a dead-letter queue and the service's
// limits, plus switches for injected faults.
//
// The request's account and region come from the awssim.Caller that SigV4 verification puts in
// the request context. README.md lists what is simulated and how it differs from AWS.
package sqs

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/simfault"
)

// Limits of the real service.
const (
	MaxWaitSeconds       = 20
	MaxMessagesPerCall   = 10
	MaxVisibilityTimeout = 12 * time.Hour
	MaxBatchEntries      = 10
	MaxMessageSize       = 262_144 // bytes of a message, and of a SendMessageBatch call
	MaxInflight          = 120_000 // in-flight messages of a standard queue
	DefaultVisibility    = 30 * time.Second
	DefaultRetention     = 4 * 24 * time.Hour
	MaxDelaySeconds      = 900
)

// Faults are injected failures. Rates are fractions of requests, from 0 to 1.
type Faults struct {
	// ThrottleRate answers this fraction of requests with 403 RequestThrottled.
	ThrottleRate float64
	// UnavailableRate answers this fraction with 503 ServiceUnavailable.
	UnavailableRate float64
	// InternalErrorRate answers this fraction with 500 InternalError.
	InternalErrorRate float64
	// Latency is added to every request (after the body is read), before SlowDelay.
	Latency time.Duration
	// SlowRate makes this fraction of requests wait SlowDelay first (after the body is read).
	SlowRate  float64
	SlowDelay time.Duration
	// CutRate cuts this fraction of successful answers: the work is done (a message deleted,
	// received or sent), then half of the answer is sent and the connection closed.
	CutRate float64
	// Ops limits the faults to these operations (e.g. "DeleteMessage"); empty means all.
	Ops []string
}

// applies says whether the faults apply to op: Ops lists it, or is empty.
func (f Faults) applies(op string) bool { return len(f.Ops) == 0 || slices.Contains(f.Ops, op) }

// Options configure a Service. The zero value is usable.
type Options struct {
	// Now is the clock (default time.Now): sent times, visibility and retention use it.
	Now func() time.Time
	// Faults are the initial injected faults; see SetFaults.
	Faults Faults
	// Seed seeds the random source of faults; 0 picks a random seed.
	Seed uint64
	// Logger gets what the service does on its own (messages moved to a dead-letter queue).
	Logger *slog.Logger
}

// Service is a simulated SQS. It is an http.Handler and safe for concurrent use.
type Service struct {
	now    func() time.Time
	logger *slog.Logger

	faults simfault.Box[Faults]
	rnd    *simfault.Rand

	calls sync.Map // operation -> *atomic.Uint64
	cut   atomic.Uint64
	slow  atomic.Uint64
	moved atomic.Uint64 // messages moved to a dead-letter queue

	mu     sync.RWMutex
	queues map[queueKey]*queue
}

type queueKey struct{ account, region, name string }

// New returns a Service.
func New(o Options) *Service {
	s := &Service{now: o.Now, logger: o.Logger, queues: map[queueKey]*queue{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.faults.Set(o.Faults)
	s.rnd = simfault.NewRand(o.Seed, 0x5851f42d4c957f2d)
	return s
}

// SetFaults replaces the injected faults.
func (s *Service) SetFaults(f Faults) { s.faults.Set(f) }

// Faults returns the injected faults.
func (s *Service) Faults() Faults { return s.faults.Get() }

func (s *Service) float64() float64 { return s.rnd.Float64() }

// Stats are counters of a Service's activity.
type Stats struct {
	Calls map[string]uint64 // requests answered with success, by operation
	Cut   uint64            // answers cut by Faults.CutRate
	Slow  uint64            // requests delayed by Faults.SlowRate
	Moved uint64            // messages moved to a dead-letter queue
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	st := Stats{Calls: map[string]uint64{}, Cut: s.cut.Load(), Slow: s.slow.Load(), Moved: s.moved.Load()}
	s.calls.Range(func(k, v any) bool {
		st.Calls[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return st
}

func (s *Service) countCall(op string) {
	c, ok := s.calls.Load(op)
	if !ok {
		c, _ = s.calls.LoadOrStore(op, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
}

// ARN returns the ARN of a queue.
func ARN(account, region, name string) string {
	return "arn:" + awssim.Partition(region) + ":sqs:" + region + ":" + account + ":" + name
}

// ParseARN splits a queue ARN into its account, region and name.
func ParseARN(arn string) (account, region, name string, err error) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sqs" || p[3] == "" || p[4] == "" || p[5] == "" {
		return "", "", "", fmt.Errorf("sqs: %q is not a queue ARN (arn:aws:sqs:<region>:<account>:<name>)", arn)
	}
	return p[4], p[3], p[5], nil
}

// QueueConfig is a queue to create with CreateQueue (the Go API).
type QueueConfig struct {
	Account, Region, Name string
	// Attributes as the API takes them: VisibilityTimeout, MessageRetentionPeriod, DelaySeconds,
	// ReceiveMessageWaitTimeSeconds, MaximumMessageSize, RedrivePolicy ({"deadLetterTargetArn":
	// "...","maxReceiveCount":"5"}).
	Attributes map[string]string
}

// CreateQueue creates a queue, or checks that an existing one has the same attributes, as the
// API's CreateQueue does, and returns its ARN.
func (s *Service) CreateQueue(c QueueConfig) (string, error) {
	q, e := s.createQueue(c.Account, c.Region, c.Name, c.Attributes)
	if e != nil {
		return "", e
	}
	return q.arn, nil
}

// Send puts a message on the queue named by arn, as SendMessage does. The S3 simulator
// delivers its event notifications with it.
func (s *Service) Send(arn, body string) (messageID string, err error) {
	account, region, name, err := ParseARN(arn)
	if err != nil {
		return "", err
	}
	q := s.lookup(account, region, name)
	if q == nil {
		return "", errNoQueue()
	}
	if e := validateBody(body, q.maxSize()); e != nil {
		return "", e
	}
	m := q.send(s, body, nil, -1)
	return m.id, nil
}

// QueueExists reports whether the queue named by arn exists.
func (s *Service) QueueExists(arn string) bool {
	account, region, name, err := ParseARN(arn)
	return err == nil && s.lookup(account, region, name) != nil
}

// Message is a stored message as the Go API shows it.
type Message struct {
	ID           string
	Body         string
	ReceiveCount int
	Sent         time.Time
	InFlight     bool
}

// Messages returns the messages of the queue named by arn, oldest first: for tests.
func (s *Service) Messages(arn string) ([]Message, error) {
	account, region, name, err := ParseARN(arn)
	if err != nil {
		return nil, err
	}
	q := s.lookup(account, region, name)
	if q == nil {
		return nil, errNoQueue()
	}
	now := s.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Message, 0, len(q.order))
	for _, m := range q.order {
		out = append(out, Message{ID: m.id, Body: m.body, ReceiveCount: m.receiveCount, Sent: m.sent, InFlight: m.visibleAt.After(now) && m.receiveCount > 0})
	}
	return out, nil
}

func (s *Service) lookup(account, region, name string) *queue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.queues[queueKey{account, region, name}]
}

// queue is one standard queue.
type queue struct {
	account, region, name, arn string
	created                    time.Time

	mu       sync.Mutex
	attrs    map[string]string // as set, validated
	modified time.Time
	purged   time.Time  // the last PurgeQueue
	order    []*message // by send order
	byID     map[string]*message
	wake     chan struct{} // closed when a message is sent; replaced then
	seq      uint64
}

type message struct {
	id           string
	body         string
	md5          string
	attrs        map[string]msgAttr
	attrsMD5     string
	sent         time.Time
	firstReceive time.Time
	receivedAt   time.Time // last receive
	visibleAt    time.Time
	receiveCount int
	handle       string // the receipt handle of the last receive
	seq          uint64
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// validQueueName reports whether n is a valid standard queue name: 1 to 80 of [A-Za-z0-9_-].
func validQueueName(n string) bool {
	if n == "" || len(n) > 80 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *Service) createQueue(account, region, name string, attrs map[string]string) (*queue, *awssim.Error) {
	if strings.HasSuffix(name, ".fifo") || attrs["FifoQueue"] == "true" {
		return nil, errUnsupported("cloudsim simulates standard queues only, not FIFO queues.")
	}
	if !validQueueName(name) {
		return nil, errInvalidParam("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	clean, e := s.validateAttributes(account, region, attrs)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := queueKey{account, region, name}
	if q := s.queues[k]; q != nil {
		q.mu.Lock()
		defer q.mu.Unlock()
		for key, v := range clean {
			if cur, ok := q.attrs[key]; ok && cur != v || !ok && defaultAttr(key) != v {
				return nil, awssim.Errorf(http.StatusBadRequest, "QueueAlreadyExists",
					"A queue already exists with the same name and a different value for attribute %s", key)
			}
		}
		return q, nil
	}
	now := s.now()
	q := &queue{account: account, region: region, name: name, arn: ARN(account, region, name), created: now, modified: now,
		attrs: clean, byID: map[string]*message{}, wake: make(chan struct{})}
	s.queues[k] = q
	return q, nil
}

// queueAttributes are the settable attributes of a standard queue with their defaults.
var queueAttributes = map[string]string{
	"DelaySeconds":                  "0",
	"MaximumMessageSize":            "262144",
	"MessageRetentionPeriod":        "345600",
	"ReceiveMessageWaitTimeSeconds": "0",
	"VisibilityTimeout":             "30",
	"RedrivePolicy":                 "",
	"RedriveAllowPolicy":            "",
	"Policy":                        "",
	"KmsMasterKeyId":                "",
	"KmsDataKeyReusePeriodSeconds":  "300",
	"SqsManagedSseEnabled":          "true",
}

func defaultAttr(k string) string { return queueAttributes[k] }

var attrRanges = map[string][2]int{
	"DelaySeconds":                  {0, MaxDelaySeconds},
	"MaximumMessageSize":            {1024, MaxMessageSize},
	"MessageRetentionPeriod":        {60, 1209600},
	"ReceiveMessageWaitTimeSeconds": {0, MaxWaitSeconds},
	"VisibilityTimeout":             {0, 43200},
	"KmsDataKeyReusePeriodSeconds":  {60, 86400},
}

func (s *Service) validateAttributes(account, region string, attrs map[string]string) (map[string]string, *awssim.Error) {
	clean := map[string]string{}
	for k, v := range attrs {
		if _, ok := queueAttributes[k]; !ok {
			return nil, awssim.Errorf(http.StatusBadRequest, "InvalidAttributeName", "Unknown Attribute %s.", k)
		}
		if r, ok := attrRanges[k]; ok {
			n, err := atoi(v)
			if err != nil || n < r[0] || n > r[1] {
				return nil, awssim.Errorf(http.StatusBadRequest, "InvalidAttributeValue", "Invalid value for the parameter %s.", k)
			}
		}
		if k == "RedrivePolicy" && v != "" {
			if _, _, e := parseRedrive(v); e != nil {
				return nil, e
			}
		}
		clean[k] = v
	}
	return clean, nil
}

func (q *queue) attr(k string) string {
	if v, ok := q.attrs[k]; ok {
		return v
	}
	return defaultAttr(k)
}

func (q *queue) intAttr(k string) int {
	n, _ := atoi(q.attr(k))
	return n
}

func (q *queue) maxSize() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.intAttr("MaximumMessageSize")
}

// send stores a message; delay < 0 takes the queue's DelaySeconds.
func (q *queue) send(s *Service, body string, attrs map[string]msgAttr, delay int) *message {
	now := s.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if delay < 0 {
		delay = q.intAttr("DelaySeconds")
	}
	q.seq++
	m := &message{id: awssim.NewRequestID(), body: body, md5: md5Hex(body), attrs: attrs, attrsMD5: attributesMD5(attrs),
		sent: now, visibleAt: now.Add(time.Duration(delay) * time.Second), seq: q.seq}
	q.order = append(q.order, m)
	q.byID[m.id] = m
	close(q.wake)
	q.wake = make(chan struct{})
	return m
}

// remove deletes m from the queue. q.mu is held.
func (q *queue) removeLocked(m *message) {
	delete(q.byID, m.id)
	i := sort.Search(len(q.order), func(i int) bool { return q.order[i].seq >= m.seq })
	if i < len(q.order) && q.order[i] == m {
		q.order = append(q.order[:i], q.order[i+1:]...)
	}
}

// expireLocked drops messages older than the retention period. q.mu is held.
func (q *queue) expireLocked(now time.Time) {
	ret := time.Duration(q.intAttr("MessageRetentionPeriod")) * time.Second
	n := 0
	for _, m := range q.order {
		if now.Sub(m.sent) >= ret {
			delete(q.byID, m.id)
			continue
		}
		q.order[n] = m
		n++
	}
	clear(q.order[n:])
	q.order = q.order[:n]
}

// counts returns the visible, in-flight and delayed messages. q.mu is held.
func (q *queue) countsLocked(now time.Time) (visible, inflight, delayed int) {
	for _, m := range q.order {
		switch {
		case !m.visibleAt.After(now):
			visible++
		case m.receiveCount > 0:
			inflight++
		default:
			delayed++
		}
	}
	return
}

// receipt handles: "<queue arn>\x00<message id>\x00<receive count>\x00<random>", base64url.
func newHandle(q *queue, m *message) string {
	return encodeHandle(q.arn + "\x00" + m.id + "\x00" + fmt.Sprint(m.receiveCount) + "\x00" + awssim.NewRequestID())
}

type handleRef struct {
	arn, id string
	n       int
}

func parseHandle(h string) (handleRef, bool) {
	raw, ok := decodeHandle(h)
	if !ok {
		return handleRef{}, false
	}
	p := strings.Split(raw, "\x00")
	if len(p) != 4 {
		return handleRef{}, false
	}
	n, err := atoi(p[2])
	if err != nil {
		return handleRef{}, false
	}
	return handleRef{arn: p[0], id: p[1], n: n}, true
}
