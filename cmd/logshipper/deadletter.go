package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/spool"
	"github.com/logshipper/logshipper/internal/state"
	"github.com/logshipper/logshipper/internal/telemetry"
)

func newDeadletterCmd(reg *plugin.Registry) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deadletter",
		Short: "List, show, replay and purge the records kept in the dead-letter store",
		Long: `Records a destination refused for good (reason refused), records larger than a batch
may hold (too_large) and input a source could not read (invalid) are kept in
<data_dir>/deadletter/<name>.ndjson, one file per plugin configuration, with the reason
and the error. These commands look at them, send them again once the configuration is
fixed, or discard them (docs/deadletters.md).

list and show only read, and work while logshipper run is running. replay and purge
change the files, which a running logshipper appends to: they refuse while it holds
data_dir (stop it first).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newDeadletterListCmd(reg), newDeadletterShowCmd(reg), newDeadletterReplayCmd(reg), newDeadletterPurgeCmd(reg))
	return cmd
}

// deadletterFilterFlags are the flags that select entries by destination and reason.
type deadletterFilterFlags struct {
	destination, reason, since, until string
}

func (f *deadletterFilterFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.destination, "destination", "", "only the entries of this plugin configuration (a destination, or a source for input it could not read)")
	cmd.Flags().StringVar(&f.reason, "reason", "", "only the entries kept for this reason (refused, too_large, invalid, ...)")
	cmd.Flags().StringVar(&f.since, "since", "", "only the entries dead-lettered at or after this time (RFC 3339, a date, now, or before now: -24h, -7d)")
	cmd.Flags().StringVar(&f.until, "until", "", "only the entries dead-lettered before this time (as --since)")
}

func (f *deadletterFilterFlags) filter(now time.Time) (deadletter.Filter, error) {
	out := deadletter.Filter{Destination: f.destination, Reason: f.reason}
	var err error
	if f.since != "" {
		if out.Since, err = parseWhen(f.since, now); err != nil {
			return out, fmt.Errorf("--since: %w", err)
		}
	}
	if f.until != "" {
		if out.Until, err = parseWhen(f.until, now); err != nil {
			return out, fmt.Errorf("--until: %w", err)
		}
	}
	return out, nil
}

func (f *deadletterFilterFlags) set() bool {
	return f.destination != "" || f.reason != "" || f.since != "" || f.until != ""
}

// deadletterDir is where the configuration keeps its dead letters (internal/app opens the
// same directory).
func deadletterDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "deadletter") }

// openDeadletters opens the dead-letter store of cfg for reading.
func openDeadletters(cfg *config.Config) (*deadletter.Store, error) {
	if _, err := os.Stat(deadletterDir(cfg)); errors.Is(err, os.ErrNotExist) {
		// Nothing was ever dead-lettered: an empty store in a directory of its own, so that
		// reading does not create data_dir.
		return nil, nil
	}
	return deadletter.Open(deadletterDir(cfg))
}

// lockDataDir takes data_dir's lock (the state file's), which logshipper run holds while it
// runs, so that replay and purge never rewrite a file a running process appends to.
// openForChange is what replay and purge (verb) do first: the selection of the arguments, the
// configuration, the store, and data_dir's lock (refused while a logshipper holds it). A nil
// store with a nil error means there is nothing to act on, which it said (an error when ids
// were named).
func openForChange(cmd *cobra.Command, path string, reg *plugin.Registry, args []string, ff *deadletterFilterFlags, all bool, verb string) (deadletter.Selection, *config.Config, *deadletter.Store, *state.DB, error) {
	sel, err := selection(args, ff, all)
	if err != nil {
		return sel, nil, nil, nil, err
	}
	cfg, err := loadConfig(cmd, path, reg)
	if err != nil {
		return sel, nil, nil, nil, err
	}
	s, err := openDeadletters(cfg)
	if err != nil {
		return sel, cfg, nil, nil, err
	}
	if s == nil {
		fmt.Fprintf(cmd.OutOrStdout(), "nothing to %s: %s holds no dead letters\n", verb, deadletterDir(cfg))
		if len(sel.IDs) > 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "deadletter %s: no dead letter has the ids %s\n", verb, strings.Join(sel.IDs, ", "))
			return sel, cfg, nil, nil, exitCode(1)
		}
		return sel, cfg, nil, nil, nil
	}
	db, err := lockDataDir(cmd, cfg, verb)
	if err != nil {
		return sel, cfg, nil, nil, err
	}
	return sel, cfg, s, db, nil
}

func lockDataDir(cmd *cobra.Command, cfg *config.Config, what string) (*state.DB, error) {
	db, err := state.Open(cfg.DataDir)
	if errors.Is(err, state.ErrLocked) {
		fmt.Fprintf(cmd.ErrOrStderr(), "deadletter %s: %v\nA running logshipper appends to the dead-letter files: stop it first, then %s again.\n", what, err, what)
		return nil, exitCode(1)
	}
	if err != nil {
		return nil, fmt.Errorf("deadletter %s: %w", what, err)
	}
	return db, nil
}

func newDeadletterListCmd(reg *plugin.Registry) *cobra.Command {
	var (
		path   string
		asJSON bool
		ff     deadletterFilterFlags
	)
	cmd := &cobra.Command{
		Use:   "list -c FILE [--destination D] [--reason R] [--json]",
		Short: "List the dead letters, with counts by destination and reason, and what each spool holds",
		Long: `list prints how many entries each plugin configuration holds by reason, then each entry
