package plugin

import (
	"log/slog"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/telemetry"
)

// The reasons a source repairs a record. Metrics use them as the `reason` label of
// logshipper_records_repaired_total.
const (
	// RepairInvalidUTF8: bytes that are not UTF-8 replaced by U+FFFD (jsonx.RepairUTF8).
	RepairInvalidUTF8 = "invalid_utf8"
)

// repairWarnEvery is the shortest time between two warnings of one Repairs.
const repairWarnEvery = 10 * time.Second

// Repairs counts the records a source changed so that they could go on, and warns about them:
// the first at once, then at most every 10 s, each line with the count since the line before
// and where the latest one was read. A nil *Repairs does nothing (builders in unit tests and
// benchmarks leave it out); the repair itself is the caller's.
type Repairs struct {
	log     *slog.Logger
	metrics *telemetry.PluginMetrics
	every   time.Duration

	mu      sync.Mutex
	last    time.Time
	pending int
}

// NewRepairs returns a Repairs that logs to log (a source's logger, or one of its partitions',
// with what names the partition) and counts in metrics (the source's).
func NewRepairs(log *slog.Logger, metrics *telemetry.PluginMetrics) *Repairs {
	return &Repairs{log: log, metrics: metrics, every: repairWarnEvery}
}

// Note counts one record repaired for reason; where are log attributes that say where it was
// read (a file and byte offset, an endpoint and record id, a log group, stream and event id).
func (r *Repairs) Note(reason string, where ...any) {
	if r == nil {
		return
	}
	if r.metrics != nil {
		r.metrics.Repaired(reason, 1)
	}
	r.mu.Lock()
	r.pending++
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.mu.Unlock()
		return
	}
	count := r.pending
	r.last, r.pending = now, 0
	r.mu.Unlock()
	if r.log == nil {
		return
	}
	r.log.Warn(repairMessage(reason), "reason", reason, "records", count, slog.Group("latest", where...))
}

func repairMessage(reason string) string {
	if reason == RepairInvalidUTF8 {
		return "records held bytes that are not UTF-8: each such byte was replaced by U+FFFD and the records sent on (logshipper_records_repaired_total)"
	}
	return "records were repaired and sent on (logshipper_records_repaired_total)"
}
