package cwlogs

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func TestNoCallerIsRefused(t *testing.T) {
	svc := New(Options{})
	req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", TargetPrefix+"DescribeLogGroups")
	rec := newRecorder()
	svc.ServeHTTP(rec, req)
	if rec.code != http.StatusForbidden || rec.header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("got %d %s %s", rec.code, rec.header, rec.body.String())
	}
}

func TestUnknownOperation(t *testing.T) {
	e := newEnv(t, Options{})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", TargetPrefix+"StartQuery")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260301/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := e.srv.Client().Do(req)
	mustNoErr(t, err)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Header)
	}
}

func TestLogGroups(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.client("us-east-1")
	names := []string{"/aws/cloudtrail/a", "/aws/cloudtrail/b", "/aws/cloudtrail/c", "/app/x", "other"}
	for _, n := range names {
		_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(n)})
		mustNoErr(t, err)
	}

	tests := []struct {
		name string
		in   cloudwatchlogs.CreateLogGroupInput
		code string
		msg  string
	}{
		{"duplicate", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("other")}, "ResourceAlreadyExistsException", "The specified log group already exists"},
		{"bad character", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("bad:name")}, "InvalidParameterException", "failed to satisfy constraint"},
		{"too long", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(strings.Repeat("a", 513))}, "InvalidParameterException", "less than or equal to 512"},
		{"aws/ prefix", cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("aws/mine")}, "InvalidParameterException", "aws/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateLogGroup(ctx, &tt.in)
			if apiCode(err) != tt.code || !strings.Contains(apiMessage(err), tt.msg) {
				t.Fatalf("err = %v, want %s %q", err, tt.code, tt.msg)
			}
		})
	}
	var exists *types.ResourceAlreadyExistsException
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("other")})
	if !errors.As(err, &exists) {
		t.Fatalf("duplicate: %T %v, want *types.ResourceAlreadyExistsException", err, err)
	}

	// pagination to exhaustion, with a prefix
	var got []string
	pages := 0
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(c, &cloudwatchlogs.DescribeLogGroupsInput{
		LogGroupNamePrefix: aws.String("/aws/"), Limit: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		mustNoErr(t, err)
		pages++
		for _, g := range out.LogGroups {
			got = append(got, *g.LogGroupName)
			if *g.Arn != "arn:aws:logs:us-east-1:"+testAccount+":log-group:"+*g.LogGroupName+":*" || *g.LogGroupArn+":*" != *g.Arn {
				t.Errorf("arn %s / %s", *g.Arn, *g.LogGroupArn)
			}
		}
	}
	if want := names[:3]; !slices.Equal(got, want) || pages != 2 {
		t.Fatalf("got %v in %d pages, want %v in 2", got, pages, want)
	}
	out, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	mustNoErr(t, err)
	if len(out.LogGroups) != len(names) || out.NextToken != nil {
		t.Fatalf("all groups: %d, token %v", len(out.LogGroups), out.NextToken)
	}
	out, err = c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("trail/b")})
	mustNoErr(t, err)
	if len(out.LogGroups) != 1 || *out.LogGroups[0].LogGroupName != "/aws/cloudtrail/b" {
		t.Fatalf("pattern: %+v", out.LogGroups)
	}

	// state is per region: another region sees none of them
	out, err = e.client("eu-west-1").DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	mustNoErr(t, err)
	if len(out.LogGroups) != 0 {
		t.Fatalf("eu-west-1 sees %d groups", len(out.LogGroups))
	}

	_, err = c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("other")})
	mustNoErr(t, err)
	_, err = c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("other")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || *nf.Message != "The specified log group does not exist." {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestLogStreams(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.client("us-east-1")
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")})
	mustNoErr(t, err)
	now := e.clock.ms()
	// streams a..e, with last events in the order c < a < e < b; d has none
	last := map[string]int64{"c": now - 4000, "a": now - 3000, "e": now - 2000, "b": now - 1000}
	for _, n := range []string{"e", "d", "c", "b", "a"} {
		_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s-" + n)})
		mustNoErr(t, err)
		if ts, ok := last[n]; ok {
			_, err = c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s-" + n),
				LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(ts - 10), Message: aws.String("x")}, {Timestamp: aws.Int64(ts), Message: aws.String("y")}}})
			mustNoErr(t, err)
		}
	}
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s-a")})
	if apiCode(err) != "ResourceAlreadyExistsException" {
		t.Fatalf("duplicate stream: %v", err)
	}
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("stream in missing group: %v", err)
	}
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a:b")})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("stream name with colon: %v", err)
	}

	list := func(in cloudwatchlogs.DescribeLogStreamsInput) []string {
		t.Helper()
		var names []string
		p := cloudwatchlogs.NewDescribeLogStreamsPaginator(c, &in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			mustNoErr(t, err)
			for _, s := range out.LogStreams {
				names = append(names, strings.TrimPrefix(*s.LogStreamName, "s-"))
			}
		}
		return names
	}
	tests := []struct {
		name string
		in   cloudwatchlogs.DescribeLogStreamsInput
		want []string
	}{
		{"by name", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(2)}, []string{"a", "b", "c", "d", "e"}},
		{"by name descending", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(2), Descending: aws.Bool(true)}, []string{"e", "d", "c", "b", "a"}},
		{"prefix", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("s-b")}, []string{"b"}},
		{"prefix none", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("x")}, nil},
		{"by last event time", cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("g"), OrderBy: types.OrderByLastEventTime, Limit: aws.Int32(2)}, []string{"d", "c", "a", "e", "b"}},
		{"by last event time descending", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true), Limit: aws.Int32(3)}, []string{"b", "e", "a", "c", "d"}},
		{"by ARN", cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:" + testAccount + ":log-group:g:*"), Limit: aws.Int32(50)}, []string{"a", "b", "c", "d", "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := list(tt.in); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}

	out, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("s-a")})
	mustNoErr(t, err)
	s := out.LogStreams[0]
	if *s.FirstEventTimestamp != last["a"]-10 || *s.LastEventTimestamp != last["a"] || *s.LastIngestionTime != now ||
		*s.Arn != "arn:aws:logs:us-east-1:"+testAccount+":log-group:g:log-stream:s-a" {
		t.Fatalf("stream a: first %d last %d ingest %d arn %s", *s.FirstEventTimestamp, *s.LastEventTimestamp, *s.LastIngestionTime, *s.Arn)
	}

	errTests := []struct {
		name string
		in   cloudwatchlogs.DescribeLogStreamsInput
		code string
		msg  string
	}{
		{"prefix with LastEventTime", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("s")}, "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix."},
		{"missing group", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("nope")}, "ResourceNotFoundException", "The specified log group does not exist."},
		{"name and identifier", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogGroupIdentifier: aws.String("g")}, "InvalidParameterException", "mutually exclusive"},
		{"limit too big", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(51)}, "InvalidParameterException", "less than or equal to 50"},
		{"bad token", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), NextToken: aws.String("garbage")}, "InvalidParameterException", "The specified nextToken is invalid."},
		{"other account's ARN", cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:999999999999:log-group:g")}, "ResourceNotFoundException", "does not exist"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.DescribeLogStreams(ctx, &tt.in)
			if apiCode(err) != tt.code || !strings.Contains(apiMessage(err), tt.msg) {
				t.Fatalf("err = %v, want %s %q", err, tt.code, tt.msg)
			}
		})
	}

	_, err = c.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s-d")})
	mustNoErr(t, err)
	if got := list(cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")}); !slices.Equal(got, []string{"a", "b", "c", "e"}) {
		t.Fatalf("after delete: %v", got)
	}
}

