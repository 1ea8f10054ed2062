package cloudwatch

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awstest"
	"github.com/logshipper/logshipper/internal/state"
)

// The source runs unchanged against moto's CloudWatch Logs server (awstest.Moto: on a port
// moto_server picks itself; the test fails when it is missing): only the endpoint and dummy
// keys differ.
func TestMotoServer(t *testing.T) {
	moto := awstest.Moto(t) // fails the test when moto_server is missing
	endpoint := moto.Endpoint

	ctx := context.Background()
	c := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(moto.AccessKey, moto.Secret, "")})
	stream := ctStream("us-east-1")
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(testGroup)}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{stream, "other"} {
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(testGroup), LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	put := func(s string, n int) {
		now := time.Now().Add(-2 * time.Second).UnixMilli()
		var evs []types.InputLogEvent
		for i := range n {
			m := fmt.Sprintf(`{"eventVersion":"1.08","stream":%q,"n":%d}`, s, len(want))
			want = append(want, m)
			evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(now + int64(i)), Message: aws.String(m)})
		}
		if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(testGroup), LogStreamName: aws.String(s), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	put(stream, 25)
	put("other", 5)

	cfg := NewConfig().(*Config)
	cfg.AWS = awsauth.Config{AccessKeyID: config.NewSecret(moto.AccessKey), SecretAccessKey: config.NewSecret(moto.Secret), Endpoint: endpoint, Proxy: netconf.Proxy{URL: netconf.ProxyNone}}
	cfg.Regions, cfg.LogGroup, cfg.StartPosition = []string{"us-east-1"}, testGroup, "-1h"
	cfg.Lag, cfg.Overlap, cfg.PollInterval, cfg.MaxBackoff, cfg.RequestsPerSecond = 0, 5*time.Second, 50*time.Millisecond, 100*time.Millisecond, 100
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st := state.NewMemory().Namespace("plugin/moto")
	s, err := New(cfg, plugintest.Settings(t, "moto", st))
	if err != nil {
		t.Fatal(err)
	}
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	pub.WaitUntil(t, 20*time.Second, "every event from moto", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	put(stream, 10)
	pub.WaitUntil(t, 20*time.Second, "the events put while running", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	// Every window that may read the events again (their time plus the overlap) is read and
	// saved before the check that none came twice.
	waitSweptPast(t, st, time.Now().Add(cfg.Overlap))
	run.Stop(t)
	checkOnce(t, pub, want)
}
