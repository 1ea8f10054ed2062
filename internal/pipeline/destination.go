package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	stopped atomic.Bool // a fatal error stopped it: its records go to the spool, or are nacked
	failure atomic.Pointer[error]

	// spool keeps the records routed to the destination while it is stopped; nil when the
	// configuration has none (spool_max_size: 0). spoolErr is set once the spool refused
	// records (full, or the disk failed): from then on its sources are held.
	spool    Spooler
	spoolErr atomic.Pointer[error]

	// refusedLines spaces the "records dead-lettered" lines: a refused batch is split to find
	// its bad records, one refusal each, which must not become a line each. A line counts the
	// records dead-lettered since the line before, and names the latest reason and error.
	refusedLines plugin.Spacer
}

// refusedLogEvery is the shortest time between two "records dead-lettered" lines of one
// destination.
const refusedLogEvery = 10 * time.Second

// Spooler keeps on disk the records of a destination stopped by a fatal error, and gives them
// back at the next start (internal/spool).
type Spooler interface {
	// Append keeps recs; when it returns nil they are on disk.
	Append(recs []*event.Record) error
	// Replay hands on, in batches, what earlier runs kept, and forgets each batch once it is
	// acknowledged.
	Replay(ctx context.Context, batch int, publish func(context.Context, []*event.Record, event.AckFunc) error) error
	// Pending reports whether earlier runs kept records.
	Pending() bool
	Dir() string
	Size() int64
	Max() int64
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
		refuser:      refuser,
		queue:        make(chan item, o.QueueSize),
		batches:      make(chan []item),
		refusedLines: plugin.Spacer{Every: refusedLogEvery},
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
	if d.stopped.Load() && !d.spooling() {
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

// ProgressWriter is a destination that tells, while a Write runs, which of its records are
// delivered: Write calls delivered(from, to) once recs[from:to] are all delivered (none of
// them will be in its error), each record at most once. The engine acknowledges them at once,
// so that their sources save their positions before the whole batch is written (the syslog
// destination, whose receiver never answers: what a kill -9 sends again is what was written
// and not yet saved). When Write returns, the records it did not report are handled as
// usual: delivered when it returns nil, retried, refused or failed by its error.
type ProgressWriter interface {
	WriteProgress(ctx context.Context, recs []*event.Record, delivered func(from, to int)) error
}

// write calls the destination's Write, or its WriteProgress, acknowledging the items it
// reports delivered as it goes. It returns the error and the items not reported.
func (d *destination) write(ctx context.Context, items []item) ([]item, error) {
	recs := make([]*event.Record, len(items))
	for i, it := range items {
		recs[i] = it.rec
	}
	pw, ok := d.dest.(ProgressWriter)
	if !ok {
		return items, d.dest.Write(ctx, recs)
	}
	var done []bool
	sent := 0
	err := pw.WriteProgress(ctx, recs, func(from, to int) {
		if from < 0 || to > len(items) || from >= to {
			return
		}
		if done == nil {
			done = make([]bool, len(items))
		}
		if slices.Contains(done[from:to], true) {
			return // reported twice: acknowledged already
		}
		for i := from; i < to; i++ {
			done[i] = true
		}
		sent += to - from
		d.metrics.Sent.Add(float64(to - from))
		finish(items[from:to], event.Acked)
	})
	if done == nil {
		return items, err
	}
	rest := make([]item, 0, len(items)-sent)
	if err == nil {
		for i, it := range items {
			if !done[i] {
				rest = append(rest, it)
			}
		}
		d.metrics.Sent.Add(float64(len(rest)))
		d.metrics.BatchSize.Observe(float64(len(items)))
		finish(rest, event.Acked)
		return nil, nil
	}
	if sent > 0 {
		d.metrics.BatchSize.Observe(float64(sent))
	}
	if be, isBatch := errors.AsType[*plugin.BatchError](err); isBatch {
		// Failed's indexes are those of recs: renumber them as those of rest.
		failed := map[int]error{}
		for i, it := range items {
			if done[i] {
				continue
			}
			if ierr, ok := be.Failed[i]; ok {
				failed[len(rest)] = ierr
			}
			rest = append(rest, it)
		}
		return rest, &plugin.BatchError{Failed: failed}
	}
	for i, it := range items {
		if !done[i] {
			rest = append(rest, it)
		}
	}
	return rest, err
}

// deliver writes items until each is delivered, refused, or ctx ends.
func (d *destination) deliver(ctx context.Context, items []item) {
	attempt := 0
	for len(items) > 0 {
		if d.stopped.Load() {
			d.park(items)
			return
		}
		if ctx.Err() != nil {
			finish(items, event.Nacked)
			return
		}
		if err := d.limit.wait(ctx, len(items)); err != nil {
			finish(items, event.Nacked)
			return
		}
		start := time.Now()
		var err error
		items, err = d.write(ctx, items)
		d.metrics.Latency.Observe(time.Since(start).Seconds())
		if err == nil {
			d.delivered(items)
			return
		}
		if len(items) == 0 {
			return // every record was reported delivered; the error is of none of them
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
			d.park(items)
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
		entries[i].SetEvent(it.rec)
	}
	if perr := d.dlq.Put(d.name, entries); perr != nil {
		d.log.Error("could not keep refused records in the dead-letter store; they stay unacknowledged", "records", len(items), "error", perr)
		finish(items, event.Nacked)
		return
	}
	d.metrics.Dropped(string(reason), len(items))
	if n, due := d.refusedLines.Note(len(items)); due {
		d.log.Warn("records dead-lettered", "records", n, "reason", reason, "code", code, "error", err)
	}
	finish(items, event.Acked)
}

// fail stops the destination after an error retrying cannot fix.
func (d *destination) fail(err error) {
	if !d.stopped.CompareAndSwap(false, true) {
		return
	}
	d.failure.Store(&err)
	d.metrics.Up("destination", false)
	if d.spool == nil {
		d.log.Error("destination stopped: fix its configuration and restart; its records stay unacknowledged and its sources stop reading, so that their other destinations do not receive them again",
			"error", err)
		return
	}
	d.log.Error("destination stopped: fix its configuration and restart; until then its records are kept in its spool and sent when it starts again, and its sources and their other destinations go on",
		"error", err, "spool", d.spool.Dir(), "spool_bytes", d.spool.Size(), "spool_max_size", d.spool.Max())
}

// spooling reports whether records for the destination, stopped, can go to its spool.
func (d *destination) spooling() bool {
	return d.spool != nil && d.spoolErr.Load() == nil
}

// park keeps the items of a stopped destination in its spool and acknowledges them; they are
// sent when it runs again. Without a spool, or when the spool refuses them, they are nacked:
// their sources read them again after the restart.
func (d *destination) park(items []item) {
	if !d.spooling() {
		finish(items, event.Nacked)
		return
	}
	recs := make([]*event.Record, len(items))
	for i, it := range items {
		recs[i] = it.rec
	}
	if err := d.spool.Append(recs); err != nil {
		if d.spoolErr.CompareAndSwap(nil, &err) {
			d.log.Error("the spool of the stopped destination takes no more records; they stay unacknowledged and the sources feeding it stop reading",
				"spool", d.spool.Dir(), "error", err)
		}
		finish(items, event.Nacked)
		return
	}
	d.metrics.Spooled.Add(float64(len(items)))
	d.metrics.SpoolBytes.Set(float64(d.spool.Size()))
	finish(items, event.Acked)
}

// holdsSources reports whether the destination stopped and its records can no longer be kept:
// the sources feeding it must stop reading.
func (d *destination) holdsSources() bool {
	return d.stopped.Load() && !d.spooling()
}

// spoolError is why the spool refused records, if it did.
func (d *destination) spoolError() error {
	if p := d.spoolErr.Load(); p != nil {
		return *p
	}
	return nil
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

// replay sends what earlier runs kept in the spool, in batches of the destination's size, each
// acknowledged to the spool once delivered (or kept again, if the destination stops again). It
// ends when the spool is read, or when ctx (stop reading) ends.
func (d *destination) replay(ctx, drain context.Context) {
	d.log.Info("sending the records earlier runs kept in the spool", "spool", d.spool.Dir(), "spool_bytes", d.spool.Size())
	d.metrics.SpoolBytes.Set(float64(d.spool.Size()))
	sent := 0
	err := d.spool.Replay(ctx, d.opts.MaxRecords, func(ctx context.Context, recs []*event.Record, spoolAck event.AckFunc) error {
		ack := func(o event.Outcome) {
			spoolAck(o)
			d.metrics.SpoolBytes.Set(float64(d.spool.Size()))
		}
		if err := ctx.Err(); err != nil {
			ack(event.Nacked)
			return err
		}
		t := event.NewTracker(ack)
		defer t.Release()
		t.Add(len(recs))
		for i, r := range recs {
			if err := d.enqueue(drain, r, t, i == len(recs)-1); err != nil {
				t.Done(len(recs)-i, event.Nacked)
				return err
			}
		}
		sent += len(recs)
		return nil
	})
	switch {
	case err != nil && ctx.Err() != nil:
		d.log.Info("replay of the spool stopped; it goes on from there at the next start", "records", sent)
	case err != nil:
		d.log.Error("replay of the spool failed; what it did not send stays in the spool for the next start", "records", sent, "error", err)
	default:
		d.log.Info("the records the spool held are handed to the destination", "records", sent)
	}
}
