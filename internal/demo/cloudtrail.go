package demo

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// trailRecords are real CloudTrail records: the test events of Panther's open-source
// detection rules (a copy of internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson).
//
//go:embed testdata/panther-rule-tests.ndjson
var trailRecords []byte

// The second journey's CloudWatch Logs world: the demo account's CloudTrail log group in
// three regions. A record goes to the region it names (awsRegion) when that is one of the
// first two; every other record goes to the third.
const (
	trailGroup = "aws-cloudtrail-logs-123456789012"
	// replaySpan is how far back the replayed records' times reach when they are put.
	replaySpan = time.Minute
)

var trailRegions = []string{"us-east-1", "us-west-2", "eu-west-1"}

// eventTimeLayouts are CloudTrail's eventTime and the space-separated forms some tools write.
var eventTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"}

// The CloudWatch Logs faults of the demo: events become visible ingestDelay after they are
// put plus up to ingestJitter (so late and out of order), and a share of FilterLogEvents calls
// is throttled on top of the real quota (5 per second per account and region).
const (
	ingestDelay      = 2 * time.Second
	ingestJitter     = 3 * time.Second
	logsThrottleRate = 0.10
)

// trailEvent is one record as put into CloudWatch Logs.
type trailEvent struct {
	region string
	ts     int64  // ms
	msg    string // the record, compact, its eventTime moved to ts
}

// replay prepares the records for CloudWatch Logs as if CloudTrail had just written them:
// in the order of their own eventTime, their times are spread evenly over the span before
// now, and each record's eventTime is rewritten to its new time (nothing else changes; a
// record whose eventTime is not a time keeps it). Each goes to the region it names if that is
// one of regions[:len-1], else to the last region.
func replay(data []byte, regions []string, now time.Time, span time.Duration) ([]trailEvent, error) {
	type rec struct {
		raw    []byte
		region string
		t      time.Time
		timeOK bool
		oldT   string
	}
	var recs []rec
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<16), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var head struct {
			EventTime any `json:"eventTime"`
			AWSRegion any `json:"awsRegion"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			return nil, fmt.Errorf("demo: CloudTrail record %d: %w", len(recs)+1, err)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, line); err != nil {
			return nil, fmt.Errorf("demo: CloudTrail record %d: %w", len(recs)+1, err)
		}
		r := rec{raw: b.Bytes(), region: regions[len(regions)-1]}
		if s, ok := head.AWSRegion.(string); ok && slices.Contains(regions[:len(regions)-1], s) {
			r.region = s
		}
		if s, ok := head.EventTime.(string); ok {
			for _, layout := range eventTimeLayouts {
				if t, err := time.Parse(layout, s); err == nil {
					r.t, r.timeOK, r.oldT = t, true, s
					break
				}
			}
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("demo: CloudTrail records: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("demo: no CloudTrail records")
	}
	// Records without a time go last, in file order.
	slices.SortStableFunc(recs, func(a, b rec) int {
		switch {
		case a.timeOK && b.timeOK:
			return a.t.Compare(b.t)
		case a.timeOK:
			return -1
		case b.timeOK:
			return 1
		}
		return 0
	})
	start := now.Add(-span).Truncate(time.Second)
	step := span / time.Duration(len(recs))
	out := make([]trailEvent, len(recs))
	for i, r := range recs {
		t := start.Add(time.Duration(i) * step).Truncate(time.Second) // CloudTrail's eventTime has seconds
		msg := r.raw
		if r.timeOK {
			old := []byte(`"eventTime":"` + r.oldT + `"`)
			msg = bytes.Replace(msg, old, []byte(`"eventTime":"`+t.UTC().Format("2006-01-02T15:04:05Z")+`"`), 1)
		}
		out[i] = trailEvent{region: r.region, ts: t.UnixMilli(), msg: string(msg)}
	}
	return out, nil
}

// loadTrail puts the events into the demo account's CloudTrail log group, one stream
// <account>_CloudTrail_<region> per region, and returns how many each region holds.
func loadTrail(logs *cloudsim.LogsService, account string, evs []trailEvent) (map[string]int, error) {
	byRegion := map[string][]cwlogs.InputEvent{}
	for _, e := range evs {
		byRegion[e.region] = append(byRegion[e.region], cwlogs.InputEvent{Timestamp: e.ts, Message: e.msg})
	}
	held := map[string]int{}
	for region, in := range byRegion {
		if err := logs.Put(account, region, trailGroup, cwlogs.CloudTrailStream(account, region), in); err != nil {
			return nil, fmt.Errorf("demo: loading CloudTrail records into %s: %w", region, err)
		}
		held[region] = len(in)
	}
	return held, nil
}

// arrival is how a region's events reached CloudWatch Logs.
type arrival struct {
	events     int
	minDelay   time.Duration // ingestionTime − timestamp
	maxDelay   time.Duration
	outOfOrder int // became visible before an event of the same stream with an earlier timestamp
}

// readBack reads every event of the group in a region as the service holds it (through its
// own FilterLogEvents, in-process, as the demo account) to see when each became visible.
// Throttled calls are retried.
func readBack(ctx context.Context, logs *cloudsim.LogsService, account, region string) (arrival, error) {
	type ev struct {
		Timestamp     int64  `json:"timestamp"`
		IngestionTime int64  `json:"ingestionTime"`
		Stream        string `json:"logStreamName"`
	}
	var all []ev
	token := ""
	caller := awssim.Caller{AccountID: account, Region: region, Service: "logs"}
	for {
		in := map[string]any{"logGroupName": trailGroup, "startTime": 0}
		if token != "" {
			in["nextToken"] = token
		}
		body, _ := json.Marshal(in)
		req := httptest.NewRequestWithContext(awssim.WithCaller(ctx, caller), http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", cwlogs.TargetPrefix+"FilterLogEvents")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		w := httptest.NewRecorder()
		logs.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			if strings.Contains(w.Body.String(), "Throttling") || w.Code >= 500 {
				select {
				case <-ctx.Done():
					return arrival{}, ctx.Err()
				case <-time.After(250 * time.Millisecond):
				}
				continue
			}
			return arrival{}, fmt.Errorf("demo: reading %s back: %d %s", region, w.Code, w.Body.String())
		}
		var out struct {
			Events    []ev    `json:"events"`
			NextToken *string `json:"nextToken"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			return arrival{}, fmt.Errorf("demo: reading %s back: %w", region, err)
		}
		all = append(all, out.Events...)
		if out.NextToken == nil {
			break
		}
		token = *out.NextToken
	}
	var a arrival
	// FilterLogEvents answers in timestamp order; per stream, an event is out of order when an
	// earlier one (by timestamp) became visible after it.
	latest := map[string]int64{}
	for i, e := range all {
		d := time.Duration(e.IngestionTime-e.Timestamp) * time.Millisecond
		if i == 0 || d < a.minDelay {
			a.minDelay = d
		}
		a.maxDelay = max(a.maxDelay, d)
		if e.IngestionTime < latest[e.Stream] {
			a.outOfOrder++
		}
		latest[e.Stream] = max(latest[e.Stream], e.IngestionTime)
	}
	a.events = len(all)
	return a, nil
}
