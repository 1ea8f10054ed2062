// Package app wires a loaded configuration into a running engine: it opens the state store and
// the dead-letter store under data_dir, builds every plugin instance with its settings, serves
// the admin endpoints, and runs until its context ends.
//
// With a `cluster:` section the process is a member of a cluster (internal/cluster): the
// plugins' state lives in the cluster's JetStream key-value store instead of the bbolt file,
// each source reads the partitions this member holds the lease of, and every metric carries the
// node label. Dead letters and spools stay in data_dir, and a backfill runs on its own local
// state, as in a single process.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/console"
	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/pipeline"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/recent"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/spool"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// App is a configuration ready to run.
type App struct {
	reg     *plugin.Registry
	log     *slog.Logger
	metrics *telemetry.Metrics
	db      *state.DB
	dlq     *deadletter.Store
	dataDir string
	job     *Backfill // nil for the live run
	// cluster is this process's membership; nil in a single process.
	cluster *cluster.Cluster
	// recent keeps the last records each source read, for the console's rule tests; nil
	// without a console.
	recent *recent.Store
	// state holds the plugins' state namespaces: the bbolt file, or the cluster's store.
	state namespacer

	// reloadMu lets one reload (or the stop at the end of Run) change the components at a time.
	reloadMu sync.Mutex
	// ended receives a value when a component's engine returns or a reload ends, for Run to
	// see whether anything still runs.
	ended chan struct{}

	mu sync.Mutex
	// cfg is the configuration running: the one given to New, then each applied reload's.
	cfg *config.Config
	// comps are the components built from cfg, one engine each.
	comps []*runningComponent
	// runCtx is Run's context while it runs components; nil before and after.
	runCtx context.Context
	// reloading is true while a reload stops and starts components.
	reloading bool
	// pending holds, during a reload, the plugin configurations it stops, with their status.
	pending map[string]string
	// down holds the plugin configurations a failed reload stopped and could not start again,
	// with why, until a reload starts them.
	down map[string]string
	// last is the latest reload's outcome.
	last ReloadStatus
}

