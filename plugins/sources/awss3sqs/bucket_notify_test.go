package awss3sqs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awstest"
	simS3 "github.com/logshipper/logshipper/internal/sim/s3"
)

// The bucket's own event notifications, as the backends send them: set through the API on
// cloudsim and on moto_server (S3's shape, and a test event when the configuration is saved),
// and in cloudsim SNS's envelope (with the test event inside) and EventBridge's shape (no test
// event); a key with a space, a '+' and a non-ASCII letter is encoded as each sends it. Every
// record arrives once, the test events are counted, the queue empties.
func TestBucketNotifications(t *testing.T) {
	check := func(t *testing.T, w *world, testEvents int) {
		set := settings(t, nil)
		drops := plugintest.DropperOf(t, set)
		pub := plugintest.NewPublisher(plugintest.AckAsync)
		run := plugintest.Start(t, w.source(t, w.config(), set), pub)
		var want []string
		now := time.Now()
		for _, u := range []string{"plain", "with space+plus", "utf8-é"} {
			body, ids := w.logFile(3, now)
			w.put(logKey(now, u), body)
			want = append(want, ids...)
		}
		pub.WaitKeys(t, idKey, want)
		w.waitQueued(t, 0, "every notification to be deleted")
		plugintest.Eventually(t, 5*time.Second, "the test events to be counted", func() bool { return drops.Count(plugin.ReasonControlMessage) == testEvents })
		run.Stop(t)
		if n := drops.Count(plugin.ReasonInvalid); n != 0 {
			t.Errorf("%d dead letters: %v", n, drops.Drops())
		}
		if n := len(pub.Records()); n != len(want) {
			t.Errorf("%d records, want %d", n, len(want))
		}
	}
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 30)
		_, err := w.s3.PutBucketNotificationConfiguration(context.Background(), &s3.PutBucketNotificationConfigurationInput{
			Bucket: aws.String(w.bucket),
			NotificationConfiguration: &s3types.NotificationConfiguration{QueueConfigurations: []s3types.QueueConfiguration{{
				QueueArn: aws.String(w.queueARN),
				Events:   []s3types.Event{s3types.EventS3ObjectCreated},
			}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		check(t, w, 1)
	})
	for format, testEvents := range map[string]int{simS3.FormatSNS: 1, simS3.FormatEventBridge: 0} {
		t.Run("cloudsim-"+format, func(t *testing.T) {
			b := awstest.Sim(t)
			w := newWorld(t, b, 30)
			if err := b.S3.SetNotifications(w.bucket, []simS3.Notification{{Queue: w.queueARN, Events: []string{"s3:ObjectCreated:*"}, Format: format}}); err != nil {
				t.Fatal(err)
			}
			check(t, w, testEvents)
		})
	}
}

// fakeS3 answers GetObject with err.
type fakeS3 struct {
	s3API
	err error
}

func (f fakeS3) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, f.err
}

// Access denied on s3:GetObject stops the source naming the credentials, and dead-letters
// nothing: every object would be denied alike.
func TestS3AccessDeniedStops(t *testing.T) {
	w := newWorld(t, awstest.Sim(t), 30)
	set := settings(t, nil)
	drops := plugintest.DropperOf(t, set)
	s := w.source(t, w.config(), set)
	s.tune.newS3 = func(context.Context, string) (s3API, error) {
		return fakeS3{err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}}, nil
	}
	w.produce(2)
	run := plugintest.Start(t, s, plugintest.NewPublisher(plugintest.AckAsync))
	var err error
	plugintest.Eventually(t, 10*time.Second, "Run to return", func() bool { done, e := run.Done(); err = e; return done })
	if !plugin.IsFatal(err) || !strings.Contains(err.Error(), "access_key_id, assume_role_arn: s3:GetObject") {
		t.Fatalf("Run returned %v", err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("the error does not wrap the API error: %v", err)
	}
	if n := len(drops.Drops()); n != 0 {
		t.Errorf("%d dead letters", n)
	}
	if w.queued() != 1 {
		t.Error("the message left the queue")
	}
}
