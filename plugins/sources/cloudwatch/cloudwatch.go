// Package cloudwatch is the aws_cloudwatch_logs source: it reads one log group of Amazon
// CloudWatch Logs in one or more regions with FilterLogEvents, one poller (partition) per
// region, and publishes every page as one batch, delivering every event at least once and, by
// deduplicating on eventId, normally exactly once. README.md describes the windowing
// algorithm that keeps late and out-of-order events from being lost.
package cloudwatch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/time/rate"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
)

// Type is the plugin type name.
const Type = "aws_cloudwatch_logs"

// Factory registers the source. The sources it builds share one FilterLogEvents limiter per
// (credential identity, region), so that every configuration reading one account and region
// stays together under the service's quota. In cluster mode the limiter allows this member's
// share of requests_per_second (plugin.Settings.Share): every member may read log groups of
// that account and region.
func Factory() plugin.Factory {
	lims := newLimiters()
	return plugin.Factory{
		Type:      Type,
		Kind:      plugin.KindSource,
		Summary:   "reads a CloudWatch Logs group in one or more regions (CloudTrail via CloudWatch Logs), without loss on late events",
		NewConfig: NewConfig,
		NewSource: func(c plugin.Config, set plugin.Settings) (plugin.Source, error) {
			return build(c.(*Config), set, lims)
		},
	}
}

// logsAPI is the part of the CloudWatch Logs client the source uses.
type logsAPI interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
	DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
}

// limiters hold the shared request limiters, by credential identity and region.
type limiters struct {
	mu sync.Mutex
	m  map[limiterKey]*plugin.QuotaLimiter
}

type limiterKey struct{ identity, region string }

func newLimiters() *limiters { return &limiters{m: map[limiterKey]*plugin.QuotaLimiter{}} }

// get returns the limiter of identity and region, creating it at rps times the share (this
// process's part of the quota in cluster mode; every configuration of one process has the same
// share); the first configuration to ask sets its rate, and log says when the share changes it.
func (l *limiters) get(identity, region string, rps float64, share plugin.Share, log *slog.Logger) *plugin.QuotaLimiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := limiterKey{identity, region}
	if lim := l.m[k]; lim != nil {
		return lim
	}
	lim := plugin.NewQuotaLimiter(rps, 1, share.Quota(plugin.QuotaKey("FilterLogEvents", region, identity), rps), log)
	l.m[k] = lim
	return lim
}

// Source reads one log group.
type Source struct {
	cfg      *Config
	set      plugin.Settings
	regions  []string
	awsCfg   awsauth.Config
	identity string
	lims     *limiters
	eps      *rate.Limiter // nil: no limit
	idents   *identifiers
	tune     tuning

	account atomic.Pointer[string] // the account the credentials belong to, once STS said it

	late        atomic.Int64 // events seen that reached CloudWatch later than lag+overlap after their time
	overlapDups atomic.Int64 // events of an overlap read again and not published again
	live        liveCounters // the near-real-time pass and its sweep (live.go)
}

var (
	_ plugin.Source = (*Source)(nil)
	_ logsAPI       = (*cloudwatchlogs.Client)(nil)
)

// tuning holds what tests change.
type tuning struct {
	now         func() time.Time
	backoffBase time.Duration
	// nackBase is the backoff after a first nack before the partition reads again from the
	// saved checkpoint (reading on meanwhile): jittered, doubling with nacks in a row up to
	// max(max_backoff, nackBase).
	nackBase time.Duration
	// hedgeFloor is the least a request waits for its answer before it counts as stalled
	// (hedge.go).
	hedgeFloor time.Duration
	// newAPI builds the client of a region (default: the SDK client through awsauth).
	newAPI func(ctx context.Context, region string) (logsAPI, error)
	// answerHeader and answerWhole are how long a FilterLogEvents request first waits for
	// the response headers and the whole answer (see patience).
	answerHeader, answerWhole time.Duration
}

// New returns a source for a validated configuration, with limiters of its own.
func New(cfg *Config, set plugin.Settings) (*Source, error) {
	return build(cfg, set, newLimiters())
}

func build(cfg *Config, set plugin.Settings, lims *limiters) (*Source, error) {
	regions, err := cfg.allRegions()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Type, err)
	}
	awsCfg := cfg.AWS
	if err := awsCfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", Type, err)
	}
	s := &Source{
		cfg:      cfg,
		set:      set,
		regions:  regions,
		awsCfg:   awsCfg,
		identity: credentialIdentity(awsCfg),
		lims:     lims,
		tune: tuning{now: time.Now, backoffBase: time.Second, nackBase: DefaultNackDelay, hedgeFloor: hedgeFloor,
			answerHeader: awsauth.ResponseHeaderTimeout, answerWhole: awsauth.RequestTimeout},
	}
	s.tune.newAPI = s.sdkClient
	if n := cfg.epsLimit(); n > 0 {
		s.eps = rate.NewLimiter(rate.Limit(n), n)
	}
	if cfg.UseAsGatewayLogSource {
		if s.idents, err = parseIdentifierPatterns(cfg.LogSourceIdentifierPattern); err != nil {
			return nil, fmt.Errorf("%s: log_source_identifier_pattern: %w", Type, err)
		}
	}
	return s, nil
}

// limiterIdentity is whose quota the calls count against: the account when STS told it, else
// the credentials.
func (s *Source) limiterIdentity() string {
	if a := s.account.Load(); a != nil {
		return "account:" + *a + "@" + s.awsCfg.Endpoint
	}
	return s.identity
}