// runningComponent is a component's engine and what the engine owns.
type runningComponent struct {
	component
	engine *pipeline.Engine
	spools []*spool.Spool
	// cancel stops the engine; done closes once it has returned, err then holding what it
	// returned. Both are nil until the component starts.
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// closeSpools closes the spools of the component's destinations.
func (rc *runningComponent) closeSpools() error {
	var errs []error
	for _, sp := range rc.spools {
		errs = append(errs, sp.Close())
	}
	rc.spools = nil
	return errors.Join(errs...)
}

// finished reports whether the component started and its engine has returned.
func (rc *runningComponent) finished() bool {
	if rc.done == nil {
		return false
	}
	select {
	case <-rc.done:
		return true
	default:
		return false
	}
}

// namespacer gives the state store of one namespace (state.DB, state.Store).
type namespacer interface {
	Namespace(name string) state.Store
}

// recentPerSource is how many of the last records of each source the console keeps for its
// rule tests.
const recentPerSource = 100

// ConnectTimeout bounds joining the cluster at start: a member that cannot reach NATS by then
// exits, for its supervisor (systemd, Compose) to start it again.
const ConnectTimeout = 30 * time.Second

// ClusterSection is the top-level key of the cluster configuration.
const ClusterSection = "cluster"

// LoadOptions are the config.Load options for the sections that this package reads and
// internal/config cannot know: `cluster:`.
func LoadOptions() []config.Option {
	return []config.Option{
		config.Section(ClusterSection, func() any { return cluster.NewConfig() }),
		config.Section(ConsoleSection, func() any { return console.NewConfig() }),
	}
}

// ClusterConfig returns the configuration's `cluster:` section (loaded with LoadOptions), or
// nil when it has none: a single process.
func ClusterConfig(cfg *config.Config) *cluster.Config {
	c, _ := cfg.Sections[ClusterSection].(*cluster.Config)
	return c
}

// New opens data_dir (failing at once if another process owns it), joins the cluster when the
// configuration has a `cluster:` section (ctx bounds the connection), and builds every plugin
// configuration used by a SIEM mapping.
func New(ctx context.Context, cfg *config.Config, reg *plugin.Registry, log *slog.Logger, version string) (*App, error) {
	return open(ctx, cfg, reg, log, version, cfg.DataDir, nil)
}

// Backfill is a backfill job: one source reads a past range once, through the SIEM mappings
// that start from it, and the run ends when it is delivered.
type Backfill struct {
	Source string
	Range  plugin.BackfillRange
}

// BackfillDataDir is where a backfill of source keeps its state and dead letters: apart from
// the live data_dir, which a running `logshipper run` holds.
func BackfillDataDir(cfg *config.Config, source string) string {
	return filepath.Join(cfg.DataDir, "backfill", source)
}

// NewBackfill builds the job's source, the destinations its mappings lead to, and nothing
// else, over BackfillDataDir. The admin endpoints are served only if cfg.Admin.Listen is set
// by the caller (the live shipper may hold the configured address).
func NewBackfill(cfg *config.Config, reg *plugin.Registry, log *slog.Logger, version string, job Backfill) (*App, error) {
	p, ok := cfg.Plugin(job.Source)
	if !ok {
		return nil, fmt.Errorf("backfill: no plugin configuration is named %q", job.Source)
	}
	if p.Kind != plugin.KindSource {
		return nil, fmt.Errorf("backfill: %s is a %s, not a source", job.Source, p.Kind)
	}
	if p.Disabled {
		return nil, fmt.Errorf("backfill: %s is disabled (disabled: true in its entry)", job.Source)
	}
	routes := 0
	for _, r := range cfg.ActiveMappings() {
		if r.Source == job.Source {
			routes++
		}
	}
	if routes == 0 {
		return nil, fmt.Errorf("backfill: no siem_mappings entry starts from %s: its records would go nowhere", job.Source)
	}
	return open(context.Background(), cfg, reg, log, version, BackfillDataDir(cfg, job.Source), &job)
}

func open(ctx context.Context, cfg *config.Config, reg *plugin.Registry, log *slog.Logger, version, dataDir string, job *Backfill) (*App, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	db, err := state.OpenWith(dataDir, state.Options{SyncInterval: cfg.StateSyncInterval})
	if err != nil {
		return nil, err
	}
	dlq, err := deadletter.Open(filepath.Join(dataDir, "deadletter"))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	a := &App{cfg: cfg, reg: reg, log: log, db: db, state: db, dlq: dlq, dataDir: dataDir, job: job, ended: make(chan struct{}, 1)}
	if cc := ConsoleConfig(cfg); cc != nil && cc.Listen != "" && job == nil {
		a.recent = recent.New(recentPerSource)
	}
	node := ""
	// A backfill reads a past range once, on its own local state: it does not join.
	if cc := ClusterConfig(cfg); cc != nil && job == nil {
		cctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
		c, err := cluster.Connect(cctx, *cc, log)
		cancel()
		if err != nil {
			_ = a.close()
			return nil, fmt.Errorf("cluster: cannot join through %s: %w", strings.Join(cc.URLs, ", "), err)
		}
		a.cluster, a.state, node = c, c.Store(), cc.Node
		log.Info("cluster joined", "cluster", cc.String())
	}
	a.metrics = telemetry.NewNodeMetrics(version, node)
	comps, err := a.build(ctx, cfg)
	if err != nil {
		_ = a.close()
		return nil, err
	}
	a.comps = comps
	return a, nil
}

// build builds the engine of every component of cfg, ready to start.
func (a *App) build(ctx context.Context, cfg *config.Config) ([]*runningComponent, error) {
	return a.buildAll(ctx, cfg, components(a.mappings(cfg)))
}

// buildComponent builds the plugin configurations of component c from cfg and the engine that
// runs them. On failure it closes what it opened.
func (a *App) buildComponent(ctx context.Context, cfg *config.Config, c component) (_ *runningComponent, err error) {
	rc := &runningComponent{component: c}
	defer func() {
		if err != nil {
			_ = rc.closeSpools()
		}
	}()
	var (
		sources []pipeline.SourceSpec
		dests   []pipeline.DestinationSpec
	)
	for _, p := range cfg.Plugins {
		if !slices.Contains(c.plugins, p.Name) {
			continue
		}
		f, _ := a.reg.Lookup(p.Type, p.Kind)
		set, err := a.settings(p, f)
		if err != nil {
			return nil, err
		}
		switch p.Kind {
		case plugin.KindSource:
			if a.cluster != nil && !f.NodeLocal {
				set.Partitions = a.cluster.MeteredPartitions(p.Name, cluster.PartitionMetrics{
					Lag: set.Metrics.PartitionLag, Moves: set.Metrics.PartitionMoves, Owned: set.Metrics.PartitionsOwned(),
				})
			} else if a.job == nil {
				set.Partitions = laggedPartitions{lag: set.Metrics.PartitionLag}
			}
			set.Dropper = &pipeline.Dropper{Name: p.Name, DLQ: a.dlq, Metrics: set.Metrics, Logger: set.Logger}
			src, err := f.NewSource(p.Options, set)
			if err != nil {
				return nil, fmt.Errorf("plugin %s (%s): %w", p.Name, p.Type, err)
			}
			if a.job != nil {
				bf, ok := src.(plugin.Backfiller)
				if !ok {
					return nil, fmt.Errorf("backfill: %s is a %s source, which cannot read a past range", p.Name, p.Type)
				}
				src = backfillSource{bf, a.job.Range}
			}
			sources = append(sources, pipeline.SourceSpec{Name: p.Name, Source: src, EPS: p.EPS, Metrics: set.Metrics, Logger: set.Logger, Dropper: set.Dropper})
		case plugin.KindDestination:
			dst, err := f.NewDestination(p.Options, set)
			if err != nil {
				return nil, fmt.Errorf("plugin %s (%s): %w", p.Name, p.Type, err)
			}
			spec := pipeline.DestinationSpec{Name: p.Name, Destination: dst, Metrics: set.Metrics, Logger: set.Logger, Options: DestinationOptions(p)}
			if p.SpoolMaxSize > 0 {
				sp, err := spool.Open(ctx, filepath.Join(a.dataDir, "spool", p.Name), int64(p.SpoolMaxSize), a.db.Namespace("spool/"+p.Name), set.Logger)
				if err != nil {
					return nil, fmt.Errorf("plugin %s (%s): %w", p.Name, p.Type, err)
				}
				rc.spools = append(rc.spools, sp)
				spec.Spool = sp
			}
			dests = append(dests, spec)
		}
	}
	var routes []pipeline.RouteSpec
	for _, r := range c.mappings {
		rule, _ := cfg.Rules.Get(r.Rule)
		routes = append(routes, pipeline.RouteSpec{Name: r.Name, Source: r.Source, Destination: r.Destination, Rule: rule})
	}
	opts := pipeline.Options{Logger: a.log.With("pipeline", c.key()), DeadLetters: a.dlq, ShutdownTimeout: cfg.ShutdownTimeout}
	if a.recent != nil {
		opts.Recent = a.recent
	}
	e, err := pipeline.New(opts, sources, dests, routes)
	if err != nil {
		return nil, err
	}
	rc.engine = e
	return rc, nil
}

// mappings are the SIEM mappings of cfg run: all of them but those of disabled plugin
// configurations, or a backfill's.
func (a *App) mappings(cfg *config.Config) []config.RouteConfig {
	if a.job == nil {
		return cfg.ActiveMappings()
	}
	var out []config.RouteConfig
	for _, r := range cfg.ActiveMappings() {
		if r.Source == a.job.Source {
			out = append(out, r)
		}
	}
	return out
}

// backfillSource runs a backfill as a source that finishes on its own.
type backfillSource struct {
	b plugin.Backfiller
	r plugin.BackfillRange
}

func (s backfillSource) Run(ctx context.Context, pub plugin.Publisher) error {
	return s.b.Backfill(ctx, pub, s.r)
}

// DestinationOptions turns a destination's shared keys into engine options.
func DestinationOptions(p *config.Plugin) pipeline.DestinationOptions {
	return pipeline.DestinationOptions{
		MaxRecords: p.Batch.MaxRecords,
		MaxBytes:   int(p.Batch.MaxBytes),
		MaxWait:    p.Batch.MaxWait,
		Retry:      retry.Backoff{Initial: p.Retry.InitialInterval, Max: p.Retry.MaxInterval},
		Workers:    p.Workers,
		QueueSize:  p.QueueSize,
		EPS:        p.EPS,
	}
}

// settings builds what plugin configuration p of factory f is given. Its state is in the
// cluster's store in cluster mode, unless f is NodeLocal (its positions describe this
// machine): then, as in a single process, in the local bbolt store. In cluster mode its share
// of the API quotas is the member's (divided among the members by use: internal/cluster/quota.go).
func (a *App) settings(p *config.Plugin, f plugin.Factory) (plugin.Settings, error) {
	dir := filepath.Join(a.dataDir, "plugins", p.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return plugin.Settings{}, fmt.Errorf("plugin %s: %w", p.Name, err)
	}
	var st namespacer = a.state
	if f.NodeLocal {
		st = a.db
	}
	set := plugin.Settings{
		Name:    p.Name,
		Logger:  a.log.With("plugin", p.Name),
		Metrics: a.metrics.Plugin(p.Name),
		State:   st.Namespace("plugin/" + p.Name),
		DataDir: dir,
	}
	if a.cluster != nil {
		set.Share = a.cluster.Share()
	}
	return set, nil
}

// Run serves the admin endpoints and runs every component's engine until ctx ends, then stops
// them gracefully. It returns once ctx has ended and they have stopped, or once every
// component has finished on its own (every source finished and its records delivered). A
// reload (Reload, ReloadFile) applies while Run runs.
func (a *App) Run(ctx context.Context) error {
	defer func() {
		if err := a.close(); err != nil {
			a.log.Error("closing", "error", err)
		}
	}()
	cfg := a.config()
	if cfg.Admin.Listen != "" {
		stop, err := a.serveAdmin(cfg.Admin.Listen, cfg.Admin.PProf)
		if err != nil {
			return err
		}
		defer stop()
	}
	a.log.Info("logshipper running", "config", cfg.Path, "data_dir", a.dataDir, "routes", len(a.mappings(cfg)), "admin", cfg.Admin.Listen, "cluster", a.cluster != nil)
	a.mu.Lock()
	a.runCtx = ctx
	for _, rc := range a.comps {
		a.start(ctx, rc)
	}
	a.mu.Unlock()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-a.ended:
			a.mu.Lock()
			// No component left (a reload stopped the last one: disabled, or its mapping
			// removed) is not the end: a reload may start one again.
			done = !a.reloading && len(a.comps) > 0 && !slices.ContainsFunc(a.comps, func(rc *runningComponent) bool { return !rc.finished() })
			a.mu.Unlock()
		}
	}
	// No reload starts from here on; one under way ends first.
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	a.mu.Lock()
	a.runCtx = nil
	comps := a.comps
	a.mu.Unlock()
	var errs []error
	for _, rc := range comps {
		rc.cancel()
	}
	for _, rc := range comps {
		<-rc.done
		errs = append(errs, rc.err)
	}
	a.log.Info("logshipper stopped")
	return errors.Join(errs...)
}

