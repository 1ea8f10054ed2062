package awss3sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
)

// Outcomes of logshipper_source_objects_total and logshipper_source_messages_total.
const (
	objRead     = "read"
	objDigest   = "digest"
	objFiltered = "filtered"
	objEmpty    = "empty"
	objPoison   = "poison"

	msgReceived   = "received"
	msgDeleted    = "deleted"
	msgReturned   = "returned"
	msgTestEvent  = "test_event"
	msgPoison     = "poison"
	msgMaxReceive = "max_receive_count"
	msgSkipped    = "no_object"
)

// runner is one Run: the workers, and the messages they hold.
type runner struct {
	s   *Source
	api sqsAPI
	pub plugin.Publisher
	log *slog.Logger
	// life outlives Run's context by the stop grace: the deletes and visibility changes the
	// last acknowledgements start are made with it.
	life context.Context

	mu       sync.Mutex
	inflight map[*message]struct{}
	idle     chan struct{} // closed and replaced when inflight becomes empty
	ops      sync.WaitGroup
}

// message is one received SQS message.
type message struct {
	msg        sqstypes.Message
	receivedAt time.Time
	t          *tracker
	stop       chan struct{} // closed when the message is finished: ends its keepalive
}

// Run implements plugin.Source: workers receive messages and publish the records of their
// objects until ctx ends or one meets a fatal error (the queue does not exist, access denied).
func (s *Source) Run(ctx context.Context, pub plugin.Publisher) error {
	if ctx.Err() != nil {
		return nil
	}
	log := s.logger()
	api, err := s.sqsClient(ctx)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		attrs, err := s.checkQueue(ctx, api)
		if err == nil {
			log.Info("reading the queue", "region", s.region, "queue_visibility_timeout", attrs["VisibilityTimeout"],
				"redrive_policy", attrs["RedrivePolicy"] != "", "visibility_timeout", s.cfg.VisibilityTimeout, "number_of_workers", s.cfg.Workers)
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if plugin.IsFatal(err) {
			log.Error("the queue cannot be read", "error", err)
			return err
		}
		s.set.Metrics.Errors.Inc()
		d := s.backoff(attempt)
		log.Warn("the queue did not answer; trying again (check endpoint, region and the network if this goes on)", "error", err, "retry_in", d)
		if !retry.Sleep(ctx, d) {
			return nil
		}
	}
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	defer endLife()
	r := &runner{s: s, api: api, pub: pub, log: log, life: life, inflight: map[*message]struct{}{}, idle: make(chan struct{})}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, s.cfg.Workers)
	for range s.cfg.Workers {
		go func() {
			err := r.worker(wctx)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range s.cfg.Workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	r.drain()
	if first != nil {
		log.Error("stopped", "error", first)
	}
	return first
}

// backoff is the pause before attempt (from 1) after failed calls.
func (s *Source) backoff(attempt int) time.Duration {
	return retry.Backoff{Initial: s.tune.backoffBase, Max: time.Minute}.Delay(attempt-1, 0)
}

// drain ends a Run: it waits up to the stop grace for the messages in flight to be finished
// (acknowledged and deleted, or nacked and returned), returns the others to the queue, and
// waits up to half the grace more for those calls (Run returns within about 1.5 times the
// grace of its context's end).
func (r *runner) drain() {
	r.waitIdle(r.s.tune.stopGrace)
	r.mu.Lock()
	var left []*message
	for m := range r.inflight {
		left = append(left, m)
	}
	r.mu.Unlock()
	for _, m := range left {
		if m.t.abandon() {
			r.finish(m, true, false)
		}
	}
	// A message that finished on its own meanwhile is leaving inflight (finish), with its call
	// counted in ops before it does: once inflight is empty, ops holds every call.
	r.waitIdle(r.s.tune.stopGrace / 4)
	done := make(chan struct{})
	go func() { r.ops.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(r.s.tune.stopGrace / 2):
		r.log.Info("stopped while calls to SQS go on (a long poll ends within wait_time; what it receives is returned to the queue)")
	}
}

// waitIdle waits up to d for no message to be in flight.
func (r *runner) waitIdle(d time.Duration) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		n, idle := len(r.inflight), r.idle
		r.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-idle:
		case <-deadline.C:
			return
		}
	}
}

