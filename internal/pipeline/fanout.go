package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/rules"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// route is one SIEM mapping as the engine runs it.
type route struct {
	name string
	rule *rules.Rule
	dest *destination

	mu       sync.Mutex
	lastWarn time.Time
	unwarned int // rule errors since the last warning
}

// warnRuleError logs that the route's rule failed on n records (not matching them), at most once
// per 10s with the count since: a rule that fails on every record must be seen, not flood.
func (rt *route) warnRuleError(log *slog.Logger, n int, err error) {
	rt.mu.Lock()
	rt.unwarned += n
	if time.Since(rt.lastWarn) < 10*time.Second {
		rt.mu.Unlock()
		return
	}
	count := rt.unwarned
	rt.lastWarn, rt.unwarned = time.Now(), 0
	rt.mu.Unlock()
	log.Warn("business rule failed on records; they are not sent on this route (counted as rule_error)",
		"route", rt.name, "rule", rt.rule.Name(), "records", count, "error", err)
}

// fanout is the Publisher a source writes to: it applies each route's rule and queues the
// records that match on the route's destination, tracking every piece so the source's ack
// fires once all routes are done.
type fanout struct {
	name    string
	routes  []*route
	limit   *epsLimiter
	metrics *telemetry.PluginMetrics
	log     *slog.Logger
	dropper plugin.Dropper
	decode  bool // some route's rule reads fields
	// drain ends when the engine gives up delivering (the shutdown timeout); set by Run
	// before the source starts.
	drain context.Context
}

var _ plugin.Publisher = (*fanout)(nil)

func newFanout(name string, routes []*route, eps int, m *telemetry.PluginMetrics, log *slog.Logger, d plugin.Dropper) *fanout {
	f := &fanout{name: name, routes: routes, limit: newEPSLimiter(eps), metrics: m, log: log, dropper: d}
	for _, r := range routes {
		if !r.rule.MatchesAll() {
			f.decode = true
		}
	}
	return f
}

// Publish implements plugin.Publisher. A batch is taken whole or not at all: if ctx (the
// source's: stop reading) ends before the batch starts entering the routes, it is refused and
// nacked; once it has started, it is finished even if ctx ends meanwhile (the destinations keep
// draining, so there is room), and only the end of the drain (the shutdown timeout) can cut it.
// A batch cut part-way would have its first records delivered and its position unsaved, so a
// restart would send them twice.
func (f *fanout) Publish(ctx context.Context, recs []*event.Record, ack event.AckFunc) error {
	if err := f.limit.wait(ctx, len(recs)); err != nil {
		if ack != nil {
			ack(event.Nacked)
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		if ack != nil {
			ack(event.Nacked)
		}
		return err
	}
	drain := f.drain
	if drain == nil {
		drain = ctx
	}
	f.metrics.Received.Add(float64(len(recs)))
	t := event.NewTracker(ack)
	defer t.Release()
	for _, r := range recs {
		if r.Source == "" {
			r.Source = f.name
		}
	}
	if f.decode {
		var kept bool
		if recs, kept = f.dropUndecodable(ctx, recs); !kept {
			// A record that could be neither judged nor kept: the batch must not be acked.
			t.Add(1)
			t.Done(1, event.Nacked)
		}
	}
	kept := make([]*event.Record, 0, len(recs))
	for _, rt := range f.routes {
		kept = kept[:0]
		filtered, failed := 0, 0
		var firstErr error
		for _, r := range recs {
			ok, err := rt.rule.Match(r)
			switch {
			case err != nil:
				failed++
				if firstErr == nil {
					firstErr = err
				}
			case ok:
				kept = append(kept, r)
			default:
				filtered++
			}
		}
		if filtered > 0 {
			rt.dest.metrics.Dropped(string(plugin.ReasonFiltered), filtered)
		}
		if failed > 0 {
			rt.dest.metrics.Dropped(string(plugin.ReasonRuleError), failed)
			rt.warnRuleError(f.log, failed, firstErr)
		}
		t.Add(len(kept))
		for i, r := range kept {
			if err := rt.dest.enqueue(drain, r, t, i == len(kept)-1); err != nil {
				t.Done(len(kept)-i, event.Nacked)
				return fmt.Errorf("route %s: %w", rt.name, err)
			}
		}
	}
	return nil
}

// dropUndecodable removes records whose fields cannot be read (the rules could not judge
// them) and hands them to the dead-letter store. kept is false if the store failed for one.
func (f *fanout) dropUndecodable(ctx context.Context, recs []*event.Record) (out []*event.Record, kept bool) {
	dropped := false
	kept = true
	for i, r := range recs {
		if _, err := r.Fields(); err != nil {
			if !dropped {
				out = append(make([]*event.Record, 0, len(recs)), recs[:i]...)
				dropped = true
			}
			if derr := f.dropper.Drop(ctx, r.Raw, plugin.ReasonInvalid, err); derr != nil {
				kept = false
			}
			continue
		}
		if dropped {
			out = append(out, r)
		}
	}
	if !dropped {
		return recs, true
	}
	return out, kept
}
