package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/plugins/all"
)

// captured keeps the Settings each plugin instance was built with.
type captured struct {
	mu  sync.Mutex
	set map[string]plugin.Settings
}

type emptyConfig struct{}

func (*emptyConfig) Validate() error { return nil }

type idleSource struct{}

func (idleSource) Run(ctx context.Context, _ plugin.Publisher) error { <-ctx.Done(); return nil }

type nullDestination struct{}

func (nullDestination) Write(context.Context, []*event.Record) error { return nil }
func (nullDestination) Close(context.Context) error                  { return nil }

// registry is every plugin of the binary and "capture", a source and a destination that keep
// their Settings in c.
func (c *captured) registry(t *testing.T) *plugin.Registry {
	t.Helper()
	keep := func(set plugin.Settings) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.set[set.Name] = set
	}
	fs := append(all.Registry().Factories(),
		plugin.Factory{Type: "capture", Kind: plugin.KindSource, Summary: "test", NewConfig: func() plugin.Config { return &emptyConfig{} },
			NewSource: func(_ plugin.Config, set plugin.Settings) (plugin.Source, error) { keep(set); return idleSource{}, nil }},
		plugin.Factory{Type: "capture", Kind: plugin.KindDestination, Summary: "test", NewConfig: func() plugin.Config { return &emptyConfig{} },
			NewDestination: func(_ plugin.Config, set plugin.Settings) (plugin.Destination, error) {
				keep(set)
				return nullDestination{}, nil
			}},
	)
	reg, err := plugin.NewRegistry(fs...)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// In cluster mode every source and destination is given the member's share of the API quotas
// (1 for the only member); in a single process none (the whole quota).
func TestPluginsAreGivenTheMembersShare(t *testing.T) {
	tests := []struct {
		name    string
		cluster bool
	}{
		{"single process", false},
		{"cluster member", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			section := ""
			if tc.cluster {
				srv := clustertest.Start(t, 1)
				section = fmt.Sprintf("cluster: {urls: [%s], node: ls-1, replicas: 1, lease_ttl: 2s}\n", strings.Join(srv.URLs(), ", "))
			}
			yaml := fmt.Sprintf(`data_dir: %s
admin: {listen: ""}
%splugins:
  - {name: in, type: capture}
  - {name: out, type: capture, kind: destination}
siem_mappings:
  - {source: in, destination: out}
`, filepath.Join(dir, "data"), section)
			c := &captured{set: map[string]plugin.Settings{}}
			reg := c.registry(t)
			cfg, err := config.Parse([]byte(yaml), "t.yaml", reg, config.Resolver{}, app.LoadOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			a, err := app.New(ctx, cfg, reg, slog.New(slog.NewTextHandler(io.Discard, nil)), "test")
			if err != nil {
				t.Fatal(err)
			}
			stopped, stop := context.WithCancel(ctx)
			stop()
			if err := a.Run(stopped); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"in", "out"} {
				set, ok := c.set[name]
				switch {
				case !ok:
					t.Errorf("%s was not built", name)
				case !tc.cluster && set.Share != nil:
					t.Errorf("%s: Share %T in a single process; want nil (the whole quota)", name, set.Share)
				case tc.cluster && set.Share == nil:
					t.Errorf("%s: no Share in cluster mode", name)
				case tc.cluster && set.Share.Quota("PutAuditEvents/r/a", 100).Fraction() != 1:
					t.Errorf("%s: the only member's share is %v; want 1", name, set.Share.Quota("PutAuditEvents/r/a", 100).Fraction())
				}
			}
		})
	}
}
