// Package netskope is the Netskope source: it pulls events and alerts from a tenant's REST API
// v2 data-export iterators, one partition (goroutine, server-side index and saved position) per
// endpoint, and publishes every page in batches (chunks of chunkRecords records), delivering at
// least once. Pages answering next and seeks are read as they stream, each chunk published as
// soon as it is read (stream.go).
//
// # The iterator protocol
//
// A data-export index lives on the server: `operation=<epoch>` moves it to a time, `next`
// answers the page after the last one served (and moves the index past it), `resend` answers
// the last page served again without moving. The server cannot go back further than one page,
// so a partition keeps exactly one page between the server and the acknowledgement: it does not
// ask for the next page before the page it holds was acknowledged (delivered by every route, or
// dropped on purpose). The wait the server asks for (`wait_time`) and the rate-limit pauses run
// while that page is being delivered, so they cost nothing when delivery is slower.
//
// Each partition saves its position in the state store as
//
//	{"index":"<index name>","hwm":<timestamp_hwm>,"state":"acked"|"pending","page":"<fingerprint>","tail":"<tail>","part":"<fingerprint>","done":<count>,"more":[[<from>,<to>],...],"sum":"<sum>","seek":<epoch>}
//
// where the state is one of:
//
//   - "acked": every page served on the index was acknowledged; hwm is the last one's
//     timestamp_hwm and page its fingerprint (count, size and CRC-64 of its records). It is
//     written by the page's acknowledgement (the partition's state.Cursor).
//   - "pending": a page may have been served that is not acknowledged. It is written before
//     every request that moves the index (next or an epoch), so that a crash at any moment
//     leaves either "acked" with nothing served after it, or "pending". Each chunk of the page
//     in flight acknowledged, in whatever order, saves it with the page's progress (see
//     pageacks.go): part, the page's part fingerprint (its first chunk's, see stream.go), done,
//     how many of its elements (from the first) are delivered, more, the ranges of elements
//     delivered after those, and sum, the sum of those elements' hashes (their bytes and
//     places). Saved before a seek (`operation=<epoch>`), it holds seek, the epoch second
//     asked for.
//
// On start:
//
//   - no saved position: `operation=<epoch of start>` seeds the index (a new index asked for
//     `next` would start at the tail, losing everything before now);
//   - "acked": `resend`, answered as for "pending" below (not `next`: the tenant may have
//     forgotten the index while the shipper was away, and `next` starts an unknown index at
//     its tail);
//   - "pending" with seek: `operation=<seek>` again (a seek is idempotent, and the server may
//     never have served it: resend would then answer an empty page and its wait_time); the
//     records at its start that the tail holds are skipped, as after an empty resend below;
//   - "pending": `resend`, which answers the page that was served and not acknowledged
//     (all but its elements delivered when its first chunk matches part and those elements
//     sum, else whole); or,
//     if the request never reached the server, the page already acknowledged, which the
//     fingerprint recognises (it is skipped, and `next` follows); or an empty page, which may
//     also mean the server does not know the index (it was never created, or expired): the
//     partition then seeds the index again at the saved hwm, which cannot skip a record; the
//     records of the hwm's second that the last page delivered (its tail: their count and
//     CRC-64) open the answer again and are skipped when they match byte for byte;
//   - a saved position of another index (index_prefix or the configuration name changed):
//     the new index is seeded at the saved hwm.
//
// While running: a page with a chunk nacked is asked for again with `resend`, after a backoff,
// and its chunks not acknowledged are delivered again; a request whose outcome is unknown
// (network error, timeout, 5xx, a body cut short, an answer that is not a page) is retried as
// `resend` when it was a `next` (the server may have moved), and as itself otherwise (an epoch
// and a resend are idempotent); a request the server did not serve (429, `ok: 0`, other 4xx)
// is retried as itself.
//
// Nothing is therefore lost by a crash, a stop, a nack or a fault; records may be delivered
// twice (the chunks of the page in flight at a crash delivered but not yet saved, a page
// resent after an unknown outcome). Their ids (`_id`) are deterministic, so destinations that
// deduplicate by id (CloudTrail Lake) store them once.
package netskope

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
)

