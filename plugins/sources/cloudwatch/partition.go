package cloudwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/state"
)

// checkpoint is a partition's saved position, as JSON. A partition reading one time range
// with one chain of pages saves version 1:
//
//	{"v":1,"start":S,"from":F,"to":T,"token":"...","done":false,"seen":{"<eventId>":<timestamp>,...}}
//
// [from, to] (ms, inclusive) is the current window on the event timestamp; token the
// FilterLogEvents nextToken after the last page acknowledged ("" and not done: the window is
// read from its start); done that the window was read to its end; seen the eventIds published
// with a timestamp at or after from; start the start position, which no window goes below.
//
// A partition reading several time slices at once (catching up, requests_in_flight) saves
// version 2, with the slices not read to their end yet, each with its own token:
//
//	{"v":2,"start":S,"from":F,"to":T,"done":false,"slices":[{"from":A,"to":B,"token":"..."},...],"seen":{...}}
//
// A slice cut short by a split (hedge.go) while its chain of pages was under way also has
// "end": the EndTime its chain's requests keep (past "to"; the events after "to" are read by
// other slices).
//
// There every event before from was read, from is the start of the earliest slice listed, to
// the end of the latest slice started; the time between them not in a slice was read. Version
// 1 is saved whenever one slice spans [from, to] or none is left, so that the two agree.
//
// Two fields keep a checkpoint's size to what a resume can read again, not to what was read:
//
//   - "clean": every event at or before it reached CloudWatch Logs before a slice covering it
//     was first read (that slice was read lag+overlap or more after its end), so no later
//     slice starts at or before it: the ids of its overlap are not kept;
//   - "skip" (and "skip_sum"), on a slice (at the top level in version 1): the slice's page
//     at its token was handled up to that many events, whose ids have that fingerprint
//     (idsSum); a resume reads the page again and skips them when the fingerprint of its
//     first events is the same (else it publishes the page again: duplicates, never loss), so
//     the batches of a page do not save the ids of that page.
type checkpoint struct {
	V       int              `json:"v"`
	Start   int64            `json:"start"`
	From    int64            `json:"from"`
	To      int64            `json:"to"`
	Token   string           `json:"token,omitempty"`
	Skip    int              `json:"skip,omitempty"`
	SkipSum string           `json:"skip_sum,omitempty"`
	Done    bool             `json:"done"`
	Clean   int64            `json:"clean,omitempty"`
	Slices  []*slice         `json:"slices,omitempty"`
	Seen    map[string]int64 `json:"seen"`
}

