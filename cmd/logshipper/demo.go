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
		Short: "Run both journeys (Netskope → CloudTrail Lake, CloudTrail via CloudWatch Logs → a SIEM) against an in-process cloudsim",
		Long: `demo starts cloudsim in-process on free loopback ports: a Netskope tenant holding a
backlog of events and alerts over the last hours on every data-export endpoint, AWS
CloudTrail Lake and CloudWatch Logs, all injecting faults (5xx, bodies cut short,
throttling, late and out-of-order events), and a syslog receiver that plays the SIEM. It
runs the embedded configuration (--print-config) one journey after the other:

1. Netskope → CloudTrail Lake: the netskope source, a Cloud Exchange business rule, the
   aws_cloudtrail_lake destination and a file archive, until every record of the backlog is
   accounted for (sent, filtered or skipped with a reason); it stops gracefully, runs again
   on the same data directory to show that nothing is pulled twice, and prints what arrived
   in the lake.
2. CloudTrail via CloudWatch Logs → a SIEM: 395 real CloudTrail records put into the
   CloudTrail log streams of three regions, visible late and out of order; the
   aws_cloudwatch_logs source (gateway log-source identifiers), a rule keeping all but
   read-only calls, the syslog destination (CEF over TCP, octet counting) and a file archive,
   until every record is read and the SIEM received every message sent; it prints the records
   by region, how late they arrived, what the SIEM received by category (CEF cat=), the
   identifiers, and two messages as received (<dir>/siem/received.log holds them all).

Nothing leaves the machine.`,
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
	cmd.Flags().StringVar(&o.Dir, "dir", "demo-data", "working directory: state, archives, lake events, what the SIEM received, log (emptied first)")
	cmd.Flags().IntVar(&o.Records, "records", 10000, "records the Netskope tenant holds, spread over its 20 endpoints")
	cmd.Flags().Int64Var(&o.Seed, "seed", 1, "seed of the generated records and injected faults")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 2*time.Minute, "the longest each journey's first run may take to deliver its records")
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the embedded configuration and exit")
	return cmd
}
