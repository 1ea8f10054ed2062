package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/config"
)

// Changes sorts names (of plugin configurations, or of SIEM mappings) by what a reload did to
// them.
type Changes struct {
	// Kept ran on untouched: nothing of their component changed.
	Kept []string `json:"kept"`
	// Restarted were stopped (sources stopped, batches in flight delivered, positions saved)
	// and started again from the new configuration.
	Restarted []string `json:"restarted"`
	// Started did not run before the reload.
	Started []string `json:"started"`
	// Stopped no longer run.
	Stopped []string `json:"stopped"`
}

// ReloadResult is what a reload did.
type ReloadResult struct {
	Plugins  Changes `json:"plugins"`
	Mappings Changes `json:"mappings"`
}

// Changed reports whether the reload stopped or started anything.
func (r ReloadResult) Changed() bool {
	for _, c := range []Changes{r.Plugins, r.Mappings} {
		if len(c.Restarted)+len(c.Started)+len(c.Stopped) > 0 {
			return true
		}
	}
	return false
}

// ReloadStatus is the outcome of the latest reload, for the console.
type ReloadStatus struct {
	// Time is when it ended; zero when there was none.
	Time   time.Time
	Result ReloadResult
	// Err is why the configuration was refused, or what failed applying it; nil when it applied.
	Err error
}

// NeedsRestartError refuses a reload that changes settings a running process cannot change.
type NeedsRestartError struct {
	// Keys are the top-level settings that changed ("data_dir", "admin", "cluster").
	Keys []string
}

func (e *NeedsRestartError) Error() string {
	return "reload refused, needs a restart: " + strings.Join(e.Keys, ", ") + " (nothing was changed; the running pipelines keep going; restart logshipper to apply it)"
}

// LastReload returns the outcome of the latest reload (zero Time when there was none).
func (a *App) LastReload() ReloadStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// ReloadFile reads the configuration file again (the path the running configuration was read
// from, with the checks of `run`) and applies it with Reload. A file with problems is refused
// whole: the pipelines keep running, and the problems, each with its line, are logged and kept
// for LastReload.
func (a *App) ReloadFile(ctx context.Context) (ReloadResult, error) {
	path := a.config().Path
	opts := append([]config.Option{config.CheckHost()}, LoadOptions()...)
	cfg, err := config.Load(path, a.reg, config.Resolver{}, opts...)
	if err != nil {
		err = fmt.Errorf("reload refused, the running pipelines keep going: %w", err)
		a.log.Error("configuration not reloaded", "config", path, "error", err)
		a.record(ReloadResult{}, err)
		return ReloadResult{}, err
	}
	return a.Reload(ctx, cfg)
}

// Reload applies newCfg to the running process (Run must be running): components (plugin
// configurations linked by SIEM mappings) whose plugin configurations, mappings and rules are
// the same run on untouched; the others are stopped as Run stops on its end (sources stop,
// batches in flight are delivered within shutdown_timeout, positions saved) and those of
// newCfg started. Settings that cannot change while running (data_dir, log, admin,
// memory_limit, the sections such as cluster) refuse the whole reload with a
// *NeedsRestartError, and nothing changes. When a new plugin configuration cannot be built,
// the components stopped are started again from the running configuration, and the error
// returned. ctx bounds opening spools.
func (a *App) Reload(ctx context.Context, newCfg *config.Config) (ReloadResult, error) {
	res, err := a.reload(ctx, newCfg)
	a.record(res, err)
	switch {
	case err != nil:
		a.log.Error("configuration not reloaded", "config", newCfg.Path, "error", err)
	case res.Changed():
		p := res.Plugins
		a.log.Info("configuration reloaded", "config", newCfg.Path, "kept", p.Kept, "restarted", p.Restarted, "started", p.Started, "stopped", p.Stopped)
	default:
		a.log.Info("configuration reloaded: nothing to restart", "config", newCfg.Path, "kept", res.Plugins.Kept)
	}
	return res, err
}

func (a *App) record(res ReloadResult, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last = ReloadStatus{Time: time.Now(), Result: res, Err: err}
}

