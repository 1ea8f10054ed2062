// Package loadrun drives logshipper's end-to-end load, fault and crash runs. For each journey
// it starts cloudsim in this process with a large backlog, runs the shipper binary as a child
// process on a generated configuration until every record it must deliver has arrived at the
// far end (the simulated CloudTrail Lake, or a syslog receiver in this process), and reports
// records per second, the shipper's CPU seconds per million records and its peak RSS (from
// the kernel's accounting of the child, so cloudsim's own work is not counted), what was lost
// or delivered twice, and the same records decoded and re-encoded with encoding/json as a
// floor to compare with.
//
// Modes: plain (no faults); fault (a share of every service's answers throttled, failed with
// 5xx, slow or cut short); crash (the shipper killed with SIGKILL at random moments and
// restarted each time).
package loadrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/cluster"
	"github.com/logshipper/logshipper/internal/cluster/clustertest"
)

// Mode is the kind of run.
type Mode string

// The modes.
const (
	Plain Mode = "plain"
	Fault Mode = "fault"
	Crash Mode = "crash"
	// Live puts the CloudTrail journey's records into CloudWatch Logs over time, at a rate,
	// with late and out-of-order ingestion, and measures each record's latency from its
	// ingestion in CloudWatch Logs to its arrival at the SIEM (see live.go).
	Live Mode = "live"
)

// ParseMode parses a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Plain, Fault, Crash, Live:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q (want plain, fault, crash or live)", s)
}

// Journeys are the journeys a run can drive.
var Journeys = []string{"netskope", "cloudtrail"}

// Options tune a run.
type Options struct {
	Shipper string // the logshipper binary
	Dir     string // working directory (state, logs, configuration); emptied per run
	Records int    // records the source holds
	Seed    int64
	// FaultRate is the share of answers a fault run spoils, split evenly over the kinds each
	// service has (throttled, 5xx, slow, cut).
	FaultRate float64
	Kills     int           // SIGKILLs in a crash run
	Stall     time.Duration // give up when nothing new arrives for this long
	// Profile, when set, is a file to write a CPU profile of the shipper to (plain runs), taken
	// over ProfileFor from two seconds after the start.
	Profile    string
	ProfileFor time.Duration
	// RealQuotas keeps AWS's and Netskope's request quotas in cloudsim (CloudTrail Lake 100
	// calls/s, FilterLogEvents 5/s per region): then the quotas, not the shipper, set the pace.
	RealQuotas bool
	// TrailSamples is an NDJSON file of real CloudTrail records the CloudTrail journey's records
	// are made from.
	TrailSamples string
	Progress     io.Writer
	// Cluster, when above 0, runs that many shipper processes in cluster mode on a 3-node NATS
	// JetStream cluster started in this process (see cluster.go).
	Cluster int
	// LeaseTTL is the cluster's lease_ttl (its default when 0).
	LeaseTTL time.Duration
	// Peer, when "otel", runs the OpenTelemetry Collector PeerBin on the same backlog right
	// after the shipper (plain CloudTrail runs, one shipper process only; see peer.go).
	Peer    string
	PeerBin string
	// PeerFirst runs the peer before the shipper rather than after it.
	PeerFirst bool
	// LakeDuplicates is cloudsim's CloudTrail Lake duplicate_mode in the Netskope journey:
	// "" or "dedupe" (an id sent again is stored once), "store-duplicate" (stored again: the
	// twice column counts what a kill made the shipper send again), or "reject".
	LakeDuplicates string
	// Backend is where the CloudTrail journey's backlog is: BackendCloudsim ("" too) or
	// BackendMoto (moto_server, MotoBin, started by the run; see moto.go).
	Backend string
	MotoBin string
	// SourceOptions are options of the CloudTrail journey's source, "key=value" separated by
	// commas (e.g. "lag=5s,poll_interval=2s"), written into its configuration over the run's own.
	SourceOptions string
	// DestOptions are options of the CloudTrail journey's syslog destination, "key=value"
	// separated by commas, added to the run's own (e.g. batch_max_records=500).
	DestOptions string
	// Rate is the events per second a live run puts into CloudWatch Logs, all regions together.
	Rate float64
	// IngestDelay and IngestJitter are the live run's late and out-of-order ingestion in
	// cloudsim's CloudWatch Logs: each event becomes visible IngestDelay plus a random share of
	// IngestJitter after it is put.
	IngestDelay  time.Duration
	IngestJitter time.Duration
	// Rounds is how many times RunRounds runs each reader; ShipperB, when set, is a second
	// shipper binary it alternates with Shipper (see rounds.go).
	Rounds   int
	ShipperB string
}

