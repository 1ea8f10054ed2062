package main

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/console"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/telemetry"
)

func newRunCmd(reg *plugin.Registry) *cobra.Command {
	var (
		path        string
		watchConfig bool
	)
	cmd := &cobra.Command{
		Use:   "run -c FILE",
		Short: "Run the SIEM mappings of a configuration",
		Long: `run starts every plugin configuration used by a SIEM mapping and moves records until
it is stopped. SIGINT or SIGTERM stops it gracefully: sources stop reading, in-flight
records get shutdown_timeout to be delivered, positions are saved, and it exits 0.
A second signal exits at once (nothing is lost: unacknowledged records are read again
on the next start). When every source has finished on its own (files read with
follow: false), run delivers what is in flight and exits.

SIGHUP reads the file again and applies it without a restart: only the pipelines (plugin
configurations linked by SIEM mappings) whose configuration changed are stopped (drained,
positions saved) and started again; the others never pause. With --watch-config the file
is polled every second and applied the same way when it changes. A file with problems is
refused whole and the running pipelines keep going; so is a change of data_dir, log,
admin, memory_limit or cluster, which needs a restart.`,
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
			// With a console, every line also goes to its Logging page.
			var hub *console.LogHub
			if cc := app.ConsoleConfig(cfg); cc != nil && cc.Listen != "" {
				hub = console.NewLogHub(consoleLogLines)
				log = slog.New(hub.Handler(log.Handler()))
			}
			// SIGHUP is taken from here on: its default would end the process.
			hups := make(chan os.Signal, 1)
			signal.Notify(hups, syscall.SIGHUP)
			defer signal.Stop(hups)
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
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hups:
						log.Info("SIGHUP received: reloading the configuration", "config", path)
						_, _ = a.ReloadFile(ctx) // ReloadFile logs what it did or why not
					}
				}
			}()
			if watchConfig {
				go watchFile(ctx, path, time.Second, log, func() { _, _ = a.ReloadFile(ctx) })
			}
			stopConsole, err := a.ServeConsole(ctx, hub)
			if err != nil {
				log.Error("cannot start the console", "error", err)
				cancel()
				_ = a.Run(ctx) // releases what New took
				return exitCode(1)
			}
			defer stopConsole()
			if err := a.Run(ctx); err != nil {
				log.Error("stopped with errors", "error", err)
				return exitCode(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	cmd.Flags().BoolVar(&watchConfig, "watch-config", false, "apply the configuration file whenever it changes (polled every second), as SIGHUP does")
	return cmd
}

// consoleLogLines is how many of the latest log lines the console's Logging page holds.
const consoleLogLines = 5000

// watchFile calls changed whenever the content of the file at path changes, looking every
// interval until ctx ends: at its modification time and size, and, when either moved, at a
// hash of its content (a save that leaves the content as it was calls nothing). A file that
// cannot be read is logged once and looked at again.
func watchFile(ctx context.Context, path string, interval time.Duration, log *slog.Logger, changed func()) {
	type stamp struct {
		mod  time.Time
		size int64
	}
	look := func() (stamp, [sha256.Size]byte, error) {
		fi, err := os.Stat(path)
		if err != nil {
			return stamp{}, [sha256.Size]byte{}, err
		}
		b, err := os.ReadFile(path)
		return stamp{fi.ModTime(), fi.Size()}, sha256.Sum256(b), err
	}
	last, sum, err := look()
	failing := err != nil
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fi, err := os.Stat(path)
		if err == nil && (stamp{fi.ModTime(), fi.Size()}) == last {
			continue
		}
		st, s, err := look()
		if err != nil {
			if !failing {
				log.Warn("watching the configuration file: cannot read it; the running configuration stays", "config", path, "error", err)
				failing = true
			}
			continue
		}
		failing = false
		last = st
		if s == sum {
			continue
		}
		sum = s
		log.Info("the configuration file changed: reloading it", "config", path)
		changed()
	}
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
