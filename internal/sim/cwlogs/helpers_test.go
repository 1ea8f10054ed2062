package cwlogs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

const testAccount = "123456789012"

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) ms() int64 { return c.Now().UnixMilli() }

var scopeRE = regexp.MustCompile(`Credential=([^/,]+)/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// withCaller stands in for SigV4 verification: it trusts the Authorization header's credential
// scope and puts the caller in the context.
func withCaller(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil {
			next.ServeHTTP(w, r)
			return
		}
		c := awssim.Caller{AccessKeyID: m[1], AccountID: testAccount, Region: m[2], Service: m[3],
			ARN: "arn:aws:iam::" + testAccount + ":user/test"}
		next.ServeHTTP(w, r.WithContext(awssim.WithCaller(r.Context(), c)))
	})
}

type env struct {
	svc   *Service
	srv   *httptest.Server
	clock *clock
}

// newEnv starts a service behind an httptest server. Quotas are off unless opts.Rates is set.
func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	if opts.Rates == nil {
		opts.Rates = map[string]float64{}
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	svc := New(opts)
	srv := httptest.NewServer(withCaller(svc))
	t.Cleanup(srv.Close)
	return &env{svc: svc, srv: srv, clock: c}
}

// client returns the real SDK client for region. It retries nothing the service answers, so
// that throttling and faults surface; it retries only the client-side race in which the SDK
// reads a response on a connection its transport has just closed ("use of closed network
// connection", aws/aws-sdk-go-v2#2737), which the SDK's default retryer also retries and which
// a loop of raw net/http requests against the same server never shows.
func (e *env) client(region string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       region,
		BaseEndpoint: aws.String(e.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:   e.srv.Client(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 5
			o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				var ae smithy.APIError
				if !errors.As(err, &ae) && strings.Contains(err.Error(), "use of closed network connection") {
					return aws.TrueTernary
				}
				return aws.FalseTernary
			})}
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		}),
	})
}

var ctx = context.Background()

// apiCode returns the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func mustNoErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