// worker receives messages and handles them one after the other, until ctx ends (nil) or a
// fatal error.
func (r *runner) worker(ctx context.Context) error {
	s := r.s
	attempt := 0
	for ctx.Err() == nil {
		start := s.tune.now() // no later than SQS's receive: the 12 hours are counted from it
		out, ok, err := r.receive(ctx)
		if !ok {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if fe := s.configError("sqs:ReceiveMessage", err, false); fe != nil {
				return fe
			}
			attempt++
			s.set.Metrics.Errors.Inc()
			d := s.backoff(attempt)
			r.log.Warn("sqs:ReceiveMessage failed; trying again", "error", err, "retry_in", d)
			if !retry.Sleep(ctx, d) {
				return nil
			}
			continue
		}
		attempt = 0
		ms := make([]*message, len(out.Messages))
		for i, msg := range out.Messages {
			ms[i] = r.track(msg, start)
		}
		for i, m := range ms {
			if ctx.Err() != nil {
				for _, rest := range ms[i:] {
					rest.t.seal(true, false)
				}
				return nil
			}
			if err := r.handle(ctx, m); err != nil {
				for _, rest := range ms[i+1:] {
					rest.t.seal(true, false)
				}
				return err
			}
		}
	}
	return nil
}

// receive long-polls the queue. A stop (the end of ctx) does not cut the call: SQS may already
// have taken messages for it, which would then stay hidden for their visibility timeout. The
// call goes on in the background (at most wait_time), and whatever it receives is returned
// to the queue at once; ok is false then.
func (r *runner) receive(ctx context.Context) (out *sqs.ReceiveMessageOutput, ok bool, err error) {
	s := r.s
	type result struct {
		out *sqs.ReceiveMessageOutput
		err error
	}
	ch := make(chan result)
	r.ops.Add(1)
	go func() {
		defer r.ops.Done()
		rctx, cancel := s.apiCtx(context.WithoutCancel(ctx))
		out, err := r.api.ReceiveMessage(rctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(s.cfg.QueueURL),
			MaxNumberOfMessages:         int32(s.cfg.MaxMessages),
			WaitTimeSeconds:             int32(s.cfg.WaitTime / time.Second),
			VisibilityTimeout:           int32(s.cfg.VisibilityTimeout / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		cancel()
		select {
		case ch <- result{out, err}:
		case <-ctx.Done():
			if err != nil {
				return
			}
			for _, m := range out.Messages {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_, _ = r.api.ChangeMessageVisibility(cctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(s.cfg.QueueURL),
					ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
				cancel()
			}
		}
	}()
	select {
	case res := <-ch:
		return res.out, true, res.err
	case <-ctx.Done():
		return nil, false, nil
	}
}

// track starts following a message received by a ReceiveMessage called at start: its
// keepalive runs until it is finished.
func (r *runner) track(msg sqstypes.Message, start time.Time) *message {
	m := &message{msg: msg, receivedAt: start, stop: make(chan struct{})}
	m.t = newTracker(func(failed, leave bool) { r.finish(m, failed, leave) })
	r.mu.Lock()
	r.inflight[m] = struct{}{}
	r.mu.Unlock()
	r.s.set.Metrics.Messages.WithLabelValues(msgReceived).Inc()
	go r.keepalive(m)
	return m
}

// finish ends a message: deleted when everything in it was delivered, else returned to the
// queue at once (a nack, a stop), or left to its visibility timeout (leave: reading failed, so
// that it is not read again at once).
func (r *runner) finish(m *message, failed, leave bool) {
	close(m.stop)
	r.mu.Lock()
	delete(r.inflight, m)
	if len(r.inflight) == 0 {
		close(r.idle)
		r.idle = make(chan struct{})
	}
	r.ops.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.ops.Done()
		ctx, cancel := r.s.apiCtx(r.life)
		defer cancel()
		id := aws.ToString(m.msg.MessageId)
		switch {
		case !failed:
			if err := r.delete(m); err != nil {
				r.s.set.Metrics.Errors.Inc()
				r.log.Warn("could not delete a delivered message: it will be received and delivered again", "message_id", id, "error", err)
				return
			}
			r.s.set.Metrics.Messages.WithLabelValues(msgDeleted).Inc()
		case leave:
			r.s.set.Metrics.Messages.WithLabelValues(msgReturned).Inc()
			r.log.Debug("message left to its visibility timeout", "message_id", id)
		default:
			r.s.set.Metrics.Messages.WithLabelValues(msgReturned).Inc()
			_, err := r.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(r.s.cfg.QueueURL),
				ReceiptHandle: m.msg.ReceiptHandle, VisibilityTimeout: 0})
			if err != nil && !handleGone(err) {
				r.log.Debug("could not return a message to the queue: it comes back when its visibility timeout runs out", "message_id", id, "error", err)
			}
		}
	}()
}

// deleteAttempts is how many times a delivered message's DeleteMessage is called (each with
// the SDK's own retries) before the message is left to be received and delivered again.
const deleteAttempts = 3

