package cwlogs

import (
	"fmt"
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