// encode writes the checkpoint; the seen map is written by hand (it is the large part), last.
func (c *checkpoint) encode() []byte {
	v1 := len(c.Slices) == 0 || len(c.Slices) == 1 && c.Slices[0].From == c.From && c.Slices[0].To == c.To && c.Slices[0].End <= c.To
	token, done := c.Token, c.Done
	skip, skipSum := 0, ""
	if len(c.Slices) > 0 {
		token, done = c.Slices[0].Token, false
		skip, skipSum = c.Slices[0].Skip, c.Slices[0].SkipSum
	}
	size := 96 + len(token) + len(c.Seen)*72
	for _, sl := range c.Slices {
		size += 48 + len(sl.Token)
	}
	b := make([]byte, 0, size)
	if v1 {
		b = append(b, `{"v":1,"start":`...)
	} else {
		b = append(b, `{"v":2,"start":`...)
	}
	b = strconv.AppendInt(b, c.Start, 10)
	b = append(b, `,"from":`...)
	b = strconv.AppendInt(b, c.From, 10)
	b = append(b, `,"to":`...)
	b = strconv.AppendInt(b, c.To, 10)
	if v1 && token != "" {
		b = append(b, `,"token":`...)
		b = jsonx.AppendString(b, token)
	}
	if v1 && skip > 0 {
		b = append(b, `,"skip":`...)
		b = strconv.AppendInt(b, int64(skip), 10)
		b = append(b, `,"skip_sum":`...)
		b = jsonx.AppendString(b, skipSum)
	}
	b = append(b, `,"done":`...)
	b = strconv.AppendBool(b, done)
	if c.Clean != 0 {
		b = append(b, `,"clean":`...)
		b = strconv.AppendInt(b, c.Clean, 10)
	}
	if !v1 {
		b = append(b, `,"slices":[`...)
		for i, sl := range c.Slices {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"from":`...)
			b = strconv.AppendInt(b, sl.From, 10)
			b = append(b, `,"to":`...)
			b = strconv.AppendInt(b, sl.To, 10)
			if sl.Token != "" {
				b = append(b, `,"token":`...)
				b = jsonx.AppendString(b, sl.Token)
				if sl.End > sl.To {
					b = append(b, `,"end":`...)
					b = strconv.AppendInt(b, sl.End, 10)
				}
			}
			if sl.Skip > 0 {
				b = append(b, `,"skip":`...)
				b = strconv.AppendInt(b, int64(sl.Skip), 10)
				b = append(b, `,"skip_sum":`...)
				b = jsonx.AppendString(b, sl.SkipSum)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"seen":{`...)
	first := true
	for id, ts := range c.Seen {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonx.AppendString(b, id)
		b = append(b, ':')
		b = strconv.AppendInt(b, ts, 10)
	}
	return append(b, "}}"...)
}

// decodeCheckpoint reads a checkpoint of either version. A version 1 window not read to its
// end becomes its one slice.
func decodeCheckpoint(b []byte) (*checkpoint, error) {
	var c checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	switch c.V {
	case 1:
		c.Slices = nil
		if !c.Done {
			c.Slices = []*slice{{From: c.From, To: c.To, Token: c.Token, Skip: c.Skip, SkipSum: c.SkipSum}}
		}
	case 2:
		c.Token, c.Skip, c.SkipSum = "", 0, ""
		c.Done = len(c.Slices) == 0
		for _, sl := range c.Slices {
			if sl == nil || sl.From > sl.To || sl.From < c.From || sl.To > c.To {
				return nil, fmt.Errorf("a slice outside the checkpoint's [from, to]")
			}
			if sl.End != 0 && (sl.End < sl.To || sl.End > c.To) {
				return nil, fmt.Errorf("a slice's end outside its [to, the checkpoint's to]")
			}
		}
	default:
		return nil, fmt.Errorf("unknown checkpoint version %d", c.V)
	}
	if c.Clean > c.To {
		return nil, fmt.Errorf("clean %d after the checkpoint's to %d", c.Clean, c.To)
	}
	for _, sl := range c.Slices {
		if sl.Skip < 0 {
			return nil, fmt.Errorf("a slice's skip %d below 0", sl.Skip)
		}
	}
	for _, sl := range c.Slices {
		sl.last, sl.readAt = math.MinInt64, -1
	}
	if c.Seen == nil {
		c.Seen = map[string]int64{}
	}
	return &c, nil
}

// progress is how far the partition has got once cp is saved: every event up to the window's
// end is delivered when the window was read to its end, else every event up to its start (the
// windows before it were read to their ends). Zero when there is no such time.
func (c *checkpoint) progress() time.Time {
	ms := c.From
	if c.Done {
		ms = c.To
	}
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// checkpointProgress is the progress of an encoded checkpoint, read from the fields before
// "seen", which encode writes last (the large part, not needed here); the token, a JSON string,
// cannot hold the `,"seen":` looked for.
func checkpointProgress(b []byte) time.Time {
	if i := bytes.Index(b, []byte(`,"seen":`)); i >= 0 {
		b = append(b[:i:i], '}')
	}
	var c checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return time.Time{}
	}
	return c.progress()
}

// partition reads one log group (and stream selection) in one region.
type partition struct {
	s      *Source
	region string
	key    string
	log    *slog.Logger
	lim    *plugin.QuotaLimiter
	b      builder

	api   logsAPI
	extra bool // the region comes from other_regions only, where a missing group is expected
	wait  patience

	// mu guards the fields below it, which the requests in flight of the slices update.
	mu           sync.Mutex
	missingSince time.Time // when the group was first found missing; zero when it is there
	lastMissLog  time.Time
	// The server's clock: the Date of the last response and the local (monotonic) times its
	// request was sent and it was read; zero until the first response.
	serverAt, serverSent, serverRead time.Time
	lastSkewLog                      time.Time

	lastLateLog  time.Time
	lateSinceLog int64

	// rewind learns the outcome of every page published and says when to read again from
	// the saved checkpoint after a nack: DefaultNackDelay doubling with nacks in a row up to
	// max(max_backoff, DefaultNackDelay), with jitter.
	rewind    *retry.Rewinder
	saveFails int // consecutive rescans after a failed checkpoint save

	// The near-real-time pass (live.go) and the sweep (scan) share these: liveSnap is what
	// the pass last saved (nil: no pass), which the sweep filters with; the sweep's start,
	// the end of its latest slice started and its saved progress (ms) bound the pass's reads
	// and what it keeps, once sweepReady.
	liveSnap                        atomic.Pointer[liveState]
	sweepReady                      atomic.Bool
	sweepStart, sweepTo, sweepSaved atomic.Int64
	// liveLoaded is closed once the pass read its saved state (nil: no pass); the sweep
	// handles no page before, so that it never publishes again what the pass delivered.
	liveLoaded chan struct{}
	// liveCur is the pass's cursor: the sweep waits for its batches in flight to be saved
	// before it publishes an event of a time the pass read (settledLive).
	liveCur atomic.Pointer[state.Cursor]
	// liveBegun and liveEnded count the pass's reads (a read counts as begun before it
	// chooses its range and as ended once it published its last batch), and liveFrom is the
	// earliest time (ms) a read of the pass may have covered, set before the read looks at
	// sweepTo: an event of the sweep at or after liveFrom may be in a read in progress, so
	// the sweep waits for the reads begun to end before it decides (settledLive).
	liveBegun, liveEnded atomic.Int64
	liveFrom             atomic.Int64
}

func (s *Source) newPartition(region string) *partition {
	p := &partition{
		s:      s,
		region: region,
		key:    "cw/" + region + "/" + s.cfg.LogGroup + "/" + s.streamSelection(),
		log:    s.logger(region),
		lim:    s.lims.get(s.identity, region, s.cfg.RequestsPerSecond, s.set.ShareOf(), s.set.Logger.With("region", region)),
		b: builder{
			source: s.set.Name, region: region, group: s.cfg.LogGroup,
			extract: s.cfg.ExtractOriginalEvent, idents: s.idents, defIdent: s.cfg.DefaultLogSourceIdentifier,
			drops: s.set.Dropper,
		},
		rewind: retry.NewRewinder(retry.Backoff{Initial: s.tune.nackBase, Max: s.cfg.MaxBackoff}),
		extra:  !slices.ContainsFunc(s.cfg.Regions, func(r string) bool { return strings.TrimSpace(r) == region }),
		wait:   patience{header: s.tune.answerHeader, whole: s.tune.answerWhole},
	}
	return p
}

// errRescan ends a scan that must start again from the saved checkpoint with a new cursor
// (after a nack or a failed save); the scan already waited what it had to.
var errRescan = errors.New("reading again from the saved checkpoint")

// partitionKey is the partition's key for plugin.Partitions: its checkpoint's key without the
// "cw/" prefix, "<region>/<log group>/<stream selection>".
func (p *partition) partitionKey() string { return strings.TrimPrefix(p.key, "cw/") }

// run reads until ctx ends (nil) or a fatal error, while this process owns the partition: it
// acquires it, reads it from the checkpoint saved in the state store under the lease, and when
// the lease ends while ctx does not (the partition is handed to another process, or lost), or
// a checkpoint write is refused because another process wrote it (plugin.ErrNotOwner), it
// stops reading, waits until every page it published is acknowledged or nacked, releases the
// partition and acquires it again, which waits until this process owns it anew.
func (p *partition) run(ctx context.Context, pub plugin.Publisher) error {
	for attempt := 1; p.api == nil; attempt++ {
		api, err := p.s.tune.newAPI(ctx, p.region)
		if err == nil {
			p.api = api
			p.lim = p.s.lims.get(p.s.limiterIdentity(), p.region, p.s.cfg.RequestsPerSecond, p.s.set.ShareOf(), p.s.set.Logger.With("region", p.region))
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if plugin.IsFatal(err) {
			return err
		}
		p.s.set.Metrics.Errors.Inc()
		d := p.s.backoff(attempt)
		p.log.Error("cannot build the CloudWatch Logs client; retrying", "err", err, "retry_in", d)
		if !retry.Sleep(ctx, d) {
			return nil
		}
	}
	owned := p.s.set.PartitionsOf()
	key := p.partitionKey()
	for {
		lease, err := owned.Acquire(ctx, key)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("log group %s in %s: acquiring the partition: %w", p.s.cfg.LogGroup, p.region, err)
		}
		err = p.read(ctx, lease, pub)
		if ctx.Err() == nil && (err == nil || errors.Is(err, plugin.ErrNotOwner)) {
			p.rewind.Settle(ctx)
		}
		lease.Release()
		if ctx.Err() != nil {
			return nil
		}
		switch cause := context.Cause(lease.Context()); {
		case errors.Is(err, plugin.ErrNotOwner):
			p.log.Warn("partition lost: another process saved its checkpoint; reading it again once this process owns it", "partition", key, "err", err)
		case err != nil:
			return err
		case errors.Is(cause, plugin.ErrNotOwner):
			p.log.Warn("partition lost: its lease ended; reading it again once this process owns it", "partition", key, "cause", cause)
		default:
			p.log.Info("partition handed over", "partition", key, "cause", cause)
		}
		// What this lease left nacked is read again from the checkpoint by the next one.
		p.rewind.Rewound()
	}
}

// read reads the partition from its saved checkpoint while owned lasts, telling owned how far
// it has got (the checkpoint's progress) when it read the checkpoint and after each save. It
// returns nil when the lease ended, an error wrapping plugin.ErrNotOwner when a checkpoint
// write was refused, or a fatal error; pages it published may still be in flight.
func (p *partition) read(ctx context.Context, owned plugin.Lease, pub plugin.Publisher) error {
	lease := owned.Context()
	// Only a cluster's lease carries progress: a single process does not decode its saved
	// checkpoints for it (report stays nil).
	var report func(time.Time)
	if _, ok := owned.(plugin.ProgressLease); ok {
		report = func(at time.Time) { plugin.ReportProgress(owned, at) }
	}
	p.sweepReady.Store(false)
	p.liveSnap.Store(nil)
	p.liveLoaded = nil
	p.liveCur.Store(nil)
	p.liveFrom.Store(math.MaxInt64)
	if p.s.cfg.liveOn() {
		lctx, stop := context.WithCancel(lease)
		done, loaded := make(chan struct{}), make(chan struct{})
		p.liveLoaded = loaded
		go func() {
			defer close(done)
			p.runLive(ctx, lctx, pub, loaded)
		}()
		defer func() {
			stop()
			<-done
		}()
	}
	for attempt := 1; ; {
		cur := state.NewCursor(p.s.set.State, p.key)
		cp, err := p.load(lease, cur)
		if err == nil {
			if report != nil {
				report(cp.progress())
			}
			err = p.scan(ctx, lease, pub, cur, cp, report)
		}
		if lease.Err() != nil {
			return nil
		}
		if errors.Is(err, errRescan) {
			attempt = 1
			continue
		}
		if plugin.IsFatal(err) || errors.Is(err, plugin.ErrNotOwner) {
			return err
		}
		p.s.set.Metrics.Errors.Inc()
		p.log.Error("partition failed; restarting from the last checkpoint", "err", err)
		if !retry.Sleep(lease, p.s.backoff(attempt)) {
			return nil
		}
		attempt++
	}
}

// load reads the saved checkpoint, or makes the first one from start_position and saves it
// before anything is read, so that a restart before the first acknowledgement starts at the
// same place (start_position end resolved again later would skip what came in between).
func (p *partition) load(ctx context.Context, cur *state.Cursor) (*checkpoint, error) {
	raw, err := cur.Load(ctx)
	if err != nil {
		return nil, err
	}
	if raw != nil {
		cp, err := decodeCheckpoint(raw)
		if err != nil {
			return nil, plugin.Fatal(fmt.Errorf("checkpoint %s is unreadable (%w); delete it to start again from start_position", p.key, err))
		}
		p.log.Debug("resuming from checkpoint", "from", msTime(cp.From), "to", msTime(cp.To), "done", cp.Done, "token", cp.Token != "", "seen", len(cp.Seen))
		earliest := int64(-1)
		if p.serverAt.IsZero() {
			if earliest, err = p.probe(ctx); err != nil {
				return nil, err
			}
		}
		if cp.Done && p.now().UnixMilli()-cp.To > staleCheckpoint.Milliseconds() {
			if err := p.skipExpired(ctx, cp, earliest); err != nil {
				return nil, err
			}
		}
		return cp, nil
	}
	// start_position beginning needs the group's data first; the others are resolved at
	// once (a missing group is waited for after the first checkpoint was saved).
	var start int64
	if strings.EqualFold(strings.TrimSpace(p.s.cfg.StartPosition), "beginning") {
		if start, err = p.beginning(ctx); err != nil {
			return nil, err
		}
	} else if start, err = parseStartPosition(p.s.cfg.StartPosition, p.now()); err != nil {
		return nil, plugin.Fatal(fmt.Errorf("start_position: %w", err))
	}
	// A finished empty window ending just before start: the first window starts at start.
	cp := &checkpoint{V: 1, Start: start, From: start, To: start - 1, Done: true, Seen: map[string]int64{}}
	if err := p.s.set.State.Put(ctx, p.key, cp.encode()); err != nil {
		return nil, fmt.Errorf("saving the first checkpoint %s: %w", p.key, err)
	}
	p.log.Info("no checkpoint: starting (saved as the first checkpoint)", "start_position", p.s.cfg.StartPosition, "from", msTime(start))
	if p.serverAt.IsZero() {
		if _, err := p.probe(ctx); err != nil { // the server's clock, before the first window
			return nil, err
		}
	}
	return cp, nil
}

// beginning resolves start_position beginning: the first event time of the selected streams
// (DescribeLogStreams' firstEventTimestamp, which counts events not yet visible to
// FilterLogEvents), or the earliest event the probe finds when it is earlier. Until
// FilterLogEvents shows an event, no start is fixed: a window read over data not visible yet
// would pass over it, and the checkpoint would move past time that is still to receive
// events; the partition checks again every poll_interval. Without DescribeLogStreams (not
// allowed), the start is max_window before the probe's earliest event (FilterLogEvents returns
// events in timestamp order per stream; the margin covers other streams' interleaving).
//
// firstEventTimestamp stays the first event ever stored after the group's retention deleted
// it: a stream a year old in a group that keeps 7 days would have the windows walk a year of
// nothing. No event older than now minus the retention period (DescribeLogGroups'
// retentionInDays) can still arrive (PutLogEvents refuses it), and those not deleted yet are
// visible, so no earlier than the probe's event: the start is raised to the later of the two.
func (p *partition) beginning(ctx context.Context) (int64, error) {
	for waiting := false; ; {
		earliest, err := p.probe(ctx)
		if err != nil {
			return 0, err
		}
		if earliest >= 0 {
			first, ok, err := p.firstEventTime(ctx)
			if err != nil {
				return 0, err
			}
			start := max(earliest-p.s.cfg.MaxWindow.Milliseconds(), 0)
			if ok {
				start = min(first, earliest)
			}
			days, err := p.retentionDays(ctx, "start_position beginning (the streams' first event time)")
			if err != nil {
				return 0, err
			}
			if days > 0 {
				if floor := min(p.now().UnixMilli()-int64(days)*24*time.Hour.Milliseconds(), earliest); floor > start {
					p.log.Info("start_position beginning: the log group keeps events for retentionInDays; the streams' first event time is older than that, so the start is the retention limit (or the earliest event still there)",
						"retention_days", days, "first_event", msTime(start), "from", msTime(floor))
					start = floor
				}
			}
			return start, nil
		}
		if !waiting {
			waiting = true
			p.log.Info("start_position beginning: the log group shows no event yet; waiting for the first one before fixing the start",
				"check_every", p.s.cfg.PollInterval)
		}
		if !retry.Sleep(ctx, p.s.cfg.PollInterval) {
			return 0, ctx.Err()
		}
	}
}

// staleCheckpoint is how old the end of a saved checkpoint must be before a resume asks
// whether the group's retention deleted what lies after it: a day, the shortest retention.
const staleCheckpoint = 24 * time.Hour

// skipExpired moves the next window of cp, a finished checkpoint saved long ago (a source
// stopped for weeks), past the time the group's retention deleted: no event older than now
// minus retentionInDays can still arrive, and those not deleted yet are visible, so the next
// window starts at the earlier of the retention limit and the earliest visible event
// (earliest, from the probe; -1: probe again). Without DescribeLogGroups, or with a group that
// keeps events for ever, cp is left as it is.
func (p *partition) skipExpired(ctx context.Context, cp *checkpoint, earliest int64) error {
	days, err := p.retentionDays(ctx, "resuming from a checkpoint more than a day old")
	if err != nil || days == 0 {
		return err
	}
	if earliest < 0 {
		if earliest, err = p.probe(ctx); err != nil {
			return err
		}
	}
	floor := p.now().UnixMilli() - int64(days)*24*time.Hour.Milliseconds()
	if earliest >= 0 {
		floor = min(floor, earliest)
	}
	if floor <= cp.To+1 {
		return nil
	}
	p.log.Info("resuming from a checkpoint older than the log group's retention: the windows the retention emptied are skipped",
		"retention_days", days, "checkpoint_to", msTime(cp.To), "from", msTime(floor))
	cp.From, cp.To, cp.Seen = floor, floor-1, map[string]int64{}
	return nil
}

// retentionDays returns the log group's retentionInDays (DescribeLogGroups), 0 when it keeps
// events for ever or cannot tell (DescribeLogGroups not allowed: a warning that the start may
// lie long before the oldest event still stored).
func (p *partition) retentionDays(ctx context.Context, why string) (int, error) {
	group := p.s.cfg.LogGroup
	// The group's own name sorts first among the names it prefixes: one page finds it.
	in := &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)}
	var out *cloudwatchlogs.DescribeLogGroupsOutput
	err := p.retrying(ctx, "DescribeLogGroups", func(ctx context.Context) (err error) {
		out, err = p.api.DescribeLogGroups(ctx, in)
		return err
	})
	switch {
	case errors.Is(err, errDenied):
		p.log.Warn(why+": DescribeLogGroups is not allowed (grant logs:DescribeLogGroups); the log group's retention is unknown, so windows are read from there, which may lie long before the oldest event the retention left",
			"err", err)
		return 0, nil
	case errors.Is(err, errNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == group {
			return int(aws.ToInt32(g.RetentionInDays)), nil
		}
	}
	return 0, nil
}

