package cloudwatch

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

// Late, out-of-order ingestion: every event arrives once, none lost, none twice.
func TestLateOutOfOrderExactlyOnce(t *testing.T) {
	w := newWorld(t, cwlogs.Options{IngestDelay: 20 * time.Millisecond, IngestJitter: 600 * time.Millisecond, ScanBudget: 50})
	cfg := w.config("us-east-1")
	cfg.Lag = 100 * time.Millisecond
	cfg.Overlap = 2 * time.Second
	s := w.source(t, cfg, nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	var want []string
	for i := range 10 {
		// some at "now", some stamped in the past (written late by their producer)
		want = append(want, w.put("us-east-1", ctStream("us-east-1"), 40, time.Duration(i%3)*300*time.Millisecond)...)
		time.Sleep(30 * time.Millisecond)
	}
	pub.WaitUntil(t, 20*time.Second, "every event", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	// Let the overlap re-read everything once more before judging duplicates.
	time.Sleep(cfg.Overlap + 300*time.Millisecond)
	run.Stop(t)
	checkOnce(t, pub, want)
	for _, r := range pub.Records() {
		if r.Meta[event.MetaAWSRegion] != "us-east-1" || r.Meta[event.MetaLogGroup] != testGroup || r.Meta[event.MetaLogStream] != ctStream("us-east-1") || r.Time.IsZero() || r.ID == "" {
			t.Fatalf("record %+v", r)
		}
	}
	if s.OverlapDuplicates() == 0 {
		t.Errorf("no overlap duplicate counted: the overlap was never re-read")
	}
	// Re-reading the overlap is by design, not a drop (it would be ~30x the event rate).
	if d := testutil.ToFloat64(s.set.Metrics.DroppedCounter("duplicate")); d != 0 {
		t.Errorf("%v overlap re-reads counted as dropped: duplicate", d)
	}
}

// Throttling (injected and by the quota) is retried with backoff; nothing is lost.
func TestThrottling(t *testing.T) {
	w := newWorld(t, cwlogs.Options{Faults: cwlogs.Faults{ThrottleRate: 0.5, Ops: []string{"FilterLogEvents"}}, ScanBudget: 20,
		Rates: map[string]float64{"FilterLogEvents": 50}})
	want := w.put("eu-west-1", ctStream("eu-west-1"), 200, time.Second)
	cfg := w.config("eu-west-1")
	s := w.source(t, cfg, nil)
	pub := plugintest.NewPublisher(plugintest.AckInPublish)
	run := plugintest.Start(t, s, pub)
	pub.WaitUntil(t, 30*time.Second, "every event", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	checkOnce(t, pub, want)
	if testutil.ToFloat64(s.set.Metrics.Retries) == 0 {
		t.Error("no retry counted under throttling")
	}
}

// Two configurations of one account and region share one limiter; other regions have their own.
func TestSharedLimiter(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	lims := newLimiters()
	a, err := build(w.config("us-east-1", "eu-west-1"), plugintest.Settings(t, "a", nil), lims)
	if err != nil {
		t.Fatal(err)
	}
	b, err := build(w.config("us-east-1"), plugintest.Settings(t, "b", nil), lims)
	if err != nil {
		t.Fatal(err)
	}
	pa, pb, pc := a.newPartition("us-east-1"), b.newPartition("us-east-1"), a.newPartition("eu-west-1")
	if pa.lim != pb.lim {
		t.Error("two configurations of one account and region have different limiters")
	}
	if pa.lim == pc.lim {
		t.Error("two regions share a limiter")
	}
	c := w.config("us-east-1")
	c.AWS.AccessKeyID, c.AWS.SecretAccessKey = c.AWS.SessionToken, c.AWS.SessionToken // default chain
	cs, err := build(c, plugintest.Settings(t, "c", nil), lims)
	if err != nil {
		t.Fatal(err)
	}
	if cs.newPartition("us-east-1").lim == pa.lim {
		t.Error("other credentials share the limiter")
	}
	// Factory-built sources share too.
	f := Factory()
	s1, _ := f.NewSource(w.config("us-east-1"), plugintest.Settings(t, "f1", nil))
	s2, _ := f.NewSource(w.config("us-east-1"), plugintest.Settings(t, "f2", nil))
	if s1.(*Source).newPartition("us-east-1").lim != s2.(*Source).newPartition("us-east-1").lim {
		t.Error("sources of one factory do not share the limiter")
	}
}

// A group deleted in one region is reported and retried; the other region keeps flowing.
func TestMissingGroupOtherRegionFlows(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	w.put("us-east-1", ctStream("us-east-1"), 5, time.Second)
	want := w.put("eu-west-1", ctStream("eu-west-1"), 5, time.Second)
	if _, err := w.client("us-east-1").DeleteLogGroup(context.Background(), &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(testGroup)}); err != nil {
		t.Fatal(err)
	}
	s := w.source(t, w.config("us-east-1", "eu-west-1"), nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitKeys(t, rawKey, want)
	more := w.put("eu-west-1", ctStream("eu-west-1"), 5, 0)
	pub.WaitKeys(t, rawKey, more)
	plugintest.Eventually(t, 0, "errors counted for the missing group", func() bool { return testutil.ToFloat64(s.set.Metrics.Errors) >= 2 })
	// The group comes back: its region resumes.
	back := w.put("us-east-1", ctStream("us-east-1"), 3, 0)
	pub.WaitKeys(t, rawKey, back)
	run.Stop(t)
	for _, r := range pub.Records() {
		if r.Meta[event.MetaAWSRegion] == "us-east-1" && !strings.Contains(string(r.Raw), `"us-east-1"`) {
			t.Errorf("record %s", r.Raw)
		}
	}
}

// Empty pages carrying a nextToken never end a scan.
func TestEmptyPagesWithToken(t *testing.T) {
	w := newWorld(t, cwlogs.Options{Faults: cwlogs.Faults{EmptyPageRate: 0.7}, ScanBudget: 10})
	want := w.put("us-east-1", ctStream("us-east-1"), 100, time.Second)
	s := w.source(t, w.config("us-east-1"), nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitUntil(t, 20*time.Second, "every event", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	checkOnce(t, pub, want)
}

// A nextToken that expired mid-window: the window is read again from its start and the
// events already published are not published again.
func TestExpiredToken(t *testing.T) {
	w := newWorld(t, cwlogs.Options{ScanBudget: 10})
	want := w.put("us-east-1", ctStream("us-east-1"), 60, time.Second)
	cfg := w.config("us-east-1")
	cfg.PollInterval = time.Hour // one window only
	s := w.source(t, cfg, nil)
	var expired atomic.Int64
	orig := s.tune.newAPI
	s.tune.newAPI = func(ctx context.Context, region string) (logsAPI, error) {
		api, err := orig(ctx, region)
		if err != nil {
			return nil, err
		}
		ca := &countingAPI{next: api}
		ca.after = func(out *cloudwatchlogs.FilterLogEventsOutput, err error) {
			if err != nil && strings.Contains(err.Error(), "expired") {
				expired.Add(1)
			}
			if out != nil && out.NextToken != nil && ca.calls.Load() == 2 {
				w.clock.Advance(25 * time.Hour) // every token issued so far expires
			}
		}
		return ca, nil
	}
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitUntil(t, 10*time.Second, "every event", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	if expired.Load() == 0 {
		t.Fatal("the token never expired: the test did not test")
	}
	checkOnce(t, pub, want)
}

// A restart resumes from the acknowledged checkpoint: nothing acknowledged comes again, a
// nacked batch does.
func TestRestartAndNack(t *testing.T) {
	w := newWorld(t, cwlogs.Options{ScanBudget: 10})
	store := state.NewMemory().Namespace("plugin/cw")
	first := w.put("us-east-1", ctStream("us-east-1"), 30, time.Second)
	cfg := w.config("us-east-1")
	pub := plugintest.NewPublisher(plugintest.AckInPublish)
	run := plugintest.Start(t, w.source(t, cfg, store), pub)
	pub.WaitKeys(t, rawKey, first)
	plugintest.Eventually(t, 0, "a checkpoint past the window", func() bool {
		raw, _ := store.Get(context.Background(), "cw/us-east-1/"+testGroup+"/all")
		return raw != nil && strings.Contains(string(raw), `"done":true`)
	})
	run.Stop(t)

	second := w.put("us-east-1", ctStream("us-east-1"), 12, 0)
	pub2 := plugintest.NewPublisher(plugintest.Manual)
	run2 := plugintest.Start(t, w.source(t, cfg, store), pub2)
	pub2.WaitKeys(t, rawKey, second)
	time.Sleep(cfg.Overlap) // the overlap is read again: none of it may come back
	for _, k := range pub2.Keys(rawKey) {
		for _, f := range first {
			if k == f {
				t.Fatalf("acknowledged event %s published again after a restart", k)
			}
		}
	}
	// Nack the first batch and acknowledge the others: the source reads on, and the nacked
	// records come again after a restart.
	var nb *plugintest.Batch
	for _, b := range pub2.Batches() {
		if len(b.Keys(rawKey)) > 0 {
			nb = b
			break
		}
	}
	nacked := nb.Keys(rawKey)
	nb.Nack()
	pub2.AckAll()
	more := w.put("us-east-1", ctStream("us-east-1"), 2, 0)
	pub2.WaitKeys(t, rawKey, more)
	pub2.AckAll()
	run2.Stop(t)

	pubN := plugintest.NewPublisher(plugintest.AckAsync)
	runN := plugintest.Start(t, w.source(t, cfg, store), pubN)
	pubN.WaitKeys(t, rawKey, append(append([]string(nil), nacked...), more...))
	pubN.WaitUntil(t, 0, "every batch acknowledged", func() bool { return len(pubN.Pending()) == 0 })
	runN.Stop(t)
	second = append(second, more...)

	third := w.put("us-east-1", ctStream("us-east-1"), 3, 0)
	pub3 := plugintest.NewPublisher(plugintest.AckAsync)
	run3 := plugintest.Start(t, w.source(t, cfg, store), pub3)
	pub3.WaitKeys(t, rawKey, third)
	time.Sleep(cfg.Overlap)
	run3.Stop(t)
	got := map[string]bool{}
	for _, k := range pub3.Keys(rawKey) {
		got[k] = true
	}
	for _, k := range append(first, second...) {
		if got[k] {
			t.Errorf("acknowledged %s published again", k)
		}
	}
}

// The EPS throttle paces records.
func TestEPSThrottle(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	want := w.put("us-east-1", ctStream("us-east-1"), 30, time.Second)
	cfg := w.config("us-east-1")
	cfg.EPSThrottle = EPSLimit(10)
	s := w.source(t, cfg, nil)
	if s.eps == nil || s.eps.Limit() != 10 {
		t.Fatalf("eps limiter %v", s.eps)
	}
	start := time.Now()
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitUntil(t, 10*time.Second, "every event", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	// 30 records at 10/s with a burst of 10 take at least 2 s: a lower bound cannot flake.
	if el := time.Since(start); el < 1900*time.Millisecond {
		t.Errorf("30 records at eps_throttle 10 took %s", el)
	}
}

// extract_original_event off publishes the envelope; a filter pattern and a stream
// selection are passed to the service.
func TestEnvelopeStreamAndFilter(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	w.put("us-east-1", "other-stream", 5, time.Second)
	want := w.put("us-east-1", ctStream("us-east-1"), 5, time.Second)
	cfg := w.config("us-east-1")
	cfg.ExtractOriginalEvent = false
	cfg.LogStreamPrefix = testAccount + "_CloudTrail"
	cfg.FilterPattern = `{ $.eventVersion = "1.08" }`
	s := w.source(t, cfg, nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitRecords(t, 5)
	time.Sleep(100 * time.Millisecond)
	run.Stop(t)
	if n := len(pub.Records()); n != 5 {
		t.Fatalf("%d records, want the 5 of the CloudTrail stream", n)
	}
	msgs := map[string]bool{}
	for _, m := range want {
		msgs[m] = true
	}
	for _, r := range pub.Records() {
		f, err := r.Fields()
		if err != nil {
			t.Fatal(err)
		}
		if f["logGroup"] != testGroup || f["logStream"] != ctStream("us-east-1") || f["eventId"] != r.ID || !msgs[f["message"].(string)] {
			t.Fatalf("envelope %s", r.Raw)
		}
		if _, ok := f["timestamp"].(int64); !ok {
			t.Fatalf("timestamp %T", f["timestamp"])
		}
	}
}

// An invalid filter_pattern is refused by the service for good: Run stops with a fatal error
// naming the pattern instead of retrying with warnings forever.
func TestInvalidFilterPatternFatal(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	w.put("us-east-1", ctStream("us-east-1"), 1, time.Second)
	cfg := w.config("us-east-1")
	cfg.FilterPattern = `{ $.eventName = `
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, w.source(t, cfg, nil), pub)
	err := run.Wait(t)
	if err == nil || !plugin.IsFatal(err) || !strings.Contains(err.Error(), cfg.FilterPattern) {
		t.Fatalf("Run = %v; want a fatal error naming the filter pattern", err)
	}
}

// The acknowledged records carry the gateway identifier.
func TestGatewayIdentifierOnRecords(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	w.put("us-east-1", ctStream("us-east-1"), 3, time.Second)
	cfg := w.config("us-east-1")
	cfg.UseAsGatewayLogSource = true
	cfg.LogSourceIdentifierPattern = `ct-$1=\"region":"([a-z0-9-]+)"`
	s := w.source(t, cfg, nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitRecords(t, 3)
	run.Stop(t)
	for _, r := range pub.Records() {
		if r.Meta[event.MetaLogSourceID] != "ct-us-east-1" {
			t.Fatalf("identifier %q", r.Meta[event.MetaLogSourceID])
		}
	}
}
