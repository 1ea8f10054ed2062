package awss3sqs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awstest"
	"github.com/logshipper/logshipper/internal/state"
)

// backfillKey is logKey in another region and account folder layout (organization trails).
func backfillKey(prefix, region string, t time.Time, unique string) string {
	t = t.UTC()
	return fmt.Sprintf("%sCloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", prefix, region, t.Format("2006/01/02"), testAccount, region, t.Format("20060102T1504Z"), unique)
}

// A backfill reads the files of the range in every account and region folder, publishes the
// records of the range only, reports its progress per part, and resumes after the last file
// acknowledged when it is stopped and started again.
func TestBackfillResume(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 30)
		from := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
		to := from.Add(24 * time.Hour)
		std, org := "AWSLogs/"+testAccount+"/", "AWSLogs/o-abc123/"+testAccount+"/"
		var want []string
		put := func(prefix, region string, delivered time.Time, recordTimes ...time.Time) {
			f := w.files.Add(1)
			var recs []string
			for i, at := range recordTimes {
				id := fmt.Sprintf("bf-%d-%d", f, i)
				recs = append(recs, ctRecord(id, at))
				if !at.Before(from) && at.Before(to) {
					want = append(want, id)
				}
			}
			w.put(backfillKey(prefix, region, delivered, fmt.Sprintf("u%03d", f)), gz([]byte(`{"Records":[`+strings.Join(recs, ",")+`]}`)))
		}
		at := func(d time.Duration) time.Time { return from.Add(d) }
		put(std, "us-east-1", at(-time.Hour), at(-65*time.Minute), at(-62*time.Minute)) // delivered before the range
		for i := range 6 {                                                              // day 1 and day 2, in the range
			d := time.Duration(i) * 4 * time.Hour
			put(std, "us-east-1", at(d+5*time.Minute), at(d), at(d+time.Minute))
		}
		put(std, "us-east-1", to.Add(20*time.Minute), to.Add(-2*time.Minute), to.Add(10*time.Minute)) // late delivery: one record in the range
		put(std, "us-east-1", to.Add(2*time.Hour), to.Add(100*time.Minute))                           // after the slack
		put(org, "eu-west-1", at(time.Hour), at(50*time.Minute), at(55*time.Minute))
		put(org, "eu-west-1", at(5*time.Hour), at(4*time.Hour))
		w.put(fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/us-east-1/2026/11/01/%s_CloudTrail-Digest_us-east-1_t_us-east-1_20261101T110000Z.json.gz", testAccount, testAccount),
			gz([]byte(`{"digestStartTime":"x","logFiles":[]}`)))

		store := state.NewMemory().Namespace("plugin/bf")
		cfg := w.config()
		// First run: stopped once the us-east-1 part has three files acknowledged.
		first := plugintest.NewPublisher(plugintest.AckAsync)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		reports := map[string][]plugin.BackfillProgress{}
		err := w.source(t, cfg, settings(t, store)).Backfill(ctx, first, plugin.BackfillRange{From: from, To: to, Progress: func(p plugin.BackfillProgress) {
			mu.Lock()
			defer mu.Unlock()
			reports[p.Part] = append(reports[p.Part], p)
			if p.Part == testAccount+"/CloudTrail/us-east-1" && p.Records == 6 {
				cancel()
			}
		}})
		if err != nil {
			t.Fatalf("first backfill: %v", err)
		}
		if len(reports) != 2 {
			t.Fatalf("progress of parts %v, want the two region folders", keysOf(reports))
		}
		// Second run: resumes.
		second := plugintest.NewPublisher(plugintest.AckAsync)
		var last = map[string]plugin.BackfillProgress{}
		err = w.source(t, cfg, settings(t, store)).Backfill(context.Background(), second, plugin.BackfillRange{From: from, To: to, Progress: func(p plugin.BackfillProgress) {
			mu.Lock()
			defer mu.Unlock()
			last[p.Part] = p
		}})
		if err != nil {
			t.Fatalf("second backfill: %v", err)
		}
		for part, p := range last {
			if !p.Done {
				t.Errorf("part %s not reported done: %+v", part, p)
			}
		}
		got := map[string]int{}
		for _, k := range append(first.Keys(idKey), second.Keys(idKey)...) {
			got[k]++
		}
		for _, k := range want {
			if got[k] == 0 {
				t.Errorf("record %s of the range was never published", k)
			}
			delete(got, k)
		}
		for k := range got {
			t.Errorf("record %s outside the range was published", k)
		}
		// The files acknowledged in the first run are not read again: at most the one file in
		// flight in each part at the stop (2 records each) is.
		again := 0
		firstKeys := map[string]bool{}
		for _, k := range first.Keys(idKey) {
			firstKeys[k] = true
		}
		for _, k := range second.Keys(idKey) {
			if firstKeys[k] {
				again++
			}
		}
		if again > 4 || len(first.Keys(idKey)) < 6 {
			t.Errorf("the second run published %d records of the first again (the first published %d): it did not resume", again, len(first.Keys(idKey)))
		}
		t.Logf("first run %d records, second %d, %d again", len(first.Records()), len(second.Records()), again)
	})
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
