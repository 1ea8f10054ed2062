// Package pipeline runs routes: sources publish batches, each route filters them with its
// business rule and queues them on its destination, destinations batch and deliver with
// retries, and a batch is acknowledged to its source once every route is done with it.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/rules"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// SourceSpec is one source instance to run.
type SourceSpec struct {
	Name    string
	Source  plugin.Source
	EPS     int
	Metrics *telemetry.PluginMetrics
	Logger  *slog.Logger
	Dropper plugin.Dropper
}

// DestinationSpec is one destination instance to run.
type DestinationSpec struct {
	Name        string
	Destination plugin.Destination
	Options     DestinationOptions
	Metrics     *telemetry.PluginMetrics
	Logger      *slog.Logger
	// Spool keeps the destination's records while a fatal error has stopped it, and gives back
	// at the start what earlier runs kept; nil for none (its sources then stop when it stops).
	Spool Spooler
}

// RouteSpec is one SIEM mapping.
type RouteSpec struct {
	Name        string
	Source      string
	Destination string
	Rule        *rules.Rule
}

// Options are the engine's own settings.
type Options struct {
	Logger          *slog.Logger
	DeadLetters     DeadLetters
	ShutdownTimeout time.Duration
	// CloseTimeout bounds, after the shutdown timeout, the wait for plugins to stop and for
	// destinations to close; 10s when zero.
	CloseTimeout time.Duration
	// Recent, when set, is given the records each source publishes (it keeps the last few,
	// for the console's rule tests).
	Recent RecordKeeper
}

// RecordKeeper keeps copies of the last records a source published (internal/recent).
type RecordKeeper interface {
	Keep(source string, recs []*event.Record)
}

// Engine runs a set of routes.
type Engine struct {
	opts    Options
	sources []*sourceRunner
	dests   []*destination

	mu      sync.Mutex
	status  map[string]string // plugin name -> "" when healthy, else why not
	srcErrs []error           // sources that stopped with an error
	running int               // sources whose Run has not returned
}

// sourceErrors returns the errors the sources stopped with, so that a process whose sources
// all failed does not exit 0.
func (e *Engine) sourceErrors() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.srcErrs...)
}

type sourceRunner struct {
	spec   SourceSpec
	fanout *fanout
	dests  []*destination
}

// New checks the specs against each other and builds the engine. Sources and destinations
// that no route uses are left out.
func New(opts Options, sources []SourceSpec, dests []DestinationSpec, routes []RouteSpec) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if opts.CloseTimeout <= 0 {
		opts.CloseTimeout = 10 * time.Second
	}
	e := &Engine{opts: opts, status: map[string]string{}}
	byDest := map[string]*destination{}
	for _, d := range dests {
		if _, dup := byDest[d.Name]; dup {
			return nil, fmt.Errorf("pipeline: destination %q given twice", d.Name)
		}
		if d.Options.Workers < 1 || d.Options.QueueSize < 1 || d.Options.MaxRecords < 1 {
			return nil, fmt.Errorf("pipeline: destination %q: workers, queue size and batch size must be positive", d.Name)
		}
		byDest[d.Name] = newDestination(d.Name, d.Destination, d.Options, opts.DeadLetters, d.Metrics, d.Logger)
		byDest[d.Name].spool = d.Spool
	}
	routesBySource := map[string][]*route{}
	usedDest := map[string]bool{}
	for _, r := range routes {
		d, ok := byDest[r.Destination]
		if !ok {
			return nil, fmt.Errorf("pipeline: route %q: no destination %q", r.Name, r.Destination)
		}
		if r.Rule == nil {
			return nil, fmt.Errorf("pipeline: route %q: no rule", r.Name)
		}
		routesBySource[r.Source] = append(routesBySource[r.Source], &route{name: r.Name, rule: r.Rule, dest: d})
		usedDest[r.Destination] = true
	}
	seen := map[string]bool{}
	for _, s := range sources {
		if seen[s.Name] {
			return nil, fmt.Errorf("pipeline: source %q given twice", s.Name)
		}
		seen[s.Name] = true
		rs := routesBySource[s.Name]
		if len(rs) == 0 {
			continue
		}
		sr := &sourceRunner{spec: s, fanout: newFanout(s.Name, rs, s.EPS, s.Metrics, s.Logger, s.Dropper)}
		sr.fanout.keep = opts.Recent
		for _, r := range rs {
			sr.dests = append(sr.dests, r.dest)
		}
		e.sources = append(e.sources, sr)
		e.status[s.Name] = "starting"
	}
	for src := range routesBySource {
		if !seen[src] {
			return nil, fmt.Errorf("pipeline: a route reads from %q, which is not a source", src)
		}
	}
	for _, d := range dests {
		if usedDest[d.Name] {
			e.dests = append(e.dests, byDest[d.Name])
			e.status[d.Name] = ""
		}
	}
	return e, nil
}

