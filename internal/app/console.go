package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/console"
	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/recent"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// ConsoleSection is the top-level key of the console's configuration.
const ConsoleSection = console.SectionKey

// ConsoleConfig returns the configuration's `console:` section (loaded with LoadOptions), or
// nil when it has none: no console.
func ConsoleConfig(cfg *config.Config) *console.Config {
	c, _ := cfg.Sections[ConsoleSection].(*console.Config)
	return c
}

// consoleBackend is the console's view of the running App (console.Backend): the Overview from
// the engines' status and the metrics, the plugin configurations, rules and mappings from the
// running configuration (changes written to its file with config.Editor and applied with
// Reload), the log from the LogHub the process logs through, the dead letters from the store.
type consoleBackend struct {
	*console.LogHub // Logs, SubscribeLogs

	a       *App
	reg     *plugin.Registry
	history *telemetry.History
	recent  *recent.Store
	started time.Time
	// editMu lets one change at a time write the file and reload it.
	editMu sync.Mutex
}

var _ console.Backend = (*consoleBackend)(nil)

// ServeConsole starts the console of cfg's `console:` section, if any, on the App: it keeps
// the records the sources read (for rule tests) and samples the metrics (for the rate charts)
// from now on. hub is the LogHub the process's logger writes through. It returns the stop
// function (a no-op without a console).
func (a *App) ServeConsole(ctx context.Context, hub *console.LogHub) (stop func(), err error) {
	cc := ConsoleConfig(a.config())
	if cc == nil || cc.Listen == "" {
		return func() {}, nil
	}
	if hub == nil {
		hub = console.NewLogHub(5000)
	}
	b := &consoleBackend{
		LogHub:  hub,
		a:       a,
		reg:     a.reg,
		history: telemetry.NewHistory(a.metrics, historyEvery, time.Hour),
		recent:  a.recent,
		started: time.Now(),
	}
	srv, err := console.New(cc, b, a.log)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	hctx, cancel := context.WithCancel(ctx)
	go b.history.Run(hctx)
	_, stopSrv, err := srv.Start(hctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("console: listen on %s: %w", cc.Listen, err)
	}
	return func() { stopSrv(); cancel() }, nil
}

// historyEvery is how often the console samples the counts for its rate charts.
const historyEvery = 10 * time.Second

// Overview implements console.OverviewBackend.
func (b *consoleBackend) Overview(ctx context.Context) (console.Overview, error) {
	cfg := b.a.config()
	status := b.a.status()
	counts, err := b.a.metrics.Counts()
	if err != nil {
		return console.Overview{}, fmt.Errorf("read the metrics: %w", err)
	}
	ov := console.Overview{Started: b.started, LastReload: b.lastReload()}
	errs := b.lastErrors()
	for _, p := range cfg.Plugins {
		ps := console.PluginStatus{Name: p.Name, Type: p.Type, Kind: p.Kind.String()}
		st, running := status[p.Name]
		switch {
		case p.Disabled:
			ps.State = console.StateDisabled
		case !running:
			ps.State = console.StateStopped
			ps.Error = "not used by a SIEM mapping"
		case st == "":
			ps.State = console.StateRunning
		case strings.Contains(st, "finished"):
			ps.State = console.StateFinished
		case strings.Contains(st, "throttl"):
			ps.State = console.StateThrottled
			ps.Error = st
		default:
			ps.State = console.StateStopped
			ps.Error = st
		}
		ps.Received = uint64(counts["logshipper_records_received_total"][p.Name])
		ps.Sent = uint64(counts["logshipper_records_sent_total"][p.Name])
		for key, v := range counts["logshipper_records_dropped_total"] {
			name, reason, ok := strings.Cut(key, "/")
			if !ok || name != p.Name || v == 0 {
				continue
			}
			if ps.Dropped == nil {
				ps.Dropped = map[string]uint64{}
			}
			ps.Dropped[reason] = uint64(v)
		}
		for _, r := range b.history.Rates(p.Name) {
			rate := r.Received
			if p.Kind == plugin.KindDestination {
				rate = r.Sent
			}
			ps.Rate = append(ps.Rate, rate)
		}
		for key, v := range counts["logshipper_partition_lag_seconds"] {
			name, part, ok := strings.Cut(key, "/")
			if ok && name == p.Name {
				ps.Lag = append(ps.Lag, console.PartitionLag{Partition: part, Lag: time.Duration(v * float64(time.Second))})
			}
		}
		slices.SortFunc(ps.Lag, func(x, y console.PartitionLag) int { return cmp.Compare(x.Partition, y.Partition) })
		if e, ok := errs[p.Name]; ok {
			ps.LastError, ps.LastErrorAt = e.Message, e.Time
		}
		ov.Plugins = append(ov.Plugins, ps)
	}
	for _, m := range b.mappingsOf(cfg) {
		ms := console.MappingStatus{Name: m.Name, Source: m.Source, Rule: m.Rule, Destinations: m.Destinations}
		ms.Matched = uint64(counts["logshipper_records_received_total"][m.Source])
		for key, v := range counts["logshipper_records_dropped_total"] {
			if name, reason, _ := strings.Cut(key, "/"); name == m.Source && reason == string(plugin.ReasonFiltered) {
				ms.Filtered += uint64(v)
			}
		}
		ms.Matched -= min(ms.Matched, ms.Filtered)
		ov.Mappings = append(ov.Mappings, ms)
	}
	return ov, nil
}

