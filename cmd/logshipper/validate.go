package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/plugin"
)

func newValidateCmd(reg *plugin.Registry) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "validate -c FILE",
		Short: "Check a configuration file and report every problem",
		Long: `validate reads the configuration as run would (strict keys, ${ENV} and ${file:PATH}
interpolation, defaults) and reports every problem at once, each with its line or path.
It exits 0 when the file is valid (warnings are printed but do not fail it), 1 otherwise.
Secrets are never printed.`,
		Example: `  logshipper validate -c examples/file-to-file.yaml`,
		Args:    cobra.NoArgs,
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
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	return cmd
}