// Result is one run's figures.
type Result struct {
	Journey  string
	Mode     Mode
	Held     int64 // records the source held
	Want     int64 // of those, the ones the far end must get (the rest are filtered)
	Got      int64 // distinct records the far end got
	Lost     int64 // wanted, not got
	Twice    int64 // stored or received more than once
	Resent   int64 // ids sent again and deduplicated by the far end
	Wall     time.Duration
	CPU      time.Duration // the shipper's user+system time, all its processes together
	MaxRSS   int64         // bytes, the largest of its processes
	Kills    int
	Faults   string // what was injected, as counted by cloudsim
	Floor    Floor
	Note     string
	Procs    int       // shipper processes in cluster mode; 0: one, not in cluster mode
	Takeover *Takeover // a cluster crash run's kill and takeover
	// MemberRSS is each cluster member's peak RSS, bytes, in the order of their node names.
	MemberRSS []int64
	// Runner is what read the backlog: "" for logshipper, "otelcol-peer" for the peer.
	Runner string
	// Peer is the peer's run on the same backlog (Options.Peer).
	Peer *Result
	// Latency is a live run's ingestion-to-SIEM latency; nil in the other runs.
	Latency *Latency
	// Round is the round of an alternating run (1, 2, ...); 0 outside one.
	Round int
}

// PerSecond is records the source held, per second of the run.
func (r Result) PerSecond() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return float64(r.Held) / r.Wall.Seconds()
}

// CPUPerMillion is the shipper's CPU seconds per million records held.
func (r Result) CPUPerMillion() float64 {
	if r.Held == 0 {
		return 0
	}
	return r.CPU.Seconds() / float64(r.Held) * 1e6
}

// feeder is a journey whose records are put into the source over the run (the live run).
type feeder interface {
	// feed starts putting the records; it returns at once, and close stops it.
	feed(ctx context.Context, logf func(string, ...any))
	// feeding is true until every record is put.
	feeding() bool
}

// latencyMeter is a journey that measures each record's latency once the run is over.
type latencyMeter interface {
	latency(ctx context.Context) (*Latency, error)
}

// journey is one of the two journeys, set up for one run.
type journey interface {
	// config is the shipper's configuration file.
	config(dir string, pprofAddr string) []byte
	held() int64
	want() int64
	// got is how many distinct wanted records the far end has now.
	got() int64
	// finish counts what was lost and delivered twice, and the faults injected.
	finish(r *Result)
	floor(dir string) (Floor, error)
	close()
}

