// Package plugin is what every source and destination is written against: the interfaces the
// engine calls, the factory that builds an instance from its configuration, the registry that
// holds the factories, and the error classes a destination uses to tell the engine what to do.
//
// The engine imports this package and never a plugin; plugins import it and never the engine.
package plugin

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// Kind tells sources from destinations.
type Kind int

// The kinds of plugin.
const (
	KindSource Kind = iota + 1
	KindDestination
)

func (k Kind) String() string {
	switch k {
	case KindSource:
		return "source"
	case KindDestination:
		return "destination"
	default:
		return "unknown"
	}
}

// Config is a plugin's own configuration: a pointer to a struct with yaml tags, holding its
// defaults when returned by Factory.NewConfig. Validate reports every problem; nested structs
// that implement Validate are walked by the config package, which prefixes their paths.
type Config interface {
	Validate() error
}

// Publisher takes batches from a source.
type Publisher interface {
	// Publish hands records to the engine. It blocks while the routes are full (backpressure).
	// ack is called exactly once: with Acked when every route is done with every record, or
	// with Nacked when some record was not delivered. A batch is taken whole or not at all: if
	// ctx has ended before it starts entering the routes, Publish returns ctx.Err() and acks it
	// Nacked; once started, it is finished unless the engine stops delivering altogether (the
	// shutdown timeout), which returns an error and nacks it too. An empty batch is acked at
	// once, which lets a source save a position past input it dropped.
	Publish(ctx context.Context, recs []*event.Record, ack event.AckFunc) error
}

// Source reads records from somewhere and publishes them.
type Source interface {
	// Run reads and publishes until ctx is cancelled, then returns nil. Any other return
	// stops this plugin configuration (the others keep running); wrap it with Fatal when
	// retrying cannot help.
	Run(ctx context.Context, pub Publisher) error
}

// Destination delivers records.
type Destination interface {
	// Write delivers recs. It returns nil when every record was delivered; a *BatchError when
	// some records failed (the others were delivered); or another error for the whole call,
	// classified with Refused, Throttled or Fatal (unclassified errors are retried).
	Write(ctx context.Context, recs []*event.Record) error
	// Close flushes and releases what the destination holds.
	Close(ctx context.Context) error
}

// BatchLimits are the largest batch a destination accepts. Zero means no limit.
type BatchLimits struct {
	MaxRecords int
	MaxBytes   int
}

// Limited is implemented by destinations with hard batch limits (CloudTrail Lake: 100 events,
// 1 MB). The engine never hands them a larger batch.
type Limited interface {
	BatchLimits() BatchLimits
}

// KindRefuser is implemented by destinations that take only some kinds of record (CloudTrail
// Lake takes Netskope records, and not the UBA alerts among them). The engine asks before it
// queues a record: a refused record is never handed to Write; it is counted on the
// destination's metrics as ReasonUnsupported, logged (at most every 10 s per route, with the
// reason) and acknowledged, like a record the route's rule filtered out. Every destination that
// refuses a kind says so here, not in Write.
type KindRefuser interface {
	// RefuseKind reports whether the destination never takes records of kind and subtype
	// (event.Record's Kind and Subtype), and why, for the log. The answer must depend only on
	// its arguments and the destination's configuration: the engine keeps it.
	RefuseKind(kind event.Kind, subtype string) (reason string, refused bool)
}

// Checker is implemented by plugins that can verify their configuration against the outside
// world (credentials, permissions, the existence of a channel) for `validate --check`.
type Checker interface {
	Check(ctx context.Context) error
}

// Backfiller is implemented by sources that can read a past range once and stop, for
// `logshipper backfill`. Backfill publishes what was recorded in [r.From, r.To) and returns
// once it was all acknowledged (nil), when ctx ends (nil), or with an error that stops it. It
// must not move the positions the live source keeps.
type Backfiller interface {
	Backfill(ctx context.Context, pub Publisher, r BackfillRange) error
}

// BackfillRange is what a backfill reads.
type BackfillRange struct {
	From, To time.Time
	// Progress, when set, is called after each acknowledged batch of a part (an endpoint, a
	// log stream); calls are made one at a time.
	Progress func(BackfillProgress)
}

// BackfillProgress reports one part of a backfill.
type BackfillProgress struct {
	Part     string    // "alerts/dlp", "events/audit", ...
	Records  int64     // records of this part acknowledged so far
	Position time.Time // everything recorded before it was read
	Done     bool      // the part is finished
}

// Dropper records that a source could not turn some input into a record. Invalid and too-large
// input is kept in the dead-letter store with the reason; everything is counted and logged.
type Dropper interface {
	// Drop returns an error when the input could not be kept (the dead-letter store failed):
	// the source must then not move its position past that input, and try it again later.
	Drop(ctx context.Context, raw []byte, reason Reason, err error) error
}