// delete deletes a delivered message, trying again with a backoff after a failure other than
// a receipt handle that is no longer valid (the message was received again by another reader,
// which deletes it). A DeleteMessage whose answer was lost is safe to repeat: deleting a
// deleted message succeeds.
func (r *runner) delete(m *message) error {
	for attempt := 1; ; attempt++ {
		ctx, cancel := r.s.apiCtx(r.life)
		_, err := r.api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.s.cfg.QueueURL), ReceiptHandle: m.msg.ReceiptHandle})
		cancel()
		if err == nil || handleGone(err) || attempt == deleteAttempts || r.life.Err() != nil {
			return err
		}
		r.s.set.Metrics.Errors.Inc()
		d := r.s.backoff(attempt)
		r.log.Info("could not delete a delivered message; trying again", "message_id", aws.ToString(m.msg.MessageId), "attempt", attempt, "retry_in", d, "error", err)
		if !retry.Sleep(r.life, d) {
			return err
		}
	}
}

// keepalive extends the message's visibility to visibility_timeout every half
// visibility_timeout until it is finished; a failed extension is tried again after a short
// backoff (at most a quarter of visibility_timeout), before the visibility runs out. SQS counts
// 12 hours from the receive: the last extension asks for what is left of them (counted from
// before the ReceiveMessage call, which is no later than SQS's receive), then the visibility
// lapses and the message is read again.
func (r *runner) keepalive(m *message) {
	vis := r.s.cfg.VisibilityTimeout
	t := time.NewTimer(vis / 2)
	defer t.Stop()
	id := aws.ToString(m.msg.MessageId)
	fails := 0
	for {
		select {
		case <-m.stop:
			return
		case <-r.life.Done():
			return
		case <-t.C:
		}
		ext := min(vis, (r.s.tune.maxVisibility - r.s.tune.now().Sub(m.receivedAt)).Truncate(time.Second))
		if ext < time.Second {
			r.log.Warn("a message's records are still being delivered after almost 12 hours (SQS's limit): its visibility lapses and it will be read again", "message_id", id)
			return
		}
		ctx, cancel := r.s.apiCtx(r.life)
		_, err := r.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(r.s.cfg.QueueURL),
			ReceiptHandle: m.msg.ReceiptHandle, VisibilityTimeout: int32(ext / time.Second)})
		cancel()
		select {
		case <-m.stop:
			return
		default:
		}
		if err == nil {
			fails = 0
			t.Reset(vis / 2)
			continue
		}
		if handleGone(err) {
			r.log.Warn("a message's visibility could not be extended: it was received again, deleted, or its 12 hours are over", "message_id", id, "error", err)
			return
		}
		fails++
		d := min(r.s.backoff(fails), vis/4)
		r.s.set.Metrics.Errors.Inc()
		r.log.Warn("a message's visibility could not be extended; trying again", "message_id", id, "retry_in", d, "error", err)
		t.Reset(d)
	}
}

// handle reads a message: dead-letters it when it was received more than max_receive_count
// times or is no S3 notification, counts a test event, else reads its objects. It seals the
// message's tracker; an error is fatal for the source.
func (r *runner) handle(ctx context.Context, m *message) error {
	s := r.s
	body := []byte(aws.ToString(m.msg.Body))
	id := aws.ToString(m.msg.MessageId)
	count, _ := strconv.Atoi(m.msg.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	if s.cfg.MaxReceiveCount > 0 && count > s.cfg.MaxReceiveCount {
		err := fmt.Errorf("message %s was received %d times, more than max_receive_count (%d): its objects could not be delivered", id, count, s.cfg.MaxReceiveCount)
		return r.dropMessage(ctx, m, body, plugin.ReasonInvalid, err, msgMaxReceive)
	}
	if count > 1 {
		r.log.Debug("a message is read again (at least once: its records may be delivered twice)", "message_id", id, "receive_count", count)
	}
	n, err := parseNotice(body)
	if err != nil {
		return r.dropMessage(ctx, m, body, plugin.ReasonInvalid, fmt.Errorf("message %s: %w", id, err), msgPoison)
	}
	if n.test {
		return r.dropMessage(ctx, m, body, plugin.ReasonControlMessage, fmt.Errorf("message %s: S3's s3:TestEvent (sent when a bucket's notification configuration is saved), not an object", id), msgTestEvent)
	}
	if len(n.objects) == 0 {
		s.set.Metrics.Messages.WithLabelValues(msgSkipped).Inc()
	}
	for _, ref := range n.objects {
		if ref.Region == "" {
			ref.Region = s.region
		}
		b := &batcher{s: s, pub: r.pub, t: m.t}
		err := s.readObject(ctx, ref, b, nil)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			m.t.seal(true, false)
			return nil
		case isPoison(err):
			if derr := s.dropObject(ctx, ref, id, err); derr != nil {
				m.t.seal(true, true)
				return nil
			}
		case plugin.IsFatal(err):
			m.t.seal(true, false)
			return err
		default:
			s.set.Metrics.Errors.Inc()
			r.log.Warn("an object could not be read: its message returns to the queue when its visibility timeout runs out", "message_id", id,
				"bucket", ref.Bucket, "key", ref.Key, "error", err)
			m.t.seal(true, true)
			return nil
		}
	}
	m.t.seal(false, false)
	return nil
}

