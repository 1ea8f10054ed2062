package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/demo"
	"github.com/logshipper/logshipper/internal/plugin"
)

func newDemoCmd(reg *plugin.Registry) *cobra.Command {
	var (
		o           demo.Options
		printConfig bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the Netskope → CloudTrail Lake journey against an in-process cloudsim",
		Long: `demo starts cloudsim in-process on free loopback ports: a Netskope tenant holding a
backlog of events and alerts over the last hours on every data-export endpoint, and AWS
CloudTrail Lake, both injecting faults (5xx, bodies cut short, throttling). It runs the
embedded configuration (--print-config: the netskope source, a Cloud Exchange business rule,
the aws_cloudtrail_lake destination and a file archive) until every record of the backlog
is accounted for (sent, filtered or skipped with a reason), stops it gracefully, runs it
again on the same data directory to show that nothing is pulled twice, and prints what
arrived in the lake. Nothing leaves the machine.`,
		Example: `  logshipper demo
  logshipper demo --records 50000 --dir /tmp/ls-demo
  logshipper demo --print-config > my.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printConfig {
				_, err := cmd.OutOrStdout().Write(demo.Config)
				return err
			}
			if o.Records < 1 {
				return errors.New("--records must be at least 1")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.Out, o.Log = cmd.OutOrStdout(), cmd.ErrOrStderr()
			err := demo.Run(ctx, reg, o)
			if errors.Is(err, context.Canceled) {
				return errors.New("demo interrupted")
			}
			return err
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "demo-data", "working directory: state, archive, lake events, log (emptied first)")
	cmd.Flags().IntVar(&o.Records, "records", 10000, "records the Netskope tenant holds, spread over its 20 endpoints")
	cmd.Flags().Int64Var(&o.Seed, "seed", 1, "seed of the generated records and injected faults")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 2*time.Minute, "the longest the first run may take to deliver the backlog")
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the embedded configuration and exit")
	return cmd
}