// start runs rc's engine under ctx until it returns or rc.cancel is called, then closes its
// spools. Callers hold a.mu.
func (a *App) start(ctx context.Context, rc *runningComponent) {
	cctx, cancel := context.WithCancel(ctx)
	rc.cancel, rc.done = cancel, make(chan struct{})
	go func() {
		defer cancel()
		err := rc.engine.Run(cctx)
		if cerr := rc.closeSpools(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close spools of %s: %w", rc.key(), cerr))
		}
		rc.err = err
		close(rc.done)
		a.notifyEnded()
	}()
}

// notifyEnded wakes Run to look at the components again.
func (a *App) notifyEnded() {
	select {
	case a.ended <- struct{}{}:
	default:
	}
}

// config is the configuration running.
func (a *App) config() *config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// status is the engines' status of every plugin configuration running (Engine.Status), with
// those a reload is stopping and those a failed reload left stopped.
func (a *App) status() map[string]string {
	a.mu.Lock()
	comps := slices.Clone(a.comps)
	pending, down := maps.Clone(a.pending), maps.Clone(a.down)
	a.mu.Unlock()
	out := map[string]string{}
	for _, rc := range comps {
		maps.Copy(out, rc.engine.Status())
	}
	maps.Copy(out, down)
	maps.Copy(out, pending)
	return out
}

