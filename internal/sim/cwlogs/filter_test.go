package cwlogs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

type pageStats struct {
	events []types.FilteredLogEvent
	pages  int
	empty  int // empty pages that carried a token
}

// filterAll pages FilterLogEvents to exhaustion: only a missing token ends it.
func filterAll(t testing.TB, c *cloudwatchlogs.Client, in cloudwatchlogs.FilterLogEventsInput) pageStats {
	t.Helper()
	var st pageStats
	for {
		out, err := c.FilterLogEvents(ctx, &in)
		mustNoErr(t, err)
		st.pages++
		if len(out.Events) == 0 && out.NextToken != nil {
			st.empty++
		}
		if in.Limit != nil && len(out.Events) > int(*in.Limit) {
			t.Fatalf("page of %d events over limit %d", len(out.Events), *in.Limit)
		}
		st.events = append(st.events, out.Events...)
		if out.NextToken == nil {
			return st
		}
		if st.pages > 100_000 {
			t.Fatal("pagination does not end")
		}
		in.NextToken = out.NextToken
	}
}

var eventIDRE = regexp.MustCompile(`^[1-9][0-9]{55}$`)

func TestFilterLogEventsPagination(t *testing.T) {
	e := newEnv(t, Options{ScanBudget: 100})
	c := e.client("us-east-1")
	base := e.clock.ms() - 3600_000
	// two streams, interleaved timestamps; every 150th event says NEEDLE
	want := map[string]int64{} // message -> timestamp
	for _, s := range []string{"a", "b"} {
		var in []InputEvent
		for i := range 3000 {
			msg := fmt.Sprintf("%s event %d", s, i)
			if i%150 == 7 {
				msg += " NEEDLE"
				want[msg] = base + int64(i)
			}
			in = append(in, InputEvent{Timestamp: base + int64(i), Message: msg})
		}
		mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", s, in))
	}

	tests := []struct {
		name      string
		in        cloudwatchlogs.FilterLogEventsInput
		want      int
		wantEmpty bool // some pages must be empty with a token
	}{
		{"sparse filter: empty pages with a token", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String("NEEDLE")}, len(want), true},
		{"no filter, limit", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(7)}, 6000, false},
		{"no filter", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")}, 6000, false},
		{"interleaved flag is ignored", cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Interleaved: aws.Bool(false)}, 6000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := filterAll(t, c, tt.in)
			if len(st.events) != tt.want {
				t.Fatalf("%d events, want %d", len(st.events), tt.want)
			}
			if tt.wantEmpty && st.empty == 0 {
				t.Fatalf("no empty page in %d pages", st.pages)
			}
			ids := map[string]bool{}
			var prev int64
			for i, ev := range st.events {
				if ids[*ev.EventId] {
					t.Fatalf("duplicate event id %s", *ev.EventId)
				}
				ids[*ev.EventId] = true
				if !eventIDRE.MatchString(*ev.EventId) {
					t.Fatalf("event id %q is not 56 digits", *ev.EventId)
				}
				if i > 0 && *ev.Timestamp < prev {
					t.Fatalf("events out of timestamp order at %d", i)
				}
				prev = *ev.Timestamp
				if tt.in.FilterPattern != nil && want[*ev.Message] != *ev.Timestamp {
					t.Fatalf("unexpected event %q", *ev.Message)
				}
				if !strings.HasPrefix(*ev.Message, *ev.LogStreamName+" ") {
					t.Fatalf("event %q in stream %q", *ev.Message, *ev.LogStreamName)
				}
			}
		})
	}
}

func TestFilterLogEventsTimeBounds(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.client("us-east-1")
	t0 := e.clock.ms() - 60_000
	var in []InputEvent
	for i := range 10 {
		in = append(in, InputEvent{Timestamp: t0 + int64(i), Message: fmt.Sprint(i)})
	}
	mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", "s", in))
	tests := []struct {
		name       string
		start, end *int64
		want       string
	}{
		{"both inclusive", aws.Int64(t0 + 2), aws.Int64(t0 + 5), "2345"},
		{"one millisecond", aws.Int64(t0 + 3), aws.Int64(t0 + 3), "3"},
		{"start only", aws.Int64(t0 + 8), nil, "89"},
		{"end only", nil, aws.Int64(t0 + 1), "01"},
		{"neither", nil, nil, "0123456789"},
		{"start after end", aws.Int64(t0 + 5), aws.Int64(t0 + 4), ""},
		{"before everything", aws.Int64(0), aws.Int64(t0 - 1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, desc := range []bool{false, true} {
				in := cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), StartTime: tt.start, EndTime: tt.end, Limit: aws.Int32(3)}
				if desc {
					if tt.start == nil || *tt.start < startFromHeadFalseMin {
						continue
					}
					in.StartFromHead = aws.Bool(false)
				}
				var got strings.Builder
				for _, ev := range filterAll(t, c, in).events {
					got.WriteString(*ev.Message)
				}
				want := tt.want
				if desc {
					r := []byte(want)
					slices.Reverse(r)
					want = string(r)
				}
				if got.String() != want {
					t.Fatalf("desc=%v: got %q, want %q", desc, got.String(), want)
				}
			}
		})
	}
	_, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), StartTime: aws.Int64(1000), StartFromHead: aws.Bool(false)})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("startFromHead=false before 2024: %v", err)
	}
}