the flags select: its id (for show, replay and purge), when it was dead-lettered, the
reason, the destination's error code, the record's own id and the error.

It also prints how many records each spool holds: the records of a destination stopped by
a fatal error (spool_max_size), which logshipper run sends by itself when the destination
starts again; replay does not touch them.`,
		Example: `  logshipper deadletter list -c examples/file-to-file.yaml
  logshipper deadletter list -c examples/file-to-file.yaml --destination archive --reason refused --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, path, reg)
			if err != nil {
				return err
			}
			f, err := ff.filter(time.Now())
			if err != nil {
				return err
			}
			l, err := readListing(cmd.Context(), cfg, f)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(l.json())
			}
			l.print(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the listing as JSON")
	ff.add(cmd)
	return cmd
}

// listing is what list prints.
type listing struct {
	dir     string
	counts  []deadletter.Count
	items   []deadletter.Item
	spools  []spoolHeld
	running bool // a logshipper holds data_dir: spool counts are read without its progress
}

type spoolHeld struct {
	destination string
	held        spool.Held
}

func readListing(ctx context.Context, cfg *config.Config, f deadletter.Filter) (listing, error) {
	l := listing{dir: deadletterDir(cfg)}
	s, err := openDeadletters(cfg)
	if err != nil {
		return l, err
	}
	if s != nil {
		if l.counts, err = s.Counts(f); err != nil {
			return l, err
		}
		if l.items, err = s.List(f); err != nil {
			return l, err
		}
	}
	l.spools, l.running, err = readSpools(ctx, cfg, f.Destination)
	return l, err
}

// readSpools counts the records in each spool under data_dir. The replay progress is read from
// the state file when no logshipper holds it; else the counts start at each spool's oldest
// segment.
func readSpools(ctx context.Context, cfg *config.Config, only string) ([]spoolHeld, bool, error) {
	root := filepath.Join(cfg.DataDir, "spool")
	des, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("spools: %w", err)
	}
	var (
		db      *state.DB
		running bool
	)
	if _, err := os.Stat(filepath.Join(cfg.DataDir, state.FileName)); err == nil {
		db, err = state.Open(cfg.DataDir)
		switch {
		case errors.Is(err, state.ErrLocked):
			running = true
		case err != nil:
			return nil, false, err
		default:
			defer db.Close()
		}
	}
	var out []spoolHeld
	for _, de := range des {
		if !de.IsDir() || only != "" && de.Name() != only {
			continue
		}
		var st state.Store
		if db != nil {
			st = db.Namespace("spool/" + de.Name())
		}
		h, err := spool.Inspect(ctx, filepath.Join(root, de.Name()), st)
		if err != nil {
			return nil, running, err
		}
		if db == nil && !running {
			// No state file: no replay ever saved progress, the count from the start is exact.
			h.FromStart = false
		}
		if h.Segments > 0 {
			out = append(out, spoolHeld{de.Name(), h})
		}
	}
	return out, running, nil
}

