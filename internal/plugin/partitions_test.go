package plugin

import (
	"context"
	"testing"
	"time"
)

// progressLease records its progress reports.
type progressLease struct {
	ownLease
	reports []time.Time
}

func (l *progressLease) Progress(at time.Time) { l.reports = append(l.reports, at) }

func TestReportProgress(t *testing.T) {
	at := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		at   time.Time
		want int
	}{
		{"a time", at, 1},
		{"unknown (zero) is not reported", time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &progressLease{ownLease: ownLease{context.Background()}}
			ReportProgress(l, tt.at)
			if len(l.reports) != tt.want || tt.want == 1 && !l.reports[0].Equal(tt.at) {
				t.Errorf("reports = %v; want %d of %s", l.reports, tt.want, tt.at)
			}
		})
	}
	// A single process's lease carries no progress: reporting to it is harmless.
	own, err := AllPartitions{}.Acquire(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := own.(ProgressLease); ok {
		t.Error("AllPartitions' lease is a ProgressLease; a single process needs none")
	}
	ReportProgress(own, at)
}
