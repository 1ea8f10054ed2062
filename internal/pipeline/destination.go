package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// DestinationOptions are the engine's settings for one destination.
type DestinationOptions struct {
	MaxRecords int
	MaxBytes   int
	MaxWait    time.Duration
	Retry      retry.Backoff
	Workers    int
	QueueSize  int
	EPS        int
}

// item is one record on its way to one destination, with the tracker of its source batch.
// last marks the final record a Publish call queued for this destination.
type item struct {
	rec  *event.Record
	t    *event.Tracker
	last bool
}

// destination runs one destination plugin: a bounded queue, a batcher and a pool of workers
// that deliver with retries.
type destination struct {
	name    string
	dest    plugin.Destination
	opts    DestinationOptions
	limit   *epsLimiter
	dlq     DeadLetters
	metrics *telemetry.PluginMetrics
	log     *slog.Logger

	// refuser is dest when it refuses some kinds of record; kinds keeps its answers, by
	// kindKey, up to maxKindAnswers of them (subtypes a source reads from its records, such as
	// CloudTrail's eventType, are not a closed set).
	refuser  plugin.KindRefuser
	kinds    sync.Map
	kindsLen atomic.Int32

	queue   chan item
	batches chan []item
	stopped atomic.Bool // a fatal error stopped it: new work is nacked at once
	failure atomic.Pointer[error]
}

func newDestination(name string, d plugin.Destination, o DestinationOptions, dlq DeadLetters, m *telemetry.PluginMetrics, log *slog.Logger) *destination {
	if l, ok := d.(plugin.Limited); ok {
		lim := l.BatchLimits()
		if lim.MaxRecords > 0 && lim.MaxRecords < o.MaxRecords {
			o.MaxRecords = lim.MaxRecords
		}
		if lim.MaxBytes > 0 && lim.MaxBytes < o.MaxBytes {
			o.MaxBytes = lim.MaxBytes
		}
	}
	refuser, _ := d.(plugin.KindRefuser)
	return &destination{
		name: name, dest: d, opts: o, limit: newEPSLimiter(o.EPS), dlq: dlq, metrics: m, log: log,
		refuser: refuser,
		queue:   make(chan item, o.QueueSize),
		batches: make(chan []item),
	}
}

// maxKindAnswers bounds the answers of a KindRefuser a destination keeps.
const maxKindAnswers = 1024

type kindKey struct {
	kind    event.Kind
	subtype string
}

// kindAnswer is whether the destination takes records of one kind and subtype.
type kindAnswer struct {
	valid   bool // set: the rest is an answer
	kind    event.Kind
	subtype string
	refused bool
	reason  string
}

// refusesKind asks the destination's refuser about kind and subtype, once for each pair.
func (d *destination) refusesKind(kind event.Kind, subtype string) kindAnswer {
	k := kindKey{kind, subtype}
	if v, ok := d.kinds.Load(k); ok {
		return v.(kindAnswer)
	}
	reason, refused := d.refuser.RefuseKind(kind, subtype)
	a := kindAnswer{valid: true, kind: kind, subtype: subtype, refused: refused, reason: reason}
	if d.kindsLen.Load() < maxKindAnswers && d.kindsLen.Add(1) <= maxKindAnswers {
		d.kinds.Store(k, a) // past the cap (a source with endless subtypes) answers are not kept
	}
	return a
}

