// Package s3 simulates Amazon S3 for cloudsim: the REST XML protocol as the AWS SDKs speak it
// over plain http (path-style addressing, and virtual-hosted style for <bucket>.localhost and
// <bucket>.s3.<region>.amazonaws.com hosts), with the operations a log shipper reads and writes
// with — buckets, PutObject, GetObject with ranges, HeadObject, DeleteObject, ListObjectsV2,
// multipart uploads — S3's errors and limits, event notifications to SQS queues (in S3's own
// shape, or wrapped as SNS or EventBridge deliver them), switches for injected faults, and a Go
// API to put CloudTrail log files as CloudTrail writes them.
//
// The request's account and region come from the awssim.Caller that SigV4 verification puts in
// the request context. README.md lists what is simulated and how it differs from AWS.
package s3

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

	"github.com/logshipper/logshipper/internal/sim/simfault"
)

// Limits of the real service.
const (
	MaxKeys        = 1000        // keys in one ListObjectsV2 page
	MaxUploads     = 1000        // uploads in one ListMultipartUploads page
	MaxKeyLength   = 1024        // bytes of a key
	MinPartSize    = 5 << 20     // bytes of every part of a multipart upload but the last
	MaxPartNumber  = 10_000      // parts of a multipart upload
	MaxObjectSize  = 5 << 30     // bytes of one PutObject
	DefaultRegion  = "us-east-1" // the region of a bucket created without LocationConstraint
	xmlns          = "http://s3.amazonaws.com/doc/2006-03-01/"
	lastModifiedAt = "2006-01-02T15:04:05.000Z"
)

// Faults are injected failures. Rates are fractions of requests, from 0 to 1.
type Faults struct {
	// SlowDownRate answers this fraction of requests with 503 SlowDown (S3's throttling).
	SlowDownRate float64
	// InternalErrorRate answers this fraction with 500 InternalError.
	InternalErrorRate float64
	// UnavailableRate answers this fraction with 503 ServiceUnavailable.
	UnavailableRate float64
	// CompleteErrorRate answers this fraction of CompleteMultipartUpload calls with 200 and an
	// <Error> body (InternalError), as S3 does when the assembly fails after the answer began;
	// the upload stays open, so a retry can complete it.
	CompleteErrorRate float64
	// Latency is added to every request (after the body is read), before SlowDelay.
	Latency time.Duration
	// SlowRate makes this fraction of requests wait SlowDelay first (after the body is read).
	SlowRate  float64
	SlowDelay time.Duration
	// CutRate cuts this fraction of successful answers that have a body: the work is done,
	// half of the body is sent and the connection closed (a GetObject cut mid-download).
	CutRate float64
	// DuplicateNotifyRate delivers this fraction of event notifications twice, as S3's
	// at-least-once delivery may.
	DuplicateNotifyRate float64
	// Ops limits the request faults to these operations (e.g. "GetObject"); empty means all.
	Ops []string
}

// applies says whether the faults apply to op: Ops lists it, or is empty.
func (f Faults) applies(op string) bool { return len(f.Ops) == 0 || slices.Contains(f.Ops, op) }

// QueueSender delivers event notifications: the SQS simulator (*sqs.Service) is one.
type QueueSender interface {
	// Send puts a message with body on the queue of ARN arn.
	Send(arn, body string) (messageID string, err error)
	// QueueExists reports whether the queue of ARN arn exists.
	QueueExists(arn string) bool
}

// Options configure a Service. The zero value is usable (no notifications can be configured
// without Queues).
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Queues receives event notifications.
	Queues QueueSender
	// NotifyDelay delays each event notification (S3 delivers within seconds, at least once).
	NotifyDelay time.Duration
	// MinPartSize overrides the 5 MiB minimum size of a part but the last (tests).
	MinPartSize int64
	// Faults are the initial injected faults; see SetFaults.
	Faults Faults
	// Seed seeds the random source of faults; 0 picks a random seed.
	Seed uint64
	// Logger gets what the service does on its own (notification deliveries that failed).
	Logger *slog.Logger
}