func TestPutLogEventsValidation(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.client("us-east-1")
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")})
	mustNoErr(t, err)
	_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	mustNoErr(t, err)
	now := e.clock.ms()
	ev := func(ts int64, msg string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
	}
	many := func(n, size int) []types.InputLogEvent {
		out := make([]types.InputLogEvent, n)
		for i := range out {
			out[i] = ev(now, strings.Repeat("m", size))
		}
		return out
	}
	day := int64(24 * time.Hour / time.Millisecond)
	tests := []struct {
		name   string
		group  string
		stream string
		events []types.InputLogEvent
		code   string
		msg    string
		// on success
		tooOld, tooNew *int32
		stored         int
	}{
		{name: "empty", events: []types.InputLogEvent{}, code: "InvalidParameterException", msg: "Member must have length greater than or equal to 1"},
		{name: "out of order", events: []types.InputLogEvent{ev(now, "a"), ev(now-1, "b")}, code: "InvalidParameterException", msg: "Log events in a single PutLogEvents request must be in chronological order."},
		{name: "too many", events: many(MaxPutEvents+1, 1), code: "InvalidParameterException", msg: "less than or equal to 10000"},
		{name: "max count", events: many(MaxPutEvents, 1), stored: MaxPutEvents},
		{name: "too large", events: many(2, MaxPutBytes/2-EventOverhead+1), code: "InvalidParameterException", msg: "Upload too large: 1048578 bytes exceeds limit of 1048576"},
		{name: "exactly max bytes", events: many(2, MaxPutBytes/2-EventOverhead), stored: 2},
		{name: "empty message", events: []types.InputLogEvent{ev(now, "")}, code: "InvalidParameterException", msg: "logEvents.1.member.message"},
		{name: "spans more than 24h", events: []types.InputLogEvent{ev(now-day-1, "a"), ev(now, "b")}, code: "InvalidParameterException", msg: "cannot span more than 24 hours"},
		{name: "missing group", group: "nope", events: []types.InputLogEvent{ev(now, "a")}, code: "ResourceNotFoundException", msg: "The specified log group does not exist."},
		{name: "missing stream", stream: "nope", events: []types.InputLogEvent{ev(now, "a")}, code: "ResourceNotFoundException", msg: "The specified log stream does not exist."},
		{
			name:   "too old and too new are rejected, the rest stored",
			events: []types.InputLogEvent{ev(now-15*day, "old1"), ev(now-15*day+1, "old2"), ev(now-day, "ok1"), ev(now, "ok2"), ev(now+3*3600_000, "new")},
			tooOld: aws.Int32(2), tooNew: aws.Int32(4), stored: 2,
		},
		{name: "two hours ahead is fine", events: []types.InputLogEvent{ev(now+2*3600_000, "edge")}, stored: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			group, stream := "g", "s"
			if tt.group != "" {
				group = tt.group
			}
			if tt.stream != "" {
				stream = tt.stream
			}
			before := storedEvents(e.svc, "us-east-1", "g")
			out, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: tt.events})
			if tt.code != "" {
				if apiCode(err) != tt.code || !strings.Contains(apiMessage(err), tt.msg) {
					t.Fatalf("err = %v, want %s %q", err, tt.code, tt.msg)
				}
				if n := storedEvents(e.svc, "us-east-1", "g"); n != before {
					t.Fatalf("a refused call stored %d events", n-before)
				}
				return
			}
			mustNoErr(t, err)
			if out.NextSequenceToken == nil {
				t.Error("no nextSequenceToken")
			}
			r := out.RejectedLogEventsInfo
			if (tt.tooOld != nil || tt.tooNew != nil) != (r != nil) {
				t.Fatalf("rejectedLogEventsInfo = %+v", r)
			}
			if r != nil && (!eqPtr(r.TooOldLogEventEndIndex, tt.tooOld) || !eqPtr(r.TooNewLogEventStartIndex, tt.tooNew)) {
				t.Fatalf("rejected: tooOld %v tooNew %v", deref32(r.TooOldLogEventEndIndex), deref32(r.TooNewLogEventStartIndex))
			}
			if n := storedEvents(e.svc, "us-east-1", "g"); n-before != tt.stored {
				t.Fatalf("stored %d, want %d", n-before, tt.stored)
			}
		})
	}
}

