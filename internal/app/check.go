package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// ErrNoCheck is CheckPlugin's answer for a plugin type that has no live check.
var ErrNoCheck = errors.New("not checked (this plugin type has no check)")

// ErrCannotBuild is CheckPlugin's answer, wrapped with the reason, when the plugin
// configuration cannot be built to be checked.
var ErrCannotBuild = errors.New("cannot build")

// CheckTimeout bounds one plugin configuration's live check.
const CheckTimeout = 30 * time.Second

// CheckPlugin runs the live check of `validate --check` on plugin configuration p: it builds
// it on a throw-away state store in dir (a running logshipper keeps its data_dir), asks it to
// check its credentials, permissions and target against the outside world, and closes it. A
// type that cannot check itself is not built (so the check creates none of its files) and
// gives ErrNoCheck. dir "" makes a temporary directory, removed on return.
func CheckPlugin(ctx context.Context, reg *plugin.Registry, log *slog.Logger, p *config.Plugin, dir string) error {
	f, ok := reg.Lookup(p.Type, p.Kind)
	if !ok {
		return fmt.Errorf("no %s of type %q", p.Kind, p.Type)
	}
	if !f.Checks {
		return ErrNoCheck
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "logshipper-check-")
		if err != nil {
			return fmt.Errorf("check %s: %w", p.Name, err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	set := plugin.Settings{Name: p.Name, Logger: log.With("plugin", p.Name), Metrics: telemetry.NewMetrics("").Plugin(p.Name),
		State: state.NewMemory().Namespace(p.Name), DataDir: dir}
	var inst any
	var err error
	switch p.Kind {
	case plugin.KindSource:
		inst, err = f.NewSource(p.Options, set)
	case plugin.KindDestination:
		inst, err = f.NewDestination(p.Options, set)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCannotBuild, err)
	}
	if d, isDest := inst.(plugin.Destination); isDest {
		defer func() { _ = d.Close(context.WithoutCancel(ctx)) }()
	}
	c, can := inst.(plugin.Checker)
	if !can {
		return ErrNoCheck
	}
	cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	return c.Check(cctx)
}

// ErrNoPreview is NewPreviewer's answer for a destination that sends records as they are.
var ErrNoPreview = errors.New("sends records as they are: nothing to preview")

// previewer is a destination that can show what it would send for a record.
type previewer interface {
	Preview(r *event.Record) (string, error)
}

// Previewer shows what a destination would send for a record, as `mapping preview` does:
// the destination is built from its configuration (in a temporary directory, on a throw-away
// state store) and sends nothing.
type Previewer struct {
	dst plugin.Destination
	pv  previewer
	dir string
}

// NewPreviewer builds destination configuration p to preview records (ErrNoPreview, wrapped,
// when its type has no preview). Close it when done.
func NewPreviewer(reg *plugin.Registry, log *slog.Logger, p *config.Plugin) (*Previewer, error) {
	if p.Kind != plugin.KindDestination {
		return nil, fmt.Errorf("%s is a %s, not a destination", p.Name, p.Kind)
	}
	f, ok := reg.Lookup(p.Type, p.Kind)
	if !ok {
		return nil, fmt.Errorf("no destination of type %q", p.Type)
	}
	dir, err := os.MkdirTemp("", "logshipper-preview-")
	if err != nil {
		return nil, err
	}
	d, err := f.NewDestination(p.Options, plugin.Settings{Name: p.Name, Logger: log.With("plugin", p.Name),
		Metrics: telemetry.NewMetrics("").Plugin(p.Name), State: state.NewMemory().Namespace(p.Name), DataDir: dir})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("destination %s: %w", p.Name, err)
	}
	pv, ok := d.(previewer)
	if !ok {
		_ = d.Close(context.Background())
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("destination %s (%s) %w", p.Name, p.Type, ErrNoPreview)
	}
	return &Previewer{dst: d, pv: pv, dir: dir}, nil
}

// Preview is what the destination would send for r, or why it would not send it.
func (p *Previewer) Preview(r *event.Record) (string, error) { return p.pv.Preview(r) }

// Close closes the destination and removes its directory.
func (p *Previewer) Close(ctx context.Context) error {
	err := p.dst.Close(ctx)
	return errors.Join(err, os.RemoveAll(p.dir))
}

// SampleSubtype is the subtype a sample record is previewed as: subtype when given; for a
// Netskope alert without one, the record's own alert_type, spelled as the netskope source
// spells an endpoint's type.
func SampleSubtype(r *event.Record, kind event.Kind, subtype string) string {
	if subtype != "" || kind != event.KindNetskopeAlert {
		return subtype
	}
	var f struct {
		AlertType string `json:"alert_type"`
	}
	if err := json.Unmarshal(r.Raw, &f); err != nil {
		return ""
	}
	return event.NetskopeSubtype(f.AlertType)
}
