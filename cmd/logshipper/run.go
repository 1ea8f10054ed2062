package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/telemetry"
)

func newRunCmd(reg *plugin.Registry) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run -c FILE",
		Short: "Run the SIEM mappings of a configuration",
		Long: `run starts every plugin configuration used by a SIEM mapping and moves records until
it is stopped. SIGINT or SIGTERM stops it gracefully: sources stop reading, in-flight
records get shutdown_timeout to be delivered, positions are saved, and it exits 0.
A second signal exits at once (nothing is lost: unacknowledged records are read again
on the next start). When every source has finished on its own (files read with
follow: false), run delivers what is in flight and exits.`,
		Example: `  logshipper run -c examples/file-to-file.yaml
  # values from the environment: data_dir: ${LOGSHIPPER_DATA:-/var/lib/logshipper}
  LOGSHIPPER_DATA=/srv/ls logshipper run -c /etc/logshipper.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, path, reg)
			if err != nil {
				return err
			}
			log := setUpProcess(cmd.ErrOrStderr(), cfg)
			a, err := app.New(cmd.Context(), cfg, reg, log, buildVersion())
			if err != nil {
				log.Error("cannot start", "error", err)
				return exitCode(1)
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			defer signal.Stop(sigs)
			go func() {
				s, ok := <-sigs
				if !ok {
					return
				}
				log.Info("signal received: stopping gracefully (send it again to exit at once)", "signal", s.String())
				cancel()
				if s, ok = <-sigs; ok {
					log.Warn("second signal: exiting at once", "signal", s.String())
					os.Exit(130)
				}
			}()
			if err := a.Run(ctx); err != nil {
				log.Error("stopped with errors", "error", err)
				return exitCode(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	return cmd
}

// setUpProcess is what every command that runs plugins (run, backfill) does with a loaded
// configuration before it builds them: the logger, the configuration's warnings, the memory
// limit.
func setUpProcess(stderr io.Writer, cfg *config.Config) *slog.Logger {
	log := telemetry.NewLogger(stderr, cfg.Log)
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	setMemoryLimit(cfg, log)
	return log
}

// setMemoryLimit applies memory_limit unless GOMEMLIMIT is set (the runtime read it already).
func setMemoryLimit(cfg *config.Config, log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" || cfg.MemoryLimit <= 0 {
		return
	}
	debug.SetMemoryLimit(int64(cfg.MemoryLimit))
	log.Debug("memory limit set", "memory_limit", cfg.MemoryLimit.String())
}
