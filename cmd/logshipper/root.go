package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/plugins/all"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// buildInfo is what the binary knows about its own build.
type buildInfo struct {
	Version  string // -ldflags version, else the module version, else "dev"
	Revision string // vcs.revision: the commit built; "" when not stamped
	Time     string // vcs.time: the commit's time
	Modified bool   // vcs.modified: the tree had uncommitted changes
}

// readBuildInfo describes this binary: the version set with -ldflags, the module version and
// the VCS stamp that go build embeds (runtime/debug.ReadBuildInfo).
func readBuildInfo() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return describeBuild(version, bi)
}

// describeBuild combines a version set with -ldflags (may be empty) with the build
// information Go embeds (may be nil).
func describeBuild(ldVersion string, bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: ldVersion}
	if bi != nil {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// Short is the version as metrics and logs carry it: the version, and for a development
// build the commit's first 12 hex digits (+dirty when the tree had changes).
func (b buildInfo) Short() string {
	if b.Version != "dev" || b.Revision == "" {
		return b.Version
	}
	s := b.Version + "-" + shortRevision(b.Revision)
	if b.Modified {
		s += "+dirty"
	}
	return s
}

// String is the version command's line, without the program name.
func (b buildInfo) String() string {
	parts := []string{}
	if b.Revision != "" {
		c := "commit " + shortRevision(b.Revision)
		if b.Modified {
			c += " (modified)"
		}
		parts = append(parts, c)
	}
	if b.Time != "" {
		parts = append(parts, b.Time)
	}
	parts = append(parts, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
	return b.Version + " (" + strings.Join(parts, ", ") + ")"
}

func shortRevision(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

// buildVersion is the version metrics and plugins are told.
func buildVersion() string { return readBuildInfo().Short() }

// exitCode is an error that only carries the process's exit status: what went wrong was
// already printed.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func asExit(err error, ec *exitCode) bool { return errors.As(err, ec) }

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "logshipper",
		Short: "Move security logs between clouds and SIEMs, reliably and fast",
		Long: `logshipper pulls records from sources (Netskope tenants, CloudWatch Logs, files),
filters them with business rules, maps them and delivers them to destinations
(CloudTrail Lake, syslog SIEMs, HTTP, files), at least once, with every drop counted.

One YAML file holds the plugin configurations, the business rules and the SIEM
mappings that connect them. See examples/ and docs/.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	reg := all.Registry()
	root.AddCommand(
		newRunCmd(reg),
		newBackfillCmd(reg),
		newDemoCmd(reg),
		newValidateCmd(reg),
		newRulesCmd(reg),
		newMappingCmd(reg),
		newPluginsCmd(reg),
		newClusterCmd(reg, liveCluster()),
		newStateCmd(reg, liveCluster()),
		newDeadletterCmd(reg),
		newVersionCmd(),
	)
	return root
}

// loadConfig loads the configuration at path. When the file has problems it prints them all to
// stderr and returns exitCode(1): the caller only returns the error.
func loadConfig(cmd *cobra.Command, path string, reg *plugin.Registry) (*config.Config, error) {
	opts := append([]config.Option{config.CheckHost()}, app.LoadOptions()...)
	cfg, err := config.Load(path, reg, config.Resolver{}, opts...)
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Fprintln(cmd.ErrOrStderr(), ce.Error())
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d problem(s)\n", path, len(ce.Problems))
		return nil, exitCode(1)
	}
	return cfg, err
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "logshipper %s\n", readBuildInfo())
			return nil
		},
	}
}

func newPluginsCmd(reg *plugin.Registry) *cobra.Command {
	return &cobra.Command{
		Use:   "plugins",
		Short: "List the plugin types this binary knows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			for _, f := range reg.Factories() {
				fmt.Fprintf(w, "%-12s %-22s %s\n", f.Kind, f.Type, f.Summary)
			}
			return nil
		},
	}
}
