package deadletter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
)

// Sender writes replayed records to a destination plugin as the engine does (internal/pipeline):
// in batches within the destination's limits, records it refuses by kind or size left out,
// transient failures retried with the destination's backoff, a refused batch split to find the
// records it refuses. Its Deliver is what a DeliverFunc calls for one destination.
type Sender struct {
	Destination plugin.Destination
	MaxRecords  int // records in one Write; 0 means no limit
	MaxBytes    int // bytes of records in one Write; 0 means no limit
	Retry       retry.Backoff
	// Attempts bounds the tries of a batch that fails transiently; 0 means DefaultAttempts.
	Attempts int
	Log      *slog.Logger // nil discards

	mu    sync.Mutex
	fatal error // the error that stopped the destination: every later record fails with it
}

// DefaultAttempts is how many times a Sender tries a batch that fails transiently.
const DefaultAttempts = 5

// Deliver writes recs and returns one error per record: nil when delivered (or when the
// destination already had it: plugin.ReasonDuplicate), a *Failure with the destination's
// verdict, or ctx's error when it ended first.
func (s *Sender) Deliver(ctx context.Context, recs []*event.Record) []error {
	errs := make([]error, len(recs))
	maxRecords, maxBytes := s.MaxRecords, s.MaxBytes
	if l, ok := s.Destination.(plugin.Limited); ok {
		lim := l.BatchLimits()
		if lim.MaxRecords > 0 && (maxRecords == 0 || lim.MaxRecords < maxRecords) {
			maxRecords = lim.MaxRecords
		}
		if lim.MaxBytes > 0 && (maxBytes == 0 || lim.MaxBytes < maxBytes) {
			maxBytes = lim.MaxBytes
		}
	}
	refuser, _ := s.Destination.(plugin.KindRefuser)
	var batch []int // indexes into recs
	size := 0
	flush := func() {
		if len(batch) > 0 {
			s.write(ctx, recs, batch, errs)
		}
		batch, size = nil, 0
	}
	for i, r := range recs {
		if refuser != nil {
			if why, refused := refuser.RefuseKind(r.Kind, r.Subtype); refused {
				errs[i] = &Failure{Reason: string(plugin.ReasonUnsupported), Err: fmt.Errorf("the destination takes no %s records: %s", kindName(r), why)}
				continue
			}
		}
		if maxBytes > 0 && r.Size() > maxBytes {
			errs[i] = &Failure{Reason: string(plugin.ReasonTooLarge), Err: fmt.Errorf("record of %d bytes is larger than the %d bytes a batch may hold", r.Size(), maxBytes)}
			continue
		}
		if len(batch) > 0 && (maxBytes > 0 && size+r.Size() > maxBytes || maxRecords > 0 && len(batch) >= maxRecords) {
			flush()
		}
		batch = append(batch, i)
		size += r.Size()
	}
	flush()
	return errs
}

func kindName(r *event.Record) string {
	k := string(r.Kind)
	if k == "" {
		k = "unknown-kind"
	}
	if r.Subtype != "" {
		k += "/" + r.Subtype
	}
	return k
}

func (s *Sender) stopped() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fatal
}

func (s *Sender) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// write delivers the records recs[idx...] and sets their errors.
func (s *Sender) write(ctx context.Context, recs []*event.Record, idx []int, errs []error) {
	attempts := s.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	setAll := func(ids []int, err error) {
		for _, i := range ids {
			errs[i] = err
		}
	}
	for attempt := 0; len(idx) > 0; attempt++ {
		if err := s.stopped(); err != nil {
			setAll(idx, &Failure{Err: fmt.Errorf("the destination stopped: %w", err)})
			return
		}
		if err := ctx.Err(); err != nil {
			setAll(idx, err)
			return
		}
		batch := make([]*event.Record, len(idx))
		for j, i := range idx {
			batch[j] = recs[i]
		}
		err := s.Destination.Write(ctx, batch)
		if err == nil {
			return
		}
		var (
			be         *plugin.BatchError
			re         *plugin.RefusedError
			retryAfter time.Duration
			again      []int
		)
		switch {
		case plugin.IsFatal(err):
			s.mu.Lock()
			if s.fatal == nil {
				s.fatal = err
			}
			s.mu.Unlock()
			setAll(idx, &Failure{Err: fmt.Errorf("the destination stopped: %w", err)})
			return
		case errors.As(err, &be):
			for j, i := range idx {
				ierr, failed := be.Failed[j]
				var se *plugin.SkippedError
				var ire *plugin.RefusedError
				switch {
				case !failed || ierr == nil:
				case errors.As(ierr, &se) && se.Reason == plugin.ReasonDuplicate:
					// The destination already holds it.
				case errors.As(ierr, &se):
					errs[i] = &Failure{Reason: string(se.Reason), Err: ierr}
				case errors.As(ierr, &ire):
					errs[i] = &Failure{Reason: string(plugin.ReasonRefused), Code: ire.Code, Err: ierr}
				default:
					again = append(again, i)
					retryAfter = max(retryAfter, throttleAfter(ierr))
				}
			}
		case errors.As(err, &re):
			if len(idx) > 1 {
				half := len(idx) / 2
				s.write(ctx, recs, idx[:half], errs)
				s.write(ctx, recs, idx[half:], errs)
				return
			}
			setAll(idx, &Failure{Reason: string(plugin.ReasonRefused), Code: re.Code, Err: err})
			return
		default:
			again = idx
			retryAfter = throttleAfter(err)
		}
		idx = again
		if len(idx) == 0 {
			return
		}
		if attempt+1 >= attempts {
			setAll(idx, &Failure{Err: fmt.Errorf("still failing after %d attempts: %w", attempts, err)})
			return
		}
		delay := s.Retry.Delay(attempt, retryAfter)
		s.logger().Warn("replay: delivery failed; will retry", "records", len(idx), "attempt", attempt+1, "retry_in", delay.Round(time.Millisecond), "error", err)
		if !retry.Sleep(ctx, delay) {
			setAll(idx, ctx.Err())
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
