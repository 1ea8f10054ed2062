package plugintest

import (
	"context"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
)

func TestPartitionsRecordProgress(t *testing.T) {
	parts := NewPartitions("a")
	ctx := context.Background()
	la, err := parts.Node("a").Acquire(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	lb, err := parts.Node("a").Acquire(ctx, "k2")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	plugin.ReportProgress(la, t0)
	plugin.ReportProgress(lb, t0.Add(time.Minute))
	plugin.ReportProgress(la, t0.Add(time.Second))

	if got := parts.Progress("k1"); len(got) != 2 || got[0].At != t0 || got[1].Node != "a" {
		t.Errorf("Progress(k1) = %v; want the two reports on k1, in order", got)
	}
	if got, ok := parts.LastProgress("k1"); !ok || !got.At.Equal(t0.Add(time.Second)) {
		t.Errorf("LastProgress(k1) = %v, %v; want %s", got, ok, t0.Add(time.Second))
	}
	if _, ok := parts.LastProgress("k3"); ok {
		t.Error("LastProgress of a key nobody reported on is found")
	}
}
