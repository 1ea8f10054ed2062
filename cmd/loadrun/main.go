// Command loadrun runs logshipper's end-to-end load, fault and crash runs against cloudsim and
// prints their figures as a Markdown table (see docs/benchmarks.md, and scripts/loadrun.sh,
// which builds the shipper and runs them all).
//
//	go run ./cmd/loadrun -shipper ./bin/logshipper -journeys netskope,cloudtrail -modes plain,fault,crash
//	go run ./cmd/loadrun -shipper ./bin/logshipper -journeys netskope,cloudtrail -modes plain,crash -cluster 3
//	go run ./cmd/loadrun -shipper ./bin/logshipper -journeys cloudtrail -modes plain -peer otel
//	go run ./cmd/loadrun -shipper ./bin/logshipper -journeys cloudtrail -modes plain -peer otel -rounds 3 -backend moto -records 50000
//	go run ./cmd/loadrun -shipper ./bin/logshipper -shipper-b ./old/logshipper -journeys netskope -modes plain -rounds 3
//	go run ./cmd/loadrun -shipper ./bin/logshipper -journeys cloudtrail -modes live -records 30000 -rate 500 -source-opts lag=5s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/logshipper/logshipper/internal/loadrun"
	"github.com/logshipper/logshipper/internal/sim/lake"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadrun:", err)
		os.Exit(1)
	}
}

// invocation is what the command line asks for.
type invocation struct {
	o        loadrun.Options
	journeys []string
	modes    []loadrun.Mode
	crash    int    // records per crash run
	floor    string // be the floor's process for this file
}

// alternate is whether the runs alternate readers (-rounds above 1, or -shipper-b).
func (in invocation) alternate() bool { return in.o.Rounds > 1 || in.o.ShipperB != "" }

