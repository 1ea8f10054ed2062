package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/telemetry"
)

func newValidateCmd(reg *plugin.Registry) *cobra.Command {
	var (
		path  string
		check bool
	)
	cmd := &cobra.Command{
		Use:   "validate -c FILE",
		Short: "Check a configuration file and report every problem",
		Long: `validate reads the configuration as run would (strict keys, ${ENV} and ${file:PATH}
interpolation, defaults) and reports every problem at once, each with its line or path.
It exits 0 when the file is valid (warnings are printed but do not fail it), 1 otherwise.
Secrets are never printed.

For each destination it prints the engine's settings it will run with: batch, retry, workers,
queue_size and spool_max_size, each as the file gives it or else the destination type's own default. (A
destination's hard limits, such as CloudTrail Lake's 100 events a call or the http
destination's max_body_bytes, can still cut batches smaller.)

With a cluster: section it prints the cluster's line (NATS servers, node, replicas).

With --check it also asks the outside world: each plugin configuration that can (CloudTrail
Lake: GetChannel; Netskope; http) checks its credentials, permissions and target, and says
which is wrong; the others are listed as "not checked". With a cluster: section, --check
connects to NATS and reports whether JetStream answers and how many replicas it can give a
bucket (FAILED when fewer than replicas). --check creates no file or directory of the
configuration, and nothing in the cluster.`,
		Example: `  logshipper validate -c examples/file-to-file.yaml
  logshipper validate -c examples/netskope-to-cloudtrail-lake.yaml --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, path, reg)
			if err != nil {
				return err
			}
			for _, w := range cfg.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %s\n", path, w)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%d plugin configurations, %d business rules, %d siem mappings)\n",
				path, len(cfg.Plugins), len(cfg.BusinessRules), len(cfg.SIEMMappings))
			if cc := app.ClusterConfig(cfg); cc != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "  cluster: %s\n", cc)
			}
			if cc := app.ConsoleConfig(cfg); cc != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "  console: %s\n", cc)
			}
			for _, p := range cfg.Plugins {
				if p.Kind == plugin.KindDestination {
					fmt.Fprintln(cmd.OutOrStdout(), deliveryLine(p))
				}
			}
			if check && !runChecks(cmd, cfg, reg) {
				return exitCode(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	cmd.Flags().BoolVar(&check, "check", false, "also check credentials, permissions and targets against the services")
	return cmd
}

// runChecks builds each plugin configuration that can check itself, on a throw-away state
// store and directory (a running logshipper keeps its data_dir), and prints one line for each
// plugin configuration: ok, FAILED, or not checked. A plugin that cannot check itself is not
// built, so that --check creates none of its files or directories.
func runChecks(cmd *cobra.Command, cfg *config.Config, reg *plugin.Registry) bool {
	out := cmd.OutOrStdout()
	var dir string
	defer func() {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
	}()
	log := telemetry.NewLogger(cmd.ErrOrStderr(), telemetry.LogConfig{Level: "warn", Format: "text"})
	ok := true
	if cc := app.ClusterConfig(cfg); cc != nil {
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		res, err := cluster.Check(ctx, *cc)
		cancel()
		line, good := clusterCheckLine(cc, res, err)
		fmt.Fprintln(out, line)
		ok = ok && good
	}
	for _, p := range cfg.Plugins {
		if f, _ := reg.Lookup(p.Type, p.Kind); f.Checks && dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "logshipper-check-"); err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "check:", err)
				return false
			}
		}
		switch err := app.CheckPlugin(cmd.Context(), reg, log, p, dir); {
		case errors.Is(err, app.ErrNoCheck):
			fmt.Fprintf(out, "check %s (%s): %v\n", p.Name, p.Type, err)
		case errors.Is(err, app.ErrCannotBuild):
			fmt.Fprintf(out, "check %s (%s): %v\n", p.Name, p.Type, err)
			ok = false
		case err != nil:
			fmt.Fprintf(out, "check %s (%s): FAILED: %v\n", p.Name, p.Type, err)
			ok = false
		default:
			fmt.Fprintf(out, "check %s (%s): ok\n", p.Name, p.Type)
		}
	}
	return ok
}

// clusterCheckLine is validate --check's line for the cluster section: ok when JetStream
// answers and can keep cc.Replicas copies of a bucket.
func clusterCheckLine(cc *cluster.Config, res cluster.CheckResult, err error) (string, bool) {
	head := fmt.Sprintf("check cluster (%s)", strings.Join(cc.URLs, ","))
	switch {
	case err != nil:
		return fmt.Sprintf("%s: FAILED: %v", head, err), false
	case !res.JetStream:
		return fmt.Sprintf("%s: FAILED: %s answers but JetStream is not enabled (start nats-server with -js, or jetstream {} in its configuration)", head, res.Server), false
	case res.Replicas < cc.Replicas:
		return fmt.Sprintf("%s: FAILED: replicas: %d, but the JetStream cluster of %s has %d server(s); lower replicas or add servers", head, cc.Replicas, res.Server, res.Replicas), false
	}
	return fmt.Sprintf("%s: ok (%s, JetStream on, up to %d replicas; replicas: %d)", head, res.Server, res.Replicas, cc.Replicas), true
}

// deliveryLine shows a destination's effective shared keys, in the configuration's own YAML flow
// form, so a line can be copied into an entry.
func deliveryLine(p *config.Plugin) string {
	return fmt.Sprintf("  %s (%s): batch: {max_records: %d, max_bytes: %s, max_wait: %s}, retry: {initial_interval: %s, max_interval: %s}, workers: %d, queue_size: %d, spool_max_size: %s",
		p.Name, p.Type, p.Batch.MaxRecords, p.Batch.MaxBytes, shortDuration(p.Batch.MaxWait),
		shortDuration(p.Retry.InitialInterval), shortDuration(p.Retry.MaxInterval), p.Workers, p.QueueSize, p.SpoolMaxSize)
}

// shortDuration writes d as time.Duration does, less its zero trailing units: 1m rather than
// 1m0s, 2h rather than 2h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