func TestFilterLogEventsStreamSelection(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.client("us-east-1")
	now := e.clock.ms()
	for i, s := range []string{"app-1", "app-2", "apple", "db-1"} {
		mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", s, []InputEvent{{Timestamp: now - int64(10-i), Message: s}}))
	}
	arn := "arn:aws:logs:us-east-1:" + testAccount + ":log-group:g"
	tests := []struct {
		name string
		in   cloudwatchlogs.FilterLogEventsInput
		want []string
		code string
	}{
		{name: "all", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")}, want: []string{"app-1", "app-2", "apple", "db-1"}},
		{name: "names", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"db-1", "app-2"}}, want: []string{"app-2", "db-1"}},
		{name: "unknown name", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"nope"}}, want: nil},
		{name: "prefix", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("app-")}, want: []string{"app-1", "app-2"}},
		{name: "prefix app", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("app")}, want: []string{"app-1", "app-2", "apple"}},
		{name: "identifier as ARN", in: cloudwatchlogs.FilterLogEventsInput{LogGroupIdentifier: aws.String(arn), LogStreamNames: []string{"apple"}}, want: []string{"apple"}},
		{name: "identifier as ARN with :*", in: cloudwatchlogs.FilterLogEventsInput{LogGroupIdentifier: aws.String(arn + ":*"), LogStreamNamePrefix: aws.String("db")}, want: []string{"db-1"}},
		{name: "identifier as name", in: cloudwatchlogs.FilterLogEventsInput{LogGroupIdentifier: aws.String("g"), LogStreamNamePrefix: aws.String("db")}, want: []string{"db-1"}},
		{name: "names and prefix", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"db-1"}, LogStreamNamePrefix: aws.String("db")}, code: "InvalidParameterException"},
		{name: "name and identifier", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), LogGroupIdentifier: aws.String(arn)}, code: "InvalidParameterException"},
		{name: "neither", in: cloudwatchlogs.FilterLogEventsInput{}, code: "InvalidParameterException"},
		{name: "missing group", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("nope")}, code: "ResourceNotFoundException"},
		{name: "other region's ARN", in: cloudwatchlogs.FilterLogEventsInput{LogGroupIdentifier: aws.String("arn:aws:logs:eu-west-1:" + testAccount + ":log-group:g")}, code: "ResourceNotFoundException"},
		{name: "bad pattern", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(`{ $.x = `)}, code: "InvalidParameterException"},
		{name: "limit 0", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(0)}, code: "InvalidParameterException"},
		{name: "limit 10001", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(10001)}, code: "InvalidParameterException"},
		{name: "bad token", in: cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), NextToken: aws.String("AAAA")}, code: "InvalidParameterException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.code != "" {
				_, err := c.FilterLogEvents(ctx, &tt.in)
				if apiCode(err) != tt.code {
					t.Fatalf("err = %v, want %s", err, tt.code)
				}
				return
			}
			var got []string
			for _, ev := range filterAll(t, c, tt.in).events {
				got = append(got, *ev.LogStreamName)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	_, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(`"unterminated`)})
	var ipe *types.InvalidParameterException
	if !errors.As(err, &ipe) || *ipe.Message != "Invalid filter pattern" {
		t.Fatalf("bad pattern: %v", err)
	}
}