// Service is a simulated S3. It is an http.Handler and safe for concurrent use.
type Service struct {
	now         func() time.Time
	queues      QueueSender
	notifyDelay time.Duration
	minPart     int64
	logger      *slog.Logger

	faults simfault.Box[Faults]
	rnd    *simfault.Rand

	calls         sync.Map // operation -> *atomic.Uint64
	cut, slow     atomic.Uint64
	notified      atomic.Uint64
	notifyFailed  atomic.Uint64
	sequencer     atomic.Uint64
	notifications sync.WaitGroup

	mu      sync.RWMutex
	buckets map[string]*bucket
}

// New returns a Service.
func New(o Options) *Service {
	s := &Service{now: o.Now, queues: o.Queues, notifyDelay: o.NotifyDelay, minPart: o.MinPartSize, logger: o.Logger,
		buckets: map[string]*bucket{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.minPart <= 0 {
		s.minPart = MinPartSize
	}
	s.faults.Set(o.Faults)
	s.rnd = simfault.NewRand(o.Seed, 0x2545f4914f6cdd1d)
	return s
}

// SetFaults replaces the injected faults.
func (s *Service) SetFaults(f Faults) { s.faults.Set(f) }

// Faults returns the injected faults.
func (s *Service) Faults() Faults { return s.faults.Get() }

func (s *Service) float64() float64 { return s.rnd.Float64() }

// Stats are counters of a Service's activity.
type Stats struct {
	Calls        map[string]uint64 // requests answered with success, by operation
	Cut          uint64            // answers cut by Faults.CutRate
	Slow         uint64            // requests delayed by Faults.SlowRate
	Notified     uint64            // event notifications delivered
	NotifyFailed uint64            // event notifications that could not be delivered
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	st := Stats{Calls: map[string]uint64{}, Cut: s.cut.Load(), Slow: s.slow.Load(), Notified: s.notified.Load(), NotifyFailed: s.notifyFailed.Load()}
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

// Close waits for delayed notifications to be delivered.
func (s *Service) Close() { s.notifications.Wait() }

type bucket struct {
	name, account, region string
	created               time.Time

	mu      sync.RWMutex
	objects map[string]*object
	uploads map[string]*upload
	notify  []Notification
}

type object struct {
	key             string
	data            []byte
	etag            string // quoted
	modified        time.Time
	contentType     string
	contentEncoding string
	metadata        map[string]string
	checksums       map[string]string // header name (x-amz-checksum-crc32 ...) -> value
}

type upload struct {
	id, key         string
	initiated       time.Time
	contentType     string
	contentEncoding string
	metadata        map[string]string
	parts           map[int]*part
}

type part struct {
	data     []byte
	etag     string // quoted
	modified time.Time
}

func etagOf(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// validBucketName applies S3's rules for new bucket names: 3 to 63 characters of lower-case
// letters, digits, dots and hyphens, starting and ending with a letter or digit.
func validBucketName(n string) bool {
	if len(n) < 3 || len(n) > 63 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	first, last := n[0], n[len(n)-1]
	return first != '.' && first != '-' && last != '.' && last != '-' && !strings.Contains(n, "..")
}

// CreateBucket creates a bucket owned by account in region (the Go API).
func (s *Service) CreateBucket(account, region, name string) error {
	if _, e := s.createBucket(account, region, name); e != nil {
		return e
	}
	return nil
}

func (s *Service) createBucket(account, region, name string) (*bucket, *s3Error) {
	if !validBucketName(name) {
		return nil, errf(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.").with("BucketName", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[name]; b != nil {
		if b.account == account {
			if region == DefaultRegion && b.region == DefaultRegion {
				// us-east-1 answers a re-creation by the owner with success.
				return b, nil
			}
			return nil, errf(http.StatusConflict, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.").with("BucketName", name)
		}
		return nil, errf(http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.").with("BucketName", name)
	}
	b := &bucket{name: name, account: account, region: region, created: s.now(), objects: map[string]*object{}, uploads: map[string]*upload{}}
	s.buckets[name] = b
	return b, nil
}

func (s *Service) bucket(name string) *bucket {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.buckets[name]
}

// BucketOwner returns the account and region of a bucket.
func (s *Service) BucketOwner(name string) (account, region string, ok bool) {
	b := s.bucket(name)
	if b == nil {
		return "", "", false
	}
	return b.account, b.region, true
}

// Object is a stored object as the Go API shows it.
type Object struct {
	Key          string
	Data         []byte
	ETag         string
	LastModified time.Time
}

// GetObject returns a stored object (the Go API, for tests).
func (s *Service) GetObject(bucketName, key string) (Object, error) {
	b := s.bucket(bucketName)
	if b == nil {
		return Object{}, errNoBucket(bucketName)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	o := b.objects[key]
	if o == nil {
		return Object{}, errNoKey(key)
	}
	return Object{Key: o.key, Data: o.data, ETag: o.etag, LastModified: o.modified}, nil
}

// Keys returns the keys of a bucket under prefix, sorted (the Go API, for tests).
func (s *Service) Keys(bucketName, prefix string) ([]string, error) {
	b := s.bucket(bucketName)
	if b == nil {
		return nil, errNoBucket(bucketName)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	var keys []string
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Uploads returns how many multipart uploads of a bucket are open (the Go API, for tests).
func (s *Service) Uploads(bucketName string) int {
	b := s.bucket(bucketName)
	if b == nil {
		return 0
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.uploads)
}

// PutObject stores an object and sends its ObjectCreated:Put notifications, as a PutObject
// call of the bucket's owner does (the Go API). It returns the ETag.
func (s *Service) PutObject(bucketName, key string, data []byte, contentType string) (string, error) {
	b := s.bucket(bucketName)
	if b == nil {
		return "", errNoBucket(bucketName)
	}
	if len(key) == 0 || len(key) > MaxKeyLength {
		return "", errf(http.StatusBadRequest, "KeyTooLongError", "Your key is too long")
	}
	o := &object{key: key, data: data, etag: etagOf(data), modified: s.now().UTC().Truncate(time.Millisecond), contentType: contentType}
	s.store(b, o, "ObjectCreated:Put", b.account, "127.0.0.1")
	return o.etag, nil
}

// store puts o into b and notifies eventName.
func (s *Service) store(b *bucket, o *object, eventName, principal, sourceIP string) {
	b.mu.Lock()
	b.objects[o.key] = o
	b.mu.Unlock()
	s.notifyEvent(b, eventName, o.key, int64(len(o.data)), strings.Trim(o.etag, `"`), principal, sourceIP)
}

// errf builds an S3 error.
func errf(status int, code, format string, args ...any) *s3Error {
	return &s3Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// s3Error is an S3 error answer, with the extra elements S3 puts in its <Error> (Key,
// BucketName, UploadId, ...).
type s3Error struct {
	Status        int
	Code, Message string
	extra         [][2]string
}

func (e *s3Error) Error() string { return e.Code + ": " + e.Message }

func (e *s3Error) with(name, value string) *s3Error {
	e.extra = append(e.extra, [2]string{name, value})
	return e
}

func errNoBucket(name string) *s3Error {
	return errf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist").with("BucketName", name)
}

func errNoKey(key string) *s3Error {
	return errf(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.").with("Key", key)
}

func errNoUpload(id string) *s3Error {
	return errf(http.StatusNotFound, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.").with("UploadId", id)
}

func errAccessDenied() *s3Error {
	return errf(http.StatusForbidden, "AccessDenied", "Access Denied")
}

func errInvalidArgument(name, value, format string, args ...any) *s3Error {
	return errf(http.StatusBadRequest, "InvalidArgument", format, args...).with("ArgumentName", name).with("ArgumentValue", value)
}
