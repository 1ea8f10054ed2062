package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/internal/telemetry"
)

func newStateCmd(reg *plugin.Registry, dial clusterDial) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Export the state of a data directory, or import it into a cluster",
		Long: `A single logshipper keeps its sources' positions in <data_dir>/state.db; in cluster
mode they live in the cluster's JetStream key-value store. export and import move them
from one to the other (docs/cluster.md: moving to a cluster).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newStateExportCmd(reg), newStateImportCmd(reg, dial))
	return cmd
}

func newStateExportCmd(reg *plugin.Registry) *cobra.Command {
	var path, dataDir, out string
	cmd := &cobra.Command{
		Use:   "export -c FILE",
		Short: "Write the state of a data directory as JSON lines",
		Long: `export writes every key of <data_dir>/state.db (the configuration's data_dir, or
--data-dir) as JSON lines: {"namespace": "plugin/<name>", "key": ..., "value": <base64>}.
The logshipper that uses the directory must be stopped (it holds the file's lock). The
file is left as it is.`,
		Example: `  logshipper state export -c examples/file-to-file.yaml -o state.jsonl`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, path, reg)
			if err != nil {
				return err
			}
			if dataDir == "" {
				dataDir = cfg.DataDir
			}
			file := filepath.Join(dataDir, state.FileName)
			if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(cmd.ErrOrStderr(), "exported 0 keys: there is no %s (logshipper never ran on this data_dir; --data-dir names another)\n", file)
				return nil
			}
			n, err := exportState(cmd.Context(), dataDir, out, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d keys of %s\n", n, file)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the data directory to export (default: the configuration's data_dir)")
	cmd.Flags().StringVarP(&out, "output", "o", "-", `file to write ("-": standard output)`)
	return cmd
}

// exportState writes the state file of dataDir to the file out ("-": stdout).
func exportState(ctx context.Context, dataDir, out string, stdout io.Writer) (int, error) {
	db, err := state.Open(dataDir)
	if err != nil {
		return 0, fmt.Errorf("state export: %w", err)
	}
	defer db.Close()
	w := stdout
	if out != "-" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return 0, fmt.Errorf("state export: %w", err)
		}
		defer f.Close()
		w = f
		n, err := state.Export(ctx, db, w)
		if err != nil {
			return n, err
		}
		if err := f.Close(); err != nil {
			return n, fmt.Errorf("state export: %w", err)
		}
		return n, nil
	}
	return state.Export(ctx, db, w)
}

func newStateImportCmd(reg *plugin.Registry, dial clusterDial) *cobra.Command {
	var path, in string
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "import -c FILE",
		Short: "Write exported state into the cluster's store",
		Long: `import reads what state export wrote and writes the sources' positions (the
namespaces plugin/<name>) into the state store of the configuration's cluster: section.
Spool indexes (spool/<name>) stay with their spool files in data_dir and are not imported.

