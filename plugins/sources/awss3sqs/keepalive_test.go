package awss3sqs

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awstest"
)

// visRecorder records the visibility timeouts the source asks for.
type visRecorder struct {
	sqsAPI
	mu   sync.Mutex
	asks []int32
}

func (v *visRecorder) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	v.mu.Lock()
	v.asks = append(v.asks, in.VisibilityTimeout)
	v.mu.Unlock()
	return v.sqsAPI.ChangeMessageVisibility(ctx, in, opts...)
}

func (v *visRecorder) got() []int32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.asks)
}

// The keepalive never asks for a visibility past the limit counted from the receive (SQS's
// 12 hours, here shortened to 3.5 s on the source's side): with a visibility timeout of 2 s it
// extends to 2 s, then to the whole second left, then lets the message lapse, and the message is
// received again.
func TestKeepaliveStopsAtTheLimit(t *testing.T) {
	b := awstest.Sim(t)
	w := newWorld(t, b, 2)
	cfg := w.config()
	cfg.VisibilityTimeout = 2 * time.Second
	s := w.source(t, cfg, settings(t, nil))
	s.tune.maxVisibility = 3500 * time.Millisecond
	rec := &visRecorder{}
	s.tune.newSQS = func(ctx context.Context) (sqsAPI, error) {
		api, err := s.sdkSQS(ctx)
		rec.sqsAPI = api
		return rec, err
	}
	pub := plugintest.NewPublisher(plugintest.Manual)
	run := plugintest.Start(t, s, pub)
	w.produce(2)
	pub.WaitUntil(t, 10*time.Second, "the message to be received again once its visibility lapsed", func() bool { return len(pub.Batches()) >= 2 })
	asks := rec.got()
	if len(asks) < 2 || asks[0] != 2 || asks[1] != 1 {
		t.Fatalf("visibility asked: %v, want [2 1] before the lapse", asks)
	}
	pub.AckAll()
	run.Stop(t)
}
