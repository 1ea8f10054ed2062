package loadrun

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestLatencies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		arrived   map[string]int64
		ingested  map[string]int64
		want      Latency
		wantNoneN bool
	}{
		{
			name:     "one record",
			arrived:  map[string]int64{"a": 10_500},
			ingested: map[string]int64{"a": 10_000},
			want:     Latency{N: 1, Median: 500 * time.Millisecond, P99: 500 * time.Millisecond, Max: 500 * time.Millisecond},
		},
		{
			name:     "even count: the median is the mean of the middle two",
			arrived:  map[string]int64{"a": 1_000, "b": 2_000, "c": 13_000, "d": 104_000},
			ingested: map[string]int64{"a": 0, "b": 0, "c": 10_000, "d": 100_000},
			want:     Latency{N: 4, Median: 2500 * time.Millisecond, P99: 4 * time.Second, Max: 4 * time.Second},
		},
		{
			name:     "an arrival without an ingestion time is not measured, and counted",
			arrived:  map[string]int64{"a": 3_000, "b": 5_000},
			ingested: map[string]int64{"a": 1_000, "x": 0},
			want:     Latency{N: 1, Median: 2 * time.Second, P99: 2 * time.Second, Max: 2 * time.Second, Unmatched: 1},
		},
		{
			name:     "an ingested record that did not arrive is not measured (it is lost, counted elsewhere)",
			arrived:  map[string]int64{},
			ingested: map[string]int64{"a": 1_000},
			want:     Latency{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := latencies(tc.arrived, tc.ingested)
			if *got != tc.want {
				t.Errorf("latencies = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// p99 by nearest rank: of 200 values 1..200, the 198th; of 100, the 99th; of 50, the 50th.
func TestNearestRank(t *testing.T) {
	seq := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i + 1)
		}
		return out
	}
	for _, tc := range []struct {
		n    int
		q    float64
		want int64
	}{
		{200, 0.99, 198}, {100, 0.99, 99}, {50, 0.99, 50}, {1, 0.99, 1}, {0, 0.99, 0}, {10, 0.5, 5}, {10, 1, 10},
	} {
		if got := nearestRank(seq(tc.n), tc.q); got != tc.want {
			t.Errorf("nearestRank(1..%d, %g) = %d, want %d", tc.n, tc.q, got, tc.want)
		}
	}
	if got := medianInt([]int64{1, 2, 3, 10}); got != 2.5 {
		t.Errorf("medianInt(1, 2, 3, 10) = %g, want 2.5", got)
	}
}

func TestDueBy(t *testing.T) {
	for _, tc := range []struct {
		elapsed time.Duration
		rate    float64
		want    int
	}{
		{0, 500, 0}, {100 * time.Millisecond, 500, 50}, {time.Second, 500, 500}, {1500 * time.Millisecond, 3, 4}, {time.Second, 0.5, 0}, {2 * time.Second, 0.5, 1},
	} {
		if got := dueBy(tc.elapsed, tc.rate); got != tc.want {
			t.Errorf("dueBy(%s, %g) = %d, want %d", tc.elapsed, tc.rate, got, tc.want)
		}
	}
}

func TestEventIDOf(t *testing.T) {
	rec := sample{rest: []byte(`{"eventName":"x"}`)}.with("e1-2", time.Unix(0, 0))
	if id, ok := eventIDOf(string(rec)); !ok || id != "e1-2" {
		t.Errorf("eventIDOf(%s) = %q, %v", rec, id, ok)
	}
	for _, msg := range []string{`{"eventName":"x","eventID":"e1"}`, `not JSON`, `{"eventID":"unterminated`} {
		if id, ok := eventIDOf(msg); ok {
			t.Errorf("eventIDOf(%s) = %q, true; want false", msg, id)
		}
	}
}

// A live run with a short lag, so that it lasts seconds: records put at 1000/s, each visible
// 1 to 4 s after its put, out of order; every one arrives once and its latency is measured.
func TestLiveRun(t *testing.T) {
	bin := buildShipper(t)
	o := Options{
		Shipper: bin, Dir: t.TempDir(), Records: 3000, Seed: 7, Stall: time.Minute,
		TrailSamples: "../cloudtrailrecord/testdata/panther-rule-tests.ndjson",
		Rate:         1000, IngestDelay: time.Second, IngestJitter: 3 * time.Second,
		SourceOptions: "lag=2s, poll_interval=1s",
	}
	r, err := Run(context.Background(), "cloudtrail", Live, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Got != r.Want || r.Lost != 0 || r.Twice != 0 {
		t.Fatalf("wanted %d, got %d, lost %d, twice %d (%s)", r.Want, r.Got, r.Lost, r.Twice, r.Note)
	}
	l := r.Latency
	if l == nil || l.N != o.Records || l.Unmatched != 0 {
		t.Fatalf("latency not measured for every record: %+v", l)
	}
	// The lag is 2 s and a window comes every second: a record is read within seconds of its
	// ingestion, not never, and not before it.
	if l.Median <= 0 || l.P99 < l.Median || l.Max > 30*time.Second {
		t.Fatalf("latency %s: not what a 2 s lag gives", l)
	}
	t.Logf("latency %s", l)
}

// The live run's configuration keeps the source's defaults: only what reaches cloudsim, and
// where to start, is set, plus -source-opts.
func TestLiveConfigKeepsSourceDefaults(t *testing.T) {
	o := Options{Records: 10, Seed: 1, Rate: 10, TrailSamples: "../cloudtrailrecord/testdata/panther-rule-tests.ndjson",
		SourceOptions: "poll_interval=2s"}
	j, err := newCloudTrail(context.Background(), o, Live, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	cfg := string(j.config("/tmp/x", ""))
	for _, key := range []string{"lag:", "overlap:", "requests_per_second:", "eps_throttle:", "max_backoff:"} {
		if strings.Contains(cfg, key) {
			t.Errorf("the live run's configuration sets %s:\n%s", key, cfg)
		}
	}
	if !strings.Contains(cfg, "    poll_interval: 2s\n") || !strings.Contains(cfg, "start_position: beginning") {
		t.Errorf("the configuration lacks -source-opts or its start:\n%s", cfg)
	}
}
