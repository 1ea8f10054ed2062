package plugin_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

func TestQuotaLimiterFollowsTheShare(t *testing.T) {
	tests := []struct {
		name      string
		perSecond float64
		fractions []float64 // the first is the share's at the start, the others set in turn
		want      []float64 // Limit after each
	}{
		{"alone", 5, []float64{1}, []float64{5}},
		{"three members", 5, []float64{1.0 / 3}, []float64{5.0 / 3}},
		{"members join and leave", 100, []float64{1, 0.5, 0.25, 0.5, 1}, []float64{100, 50, 25, 50, 100}},
		{"a fraction outside (0, 1] counts as 1", 10, []float64{0.5, 0, 2}, []float64{5, 10, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			share := plugintest.NewShare(tc.fractions[0])
			q := plugin.NewQuotaLimiter(tc.perSecond, 1, share, nil)
			for i, f := range tc.fractions {
				if i > 0 {
					share.Set(f)
				}
				if got := q.Limit(); !near(got, tc.want[i]) {
					t.Errorf("share %v: Limit = %v; want %v", f, got, tc.want[i])
				}
			}
		})
	}
}

func TestQuotaLimiterWithoutShareHasTheWholeQuota(t *testing.T) {
	for _, share := range []plugin.Quota{nil, plugin.AllShare{}, plugin.Settings{}.ShareOf().Quota("PutAuditEvents/r/a", 4)} {
		if got := plugin.NewQuotaLimiter(4, 1, share, nil).Limit(); got != 4 {
			t.Errorf("share %T: Limit = %v; want 4", share, got)
		}
	}
}

// A Wait paces at the rate the share gives when it is called: after the share grows, calls
// come at the higher rate.
func TestQuotaLimiterWaitUsesTheNewRate(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("plugin", "lake")
	share := plugintest.NewShare(0.001) // 1 call per 1000 s: a second call would wait
	q := plugin.NewQuotaLimiter(1000, 1, share, log)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := q.Wait(ctx); err != nil { // the burst
		t.Fatal(err)
	}
	share.Set(1)
	start := time.Now()
	for range 10 {
		if err := q.Wait(ctx); err != nil {
			t.Fatalf("Wait after the share grew to 1: %v", err)
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("10 calls at 1000/s took %s", d)
	}
	if !strings.Contains(buf.String(), "per_second=1000") || !strings.Contains(buf.String(), "plugin=lake") {
		t.Errorf("the change is not logged with the new rate and plugin: %q", buf.String())
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// Every call a Wait lets through is told to the quota, which is how a cluster learns each
// member's use.
func TestQuotaLimiterTellsTheQuotaOfEachCall(t *testing.T) {
	share := plugintest.NewShare(1)
	q := plugin.NewQuotaLimiter(1000, 1, share.Quota("k", 1000), nil)
	for range 5 {
		if err := q.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := share.Taken(); got != 5 {
		t.Errorf("the quota was told of %d calls; want 5", got)
	}
	if got := share.Keys()["k"]; got != 1000 {
		t.Errorf("the quota asked for is %v per second; want 1000", got)
	}
}

// A quota key scopes by API and region and never shows a credential.
func TestQuotaKeyHidesTheCredential(t *testing.T) {
	a := plugin.QuotaKey("FilterLogEvents", "eu-west-1", "key:AKIAEXAMPLE@https://logs")
	b := plugin.QuotaKey("FilterLogEvents", "eu-west-1", "key:AKIAOTHER@https://logs")
	if a == b {
		t.Errorf("two credentials give one key %q", a)
	}
	if !strings.HasPrefix(a, "FilterLogEvents/eu-west-1/") || strings.Contains(a, "AKIA") {
		t.Errorf("key %q: want the API and region, and no credential", a)
	}
	if a != plugin.QuotaKey("FilterLogEvents", "eu-west-1", "key:AKIAEXAMPLE@https://logs") {
		t.Error("the same scope gives two keys")
	}
}
