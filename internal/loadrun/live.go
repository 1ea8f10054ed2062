package loadrun

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// The live run: the CloudTrail journey's records are put into cloudsim's CloudWatch Logs
// while the shipper runs, Options.Rate a second over the three regions, each stamped with the
// time it is put (its eventTime and event timestamp), and each visible only
// Options.IngestDelay plus a random share of Options.IngestJitter later, so that records reach
// CloudWatch Logs late and out of order as CloudTrail's do. The syslog receiver notes when each
// eventID first arrives; once the run is over, the events' ingestion times are read back with
// FilterLogEvents, and each record's latency is its arrival at the SIEM less its ingestion
// time in CloudWatch Logs.

// liveTick is how often the feeder puts what is due.
const liveTick = 100 * time.Millisecond

// liveFeed puts the live run's records over time.
type liveFeed struct {
	busy   atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ feeder = (*cloudTrailJourney)(nil)

// feed starts putting the journey's records at j.o.Rate a second; it returns at once.
func (j *cloudTrailJourney) feed(ctx context.Context, logf func(string, ...any)) {
	if j.mode != Live || j.sim == nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	j.live.cancel = cancel
	j.live.busy.Store(true)
	j.live.wg.Add(1)
	go func() {
		defer j.live.wg.Done()
		defer j.live.busy.Store(false)
		if err := j.putOverTime(ctx); err != nil {
			logf("the feeder stopped: %v", err)
		}
	}()
}

func (j *cloudTrailJourney) feeding() bool { return j.live.busy.Load() }

// stop stops the feeder, if it runs, and waits for it.
func (f *liveFeed) stop() {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
}

// putOverTime puts record i at Options.Rate's schedule (start + i/rate), each tick what is due,
// stamped with the time of the put.
func (j *cloudTrailJourney) putOverTime(ctx context.Context) error {
	account := cloudsim.Default().AWS.Accounts[0].ID
	tick := time.NewTicker(liveTick)
	defer tick.Stop()
	start := time.Now()
	next := 0
	byRegion := make([][]cwlogs.InputEvent, len(trailRegions))
	for next < len(j.recs) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		now := time.Now()
		due := min(len(j.recs), dueBy(now.Sub(start), j.o.Rate))
		for r := range byRegion {
			byRegion[r] = byRegion[r][:0]
		}
		for ; next < due; next++ {
			r := next % len(trailRegions)
			rec := j.samples[next%len(j.samples)].with(trailID(j.o.Seed, next), now)
			byRegion[r] = append(byRegion[r], cwlogs.InputEvent{Timestamp: now.UnixMilli(), Message: string(rec)})
		}
		for r, evs := range byRegion {
			if len(evs) == 0 {
				continue
			}
			region := trailRegions[r]
			if err := j.sim.Logs.Put(account, region, trailGroup, cwlogs.CloudTrailStream(account, region), evs); err != nil {
				return fmt.Errorf("putting records into %s: %w", region, err)
			}
		}
	}
	return nil
}

// dueBy is how many records are due after elapsed at rate records a second.
func dueBy(elapsed time.Duration, rate float64) int {
	return int(math.Floor(elapsed.Seconds()*rate + 1e-9))
}

// Latency is the distribution of the records' latencies from their ingestion in CloudWatch
// Logs to their first arrival at the SIEM.
type Latency struct {
	N      int // records measured: arrived, with an ingestion time
	Median time.Duration
	P99    time.Duration
	Max    time.Duration
	// Unmatched is records that arrived but whose ingestion time was not read back.
	Unmatched int
}

func (l *Latency) String() string {
	if l == nil || l.N == 0 {
		return "none measured"
	}
	s := fmt.Sprintf("median %.1f s, p99 %.1f s, max %.1f s over %d records", l.Median.Seconds(), l.P99.Seconds(), l.Max.Seconds(), l.N)
	if l.Unmatched > 0 {
		s += fmt.Sprintf(" (%d arrived without an ingestion time read back)", l.Unmatched)
	}
	return s
}

// latencies is the distribution of the arrived records' latencies, each its arrival (Unix ms)
// less its ingestion (Unix ms), both by
// id, and how many arrived ids have no ingestion time.
func latencies(arrived, ingested map[string]int64) *Latency {
	ms := make([]int64, 0, len(arrived))
	l := &Latency{}
	for id, at := range arrived {
		in, ok := ingested[id]
		if !ok {
			l.Unmatched++
			continue
		}
		ms = append(ms, at-in)
	}
	if len(ms) == 0 {
		return l
	}
	slices.Sort(ms)
	l.N = len(ms)
	l.Median = time.Duration(medianInt(ms) * float64(time.Millisecond))
	l.P99 = time.Duration(nearestRank(ms, 0.99)) * time.Millisecond
	l.Max = time.Duration(ms[len(ms)-1]) * time.Millisecond
	return l
}

// medianInt is the median of sorted values: the middle one, or the mean of the two middle ones.
func medianInt(sorted []int64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return float64(sorted[n/2])
	}
	return float64(sorted[n/2-1]+sorted[n/2]) / 2
}

// nearestRank is the q-quantile (0 < q <= 1) of sorted values by the nearest-rank method: the
// smallest value with at least q of the values at or below it.
func nearestRank(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

var _ latencyMeter = (*cloudTrailJourney)(nil)

// latency measures the live run's latencies (nil in other runs): it reads every event's
// ingestion time back from CloudWatch Logs.
func (j *cloudTrailJourney) latency(ctx context.Context) (*Latency, error) {
	if j.mode != Live {
		return nil, nil
	}
	j.live.stop()
	ingested := make(map[string]int64, len(j.recs))
	for _, region := range trailRegions {
		if err := readIngestion(ctx, j.endpoint, region, trailGroup, ingested); err != nil {
			return nil, fmt.Errorf("loadrun: reading the ingestion times back: %w", err)
		}
	}
	return latencies(j.rcv.arrivals(), ingested), nil
}

// logsClient is a CloudWatch Logs client of region at endpoint, with the run's credentials.
func logsClient(endpoint, region string) *cloudwatchlogs.Client {
	acct := cloudsim.Default().AWS.Accounts[0]
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(acct.AccessKeyID, acct.SecretAccessKey, ""),
		BaseEndpoint:     aws.String(endpoint),
		RetryMaxAttempts: 20,
	})
}

// readIngestion adds each event's ingestion time (Unix ms) to ingested, by the eventID of its
// CloudTrail record.
func readIngestion(ctx context.Context, endpoint, region, group string, ingested map[string]int64) error {
	c := logsClient(endpoint, region)
	p := cloudwatchlogs.NewFilterLogEventsPaginator(c, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(group), Limit: aws.Int32(10000),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("FilterLogEvents in %s: %w", region, err)
		}
		for _, e := range out.Events {
			if id, ok := eventIDOf(aws.ToString(e.Message)); ok && e.IngestionTime != nil {
				ingested[id] = *e.IngestionTime
			}
		}
	}
	return nil
}

// eventIDOf is the eventID of a record the journey made (it comes first; see sample.with).
func eventIDOf(msg string) (string, bool) {
	rest, ok := strings.CutPrefix(msg, `{"eventID":"`)
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, `"`)
	return id, ok
}
