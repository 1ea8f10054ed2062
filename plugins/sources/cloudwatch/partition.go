package cloudwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
)

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// checkpoint is a partition's saved position, as JSON:
//
//	{"v":1,"start":S,"from":F,"to":T,"token":"...","done":false,"seen":{"<eventId>":<timestamp>,...}}
//
// [from, to] (ms, inclusive) is the current window on the event timestamp; token the
// FilterLogEvents nextToken after the last page acknowledged ("" and not done: the window is
// read from its start); done that the window was read to its end; seen the eventIds published
// with a timestamp at or after from; start the start position, which no window goes below.
type checkpoint struct {
	V     int              `json:"v"`
	Start int64            `json:"start"`
	From  int64            `json:"from"`
	To    int64            `json:"to"`
	Token string           `json:"token,omitempty"`
	Done  bool             `json:"done"`
	Seen  map[string]int64 `json:"seen"`
}

// encode writes the checkpoint; the seen map is written by hand (it is the large part).
func (c *checkpoint) encode() []byte {
	b := make([]byte, 0, 96+len(c.Token)+len(c.Seen)*72)
	b = append(b, `{"v":1,"start":`...)
	b = strconv.AppendInt(b, c.Start, 10)
	b = append(b, `,"from":`...)
	b = strconv.AppendInt(b, c.From, 10)
	b = append(b, `,"to":`...)
	b = strconv.AppendInt(b, c.To, 10)
	if c.Token != "" {
		b = append(b, `,"token":`...)
		b = appendJSONString(b, c.Token)
	}
	b = append(b, `,"done":`...)
	b = strconv.AppendBool(b, c.Done)
	b = append(b, `,"seen":{`...)
	first := true
	for id, ts := range c.Seen {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, id)
		b = append(b, ':')
		b = strconv.AppendInt(b, ts, 10)
	}
	return append(b, "}}"...)
}

func decodeCheckpoint(b []byte) (*checkpoint, error) {
	var c checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	if c.V != 1 {
		return nil, fmt.Errorf("unknown checkpoint version %d", c.V)
	}
	if c.Seen == nil {
		c.Seen = map[string]int64{}
	}
	return &c, nil
}

// partition reads one log group (and stream selection) in one region.
type partition struct {
	s      *Source
	region string
	key    string
	log    *slog.Logger
	lim    *rate.Limiter
	b      builder

	api          logsAPI
	missingSince time.Time // when the group was first found missing; zero when it is there
	lastMissLog  time.Time
}

func (s *Source) newPartition(region string) *partition {
	p := &partition{
		s:      s,
		region: region,
		key:    "cw/" + region + "/" + s.cfg.LogGroup + "/" + s.streamSelection(),
		log:    s.logger(region),
		lim:    s.lims.get(s.identity, region, s.cfg.RequestsPerSecond),
		b: builder{
			source: s.set.Name, region: region, group: s.cfg.LogGroup,
			extract: s.cfg.ExtractOriginalEvent, idents: s.idents, defIdent: s.cfg.DefaultLogSourceIdentifier,
		},
	}
	return p
}

// run reads until ctx ends (nil) or a fatal error.
func (p *partition) run(ctx context.Context, pub plugin.Publisher) error {
	for attempt := 1; p.api == nil; attempt++ {
		api, err := p.s.tune.newAPI(ctx, p.region)
		if err == nil {
			p.api = api
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
		if !sleep(ctx, d) {
			return nil
		}
	}
	for attempt := 1; ; {
		cur := state.NewCursor(p.s.set.State, p.key)
		cur.OnCommit(func([]byte) { p.s.set.Metrics.Checkpoints.Inc() })
		cp, err := p.load(ctx, cur)
		if err == nil {
			err = p.scan(ctx, pub, cur, cp)
		}
		if ctx.Err() != nil {
			return nil
		}
		if plugin.IsFatal(err) {
			return err
		}
		p.s.set.Metrics.Errors.Inc()
		p.log.Error("partition failed; restarting from the last checkpoint", "err", err)
		if !sleep(ctx, p.s.backoff(attempt)) {
			return nil
		}
		attempt++
	}
}

// load reads the saved checkpoint, or makes the first one from start_position.
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
		p.log.Info("resuming from checkpoint", "from", msTime(cp.From), "to", msTime(cp.To), "done", cp.Done, "token", cp.Token != "", "seen", len(cp.Seen))
		return cp, nil
	}
	start, err := parseStartPosition(p.s.cfg.StartPosition, p.s.tune.now())
	if err != nil {
		return nil, plugin.Fatal(fmt.Errorf("start_position: %w", err))
	}
	p.log.Info("no checkpoint: starting", "start_position", p.s.cfg.StartPosition, "from", msTime(start))
	// A finished empty window ending just before start: the first window starts at start.
	return &checkpoint{V: 1, Start: start, From: start, To: start - 1, Done: true, Seen: map[string]int64{}}, nil
}

func msTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

