package app

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/plugins/all"
)

type builtConfig struct{}

func (*builtConfig) Validate() error { return nil }

type builtDest struct{}

func (builtDest) Write(context.Context, []*event.Record) error { return nil }
func (builtDest) Close(context.Context) error                  { return nil }

// The destination a replay builds logs with plugin=<name> once, as under run.
func TestReplayedDestinationLogsItsNameOnce(t *testing.T) {
	reg, err := plugin.NewRegistry(append(all.Registry().Factories(), plugin.Factory{
		Type: "built", Kind: plugin.KindDestination, Summary: "test: says it was built",
		NewConfig: func() plugin.Config { return &builtConfig{} },
		NewDestination: func(_ plugin.Config, set plugin.Settings) (plugin.Destination, error) {
			set.Logger.Info("destination built")
			return builtDest{}, nil
		},
	})...)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("data_dir: "+dir+"\nplugins: [{name: in, type: file, paths: [x]}, {name: out, type: built}]\nsiem_mappings: [{source: in, destination: out}]\n"), "c.yaml", reg, config.Resolver{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var logs bytes.Buffer
	r := &ReplaySenders{Config: cfg, Registry: reg, Log: slog.New(slog.NewTextHandler(&logs, nil)), DB: db}
	defer r.Close(context.Background())
	if _, err := r.sender("out"); err != nil {
		t.Fatal(err)
	}
	line := logs.String()
	if !strings.Contains(line, "destination built") || strings.Count(line, "plugin=out") != 1 {
		t.Errorf("the built destination's line names its plugin %d times; want once:\n%s", strings.Count(line, "plugin=out"), line)
	}
}
