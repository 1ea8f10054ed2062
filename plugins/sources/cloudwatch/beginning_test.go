package cloudwatch

import (
	"context"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// sampleFile holds the project's sample CloudTrail records (the ones examples/cloudsim.yaml loads).
const sampleFile = "../../../internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson"

// beginningConfig is start_position beginning with the windows of examples/cloudwatch-to-syslog.yaml
// (one window from the beginning), scaled down: lag 50 ms, overlap 2 s.
func beginningConfig(w *world) *Config {
	cfg := w.config("us-east-1")
	cfg.StartPosition = "beginning"
	cfg.MaxWindow = 876000 * time.Hour
	return cfg
}

// Events put a moment before they become visible, with timestamps older than lag+overlap, are
// all read by a source started at once with start_position beginning: the start is not fixed
// (and no window read) before the group shows its data.
func TestBeginningWaitsForEventsNotVisibleYet(t *testing.T) {
	w := newWorld(t, cwlogs.Options{IngestDelay: 700 * time.Millisecond})
	want := w.put("us-east-1", ctStream("us-east-1"), 20, time.Minute)
	s := w.source(t, beginningConfig(w), nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	ok := pub.Await(5*time.Second, func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	if !ok {
		t.Errorf("%d of %d events (put one minute old, visible 700 ms later) never read with start_position beginning",
			len(pub.MissingKeys(rawKey, want)), len(want))
	}
}

// The sample CloudTrail records of examples/cloudsim.yaml (eventTimes from 2019 on), loaded into
// a simulator whose events become visible late, are all read by a source started right after
// the load with start_position beginning, as in the example.
func TestBeginningReadsLoadedSample(t *testing.T) {
	w := newWorld(t, cwlogs.Options{IngestDelay: 300 * time.Millisecond, IngestJitter: 300 * time.Millisecond})
	f, err := os.Open(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	n, err := w.svc.LoadCloudTrail(testAccount, "us-east-1", testGroup, f)
	f.Close()
	if err != nil || n < 300 {
		t.Fatalf("loaded %d: %v", n, err)
	}
	s := w.source(t, beginningConfig(w), nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	ok := pub.Await(5*time.Second, func() bool { return len(pub.Records()) >= n })
	run.Stop(t)
	if !ok {
		t.Errorf("%d of the %d loaded sample records read with start_position beginning; Late()=%d", len(pub.Records()), n, s.Late())
	}
}

// describeDenied refuses DescribeLogStreams, as credentials without logs:DescribeLogStreams.
type describeDenied struct{ logsAPI }

func (describeDenied) DescribeLogStreams(context.Context, *cloudwatchlogs.DescribeLogStreamsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: logs:DescribeLogStreams"}
}

// start_position beginning is the streams' first event time; without DescribeLogStreams it is
// max_window before the earliest event found, with a warning that older events of other
// streams are skipped. Either way the events are read.
func TestBeginningStartByDescribeLogStreams(t *testing.T) {
	for _, tc := range []struct {
		name   string
		denied bool
	}{{"allowed", false}, {"denied", true}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cwlogs.Options{})
			want := w.put("us-east-1", ctStream("us-east-1"), 5, 2*time.Hour)
			earliest := int64(math.MaxInt64)
			out, err := w.client("us-east-1").FilterLogEvents(context.Background(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(testGroup)})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range out.Events {
				earliest = min(earliest, aws.ToInt64(e.Timestamp))
			}
			cfg := w.config("us-east-1")
			cfg.StartPosition = "beginning"
			var wrap func(logsAPI) logsAPI
			if tc.denied {
				wrap = func(api logsAPI) logsAPI { return describeDenied{api} }
			}
			cp, logs := readFromBeginning(t, cfg, wrap, want, 10*time.Second)
			wantStart := earliest
			if tc.denied {
				wantStart = earliest - cfg.MaxWindow.Milliseconds()
			}
			if cp.Start != wantStart {
				t.Errorf("start %s, want %s (earliest event %s)", msTime(cp.Start), msTime(wantStart), msTime(earliest))
			}
			warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "logs:DescribeLogStreams")
			if warned != tc.denied {
				t.Errorf("warning about DescribeLogStreams: %v, want %v\n%s", warned, tc.denied, logs.String())
			}
		})
	}
}

// A stream whose firstEventTimestamp is a year old, in a group that keeps events 7 days (the
// year-old events deleted, the stream's first event time left as it was): start_position
// beginning starts at the retention limit, near the data, and reads it with a few
// FilterLogEvents calls rather than one per max_window over a year. Without DescribeLogGroups
// the start is the streams' first event time, with a warning.
func TestBeginningStartsAtTheGroupsRetention(t *testing.T) {
	for _, tc := range []struct {
		name   string
		denied bool
	}{{"allowed", false}, {"denied", true}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cwlogs.Options{})
			w.put("us-east-1", ctStream("us-east-1"), 3, 365*24*time.Hour)
			want := w.put("us-east-1", ctStream("us-east-1"), 20, 2*24*time.Hour)
			if err := w.svc.SetRetention(testAccount, "us-east-1", testGroup, 7); err != nil {
				t.Fatal(err)
			}
			cfg := w.config("us-east-1")
			cfg.StartPosition = "beginning"
			cfg.MaxWindow = 24 * time.Hour
			cfg.PollInterval = time.Hour // no poll once caught up: the calls counted are the catching up
			var wrap func(logsAPI) logsAPI
			if tc.denied {
				wrap = func(api logsAPI) logsAPI { return groupsDenied{api} }
			}
			cp, logs := readFromBeginning(t, cfg, wrap, want, 20*time.Second)
			limit := time.Now().Add(-7 * 24 * time.Hour).UnixMilli()
			calls := w.svc.Stats().Calls["FilterLogEvents"]
			if tc.denied {
				if cp.Start > time.Now().Add(-364*24*time.Hour).UnixMilli() {
					t.Errorf("start %s without DescribeLogGroups, want the streams' first event time a year ago", msTime(cp.Start))
				}
				if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "logs:DescribeLogGroups") {
					t.Errorf("no warning about DescribeLogGroups:\n%s", logs.String())
				}
				return
			}
			if cp.Start < limit-time.Minute.Milliseconds() || cp.Start > limit+time.Minute.Milliseconds() {
				t.Errorf("start %s, want the retention limit %s (data from %s on)", msTime(cp.Start), msTime(limit), msTime(limit+5*24*time.Hour.Milliseconds()))
			}
			// the probe and a window a day over 7 days
			if calls > 12 {
				t.Errorf("cloudsim served %d FilterLogEvents calls to read 7 days of windows a day wide", calls)
			}
		})
	}
}

