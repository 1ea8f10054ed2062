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

	ruleErrors  logEvery // the rule failed on records
	unsupported logEvery // the destination refused records for their kind
}

// logEvery counts occurrences of one kind of trouble and tells when to log them: at most once
// per 10 s, with the count since the last line, so that trouble on every record is seen and
// does not flood the log.
type logEvery struct {
	mu      sync.Mutex
	last    time.Time
	pending int
}

// add counts n more; it returns the count to log and true when a line is due.
func (l *logEvery) add(n int) (count int, due bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending += n
	if time.Since(l.last) < 10*time.Second {
		return 0, false
	}
	count = l.pending
	l.last, l.pending = time.Now(), 0
	return count, true
}

// warnRuleError logs that the route's rule failed on n records (not matching them).
func (rt *route) warnRuleError(log *slog.Logger, n int, err error) {
	if count, due := rt.ruleErrors.add(n); due {
		log.Warn("business rule failed on records; they are not sent on this route (counted as rule_error)",
			"route", rt.name, "rule", rt.rule.Name(), "records", count, "error", err)
	}
}

// noteUnsupported logs that the route's destination refused n records for their kind; kind,
// subtype and reason are those of one of them. A kind the destination leaves out on purpose
// (UBA alerts in CloudTrail Lake) is information; records of no kind refused are a warning: the
// source does not say what they are (a file source without record_kind) and the route sends
// nothing.
func (rt *route) noteUnsupported(log *slog.Logger, n int, kind event.Kind, subtype, reason string) {
	count, due := rt.unsupported.add(n)
	if !due {
		return
	}
	level, msg := slog.LevelInfo, "the destination does not take records of this kind; they are not sent on this route (counted as unsupported_by_destination)"
	if kind == "" {
		level, msg = slog.LevelWarn, "the destination does not take records whose source does not say what they are; nothing is sent on this route (counted as unsupported_by_destination; a file source says it with record_kind)"
	}
	log.Log(context.Background(), level, msg,
		"route", rt.name, "destination", rt.dest.name, "kind", string(kind), "subtype", subtype, "reason", reason, "records", count)
}

// fanout is the Publisher a source writes to: it applies each route's rule, asks the route's
// destination whether it takes the kind of each record that matched (plugin.KindRefuser), and
// queues the records it takes on it, tracking every piece so the source's ack
// fires once all routes are done.
type fanout struct {
	name    string
	routes  []*route
	limit   *epsLimiter
	metrics *telemetry.PluginMetrics
	log     *slog.Logger
	dropper plugin.Dropper
	keep    RecordKeeper // nil: the records are not kept (Options.Recent)
	decode  bool         // some route's rule reads fields
	// needs are the top-level fields the routes' rules read, decoded alone for judging (the
	// destination decodes the whole record only if it must, and only when it sends it); nil
	// when some rule may read any field, and the record is then decoded whole.
	needs map[string]struct{}
	// drain ends when the engine gives up delivering (the shutdown timeout); set by Run
	// before the source starts.
	drain context.Context
	// stop ends the source's run with a cause (see checkStopped); set by the engine before the
	// source starts.
	stop context.CancelCauseFunc
}

var _ plugin.Publisher = (*fanout)(nil)

