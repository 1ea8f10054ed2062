package awss3sqs

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awstest"
)

// failFirstDelete fails the first DeleteMessage as a 503 that outlasted the SDK's retries would.
type failFirstDelete struct {
	sqsAPI
	failed atomic.Bool
}

func (f *failFirstDelete) DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	if f.failed.CompareAndSwap(false, true) {
		return nil, apiError(503, "ServiceUnavailable")
	}
	return f.sqsAPI.DeleteMessage(ctx, in, opts...)
}

// A delivered message whose DeleteMessage failed is deleted by a second try, not received and
// delivered again.
func TestDeleteRetried(t *testing.T) {
	b := awstest.Sim(t)
	w := newWorld(t, b, 1)
	cfg := w.config()
	cfg.VisibilityTimeout = time.Second
	s := w.source(t, cfg, settings(t, nil))
	api := &failFirstDelete{}
	s.tune.newSQS = func(ctx context.Context) (sqsAPI, error) {
		c, err := s.sdkSQS(ctx)
		api.sqsAPI = c
		return api, err
	}
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	ids := w.produce(2)
	pub.WaitKeys(t, idKey, ids)
	w.waitQueued(t, 0, "the message to be deleted")
	// Had the delete not been tried again, the message would be back within its 1 s visibility.
	if pub.Await(2*time.Second, func() bool { return len(pub.Records()) > len(ids) }) {
		t.Fatalf("the message was delivered again: %d records", len(pub.Records()))
	}
	if !api.failed.Load() {
		t.Fatal("no delete failed")
	}
	run.Stop(t)
}
