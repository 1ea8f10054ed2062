package cwlogs

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// A group's retention policy, as the service keeps it: DescribeLogGroups shows
// retentionInDays; events older than the period are gone for FilterLogEvents and GetLogEvents
// while the stream's firstEventTimestamp still says the first event ever stored; PutLogEvents
// refuses expired events; after DeleteRetentionPolicy events are kept again, and the expired
// ones stay gone.
func TestRetentionPolicy(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.client("us-east-1")
	now := e.clock.ms()
	day := int64(24 * time.Hour / time.Millisecond)
	// a year-old event, stored before the policy (Put takes events of any age), and a recent one
	mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", "s", []InputEvent{{Timestamp: now - 365*day, Message: "old"}, {Timestamp: now - day, Message: "new"}}))

	_, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(2)})
	if apiCode(err) != "InvalidParameterException" {
		t.Errorf("retentionInDays 2: %v, want InvalidParameterException", err)
	}
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("nope"), RetentionInDays: aws.Int32(7)})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("missing group: %v, want ResourceNotFoundException", err)
	}
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(7)})
	mustNoErr(t, err)

	groups, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	mustNoErr(t, err)
	if len(groups.LogGroups) != 1 || aws.ToInt32(groups.LogGroups[0].RetentionInDays) != 7 {
		t.Fatalf("log groups %+v, want g with retentionInDays 7", groups.LogGroups)
	}
	messages := func() []string {
		out, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")})
		mustNoErr(t, err)
		var got []string
		for _, ev := range out.Events {
			got = append(got, aws.ToString(ev.Message))
		}
		get, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
		mustNoErr(t, err)
		if len(get.Events) != len(got) {
			t.Errorf("GetLogEvents returned %d events, FilterLogEvents %d", len(get.Events), len(got))
		}
		return got
	}
	if got := messages(); len(got) != 1 || got[0] != "new" {
		t.Errorf("events %q with 7 days retention, want only the recent one", got)
	}
	streams, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")})
	mustNoErr(t, err)
	if len(streams.LogStreams) != 1 || aws.ToInt64(streams.LogStreams[0].FirstEventTimestamp) != now-365*day {
		t.Errorf("streams %+v: firstEventTimestamp should stay the first event stored", streams.LogStreams)
	}

	put, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(now - 10*day), Message: aws.String("expired")}, {Timestamp: aws.Int64(now), Message: aws.String("kept")}}})
	mustNoErr(t, err)
	if r := put.RejectedLogEventsInfo; r == nil || aws.ToInt32(r.ExpiredLogEventEndIndex) != 1 || r.TooOldLogEventEndIndex != nil {
		t.Errorf("rejected %+v, want expiredLogEventEndIndex 1 only", r)
	}

	_, err = c.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("g")})
	mustNoErr(t, err)
	groups, err = c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	mustNoErr(t, err)
	if groups.LogGroups[0].RetentionInDays != nil {
		t.Errorf("retentionInDays %d after DeleteRetentionPolicy, want none", *groups.LogGroups[0].RetentionInDays)
	}
	e.clock.Advance(30 * 24 * time.Hour)
	if got := messages(); len(got) != 2 || got[0] != "new" || got[1] != "kept" {
		t.Errorf("events %q a month after DeleteRetentionPolicy, want the 2 kept when it was deleted", got)
	}
	if calls := e.svc.Stats().Calls; calls["PutRetentionPolicy"] != 1 || calls["FilterLogEvents"] != 2 {
		t.Errorf("calls %v, want 1 PutRetentionPolicy (of 3 asked, 2 refused) and 2 FilterLogEvents", calls)
	}
}
