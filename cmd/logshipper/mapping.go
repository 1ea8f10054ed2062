package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/telemetry"
)

func newMappingCmd(reg *plugin.Registry) *cobra.Command {
	cmd := &cobra.Command{Use: "mapping", Short: "Work with mappings"}
	var path, dest, input, kind, subtype string
	preview := &cobra.Command{
		Use:   "preview -c FILE --destination NAME --input RECORDS",
		Short: "Print exactly what a destination would be sent for sample records",
		Long: `preview builds the destination from the configuration (without sending anything) and
prints, for each sample record (NDJSON or a JSON array; - for standard input), what it would
send, or why the record would not be sent (unmapped subtype, UBA alert, invalid record).
--kind and --subtype say what the samples are, as a source would (the netskope source sets
them from the endpoint it read: netskope/alert and dlp for alerts/dlp). With --kind
netskope/alert and no --subtype, each sample's subtype is its own alert_type.`,
		Example: `  logshipper mapping preview -c examples/netskope-to-cloudtrail-lake.yaml --destination cloudtrail-lake --input examples/records.ndjson --kind netskope/alert
  logshipper mapping preview -c examples/netskope-to-cloudtrail-lake.yaml --destination cloudtrail-lake --input examples/records.ndjson --kind netskope/alert --subtype dlp`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, path, reg)
			if err != nil {
				return err
			}
			p, ok := cfg.Plugin(dest)
			if !ok || p.Kind != plugin.KindDestination {
				return fmt.Errorf("no destination is named %q in %s", dest, path)
			}
			log := telemetry.NewLogger(cmd.ErrOrStderr(), telemetry.LogConfig{Level: "warn", Format: "text"})
			pv, err := app.NewPreviewer(reg, log, p)
			if err != nil {
				return err
			}
			defer pv.Close(cmd.Context())
			recs, err := readSamples(input, cmd.InOrStdin())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			hinted := false
			for _, s := range recs {
				s.Record.Source = "preview"
				s.Record.Kind, s.Record.Subtype = event.Kind(kind), app.SampleSubtype(s.Record, event.Kind(kind), subtype)
				got, err := pv.Preview(s.Record)
				if err != nil {
					fmt.Fprintf(out, "%s: not sent: %v\n", s.Where, err)
					if kind == "" && !hinted {
						hinted = true
						fmt.Fprintln(cmd.ErrOrStderr(), "hint: --kind and --subtype say what the samples are (a destination such as CloudTrail Lake maps records by them)")
					}
					continue
				}
				fmt.Fprintf(out, "%s: %s\n", s.Where, got)
			}
			return nil
		},
	}
	preview.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	preview.Flags().StringVar(&dest, "destination", "", "name of the destination")
	preview.Flags().StringVar(&input, "input", "", "sample records: NDJSON or a JSON array; - for standard input")
	preview.Flags().StringVar(&kind, "kind", "", "what the samples are, as their source would say: netskope/alert, netskope/event, cloudtrail; none when empty")
	preview.Flags().StringVar(&subtype, "subtype", "", "the samples' subtype: the Netskope alert or event type (dlp, audit, ...), the CloudTrail eventType")
	_ = preview.MarkFlagRequired("destination")
	_ = preview.MarkFlagRequired("input")
	cmd.AddCommand(preview)
	return cmd
}
