package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

func newRulesCmd(reg *plugin.Registry) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Work with business rules",
	}
	var (
		path, rule, input string
		matchesOnly       bool
	)
	test := &cobra.Command{
		Use:   "test -c FILE --rule NAME --input RECORDS",
		Short: "Show which records a business rule matches",
		Long: `test evaluates one business rule of the configuration against sample records (NDJSON,
or a JSON array; - reads standard input) and prints, for each record, whether it matches.
With --matches-only it prints only the matching records, as NDJSON, for piping.`,
		Example: `  logshipper rules test -c examples/fan-out-with-rules.yaml --rule high-severity-dlp --input examples/records.ndjson
  logshipper rules test -c examples/fan-out-with-rules.yaml --rule high-severity-dlp --input - --matches-only < examples/records.ndjson`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, path, reg)
			if err != nil {
				return err
			}
			r, ok := cfg.Rules.Get(rule)
			if !ok {
				return fmt.Errorf("no business rule is named %q in %s (rules: %s)", rule, path, strings.Join(cfg.Rules.Names(), ", "))
			}
			recs, err := readSamples(input, cmd.InOrStdin())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			matched := 0
			for _, s := range recs {
				ok, err := r.Match(s.Record)
				if ok {
					matched++
				}
				switch {
				case matchesOnly && ok:
					fmt.Fprintf(out, "%s\n", s.Record.Raw)
				case matchesOnly:
				case err != nil:
					fmt.Fprintf(out, "%s: no match (%v)\n", s.Where, err)
				case ok:
					fmt.Fprintf(out, "%s: match     %s\n", s.Where, preview(s.Record.Raw))
				default:
					fmt.Fprintf(out, "%s: no match  %s\n", s.Where, preview(s.Record.Raw))
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "rule %s: %d of %d records match\n", rule, matched, len(recs))
			return nil
		},
	}
	test.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	test.Flags().StringVar(&rule, "rule", "", "name of the business rule")
	test.Flags().StringVar(&input, "input", "", "sample records: NDJSON or a JSON array; - for standard input")
	test.Flags().BoolVar(&matchesOnly, "matches-only", false, "print only the matching records, as NDJSON")
	_ = test.MarkFlagRequired("rule")
	_ = test.MarkFlagRequired("input")
	cmd.AddCommand(test)
	return cmd
}

// readSamples reads the sample records of path (- for stdin), NDJSON or a JSON array, each
// named by its line or index.
func readSamples(path string, stdin io.Reader) ([]event.Sample, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
		path = "stdin"
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	return event.ParseSamples(data, path)
}

func preview(raw []byte) string {
	const max = 100
	if len(raw) <= max {
		return string(raw)
	}
	return string(raw[:max]) + "..."
}