// describeMaxPages bounds the DescribeLogStreams pages read for the first event time (50
// streams a page).
const describeMaxPages = 200

// firstEventTime returns the earliest firstEventTimestamp of the selected streams, and false
// when the streams cannot tell it (DescribeLogStreams not allowed, no stream with a first
// event time yet, or more streams than describeMaxPages pages list), which is logged as a
// warning.
func (p *partition) firstEventTime(ctx context.Context) (int64, bool, error) {
	cfg := p.s.cfg
	in := &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(cfg.LogGroup)}
	switch {
	case cfg.LogStream != "":
		in.LogStreamNamePrefix = aws.String(cfg.LogStream)
	case cfg.LogStreamPrefix != "":
		in.LogStreamNamePrefix = aws.String(cfg.LogStreamPrefix)
	}
	first, found := int64(math.MaxInt64), false
	for range describeMaxPages {
		out, err := p.describe(ctx, in)
		if errors.Is(err, errDenied) {
			p.log.Warn("start_position beginning: DescribeLogStreams is not allowed (grant logs:DescribeLogStreams); starting max_window before the earliest event FilterLogEvents returned: events of other streams older than that are skipped",
				"err", err, "max_window", cfg.MaxWindow)
			return 0, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		for _, st := range out.LogStreams {
			if cfg.LogStream != "" && aws.ToString(st.LogStreamName) != cfg.LogStream {
				continue
			}
			if st.FirstEventTimestamp != nil {
				first, found = min(first, aws.ToInt64(st.FirstEventTimestamp)), true
			}
		}
		if out.NextToken == nil {
			if !found {
				p.log.Warn("start_position beginning: DescribeLogStreams gives no first event time for the selected streams yet; starting max_window before the earliest event FilterLogEvents returned: events of other streams older than that are skipped",
					"max_window", cfg.MaxWindow)
			}
			return first, found, nil
		}
		in.NextToken = out.NextToken
	}
	p.log.Warn("start_position beginning: too many log streams to list; starting max_window before the earliest event FilterLogEvents returned: events of other streams older than that are skipped",
		"pages", describeMaxPages, "max_window", cfg.MaxWindow)
	return 0, false, nil
}