// Type is the plugin type name.
const Type = "netskope"

// Factory registers the netskope source.
// The sources it builds share their request pacing (see pacer).
func Factory() plugin.Factory {
	ps := newPacers()
	return plugin.Factory{
		Type:      Type,
		Kind:      plugin.KindSource,
		Summary:   "pulls events and alerts from a Netskope tenant's REST API v2 data-export iterators",
		Checks:    true,
		NewConfig: NewConfig,
		NewSource: func(c plugin.Config, set plugin.Settings) (plugin.Source, error) {
			return buildSource(c.(*Config), set, ps)
		},
	}
}

// Source reads one tenant.
type Source struct {
	cfg    *Config
	set    plugin.Settings
	client *client
	prefix string
	pacers *pacers
	tune   tuning
	// pages holds a token per page in flight (PagesInFlight), shared by the endpoints.
	pages chan struct{}
}

var _ plugin.Source = (*Source)(nil)

// tuning holds the knobs the tests turn; New sets the production values.
type tuning struct {
	now         func() time.Time
	perSecond   float64       // requests per second per endpoint
	backoffBase time.Duration // first retry delay
	maxBackoff  time.Duration
	maxWait     time.Duration // the longest wait_time honoured
	// smallPage is the body size under which a page gives its pages_in_flight token back as
	// soon as it is read: small pages (an endpoint caught up) cannot add up to much, and
	// endpoints should not wait on each other's acknowledgements for them.
	smallPage int
	// chunk is how many records of a page are published as one batch, each saving the page's
	// progress once acknowledged (see chunkRecords).
	chunk int
	// window is how many chunks of a page read as it streams may wait for their outcome at
	// once (see chunkWindow); 0: no bound.
	window int
}

// chunkRecords is the records of a page published as one batch: CloudTrail Lake's 100 events
// per call, so that a kill sends again about the calls in flight rather than the whole page.
const chunkRecords = 100

// chunkWindow is how many chunks of a page read as it streams are published and not yet
// acknowledged at most: the next chunk is read once one of them is. Enough for CloudTrail
// Lake's 8 workers to have a call each and as many waiting, without filling the destination's
// whole queue (2,000 records) with one page's records: what the source holds is then about
// 16 chunks (1,600 records), not the queue's 20 and the workers' 8.
const chunkWindow = 16

// maxWaitTime bounds a wait_time: a larger value is taken as this.
const maxWaitTime = 10 * time.Minute

// New returns a source for a validated configuration, pacing its requests on its own.
func New(cfg *Config, set plugin.Settings) (*Source, error) {
	return buildSource(cfg, set, newPacers())
}

func buildSource(cfg *Config, set plugin.Settings, ps *pacers) (*Source, error) {
	c, err := newClient(cfg, len(cfg.EventTypes)+len(cfg.AlertTypes), set.Logger)
	if err != nil {
		return nil, err
	}
	prefix := cfg.IndexPrefix
	if prefix == "" {
		prefix = defaultIndexPrefix(set.Name)
	}
	if err := ps.claim(c.base, prefix, set.Name); err != nil {
		return nil, err
	}
	if err := ps.claim(c.base, BackfillIndexPrefix(prefix), set.Name); err != nil {
		return nil, err
	}
	s := &Source{
		cfg:    cfg,
		set:    set,
		client: c,
		prefix: prefix,
		pacers: ps,
		pages:  make(chan struct{}, max(cfg.PagesInFlight, 1)),
		tune: tuning{
			now:         time.Now,
			perSecond:   RequestsPerSecond,
			backoffBase: time.Second,
			maxBackoff:  cfg.MaxBackoff,
			maxWait:     maxWaitTime,
			smallPage:   1 << 20,
			chunk:       chunkRecords,
			window:      chunkWindow,
		},
	}
	for _, ep := range s.endpoints() {
		ps.read(c, ep, set.Name)
	}
	return s, nil
}