func TestFilterLogEventsTokens(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.client("us-east-1")
	t0 := e.clock.ms() - 600_000
	put := func(ts int64, msg string) {
		mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", "s", []InputEvent{{Timestamp: ts, Message: msg}}))
	}
	for i := range 10 {
		put(t0+int64(i)*1000, fmt.Sprintf("e%d", i))
	}
	first, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(4)})
	mustNoErr(t, err)
	if len(first.Events) != 4 || first.NextToken == nil {
		t.Fatalf("first page: %d events, token %v", len(first.Events), first.NextToken)
	}
	// New events arrive: one after the cursor (seen), one before it (a late event the
	// pagination has passed: not seen), one at the cursor's timestamp but ingested later (seen).
	put(t0+20_000, "later")
	put(t0+500, "late-before-cursor")
	put(t0+3000, "same-ms-as-cursor")
	rest := filterAll(t, c, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), NextToken: first.NextToken})
	var got []string
	for _, ev := range rest.events {
		got = append(got, *ev.Message)
	}
	if want := []string{"same-ms-as-cursor", "e4", "e5", "e6", "e7", "e8", "e9", "later"}; !slices.Equal(got, want) {
		t.Fatalf("after new events: %v, want %v", got, want)
	}

	// Tokens expire after 24 hours, not before.
	page, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(2)})
	mustNoErr(t, err)
	e.clock.Advance(24 * time.Hour)
	_, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(2), NextToken: page.NextToken})
	mustNoErr(t, err)
	e.clock.Advance(time.Millisecond)
	_, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(2), NextToken: page.NextToken})
	var ipe *types.InvalidParameterException
	if !errors.As(err, &ipe) || *ipe.Message != "The specified nextToken has expired." {
		t.Fatalf("expired token: %v", err)
	}
	// A token of another operation is not a FilterLogEvents token.
	ds, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(1)})
	mustNoErr(t, err)
	if ds.NextToken != nil {
		t.Fatal("one stream, yet a token")
	}
	_, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), NextToken: aws.String(e.svc.encodeNameToken("g"))})
	if apiCode(err) != "InvalidParameterException" || apiMessage(err) != "The specified nextToken is invalid." {
		t.Fatalf("foreign token: %v", err)
	}
}

func TestThrottlingAndFaults(t *testing.T) {
	e := newEnv(t, Options{Rates: map[string]float64{"FilterLogEvents": 2, "DescribeLogStreams": 25}})
	c := e.client("us-east-1")
	mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", "s", []InputEvent{{Timestamp: e.clock.ms(), Message: "x"}}))
	mustNoErr(t, e.svc.Put(testAccount, "eu-west-1", "g", "s", []InputEvent{{Timestamp: e.clock.ms(), Message: "x"}}))
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")}

	// the burst is one second's worth, then the quota refuses
	var throttled *types.ThrottlingException
	for i := 0; ; i++ {
		_, err := c.FilterLogEvents(ctx, in)
		if err == nil {
			if i > 2 {
				t.Fatal("quota of 2/s never throttled")
			}
			continue
		}
		if !errors.As(err, &throttled) || *throttled.Message != "Rate exceeded" {
			t.Fatalf("err = %T %v, want *types.ThrottlingException", err, err)
		}
		break
	}
	// quotas are per account and region
	_, err := e.client("eu-west-1").FilterLogEvents(ctx, in)
	mustNoErr(t, err)
	// and per API
	_, err = c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")})
	mustNoErr(t, err)

	tests := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, err error)
	}{
		{"throttle", Faults{ThrottleRate: 1, Ops: []string{"DescribeLogGroups"}}, func(t *testing.T, err error) {
			if !errors.As(err, &throttled) {
				t.Fatalf("err = %v", err)
			}
		}},
		{"unavailable", Faults{UnavailableRate: 1}, func(t *testing.T, err error) {
			var su *types.ServiceUnavailableException
			var re *awshttp.ResponseError
			if !errors.As(err, &su) || !errors.As(err, &re) || re.HTTPStatusCode() != 503 {
				t.Fatalf("err = %v", err)
			}
		}},
		{"other op unaffected", Faults{ThrottleRate: 1, Ops: []string{"FilterLogEvents"}}, func(t *testing.T, err error) {
			mustNoErr(t, err)
		}},
		{"off", Faults{}, func(t *testing.T, err error) { mustNoErr(t, err) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.svc.SetFaults(tt.faults)
			_, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
			tt.check(t, err)
		})
	}

	// empty pages on demand: the token continues where the request left off
	e2 := newEnv(t, Options{Faults: Faults{EmptyPageRate: 1}})
	c2 := e2.client("us-east-1")
	mustNoErr(t, e2.svc.Put(testAccount, "us-east-1", "g", "s", []InputEvent{{Timestamp: e2.clock.ms(), Message: "x"}}))
	out, err := c2.FilterLogEvents(ctx, in)
	mustNoErr(t, err)
	if len(out.Events) != 0 || out.NextToken == nil {
		t.Fatalf("empty page fault: %d events, token %v", len(out.Events), out.NextToken)
	}
	e2.svc.SetFaults(Faults{})
	st := filterAll(t, c2, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), NextToken: out.NextToken})
	if len(st.events) != 1 {
		t.Fatalf("after the empty page: %d events", len(st.events))
	}
}

