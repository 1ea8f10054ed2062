// Package demo runs logshipper's built-in demonstration of its two journeys. It starts
// cloudsim in-process (a Netskope tenant holding a backlog of events and alerts, CloudTrail
// Lake and CloudWatch Logs, all injecting faults) and a syslog receiver playing the SIEM.
// First, Netskope → AWS CloudTrail Lake: it runs the embedded configuration's netskope source
// and its routes (a Cloud Exchange business rule, the aws_cloudtrail_lake destination and a
// file archive) until the whole backlog is accounted for, then again on the same data
// directory to show that nothing is pulled twice, and prints what arrived in the lake. Then
// CloudTrail via CloudWatch Logs → a SIEM: it puts real CloudTrail records into three
// regions' CloudTrail log streams, late and out of order, runs the aws_cloudwatch_logs source
// and its routes (syslog CEF over TCP, a file archive) until every record is accounted for
// and received, and prints what the SIEM received.
package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// Config is the demo's configuration.
//
//go:embed demo.yaml
var Config []byte

// The names the embedded configuration gives its plugin configurations and its rule.
const (
	sourceName  = "netskope"
	lakeName    = "lake"
	archiveName = "archive"
	ruleName    = "lake-worthy"
)

// Options tune a demo run.
type Options struct {
	Dir     string        // working directory; emptied first
	Records int           // the tenant's backlog, spread over its 20 endpoints
	Seed    int64         // seed of the generated records and injected faults
	Timeout time.Duration // the longest the first run may take to deliver the backlog
	Out     io.Writer     // the summary
	Log     io.Writer     // the shipper's errors (its whole log goes to <Dir>/logshipper.log)
}

// Metric names read from the shipper's registry.
const (
	mReceived = "logshipper_records_received_total"
	mSent     = "logshipper_records_sent_total"
	mDropped  = "logshipper_records_dropped_total"
	mUp       = "logshipper_plugin_up"
)

// counts are telemetry.Metrics.Counts: metric → plugin[/reason] → value.
type counts map[string]map[string]float64

// pass is what one run of the shipper did.
type pass struct {
	counts  counts
	elapsed time.Duration // until everything was accounted for
}