// errDenied is a Describe call refused to these credentials; errNotFound a Describe call of a
// group that does not exist.
var (
	errDenied   = errors.New("not allowed")
	errNotFound = errors.New("not found")
)

// describe makes one DescribeLogStreams call (see retrying); a missing group is no stream.
func (p *partition) describe(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput) (*cloudwatchlogs.DescribeLogStreamsOutput, error) {
	var out *cloudwatchlogs.DescribeLogStreamsOutput
	err := p.retrying(ctx, "DescribeLogStreams", func(ctx context.Context) (err error) {
		out, err = p.api.DescribeLogStreams(ctx, in)
		return err
	})
	if errors.Is(err, errNotFound) {
		return &cloudwatchlogs.DescribeLogStreamsOutput{}, nil
	}
	return out, err
}

// retrying makes one call of the Describe operation op, waiting for the shared limiter and
// retrying throttling and transient errors with backoff until ctx ends. Access denied is
// errDenied, a missing resource errNotFound, a changed pinned certificate fatal.
func (p *partition) retrying(ctx context.Context, op string, call func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		if err := p.lim.Wait(ctx); err != nil {
			return err
		}
		err := call(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var pe *pinError
		if errors.As(err, &pe) {
			return plugin.Fatal(pe)
		}
		code, _ := apiError(err)
		switch code {
		case "AccessDeniedException", "AccessDenied":
			return fmt.Errorf("%s: %w: %w", op, errDenied, err)
		case "ResourceNotFoundException":
			return fmt.Errorf("%s: %w: %w", op, errNotFound, err)
		case "ThrottlingException", "TooManyRequestsException", "LimitExceededException":
			p.s.set.Metrics.Retries.Inc()
		default:
			p.s.set.Metrics.Errors.Inc()
			p.s.set.Metrics.Retries.Inc()
			p.log.Warn(op+" failed; retrying", "err", err, "attempt", attempt)
		}
		if !retry.Sleep(ctx, p.s.backoff(attempt)) {
			return ctx.Err()
		}
	}
}