func (l listing) print(w io.Writer) {
	fmt.Fprintf(w, "dead letters in %s: %s\n", l.dir, plural(len(l.items), "dead letter"))
	if len(l.counts) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DESTINATION\tREASON\tENTRIES\tOLDEST\tNEWEST")
		for _, c := range l.counts {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", c.Destination, c.Reason, c.Entries, stampOrDash(c.Oldest), stampOrDash(c.Newest))
		}
		_ = tw.Flush()
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTIME\tREASON\tCODE\tRECORD ID\tERROR")
		for _, it := range l.items {
			e := it.Entry
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.ID, stampOrDash(e.Time), e.Reason, dash(e.Code), dash(e.ID), oneLine(e.Error, 100))
		}
		_ = tw.Flush()
	}
	if len(l.spools) > 0 {
		fmt.Fprintf(w, "\nspools (records of a stopped destination: logshipper run sends them when the destination starts again; replay does not touch them):\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  DESTINATION\tRECORDS\tBYTES")
		for _, s := range l.spools {
			n := fmt.Sprint(s.held.Records)
			if s.held.FromStart {
				n = "at most " + n
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", s.destination, n, s.held.Bytes)
		}
		_ = tw.Flush()
		if l.running {
			fmt.Fprintln(w, "  (a running logshipper holds data_dir and may be sending them now: counted from the start of each spool)")
		}
	}
}

type listingJSON struct {
	Dir     string      `json:"dir"`
	Counts  []countJSON `json:"counts"`
	Entries []entryJSON `json:"entries"`
	Spools  []spoolJSON `json:"spools"`
	Note    string      `json:"spools_note"`
}

type countJSON struct {
	Destination string    `json:"destination"`
	Reason      string    `json:"reason"`
	Entries     int       `json:"entries"`
	Oldest      time.Time `json:"oldest"`
	Newest      time.Time `json:"newest"`
}

type entryJSON struct {
	ID          string     `json:"id"`
	Destination string     `json:"destination"`
	Time        time.Time  `json:"time"`
	Reason      string     `json:"reason"`
	Code        string     `json:"code,omitempty"`
	Error       string     `json:"error,omitempty"`
	Source      string     `json:"source,omitempty"`
	RecordID    string     `json:"record_id,omitempty"`
	Kind        string     `json:"kind,omitempty"`
	Subtype     string     `json:"subtype,omitempty"`
	Replays     int        `json:"replays,omitempty"`
	Replayed    *time.Time `json:"replayed,omitempty"`
}

type spoolJSON struct {
	Destination string `json:"destination"`
	Records     int    `json:"records"`
	Bytes       int64  `json:"bytes"`
	Segments    int    `json:"segments"`
	FromStart   bool   `json:"counted_from_start,omitempty"`
}

func (l listing) json() listingJSON {
	out := listingJSON{Dir: l.dir, Counts: []countJSON{}, Entries: []entryJSON{}, Spools: []spoolJSON{},
		Note: "spooled records are sent by logshipper run when their destination starts again; replay does not touch them"}
	for _, c := range l.counts {
		out.Counts = append(out.Counts, countJSON(c))
	}
	for _, it := range l.items {
		e := it.Entry
		out.Entries = append(out.Entries, entryJSON{ID: it.ID, Destination: it.Destination, Time: e.Time, Reason: e.Reason, Code: e.Code,
			Error: e.Error, Source: e.Source, RecordID: e.ID, Kind: e.Kind, Subtype: e.Subtype, Replays: e.Replays, Replayed: e.Replayed})
	}
	for _, s := range l.spools {
		out.Spools = append(out.Spools, spoolJSON{s.destination, s.held.Records, s.held.Bytes, s.held.Segments, s.held.FromStart})
	}
	return out
}

