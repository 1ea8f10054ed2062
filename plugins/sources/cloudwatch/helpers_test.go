package cloudwatch

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

const (
	testAccount = "123456789012"
	testKeyID   = "AKIACWTESTKEY0000001"
	testSecret  = "cw/test/secret/key/not/a/real/one/00000"
	testGroup   = "aws-cloudtrail-logs-123456789012"
)

// offsetClock is real time plus an offset a test moves forward (to expire tokens).
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// world is a simulated CloudWatch Logs behind real SigV4 verification.
type world struct {
	t     testing.TB
	svc   *cwlogs.Service
	srv   *httptest.Server
	clock *offsetClock
	seq   atomic.Int64
}

func newWorld(t testing.TB, opts cwlogs.Options) *world {
	t.Helper()
	w := &world{t: t, clock: &offsetClock{}}
	if opts.Now == nil {
		opts.Now = w.clock.Now
	}
	if opts.Rates == nil {
		opts.Rates = map[string]float64{} // no quotas unless a test asks
	}
	if opts.Seed == 0 {
		opts.Seed = 7
	}
	w.svc = cwlogs.New(opts)
	keys := awssim.NewKeyring(awssim.Credential{AccessKeyID: testKeyID, SecretAccessKey: testSecret, AccountID: testAccount,
		ARN: "arn:aws:iam::" + testAccount + ":user/test"})
	rt := awssim.NewRouter(awssim.NewVerifier(keys))
	rt.Handle("logs", w.svc)
	w.srv = httptest.NewServer(rt)
	t.Cleanup(w.srv.Close)
	return w
}

// config is a fast-polling configuration over the world.
func (w *world) config(regions ...string) *Config {
	c := NewConfig().(*Config)
	c.AWS = awsauth.Config{
		AccessKeyID: config.NewSecret(testKeyID), SecretAccessKey: config.NewSecret(testSecret),
		Endpoint: w.srv.URL, Proxy: netconf.Proxy{URL: netconf.ProxyNone},
	}
	c.Regions = regions
	c.LogGroup = testGroup
	c.StartPosition = "-1h"
	c.Lag = 50 * time.Millisecond
	c.Overlap = 2 * time.Second
	c.MaxWindow = time.Hour
	c.PollInterval = 20 * time.Millisecond
	c.RequestsPerSecond = 1000
	c.MaxBackoff = 50 * time.Millisecond
	c.EPSThrottle = nil
	if err := c.Validate(); err != nil {
		w.t.Fatal(err)
	}
	return c
}

// source builds a source with quick backoff.
func (w *world) source(t testing.TB, cfg *Config, store state.Store) *Source {
	t.Helper()
	s, err := New(cfg, plugintest.Settings(t, "cw", store))
	if err != nil {
		t.Fatal(err)
	}
	s.tune.backoffBase = 5 * time.Millisecond
	// Shorter than TestNackResendsWhileRunning waits for the nacked records to come again.
	s.tune.nackBase = 2 * time.Second
	return s
}

// ownedSource builds a source like source that reads the partitions parts grants it.
func (w *world) ownedSource(t testing.TB, cfg *Config, store state.Store, parts plugin.Partitions) *Source {
	t.Helper()
	set := plugintest.Settings(t, "cw", store)
	set.Partitions = parts
	s, err := New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	s.tune.backoffBase = 5 * time.Millisecond
	s.tune.nackBase = 2 * time.Second
	return s
}

// partitionOf is the partition key of a record the test configuration (all streams of
// testGroup) published.
func partitionOf(r *event.Record) string {
	return r.Meta[event.MetaAWSRegion] + "/" + testGroup + "/all"
}