// lastReload is the App's last reload as the Overview shows it.
func (b *consoleBackend) lastReload() console.Reload {
	st := b.a.LastReload()
	r := console.Reload{At: st.Time}
	if st.Err != nil {
		r.Error = st.Err.Error()
	}
	for _, c := range []struct{ kind, names []string }{
		{nil, st.Result.Plugins.Restarted}, {nil, st.Result.Plugins.Started}, {nil, st.Result.Plugins.Stopped},
		{nil, st.Result.Mappings.Restarted},
	} {
		r.Restarted = append(r.Restarted, c.names...)
	}
	return r
}

// lastErrors is the latest warning or error the log holds for each configuration.
func (b *consoleBackend) lastErrors() map[string]console.LogLine {
	lines, err := b.Logs(context.Background(), console.LogFilter{Level: "warn"})
	if err != nil {
		return nil
	}
	out := map[string]console.LogLine{}
	for _, l := range lines {
		if l.Plugin != "" {
			out[l.Plugin] = l // oldest first: the last one stays
		}
	}
	return out
}

// DeadLetters implements console.DeadLetterBackend.
func (b *consoleBackend) DeadLetters(ctx context.Context, f console.DeadLetterFilter) (console.DeadLetterPage, error) {
	filter := deadletter.Filter{Destination: f.Destination, Reason: f.Reason}
	items, err := b.a.dlq.List(filter)
	if err != nil {
		return console.DeadLetterPage{}, err
	}
	page := console.DeadLetterPage{Total: len(items)}
	// Newest first.
	slices.Reverse(items)
	if f.Limit > 0 && len(items) > f.Limit {
		items = items[:f.Limit]
	}
	for _, it := range items {
		page.Entries = append(page.Entries, deadLetterOf(it))
	}
	counts, err := b.a.dlq.Counts(deadletter.Filter{})
	if err != nil {
		return console.DeadLetterPage{}, err
	}
	for _, c := range counts {
		page.Counts = append(page.Counts, console.DeadLetterCount{Destination: c.Destination, Reason: c.Reason, Count: c.Entries})
	}
	return page, nil
}

// DeadLetter implements console.DeadLetterBackend.
func (b *consoleBackend) DeadLetter(ctx context.Context, id string) (console.DeadLetter, error) {
	it, err := b.a.dlq.Get(id)
	if errors.Is(err, deadletter.ErrNotFound) {
		return console.DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, console.ErrNotFound)
	}
	if err != nil {
		return console.DeadLetter{}, err
	}
	return deadLetterOf(it), nil
}

// ReplayDeadLetters implements console.DeadLetterBackend: the records go through their
// destination as the running configuration now builds it, one destination at a time.
func (b *consoleBackend) ReplayDeadLetters(ctx context.Context, ids []string) (int, error) {
	res, err := b.a.ReplayDeadLetters(ctx, ids)
	delivered := len(res.Outcomes) - len(res.Failed())
	if err == nil && len(res.Failed()) > 0 {
		f := res.Failed()[0]
		err = fmt.Errorf("%d of %d not delivered (they stay, with their new error); %s: %w", len(res.Failed()), len(res.Outcomes), f.ID, f.Err)
	}
	return delivered, err
}

// PurgeDeadLetters implements console.DeadLetterBackend.
func (b *consoleBackend) PurgeDeadLetters(ctx context.Context, ids []string) (int, error) {
	res, err := b.a.dlq.Purge(deadletter.Selection{IDs: ids})
	return res.Removed, err
}

func deadLetterOf(it deadletter.Item) console.DeadLetter {
	e := it.Entry
	rec := string(e.Record)
	switch {
	case rec != "":
	case e.RecordText != "":
		rec = e.RecordText
	case e.RecordBase64 != "":
		rec = "(bytes that are not text, in base64) " + e.RecordBase64
	}
	return console.DeadLetter{
		ID: it.ID, Time: e.Time, Destination: it.Destination, Source: e.Source, Reason: e.Reason,
		Code: e.Code, Error: e.Error, Record: rec,
	}
}

// ReplayDeadLetters sends the dead letters ids again through their destinations, built from
// the running configuration (a configuration fixed and reloaded since is the one used), and
// removes those delivered from the store.
func (a *App) ReplayDeadLetters(ctx context.Context, ids []string) (deadletter.ReplayResult, error) {
	senders := &ReplaySenders{Config: a.config(), Registry: a.reg, Log: a.log, DB: a.db}
	defer senders.Close(context.WithoutCancel(ctx))
	res, err := a.dlq.Replay(ctx, deadletter.Selection{IDs: ids}, senders.Deliver)
	if err != nil {
		return res, fmt.Errorf("replay dead letters: %w", err)
	}
	a.log.Info("dead letters replayed", "selected", len(ids), "delivered", len(res.Outcomes)-len(res.Failed()), "failed", len(res.Failed()), "missing", len(res.Missing))
	return res, nil
}