func newDeadletterShowCmd(reg *plugin.Registry) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "show -c FILE ID",
		Short: "Print one dead letter with its record",
		Long: `show prints one entry (its id as list prints it, such as archive:3f9a0c1b2d4e5f60):
when and why it was dead-lettered, the error, the source and the record's own id, the
failed replays, and the record as it was kept: JSON, text, or base64 for bytes that are
not UTF-8.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, path, reg)
			if err != nil {
				return err
			}
			s, err := openDeadletters(cfg)
			if err != nil {
				return err
			}
			if s == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "deadletter show: %s holds no dead letters\n", deadletterDir(cfg))
				return exitCode(1)
			}
			it, err := s.Get(args[0])
			if errors.Is(err, deadletter.ErrNotFound) {
				fmt.Fprintf(cmd.ErrOrStderr(), "deadletter show: %v (deadletter list prints the ids)\n", err)
				return exitCode(1)
			}
			if err != nil {
				return err
			}
			printEntry(cmd.OutOrStdout(), it)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	return cmd
}

func printEntry(w io.Writer, it deadletter.Item) {
	e := it.Entry
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("ID", it.ID)
	row("DESTINATION", it.Destination)
	row("TIME", stampOrDash(e.Time))
	row("REASON", e.Reason)
	row("CODE", e.Code)
	row("ERROR", e.Error)
	row("SOURCE", e.Source)
	row("RECORD ID", e.ID)
	kind := e.Kind
	if e.Subtype != "" {
		kind += " / " + e.Subtype
	}
	row("KIND", kind)
	if e.RecordTime != nil {
		row("RECORD TIME", stampOrDash(*e.RecordTime))
	}
	if e.Replays > 0 {
		row("REPLAYS", fmt.Sprintf("%d failed, the last at %s", e.Replays, stampOrDash(*e.Replayed)))
	}
	_ = tw.Flush()
	switch {
	case e.Record != nil:
		fmt.Fprintf(w, "RECORD (JSON)\n%s\n", e.Record)
	case e.RecordText != "":
		fmt.Fprintf(w, "RECORD (text)\n%s\n", e.RecordText)
	case e.RecordBase64 != "":
		fmt.Fprintf(w, "RECORD (not UTF-8, in base64)\n%s\n", e.RecordBase64)
	}
}

func newDeadletterReplayCmd(reg *plugin.Registry) *cobra.Command {
	var (
		path     string
		dryRun   bool
		attempts int
		timeout  time.Duration
		ff       deadletterFilterFlags
	)
	cmd := &cobra.Command{
		Use:   "replay -c FILE (ID... | --destination D [--reason R]) [--dry-run]",
		Short: "Send dead letters to their destination again, as the configuration now says",
		Long: `replay builds each destination from the configuration as logshipper run does (fix
the configuration first: a mapping, a credential, batch.max_bytes) and writes the selected
records to it, in batches, with its retry settings (at most --attempts tries of a batch
that fails transiently). An entry whose record is delivered is removed; one that fails
again stays, with the new error. Records refused for their content fail again unless the
configuration changed what the destination does with them.

Spooled records are not replayed: logshipper run sends them when their destination
starts again. replay refuses while a logshipper holds data_dir.