// scan reads windows until ctx ends or an error. A nacked batch is a wall for the partition's
// cursor: the partition reads on, but no checkpoint at or after the nacked batch is saved, so
// the next start reads from before it again (the engine nacks only when it stops delivering:
// at shutdown, or when a destination failed for good).
func (p *partition) scan(ctx context.Context, pub plugin.Publisher, cur *state.Cursor, cp *checkpoint) error {
	cfg := p.s.cfg
	lag, overlap, maxWin := cfg.Lag.Milliseconds(), cfg.Overlap.Milliseconds(), cfg.MaxWindow.Milliseconds()
	lateMs := lag + overlap
	var nacked atomic.Bool
	caughtUp := false
	for {
		if ctx.Err() != nil {
			return nil
		}
		if cp.Done {
			if caughtUp && !sleep(ctx, cfg.PollInterval) {
				return nil
			}
			now := p.s.tune.now().UnixMilli()
			from := max(cp.To+1-overlap, cp.Start)
			to := min(now-lag, from+maxWin)
			if to <= cp.To {
				caughtUp = true
				continue
			}
			caughtUp = to == now-lag
			for id, ts := range cp.Seen {
				if ts < from {
					delete(cp.Seen, id)
				}
			}
			cp.From, cp.To, cp.Token, cp.Done = from, to, "", false
		}
		out, err := p.fetch(ctx, cp)
		if errors.Is(err, errTokenExpired) {
			p.log.Warn("the nextToken expired or is invalid: reading the window again from its start (duplicates are removed by eventId)",
				"from", msTime(cp.From), "to", msTime(cp.To))
			cp.Token = ""
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		recs := make([]*event.Record, 0, len(out.Events))
		dups := 0
		for i := range out.Events {
			fe := &out.Events[i]
			e := logEvent{
				ID: aws.ToString(fe.EventId), Timestamp: aws.ToInt64(fe.Timestamp), IngestionTime: aws.ToInt64(fe.IngestionTime),
				Stream: aws.ToString(fe.LogStreamName), Message: aws.ToString(fe.Message),
			}
			if _, ok := cp.Seen[e.ID]; ok && e.ID != "" {
				dups++
				continue
			}
			if e.ID != "" {
				cp.Seen[e.ID] = e.Timestamp
			}
			if e.IngestionTime-e.Timestamp > lateMs {
				p.s.late.Add(1)
			}
			recs = append(recs, p.b.build(&e))
		}
		if dups > 0 {
			p.s.set.Metrics.Dropped(string(plugin.ReasonDuplicate), dups)
		}
		next := aws.ToString(out.NextToken)
		cp.Token, cp.Done = next, next == ""
		if len(recs) == 0 && !cp.Done {
			continue // an empty page (or one of duplicates) with a token: the scan goes on
		}
		if err := p.s.waitEPS(ctx, len(recs)); err != nil {
			return nil
		}
		track := cur.Track(cp.encode())
		ack := func(o event.Outcome) {
			if o != event.Acked && !nacked.Swap(true) {
				p.log.Warn("a batch was not delivered: no checkpoint is saved past it; the next start reads it again")
			}
			track(o)
		}
		if err := pub.Publish(ctx, recs, ack); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("publish: %w", err)
		}
	}
}

// errTokenExpired is a nextToken the service no longer takes.
var errTokenExpired = errors.New("nextToken expired or invalid")

// fetch reads one page of the window, waiting for the shared limiter, retrying throttling,
// a missing group and transient errors with backoff until ctx ends.
func (p *partition) fetch(ctx context.Context, cp *checkpoint) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	cfg := p.s.cfg
	in := &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(cfg.LogGroup),
		StartTime:    aws.Int64(cp.From),
		EndTime:      aws.Int64(cp.To),
	}
	if cfg.LogStream != "" {
		in.LogStreamNames = []string{cfg.LogStream}
	} else if cfg.LogStreamPrefix != "" {
		in.LogStreamNamePrefix = aws.String(cfg.LogStreamPrefix)
	}
	if cfg.FilterPattern != "" {
		in.FilterPattern = aws.String(cfg.FilterPattern)
	}
	if cp.Token != "" {
		in.NextToken = aws.String(cp.Token)
	}
	for attempt := 1; ; attempt++ {
		if err := p.lim.Wait(ctx); err != nil {
			return nil, err
		}
		out, err := p.api.FilterLogEvents(ctx, in)
		if err == nil {
			if !p.missingSince.IsZero() {
				p.log.Info("the log group is readable again", "missing_for", time.Since(p.missingSince).Round(time.Second))
				p.missingSince = time.Time{}
			}
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
		switch {
		case code == "InvalidParameterException" && cp.Token != "" && strings.Contains(strings.ToLower(msg), "token"):
			return nil, errTokenExpired
		case code == "ThrottlingException" || code == "TooManyRequestsException" || code == "LimitExceededException":
			p.s.set.Metrics.Retries.Inc()
		case code == "ResourceNotFoundException":
			p.s.set.Metrics.Errors.Inc()
			now := time.Now()
			if p.missingSince.IsZero() {
				p.missingSince = now
			}
			if now.Sub(p.lastMissLog) >= time.Minute {
				p.lastMissLog = now
				p.log.Error("the log group does not exist (or was deleted) in this region; retrying, the other regions go on",
					"err", err, "missing_for", now.Sub(p.missingSince).Round(time.Second))
			}
		default:
			p.s.set.Metrics.Errors.Inc()
			p.s.set.Metrics.Retries.Inc()
			p.log.Warn("FilterLogEvents failed; retrying", "err", err, "attempt", attempt)
		}
		if !sleep(ctx, p.s.backoff(attempt)) {
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
