// Package awssim holds what cloudsim's AWS services share: the verified caller of a request,
// the credentials it may sign with, the error shapes of the AWS protocols, and per-account,
// per-region request quotas. The services (CloudWatch Logs, CloudTrail Lake, STS) build on it.
package awssim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Caller is who signed a request, as established by SigV4 verification.
type Caller struct {
	AccessKeyID string
	AccountID   string
	ARN         string // the principal's ARN (a user, or an assumed role for instance credentials)
	UserID      string
	Region      string // from the credential scope
	Service     string // from the credential scope: logs, cloudtrail-data, cloudtrail, sts
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the verified caller of the request whose context is ctx.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Credential is a key pair the simulator accepts, with what it stands for.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // set for temporary credentials (instance roles); then required
	AccountID       string
	ARN             string
	UserID          string
	// Expiration, when set, is when temporary credentials stop working: requests signed with
	// them afterwards get ExpiredTokenException (ExpiredToken in the query protocol).
	Expiration time.Time
}

// Expired reports whether the credential has an expiration and now is at or past it.
func (c Credential) Expired(now time.Time) bool {
	return !c.Expiration.IsZero() && !now.Before(c.Expiration)
}

// Keyring holds the credentials the simulator accepts. Safe for concurrent use.
type Keyring struct {
	mu    sync.RWMutex
	creds map[string]Credential
}

// NewKeyring returns a keyring holding creds.
func NewKeyring(creds ...Credential) *Keyring {
	k := &Keyring{creds: map[string]Credential{}}
	for _, c := range creds {
		k.Add(c)
	}
	return k
}

// Add adds or replaces a credential.
func (k *Keyring) Add(c Credential) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.creds[c.AccessKeyID] = c
}

// Remove forgets an access key.
func (k *Keyring) Remove(accessKeyID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.creds, accessKeyID)
}

// PruneExpired forgets the credentials that expired before cutoff and returns how many it
// removed. Credentials that expired after cutoff are kept, so that requests signed with them are
// still answered with ExpiredTokenException rather than UnrecognizedClientException.
func (k *Keyring) PruneExpired(cutoff time.Time) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for id, c := range k.creds {
		if !c.Expiration.IsZero() && c.Expiration.Before(cutoff) {
			delete(k.creds, id)
			n++
		}
	}
	return n
}

// Len returns how many credentials the keyring holds.
func (k *Keyring) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.creds)
}

// Lookup returns the credential of an access key id.
func (k *Keyring) Lookup(accessKeyID string) (Credential, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	c, ok := k.creds[accessKeyID]
	return c, ok
}

// Error is an AWS error answer.
type Error struct {
	Status  int
	Code    string // e.g. ThrottlingException, ResourceNotFoundException
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds an Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WriteJSONError writes e as the awsJson1.1 and restJson1 protocols do: the code in the
// X-Amzn-ErrorType header and in the body's __type, the message in the body.
func WriteJSONError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
}

// Quota is a set of token buckets, one per account, region and API, each refilled at the API's
// rate per second (burst: one second's worth, at least 1). An API with no rate is not limited.
type Quota struct {
	mu      sync.Mutex
	rates   map[string]float64
	buckets map[string]*rate.Limiter
}

// NewQuota returns quotas with the given per-second rates by API name.
func NewQuota(rates map[string]float64) *Quota {
	return &Quota{rates: rates, buckets: map[string]*rate.Limiter{}}
}

// Allow takes one request from the bucket of (account, region, api) and reports whether the
// quota allowed it.
func (q *Quota) Allow(account, region, api string) bool {
	q.mu.Lock()
	r, ok := q.rates[api]
	if !ok || r <= 0 {
		q.mu.Unlock()
		return true
	}
	key := account + "/" + region + "/" + api
	b, ok := q.buckets[key]
	if !ok {
		b = rate.NewLimiter(rate.Limit(r), max(1, int(r)))
		q.buckets[key] = b
	}
	q.mu.Unlock()
	return b.Allow()
}