It exits 0 when every record was delivered, 1 when some failed (listed).`,
		Example: `  logshipper deadletter replay -c examples/file-to-file.yaml --destination archive --reason too_large --dry-run
  logshipper deadletter replay -c examples/file-to-file.yaml --destination archive --reason too_large`,
		RunE: func(cmd *cobra.Command, args []string) error {
			sel, cfg, s, db, err := openForChange(cmd, path, reg, args, &ff, false, "replay")
			if err != nil || s == nil {
				return err
			}
			defer db.Close()
			log := telemetry.NewLogger(cmd.ErrOrStderr(), telemetry.LogConfig{Level: "warn", Format: "text"})
			senders := &app.ReplaySenders{Config: cfg, Registry: reg, Log: log, DB: db, Attempts: attempts}
			defer senders.Close(context.Background())
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			deliver := senders.Deliver
			if dryRun {
				deliver = senders.Check
			}
			res, err := s.Replay(ctx, sel, deliver)
			printReplay(cmd.OutOrStdout(), res, dryRun)
			if err != nil {
				return err
			}
			if len(res.Missing) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "deadletter replay: no dead letter has the ids %s\n", strings.Join(res.Missing, ", "))
			}
			var failed []string
			for _, o := range res.Failed() {
				if !errors.Is(o.Err, app.ErrDryRun) {
					failed = append(failed, o.ID)
				}
			}
			if len(failed) > 0 {
				what := "not delivered, kept"
				if dryRun {
					what = "could not be sent"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "deadletter replay: %s %s: %s\n", plural(len(failed), "record"), what, strings.Join(failed, ", "))
			}
			if len(failed) > 0 || len(res.Missing) > 0 {
				return exitCode(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "build the destinations and print what would be sent; send nothing, change nothing")
	cmd.Flags().IntVar(&attempts, "attempts", deadletter.DefaultAttempts, "tries of a batch that fails transiently")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long the whole replay may take; what is not sent by then stays")
	ff.add(cmd)
	return cmd
}

// selection reads the entries a command acts on: ids, or the filter flags (all: every entry).
func selection(ids []string, ff *deadletterFilterFlags, all bool) (deadletter.Selection, error) {
	n := 0
	for _, b := range []bool{len(ids) > 0, ff.set(), all} {
		if b {
			n++
		}
	}
	switch {
	case n == 0:
		return deadletter.Selection{}, errors.New("say which dead letters: ids (deadletter list prints them), or --destination and --reason")
	case n > 1:
		return deadletter.Selection{}, errors.New("give ids, or filter flags, or --all: not more than one of them")
	case len(ids) > 0:
		for _, id := range ids {
			if _, _, err := deadletter.ParseID(id); err != nil {
				return deadletter.Selection{}, err
			}
		}
		return deadletter.Selection{IDs: ids}, nil
	case all:
		return deadletter.Selection{Filter: &deadletter.Filter{}}, nil
	}
	f, err := ff.filter(time.Now())
	if err != nil {
		return deadletter.Selection{}, err
	}
	return deadletter.Selection{Filter: &f}, nil
}

func printReplay(w io.Writer, res deadletter.ReplayResult, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDESTINATION\tRECORD ID\tRESULT\tERROR")
	delivered, failed, would := 0, 0, 0
	for _, o := range res.Outcomes {
		result, msg := "delivered", ""
		switch {
		case errors.Is(o.Err, app.ErrDryRun):
			result = "would send"
			would++
		case o.Err != nil:
			result, msg = "failed", oneLine(o.Err.Error(), 120)
			failed++
		default:
			delivered++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.ID, o.Destination, dash(o.RecordID), result, msg)
	}
	_ = tw.Flush()
	if dryRun {
		fmt.Fprintf(w, "dry run: %s would be sent, %s cannot be; nothing sent, nothing changed\n", plural(would, "record"), plural(failed, "record"))
		return
	}
	fmt.Fprintf(w, "%s delivered and removed, %s failed and kept with the new error\n", plural(delivered, "record"), plural(failed, "record"))
}

func newDeadletterPurgeCmd(reg *plugin.Registry) *cobra.Command {
	var (
		path string
		all  bool
		yes  bool
		ff   deadletterFilterFlags
	)
	cmd := &cobra.Command{
		Use:   "purge -c FILE (ID... | --destination D [--reason R] | --all) [--yes]",
		Short: "Remove dead letters for good",
		Long: `purge removes the selected entries from the dead-letter files. Each file is written
again whole, through a temporary file renamed over it: a crash leaves it as it was, or
without the entries. It asks for confirmation unless --yes, and refuses while a
logshipper holds data_dir.`,
		Example: `  logshipper deadletter purge -c examples/file-to-file.yaml --destination archive --reason refused --yes`,
		RunE: func(cmd *cobra.Command, args []string) error {
			sel, _, s, db, err := openForChange(cmd, path, reg, args, &ff, all, "purge")
			if err != nil || s == nil {
				return err
			}
			defer db.Close()
			if !yes {
				n, err := countSelected(s, sel)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "remove %s for good? [y/N] ", plural(n, "dead letter"))
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					fmt.Fprintln(cmd.OutOrStdout(), "nothing removed")
					return exitCode(1)
				}
			}
			res, err := s.Purge(sel)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", plural(res.Removed, "dead letter"))
			if len(res.Missing) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "deadletter purge: no dead letter has the ids %s\n", strings.Join(res.Missing, ", "))
				return exitCode(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	cmd.Flags().BoolVar(&all, "all", false, "remove every dead letter")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	ff.add(cmd)
	return cmd
}

// countSelected counts the entries sel names, for the confirmation question.
func countSelected(s *deadletter.Store, sel deadletter.Selection) (int, error) {
	if sel.Filter != nil {
		items, err := s.Counts(*sel.Filter)
		n := 0
		for _, c := range items {
			n += c.Entries
		}
		return n, err
	}
	n := 0
	for _, id := range sel.IDs {
		if _, err := s.Get(id); err == nil {
			n++
		}
	}
	return n, nil
}

func stampOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine shortens s to one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