// put stores n events (JSON messages {"n":k,"tag":tag}) with timestamps around now minus
// age, in a stream of region, and returns their messages.
func (w *world) put(region, stream string, n int, age time.Duration) []string {
	w.t.Helper()
	now := time.Now().Add(-age).UnixMilli()
	evs := make([]cwlogs.InputEvent, n)
	msgs := make([]string, n)
	for i := range evs {
		k := w.seq.Add(1)
		msgs[i] = fmt.Sprintf(`{"eventVersion":"1.08","n":%d,"region":%q}`, k, region)
		evs[i] = cwlogs.InputEvent{Timestamp: now - int64(i%7), Message: msgs[i]}
	}
	if err := w.svc.Put(testAccount, region, testGroup, stream, evs); err != nil {
		w.t.Fatal(err)
	}
	return msgs
}

// client is an SDK client of the world, for setting it up.
func (w *world) client(region string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: region, BaseEndpoint: aws.String(w.srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	})
}

func ctStream(region string) string { return cwlogs.CloudTrailStream(testAccount, region) }

func rawKey(r *event.Record) string { return string(r.Raw) }

// countingAPI wraps a client, counting calls and letting a test act after each.
type countingAPI struct {
	next  logsAPI
	calls atomic.Int64
	mu    sync.Mutex
	after func(out *cloudwatchlogs.FilterLogEventsOutput, err error)
}

func (c *countingAPI) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	c.calls.Add(1)
	out, err := c.next.FilterLogEvents(ctx, in, o...)
	c.mu.Lock()
	f := c.after
	c.mu.Unlock()
	if f != nil {
		f(out, err)
	}
	return out, err
}

func (c *countingAPI) DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	return c.next.DescribeLogGroups(ctx, in, o...)
}

func (c *countingAPI) DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, o ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error) {
	return c.next.DescribeLogStreams(ctx, in, o...)
}

// checkOnce fails unless every message in want was published exactly once, and no eventId twice.
func checkOnce(t testing.TB, pub *plugintest.Publisher, want []string) {
	t.Helper()
	byRaw := map[string]int{}
	byID := map[string]int{}
	for _, r := range pub.Records() {
		byRaw[string(r.Raw)]++
		byID[r.ID]++
	}
	for _, m := range want {
		if byRaw[m] != 1 {
			t.Errorf("message %s published %d times", m, byRaw[m])
		}
	}
	for id, n := range byID {
		if n != 1 {
			t.Errorf("eventId %s published %d times", id, n)
		}
	}
}

var _ plugin.Publisher = (*plugintest.Publisher)(nil)

// appendAll is b.appendRecords for a message that is not dropped (no Dropper call can fail).
func appendAll(b *builder, dst []*event.Record, e *logEvent) []*event.Record {
	recs, err := b.appendRecords(context.Background(), dst, e)
	if err != nil {
		panic(err)
	}
	return recs
}

// interpose puts api between s and the client it builds for each region: c, the countingAPI
// api embeds, passes the calls api lets through on to that client.
func interpose(s *Source, c *countingAPI, api logsAPI) {
	orig := s.tune.newAPI
	s.tune.newAPI = func(ctx context.Context, region string) (logsAPI, error) {
		next, err := orig(ctx, region)
		c.next = next
		return api, err
	}
}

// restartRest runs cfg again over store until every event of want not in acked (acknowledged
// before a stop) is published and every batch acknowledged, and returns its publisher and
// those events.
func restartRest(t *testing.T, w *world, cfg *Config, store state.Store, want []string, acked map[string]bool) (*plugintest.Publisher, []string) {
	t.Helper()
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, w.source(t, cfg, store), pub)
	var rest []string
	for _, k := range want {
		if !acked[k] {
			rest = append(rest, k)
		}
	}
	pub.WaitKeys(t, rawKey, rest)
	pub.WaitUntil(t, 0, "every batch acknowledged", func() bool { return len(pub.Pending()) == 0 })
	run.Stop(t)
	return pub, rest
}

// checkNoneAgain fails for every event of pub acknowledged before the restart.
func checkNoneAgain(t *testing.T, pub *plugintest.Publisher, acked map[string]bool) {
	t.Helper()
	for _, k := range pub.Keys(rawKey) {
		if acked[k] {
			t.Errorf("%s, acknowledged before the restart, published again", k)
		}
	}
}