func (a *App) reload(ctx context.Context, newCfg *config.Config) (ReloadResult, error) {
	if a.job != nil {
		return ReloadResult{}, errors.New("reload: a backfill does not reload its configuration")
	}
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	a.mu.Lock()
	runCtx, old, running := a.runCtx, a.cfg, slices.Clone(a.comps)
	a.mu.Unlock()
	if runCtx == nil {
		return ReloadResult{}, errors.New("reload: logshipper is not running")
	}
	if keys := restartKeys(old, newCfg); len(keys) > 0 {
		return ReloadResult{}, &NeedsRestartError{Keys: keys}
	}

	want := components(a.mappings(newCfg))
	var (
		keep, stop []*runningComponent
		add        []component
		next       = make([]*runningComponent, len(want)) // in newCfg's order
	)
	matched := map[*runningComponent]bool{}
	for i, c := range want {
		for _, rc := range running {
			if !matched[rc] && sameComponent(rc.component, old, c, newCfg) {
				matched[rc], next[i] = true, rc
				keep = append(keep, rc)
				break
			}
		}
		if next[i] == nil {
			add = append(add, c)
		}
	}
	for _, rc := range running {
		if !matched[rc] {
			stop = append(stop, rc)
		}
	}
	res := result(keep, stop, add)
	if len(stop) == 0 && len(add) == 0 {
		a.mu.Lock()
		a.cfg = newCfg
		a.mu.Unlock()
		return res, nil
	}

	a.mu.Lock()
	a.reloading = true
	a.pending = map[string]string{}
	for _, rc := range stop {
		for _, p := range rc.plugins {
			a.pending[p] = "stopping for a reload"
		}
	}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.reloading, a.pending = false, nil
		a.mu.Unlock()
		a.notifyEnded()
	}()

	a.stopAll(stop)
	built, err := a.buildAll(ctx, newCfg, add)
	cfg := newCfg
	var down map[string]string // what stays stopped, when even the running configuration fails
	if err != nil {
		// Back to what ran: the components stopped are built from the running configuration.
		err = fmt.Errorf("reload: %w; the plugin configurations stopped run again from the previous configuration", err)
		back, berr := a.buildAll(ctx, old, componentsOf(stop))
		if berr != nil {
			err = errors.Join(err, fmt.Errorf("reload: starting them again failed, they stay stopped until the next reload or restart: %w", berr))
			down = map[string]string{}
			for _, rc := range stop {
				for _, p := range rc.plugins {
					down[p] = "stopped by a reload that could not start it again: " + berr.Error()
				}
			}
		}
		built, cfg, res = back, old, result(keep, stop, componentsOf(stop))
		next = append(slices.DeleteFunc(slices.Clone(running), func(rc *runningComponent) bool { return !matched[rc] }), back...)
	} else {
		j := 0
		for i := range next {
			if next[i] == nil {
				next[i] = built[j]
				j++
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rc := range built {
		a.start(runCtx, rc)
	}
	a.comps = slices.DeleteFunc(next, func(rc *runningComponent) bool { return rc == nil })
	a.cfg = cfg
	a.down = down
	return res, err
}

// stopAll stops the components at once and waits until each has stopped (its batches in flight
// delivered, or the shutdown timeout reached).
func (a *App) stopAll(stop []*runningComponent) {
	var wg sync.WaitGroup
	for _, rc := range stop {
		wg.Go(func() {
			rc.cancel()
			<-rc.done
			if rc.err != nil {
				a.log.Warn("a component stopped for a reload had errors", "plugins", rc.plugins, "error", rc.err)
			}
		})
	}
	wg.Wait()
}

// buildAll builds the components of cfg, or none when one fails.
func (a *App) buildAll(ctx context.Context, cfg *config.Config, cs []component) ([]*runningComponent, error) {
	var out []*runningComponent
	for _, c := range cs {
		rc, err := a.buildComponent(ctx, cfg, c)
		if err != nil {
			for _, b := range out {
				_ = b.closeSpools()
			}
			return nil, err
		}
		out = append(out, rc)
	}
	return out, nil
}

func componentsOf(rcs []*runningComponent) []component {
	out := make([]component, 0, len(rcs))
	for _, rc := range rcs {
		out = append(out, rc.component)
	}
	return out
}

// result sorts the plugin configurations and mappings of the components kept, stopped and
// added.
func result(keep, stop []*runningComponent, add []component) ReloadResult {
	type names struct{ plugins, mappings map[string]bool }
	collect := func(cs []component) names {
		n := names{map[string]bool{}, map[string]bool{}}
		for _, c := range cs {
			for _, p := range c.plugins {
				n.plugins[p] = true
			}
			for _, m := range c.mappings {
				n.mappings[m.Name] = true
			}
		}
		return n
	}
	k, s, ad := collect(componentsOf(keep)), collect(componentsOf(stop)), collect(add)
	sortOut := func(kept, stopped, added map[string]bool) Changes {
		var c Changes
		for n := range kept {
			c.Kept = append(c.Kept, n)
		}
		for n := range stopped {
			if added[n] {
				c.Restarted = append(c.Restarted, n)
			} else {
				c.Stopped = append(c.Stopped, n)
			}
		}
		for n := range added {
			if !stopped[n] {
				c.Started = append(c.Started, n)
			}
		}
		for _, l := range []*[]string{&c.Kept, &c.Restarted, &c.Started, &c.Stopped} {
			sort.Strings(*l)
		}
		return c
	}
	return ReloadResult{
		Plugins:  sortOut(k.plugins, s.plugins, ad.plugins),
		Mappings: sortOut(k.mappings, s.mappings, ad.mappings),
	}
}

// restartKeys are the top-level settings that differ between a and b and that a running
// process cannot change: where its stores are, its log, its admin listener, its memory limit,
// and the sections its caller added (cluster). shutdown_timeout applies to the components a
// reload starts.
func restartKeys(a, b *config.Config) []string {
	var keys []string
	if a.DataDir != b.DataDir {
		keys = append(keys, "data_dir")
	}
	if a.Log != b.Log {
		keys = append(keys, "log")
	}
	if a.Admin != b.Admin {
		keys = append(keys, "admin")
	}
	if a.MemoryLimit != b.MemoryLimit {
		keys = append(keys, "memory_limit")
	}
	if a.StateSyncInterval != b.StateSyncInterval {
		keys = append(keys, "state_sync_interval")
	}
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(a.Sections, b.Sections))) {
		if !reflect.DeepEqual(a.Sections[k], b.Sections[k]) {
			keys = append(keys, k)
		}
	}
	return keys
}

func mergeKeys(a, b map[string]any) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