// Run starts every source and destination and blocks until ctx ends, or until every source has
// finished on its own and its records are delivered. On ctx's end it stops the sources, lets
// in-flight batches finish within the shutdown timeout, closes the destinations and returns.
// It returns the errors sources stopped with, and those of an unclean stop. Records not delivered by then stay unacknowledged, so their sources read them
// again on the next start.
func (e *Engine) Run(ctx context.Context) error {
	log := e.opts.Logger
	deliverCtx, cancelDeliver := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDeliver()

	var destWG sync.WaitGroup
	for _, d := range e.dests {
		destWG.Go(func() { d.run(deliverCtx) })
	}

	// A destination's queue closes when the last source feeding it has stopped.
	feeders := map[*destination]int{}
	for _, s := range e.sources {
		for _, d := range s.dests {
			feeders[d]++
		}
	}
	for _, s := range e.sources {
		s.fanout.drain = deliverCtx
	}
	var feedMu sync.Mutex
	fed := func(d *destination) {
		feedMu.Lock()
		defer feedMu.Unlock()
		if feeders[d]--; feeders[d] == 0 {
			close(d.queue)
		}
	}
	// What earlier runs kept in a destination's spool goes to it first, beside what its
	// sources read now; the replay feeds it like a source.
	var srcWG sync.WaitGroup
	for _, d := range e.dests {
		if d.spool == nil || !d.spool.Pending() {
			continue
		}
		feeders[d]++
		srcWG.Go(func() {
			defer fed(d)
			d.replay(ctx, deliverCtx)
		})
	}
	e.mu.Lock()
	e.running = len(e.sources)
	e.mu.Unlock()
	for _, s := range e.sources {
		srcWG.Go(func() {
			e.runSource(ctx, s)
			for _, d := range s.dests {
				fed(d)
			}
		})
	}

	srcDone := make(chan struct{})
	go func() { srcWG.Wait(); close(srcDone) }()
	destDone := make(chan struct{})
	go func() { destWG.Wait(); close(destDone) }()

	var errs []error
	select {
	case <-ctx.Done():
	case <-srcDone:
		// Every source finished on its own (files read, follow off): deliver what is in flight,
		// as long as it takes, unless asked to stop.
		if len(e.sourceErrors()) > 0 {
			log.Info("every source has stopped; delivering the records in flight, then exiting")
		} else {
			log.Info("every source finished; delivering the records in flight")
		}
		select {
		case <-destDone:
		case <-ctx.Done():
		}
	}
	select {
	case <-destDone:
	default:
		log.Info("stopping: sources stop reading; in-flight records get until the shutdown timeout", "timeout", e.opts.ShutdownTimeout)
		deadline := time.NewTimer(e.opts.ShutdownTimeout)
		defer deadline.Stop()
		select {
		case <-destDone:
		case <-deadline.C:
			log.Warn("shutdown timeout reached: abandoning deliveries in flight; their records stay unacknowledged and will be read again")
			cancelDeliver()
			select {
			case <-destDone:
			case <-time.After(e.opts.CloseTimeout):
				errs = append(errs, fmt.Errorf("pipeline: a plugin did not stop within %s after the shutdown timeout", e.opts.CloseTimeout))
			}
		}
	}
	errs = append(errs, e.closeDestinations(ctx)...)
	errs = append(errs, e.sourceErrors()...)
	// A destination stopped by a fatal error has records it did not deliver (in its spool, or
	// unacknowledged at their sources): the run failed, whatever the sources did.
	for _, d := range e.dests {
		if err := d.err(); err != nil {
			if d.spool != nil && d.spool.Size() > 0 {
				err = fmt.Errorf("%w (its spool %s holds %d bytes of records, sent when it starts again)", err, d.spool.Dir(), d.spool.Size())
			}
			errs = append(errs, fmt.Errorf("destination %s stopped: %w", d.name, err))
		}
	}
	return errors.Join(errs...)
}