func eqPtr(a, b *int32) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

func deref32(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}

// storedEvents counts the events of a group, in process.
func storedEvents(s *Service, region, group string) int {
	g := s.region(testAccount, region, true).group(group)
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := 0
	for _, st := range g.streams {
		n += st.count
	}
	return n
}

// countEvents pages FilterLogEvents over a whole group.
func countEvents(t testing.TB, c *cloudwatchlogs.Client, group string) int {
	t.Helper()
	n := 0
	p := cloudwatchlogs.NewFilterLogEventsPaginator(c, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: &group})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		mustNoErr(t, err)
		n += len(out.Events)
	}
	return n
}

func TestGetLogEvents(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.client("us-east-1")
	base := e.clock.ms() - 1000
	var in []InputEvent
	for i := range 10 {
		in = append(in, InputEvent{Timestamp: base + int64(i), Message: fmt.Sprintf("m%d", i)})
	}
	mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", "s", in))
	msgs := func(evs []types.OutputLogEvent) string {
		var b []string
		for _, ev := range evs {
			b = append(b, *ev.Message)
		}
		return strings.Join(b, ",")
	}

	// default: the latest events
	out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(3)})
	mustNoErr(t, err)
	if got := msgs(out.Events); got != "m7,m8,m9" {
		t.Fatalf("latest: %s", got)
	}
	if !strings.HasPrefix(*out.NextForwardToken, "f/") || !strings.HasPrefix(*out.NextBackwardToken, "b/") || len(*out.NextForwardToken) != 60 {
		t.Fatalf("tokens %s %s", *out.NextForwardToken, *out.NextBackwardToken)
	}
	// backward from there
	back, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(3), NextToken: out.NextBackwardToken})
	mustNoErr(t, err)
	if got := msgs(back.Events); got != "m4,m5,m6" {
		t.Fatalf("backward: %s", got)
	}
	// forward from the head, to the end: the same token comes back
	var all []string
	in2 := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(4), StartFromHead: aws.Bool(true)}
	for range 10 {
		out, err := c.GetLogEvents(ctx, in2)
		mustNoErr(t, err)
		if m := msgs(out.Events); m != "" {
			all = append(all, m)
		}
		if in2.NextToken != nil && *out.NextForwardToken == *in2.NextToken {
			break
		}
		in2.NextToken = out.NextForwardToken
	}
	if got := strings.Join(all, "|"); got != "m0,m1,m2,m3|m4,m5,m6,m7|m8,m9" {
		t.Fatalf("forward pages: %s", got)
	}
	// endTime is exclusive here, startTime inclusive
	out, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		StartTime: aws.Int64(base + 2), EndTime: aws.Int64(base + 5), StartFromHead: aws.Bool(true)})
	mustNoErr(t, err)
	if got := msgs(out.Events); got != "m2,m3,m4" {
		t.Fatalf("range: %s", got)
	}
	// a tail poll: new events appear after the forward token
	mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", "s", []InputEvent{{Timestamp: base + 20, Message: "m20"}}))
	out, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: in2.NextToken})
	mustNoErr(t, err)
	if got := msgs(out.Events); got != "m20" {
		t.Fatalf("tail: %s", got)
	}
	_, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope")})
	if apiCode(err) != "ResourceNotFoundException" || apiMessage(err) != "The specified log stream does not exist." {
		t.Fatalf("missing stream: %v", err)
	}
	e.clock.Advance(25 * time.Hour)
	_, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: in2.NextToken})
	if apiCode(err) != "InvalidParameterException" || !strings.Contains(apiMessage(err), "expired") {
		t.Fatalf("expired token: %v", err)
	}
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	code   int
	body   strings.Builder
}

func newRecorder() *recorder { return &recorder{header: http.Header{}, code: 200} }

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, Options{ScanBudget: 500})
	c := e.client("us-east-1")
	now := e.clock.ms()
	var wg sync.WaitGroup
	const writers, perWriter = 4, 50
	for w := range writers {
		wg.Go(func() {
			stream := fmt.Sprintf("w%d", w)
			for i := range perWriter {
				err := e.svc.Put(testAccount, "us-east-1", "g", stream, []InputEvent{{Timestamp: now - int64(i%7)*1000, Message: fmt.Sprintf("%s-%d", stream, i)}})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			for range 20 {
				_, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")})
				if err != nil && apiCode(err) != "ResourceNotFoundException" {
					t.Error(err)
				}
				_, err = c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")})
				if err != nil && apiCode(err) != "ResourceNotFoundException" {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := countEvents(t, c, "g"); n != writers*perWriter {
		t.Fatalf("stored %d, want %d", n, writers*perWriter)
	}
}
