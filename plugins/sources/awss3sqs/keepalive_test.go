package awss3sqs

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/retry"
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

// failVisibility fails every ChangeMessageVisibility as a 500 would, so that the keepalive
// cannot extend and the message's visibility lapses; once a receive got messages, the later
// ones get none (the other source is to receive the message again).
type failVisibility struct {
	sqsAPI
	got atomic.Bool
}

func (f *failVisibility) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if f.got.Load() {
		retry.Sleep(ctx, 100*time.Millisecond)
		return &sqs.ReceiveMessageOutput{}, nil
	}
	out, err := f.sqsAPI.ReceiveMessage(ctx, in, opts...)
	if err == nil && len(out.Messages) > 0 {
		f.got.Store(true)
	}
	return out, err
}

func (*failVisibility) ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	return nil, apiError(500, "InternalError")
}

// A message whose visibility lapsed while its records were being delivered (the keepalive
// could not extend it) is received by another source, which delivers it again. The first
// source's delete, with the handle of the earlier receive, does not delete it on cloudsim (as
// AWS documents: the message stays for its latest reader) and does on moto_server; either
// way the queue empties once the second source's batch is acknowledged, nothing is lost, and
// neither source stops.
func TestLapsedMessageReadTwice(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 2)
		cfg := w.config()
		cfg.VisibilityTimeout, cfg.Workers = 2*time.Second, 1
		first := w.source(t, cfg, settings(t, nil))
		first.tune.newSQS = func(ctx context.Context) (sqsAPI, error) {
			api, err := first.sdkSQS(ctx)
			return &failVisibility{sqsAPI: api}, err
		}
		p1, p2 := plugintest.NewPublisher(plugintest.Manual), plugintest.NewPublisher(plugintest.Manual)
		r1 := plugintest.Start(t, first, p1)
		ids := w.produce(3)
		p1.WaitKeys(t, idKey, ids)
		r2 := plugintest.Start(t, w.source(t, w.config(), settings(t, nil)), p2)
		p2.WaitKeys(t, idKey, ids)
		p1.AckAll()
		if b.IsMoto() {
			w.waitQueued(t, 0, "moto_server to delete the message with the earlier handle")
		} else {
			// The delete with the earlier handle succeeds and leaves the message to its reader.
			plugintest.Eventually(t, 5*time.Second, "the first source's delete", func() bool {
				return testutil.ToFloat64(first.set.Metrics.Messages.WithLabelValues(msgDeleted)) == 1
			})
			if w.queued() != 1 {
				t.Fatal("cloudsim deleted a message with the handle of an earlier receive")
			}
		}
		p2.AckAll()
		w.waitQueued(t, 0, "the message to be deleted by its latest reader")
		for i, r := range []*plugintest.Running{r1, r2} {
			if done, err := r.Done(); done {
				t.Errorf("source %d stopped: %v", i+1, err)
			}
		}
		r1.Stop(t)
		r2.Stop(t)
	})
}

// failFirstVisibility fails the first ChangeMessageVisibility as a 500 would.
type failFirstVisibility struct {
	sqsAPI
	failed atomic.Bool
}

func (f *failFirstVisibility) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	if in.VisibilityTimeout > 0 && f.failed.CompareAndSwap(false, true) {
		return nil, apiError(500, "InternalError")
	}
	return f.sqsAPI.ChangeMessageVisibility(ctx, in, opts...)
}

// A visibility extension that failed is tried again well before the visibility runs out: the
// message stays hidden from another source sharing the queue while its batch is held.
func TestKeepaliveRetriesAFailedExtension(t *testing.T) {
	b := awstest.Sim(t)
	w := newWorld(t, b, 2)
	cfg := w.config()
	cfg.VisibilityTimeout = 2 * time.Second
	s := w.source(t, cfg, settings(t, nil))
	api := &failFirstVisibility{}
	s.tune.newSQS = func(ctx context.Context) (sqsAPI, error) {
		c, err := s.sdkSQS(ctx)
		api.sqsAPI = c
		return api, err
	}
	slow, other := plugintest.NewPublisher(plugintest.Manual), plugintest.NewPublisher(plugintest.AckAsync)
	first := plugintest.Start(t, s, slow)
	ids := w.produce(2)
	slow.WaitKeys(t, idKey, ids)
	second := plugintest.Start(t, w.source(t, w.config(), settings(t, nil)), other)
	if other.Await(5*time.Second, func() bool { return len(other.Records()) > 0 || len(slow.Batches()) > 1 }) {
		t.Fatalf("the message was received again while its batch was held: %d batches here, %d records there", len(slow.Batches()), len(other.Records()))
	}
	if !api.failed.Load() {
		t.Fatal("no extension failed")
	}
	slow.AckAll()
	w.waitQueued(t, 0, "the message to be deleted")
	first.Stop(t)
	second.Stop(t)
}
