// Command loadrun runs logshipper's end-to-end load, fault and crash runs against cloudsim and
// prints their figures as a Markdown table (see docs/benchmarks.md, and scripts/loadrun.sh,
// which builds the shipper and runs them all).
//
//	go run ./cmd/loadrun -shipper ./bin/logshipper -journeys netskope,cloudtrail -modes plain,fault,crash
//	go run ./cmd/loadrun -shipper ./bin/logshipper -journeys netskope,cloudtrail -modes plain,crash -cluster 3
//	go run ./cmd/loadrun -shipper ./bin/logshipper -journeys cloudtrail -modes plain -peer otel
package main

import (
	"context"
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

func run() error {
	var o loadrun.Options
	var journeys, modes string
	var crashRecords int
	flag.StringVar(&o.Shipper, "shipper", "bin/logshipper", "the logshipper binary under test")
	flag.StringVar(&o.Dir, "dir", "loadrun-data", "working directory (emptied per run)")
	flag.IntVar(&o.Records, "records", 1_000_000, "records per journey (plain and fault runs)")
	flag.IntVar(&crashRecords, "crash-records", 1_000_000, "records per journey in a crash run")
	flag.Int64Var(&o.Seed, "seed", 1, "seed of the records, faults and kill times")
	flag.Float64Var(&o.FaultRate, "fault-rate", 0.20, "share of answers a fault run spoils (throttled, 5xx, slow, cut: a quarter each)")
	flag.IntVar(&o.Kills, "kills", 20, "SIGKILLs per crash run")
	flag.DurationVar(&o.Stall, "stall", 2*time.Minute, "give up when nothing new arrives for this long")
	flag.StringVar(&o.Profile, "profile", "", "write a CPU profile of the shipper in each plain run to <this>-<journey>.pprof")
	flag.DurationVar(&o.ProfileFor, "profile-for", 20*time.Second, "how long the profile runs")
	flag.BoolVar(&o.RealQuotas, "real-quotas", false, "keep AWS's request quotas in cloudsim (they then set the pace)")
	flag.StringVar(&o.TrailSamples, "trail-samples", "internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson", "real CloudTrail records to make the CloudTrail journey's records from")
	flag.StringVar(&journeys, "journeys", strings.Join(loadrun.Journeys, ","), "journeys to run")
	flag.StringVar(&modes, "modes", "plain,fault,crash", "runs per journey: plain, fault, crash")
	flag.IntVar(&o.Cluster, "cluster", 0, "run this many shipper processes in cluster mode on a 3-node NATS JetStream cluster (0: one process, no cluster)")
	flag.DurationVar(&o.LeaseTTL, "lease-ttl", 15*time.Second, "the cluster's lease_ttl (-cluster)")
	flag.StringVar(&o.Peer, "peer", "", "otel: after each plain cloudtrail run, run the OpenTelemetry Collector (-peer-bin) on the same backlog and report it beside the shipper")
	flag.StringVar(&o.PeerBin, "peer-bin", "bin/otelcol-peer", "the collector binary for -peer otel (scripts/peer.sh builds it)")
	flag.BoolVar(&o.PeerFirst, "peer-first", false, "run the peer before the shipper rather than after it (-peer)")
	flag.StringVar(&o.LakeDuplicates, "lake-duplicates", "", "cloudsim's CloudTrail Lake duplicate mode in the netskope journey: dedupe (default), store-duplicate (an id sent again is stored again and counted twice) or reject")
	floor := flag.String("floor", "", "internal: be the floor's process for this file of records")
	flag.Parse()
	if *floor != "" {
		return loadrun.FloorMain(*floor)
	}
	o.Progress = os.Stderr
	if _, err := loadrun.ParsePeer(o.Peer); err != nil {
		return err
	}
	if _, err := lake.ParseDuplicateMode(o.LakeDuplicates); err != nil {
		return fmt.Errorf("-lake-duplicates: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var results []loadrun.Result
	for _, j := range strings.Split(journeys, ",") {
		for _, m := range strings.Split(modes, ",") {
			mode, err := loadrun.ParseMode(strings.TrimSpace(m))
			if err != nil {
				return err
			}
			opts := o
			if mode == loadrun.Crash {
				opts.Records = crashRecords
			}
			if o.Profile != "" {
				opts.Profile = o.Profile + "-" + strings.TrimSpace(j) + ".pprof"
			}
			r, err := loadrun.Run(ctx, strings.TrimSpace(j), mode, opts)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	fmt.Printf("machine: %s\n\n", loadrun.Machine())
	loadrun.WriteTable(os.Stdout, results)
	return nil
}
