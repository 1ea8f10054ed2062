package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/plugin"
)

func newBackfillCmd(reg *plugin.Registry) *cobra.Command {
	var (
		path, source, from, to, admin string
		progress                      string
	)
	cmd := &cobra.Command{
		Use:   "backfill -c FILE --source NAME --from T [--to T]",
		Short: "Read a past range of one source once, deliver it, and stop",
		Long: `backfill reads what one source recorded between --from and --to (Netskope: the time the
tenant inserted the records) and delivers it through the SIEM mappings that start from that
source, with their business rules and destinations, then exits. It shows a progress bar on
a terminal (records, rate, ETA), or a line every few seconds otherwise.

It never moves the live source's position, and it may run while 'logshipper run' does: it
keeps its state and dead letters under <data_dir>/backfill/<source>, and serves no admin
endpoint unless --admin is given. Records are delivered at least once; CloudTrail Lake
stores a record the live run already sent once more only if its id differs (ids are the
records' own).

T is an RFC 3339 time (2026-11-01T00:00:00Z), a date (2026-11-01, UTC), now, or a
negative duration from now (-24h, -7d). SIGINT or SIGTERM stops it gracefully: what was
read is delivered first; run it again to finish (it starts over from --from).`,
		Example: `  logshipper backfill -c examples/netskope-to-cloudtrail-lake.yaml --source netskope-acme --from -7d
  logshipper backfill -c examples/netskope-to-cloudtrail-lake.yaml --source netskope-acme --from -2h --to -1h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			r, err := parseRange(from, to, now)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd, path, reg)
			if err != nil {
				return err
			}
			cfg.Admin.Listen = admin
			stderr := cmd.ErrOrStderr()
			mode, err := progressMode(progress, stderr)
			if err != nil {
				return err
			}
			bar := newProgressDisplay(stderr, mode, r.From, r.To, now)
			// Log lines go through the display, which keeps a bar below them.
			log := setUpProcess(bar.logs(), cfg)
			r.Progress = bar.update
			a, err := app.NewBackfill(cfg, reg, log, buildVersion(), app.Backfill{Source: source, Range: r})
			if err != nil {
				log.Error("cannot start the backfill", "error", err)
				return exitCode(1)
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
			defer signal.Stop(sigs)
			interrupted := make(chan struct{})
			go func() {
				if _, ok := <-sigs; !ok {
					return
				}
				close(interrupted)
				log.Info("signal received: delivering what was read, then stopping (send it again to exit at once)")
				cancel()
				if _, ok := <-sigs; ok {
					os.Exit(130)
				}
			}()
			stopBar := bar.start()
			runErr := a.Run(ctx)
			stopBar()
			counts, _ := a.Metrics().Counts()
			select {
			case <-interrupted:
				bar.summary(cmd.OutOrStdout(), source, counts, "interrupted")
				return exitCode(130)
			default:
			}
			if runErr != nil {
				bar.summary(cmd.OutOrStdout(), source, counts, "failed")
				log.Error("backfill stopped with errors", "error", runErr)
				return exitCode(1)
			}
			bar.summary(cmd.OutOrStdout(), source, counts, "done")
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "logshipper.yaml", "configuration file")
	cmd.Flags().StringVar(&source, "source", "", "the source configuration to backfill (required)")
	cmd.Flags().StringVar(&from, "from", "", "start of the range (required): RFC 3339, a date, or -24h/-7d")
	cmd.Flags().StringVar(&to, "to", "now", "end of the range, excluded")
	cmd.Flags().StringVar(&admin, "admin", "", "serve /metrics on this address while running (off by default)")
	cmd.Flags().StringVar(&progress, "progress", "auto", "progress display: auto (a bar on a terminal, lines otherwise), bar, lines, none")
	_ = cmd.MarkFlagRequired("source")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

// parseRange reads --from and --to.
func parseRange(from, to string, now time.Time) (plugin.BackfillRange, error) {
	f, err := parseWhen(from, now)
	if err != nil {
		return plugin.BackfillRange{}, fmt.Errorf("--from: %w", err)
	}
	t, err := parseWhen(to, now)
	if err != nil {
		return plugin.BackfillRange{}, fmt.Errorf("--to: %w", err)
	}
	if !f.Before(t) {
		return plugin.BackfillRange{}, fmt.Errorf("--from (%s) must be before --to (%s)", f.Format(time.RFC3339), t.Format(time.RFC3339))
	}
	return plugin.BackfillRange{From: f, To: t}, nil
}

// parseWhen reads a point in time: now, RFC 3339, a date (UTC), or a negative duration
// (Go syntax, or whole days: -7d).
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, fmt.Errorf("empty: want a time such as 2026-11-01T00:00:00Z, 2026-11-01, now, or -24h")
	case s == "now":
		return now.UTC(), nil
	case strings.HasPrefix(s, "-"):
		var d time.Duration
		if days, ok := strings.CutSuffix(s, "d"); ok {
			n, err := strconv.Atoi(days)
			if err != nil {
				return time.Time{}, fmt.Errorf("%q is not a duration such as -24h or -7d", s)
			}
			d = time.Duration(n) * 24 * time.Hour
		} else {
			var err error
			if d, err = time.ParseDuration(s); err != nil {
				return time.Time{}, fmt.Errorf("%q is not a duration such as -24h or -7d", s)
			}
		}
		return now.Add(d).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not now, an RFC 3339 time (2026-11-01T00:00:00Z), a date (2026-11-01) or a negative duration (-24h, -7d)", s)
}

type progressKind int

const (
	progressNone progressKind = iota
	progressLines
	progressBar
)

func progressMode(s string, w io.Writer) (progressKind, error) {
	switch s {
	case "none":
		return progressNone, nil
	case "lines":
		return progressLines, nil
	case "bar":
		return progressBar, nil
	case "auto":
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				return progressBar, nil
			}
		}
		return progressLines, nil
	}
	return 0, fmt.Errorf("--progress: %q: want auto, bar, lines or none", s)
}

// progressDisplay draws a backfill's progress: the share of the range read (the mean over its
// parts, a finished part counting whole), the records delivered, their rate, and an ETA. As a
// bar it owns the terminal's last line: log lines written through logs() appear above it and
// the bar is drawn again below each, so per-batch lines never scroll it away.
type progressDisplay struct {
	w        io.Writer
	kind     progressKind
	from, to time.Time
	started  time.Time

	mu    sync.Mutex
	parts map[string]plugin.BackfillProgress

	termMu sync.Mutex // serializes writes to w
	drawn  string     // the bar on the terminal's last line; "" when none
}

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\033[K"

func newProgressDisplay(w io.Writer, kind progressKind, from, to, now time.Time) *progressDisplay {
	return &progressDisplay{w: w, kind: kind, from: from, to: to, started: now, parts: map[string]plugin.BackfillProgress{}}
}

func (b *progressDisplay) update(p plugin.BackfillProgress) {
	b.mu.Lock()
	b.parts[p.Part] = p
	b.mu.Unlock()
}

// state returns the fraction done, the records, and the parts done and known.
func (b *progressDisplay) state() (frac float64, records int64, done, parts int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	span := b.to.Sub(b.from).Seconds()
	for _, p := range b.parts {
		records += p.Records
		f := 1.0
		if !p.Done {
			f = min(max(p.Position.Sub(b.from).Seconds()/span, 0), 1)
		} else {
			done++
		}
		frac += f
	}
	if n := len(b.parts); n > 0 {
		frac /= float64(n)
	}
	return frac, records, done, len(b.parts)
}

// line renders the progress at now.
func (b *progressDisplay) line(now time.Time, width int) string {
	frac, records, done, parts := b.state()
	el := now.Sub(b.started)
	rate := 0.0
	if el > 0 {
		rate = float64(records) / el.Seconds()
	}
	eta := "ETA -"
	switch {
	case parts > 0 && done == parts:
		eta = "done"
	case frac > 0.005 && el > time.Second:
		eta = "ETA " + fmtDuration(time.Duration(float64(el)*(1-frac)/frac))
	}
	s := fmt.Sprintf("%3.0f%% %s records, %s/s, %s, %d/%d parts done, %s elapsed",
		frac*100, groupDigits(records), groupDigits(int64(rate)), eta, done, parts, fmtDuration(el))
	if width > 0 {
		filled := int(frac * float64(width))
		s = "[" + strings.Repeat("=", filled) + strings.Repeat(" ", width-filled) + "] " + s
	}
	return s
}

// logs is the writer for the process's log lines: w, one line at a time beside the progress
// lines, or in bar mode a writer that lifts the bar, writes the line and draws the bar again
// below it.
func (b *progressDisplay) logs() io.Writer {
	if b.kind != progressBar {
		return lineWriter{b}
	}
	return barLogWriter{b}
}

// lineWriter writes log lines to w under termMu, so that they never interleave with a
// progress line written at the same time.
type lineWriter struct{ b *progressDisplay }

func (l lineWriter) Write(p []byte) (int, error) {
	l.b.termMu.Lock()
	defer l.b.termMu.Unlock()
	return l.b.w.Write(p)
}

// barLogWriter writes log lines above a progress bar. slog handlers write a whole line per
// Write.
type barLogWriter struct{ b *progressDisplay }

func (l barLogWriter) Write(p []byte) (int, error) {
	l.b.termMu.Lock()
	defer l.b.termMu.Unlock()
	if l.b.drawn != "" {
		if _, err := io.WriteString(l.b.w, clearLine); err != nil {
			return 0, err
		}
	}
	n, err := l.b.w.Write(p)
	if err != nil {
		return n, err
	}
	if l.b.drawn != "" {
		if _, err := io.WriteString(l.b.w, l.b.drawn); err != nil {
			return n, err
		}
	}
	return n, nil
}

// draw replaces the bar on the last line with s; with final, it ends the line and the bar
// is no longer redrawn below log lines.
func (b *progressDisplay) draw(s string, final bool) {
	b.termMu.Lock()
	defer b.termMu.Unlock()
	if final {
		fmt.Fprint(b.w, clearLine+s+"\n")
		b.drawn = ""
		return
	}
	fmt.Fprint(b.w, clearLine+s)
	b.drawn = s
}

// start draws until the returned function is called, which draws the last state.
func (b *progressDisplay) start() (stop func()) {
	if b.kind == progressNone {
		return func() {}
	}
	every, width := 5*time.Second, 0
	show := func(now time.Time, final bool) {
		line := "backfill: " + b.line(now, width) + "\n"
		b.termMu.Lock()
		defer b.termMu.Unlock()
		fmt.Fprint(b.w, line)
	}
	if b.kind == progressBar {
		every, width = 250*time.Millisecond, 30
		show = func(now time.Time, final bool) { b.draw(b.line(now, width), final) }
		show(time.Now(), false)
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				show(time.Now(), true)
				return
			case now := <-t.C:
				show(now, false)
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

// summary prints what the backfill read and where it went.
func (b *progressDisplay) summary(w io.Writer, source string, c map[string]map[string]float64, how string) {
	_, records, done, parts := b.state()
	el := time.Since(b.started)
	fmt.Fprintf(w, "backfill of %s %s: %s..%s, %d/%d parts finished, %s records read in %s\n",
		source, how, b.from.Format(time.RFC3339), b.to.Format(time.RFC3339), done, parts, groupDigits(records), fmtDuration(el))
	sent := c["logshipper_records_sent_total"]
	dropped := c["logshipper_records_dropped_total"]
	var names []string
	for k := range sent {
		if k != source {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, d := range names {
		fmt.Fprintf(w, "  %-24s sent %s", d, groupDigits(int64(sent[d])))
		var reasons []string
		for k, v := range dropped {
			if r, ok := strings.CutPrefix(k, d+"/"); ok && v > 0 {
				reasons = append(reasons, fmt.Sprintf("%s %s", r, groupDigits(int64(v))))
			}
		}
		sort.Strings(reasons)
		if len(reasons) > 0 {
			fmt.Fprintf(w, ", dropped: %s", strings.Join(reasons, ", "))
		}
		fmt.Fprintln(w)
	}
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

// groupDigits writes n with thousands separators: 1,234,567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