// credentialIdentity names whose quota the calls count against, without calling AWS: the
// access key, the assumed role, the profile, or the default chain, at one endpoint.
func credentialIdentity(c awsauth.Config) string {
	id := "default-chain"
	switch {
	case c.AssumeRoleARN != "":
		id = "role:" + c.AssumeRoleARN
	case c.AccessKeyID.IsSet():
		id = "key:" + c.AccessKeyID.Value()
	case c.Profile != "":
		id = "profile:" + c.Profile
	}
	return id + "@" + c.Endpoint
}

// sdkClient builds the SDK client of a region. The SDK does not retry: the partition does,
// with the shared limiter and its own backoff, so that a throttled call waits its turn.
func (s *Source) sdkClient(ctx context.Context, region string) (logsAPI, error) {
	cfg, err := awsauth.Load(ctx, s.awsCfg, region, awsauth.WithLogger(s.set.Logger))
	if err != nil {
		return nil, err
	}
	if s.account.Load() == nil {
		// The quota is the account's: two keys of one account share it. Without
		// sts:GetCallerIdentity the limiter stays per credential. Only nice to have: one
		// attempt, no SDK backoff (an unreachable STS would otherwise hold the start up to the
		// timeout), and before pinning — the pinned certificate is the CloudWatch Logs
		// endpoint's, and STS answers with its own.
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		id, err := awsauth.CallerIdentity(sctx, cfg, func(o *sts.Options) { o.RetryMaxAttempts = 1 })
		cancel()
		if err == nil && id.Account != "" {
			s.account.Store(&id.Account)
		} else if err != nil {
			s.set.Logger.Debug("the account is unknown (sts:GetCallerIdentity failed): the request limiter is shared per credential", "error", err)
		}
	}
	if s.cfg.AcquireServerCertificate {
		if err := s.pin(ctx, &cfg, region); err != nil {
			return nil, err
		}
	}
	// FilterLogEvents answers are decoded by pageDecoder (decode.go); the SDK signs, sends
	// and decodes the errors.
	dec := &pageDecoder{}
	return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		o.RetryMaxAttempts = 1
		o.APIOptions = append(o.APIOptions, withPageDecoder(dec))
	}), nil
}

// Late returns how many events were read that reached CloudWatch Logs more than lag+overlap
// after their timestamp: events like them may be missed (see README.md, "Limits").
func (s *Source) Late() int64 { return s.late.Load() }

// OverlapDuplicates returns how many events were read again in an overlap and not published
// again (by design: every event is read in about (lag+overlap)/poll_interval windows' worth of
// overlap). They are not counted as dropped.
func (s *Source) OverlapDuplicates() int64 { return s.overlapDups.Load() }

// DefaultNackDelay is the backoff after a first nack before a partition reads again from its
// saved checkpoint (with jitter: between half of it and all of it).
const DefaultNackDelay = 5 * time.Second

// Run implements plugin.Source: one partition per region, until ctx ends or one of them meets
// a fatal error (a pinned certificate that changed, a configuration AWS cannot load).
func (s *Source) Run(ctx context.Context, pub plugin.Publisher) error {
	if ctx.Err() != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.set.Logger.Info("reading CloudWatch Logs", "log_group", s.cfg.LogGroup, "regions", s.regions,
		"stream", s.streamSelection(), "lag", s.cfg.Lag, "overlap", s.cfg.Overlap)
	errs := make(chan error, len(s.regions))
	for _, r := range s.regions {
		p := s.newPartition(r)
		p.b.repairs = plugin.NewRepairs(p.log, s.set.Metrics)
		empties := plugin.NewEmpties(p.log, s.set.Metrics)
		p.b.empty = func(e *logEvent) { empties.Note("log_stream", e.Stream, "event_id", e.ID) }
		go func() {
			err := p.run(ctx, pub)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range s.regions {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// streamSelection names the streams read, for the partition key and the logs.
func (s *Source) streamSelection() string {
	switch {
	case s.cfg.LogStream != "":
		return "stream=" + s.cfg.LogStream
	case s.cfg.LogStreamPrefix != "":
		return "prefix=" + s.cfg.LogStreamPrefix
	}
	return "all"
}

// backoff returns the delay before retry number attempt (from 1): exponential from
// backoffBase up to max_backoff, with jitter so that pollers do not retry in step.
func (s *Source) backoff(attempt int) time.Duration {
	return retry.Backoff{Initial: s.tune.backoffBase, Max: s.cfg.MaxBackoff}.Delay(attempt-1, 0)
}

// transientBackoff is backoff for an error that says nothing of load (a 5xx, a cut
// connection): exponential from a tenth of backoffBase, up to max_backoff.
func (s *Source) transientBackoff(attempt int) time.Duration {
	return retry.Backoff{Initial: s.tune.backoffBase / 10, Max: s.cfg.MaxBackoff}.Delay(attempt-1, 0)
}

// waitEPS waits until n more records fit the eps_throttle.
func (s *Source) waitEPS(ctx context.Context, n int) error {
	if s.eps == nil {
		return nil
	}
	for n > 0 {
		k := min(n, s.eps.Burst())
		if err := s.eps.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (s *Source) logger(region string) *slog.Logger {
	return s.set.Logger.With("region", region, "log_group", s.cfg.LogGroup)
}
