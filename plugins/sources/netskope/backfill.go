package netskope

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
)

// backfillRange is what a backfill partition needs.
type backfillRange struct {
	from   time.Time
	to     int64
	onPage func(records int, hwm int64, done bool)
}

// BackfillIndexPrefix returns the index prefix a backfill uses: "lsbackfill_" and the live
// prefix, so that the live indexes are never moved by a backfill, and no default live prefix
// (always "logshipper_...") can be a backfill's.
func BackfillIndexPrefix(livePrefix string) string { return "lsbackfill_" + livePrefix }

var _ plugin.Backfiller = (*Source)(nil)

// Backfill pulls the records inserted in [opts.From, opts.To) from every endpoint and
// publishes them to pub, one page per batch, with the live source's protocol (one page in
// flight, resend on a nack or an unknown outcome, the rate limits, wait_time) but through
// indexes of its own (BackfillIndexPrefix), seeded at From. It returns once every endpoint's
// index passed To (its timestamp_hwm reached To, or it answered an empty page after To) and the
// last page was acknowledged; when ctx ends (nil then, what was acknowledged is reported); or
// with a fatal error (401, 403).
//
// It takes no lease (plugin.Partitions): in cluster mode it runs in the one process it is
// started in, on indexes and positions of its own, whichever process reads the live partitions.
//
// Nothing is saved: a backfill that is stopped is run again from From (delivering again what
// it had delivered, with the same ids). Records of the last page inserted at or after To are
// left out (the live source reads them). Two backfills of one configuration must not run at
// once: they would share the backfill indexes.
func (s *Source) Backfill(ctx context.Context, pub plugin.Publisher, opts plugin.BackfillRange) error {
	if opts.From.IsZero() || opts.To.IsZero() {
		return errors.New("netskope backfill: from and to are required")
	}
	if !opts.From.Before(opts.To) {
		return fmt.Errorf("netskope backfill: from (%s) must be before to (%s)", opts.From.Format(time.RFC3339), opts.To.Format(time.RFC3339))
	}
	if ctx.Err() != nil {
		return nil
	}
	// The partitions seed their indexes at From: they find no saved position in a fresh store.
	store := state.NewMemory().Namespace("backfill")
	prefix := BackfillIndexPrefix(s.prefix)
	var mu sync.Mutex
	eps := s.endpoints()
	runs := make([]func(context.Context) error, len(eps))
	for i, ep := range eps {
		var total int64
		rng := &backfillRange{from: opts.From, to: opts.To.Unix(), onPage: func(n int, hwm int64, done bool) {
			mu.Lock()
			defer mu.Unlock()
			total += int64(n)
			if opts.Progress != nil {
				opts.Progress(plugin.BackfillProgress{Part: ep.String(), Records: total, Position: time.Unix(hwm, 0).UTC(), Done: done})
			}
		}}
		p := s.newPartition(ep, indexName(prefix, ep), store, rng)
		runs[i] = func(ctx context.Context) error { return p.run(ctx, ctx, pub) }
		if opts.Progress != nil {
			// Every part is known before the first page: a progress bar counts them all.
			opts.Progress(plugin.BackfillProgress{Part: ep.String(), Position: opts.From.UTC()})
		}
	}
	s.set.Logger.Info("netskope backfill", "tenant", s.client.host, "from", opts.From.UTC().Format(time.RFC3339),
		"to", opts.To.UTC().Format(time.RFC3339), "endpoints", len(eps), "index_prefix", prefix)
	return s.runAll(ctx, runs)
}
