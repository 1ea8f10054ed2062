// Package app wires a loaded configuration into a running engine: it opens the state store and
// the dead-letter store under data_dir, builds every plugin instance with its settings, serves
// the admin endpoints, and runs until its context ends.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/pipeline"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// App is a configuration ready to run.
type App struct {
	cfg     *config.Config
	log     *slog.Logger
	metrics *telemetry.Metrics
	db      *state.DB
	dlq     *deadletter.Store
	engine  *pipeline.Engine
}

// New opens data_dir (failing at once if another process owns it) and builds every plugin
// configuration used by a SIEM mapping.
func New(cfg *config.Config, reg *plugin.Registry, log *slog.Logger, version string) (*App, error) {
	db, err := state.Open(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	dlq, err := deadletter.Open(filepath.Join(cfg.DataDir, "deadletter"))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	a := &App{cfg: cfg, log: log, metrics: telemetry.NewMetrics(version), db: db, dlq: dlq}
	if err := a.build(reg); err != nil {
		_ = a.close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(reg *plugin.Registry) error {
	used := map[string]bool{}
	for _, r := range a.cfg.SIEMMappings {
		used[r.Source], used[r.Destination] = true, true
	}
	var (
		sources []pipeline.SourceSpec
		dests   []pipeline.DestinationSpec
	)
	for _, p := range a.cfg.Plugins {
		if !used[p.Name] {
			continue
		}
		f, _ := reg.Lookup(p.Type, p.Kind)
		set, err := a.settings(p)
		if err != nil {
			return err
		}
		switch p.Kind {
		case plugin.KindSource:
			set.Dropper = &pipeline.Dropper{Name: p.Name, DLQ: a.dlq, Metrics: set.Metrics, Logger: set.Logger}
			src, err := f.NewSource(p.Options, set)
			if err != nil {
				return fmt.Errorf("plugin %s (%s): %w", p.Name, p.Type, err)
			}
			sources = append(sources, pipeline.SourceSpec{Name: p.Name, Source: src, EPS: p.EPS, Metrics: set.Metrics, Logger: set.Logger, Dropper: set.Dropper})
		case plugin.KindDestination:
			dst, err := f.NewDestination(p.Options, set)
			if err != nil {
				return fmt.Errorf("plugin %s (%s): %w", p.Name, p.Type, err)
			}
			dests = append(dests, pipeline.DestinationSpec{Name: p.Name, Destination: dst, Metrics: set.Metrics, Logger: set.Logger, Options: DestinationOptions(p)})
		}
	}
	var routes []pipeline.RouteSpec
	for _, r := range a.cfg.SIEMMappings {
		rule, _ := a.cfg.Rules.Get(r.Rule)
		routes = append(routes, pipeline.RouteSpec{Name: r.Name, Source: r.Source, Destination: r.Destination, Rule: rule})
	}
	e, err := pipeline.New(pipeline.Options{Logger: a.log, DeadLetters: a.dlq, ShutdownTimeout: a.cfg.ShutdownTimeout}, sources, dests, routes)
	if err != nil {
		return err
	}
	a.engine = e
	return nil
}

// DestinationOptions turns a destination's shared keys into engine options.
func DestinationOptions(p *config.Plugin) pipeline.DestinationOptions {
	return pipeline.DestinationOptions{
		MaxRecords: p.Batch.MaxRecords,
		MaxBytes:   int(p.Batch.MaxBytes),
		MaxWait:    p.Batch.MaxWait,
		Retry:      pipeline.Backoff{Initial: p.Retry.InitialInterval, Max: p.Retry.MaxInterval},
		Workers:    p.Workers,
		QueueSize:  p.QueueSize,
		EPS:        p.EPS,
	}
}

func (a *App) settings(p *config.Plugin) (plugin.Settings, error) {
	dir := filepath.Join(a.cfg.DataDir, "plugins", p.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return plugin.Settings{}, fmt.Errorf("plugin %s: %w", p.Name, err)
	}
	return plugin.Settings{
		Name:    p.Name,
		Logger:  a.log.With("plugin", p.Name),
		Metrics: a.metrics.Plugin(p.Name),
		State:   a.db.Namespace("plugin/" + p.Name),
		DataDir: dir,
	}, nil
}

// Run serves the admin endpoints and runs the engine until ctx ends, then stops gracefully.
func (a *App) Run(ctx context.Context) error {
	defer func() {
		if err := a.close(); err != nil {
			a.log.Error("closing", "error", err)
		}
	}()
	if a.cfg.Admin.Listen != "" {
		stop, err := a.serveAdmin(a.cfg.Admin.Listen)
		if err != nil {
			return err
		}
		defer stop()
	}
	a.log.Info("logshipper running", "config", a.cfg.Path, "data_dir", a.cfg.DataDir, "routes", len(a.cfg.SIEMMappings), "admin", a.cfg.Admin.Listen)
	err := a.engine.Run(ctx)
	a.log.Info("logshipper stopped")
	return err
}

func (a *App) close() error {
	return errors.Join(a.dlq.Close(), a.db.Close())
}

// Metrics exposes the registry, for tests.
func (a *App) Metrics() *telemetry.Metrics { return a.metrics }
