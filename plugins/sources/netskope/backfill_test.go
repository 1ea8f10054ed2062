package netskope

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
)

// Backfill pulls exactly the records inserted in [from, to) through indexes of its own, reports
// its progress, and returns once every endpoint passed to.
func TestBackfill(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name     string
		from, to time.Time
	}{
		{"past range", now.Add(-30 * time.Hour), now.Add(-20 * time.Hour)},
		{"until the near future", now.Add(-3 * time.Hour), now.Add(1500 * time.Millisecond)},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, sim.Options{Seed: 11, PageSize: 20, RateLimit: -1, Generators: map[string]sim.Generator{
				"events/audit": {Backlog: 480, BacklogSpan: 48 * time.Hour},
				"alerts/dlp":   {Backlog: 480, BacklogSpan: 48 * time.Hour},
			}})
			cfg := w.config([]string{"audit"}, []string{"dlp"})
			s, _ := newSource(t, cfg, nil)
			fast(s, 200)
			var want []string
			for _, ep := range []struct {
				kind sim.Kind
				typ  string
			}{{sim.Events, "audit"}, {sim.Alerts, "dlp"}} {
				for _, r := range w.tenant.Records(ep.kind, ep.typ) {
					if r.Inserted >= c.from.Unix() && r.Inserted < c.to.Unix() {
						want = append(want, r.ID)
					}
				}
			}
			slices.Sort(want)

			var mu sync.Mutex
			var progress []plugin.BackfillProgress
			pub := plugintest.NewPublisher(plugintest.AckAsync)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := s.Backfill(ctx, pub, plugin.BackfillRange{From: c.from, To: c.to, Progress: func(p plugin.BackfillProgress) {
				mu.Lock()
				progress = append(progress, p)
				mu.Unlock()
			}})
			if err != nil || ctx.Err() != nil {
				t.Fatalf("Backfill: %v (ctx %v)", err, ctx.Err())
			}
			if got := idsOf(pub.Records()); !slices.Equal(got, want) {
				t.Errorf("backfill published %d ids, want %d; missing %v, extra %v", len(got), len(want), missing(want, got), missing(got, want))
			}
			last := map[string]plugin.BackfillProgress{}
			for _, p := range progress {
				if prev, ok := last[p.Part]; ok && (prev.Done || p.Records < prev.Records || p.Position.Before(prev.Position)) {
					t.Errorf("progress went back or went on after done: %+v then %+v", prev, p)
				}
				last[p.Part] = p
			}
			var total int64
			for _, ep := range []string{"events/audit", "alerts/dlp"} {
				p, ok := last[ep]
				if !ok || !p.Done {
					t.Errorf("%s: last progress %+v; want done", ep, p)
				}
				total += p.Records
			}
			if total != int64(len(pub.Records())) {
				t.Errorf("progress counted %d records, %d were published", total, len(pub.Records()))
			}
			for _, r := range w.requests("") {
				if !strings.HasPrefix(r.index, "lsbackfill_") {
					t.Fatalf("backfill used index %q; the live index must not move", r.index)
				}
			}
			if op := w.requests("")[0].op; op != opEpoch(c.from.Unix()) {
				t.Errorf("backfill seeded with operation=%s; want %d", op, c.from.Unix())
			}
		})
	}
}

func TestBackfillArguments(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1})
	s, _ := newSource(t, w.config([]string{"audit"}, nil), nil)
	now := time.Now()
	for _, o := range []plugin.BackfillRange{{}, {From: now}, {From: now, To: now}, {From: now, To: now.Add(-time.Hour)}} {
		if err := s.Backfill(context.Background(), plugintest.NewPublisher(plugintest.AckAsync), o); err == nil {
			t.Errorf("Backfill(%+v) accepted", o)
		}
	}
}

// Backfill of a past range meets three broken answers (a proxy's 200 HTML page) in the middle of
// the range: the source asks for the page again until the tenant answers it, and Backfill
// returns nil only once every record of the range is published.
func TestBackfillReadsWholeRangePastBrokenAnswers(t *testing.T) {
	now := time.Now()
	from, to := now.Add(-30*time.Hour), now.Add(-20*time.Hour)
	w := newWorld(t, sim.Options{Seed: 11, PageSize: 20, RateLimit: -1, Generators: map[string]sim.Generator{
		"alerts/dlp": {Backlog: 480, BacklogSpan: 48 * time.Hour},
	}})
	var nexts, broken atomic.Int32
	w.setIntercept(func(rw http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Query().Get("operation") == opNext && nexts.Add(1) == 2 {
			broken.Store(1)
		}
		if b := broken.Load(); b >= 1 && b <= 3 {
			broken.Add(1)
			page(rw, `<html>proxy says no</html>`)
			return true
		}
		return false
	})
	var want []string
	for _, r := range w.tenant.Records(sim.Alerts, "dlp") {
		if r.Inserted >= from.Unix() && r.Inserted < to.Unix() {
			want = append(want, r.ID)
		}
	}
	s, _ := newSource(t, w.config(nil, []string{"dlp"}), nil)
	fast(s, 200)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var last plugin.BackfillProgress
	err := s.Backfill(ctx, pub, plugin.BackfillRange{From: from, To: to, Progress: func(p plugin.BackfillProgress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if m := missing(sortedCopy(want), idsOf(pub.Records())); len(m) > 0 {
		t.Fatalf("Backfill returned nil (last progress %+v) with %d of %d records of the range never read; requests %v", last, len(m), len(want), w.requests(""))
	}
}