// Run runs one journey in one mode.
func Run(ctx context.Context, name string, mode Mode, o Options) (Result, error) {
	if o.Records < 1 {
		return Result{}, errors.New("loadrun: at least one record is needed")
	}
	if o.Stall <= 0 {
		o.Stall = 2 * time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if err := checkOptions(name, mode, o); err != nil {
		return Result{}, err
	}
	dir, err := runDir(o.Dir, name+"-"+string(mode))
	if err != nil {
		return Result{}, err
	}
	logf := progress(o.Progress, name, mode)
	j, err := newJourney(ctx, name, mode, o, logf)
	if err != nil {
		return Result{}, err
	}
	defer j.close()
	return runOn(ctx, j, name, mode, dir, o, logf)
}

// checkOptions fails on options that do not go together or binaries that are not there.
func checkOptions(name string, mode Mode, o Options) error {
	if err := checkPeer(o); err != nil {
		return err
	}
	if _, err := ParseBackend(o.Backend); err != nil {
		return err
	}
	if o.Backend == BackendMoto && (name != "cloudtrail" || mode != Plain) {
		return fmt.Errorf("loadrun: -backend moto runs only the cloudtrail journey's plain run, not %s/%s", name, mode)
	}
	if err := checkMoto(o); err != nil {
		return err
	}
	if mode == Live && name != "cloudtrail" {
		return fmt.Errorf("loadrun: the live run is the cloudtrail journey's only, not %s's", name)
	}
	if mode == Live && o.Rate <= 0 {
		return fmt.Errorf("loadrun: the live run needs a rate above 0 events/s, not %g", o.Rate)
	}
	if mode == Live && o.Peer != "" {
		return errors.New("loadrun: -peer compares plain runs; the live run has no peer")
	}
	if _, err := sourceOptionLines(o.SourceOptions); err != nil {
		return err
	}
	if _, err := sourceOptionLines(o.DestOptions); err != nil {
		return fmt.Errorf("%w (-dest-opts)", err)
	}
	return nil
}

// runDir is dir/sub as an absolute path, emptied.
func runDir(dir, sub string) (string, error) {
	d, err := filepath.Abs(filepath.Join(dir, sub))
	if err != nil {
		return "", fmt.Errorf("loadrun: %w", err)
	}
	if err := os.RemoveAll(d); err != nil {
		return "", fmt.Errorf("loadrun: %w", err)
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("loadrun: %w", err)
	}
	return d, nil
}

// progress is a function that writes a timestamped progress line about the run to w.
func progress(w io.Writer, name string, mode Mode) func(string, ...any) {
	return func(format string, args ...any) {
		fmt.Fprintf(w, "%s %s/%s: %s\n", time.Now().Format("15:04:05"), name, mode, fmt.Sprintf(format, args...))
	}
}

// newJourney sets up the journey's backlog (or, in a live run, its empty log group), its far
// end, and the service that holds the backlog.
func newJourney(ctx context.Context, name string, mode Mode, o Options, logf func(string, ...any)) (journey, error) {
	start := time.Now()
	var j journey
	var err error
	switch name {
	case "netskope":
		j, err = newNetskope(o, mode)
	case "cloudtrail":
		j, err = newCloudTrail(ctx, o, mode, logf)
	default:
		err = fmt.Errorf("unknown journey %q (want netskope or cloudtrail)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("loadrun: %w", err)
	}
	if mode == Live {
		logf("%d records to put at %g/s once the shipper runs; ready in %s", j.want(), o.Rate, time.Since(start).Round(time.Millisecond))
	} else {
		logf("the backlog holds %d records (%d to deliver), ready in %s", j.held(), j.want(), time.Since(start).Round(time.Millisecond))
	}
	return j, nil
}

// runOn runs the shipper o.Shipper (and the peer, with o.Peer) on journey j, in dir.
func runOn(ctx context.Context, j journey, name string, mode Mode, dir string, o Options, logf func(string, ...any)) (Result, error) {
	var err error
	pprofAddr := ""
	if o.Profile != "" && mode == Plain && o.Cluster == 0 {
		if pprofAddr, err = freeAddr(); err != nil {
			return Result{}, err
		}
	}
	res := Result{Journey: name, Mode: mode, Held: j.held(), Want: j.want(), Procs: o.Cluster}

	// The members: one shipper process, or in cluster mode o.Cluster of them on one
	// configuration, each with its node name and local directory in its environment.
	cfgText := j.config(dir, pprofAddr)
	members := []*member{{log: filepath.Join(dir, "logshipper.log")}}
	var urls []string
	if o.Cluster > 0 {
		if o.LeaseTTL <= 0 {
			o.LeaseTTL = cluster.NewConfig().LeaseTTL
		}
		srv, err := clustertest.StartServers(filepath.Join(dir, "nats"), 3)
		if err != nil {
			return Result{}, fmt.Errorf("loadrun: NATS JetStream cluster: %w", err)
		}
		defer srv.Stop()
		urls = srv.URLs()
		cfgText = append(j.config("${LS_DIR}", ""), clusterSection(urls, o.LeaseTTL)...)
		members = members[:0]
		for i := range o.Cluster {
			node := fmt.Sprintf("ls%d", i+1)
			mdir := filepath.Join(dir, node)
			if err := os.MkdirAll(mdir, 0o755); err != nil {
				return Result{}, fmt.Errorf("loadrun: %w", err)
			}
			members = append(members, &member{node: node, env: []string{"LS_NODE=" + node, "LS_DIR=" + mdir},
				log: filepath.Join(dir, "logshipper-"+node+".log")})
		}
		logf("NATS JetStream cluster of 3 nodes at %s; %d shipper processes, lease TTL %s", strings.Join(urls, ","), o.Cluster, o.LeaseTTL)
	}
	cfg := filepath.Join(dir, "logshipper.yaml")
	if err := os.WriteFile(cfg, cfgText, 0o644); err != nil {
		return Result{}, fmt.Errorf("loadrun: %w", err)
	}
	for _, m := range members {
		f, err := os.OpenFile(m.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return Result{}, fmt.Errorf("loadrun: %w", err)
		}
		defer f.Close()
		m.out = f
	}

	// The peer reads the same backlog before the shipper with PeerFirst, else after it.
	var peer *Result
	if o.Peer != "" && o.PeerFirst {
		if peer, err = runPeerOn(ctx, j, mode, dir, o, logf); err != nil {
			return res, err
		}
	}

	var use usage
	rnd := rand.New(rand.NewPCG(uint64(o.Seed), 0x10ad))
	begin := time.Now()
	for _, m := range members {
		if m.p, err = startShipper(o.Shipper, cfg, m.out, m.env); err != nil {
			return Result{}, err
		}
		defer m.p.kill()
	}
	fd, _ := j.(feeder)
	if fd != nil {
		fd.feed(ctx, logf)
	}
	profDone := make(chan error, 1)
	if pprofAddr != "" {
		go func() { profDone <- takeProfile(ctx, pprofAddr, o.Profile, o.ProfileFor) }()
	} else {
		profDone <- nil
	}

	// In a crash run, the next SIGKILL comes between 0.3 s and 2.5 s after the last start, or
	// once another share of the records is delivered (killPoint), whichever is first: a run
	// faster than its kill delays is still killed Kills times, each kill in full flow. A
	// cluster crash run kills one member once, when 30% are delivered, and does not restart it:
	// what it measures is the other members taking its partitions over.
	nextKill, killAtGot := time.Time{}, int64(-1)
	if mode == Crash && o.Kills > 0 && o.Cluster == 0 {
		nextKill = time.Now().Add(killDelay(rnd))
		killAtGot = killPoint(rnd, 0, j.want(), o.Kills)
	}
	pj, _ := j.(partitioned)
	clusterKill := mode == Crash && o.Cluster > 1 && pj != nil
	if mode == Crash && o.Cluster > 0 && !clusterKill {
		logf("no kill: a cluster crash run needs at least 2 processes and a journey whose far end tells the partitions apart")
	}
	var (
		tk       *Takeover
		killAt   time.Time
		base     map[string]int64
		samples  []takeoverSample
		lastSamp time.Time
		// noVictimNoted: a look for a member to kill found none, and said so.
		noVictimNoted bool
	)
	const sampling = 100 * time.Millisecond
	last, lastChange := int64(-1), time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now().Add(-4 * time.Second)
	watch := watchStalls()
	defer watch.close()
	var discounted time.Duration // the machine's stalls already added to lastChange
	for {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
		if d := watch.discount(time.Now(), &discounted); d > 0 {
			lastChange = lastChange.Add(d)
			logf("this load run was not run for %s: the machine stalled (memory exhausted? see dmesg); not counted towards -stall", d.Round(time.Second))
		}
		for _, m := range members {
			if !m.dead {
				m.p.sample()
			}
		}
		got := j.got()
		if got != last || fd != nil && fd.feeding() {
			last, lastChange = got, time.Now()
		}
		if tk != nil && len(samples) < maxSamples(o.LeaseTTL, sampling) && time.Since(lastSamp) >= sampling {
			lastSamp = time.Now()
			samples = append(samples, takeoverSample{at: lastSamp, counts: pick(pj.delivered(), tk.Partitions)})
		}
		if got >= j.want() {
			break
		}
		for _, m := range members {
			if err := m.p.exited(); err != nil && !m.dead {
				return res, fmt.Errorf("loadrun: the shipper %sstopped by itself (%v) with %d of %d delivered; see %s", m.node+" ", err, got, j.want(), m.log)
			}
		}
		if time.Since(lastChange) > o.Stall {
			res.Note = fmt.Sprintf("gave up: nothing new arrived for %s", o.Stall)
			logf("%s", res.Note)
			break
		}
		if clusterKill && tk == nil && got >= int64(0.3*float64(j.want())) {
			own, err := owners(ctx, urls, o.LeaseTTL, pj.plugin())
			if err != nil {
				return res, fmt.Errorf("loadrun: reading the partitions' owners: %w", err)
			}
			now := pj.delivered()
			want := pj.wanted()
			left := func(part string) bool { return now[part] < want[part] }
			victim, parts := chooseVictim(own, left)
			if victim == "" {
				// Leases change hands while the members join (the first takes every partition,
				// then hands them over): none may be held at this moment. Look again at the
				// next tick; a run that ends first reports no kill.
				if !noVictimNoted {
					noVictimNoted = true
					logf("no member owns a partition with records left yet (%d leases); looking again", len(own))
				}
				continue
			}
			var atKill map[string]int64
			for _, m := range members {
				if m.node == victim {
					atKill = pj.delivered()
					killAt = time.Now()
					use.add(m.p.kill9())
					m.dead = true
				}
			}
			if killAt.IsZero() {
				return res, fmt.Errorf("loadrun: the owner %q is none of the members", victim)
			}
			// The partitions to time are those whose lease still names the victim after the
			// kill: it may have handed some over (the first member to join takes every
			// partition, then hands them to their owners) between the read above and the kill,
			// and a dead member releases nothing.
			if own, err = owners(ctx, urls, o.LeaseTTL, pj.plugin()); err != nil {
				return res, fmt.Errorf("loadrun: reading the partitions' owners after the kill: %w", err)
			}
			if held := heldBy(own, victim, left); !slices.Equal(held, parts) {
				logf("%s's partitions with records left changed hands before the kill: %s, not %s", victim, strings.Join(held, ", "), strings.Join(parts, ", "))
				parts = held
			}
			base = pick(atKill, parts)
			res.Kills++
			tk = &Takeover{Victim: victim, Partitions: parts, Sampling: sampling, FarEnd: pj.farEnd()}
			logf("kill -9 %s at %d of %d delivered; it owned %d partitions with records left: %s", victim, got, j.want(), len(parts), strings.Join(parts, ", "))
		}
		if p := members[0].p; !nextKill.IsZero() && (time.Now().After(nextKill) || got >= killAtGot) {
			use.add(p.kill9())
			res.Kills++
			if tw, ok := j.(twiceCounter); ok {
				// The records the restart sends again arrive after this line: the count
				// grows by what the kill before this one made the shipper send again.
				logf("kill -9 #%d at %d of %d delivered (%d twice so far)", res.Kills, got, j.want(), tw.twice())
			} else {
				logf("kill -9 #%d at %d of %d delivered", res.Kills, got, j.want())
			}
			if members[0].p, err = startShipper(o.Shipper, cfg, members[0].out, members[0].env); err != nil {
				return res, err
			}
			defer members[0].p.kill()
			nextKill = time.Time{}
			if res.Kills < o.Kills {
				nextKill = time.Now().Add(killDelay(rnd))
				killAtGot = killPoint(rnd, got, j.want(), o.Kills-res.Kills)
			}
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			var rss []string
			for _, m := range members {
				if !m.dead {
					rss = append(rss, m.p.rss())
				}
			}
			logf("%d of %d delivered, %.0f/s, shipper RSS %s", got, j.want(), float64(got)/time.Since(begin).Seconds(), strings.Join(rss, ", "))
		}
	}
	res.Wall = time.Since(begin)
	res.Note = addNote(res.Note, watch.note())
	if tk != nil {
		// The last samples: a partition may have been taken over in the last tick.
		samples = append(samples, takeoverSample{at: time.Now(), counts: pick(pj.delivered(), tk.Partitions)})
	}
	// Every member is asked to stop at once, so none hands its partitions to another that is
	// about to stop too.
	stopped := make(chan stopResult, len(members))
	live := 0
	for _, m := range members {
		if m.dead {
			continue
		}
		live++
		go func() {
			u, err := m.p.stop(30 * time.Second)
			stopped <- stopResult{u, err}
		}()
	}
	var stopErr error
	for range live {
		r := <-stopped
		use.add(r.u)
		stopErr = errors.Join(stopErr, r.err)
	}
	if stopErr != nil {
		return res, stopErr
	}
	if err := <-profDone; err != nil {
		logf("no profile: %v", err)
	}
	res.CPU, res.MaxRSS = use.cpu, use.maxRSS
	if len(members) > 1 {
		for _, m := range members {
			res.MemberRSS = append(res.MemberRSS, m.p.peak)
		}
	}
	j.finish(&res)
	if lm, ok := j.(latencyMeter); ok {
		if res.Latency, err = lm.latency(ctx); err != nil {
			return res, err
		}
		if res.Latency != nil {
			logf("latency from ingestion in CloudWatch Logs to the SIEM: %s", res.Latency)
		}
	}
	if tk != nil {
		logs := map[string]string{}
		for _, m := range members {
			logs[m.node] = m.log
		}
		if err := measureTakeover(tk, killAt, base, samples, logs, pj.plugin()); err != nil {
			logf("takeover: %v", err)
		}
		res.Takeover = tk
		lo, hi, n := Range(tk.First)
		alo, ahi, an := Range(tk.Acquired)
		logf("takeover of %s's %d partitions: acquired by another member %s–%s after the kill (%d), first new record %s %s–%s after it (%d)",
			tk.Victim, len(tk.Partitions), alo.Round(time.Millisecond), ahi.Round(time.Millisecond), an, tk.FarEnd, lo.Round(time.Millisecond), hi.Round(time.Millisecond), n)
	}
	if res.Floor, err = j.floor(dir); err != nil {
		logf("no floor: %v", err)
	}
	logf("done: %d held, %d wanted, %d got, %d lost, %d twice in %s; shipper CPU %s (%.2f s per million), peak RSS %.1f MB",
		res.Held, res.Want, res.Got, res.Lost, res.Twice, res.Wall.Round(time.Millisecond), res.CPU.Round(time.Millisecond),
		res.CPUPerMillion(), float64(res.MaxRSS)/(1<<20))
	if peer == nil && o.Peer != "" {
		if peer, err = runPeerOn(ctx, j, mode, dir, o, logf); err != nil {
			return res, err
		}
	}
	if peer != nil {
		peer.Floor = res.Floor
		res.Peer = peer
	}
	return res, nil
}

// killDelay is when the next SIGKILL comes after a start: 0.3 s to 2.5 s, so that some land
// while the shipper restores its positions and some in full flow.
func killDelay(r *rand.Rand) time.Duration {
	return 300*time.Millisecond + time.Duration(r.Int64N(int64(2200*time.Millisecond)))
}

// twiceCounter is a journey that counts, while it runs, the records that arrived more than
// once.
type twiceCounter interface{ twice() int64 }

// killPoint is the count of records delivered at which the next SIGKILL comes, with left
// kills to go and got of want delivered: the records left are shared out among the kills and
// the end of the run, and the kill lands at a random point of its share (half to one and a
// half of it), so that the kills spread over the whole run.
func killPoint(r *rand.Rand, got, want int64, left int) int64 {
	share := float64(want-got) / float64(left+1)
	return got + max(1, int64(share*(0.5+r.Float64())))
}

// member is one shipper process of a run and its restarts.
type member struct {
	node string   // its cluster node name; empty outside cluster mode
	env  []string // added to its environment
	log  string   // its log file
	out  *os.File
	p    *shipper
	dead bool // killed and not restarted
}

type stopResult struct {
	u   usage
	err error
}

// maxSamples bounds the far end's samples after a cluster kill to twice the lease TTL and a
// minute: a takeover takes one TTL, and each sample reads every stored id.
func maxSamples(ttl, every time.Duration) int { return int((2*ttl + time.Minute) / every) }

// pick is counts of the partitions in parts only.
func pick(counts map[string]int64, parts []string) map[string]int64 {
	out := make(map[string]int64, len(parts))
	for _, p := range parts {
		out[p] = counts[p]
	}
	return out
}
