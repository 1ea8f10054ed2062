package cwlogs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// Loaded CloudTrail records arrive as CloudTrail delivers them: IngestDelay after their
// eventTime. A record of an hour ago is visible at once (it was delivered long ago); one of
// now arrives IngestDelay later. Put, by contrast, delays every event from the put.
func TestLoadCloudTrailVisibleAsDelivered(t *testing.T) {
	e := newEnv(t, Options{IngestDelay: 5 * time.Second})
	c := e.client("us-east-1")
	now := e.clock.Now().UTC()
	old, recent := now.Add(-time.Hour), now.Add(-time.Second)
	in := fmt.Sprintf(`{"eventTime":%q,"eventName":"Old"}
{"eventTime":%q,"eventName":"Recent"}`, old.Format(time.RFC3339), recent.Format(time.RFC3339))
	if _, err := e.svc.LoadCloudTrail(testAccount, "us-east-1", "g", strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	names := func() []string {
		var out []string
		for _, ev := range filterAll(t, c, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")}).events {
			out = append(out, aws.ToString(ev.Message)[len(`{"eventTime":"2006-01-02T15:04:05Z","eventName":"`):])
		}
		return out
	}
	if got := names(); len(got) != 1 || got[0] != `Old"}` {
		t.Fatalf("at load: visible %q, want the record of an hour ago only", got)
	}
	e.clock.Advance(4 * time.Second) // the recent record's eventTime + 5 s
	if got := names(); len(got) != 2 {
		t.Fatalf("5 s after the recent record's eventTime: visible %q, want both", got)
	}
}

// Samples years old are loaded with their times moved into what CloudWatch Logs accepts (the
// newest at now, order and spacing kept, scaled down only when they span more than 14 days),
// each eventTime rewritten in its own layout, and FilterLogEvents over the last 14 days reads
// them all. Records already in range keep their times.
func TestLoadCloudTrailMovesOldSamples(t *testing.T) {
	tests := []struct {
		name  string
		input string // a testdata file name or the records themselves
		moved bool
		// wantTimes are the rewritten eventTimes in load order, when checked exactly
		wantTimes []string
		scaled    bool
	}{
		{name: "awsdocs log file of 2019, one minute apart", input: "cloudtrail-log-file-examples__block09__records.json", moved: true,
			wantTimes: []string{"2026-02-28T23:59:00Z", "2026-03-01T00:00:00Z"}},
		{name: "Panther rule tests of 2019 to 2026", input: "panther-rule-tests-head40.ndjson", moved: true, scaled: true},
		{name: "space-separated layouts keep their digits", moved: true,
			input: `{"eventTime":"2019-01-01 00:00:00.000000000","eventName":"A"}
{"eventTime":"2019-01-01 00:00:01.5","eventName":"B"}
{"eventTime":"2019-01-01 00:00:02+00:00","eventName":"C"}`,
			wantTimes: []string{"2026-02-28 23:59:58.000000000", "2026-02-28 23:59:59.5", "2026-03-01 00:00:00+00:00"}},
		{name: "three hours ahead", moved: true,
			input:     `{"eventTime":"2026-03-01T02:00:00Z","eventName":"A"}{"eventTime":"2026-03-01T03:00:00Z","eventName":"B"}`,
			wantTimes: []string{"2026-02-28T23:00:00Z", "2026-03-01T00:00:00Z"}},
		{name: "within the last 14 days: kept",
			input:     `{"eventTime":"2026-02-20T10:00:00Z","eventName":"A"}{"eventTime":"2026-03-01T00:00:00Z","eventName":"B"}`,
			wantTimes: []string{"2026-02-20T10:00:00Z", "2026-03-01T00:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logBuf strings.Builder
			e := newEnv(t, Options{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
			e.clock.Advance(-12 * time.Hour) // 2026-03-01T00:00:00Z
			now := e.clock.Now()
			raw := []byte(tt.input)
			if !strings.HasPrefix(tt.input, "{") {
				var err error
				if raw, err = os.ReadFile(filepath.Join("testdata", tt.input)); err != nil {
					t.Fatal(err)
				}
			}
			n, err := e.svc.LoadCloudTrail(testAccount, "us-east-1", "g", bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			oldest := now.Add(-MaxEventAge)
			got := filterAll(t, e.client("us-east-1"), cloudwatchlogs.FilterLogEventsInput{
				LogGroupName: aws.String("g"), StartTime: aws.Int64(oldest.UnixMilli()), EndTime: aws.Int64(now.Add(MaxEventFuture).UnixMilli()),
			}).events
			if len(got) != n {
				t.Fatalf("FilterLogEvents over the last 14 days read %d events, %d loaded", len(got), n)
			}
			if logged := strings.Contains(logBuf.String(), "moved the times of loaded CloudTrail records"); logged != tt.moved {
				t.Errorf("logged a move: %v, want %v; log: %s", logged, tt.moved, logBuf.String())
			}

			// Each event's timestamp is its record's (rewritten) eventTime; original order by time is kept.
			type rec struct {
				ts       int64
				was, now time.Time
				nowText  string
			}
			origByName := map[string]time.Time{}
			var recs []json.RawMessage
			dec := json.NewDecoder(bytes.NewReader(raw))
			for dec.More() {
				var r json.RawMessage
				if err := dec.Decode(&r); err != nil {
					t.Fatal(err)
				}
				var file struct{ Records []json.RawMessage }
				if json.Unmarshal(r, &file) == nil && file.Records != nil {
					recs = append(recs, file.Records...)
				} else {
					recs = append(recs, r)
				}
			}
			key := func(r []byte) string { return eventTimeMemberRE.ReplaceAllString(string(compactJSON(t, r)), "") }
			for _, r := range recs {
				var v struct{ EventTime string }
				_ = json.Unmarshal(r, &v)
				was, _, ok := parseEventTimeLayout(&v.EventTime)
				if !ok {
					t.Fatalf("sample without a readable eventTime: %.80s", r)
				}
				origByName[key(r)] = was
			}
			var all []rec
			for _, ev := range got {
				var v struct{ EventTime string }
				if err := json.Unmarshal([]byte(*ev.Message), &v); err != nil {
					t.Fatal(err)
				}
				tm, _, ok := parseEventTimeLayout(&v.EventTime)
				if !ok || tm.UnixMilli() != *ev.Timestamp {
					t.Fatalf("timestamp %d, eventTime %q", *ev.Timestamp, v.EventTime)
				}
				was, ok := origByName[key([]byte(*ev.Message))]
				if !ok {
					t.Fatalf("message changed beyond its eventTime: %.120s", *ev.Message)
				}
				all = append(all, rec{ts: *ev.Timestamp, was: was, now: tm, nowText: v.EventTime})
			}
			slices.SortStableFunc(all, func(a, b rec) int { return a.was.Compare(b.was) })
			for i := 1; i < len(all); i++ {
				if all[i].now.Before(all[i-1].now) {
					t.Fatalf("order changed: %s was after %s, now before", all[i].nowText, all[i-1].nowText)
				}
				if !tt.scaled {
					if a, b := all[i].was.Sub(all[i-1].was), all[i].now.Sub(all[i-1].now); a != b {
						t.Fatalf("spacing %s became %s", a, b)
					}
				}
			}
			if tt.moved && !all[len(all)-1].now.Equal(now) {
				t.Errorf("newest moved to %s, want now (%s)", all[len(all)-1].now, now)
			}
			if tt.scaled && all[0].now.Before(now.Add(-MaxEventAge+time.Hour)) {
				t.Errorf("oldest moved to %s, before 14 days less an hour", all[0].now)
			}
			if tt.wantTimes != nil {
				var texts []string
				for _, r := range all {
					texts = append(texts, r.nowText)
				}
				if !slices.Equal(texts, tt.wantTimes) {
					t.Errorf("eventTimes %q, want %q", texts, tt.wantTimes)
				}
			}
		})
	}
}

func compactJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
