package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// DeadLetters is where refused, invalid and too-large records go.
type DeadLetters interface {
	Put(plugin string, entries []deadletter.Entry) error
}

// Dropper counts, logs and dead-letters the input a source had to drop. It logs the first drop
// of each reason, then at most one line per LogEvery with how many were dropped since: a file
// of garbage must not flood the log (each drop is counted and, when kept, in the dead letters).
type Dropper struct {
	Name     string
	DLQ      DeadLetters
	Metrics  *telemetry.PluginMetrics
	Logger   *slog.Logger
	LogEvery time.Duration // 0 means 10s

	mu     sync.Mutex
	logged map[plugin.Reason]time.Time
	quiet  map[plugin.Reason]int // drops not logged since the last line
}

var _ plugin.Dropper = (*Dropper)(nil)

// Drop implements plugin.Dropper.
func (d *Dropper) Drop(_ context.Context, raw []byte, reason plugin.Reason, err error) error {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if reason.Deadletters() && d.DLQ != nil {
		e := deadletter.Entry{Time: time.Now().UTC(), Plugin: d.Name, Source: d.Name, Reason: string(reason), Error: msg}
		e.SetRecord(raw)
		if perr := d.DLQ.Put(d.Name, []deadletter.Entry{e}); perr != nil {
			d.Metrics.Errors.Inc()
			d.Logger.Error("could not keep a dropped record in the dead-letter store; the source will try it again", "reason", reason, "error", perr)
			return fmt.Errorf("keep dropped record: %w", perr)
		}
	}
	d.Metrics.Dropped(string(reason), 1)
	d.log(reason, msg, len(raw))
	return nil
}

func (d *Dropper) log(reason plugin.Reason, msg string, size int) {
	every := d.LogEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	d.mu.Lock()
	if d.logged == nil {
		d.logged, d.quiet = map[plugin.Reason]time.Time{}, map[plugin.Reason]int{}
	}
	now := time.Now()
	if last, ok := d.logged[reason]; ok && now.Sub(last) < every {
		d.quiet[reason]++
		d.mu.Unlock()
		return
	}
	since := d.quiet[reason]
	d.logged[reason], d.quiet[reason] = now, 0
	d.mu.Unlock()
	if since > 0 {
		d.Logger.Warn("record dropped", "reason", reason, "error", msg, "bytes", size, "also_dropped_since_last_line", since)
		return
	}
	d.Logger.Warn("record dropped", "reason", reason, "error", msg, "bytes", size)
}
