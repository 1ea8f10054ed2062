// Command cloudsim plays the outside world for logshipper's demo, tests and benchmarks: a
// Netskope tenant, AWS CloudWatch Logs, CloudTrail Lake and STS behind SigV4, and an EC2
// instance metadata service, all on loopback.
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
)

func main() {
	if err := newRootCmd(os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "cloudsim:", err)
		os.Exit(1)
	}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "cloudsim",
		Short:         "Local simulators of Netskope and AWS for logshipper",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(), newLakeCmd())
	return root
}

func newServeCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve [-c cloudsim.yaml]",
		Short: "Serve the simulators until interrupted",
		Long: `serve starts the Netskope tenant, the AWS services (CloudWatch Logs, CloudTrail Lake,
STS; one SigV4-checking listener), the EC2 metadata service and the admin endpoint, prints
where they listen and the credentials they accept, and serves until SIGINT or SIGTERM.
Without -c it serves the demo's world on 127.0.0.1:4566-4569.`,
		Example: `  cloudsim serve
  cloudsim serve -c examples/cloudsim.yaml
  aws logs describe-log-groups --endpoint-url http://127.0.0.1:4566 --region us-east-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cloudsim.Load(path)
			if err != nil {
				return err
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			sim, err := cloudsim.Start(cfg)
			if err != nil {
				return err
			}
			defer sim.Close()
			sim.PrintEndpoints(cmd.OutOrStdout())
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			select {
			case <-ctx.Done():
				return nil
			case err := <-sim.Done():
				return err
			}
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "configuration file (default: the demo's world)")
	return cmd
}

func newLakeCmd() *cobra.Command {
	lake := &cobra.Command{Use: "lake", Short: "Look at what CloudTrail Lake received"}
	var (
		admin, channel, source, from, to string
		limit                            int
	)
	query := &cobra.Command{
		Use:   "query",
		Short: "Print the events a running cloudsim's lake holds, as NDJSON",
		Example: `  cloudsim lake query --event-source netskopealert.dlp --limit 10
  cloudsim lake query --from 2026-11-23T00:00:00Z --to 2026-11-24T00:00:00Z | wc -l`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"channel": channel, "eventSource": source, "from": from, "to": to} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if limit > 0 {
				q.Set("limit", fmt.Sprint(limit))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/lake/events?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("is cloudsim serving at %s? %w", admin, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				return fmt.Errorf("%s: %s", resp.Status, b)
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			_, err = io.Copy(w, resp.Body)
			return err
		},
	}
	query.Flags().StringVar(&admin, "admin", "http://127.0.0.1:4569", "cloudsim's admin address")
	query.Flags().StringVar(&channel, "channel", "", "channel ARN")
	query.Flags().StringVar(&source, "event-source", "", "eventSource, e.g. netskopealert.dlp")
	query.Flags().StringVar(&from, "from", "", "earliest eventTime (RFC 3339)")
	query.Flags().StringVar(&to, "to", "", "latest eventTime (RFC 3339)")
	query.Flags().IntVar(&limit, "limit", 0, "most events to print (0: all)")
	lake.AddCommand(query)
	return lake
}