// parseFlags reads the command line (without the program name) and checks what can be checked
// before a run starts.
func parseFlags(args []string) (invocation, error) {
	var in invocation
	o := &in.o
	fs := flag.NewFlagSet("loadrun", flag.ContinueOnError)
	var journeys, modes string
	fs.StringVar(&o.Shipper, "shipper", "bin/logshipper", "the logshipper binary under test")
	fs.StringVar(&o.Dir, "dir", "loadrun-data", "working directory (emptied per run)")
	fs.IntVar(&o.Records, "records", 1_000_000, "records per journey (plain, fault and live runs)")
	fs.IntVar(&in.crash, "crash-records", 1_000_000, "records per journey in a crash run")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the records, faults and kill times")
	fs.Float64Var(&o.FaultRate, "fault-rate", 0.20, "share of answers a fault run spoils (throttled, 5xx, slow, cut: a quarter each)")
	fs.IntVar(&o.Kills, "kills", 20, "SIGKILLs per crash run")
	fs.DurationVar(&o.Stall, "stall", 2*time.Minute, "give up when nothing new arrives for this long (in a live run, counted once every record is put; default there 15m)")
	fs.StringVar(&o.Profile, "profile", "", "write a CPU profile of the shipper in each plain run to <this>-<journey>.pprof")
	fs.DurationVar(&o.ProfileFor, "profile-for", 20*time.Second, "how long the profile runs")
	fs.BoolVar(&o.RealQuotas, "real-quotas", false, "keep AWS's request quotas in cloudsim (they then set the pace; a live run always keeps them)")
	fs.StringVar(&o.TrailSamples, "trail-samples", "internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson", "real CloudTrail records to make the CloudTrail journey's records from")
	fs.StringVar(&journeys, "journeys", strings.Join(loadrun.Journeys, ","), "journeys to run")
	fs.StringVar(&modes, "modes", "plain,fault,crash", "runs per journey: plain, fault, crash, live (cloudtrail only)")
	fs.IntVar(&o.Cluster, "cluster", 0, "run this many shipper processes in cluster mode on a 3-node NATS JetStream cluster (0: one process, no cluster)")
	fs.DurationVar(&o.LeaseTTL, "lease-ttl", 15*time.Second, "the cluster's lease_ttl (-cluster)")
	fs.StringVar(&o.Peer, "peer", "", "otel: after each plain cloudtrail run, run the OpenTelemetry Collector (-peer-bin) on the same backlog and report it beside the shipper")
	fs.StringVar(&o.PeerBin, "peer-bin", "bin/otelcol-peer", "the collector binary for -peer otel (scripts/peer.sh builds it)")
	fs.BoolVar(&o.PeerFirst, "peer-first", false, "run the peer (or -shipper-b) before the shipper rather than after it")
	fs.StringVar(&o.Backend, "backend", loadrun.BackendCloudsim, "where the cloudtrail journey's backlog is: cloudsim, or moto (moto_server, started by the run; plain runs)")
	fs.StringVar(&o.MotoBin, "moto-bin", "moto_server", "the moto_server command for -backend moto")
	fs.StringVar(&o.SourceOptions, "source-opts", "", "options of the cloudtrail journey's source over the run's own, key=value separated by commas (e.g. lag=5s,poll_interval=2s)")
	fs.Float64Var(&o.Rate, "rate", 500, "events per second a live run puts into CloudWatch Logs (for -records/rate seconds)")
	fs.DurationVar(&o.IngestDelay, "ingest-delay", 30*time.Second, "a live run's ingestion delay in cloudsim's CloudWatch Logs")
	fs.DurationVar(&o.IngestJitter, "ingest-jitter", 2*time.Minute, "a live run's ingestion jitter (a random share of it on top of -ingest-delay, so events arrive out of order)")
	fs.IntVar(&o.Rounds, "rounds", 1, "run the shipper and the other reader (-peer or -shipper-b) this many times each, alternating, and summarise (plain and live runs)")
	fs.StringVar(&o.ShipperB, "shipper-b", "", "a second logshipper binary to alternate with -shipper (e.g. the old build against the new)")
	fs.StringVar(&o.LakeDuplicates, "lake-duplicates", "", "cloudsim's CloudTrail Lake duplicate mode in the netskope journey: dedupe (default), store-duplicate (an id sent again is stored again and counted twice) or reject")
	fs.StringVar(&in.floor, "floor", "", "internal: be the floor's process for this file of records")
	if err := fs.Parse(args); err != nil {
		return in, err
	}
	if fs.NArg() > 0 {
		return in, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if in.floor != "" {
		return in, nil
	}
	stallSet := false
	fs.Visit(func(f *flag.Flag) { stallSet = stallSet || f.Name == "stall" })
	if _, err := loadrun.ParsePeer(o.Peer); err != nil {
		return in, err
	}
	if _, err := loadrun.ParseBackend(o.Backend); err != nil {
		return in, err
	}
	if _, err := lake.ParseDuplicateMode(o.LakeDuplicates); err != nil {
		return in, fmt.Errorf("-lake-duplicates: %w", err)
	}
	if o.Rounds < 1 {
		return in, fmt.Errorf("-rounds must be at least 1, not %d", o.Rounds)
	}
	for _, j := range strings.Split(journeys, ",") {
		in.journeys = append(in.journeys, strings.TrimSpace(j))
	}
	for _, m := range strings.Split(modes, ",") {
		mode, err := loadrun.ParseMode(strings.TrimSpace(m))
		if err != nil {
			return in, err
		}
		if mode == loadrun.Live && !stallSet {
			o.Stall = 15 * time.Minute
		}
		if in.alternate() && mode != loadrun.Plain && mode != loadrun.Live {
			return in, fmt.Errorf("-rounds and -shipper-b alternate plain or live runs, not %s runs", mode)
		}
		in.modes = append(in.modes, mode)
	}
	if o.Peer != "" && o.ShipperB != "" {
		return in, fmt.Errorf("-peer and -shipper-b each give the other side of an alternation: choose one")
	}
	return in, nil
}

func run() error {
	in, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if in.floor != "" {
		return loadrun.FloorMain(in.floor)
	}
	o := in.o
	o.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var results []loadrun.Result
	var alts []loadrun.Alternation
	for _, j := range in.journeys {
		for _, mode := range in.modes {
			opts := o
			if mode == loadrun.Crash {
				opts.Records = in.crash
			}
			if o.Profile != "" {
				opts.Profile = o.Profile + "-" + j + ".pprof"
			}
			if in.alternate() {
				alt, err := loadrun.RunRounds(ctx, j, mode, opts)
				if err != nil {
					return err
				}
				alts = append(alts, alt)
				results = append(results, alt.Results()...)
				continue
			}
			r, err := loadrun.Run(ctx, j, mode, opts)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	fmt.Printf("machine: %s\n\n", loadrun.Machine())
	loadrun.WriteTable(os.Stdout, results)
	for _, a := range alts {
		fmt.Println()
		loadrun.WriteSummary(os.Stdout, a)
	}
	return nil
}
