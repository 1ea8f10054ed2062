package pipeline

import (
	"context"
	"log/slog"
	"time"

	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// DeadLetters is where refused, invalid and too-large records go.
type DeadLetters interface {
	Put(plugin string, entries []deadletter.Entry) error
}

// Dropper counts, logs and dead-letters the input a source had to drop.
type Dropper struct {
	Name    string
	DLQ     DeadLetters
	Metrics *telemetry.PluginMetrics
	Logger  *slog.Logger
}

var _ plugin.Dropper = (*Dropper)(nil)

// Drop implements plugin.Dropper.
func (d *Dropper) Drop(_ context.Context, raw []byte, reason plugin.Reason, err error) {
	d.Metrics.Dropped(string(reason), 1)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if reason.Deadletters() && d.DLQ != nil {
		e := deadletter.Entry{Time: time.Now().UTC(), Plugin: d.Name, Source: d.Name, Reason: string(reason), Error: msg}
		e.SetRecord(raw)
		if perr := d.DLQ.Put(d.Name, []deadletter.Entry{e}); perr != nil {
			d.Logger.Error("could not keep a dropped record in the dead-letter store", "reason", reason, "error", perr)
			return
		}
	}
	d.Logger.Warn("record dropped", "reason", reason, "error", msg, "bytes", len(raw))
}