// Run runs the demo.
func Run(ctx context.Context, reg *plugin.Registry, o Options) error {
	if o.Records < 1 {
		return errors.New("demo: the backlog needs at least 1 record")
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("demo: clear %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "logshipper.log"))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer logFile.Close()
	log := slog.New(slog.NewMultiHandler(
		telemetry.NewLogger(logFile, telemetry.LogConfig{Level: "info", Format: "text"}).Handler(),
		telemetry.NewLogger(o.Log, telemetry.LogConfig{Level: "error", Format: "text"}).Handler(),
	))

	sim, lakeFile, err := startWorld(o.Records, o.Seed, dir)
	if err != nil {
		return err
	}
	defer sim.Close()
	receivedFile := filepath.Join(dir, "siem", "received.log")
	rcv, err := startReceiver(receivedFile)
	if err != nil {
		return err
	}
	defer rcv.Close()
	total, dups := tenantTotal(sim.Netskope.Stats())
	show := func(p string) string { return displayPath(o.Dir, dir, p) }
	fmt.Fprintf(o.Out, "cloudsim, in-process on free loopback ports:\n")
	fmt.Fprintf(o.Out, "  Netskope tenant  %s  %d records over the last %s on %d endpoints (%d of them served twice, same _id)\n",
		sim.Endpoints["netskope"], total, fmt.Sprintf("%gh", BacklogSpan.Hours()), len(netskope.Endpoints()), dups)
	fmt.Fprintf(o.Out, "  CloudTrail Lake  %s  channel %s\n", sim.Endpoints["aws"], cloudsim.DemoChannelARN)
	fmt.Fprintf(o.Out, "  faults on: Netskope %.0f%% of answers 5xx, %.0f%% cut short; Lake %.0f%% of events throttled, %.0f%% of calls 5xx\n",
		netskope5xxRate*100, netskopeCutRate*100, lakeEventThrottleRate*100, lakeCallErrorRate*100)
	fmt.Fprintf(o.Out, "logshipper: the embedded configuration (demo --print-config) until every record is accounted for; log: %s\n",
		show(logFile.Name()))

	vars := variables(sim, rcv.Addr(), dir)
	res := config.Resolver{Env: func(k string) (string, bool) {
		if v, ok := vars[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}}
	cfg, err := config.Parse(Config, "demo.yaml (embedded)", reg, res)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	netskopeConfig := only(cfg, sourceName)
	first, err := runPass(ctx, netskopeConfig, reg, log, o.Timeout, func(c counts) bool { return settled(c, float64(total)) })
	if err != nil {
		return fmt.Errorf("demo: first run: %w (log: %s)", err, show(logFile.Name()))
	}
	lake1, tenant1 := sim.Lake.Stats(), sim.Netskope.Stats()

	// The second run: the same data directory, so the saved positions. It is done once every
	// endpoint has answered it at least once and what it read (nothing, we expect) is
	// accounted for.
	second, err := runPass(ctx, netskopeConfig, reg, log, 30*time.Second, func(c counts) bool {
		return answeredSince(tenant1, sim.Netskope.Stats()) && settled(c, 0)
	})
	if err != nil {
		return fmt.Errorf("demo: second run: %w (log: %s)", err, show(logFile.Name()))
	}
	lake2 := sim.Lake.Stats()

	archive := filepath.Join(dir, "archive", "netskope.ndjson")
	rule, ok := cfg.Rules.Get(ruleName)
	if !ok {
		return fmt.Errorf("demo: the embedded configuration has no rule %s", ruleName)
	}
	chk, err := compare(archive, rule, lakeFile)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	s := summary{
		out: o.Out, show: show, total: total, first: first, second: second,
		lake1: lake1, lake2: lake2, tenant: tenant1, check: chk,
		archive: archive, lakeFile: lakeFile,
	}
	sample := sim.Lake.Query(lake.Filter{EventSource: "netskopealert.dlp", Limit: 1})
	if len(sample) == 0 {
		sample = sim.Lake.Query(lake.Filter{Limit: 1})
	}
	if err := s.print(sample); err != nil {
		return err
	}
	if !chk.ok() {
		return fmt.Errorf("demo: the lake does not hold exactly the records the rule kept: %d expected, %d missing, %d stored twice, %d unexpected",
			chk.want, chk.missing, chk.twice, chk.extra)
	}

	j := cloudwatchJourney{
		out: o.Out, show: show, sim: sim, rcv: rcv, cfg: cfg, reg: reg, log: log, timeout: o.Timeout,
		archive: filepath.Join(dir, "archive", "cloudtrail.ndjson"), received: receivedFile,
	}
	if err := j.run(ctx); err != nil {
		return fmt.Errorf("%w (log: %s)", err, show(logFile.Name()))
	}
	return nil
}

// runPass runs the shipper until done says the records are accounted for, then stops it
// gracefully (in-flight records are delivered, positions saved) and returns its counts.
func runPass(ctx context.Context, cfg *config.Config, reg *plugin.Registry, log *slog.Logger, timeout time.Duration, done func(counts) bool) (pass, error) {
	a, err := app.New(ctx, cfg, reg, log, "demo")
	if err != nil {
		return pass{}, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ended := make(chan error, 1)
	start := time.Now()
	go func() { ended <- a.Run(runCtx) }()

	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	up := map[string]bool{}
	var last counts
	var (
		elapsed time.Duration
		failure error
	)
wait:
	for {
		select {
		case err := <-ended:
			// The engine returns by itself only when every source has stopped: here, a failure.
			if err == nil {
				err = errors.New("the shipper stopped before the records were accounted for")
			}
			return pass{}, err
		case <-ctx.Done():
			failure = ctx.Err()
			break wait
		case <-deadline.C:
			failure = fmt.Errorf("not every record was accounted for within %s (received %v, sent %v, dropped %v)",
				timeout, last[mReceived], last[mSent], last[mDropped])
			break wait
		case <-tick.C:
			c, err := a.Metrics().Counts()
			if err != nil {
				failure = fmt.Errorf("reading the metrics: %w", err)
				break wait
			}
			last = c
			if name := stopped(c, up); name != "" {
				failure = fmt.Errorf("plugin configuration %s stopped", name)
				break wait
			}
			if done(c) {
				elapsed = time.Since(start)
				break wait
			}
		}
	}
	stop()
	if err := <-ended; err != nil && failure == nil {
		failure = err
	}
	if failure != nil {
		return pass{}, failure
	}
	c, err := a.Metrics().Counts()
	if err != nil {
		return pass{}, fmt.Errorf("reading the metrics: %w", err)
	}
	return pass{counts: c, elapsed: elapsed}, nil
}

// stopped names a plugin configuration that was up and is not any more (a fatal error), or "".
func stopped(c counts, up map[string]bool) string {
	for name, v := range c[mUp] {
		switch {
		case v > 0:
			up[name] = true
		case up[name]:
			return name
		}
	}
	return ""
}

// settled reports whether the Netskope source has read at least want records and every record
// it read is accounted for on every route: given to the destination or filtered by the route's
// rule, and then delivered or dropped with a reason.
func settled(c counts, want float64) bool {
	read := c[mReceived][sourceName]
	if read+c[mDropped][sourceName+"/"+string(plugin.ReasonInvalid)] < want {
		return false
	}
	return routesSettled(c, read, []string{lakeName, archiveName})
}

// routesSettled reports whether each of the destinations was given read records or dropped
// them at its route (filtered by the rule, or of a kind the destination does not take), and
// delivered or dropped with a reason every record it was given.
func routesSettled(c counts, read float64, dests []string) bool {
	for _, d := range dests {
		given := c[mReceived][d]
		atRoute, done := 0.0, c[mSent][d]
		for k, v := range c[mDropped] {
			name, reason, _ := strings.Cut(k, "/")
			switch {
			case name != d:
			case droppedAtRoute(plugin.Reason(reason)):
				atRoute += v
			default:
				done += v
			}
		}
		if given+atRoute != read {
			return false
		}
		if done != given {
			return false
		}
	}
	return true
}

// droppedAtRoute reports whether the engine drops records for reason on a route, before they
// are given to the destination.
func droppedAtRoute(reason plugin.Reason) bool {
	switch reason {
	case plugin.ReasonFiltered, plugin.ReasonRuleError, plugin.ReasonUnsupported:
		return true
	}
	return false
}

func dropped(c counts, name string, reason plugin.Reason) float64 {
	return c[mDropped][name+"/"+string(reason)]
}

// answeredSince reports whether every endpoint answered a page after before was taken.
func answeredSince(before, now netskope.Stats) bool {
	for ep, s := range now.Endpoints {
		if s.Pages <= before.Endpoints[ep].Pages {
			return false
		}
	}
	return true
}

// displayPath shows p relative to the directory as the user named it.
func displayPath(given, abs, p string) string {
	rel, err := filepath.Rel(abs, p)
	if err != nil {
		return p
	}
	return filepath.Join(given, rel)
}
