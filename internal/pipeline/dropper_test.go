package pipeline

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/telemetry"
)

func TestDropperCountsKeepsAndThrottlesItsLog(t *testing.T) {
	var logb bytes.Buffer
	dlq := &memDLQ{}
	m := telemetry.NewMetrics("t").Plugin("src")
	d := &Dropper{Name: "src", DLQ: dlq, Metrics: m, Logger: slog.New(slog.NewTextHandler(&logb, nil)), LogEvery: time.Hour}
	for range 1000 {
		d.Drop(context.Background(), []byte("garbage"), plugin.ReasonInvalid, errors.New("not JSON"))
	}
	d.Drop(context.Background(), []byte(`{"a":1}`), plugin.ReasonFiltered, nil)
	if v := testutil.ToFloat64(m.DroppedCounter("invalid")); v != 1000 {
		t.Fatalf("invalid = %v", v)
	}
	if got := len(dlq.reasons()["invalid"]); got != 1000 {
		t.Fatalf("%d invalid records kept, want 1000", got)
	}
	if got := len(dlq.reasons()["filtered"]); got != 0 {
		t.Fatalf("a filtered record was dead-lettered")
	}
	if n := strings.Count(logb.String(), "record dropped"); n != 2 {
		t.Fatalf("%d log lines for 1001 drops of 2 reasons, want 2:\n%s", n, logb.String())
	}
}
