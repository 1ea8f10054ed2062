package netskope

import (
	"testing"

	"github.com/logshipper/logshipper/internal/plugintest"
)

// In cluster mode an endpoint one configuration reads is one partition with one owner: its
// pacer keeps the whole 4 requests/s. Read by several configurations with one token, it is
// several partitions that different members may own: its pacer keeps the member's share, and
// follows it.
func TestPacerSharedByPartitionsOfSeveralMembersIsDivided(t *testing.T) {
	audit := endpoint{"events", "audit"}
	tests := []struct {
		name   string
		others [][]string // event types of the other configurations on the tenant and token
		want   float64    // requests/s of the first configuration's audit pacer with a share of 1/4
	}{
		{"one configuration reads it", nil, RequestsPerSecond},
		{"another configuration reads other endpoints", [][]string{{"page"}}, RequestsPerSecond},
		{"two configurations read it", [][]string{{"audit"}}, RequestsPerSecond / 4},
		{"three configurations read it", [][]string{{"audit"}, {"audit", "page"}}, RequestsPerSecond / 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, simDefaults())
			share := plugintest.NewShare(0.25)
			ps := newPacers()
			set := plugintest.Settings(t, "first", nil)
			set.Share = share
			first, err := buildSource(w.config([]string{"audit"}, nil), set, ps)
			if err != nil {
				t.Fatal(err)
			}
			for i, types := range tc.others {
				cfg := w.config(types, nil)
				cfg.IndexPrefix = "other_" + string(rune('a'+i))
				set := plugintest.Settings(t, cfg.IndexPrefix, nil)
				set.Share = share
				if _, err := buildSource(cfg, set, ps); err != nil {
					t.Fatal(err)
				}
			}
			p := first.pacers.get(first.client, audit, first.tune.perSecond, first.set.ShareOf(), first.set.Logger)
			if got := p.lim.Limit(); got != tc.want {
				t.Errorf("pacer of %s: %v requests/s; want %v", audit, got, tc.want)
			}
			share.Set(0.5) // a member left
			want := tc.want
			if want != RequestsPerSecond {
				want = RequestsPerSecond / 2
			}
			if got := p.lim.Limit(); got != want {
				t.Errorf("pacer of %s with a share of 1/2: %v requests/s; want %v", audit, got, want)
			}
		})
	}
}
