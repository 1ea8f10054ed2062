package main

import (
	"fmt"

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
		Short: "Run the built-in demonstration on its embedded configuration",
		Long: `demo writes sample Netskope-shaped alerts (with a few broken lines) under --dir, runs the
embedded configuration over them (a business rule, two destinations, dead letters) and
prints what arrived where. It then runs again over the same files to show that positions
saved after delivery keep anything from being read twice.`,
		Example: `  logshipper demo
  logshipper demo --records 200000 --dir /tmp/ls-demo
  logshipper demo --print-config > my.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if printConfig {
				_, err := cmd.OutOrStdout().Write(demo.Config)
				return err
			}
			if o.Records < 1 {
				return fmt.Errorf("--records must be at least 1")
			}
			o.Out, o.Log = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return demo.Run(cmd.Context(), reg, o)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", "demo-data", "working directory (emptied first)")
	cmd.Flags().IntVar(&o.Records, "records", 10000, "alerts to generate")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "random seed of the generated alerts")
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the embedded configuration and exit")
	return cmd
}