// probeMaxPages bounds the pages the probe follows looking for a first event.
const probeMaxPages = 20

// probe asks FilterLogEvents for one event without a time range: it learns the server's
// clock (before any window is computed) and returns the timestamp of the earliest event
// found, or -1.
func (p *partition) probe(ctx context.Context) (int64, error) {
	in := p.input()
	in.Limit = aws.Int32(1)
	for range probeMaxPages {
		out, err := p.call(ctx, in)
		if err != nil {
			return -1, err
		}
		if len(out.Events) > 0 {
			return aws.ToInt64(out.Events[0].Timestamp), nil
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	return -1, nil
}

// now is the current time as the service sees it: the local clock, or the server's when the
// local clock is ahead of it for sure. The last answer's Date (resolution one second) was made
// after its request was sent, so the local clock is ahead by more than sent − Date − 1 s; when
// that is above zero, the server's time is taken as Date plus the time since the answer was
// read, which is behind the server by at most a second and the answer's latency (the lag
// absorbs both). Judging the skew from the time sent, not the time read, keeps a slow answer
// (a busy machine) from passing for a clock ahead. A skew of more than a second for sure is
// logged, at most once a minute.
func (p *partition) now() time.Time {
	local := p.s.tune.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.serverAt.IsZero() {
		return local
	}
	ahead := local.Sub(p.serverAt.Add(time.Since(p.serverSent))) - time.Second
	if ahead <= 0 {
		return local
	}
	if t := time.Now(); ahead > time.Second && t.Sub(p.lastSkewLog) >= time.Minute {
		p.lastSkewLog = t
		p.log.Warn("the local clock is ahead of the CloudWatch Logs server's; windows follow the server's clock (check NTP)",
			"skew_at_least", ahead.Round(time.Millisecond))
	}
	return p.serverAt.Add(time.Since(p.serverRead))
}

func msTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

// fetched is the answer to one slice's FilterLogEvents request.
type fetched struct {
	sl  *slice
	out *cloudwatchlogs.FilterLogEventsOutput
	err error
	// took is how long the answer took once sent; retried that it came after a retry.
	took    time.Duration
	retried bool
}

// scan reads slices until lease ends, an error, or a rescan is due (errRescan); it waits for
// pages in flight to settle (before a rescan) until ctx ends:
//   - a checkpoint save refused because another process wrote the checkpoint ends the scan
//     with that error (wrapping plugin.ErrNotOwner), not retried;
//   - a failed checkpoint save pins the cursor: once the pages in flight settled, the scan
//     starts again from the last checkpoint saved, with a new cursor;
//   - a nacked batch is a wall for the cursor: the partition reads on (new records keep
//     flowing) until the rewind's backoff passed, then waits for the pages in flight to settle
//     and starts again from the saved checkpoint, with a new cursor; the saved seen set
//     removes what was delivered, so the nacked records (and those after them not saved) are
//     published again.
//
// While catching up, up to requests_in_flight slices are read at once, each a chain of pages
// requested one after the other by a goroutine of its own; the answers are handled here, one
// at a time, so that the checkpoint tracked with each batch holds every slice's position at
// the time that batch was published. report, when not nil, is told the progress of each
// checkpoint saved.
func (p *partition) scan(ctx, lease context.Context, pub plugin.Publisher, cur *state.Cursor, cp *checkpoint, report func(time.Time)) error {
	cfg := p.s.cfg
	var (
		commits   atomic.Int64
		nackNoted bool // the pending nack was logged
	)
	cur.OnCommit(func(saved []byte) {
		commits.Add(1)
		p.s.set.Metrics.Checkpoints.Inc()
		at := checkpointProgress(saved)
		if !at.IsZero() {
			p.sweepSaved.Store(at.UnixMilli())
		}
		if report != nil {
			report(at)
		}
	})
	cp.settle()
	p.sweepStart.Store(cp.Start)
	p.sweepTo.Store(cp.To)
	if at := cp.progress(); !at.IsZero() {
		p.sweepSaved.Store(at.UnixMilli())
	}
	p.sweepReady.Store(true)
	if p.liveLoaded != nil {
		select {
		case <-p.liveLoaded:
		case <-lease.Done():
			return nil
		}
	}
	// A slice resumed from a checkpoint is at the live edge when it ends less than lag+overlap
	// before now: read from now on, it may miss events later than that; one ending earlier sees
	// every event ingested by then, whatever its delay (a backfill resumed after a crash).
	for _, sl := range cp.Slices {
		sl.edge = p.now().UnixMilli()-sl.To < cfg.Lag.Milliseconds()+cfg.Overlap.Milliseconds()
	}
	// topReadAt is when the slice ending at cp.To was first read (see slice.readAt).
	topReadAt := int64(-1)
	for _, sl := range cp.Slices {
		if sl.To == cp.To {
			topReadAt = sl.readAt
		}
	}
	results := make(chan fetched, cfg.RequestsInFlight)
	hedge := newHedger(cfg, p.s.tune.hedgeFloor)
	wake := make(chan struct{}, 1) // a request in flight stalled
	fctx, cancel := context.WithCancel(lease)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	busy := 0
	var lastEdge time.Time // when the last slice at the live edge was started
	for {
		if lease.Err() != nil {
			return nil
		}
		if commits.Load() > 0 {
			p.saveFails = 0
		}
		if err := cur.Err(); errors.Is(err, plugin.ErrNotOwner) {
			return fmt.Errorf("log group %s in %s: saving the checkpoint: %w", cfg.LogGroup, p.region, err)
		} else if err != nil {
			p.s.set.Metrics.Errors.Inc()
			p.saveFails++
			d := p.s.backoff(p.saveFails)
			p.log.Error("saving the checkpoint failed; reading again from the last checkpoint saved once the pages in flight settled",
				"err", err, "retry_in", d)
			if !p.rewind.Settle(ctx) || !retry.Sleep(lease, d) {
				return nil
			}
			p.rewind.Rewound() // a nack of this scan is read again by the rescan too
			return errRescan
		}
		if wait, nacked := p.rewind.Nacked(); nacked {
			if !nackNoted {
				nackNoted = true
				p.s.set.Metrics.Retries.Inc()
				p.log.Warn("a batch was not delivered: no checkpoint is saved past it; reading it again from the saved checkpoint soon",
					"retry_in", wait.Round(time.Millisecond), "consecutive", p.rewind.Consecutive())
			} else if wait == 0 {
				if !p.rewind.Wait(lease) {
					return nil
				}
				p.rewind.Rewound()
				p.log.Info("reading again from the saved checkpoint after a nack")
				return errRescan
			}
		}
		// Start new slices while there is room, then a request for every slice without one.
		for len(cp.Slices) < cfg.RequestsInFlight {
			sl := p.nextSlice(cp, topReadAt, lastEdge)
			if sl == nil {
				break
			}
			if sl.edge {
				lastEdge = time.Now()
			}
			cp.Slices = append(cp.Slices, sl)
			cp.To, topReadAt = sl.To, 0
			cp.settle()
			p.sweepTo.Store(cp.To)
		}
		// One request is in flight while the answers come in time; another starts only while
		// every request in flight is stalled (its answer late, or retrying after an error),
		// up to requests_in_flight, on another slice or on time split off a stalled one
		// (hedge.go): a slow or failed answer does not hold the region up, and a healthy
		// region holds one page in memory, not requests_in_flight pages.
		hedge.split(cp, busy)
		for _, sl := range cp.Slices {
			if busy >= cfg.RequestsInFlight {
				break
			}
			if sl.busy {
				continue
			}
			stalled := hedge.replaced // requests of slices replaced, cancelled
			for _, o := range cp.Slices {
				if o.busy && o.stalled != nil && o.stalled.Load() {
					stalled++
				}
			}
			if busy-stalled >= 1 || (busy >= 1 && p.wait.raised()) {
				break // an answer in time is coming, or the server is slow (patience.go)
			}
			sl.busy = true
			st := new(atomic.Bool)
			sl.stalled = st
			busy++
			if sl.readAt == 0 {
				sl.readAt = p.now().UnixMilli()
				if sl.To == cp.To {
					topReadAt = sl.readAt
					if sl.readAt >= cp.To+cfg.Lag.Milliseconds()+cfg.Overlap.Milliseconds() {
						// Read late, the slice sees every event up to its end: the next one
						// starts after it, and no id of its overlap needs keeping.
						cp.Clean = max(cp.Clean, cp.To)
					}
				}
			}
			in, after := p.sliceInput(sl), hedge.slowAfter()
			rctx, rcancel := context.WithCancel(fctx)
			sl.cancel = rcancel
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer rcancel()
				stall := func() {
					if !st.Swap(true) {
						select {
						case wake <- struct{}{}:
						default:
						}
					}
				}
				// The answer is late from after once the limiter let the request go: a
				// request waiting for the quota is not stalled.
				var (
					slow    *time.Timer
					sentAt  time.Time
					retried bool
				)
				sent := func() {
					sentAt = time.Now()
					if slow == nil {
						slow = time.AfterFunc(after, stall)
					}
				}
				out, err := p.callNoting(rctx, in, sent, func() { retried = true; stall() })
				if slow != nil {
					slow.Stop()
				}
				results <- fetched{sl: sl, out: out, err: err, took: time.Since(sentAt), retried: retried}
			}()
		}
		if busy == 0 {
			// Caught up: nothing to read until the live edge moves on.
			if !retry.Sleep(lease, p.untilNextEdge(lastEdge)) {
				return nil
			}
			continue
		}
		var r fetched
		select {
		case r = <-results:
		case <-wake:
			continue // a request stalled: another may start
		case <-lease.Done():
			return nil
		}
		busy--
		r.sl.busy, r.sl.stalled = false, nil
		if hedge.dropped(r.sl) {
			continue // its time is read by the slice that took its place
		}
		if errors.Is(r.err, errTokenExpired) {
			p.log.Warn("the nextToken expired or is invalid: reading the slice again from its start (duplicates are removed by eventId)",
				"from", msTime(r.sl.From), "to", msTime(r.sl.To))
			r.sl.Token, r.sl.Skip, r.sl.SkipSum = "", 0, ""
			continue
		}
		if r.err != nil {
			if lease.Err() != nil {
				return nil
			}
			return r.err
		}
		hedge.answered(r.sl, r.out, r.took, r.retried)
		if err := p.handle(lease, pub, cur, cp, r.sl, r.out); err != nil {
			if lease.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// nextSlice returns the next slice to read after cp.To, or nil when there is none yet. The
// next slice starts overlap before cp.To when the slice ending there was read (or is read)
// less than lag+overlap after its end, when late events may still arrive for it (as the next
// window did of a window read at the live edge); otherwise just after cp.To (and never at or
// before cp.Clean). A slice spans at
// most max_window (a slice over empty time costs one call, as a window did); a slice reaching
// now − lag is at the live edge, and is started only when no other slice is being read and
// poll_interval passed since the last one.
func (p *partition) nextSlice(cp *checkpoint, topReadAt int64, lastEdge time.Time) *slice {
	cfg := p.s.cfg
	lag, overlap, maxWin := cfg.Lag.Milliseconds(), cfg.Overlap.Milliseconds(), cfg.MaxWindow.Milliseconds()
	now := p.now().UnixMilli()
	readAt := topReadAt
	if readAt == 0 {
		readAt = now // not read yet: it will be, from now on
	}
	from, after := cp.To+1, int64(math.MaxInt64)
	if (readAt < 0 || readAt < cp.To+lag+overlap) && cp.Clean < cp.To {
		from, after = cp.To+1-overlap, max(readAt, 0)
	}
	from = max(from, cp.Start, cp.Clean+1)
	to := min(now-lag, from+maxWin)
	if to <= cp.To {
		return nil
	}
	edge := to == now-lag
	if edge && (len(cp.Slices) > 0 || time.Since(lastEdge) < cfg.PollInterval) {
		return nil
	}
	return newSlice(from, to, edge, after)
}

// untilNextEdge is how long a partition with nothing to read waits before looking again:
// until poll_interval after the last slice at the live edge started, or, when that is past
// (now − lag has not moved past the end of the last slice), poll_interval.
func (p *partition) untilNextEdge(lastEdge time.Time) time.Duration {
	d := p.s.cfg.PollInterval - time.Since(lastEdge)
	if d <= 0 {
		d = p.s.cfg.PollInterval
	}
	return d
}

// sliceInput is the request of sl's next page.
func (p *partition) sliceInput(sl *slice) *cloudwatchlogs.FilterLogEventsInput {
	in := p.input()
	in.StartTime, in.EndTime = aws.Int64(sl.From), aws.Int64(sl.requestEnd())
	in.Limit = aws.Int32(int32(p.s.cfg.PageSize))
	if sl.Token != "" {
		in.NextToken = aws.String(sl.Token)
	}
	return in
}

// handle publishes the events of one page of sl not seen yet, in batches of checkpoint_every
// events, each tracked with a checkpoint: the batches before the last keep sl's token (the
// page is read again from it after a restart) with how many of the page's events were handled
// and the fingerprint of their ids (sl.Skip, sl.SkipSum), so that a restart sends again only the
// batches in flight; the last one holds the page's nextToken, or, at the slice's end, the
// checkpoint without sl, and the seen set with the page's ids, pruned. A batch's checkpoint
// thus costs the seen set as pruned after the previous page, not the ids of this one.
func (p *partition) handle(lease context.Context, pub plugin.Publisher, cur *state.Cursor, cp *checkpoint, sl *slice, out *cloudwatchlogs.FilterLogEventsOutput) error {
	cfg := p.s.cfg
	lateMs := cfg.Lag.Milliseconds() + cfg.Overlap.Milliseconds()
	next := aws.ToString(out.NextToken)
	lastTs := sl.last
	dups, late, found := 0, 0, 0
	// What the near-real-time pass delivered is not published again: see live.go.
	live, margin := p.liveSnap.Load(), cfg.LiveMargin.Milliseconds()
	settled := false // live is what the pass saved once its batches in flight were
	var recs []*event.Record
	inBatch := 0
	// added are the ids published from this page, added to the seen set with its last batch
	// (and looked up, as the seen set is, for an id the page holds twice).
	added := map[string]int64{}
	// sum is the fingerprint of the ids of the page's events before summed.
	sum, summed := newIDsSum(), 0
	sumTo := func(n int) {
		for ; summed < n; summed++ {
			sum.add(jsonx.RepairUTF8String(aws.ToString(out.Events[summed].EventId)))
		}
	}
	publish := func(final bool, handled int) error {
		if final {
			sl.last = lastTs
			sl.Skip, sl.SkipSum = 0, ""
			if next == "" {
				cp.remove(sl)
			} else {
				sl.Token = next
			}
			for id, ts := range added {
				cp.Seen[id] = ts
			}
			cp.prune(cfg.Overlap.Milliseconds())
		} else {
			sumTo(handled)
			sl.Skip, sl.SkipSum = handled, sum.String()
		}
		if err := p.s.waitEPS(lease, len(recs)); err != nil {
			return nil
		}
		if err := pub.Publish(lease, recs, p.rewind.Track(cur.Track(cp.encode()))); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		recs, inBatch = nil, 0
		return nil
	}
	first := 0
	if sl.Skip > 0 {
		// The page of a resumed slice: its first Skip events were handled when their ids are
		// the ones saved (a page read again with the same token and time range holds the same
		// events, in the same order, unless events arrived since).
		n := sl.Skip
		if n <= len(out.Events) {
			sumTo(n)
		}
		if n <= len(out.Events) && sum.String() == sl.SkipSum {
			first = n
		} else {
			sum, summed = newIDsSum(), 0
			p.log.Warn("a page read again after a restart differs from the one partly delivered: publishing it again (duplicates, never loss)",
				"from", msTime(sl.From), "to", msTime(sl.To), "skip", n, "events", len(out.Events))
		}
		sl.Skip, sl.SkipSum = 0, ""
	}
	for i := first; i < len(out.Events); i++ {
		fe := &out.Events[i]
		e := logEvent{
			ID: aws.ToString(fe.EventId), Timestamp: aws.ToInt64(fe.Timestamp), IngestionTime: aws.ToInt64(fe.IngestionTime),
			Stream: aws.ToString(fe.LogStreamName), Message: aws.ToString(fe.Message),
		}
		// The seen set is saved as JSON, which reads an id back as valid UTF-8: it is kept
		// under that form, so that a restart recognises it.
		seenID := jsonx.RepairUTF8String(e.ID)
		if live != nil && live.skip(e.Timestamp, e.IngestionTime, seenID, margin) {
			continue
		}
		if _, ok := cp.Seen[seenID]; ok && seenID != "" {
			dups++
			continue
		}
		if _, ok := added[seenID]; ok && seenID != "" {
			dups++
			continue
		}
		if live != nil {
			if !settled && e.Timestamp >= p.liveFrom.Load() {
				// The pass may be reading its time, or have delivered it in a batch not
				// saved yet.
				live, settled = p.settledLive(lease), true
				if live.skip(e.Timestamp, e.IngestionTime, seenID, margin) {
					continue
				}
			}
			if _, ok := live.readAt(e.Timestamp); ok {
				found++
			}
		}
		if inBatch == cfg.CheckpointEvery {
			if err := publish(false, i); err != nil {
				return err
			}
			if lease.Err() != nil {
				return nil
			}
		}
		if seenID != "" {
			added[seenID] = e.Timestamp
		}
		if sl.edge && e.IngestionTime-e.Timestamp > lateMs && e.IngestionTime > sl.after {
			late++
		}
		lastTs = e.Timestamp
		inBatch++
		if recs == nil {
			recs = make([]*event.Record, 0, min(cfg.CheckpointEvery, len(out.Events)-i))
		}
		var err error
		if recs, err = p.b.appendRecords(lease, recs, &e); err != nil {
			return err
		}
	}
	if dups > 0 {
		// The overlap is read again by design: not a drop, and not at warn level.
		p.s.overlapDups.Add(int64(dups))
		p.log.Debug("events of the overlap read again, not published again", "events", dups)
	}
	if late > 0 {
		p.noteLate(late, lateMs)
	}
	if found > 0 {
		// Ingested after the near-real-time pass last read their time: found, not missed.
		p.s.live.sweepFound.Add(int64(found))
		p.s.set.Metrics.Swept.Add(float64(found))
		p.log.Debug("events the near-real-time pass could not see found by the sweep", "events", found)
	}
	if inBatch == 0 && next != "" {
		// An empty page (or one of duplicates) with a token: the slice goes on, and the
		// token is saved with the next batch published.
		sl.Token = next
		return nil
	}
	return publish(true, len(out.Events))
}

// idsSum is a fingerprint of the ids of a page's first events, in order (FNV-1a, 64 bits,
// each id followed by a zero byte).
type idsSum uint64

func newIDsSum() idsSum { return 14695981039346656037 }

func (h *idsSum) add(id string) {
	x := uint64(*h)
	for i := 0; i < len(id); i++ {
		x ^= uint64(id[i])
		x *= 1099511628211
	}
	x *= 1099511628211 // the zero byte after the id
	*h = idsSum(x)
}

func (h idsSum) String() string { return strconv.FormatUint(uint64(h), 16) }

// noteLate counts events that reached CloudWatch Logs more than lag+overlap after their
// timestamp, and logs them at most once a minute.
func (p *partition) noteLate(n int, lateMs int64) {
	p.s.late.Add(int64(n))
	p.s.set.Metrics.Late.Add(float64(n))
	p.lateSinceLog += int64(n)
	if t := time.Now(); t.Sub(p.lastLateLog) >= time.Minute {
		p.lastLateLog = t
		p.log.Warn("events reached CloudWatch Logs later than lag+overlap after their timestamp: events like them may be missed; raise overlap",
			"events", p.lateSinceLog, "lag_plus_overlap", time.Duration(lateMs)*time.Millisecond)
		p.lateSinceLog = 0
	}
}

// errTokenExpired is a nextToken the service no longer takes.
var errTokenExpired = errors.New("nextToken expired or invalid")

// input is the FilterLogEvents request of the configuration, without time range or token.
func (p *partition) input() *cloudwatchlogs.FilterLogEventsInput {
	cfg := p.s.cfg
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(cfg.LogGroup)}
	if cfg.LogStream != "" {
		in.LogStreamNames = []string{cfg.LogStream}
	} else if cfg.LogStreamPrefix != "" {
		in.LogStreamNamePrefix = aws.String(cfg.LogStreamPrefix)
	}
	if cfg.FilterPattern != "" {
		in.FilterPattern = aws.String(cfg.FilterPattern)
	}
	return in
}

// call makes one FilterLogEvents call, waiting for the shared limiter, retrying throttling,
// a missing group and transient errors with backoff until ctx ends. A request the service
// refuses for good (access denied, an invalid filter pattern) is a fatal error.
func (p *partition) call(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	return p.callNoting(ctx, in, nil, nil)
}

// callNoting is call, also calling sent (when not nil) as each attempt leaves the limiter, and
// failed (when not nil) before each wait to retry.
func (p *partition) callNoting(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, sent, failed func()) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	cfg := p.s.cfg
	for attempt := 1; ; attempt++ {
		transient := false
		if err := p.lim.Wait(ctx); err != nil {
			return nil, err
		}
		if sent != nil {
			sent()
		}
		level, opts := p.wait.options()
		began := time.Now()
		out, err := p.api.FilterLogEvents(ctx, in, opts...)
		p.wait.note(level, err, time.Since(began), p.log)
		if err == nil {
			p.mu.Lock()
			if t, ok := awsmiddleware.GetServerTime(out.ResultMetadata); ok && !t.IsZero() {
				p.serverAt, p.serverSent, p.serverRead = t, began, time.Now()
			}
			if !p.missingSince.IsZero() {
				p.log.Info("the log group is readable again", "missing_for", time.Since(p.missingSince).Round(time.Second))
				p.missingSince = time.Time{}
			}
			p.mu.Unlock()
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var pe *pinError
		if errors.As(err, &pe) {
			return nil, plugin.Fatal(pe)
		}
		code, msg := apiError(err)
		lmsg := strings.ToLower(msg)
		switch {
		case code == "InvalidParameterException" && in.NextToken != nil && strings.Contains(lmsg, "token"):
			return nil, errTokenExpired
		case code == "InvalidParameterException" && cfg.FilterPattern != "" && strings.Contains(lmsg, "pattern"):
			return nil, plugin.Fatal(fmt.Errorf("filter_pattern %q is refused by CloudWatch Logs in %s: %w", cfg.FilterPattern, p.region, err))
		case code == "AccessDeniedException" || code == "AccessDenied" || code == "UnrecognizedClientException":
			return nil, plugin.Fatal(fmt.Errorf("FilterLogEvents on log group %s in %s is not allowed for these credentials (grant logs:FilterLogEvents): %w", cfg.LogGroup, p.region, err))
		case code == "ThrottlingException" || code == "TooManyRequestsException" || code == "LimitExceededException":
			p.s.set.Metrics.Retries.Inc()
		case code == "ResourceNotFoundException":
			now := time.Now()
			p.mu.Lock()
			first := p.missingSince.IsZero()
			if first {
				p.missingSince = now
			}
			missingFor, logNow := now.Sub(p.missingSince), now.Sub(p.lastMissLog) >= time.Minute
			if logNow && !p.extra {
				p.lastMissLog = now
			}
			p.mu.Unlock()
			if p.extra {
				// A group missing in one of other_regions is expected (not every region has
				// it): said once, not an error, and checked again with backoff.
				if first {
					p.log.Info("the log group does not exist in this region of other_regions; checking again with backoff (up to max_backoff), the other regions go on",
						"max_backoff", cfg.MaxBackoff)
				}
				break
			}
			p.s.set.Metrics.Errors.Inc()
			if logNow {
				p.log.Error("the log group does not exist (or was deleted) in this region; retrying, the other regions go on",
					"err", err, "missing_for", missingFor.Round(time.Second))
			}
		default:
			p.s.set.Metrics.Errors.Inc()
			p.s.set.Metrics.Retries.Inc()
			p.log.Warn("FilterLogEvents failed; retrying", "err", err, "attempt", attempt)
			transient = true
		}
		if failed != nil {
			failed()
		}
		delay := p.s.backoff(attempt)
		if transient {
			// A 5xx or a cut connection is not a sign of load on the quota: the first retries
			// come sooner (a tenth of the backoff), as AWS's SDKs retry them.
			delay = p.s.transientBackoff(attempt)
		}
		if !retry.Sleep(ctx, delay) {
			return nil, ctx.Err()
		}
	}
}

// apiError returns the AWS error code and message of err, or "".
func apiError(err error) (string, string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", ""
}