// close releases what open took. The cluster goes first: the engines have stopped, so the
// sources released their leases, and Close hands them over and leaves.
func (a *App) close() error {
	var errs []error
	if a.cluster != nil {
		if err := a.cluster.Close(); err != nil {
			errs = append(errs, fmt.Errorf("cluster: leave: %w", err))
		}
	}
	if a.dlq != nil {
		errs = append(errs, a.dlq.Close())
	}
	// Components that never started still hold their spools.
	for _, rc := range a.comps {
		if rc.done == nil {
			errs = append(errs, rc.closeSpools())
		}
	}
	return errors.Join(append(errs, a.db.Close())...)
}

// Metrics exposes the registry, for tests.
func (a *App) Metrics() *telemetry.Metrics { return a.metrics }

// NewDestination builds the destination configuration name of cfg as run does, with its
// settings under cfg's data_dir and its state in db, for a caller that writes to it itself
// (the dead-letter replay), and returns the engine options run would give it.
func NewDestination(cfg *config.Config, reg *plugin.Registry, log *slog.Logger, db *state.DB, name string) (plugin.Destination, pipeline.DestinationOptions, error) {
	p, ok := cfg.Plugin(name)
	if !ok {
		return nil, pipeline.DestinationOptions{}, fmt.Errorf("no plugin configuration is named %q", name)
	}
	if p.Kind != plugin.KindDestination {
		return nil, pipeline.DestinationOptions{}, fmt.Errorf("%s is a %s, not a destination", name, p.Kind)
	}
	f, _ := reg.Lookup(p.Type, p.Kind)
	a := &App{cfg: cfg, log: log, db: db, state: db, dataDir: cfg.DataDir, metrics: telemetry.NewMetrics("")}
	set, err := a.settings(p, f)
	if err != nil {
		return nil, pipeline.DestinationOptions{}, err
	}
	dst, err := f.NewDestination(p.Options, set)
	if err != nil {
		return nil, pipeline.DestinationOptions{}, fmt.Errorf("plugin %s (%s): %w", p.Name, p.Type, err)
	}
	return dst, DestinationOptions(p), nil
}