func TestLateVisibility(t *testing.T) {
	t.Run("fixed delay", func(t *testing.T) {
		e := newEnv(t, Options{IngestDelay: 5 * time.Second})
		c := e.client("us-east-1")
		put := e.clock.ms()
		mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", "s", []InputEvent{{Timestamp: put - 1000, Message: "x"}}))
		if n := len(filterAll(t, c, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")}).events); n != 0 {
			t.Fatalf("visible at once: %d", n)
		}
		g, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
		mustNoErr(t, err)
		if len(g.Events) != 0 {
			t.Fatal("GetLogEvents sees it at once")
		}
		e.clock.Advance(4999 * time.Millisecond)
		if n := len(filterAll(t, c, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")}).events); n != 0 {
			t.Fatalf("visible early: %d", n)
		}
		e.clock.Advance(time.Millisecond)
		evs := filterAll(t, c, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")}).events
		if len(evs) != 1 || *evs[0].IngestionTime != put+5000 || *evs[0].Timestamp != put-1000 {
			t.Fatalf("after the delay: %+v", evs)
		}
	})

	t.Run("random delay: out of order", func(t *testing.T) {
		e := newEnv(t, Options{IngestJitter: 2 * time.Minute})
		c := e.client("us-east-1")
		// a producer writes one event per second for 10 minutes
		start := e.clock.ms()
		var (
			naiveSeen   = map[string]bool{} // advances to the last timestamp it saw
			overlapSeen = map[string]bool{} // re-reads a lagging, overlapping window
			naiveFrom   = start
			total       = 0
			ingestOrder []int64
		)
		for sec := range 600 {
			ts := e.clock.ms()
			mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", "s", []InputEvent{{Timestamp: ts, Message: fmt.Sprint(sec)}}))
			total++
			e.clock.Advance(time.Second)
			if sec%10 != 9 {
				continue
			}
			for _, ev := range filterAll(t, c, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), StartTime: aws.Int64(naiveFrom)}).events {
				naiveSeen[*ev.EventId] = true
				naiveFrom = max(naiveFrom, *ev.Timestamp+1)
			}
			now := e.clock.ms()
			for _, ev := range filterAll(t, c, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), StartTime: aws.Int64(now - 180_000), EndTime: aws.Int64(now)}).events {
				overlapSeen[*ev.EventId] = true
			}
		}
		e.clock.Advance(3 * time.Minute)
		now := e.clock.ms()
		for _, ev := range filterAll(t, c, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), StartTime: aws.Int64(now - 600_000)}).events {
			overlapSeen[*ev.EventId] = true
			ingestOrder = append(ingestOrder, *ev.IngestionTime)
		}
		if slices.IsSorted(ingestOrder) {
			t.Fatal("events sorted by timestamp are also sorted by ingestion time: nothing was late")
		}
		if len(overlapSeen) != total {
			t.Fatalf("overlapping poller saw %d of %d", len(overlapSeen), total)
		}
		if len(naiveSeen) >= total {
			t.Fatalf("naive poller saw all %d events: late arrivals were not simulated", total)
		}
		t.Logf("naive poller lost %d of %d events", total-len(naiveSeen), total)
	})
}

