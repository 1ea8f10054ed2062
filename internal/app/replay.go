package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
)

// ReplaySenders builds each destination a dead-letter replay needs once, from the
// configuration, as run builds it (NewDestination), and hands it the replayed records
// (deadletter.Sender). The `deadletter replay` command and the console use it.
type ReplaySenders struct {
	Config   *config.Config
	Registry *plugin.Registry
	Log      *slog.Logger
	DB       *state.DB
	Attempts int // tries of a batch that fails transiently; 0: deadletter.DefaultAttempts

	senders map[string]*deadletter.Sender
	errs    map[string]error
}

func (r *ReplaySenders) sender(name string) (*deadletter.Sender, error) {
	if s, ok := r.senders[name]; ok {
		return s, nil
	}
	if err, ok := r.errs[name]; ok {
		return nil, err
	}
	if r.senders == nil {
		r.senders, r.errs = map[string]*deadletter.Sender{}, map[string]error{}
	}
	s, err := r.build(name)
	if err != nil {
		r.errs[name] = err
		return nil, err
	}
	r.senders[name] = s
	return s, nil
}

func (r *ReplaySenders) build(name string) (*deadletter.Sender, error) {
	if p, ok := r.Config.Plugin(name); ok && p.Kind == plugin.KindSource {
		return nil, fmt.Errorf("%s is a source: its entries are input it could not read, which no destination takes as it is (show them, fix them at their origin, purge them)", name)
	}
	// NewDestination gives the destination its logger with plugin=<name>, as run does.
	dst, opts, err := NewDestination(r.Config, r.Registry, r.Log, r.DB, name)
	if err != nil {
		return nil, fmt.Errorf("cannot build destination %s from %s: %w", name, r.Config.Path, err)
	}
	return &deadletter.Sender{Destination: dst, MaxRecords: opts.MaxRecords, MaxBytes: opts.MaxBytes, Retry: opts.Retry, Attempts: r.Attempts, Log: r.Log.With("plugin", name)}, nil
}

// Deliver is a deadletter.DeliverFunc sending recs to dest.
func (r *ReplaySenders) Deliver(ctx context.Context, dest string, recs []*event.Record) []error {
	s, err := r.sender(dest)
	if err != nil {
		return repeatErr(err, len(recs))
	}
	return s.Deliver(ctx, recs)
}

// ErrDryRun marks the records a dry run would send: not sent, so not removed.
var ErrDryRun = errors.New("would be sent (dry run)")

// Check is a deadletter.DeliverFunc that builds dest and sends nothing: every record fails
// with ErrDryRun (so nothing is removed), or with why dest cannot be built.
func (r *ReplaySenders) Check(_ context.Context, dest string, recs []*event.Record) []error {
	if _, err := r.sender(dest); err != nil {
		return repeatErr(err, len(recs))
	}
	return repeatErr(ErrDryRun, len(recs))
}

func repeatErr(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

// Close closes the destinations built.
func (r *ReplaySenders) Close(ctx context.Context) {
	for name, s := range r.senders {
		if err := s.Destination.Close(ctx); err != nil {
			r.Log.Warn("closing the destination", "plugin", name, "error", err)
		}
	}
}