// Settings is what the engine gives every plugin instance.
type Settings struct {
	// Name is the plugin configuration's unique name.
	Name string
	// Logger carries plugin=<Name> on every line.
	Logger *slog.Logger
	// Metrics are this instance's counters, labelled with its name.
	Metrics *telemetry.PluginMetrics
	// State is this instance's own namespace in the state store (sources keep cursors there).
	State state.Store
	// DataDir is a directory this instance may own, under the global data_dir.
	DataDir string
	// Dropper receives input a source had to drop. Nil for destinations.
	Dropper Dropper
	// Partitions says which of a source's partitions this process reads (cluster mode);
	// nil means all of them (AllPartitions). Nil for destinations.
	Partitions Partitions
	// Share is this process's part of the API quotas the cluster's members divide (cluster
	// mode); nil means the whole quota (AllShare).
	Share Share
}

// PartitionsOf returns set.Partitions, or AllPartitions when it is nil.
func (set Settings) PartitionsOf() Partitions {
	if set.Partitions == nil {
		return AllPartitions{}
	}
	return set.Partitions
}

// Factory builds instances of one plugin type.
type Factory struct {
	// Type is the value of `type:` in the configuration.
	Type string
	// Kind says whether NewSource or NewDestination is set.
	Kind Kind
	// Summary is one line for `logshipper plugins` and the docs.
	Summary string
	// NewConfig returns a fresh configuration holding the defaults.
	NewConfig func() Config
	// NewSource builds a source from a validated configuration.
	NewSource func(cfg Config, set Settings) (Source, error)
	// NewDestination builds a destination from a validated configuration.
	NewDestination func(cfg Config, set Settings) (Destination, error)
	// Checks says that what NewSource or NewDestination builds is a Checker: `validate --check`
	// builds only such plugins (building others can create their files and directories).
	Checks bool
	// NodeLocal says a source reads what is on this machine (local files): in cluster mode
	// each process reads its own, the source's state stays in the process's local store (its
	// positions name this machine's files), and it takes no partition leases.
	NodeLocal bool
	// Delivery holds a destination's own defaults for the keys every destination shares
	// (batch, workers, queue_size, retry), chosen for what its peer accepts; a zero field takes
	// the global default. Read it through DeliveryDefaults. Sources leave it zero.
	Delivery DeliveryDefaults
}

// Registry holds the factories of every plugin type the binary knows. One type name may have
// a source and a destination (the file plugins do).
type Registry struct {
	factories map[registryKey]Factory
}

type registryKey struct {
	typ  string
	kind Kind
}

// NewRegistry returns a registry with the given factories. Two factories of one type and kind,
// or a factory missing its constructor, is a programming error reported here.
func NewRegistry(fs ...Factory) (*Registry, error) {
	r := &Registry{factories: make(map[registryKey]Factory, len(fs))}
	for _, f := range fs {
		if f.Type == "" || f.NewConfig == nil {
			return nil, fmt.Errorf("plugin registry: factory %q lacks a type or a config constructor", f.Type)
		}
		switch {
		case f.Kind == KindSource && f.NewSource != nil:
		case f.Kind == KindDestination && f.NewDestination != nil:
		default:
			return nil, fmt.Errorf("plugin registry: %q: kind %s without its constructor", f.Type, f.Kind)
		}
		k := registryKey{f.Type, f.Kind}
		if _, dup := r.factories[k]; dup {
			return nil, fmt.Errorf("plugin registry: %s type %q registered twice", f.Kind, f.Type)
		}
		r.factories[k] = f
	}
	return r, nil
}

// Lookup returns the factory of a type and kind.
func (r *Registry) Lookup(typ string, kind Kind) (Factory, bool) {
	f, ok := r.factories[registryKey{typ, kind}]
	return f, ok
}

// Kinds lists the kinds a type exists in: none, one, or source and destination.
func (r *Registry) Kinds(typ string) []Kind {
	var out []Kind
	for _, k := range []Kind{KindSource, KindDestination} {
		if _, ok := r.factories[registryKey{typ, k}]; ok {
			out = append(out, k)
		}
	}
	return out
}

// Types lists the registered type names, sorted, each once.
func (r *Registry) Types() []string {
	seen := map[string]bool{}
	var out []string
	for k := range r.factories {
		if !seen[k.typ] {
			seen[k.typ] = true
			out = append(out, k.typ)
		}
	}
	sort.Strings(out)
	return out
}

// Factories lists every factory, by type then kind.
func (r *Registry) Factories() []Factory {
	out := make([]Factory, 0, len(r.factories))
	for _, f := range r.factories {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// ParseKind reads "source" or "destination".
func ParseKind(s string) (Kind, bool) {
	switch s {
	case "source":
		return KindSource, true
	case "destination":
		return KindDestination, true
	}
	return 0, false
}