func TestLoadCloudTrail(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.client("us-west-2")
	files := []struct {
		name string
		n    int
	}{
		{"panther-rule-tests-head40.ndjson", 40},
		{"cloudtrail-log-file-examples__block08__records.json", 1},
		{"cloudtrail-log-file-examples__block09__records.json", 2},
		{"cloudtrail-event-reference-aws-console-sign-in-events__block01__record.json", 1},
	}
	// The samples are years old: the loader moves their times to the last 14 days and rewrites
	// each eventTime, so messages are compared without it and each timestamp with the
	// message's own eventTime.
	wantMsgs := map[string]int{} // by message without eventTime: how many records
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join("testdata", f.name))
		mustNoErr(t, err)
		n, err := e.svc.LoadCloudTrail(testAccount, "us-west-2", "cloudtrail", bytes.NewReader(raw))
		mustNoErr(t, err)
		if n != f.n {
			t.Fatalf("%s: loaded %d, want %d", f.name, n, f.n)
		}
		for _, rec := range records(t, raw) {
			var b bytes.Buffer
			mustNoErr(t, json.Compact(&b, rec))
			wantMsgs[withoutEventTime(b.String())]++
		}
	}
	all := filterAll(t, c, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("cloudtrail")}).events
	if len(all) != 44 {
		t.Fatalf("%d events", len(all))
	}
	now := e.clock.ms()
	for _, ev := range all {
		if *ev.LogStreamName != testAccount+"_CloudTrail_us-west-2" {
			t.Fatalf("stream %s", *ev.LogStreamName)
		}
		if wantMsgs[withoutEventTime(*ev.Message)] == 0 {
			t.Fatalf("unexpected message %.80s", *ev.Message)
		}
		var r struct{ EventTime string }
		mustNoErr(t, json.Unmarshal([]byte(*ev.Message), &r))
		ts, ok := parseEventTime(&r.EventTime)
		if !ok {
			ts = now
		}
		if ts != *ev.Timestamp {
			t.Fatalf("timestamp %d, want %d (its eventTime) for %.80s", *ev.Timestamp, ts, *ev.Message)
		}
		if ts < now-MaxEventAge.Milliseconds() || ts > now {
			t.Fatalf("timestamp %d outside the 14 days before %d", ts, now)
		}
	}

	patterns := []struct {
		pattern string
		want    int
	}{
		{`{ $.eventName = "ConsoleLogin" }`, 1},
		{`{ $.eventName = "ModifyImageAttribute" }`, 6},
		{`{ $.userIdentity.type = "Root" || $.userIdentity.type = "IAMUser" }`, countWhere(wantMsgs, `"type":"Root"`) + countWhere(wantMsgs, `"type":"IAMUser"`)},
		{`{ $.eventSource = "lambda.*" }`, countWhere(wantMsgs, `"eventSource":"lambda.`)},
		{`{ $.eventName NOT EXISTS }`, 2},
		{`ConsoleLogin`, countWhere(wantMsgs, `ConsoleLogin`)},
	}
	for _, p := range patterns {
		t.Run(p.pattern, func(t *testing.T) {
			if p.want == 0 {
				t.Fatal("bad expectation")
			}
			got := len(filterAll(t, c, cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("cloudtrail"), FilterPattern: aws.String(p.pattern)}).events)
			if got != p.want {
				t.Fatalf("%d events, want %d", got, p.want)
			}
		})
	}

	// a JSON array of records, and input that is not JSON
	n, err := e.svc.LoadCloudTrail(testAccount, "us-west-2", "other", strings.NewReader(`[{"eventTime":"2024-01-01T00:00:00Z","eventName":"A"},{"eventTime":"2024-01-01T00:00:01Z","eventName":"B"}]`))
	if err != nil || n != 2 {
		t.Fatalf("array: %d, %v", n, err)
	}
	if _, err := e.svc.LoadCloudTrail(testAccount, "us-west-2", "other", strings.NewReader(`{"eventTime": oops`)); err == nil {
		t.Fatal("garbage loaded")
	}
	if _, err := e.svc.LoadCloudTrail(testAccount, "us-west-2", "other", strings.NewReader(`"just a string"`)); err == nil {
		t.Fatal("string loaded")
	}
}

var eventTimeMemberRE = regexp.MustCompile(`"eventTime":"[^"]*"`)

// withoutEventTime blanks a compact record's eventTime.
func withoutEventTime(msg string) string {
	return eventTimeMemberRE.ReplaceAllString(msg, `"eventTime":""`)
}

// records splits test input the way the loader does, for expectations.
func records(t *testing.T, raw []byte) []json.RawMessage {
	var out []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	for dec.More() {
		var m json.RawMessage
		mustNoErr(t, dec.Decode(&m))
		var f struct{ Records []json.RawMessage }
		if json.Unmarshal(m, &f) == nil && f.Records != nil {
			out = append(out, f.Records...)
		} else {
			out = append(out, m)
		}
	}
	return out
}

func countWhere(msgs map[string]int, sub string) int {
	n := 0
	for m, k := range msgs {
		if strings.Contains(m, sub) {
			n += k
		}
	}
	return n
}
