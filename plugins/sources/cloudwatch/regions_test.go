package cloudwatch

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// lockedBuffer is a bytes.Buffer safe for the source's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A log group missing in a region is retried until it appears. In a region of other_regions
// (JSA's "Other Regions", where the group often does not exist) that is expected: one INFO
// line, no ERROR, not counted in errors. In a region of regions it is a mistake: ERROR, counted.
func TestMissingGroupByRegionKind(t *testing.T) {
	for _, tc := range []struct {
		name        string
		regions     []string
		other       string
		wantLevel   string
		wantErrors  bool
		forbidLevel string
	}{
		{name: "other_regions", regions: []string{"us-east-1"}, other: "us-west-2", wantLevel: "level=INFO", forbidLevel: "level=ERROR"},
		{name: "regions", regions: []string{"us-east-1", "us-west-2"}, wantLevel: "level=ERROR", wantErrors: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, cwlogs.Options{})
			want := w.put("us-east-1", ctStream("us-east-1"), 3, time.Minute)
			cfg := w.config(tc.regions...)
			cfg.OtherRegions = tc.other
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			var logs lockedBuffer
			set := plugintest.Settings(t, "cw", nil)
			set.Logger = slog.New(slog.NewTextHandler(&logs, nil)).With("plugin", "cw")
			s, err := New(cfg, set)
			if err != nil {
				t.Fatal(err)
			}
			s.tune.backoffBase = 5 * time.Millisecond
			var mu sync.Mutex
			missing := 0 // calls refused in us-west-2 because the group does not exist
			orig := s.tune.newAPI
			s.tune.newAPI = func(ctx context.Context, region string) (logsAPI, error) {
				api, err := orig(ctx, region)
				ca := &countingAPI{next: api}
				if region == "us-west-2" {
					ca.after = func(_ *cloudwatchlogs.FilterLogEventsOutput, err error) {
						if code, _ := apiError(err); code == "ResourceNotFoundException" {
							mu.Lock()
							missing++
							mu.Unlock()
						}
					}
				}
				return ca, err
			}
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			run := plugintest.Start(t, s, pub)
			defer run.Stop(t)
			pub.WaitUntil(t, 10*time.Second, "us-east-1 read and us-west-2 asked 3 times", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return missing >= 3 && len(pub.MissingKeys(rawKey, want)) == 0
			})
			// The group appears in us-west-2: its events are read (the region was retried).
			if _, err := w.client("us-west-2").CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(testGroup)}); err != nil {
				t.Fatal(err)
			}
			west := w.put("us-west-2", ctStream("us-west-2"), 3, 0)
			pub.WaitUntil(t, 10*time.Second, "us-west-2 read once its group exists", func() bool { return len(pub.MissingKeys(rawKey, west)) == 0 })
			run.Stop(t)

			var lines []string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "does not exist") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], tc.wantLevel) || !strings.Contains(lines[0], "region=us-west-2") {
				t.Errorf("missing group logged as %q, want one %s line for us-west-2", lines, tc.wantLevel)
			}
			if tc.forbidLevel != "" && strings.Contains(logs.String(), tc.forbidLevel) {
				t.Errorf("%s logged:\n%s", tc.forbidLevel, logs.String())
			}
			if errs := testutil.ToFloat64(s.set.Metrics.Errors); (errs > 0) != tc.wantErrors {
				t.Errorf("errors counted: %v, want some: %v", errs, tc.wantErrors)
			}
		})
	}
}