// endpoints lists the configured endpoints, events first.
func (s *Source) endpoints() []endpoint {
	var out []endpoint
	for _, t := range s.cfg.EventTypes {
		out = append(out, endpoint{"events", t})
	}
	for _, t := range s.cfg.AlertTypes {
		out = append(out, endpoint{"alerts", t})
	}
	return out
}

// Run implements plugin.Source: one partition per endpoint, each read while this process owns
// it (see readOwned), until ctx ends or one of them meets a fatal error (401, 403, an
// unreadable state store), which stops them all.
func (s *Source) Run(ctx context.Context, pub plugin.Publisher) error {
	if ctx.Err() != nil {
		return nil
	}
	eps := s.endpoints()
	s.set.Logger.Info("reading netskope tenant", "tenant", s.client.host, "endpoints", len(eps), "index_prefix", s.prefix)
	owned := s.set.PartitionsOf()
	runs := make([]func(context.Context) error, len(eps))
	for i, ep := range eps {
		runs[i] = func(ctx context.Context) error { return s.readOwned(ctx, pub, owned, ep) }
	}
	return s.runAll(ctx, runs)
}

// readOwned reads the partition of one endpoint (key "<kind>/<type>", as its position's) while
// this process owns it: it acquires the partition, reads it from the position saved in the
// state store under the lease, and when the lease ends while ctx does not (the partition is
// handed to another process, or lost), or a state write is refused because another process
// wrote the position (plugin.ErrNotOwner), it stops reading, waits for the outcome of its page
// in flight (the partition always does before it reads on), releases the partition and
// acquires it again, which waits until this process owns it anew.
func (s *Source) readOwned(ctx context.Context, pub plugin.Publisher, owned plugin.Partitions, ep endpoint) error {
	key := ep.String()
	log := s.logger(ep).With("partition", key)
	var nextAt time.Time // the wait_time asked for, kept from one lease to the next
	for {
		lease, err := owned.Acquire(ctx, key)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("netskope tenant %s, endpoint %s: acquiring the partition: %w", s.client.host, ep, err)
		}
		p := s.newPartition(ep, indexName(s.prefix, ep), s.set.State, nil)
		p.nextAt, p.lease = nextAt, lease
		err = p.run(ctx, lease.Context(), pub)
		nextAt = p.nextAt
		lease.Release()
		if ctx.Err() != nil {
			return nil
		}
		switch cause := context.Cause(lease.Context()); {
		case errors.Is(err, plugin.ErrNotOwner):
			log.Warn("partition lost: another process saved its position; reading it again once this process owns it", "error", err)
		case err != nil:
			return err
		case errors.Is(cause, plugin.ErrNotOwner):
			log.Warn("partition lost: its lease ended; reading it again once this process owns it", "cause", cause)
		default:
			log.Info("partition handed over", "cause", cause)
		}
	}
}

// runAll runs every function until they all return; the first error stops the others.
func (s *Source) runAll(ctx context.Context, runs []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer s.client.hc.CloseIdleConnections()
	errs := make(chan error, len(runs))
	for _, run := range runs {
		go func() {
			err := run(ctx)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range runs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// logger returns the settings' logger with the tenant and an endpoint.
func (s *Source) logger(ep endpoint) *slog.Logger {
	return s.set.Logger.With("tenant", s.client.host, "endpoint", ep.String())
}

// retryBackoff is the backoff between retries of a failing request, a failing store and a
// nacked page: from backoffBase doubling up to max_backoff, with jitter so that partitions do
// not retry in step.
func (s *Source) retryBackoff() retry.Backoff {
	return retry.Backoff{Initial: s.tune.backoffBase, Max: s.tune.maxBackoff}
}

// backoff returns the delay before retry number attempt (from 1).
func (s *Source) backoff(attempt int) time.Duration { return s.retryBackoff().Delay(attempt-1, 0) }

func (s *Source) String() string {
	return fmt.Sprintf("netskope source %s (%s)", s.set.Name, s.client.host)
}