func newFanout(name string, routes []*route, eps int, m *telemetry.PluginMetrics, log *slog.Logger, d plugin.Dropper) *fanout {
	f := &fanout{name: name, routes: routes, limit: newEPSLimiter(eps), metrics: m, log: log, dropper: d}
	needs, whole := map[string]struct{}{}, false
	for _, r := range routes {
		if r.rule.MatchesAll() {
			continue
		}
		f.decode = true
		keys, all := r.rule.Needs()
		whole = whole || all
		for _, k := range keys {
			needs[k] = struct{}{}
		}
	}
	if f.decode && !whole {
		f.needs = needs
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
	if err := f.checkStopped(ack); err != nil {
		return err
	}
	drain := f.drain
	if drain == nil {
		drain = ctx
	}
	f.metrics.Received.Add(float64(len(recs)))
	if f.keep != nil {
		f.keep.Keep(f.name, recs)
	}
	t := event.NewTracker(ack)
	defer t.Release()
	for _, r := range recs {
		if r.Source == "" {
			r.Source = f.name
		}
	}
	// Each record is checked and the fields the rules read are decoded, once for all routes,
	// and judged by every route before the next record is decoded: one map serves the page.
	judged := f.judges(len(recs))
	var scratch map[string]any
	keptAll := true
	for _, r := range recs {
		var fields map[string]any
		var hasUint64 bool
		if f.decode {
			var err error
			if fields, hasUint64, err = f.fieldsForRules(r, &scratch); err != nil {
				if derr := f.dropper.Drop(ctx, r.Raw, plugin.ReasonInvalid, err); derr != nil {
					keptAll = false
				}
				continue
			}
		}
		for i, rt := range f.routes {
			judged[i].judge(rt, r, fields, hasUint64)
		}
	}
	if !keptAll {
		// A record that could be neither judged nor kept: the batch must not be acked.
		t.Add(1)
		t.Done(1, event.Nacked)
	}
	for i, rt := range f.routes {
		j := &judged[i]
		if j.filtered > 0 {
			rt.dest.metrics.Dropped(string(plugin.ReasonFiltered), j.filtered)
		}
		if j.failed > 0 {
			rt.dest.metrics.Dropped(string(plugin.ReasonRuleError), j.failed)
			rt.warnRuleError(f.log, j.failed, j.firstErr)
		}
		if j.refused > 0 {
			rt.dest.metrics.Dropped(string(plugin.ReasonUnsupported), j.refused)
			rt.noteUnsupported(f.log, j.refused, j.refusedKind, j.refusedSub, j.refusedWhy)
		}
		t.Add(len(j.kept))
		for k, r := range j.kept {
			if err := rt.dest.enqueue(drain, r, t, k == len(j.kept)-1); err != nil {
				t.Done(len(j.kept)-k, event.Nacked)
				return fmt.Errorf("route %s: %w", rt.name, err)
			}
		}
	}
	return nil
}

// routeJudgement is what one route made of a batch's records: those it takes, and the counts
// of the others.
type routeJudgement struct {
	kept                      []*event.Record
	filtered, failed, refused int
	firstErr                  error
	refusedKind               event.Kind
	refusedSub, refusedWhy    string
	last                      kindAnswer // the answer for the previous record, whose kind the next one often shares
}

// judges returns a routeJudgement per route, each with room for n records.
func (f *fanout) judges(n int) []routeJudgement {
	j := make([]routeJudgement, len(f.routes))
	for i := range j {
		j[i].kept = make([]*event.Record, 0, n)
	}
	return j
}

// judge applies rt's rule to r (to fields, the fields the rules read, when they are decoded)
// and asks rt's destination whether it takes r's kind.
func (j *routeJudgement) judge(rt *route, r *event.Record, fields map[string]any, hasUint64 bool) {
	var ok bool
	var err error
	if fields != nil {
		ok, err = rt.rule.MatchFields(fields, hasUint64)
	} else {
		ok, err = rt.rule.Match(r)
	}
	switch {
	case err != nil:
		j.failed++
		if j.firstErr == nil {
			j.firstErr = err
		}
	case !ok:
		j.filtered++
	case rt.dest.refuser == nil:
		j.kept = append(j.kept, r)
	default:
		if !j.last.valid || j.last.kind != r.Kind || j.last.subtype != r.Subtype {
			j.last = rt.dest.refusesKind(r.Kind, r.Subtype)
		}
		if !j.last.refused {
			j.kept = append(j.kept, r)
			return
		}
		j.refused++
		j.refusedKind, j.refusedSub, j.refusedWhy = r.Kind, r.Subtype, j.last.reason
	}
}

// checkStopped stops the source, nacking the batch, when a destination it feeds stopped and
// the records routed to it cannot be kept (it has no spool, or its spool refused records), or
// when every destination it feeds stopped. In the first case each record routed there would be
// nacked, the source would read the same records again, and its other destinations would
// receive them again and again; in the second, reading on would only move the source's
// position with nothing delivered. Stopped, the source keeps its position where its
// destinations left it (plus what went to spools), and a restart once they are fixed sends
// everything on.
func (f *fanout) checkStopped(ack event.AckFunc) error {
	stopped := 0
	var first *destination
	for _, rt := range f.routes {
		if rt.dest.holdsSources() {
			return f.stopSource(&HeldError{Destination: rt.dest.name, Err: rt.dest.err(), Spool: rt.dest.spoolError()}, ack)
		}
		if rt.dest.stopped.Load() {
			stopped++
			if first == nil {
				first = rt.dest
			}
		}
	}
	if stopped == len(f.routes) {
		return f.stopSource(&HeldError{Destination: first.name, Err: first.err(), All: true}, ack)
	}
	return nil
}

// stopSource ends the source's run with err and nacks the batch.
func (f *fanout) stopSource(err *HeldError, ack event.AckFunc) error {
	if f.stop != nil {
		f.stop(err)
	}
	if ack != nil {
		ack(event.Nacked)
	}
	return err
}

// HeldError is why the engine stopped a source: a destination it feeds stopped (Err says why)
// and its records could not be kept in its spool (Spool says why, nil when it has none), or
// every destination it feeds stopped (All).
type HeldError struct {
	Destination string
	Err         error
	Spool       error
	All         bool
}

func (e *HeldError) Error() string {
	switch {
	case e.All:
		return fmt.Sprintf("every destination this source feeds stopped (%s: %v); it stops reading and keeps its position until they are fixed and logshipper restarted", e.Destination, e.Err)
	case e.Spool != nil:
		return fmt.Sprintf("destination %s stopped (%v) and its spool takes no more records (%v); the source stops reading so that its other destinations do not receive the same records again: fix %s and restart", e.Destination, e.Err, e.Spool, e.Destination)
	default:
		return fmt.Sprintf("destination %s stopped (%v) and has no spool (spool_max_size: 0); the source stops reading so that its other destinations do not receive the same records again: fix %s and restart", e.Destination, e.Err, e.Destination)
	}
}

func (e *HeldError) Unwrap() error { return e.Err }

// fieldsForRules decodes the fields the routes' rules read (the whole record when f.needs is
// nil) and says whether they hold a uint64. With f.needs, the fields are decoded into
// *scratch, which the next record's decoding reuses.
func (f *fanout) fieldsForRules(r *event.Record, scratch *map[string]any) (map[string]any, bool, error) {
	if f.needs == nil {
		m, err := r.Fields()
		if err != nil {
			return nil, false, err
		}
		return m, r.HasUint64(), nil
	}
	if *scratch == nil {
		*scratch = make(map[string]any, len(f.needs))
	}
	return r.FieldsNamedInto(*scratch, f.needs)
}
