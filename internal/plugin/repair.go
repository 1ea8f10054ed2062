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
	lines   Spacer
}

// NewRepairs returns a Repairs that logs to log (a source's logger, or one of its partitions',
// with what names the partition) and counts in metrics (the source's).
func NewRepairs(log *slog.Logger, metrics *telemetry.PluginMetrics) *Repairs {
	return &Repairs{log: log, metrics: metrics, lines: Spacer{Every: repairWarnEvery}}
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
	count, due := r.lines.Note(1)
	if !due || r.log == nil {
		return
	}
	r.log.Warn(repairMessage(reason), "reason", reason, "records", count, slog.Group("latest", where...))
}

// Empties counts the containers of records (a CloudTrail file or delivery) a source read with
// no record in it (logshipper_records_dropped_total, reason empty), and says so in the log: the
// first at once, then at most every 10 s with the count since the line before. A nil *Empties
// does nothing.
type Empties struct {
	log     *slog.Logger
	metrics *telemetry.PluginMetrics
	lines   Spacer
}

// NewEmpties returns an Empties that logs to log and counts in metrics (the source's).
func NewEmpties(log *slog.Logger, metrics *telemetry.PluginMetrics) *Empties {
	return &Empties{log: log, metrics: metrics, lines: Spacer{Every: repairWarnEvery}}
}

// Note counts one empty container; where are log attributes that say where it was read.
func (e *Empties) Note(where ...any) {
	if e == nil {
		return
	}
	if e.metrics != nil {
		e.metrics.Dropped(string(ReasonEmpty), 1)
	}
	count, due := e.lines.Note(1)
	if !due || e.log == nil {
		return
	}
	e.log.Info("CloudTrail files or deliveries with no record in them: nothing to send", "count", count, slog.Group("latest", where...))
}

// Spacer spaces the log lines of something that may happen for every record: the first at
// once, then at most one every Every, each with the count since the line before. Its zero
// value logs every time. It is safe for concurrent use.
type Spacer struct {
	Every time.Duration

	mu      sync.Mutex
	last    time.Time
	pending int
}

// Note counts one occurrence (n of them) and reports whether a line is due, with the count
// since the line before (this one included).
func (s *Spacer) Note(n int) (count int, due bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending += n
	now := time.Now()
	if !s.last.IsZero() && now.Sub(s.last) < s.Every {
		return 0, false
	}
	count = s.pending
	s.last, s.pending = now, 0
	return count, true
}

func repairMessage(reason string) string {
	if reason == RepairInvalidUTF8 {
		return "records held bytes that are not UTF-8: each such byte was replaced by U+FFFD and the records sent on (logshipper_records_repaired_total)"
	}
	return "records were repaired and sent on (logshipper_records_repaired_total)"
}