// enqueue queues one record, blocking while the queue is full (backpressure). last says it is
// the final record of its Publish call for this destination.
func (d *destination) enqueue(ctx context.Context, r *event.Record, t *event.Tracker, last bool) error {
	if d.stopped.Load() {
		t.Done(1, event.Nacked)
		return nil
	}
	select {
	case d.queue <- item{r, t, last}:
		d.metrics.Received.Inc()
		d.metrics.Queue.Inc()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run batches and delivers until the queue is closed and drained. deliverCtx ends only when the
// shutdown timeout is over; then whatever is still undelivered is nacked.
func (d *destination) run(deliverCtx context.Context) {
	d.metrics.Up("destination", true)
	defer d.metrics.Up("destination", false)
	d.log.Info("destination started", "workers", d.opts.Workers, "batch_max_records", d.opts.MaxRecords, "batch_max_bytes", d.opts.MaxBytes, "queue_size", d.opts.QueueSize)
	var wg sync.WaitGroup
	for range d.opts.Workers {
		wg.Go(func() {
			for b := range d.batches {
				d.deliver(deliverCtx, b)
			}
		})
	}
	d.batch()
	close(d.batches)
	wg.Wait()
}

// batch reads the queue into batches of at most MaxRecords and MaxBytes, sent when full, when
// MaxWait has passed since the batch's first record, or as soon as the last record of a Publish
// arrives with nothing else queued: no more records are on their way, and a source that waits
// for its acknowledgement before reading on (Netskope's one page in flight) would otherwise wait
// MaxWait for nothing. Under load the queue is never empty, and batches fill up.
func (d *destination) batch() {
	var (
		cur   []item
		bytes int
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	flush := func() {
		if len(cur) > 0 {
			d.batches <- cur
			cur, bytes = nil, 0
		}
		timer.Stop()
	}
	for {
		select {
		case it, ok := <-d.queue:
			if !ok {
				flush()
				return
			}
			d.metrics.Queue.Dec()
			size := it.rec.Size()
			if d.opts.MaxBytes > 0 && size > d.opts.MaxBytes {
				d.refuse([]item{it}, plugin.ReasonTooLarge, "", fmt.Errorf("record of %d bytes is larger than the %d bytes a batch may hold", size, d.opts.MaxBytes))
				continue
			}
			if len(cur) > 0 && d.opts.MaxBytes > 0 && bytes+size > d.opts.MaxBytes {
				flush()
			}
			if len(cur) == 0 {
				timer.Reset(d.opts.MaxWait)
			}
			cur = append(cur, it)
			bytes += size
			if len(cur) >= d.opts.MaxRecords || it.last && len(d.queue) == 0 {
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}

// deliver writes items until each is delivered, refused, or ctx ends.
func (d *destination) deliver(ctx context.Context, items []item) {
	attempt := 0
	for len(items) > 0 {
		if d.stopped.Load() || ctx.Err() != nil {
			finish(items, event.Nacked)
			return
		}
		if err := d.limit.wait(ctx, len(items)); err != nil {
			finish(items, event.Nacked)
			return
		}
		recs := make([]*event.Record, len(items))
		for i, it := range items {
			recs[i] = it.rec
		}
		start := time.Now()
		err := d.dest.Write(ctx, recs)
		d.metrics.Latency.Observe(time.Since(start).Seconds())
		if err == nil {
			d.delivered(items)
			return
		}
		if !onlySkipped(err) {
			d.metrics.Errors.Inc()
		}

		var be *plugin.BatchError
		var re *plugin.RefusedError
		var retryAfter time.Duration
		switch {
		case plugin.IsFatal(err):
			d.fail(err)
			finish(items, event.Nacked)
			return
		case errors.As(err, &be):
			var ok, again []item
			skipped := map[plugin.Reason][]item{}
			for i, it := range items {
				ierr, failed := be.Failed[i]
				var se *plugin.SkippedError
				switch {
				case !failed || ierr == nil:
					ok = append(ok, it)
				case errors.As(ierr, &se):
					skipped[se.Reason] = append(skipped[se.Reason], it)
				case errors.As(ierr, &re):
					d.refuse([]item{it}, plugin.ReasonRefused, re.Code, ierr)
				default:
					again = append(again, it)
					retryAfter = max(retryAfter, throttleAfter(ierr))
				}
			}
			d.delivered(ok)
			for reason, its := range skipped {
				d.metrics.Dropped(string(reason), len(its))
				finish(its, event.Acked)
			}
			items = again
			if len(items) == 0 {
				return
			}
		case errors.As(err, &re):
			// The whole call was refused. With more than one record, one bad record may be the
			// cause: split and try both halves, so the good ones still go through.
			if len(items) > 1 {
				half := len(items) / 2
				d.deliver(ctx, items[:half])
				d.deliver(ctx, items[half:])
				return
			}
			d.refuse(items, plugin.ReasonRefused, re.Code, err)
			return
		default:
			retryAfter = throttleAfter(err)
		}
		delay := d.opts.Retry.Delay(attempt, retryAfter)
		d.metrics.Retries.Inc()
		d.log.Warn("delivery failed; will retry", "records", len(items), "attempt", attempt+1, "retry_in", delay.Round(time.Millisecond), "error", err)
		attempt++
		if !retry.Sleep(ctx, delay) {
			finish(items, event.Nacked)
			return
		}
	}
}

func throttleAfter(err error) time.Duration {
	var te *plugin.ThrottledError
	if errors.As(err, &te) {
		return te.After
	}
	return 0
}

func (d *destination) delivered(items []item) {
	if len(items) == 0 {
		return
	}
	d.metrics.Sent.Add(float64(len(items)))
	d.metrics.BatchSize.Observe(float64(len(items)))
	finish(items, event.Acked)
}

// refuse moves items to the dead-letter store. If the store cannot take them they are nacked:
// a record is never acknowledged without being delivered or kept.
func (d *destination) refuse(items []item, reason plugin.Reason, code string, err error) {
	now := time.Now().UTC()
	entries := make([]deadletter.Entry, len(items))
	for i, it := range items {
		entries[i] = deadletter.Entry{Time: now, Plugin: d.name, Source: it.rec.Source, Reason: string(reason), Code: code, Error: err.Error(), ID: it.rec.ID}
		entries[i].SetRecord(it.rec.Raw)
	}
	if perr := d.dlq.Put(d.name, entries); perr != nil {
		d.log.Error("could not keep refused records in the dead-letter store; they stay unacknowledged", "records", len(items), "error", perr)
		finish(items, event.Nacked)
		return
	}
	d.metrics.Dropped(string(reason), len(items))
	d.log.Warn("records dead-lettered", "records", len(items), "reason", reason, "code", code, "error", err)
	finish(items, event.Acked)
}

// fail stops the destination after an error retrying cannot fix.
func (d *destination) fail(err error) {
	if d.stopped.CompareAndSwap(false, true) {
		d.failure.Store(&err)
		d.metrics.Up("destination", false)
		d.log.Error("destination stopped: fix its configuration and restart; its records stay unacknowledged and will be read again", "error", err)
	}
}

// err returns the error that stopped the destination, if any.
func (d *destination) err() error {
	if p := d.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// finish reports outcome o for items, one call per run of items sharing a tracker.
func finish(items []item, o event.Outcome) {
	for i := 0; i < len(items); {
		j := i + 1
		for j < len(items) && items[j].t == items[i].t {
			j++
		}
		items[i].t.Done(j-i, o)
		i = j
	}
}

// onlySkipped reports a Write error that is a *plugin.BatchError whose every record was left out
// on purpose (plugin.Skipped): those are drops counted with their reason, not errors.
func onlySkipped(err error) bool {
	var be *plugin.BatchError
	if !errors.As(err, &be) || len(be.Failed) == 0 {
		return false
	}
	for _, e := range be.Failed {
		var se *plugin.SkippedError
		if !errors.As(e, &se) {
			return false
		}
	}
	return true
}