// dropMessage hands a message that gives no record to the dropper (which dead-letters it
// when reason says so) and seals it to be deleted; when the dropper fails, it is left to come
// back.
func (r *runner) dropMessage(ctx context.Context, m *message, body []byte, reason plugin.Reason, err error, outcome string) error {
	r.s.set.Metrics.Messages.WithLabelValues(outcome).Inc()
	if derr := r.s.set.Dropper.Drop(ctx, body, reason, err); derr != nil {
		r.log.Warn("a message could not be dead-lettered: it returns to the queue", "message_id", aws.ToString(m.msg.MessageId), "error", derr)
		m.t.seal(true, true)
		return nil
	}
	m.t.seal(false, false)
	return nil
}

// deadObject is what the dead letters keep of an object that cannot be read.
type deadObject struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	Region    string `json:"region,omitempty"`
	MessageID string `json:"sqs_message_id,omitempty"`
	Error     string `json:"error"`
}

// dropObject dead-letters an object that cannot be read, once, with the reason.
func (s *Source) dropObject(ctx context.Context, ref objectRef, msgID string, err error) error {
	s.set.Metrics.Objects.WithLabelValues(objPoison).Inc()
	raw, _ := json.Marshal(deadObject{Bucket: ref.Bucket, Key: ref.Key, Region: ref.Region, MessageID: msgID, Error: err.Error()})
	if derr := s.set.Dropper.Drop(ctx, raw, plugin.ReasonInvalid, err); derr != nil {
		return derr
	}
	return nil
}

// fetchAttempts is how many times an object whose read failed for a passing reason (a
// download cut short, a 5xx or throttling that outlasted the SDK's own retries) is read before
// its message is left to come back after its visibility timeout (and its other objects are
// read again with it).
const fetchAttempts = 3

// fetchObject reads an object's stored bytes, trying a failed read again fetchAttempts times
// in all, with a backoff. Nothing of an object is published before it was read whole, so a
// cut download publishes none of it. The error is ctx's, a fatal one (access denied), a
// poisonError (the object is gone or too large) or the last failure.
func (s *Source) fetchObject(ctx context.Context, api s3API, o *objectReader) ([]byte, error) {
	ref := o.ref
	for attempt := 1; ; attempt++ {
		data, err := o.fetch(ctx, api)
		switch {
		case err == nil:
			return data, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case isPoison(err):
			return nil, err
		}
		if fe := s.s3ConfigError(ref, err); fe != nil {
			return nil, fe
		}
		if s3Poison(err) {
			return nil, poison("s3://%s/%s: cannot be read for good (%s): %v", ref.Bucket, ref.Key, errorCode(err), err)
		}
		if attempt == fetchAttempts {
			return nil, err
		}
		s.set.Metrics.Errors.Inc()
		d := s.backoff(attempt)
		s.logger().Info("an object could not be read; reading it again", "bucket", ref.Bucket, "key", ref.Key, "attempt", attempt, "retry_in", d, "error", err)
		if !retry.Sleep(ctx, d) {
			return nil, ctx.Err()
		}
	}
}

// readObject reads one object and publishes its records through b (flushing at the end).
// Digest files and keys key_regex leaves out are skipped and counted. A poisonError says the
// object can never be read; a fatal error that the configuration is wrong.
func (s *Source) readObject(ctx context.Context, ref objectRef, b *batcher, keep func(*event.Record) bool) error {
	if s.cfg.SkipDigest && isDigest(ref.Key) {
		s.set.Metrics.Objects.WithLabelValues(objDigest).Inc()
		return nil
	}
	if !s.keyRe.MatchString(ref.Key) {
		s.set.Metrics.Objects.WithLabelValues(objFiltered).Inc()
		return nil
	}
	api, err := s.s3Client(ctx, ref.Region)
	if err != nil {
		return err
	}
	o := &objectReader{s: s, ref: ref}
	data, err := s.fetchObject(ctx, api, o)
	if err != nil {
		return err
	}
	n, err := o.parse(data, func(rec *event.Record) error {
		if keep != nil && !keep(rec) {
			return nil
		}
		return b.add(ctx, rec)
	})
	if err != nil {
		if ferr := b.flush(ctx); ferr != nil && !isPoison(err) {
			return errors.Join(err, ferr)
		}
		return err
	}
	if n == 0 {
		s.set.Metrics.Objects.WithLabelValues(objEmpty).Inc()
	} else {
		s.set.Metrics.Objects.WithLabelValues(objRead).Inc()
	}
	return b.flush(ctx)
}