// readFromBeginning runs a source of cfg, its AWS API wrapped by wrap when not nil, until every
// record in want was published, and returns the first checkpoint it saved and its log.
func readFromBeginning(t *testing.T, cfg *Config, wrap func(logsAPI) logsAPI, want []string, timeout time.Duration) (*checkpoint, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	set := plugintest.Settings(t, "cw", nil)
	set.Logger = slog.New(slog.NewTextHandler(logs, nil)).With("plugin", "cw")
	s, err := New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		orig := s.tune.newAPI
		s.tune.newAPI = func(ctx context.Context, region string) (logsAPI, error) {
			api, err := orig(ctx, region)
			return wrap(api), err
		}
	}
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitUntil(t, timeout, "the events", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	raw, err := set.State.Get(context.Background(), "cw/us-east-1/"+testGroup+"/"+s.streamSelection())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := decodeCheckpoint(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cp, logs
}

// groupsDenied refuses DescribeLogGroups, as credentials without logs:DescribeLogGroups.
type groupsDenied struct{ logsAPI }

func (groupsDenied) DescribeLogGroups(context.Context, *cloudwatchlogs.DescribeLogGroupsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: logs:DescribeLogGroups"}
}

// A source stopped for a year resumes from its checkpoint in a group that keeps events 7 days:
// the windows the retention emptied are skipped (the next window starts at the retention
// limit), so catching up costs a few FilterLogEvents calls, not one per max_window over a
// year, and every event still stored is read.
func TestResumeSkipsWhatTheRetentionDeleted(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	want := w.put("us-east-1", ctStream("us-east-1"), 20, 2*24*time.Hour)
	if err := w.svc.SetRetention(testAccount, "us-east-1", testGroup, 7); err != nil {
		t.Fatal(err)
	}
	cfg := w.config("us-east-1")
	cfg.MaxWindow = 24 * time.Hour
	cfg.PollInterval = time.Hour // no poll once caught up: the calls counted are the catching up
	logs := &lockedBuffer{}
	set := plugintest.Settings(t, "cw", nil)
	set.Logger = slog.New(slog.NewTextHandler(logs, nil)).With("plugin", "cw")
	s, err := New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	yearAgo := time.Now().Add(-365 * 24 * time.Hour).UnixMilli()
	old := &checkpoint{V: 1, Start: yearAgo - 1000, From: yearAgo - 1000, To: yearAgo, Done: true, Seen: map[string]int64{}}
	if err := set.State.Put(context.Background(), "cw/us-east-1/"+testGroup+"/"+s.streamSelection(), old.encode()); err != nil {
		t.Fatal(err)
	}
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitUntil(t, 20*time.Second, "the events", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	if calls := w.svc.Stats().Calls["FilterLogEvents"]; calls > 12 {
		t.Errorf("cloudsim served %d FilterLogEvents calls to resume a year-old checkpoint in a 7-day group", calls)
	}
	if !strings.Contains(logs.String(), "older than the log group's retention") {
		t.Errorf("the skip is not logged:\n%s", logs.String())
	}
}

// pageLimits records the limit of every FilterLogEvents call that reads a window (the probe's
// limit of 1 aside).
type pageLimits struct {
	logsAPI
	mu     sync.Mutex
	limits []int32
}

func (p *pageLimits) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	if in.Limit != nil && *in.Limit != 1 {
		p.mu.Lock()
		p.limits = append(p.limits, *in.Limit)
		p.mu.Unlock()
	}
	return p.logsAPI.FilterLogEvents(ctx, in, opts...)
}

// page_size is FilterLogEvents' limit: the windows are read in pages of that many events, and
// every event arrives.
func TestPageSizeIsTheFilterLogEventsLimit(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	want := w.put("us-east-1", ctStream("us-east-1"), 25, time.Hour)
	cfg := w.config("us-east-1")
	cfg.StartPosition = "beginning"
	cfg.PageSize = 7
	var seen *pageLimits
	readFromBeginning(t, cfg, func(api logsAPI) logsAPI {
		seen = &pageLimits{logsAPI: api}
		return seen
	}, want, 20*time.Second)
	seen.mu.Lock()
	defer seen.mu.Unlock()
	if len(seen.limits) < 4 {
		t.Fatalf("%d window reads for 25 events in pages of 7; want at least 4", len(seen.limits))
	}
	for _, l := range seen.limits {
		if l != 7 {
			t.Fatalf("FilterLogEvents limits %v; want 7 each", seen.limits)
		}
	}
}

// Catching up from a start a day back reads windows long after their end: it sees every event
// ingested by then, whatever its delay, so events put a day after their time are not counted
// late and draw no warning (issue 17: the warning must fire only when events may be missed).
// The same delays at the live edge are counted (TestLateEventsCounted).
func TestCatchingUpCountsNoEventLate(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	want := w.put("us-east-1", ctStream("us-east-1"), 10, 28*time.Hour)
	want = append(want, w.put("us-east-1", ctStream("us-east-1"), 10, 26*time.Hour)...)
	cfg := w.config("us-east-1")
	cfg.StartPosition = "-30h"
	cfg.MaxWindow = 2 * time.Hour
	cfg.PollInterval = time.Hour
	logs := &lockedBuffer{}
	set := plugintest.Settings(t, "cw", nil)
	set.Logger = slog.New(slog.NewTextHandler(logs, nil)).With("plugin", "cw")
	s, err := New(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitUntil(t, 30*time.Second, "the events", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	run.Stop(t)
	if got := s.Late(); got != 0 {
		t.Errorf("Late() = %d after catching up over events put a day late; want 0", got)
	}
	if strings.Contains(logs.String(), "later than lag+overlap") {
		t.Errorf("a late warning while catching up:\n%s", logs.String())
	}
}