// closeDestinations closes every destination at once and does not wait for ever: a
// destination whose Write is stuck (a peer that stopped reading) may never return from Close,
// and must not keep the process from exiting. Its records are unacknowledged already. The
// wait is bounded by CloseTimeout.
func (e *Engine) closeDestinations(ctx context.Context) []error {
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.CloseTimeout)
	defer cancel()
	results := make(chan error, len(e.dests))
	for _, d := range e.dests {
		go func() {
			if err := d.dest.Close(closeCtx); err != nil {
				results <- fmt.Errorf("close destination %s: %w", d.name, err)
				return
			}
			results <- nil
		}()
	}
	var errs []error
	for range e.dests {
		select {
		case err := <-results:
			if err != nil {
				errs = append(errs, err)
			}
		case <-closeCtx.Done():
			return append(errs, fmt.Errorf("pipeline: destinations did not close within %s", e.opts.CloseTimeout))
		}
	}
	return errs
}

func (e *Engine) runSource(ctx context.Context, s *sourceRunner) {
	s.spec.Metrics.Up("source", true)
	defer s.spec.Metrics.Up("source", false)
	e.setStatus(s.spec.Name, "")
	s.spec.Logger.Info("source started", "routes", len(s.fanout.routes))
	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	s.fanout.stop = stop
	err := s.spec.Source.Run(sctx, s.fanout)
	var held *HeldError
	if ctx.Err() == nil && errors.As(context.Cause(sctx), &held) {
		err = held
	}
	e.mu.Lock()
	e.running--
	others := e.running
	e.mu.Unlock()
	switch {
	case err == nil || (ctx.Err() != nil && errors.Is(err, ctx.Err())):
		if ctx.Err() == nil {
			e.setStatus(s.spec.Name, "finished")
			s.spec.Logger.Info("source finished")
		}
	default:
		e.setStatus(s.spec.Name, err.Error())
		e.mu.Lock()
		e.srcErrs = append(e.srcErrs, fmt.Errorf("source %s: %w", s.spec.Name, err))
		e.mu.Unlock()
		s.spec.Metrics.Errors.Inc()
		if others > 0 {
			s.spec.Logger.Error("source stopped; the other plugin configurations keep running", "error", err, "sources_running", others)
		} else {
			s.spec.Logger.Error("source stopped; no other source is running in its pipeline (the plugin configurations siem_mappings link it to): its records in flight are delivered, then the pipeline stops", "error", err)
		}
	}
}

func (e *Engine) setStatus(name, s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status[name] = s
}

// Status returns, for each running plugin configuration, "" when it is healthy or the reason
// it is not (a source that stopped with an error or is held by a stopped destination, a
// destination stopped by a fatal error).
func (e *Engine) Status() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(e.status))
	for k, v := range e.status {
		out[k] = v
	}
	for _, d := range e.dests {
		if err := d.err(); err != nil {
			out[d.name] = err.Error()
		}
	}
	return out
}