Run it before starting the members: it refuses while other members are live (their
positions would be overwritten under them). A key the cluster already holds with another
value is a conflict: import then writes nothing and lists them, unless --overwrite.`,
		Example: `  logshipper state import -c examples/cluster.yaml -i state.jsonl`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, cc, err := loadClusterConfig(cmd, path, reg)
			if err != nil {
				return err
			}
			r := cmd.InOrStdin()
			if in != "-" {
				f, err := os.Open(in)
				if err != nil {
					return fmt.Errorf("state import: %w", err)
				}
				defer f.Close()
				r = f
			}
			var entries []state.Entry
			if err := state.ReadEntries(r, func(_ int, e state.Entry) error { entries = append(entries, e); return nil }); err != nil {
				return fmt.Errorf("state import: %s: %w", in, err)
			}
			log := telemetry.NewLogger(cmd.ErrOrStderr(), telemetry.LogConfig{Level: "warn", Format: "text"})
			ctx, cancel := context.WithTimeout(cmd.Context(), clusterTimeout)
			defer cancel()
			// The importer is a member of its own name for as long as it writes.
			ic := *cc
			ic.Node = cc.Node + "-import"
			c, err := dial.join(ctx, ic, log)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "state import: cannot reach the cluster through %s: %v\n", strings.Join(cc.URLs, ", "), err)
				return exitCode(1)
			}
			defer func() { _ = c.Close() }()
			st, err := c.Status(ctx)
			if err != nil {
				return fmt.Errorf("state import: read the members: %w", err)
			}
			var live []string
			for _, m := range st.Members {
				if m.Node != ic.Node {
					live = append(live, m.Node)
				}
			}
			if len(live) > 0 {
				return fmt.Errorf("state import: members %s are running: stop them first (import writes the positions they read)", strings.Join(live, ", "))
			}
			res, err := importState(ctx, c.Store(), entries, overwrite)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "imported %d keys (%d unchanged) of %d sources into %s\n", res.written, res.unchanged, len(res.plugins), cc)
			for _, p := range res.plugins {
				if _, ok := cfg.Plugin(p); !ok {
					fmt.Fprintf(cmd.ErrOrStderr(), "state import: warning: %s has no plugin configuration %q: its state was imported but nothing reads it\n", path, p)
				}
			}
			if res.skipped > 0 {
				fmt.Fprintf(w, "kept out: %d keys of %s (spool indexes stay in data_dir with their files)\n", res.skipped, strings.Join(res.skippedNS, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file with a cluster: section")
	cmd.Flags().StringVarP(&in, "input", "i", "-", `file to read, as state export wrote it ("-": standard input)`)
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace keys the cluster already holds with another value")
	return cmd
}

// importResult is what importState did.
type importResult struct {
	written, unchanged, skipped int
	plugins                     []string // the sources whose state was imported, sorted
	skippedNS                   []string // the namespaces kept out, sorted
}

// pluginNamespace is the prefix of the namespaces that hold the sources' state (internal/app
// gives each plugin "plugin/<name>").
const pluginNamespace = "plugin/"

// importState writes the entries of the plugin/<name> namespaces into root, as internal/app
// opens them: root.Namespace("plugin/<name>"), then one Namespace for each further '/'-separated
// name. Every key is checked before any is written: one root already holds with another value
// is a conflict, and without overwrite nothing is written.
func importState(ctx context.Context, root namespacer, entries []state.Entry, overwrite bool) (importResult, error) {
	var res importResult
	type target struct {
		store state.Store
		e     state.Entry
	}
	var todo []target
	var conflicts []string
	stores := map[string]state.Store{}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Namespace, pluginNamespace)
		if !ok || rest == "" {
			res.skipped++
			if !slices.Contains(res.skippedNS, e.Namespace) {
				res.skippedNS = append(res.skippedNS, e.Namespace)
			}
			continue
		}
		s, ok := stores[e.Namespace]
		if !ok {
			names := strings.Split(rest, "/")
			s = root.Namespace(pluginNamespace + names[0])
			for _, n := range names[1:] {
				s = s.Namespace(n)
			}
			stores[e.Namespace] = s
			if !slices.Contains(res.plugins, names[0]) {
				res.plugins = append(res.plugins, names[0])
			}
		}
		have, err := s.Get(ctx, e.Key)
		switch {
		case errors.Is(err, state.ErrNotFound):
		case err != nil:
			return res, fmt.Errorf("state import: read %s %s: %w", e.Namespace, e.Key, err)
		case bytes.Equal(have, e.Value):
			res.unchanged++
			continue
		default:
			conflicts = append(conflicts, e.Namespace+" "+e.Key)
		}
		todo = append(todo, target{s, e})
	}
	slices.Sort(res.plugins)
	slices.Sort(res.skippedNS)
	if len(conflicts) > 0 && !overwrite {
		shown := conflicts
		if len(shown) > 10 {
			shown = shown[:10]
		}
		return res, fmt.Errorf("state import: the cluster already holds %d of these keys with other values (%s%s): nothing written; --overwrite replaces them",
			len(conflicts), strings.Join(shown, "; "), map[bool]string{true: "; ...", false: ""}[len(conflicts) > len(shown)])
	}
	for _, t := range todo {
		if err := t.store.Put(ctx, t.e.Key, t.e.Value); err != nil {
			return res, fmt.Errorf("state import: write %s %s (%d keys written before it): %w", t.e.Namespace, t.e.Key, res.written, err)
		}
		res.written++
	}
	return res, nil
}

// namespacer gives the store of one namespace: state.DB, state.Memory, a cluster's store.
type namespacer interface {
	Namespace(name string) state.Store
}

var (
	_ namespacer = (*state.DB)(nil)
	_ namespacer = (*state.Memory)(nil)
	_ namespacer = state.Store(nil)
)
