package cloudwatch

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

// liveConfig is the test configuration with the near-real-time pass on: windows at lag 4 s
// behind it, the pass reading every 100 ms the last 0.5 s, at every second read the last 1 s,
// at every fourth the last 1.9 s (its window, 1.5 s, and the 0.4 s until the next such read).
func (w *world) liveConfig() *Config {
	cfg := w.config("us-east-1")
	cfg.StartPosition = "end"
	// The sweep reads a time lag after it: long enough that the pass reads first even on a
	// busy machine (the tests check that the pass, not the sweep, published what it could see).
	cfg.Lag = 10 * time.Second
	cfg.Overlap = 3 * time.Second
	cfg.LiveLag = 100 * time.Millisecond
	cfg.LiveWindow = 1500 * time.Millisecond
	cfg.LiveRecent = 500 * time.Millisecond
	cfg.LivePollInterval = 100 * time.Millisecond
	cfg.LiveMargin = time.Second
	if err := cfg.Validate(); err != nil {
		w.t.Fatal(err)
	}
	// The group exists, with one event long before the start.
	w.put("us-east-1", ctStream("us-east-1"), 1, time.Hour)
	return cfg
}

// waitSweptPast waits until the windows at lag saved a checkpoint past at.
func waitSweptPast(t *testing.T, st state.Store, at time.Time) {
	t.Helper()
	plugintest.Eventually(t, time.Until(at)+20*time.Second, "a checkpoint saved past "+at.UTC().Format(time.RFC3339Nano), func() bool {
		cp := savedCheckpoint(t, st)
		return cp != nil && cp.Done && cp.To >= at.UnixMilli()
	})
}

// waitAfterStart waits until the partition saved its start and the clock is past it by more
// than the 6 ms w.put spreads timestamps back over, so that the events put next are after it.
func waitAfterStart(t *testing.T, st state.Store) {
	t.Helper()
	plugintest.Eventually(t, 0, "the start saved", func() bool {
		cp := savedCheckpoint(t, st)
		return cp != nil && time.Now().UnixMilli() > cp.Start+50
	})
}

// onceAcross fails unless every message in want was published exactly once by the publishers
// together, and no eventId twice.
func onceAcross(t *testing.T, want []string, pubs ...*plugintest.Publisher) {
	t.Helper()
	byRaw, byID := map[string]int{}, map[string]int{}
	for _, pub := range pubs {
		for _, r := range pub.Records() {
			byRaw[string(r.Raw)]++
			byID[r.ID]++
		}
	}
	missed, twice := 0, 0
	for _, m := range want {
		switch n := byRaw[m]; {
		case n == 0:
			missed++
		case n > 1:
			twice++
		}
	}
	for _, n := range byID {
		if n > 1 {
			twice++
		}
	}
	if missed > 0 || twice > 0 {
		t.Errorf("of %d events: %d missed, %d published more than once", len(want), missed, twice)
	}
}

// Events put live arrive within about the ingestion delay plus live_poll_interval, long before
// the windows at lag read their time; events ingested after the pass last read their time are
// found by the sweep; none is missed, none published twice, none counted late.
func TestLivePassAndSweep(t *testing.T) {
	w := newWorld(t, cwlogs.Options{IngestDelay: 200 * time.Millisecond, IngestJitter: time.Second})
	cfg := w.liveConfig()
	st := state.NewMemory().Namespace("plugin/cw")
	s := w.source(t, cfg, st)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	defer run.Stop(t)
	plugintest.Eventually(t, 0, "the near-real-time pass started", func() bool { return s.live.polls.Load() > 0 })
	// The late events' times (3 s before they are put) are after the start.
	plugintest.Eventually(t, 0, "3 s past the start", func() bool {
		return time.Now().UnixMilli() > savedCheckpoint(t, st).Start+3100
	})
	var live, late []string
	for range 20 {
		live = append(live, w.put("us-east-1", ctStream("us-east-1"), 5, 0)...)
		// Ingested 3.2 s to 4.2 s after their time: after the pass (1.9 s) last read it.
		late = append(late, w.put("us-east-1", ctStream("us-east-1"), 2, 3*time.Second)...)
		time.Sleep(50 * time.Millisecond) // puts spread over a second of time, not a wait for a condition
	}
	// The last events put are read by the windows at lag no sooner than lag after their time.
	if !pub.Await(cfg.Lag-time.Second, func() bool { return len(pub.MissingKeys(rawKey, live)) == 0 }) {
		t.Fatalf("%d of %d events put live not read within lag − 1 s (the near-real-time pass published %d)",
			len(pub.MissingKeys(rawKey, live)), len(live), s.LivePublished())
	}
	all := append(live, late...)
	if !pub.Await(cfg.Lag+20*time.Second, func() bool { return len(pub.MissingKeys(rawKey, all)) == 0 }) {
		t.Errorf("%d of %d late events not found by the sweep", len(pub.MissingKeys(rawKey, late)), len(late))
	}
	// Wait for the sweep to pass every event's time and its overlap: nothing comes twice.
	waitSweptPast(t, st, time.Now().Add(cfg.Overlap))
	run.Stop(t)
	onceAcross(t, all, pub)
	if s.SweepFound() == 0 || s.LivePublished() == 0 {
		t.Errorf("LivePublished()=%d SweepFound()=%d: want both above 0", s.LivePublished(), s.SweepFound())
	}
	if got := testutil.ToFloat64(s.set.Metrics.Swept); got != float64(s.SweepFound()) {
		t.Errorf("logshipper_records_swept_total = %g, want SweepFound() = %d", got, s.SweepFound())
	}
	if s.Late() != 0 {
		t.Errorf("Late()=%d: events the sweep found are not missed", s.Late())
	}
}

// A stop between the pass's read and the sweep loses nothing and sends nothing twice: the
// first run reads with live_lag 0 (the windows at lag alone) and saves a checkpoint of that
// form; the second reads with the pass and stops before the sweep; events ingested while it
// is stopped, in time the pass read, are found by the third run's sweep.
func TestLiveRestartBeforeSweep(t *testing.T) {
	w := newWorld(t, cwlogs.Options{IngestDelay: 200 * time.Millisecond, IngestJitter: 500 * time.Millisecond})
	st := state.NewMemory().Namespace("plugin/cw")
	cfg := w.liveConfig()
	old := *cfg
	old.LiveLag = 0
	s1 := w.source(t, &old, st)
	pub1 := plugintest.NewPublisher(plugintest.AckAsync)
	run1 := plugintest.Start(t, s1, pub1)
	waitAfterStart(t, st)
	first := w.put("us-east-1", ctStream("us-east-1"), 10, 0)
	if !pub1.Await(cfg.Lag+20*time.Second, func() bool { return len(pub1.MissingKeys(rawKey, first)) == 0 }) {
		t.Fatal("the first run (no near-real-time pass) did not read its events")
	}
	run1.Stop(t)

	s2 := w.source(t, cfg, st)
	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	run2 := plugintest.Start(t, s2, pub2)
	var second []string
	for range 10 {
		second = append(second, w.put("us-east-1", ctStream("us-east-1"), 5, 0)...)
		time.Sleep(30 * time.Millisecond) // puts spread over time, not a wait for a condition
	}
	if !pub2.Await(cfg.Lag-time.Second, func() bool { return len(pub2.MissingKeys(rawKey, second)) == 0 }) {
		t.Fatalf("%d of %d events not read by the near-real-time pass", len(pub2.MissingKeys(rawKey, second)), len(second))
	}
	run2.Stop(t)
	if s2.LivePublished() == 0 {
		t.Fatal("the second run's events came from the windows at lag, not the near-real-time pass")
	}
	// Put while stopped, with times the pass read (1 s old, it reads 1.9 s back).
	third := w.put("us-east-1", ctStream("us-east-1"), 10, time.Second)
	// The third run starts once the sweep's first window covers what the second run's pass
	// delivered, with a pass that polls seldom: the sweep must not read before the pass's
	// saved state is loaded.
	stopped := time.Now()
	plugintest.Eventually(t, cfg.Lag+10*time.Second, "lag past the second run's events", func() bool {
		return time.Since(stopped) > cfg.Lag+500*time.Millisecond
	})
	slow := *cfg
	slow.LivePollInterval = 3 * time.Second

	s3 := w.source(t, &slow, st)
	pub3 := plugintest.NewPublisher(plugintest.AckAsync)
	run3 := plugintest.Start(t, s3, pub3)
	all := append(append(append([]string{}, first...), second...), third...)
	waitSweptPast(t, st, time.Now().Add(cfg.Overlap))
	run3.Stop(t)
	onceAcross(t, all, pub1, pub2, pub3)
}

// A stop like kill -9 while batches of the pass are not acknowledged: what was acknowledged is
// not sent again, and what was not is sent by the next run (the pass reads it again from its
// saved state, or the sweep finds it), none lost.
func TestLiveKillBeforeAck(t *testing.T) {
	w := newWorld(t, cwlogs.Options{IngestDelay: 200 * time.Millisecond, IngestJitter: 500 * time.Millisecond})
	st := state.NewMemory().Namespace("plugin/cw")
	cfg := w.liveConfig()
	s1 := w.source(t, cfg, st)
	pub1 := plugintest.NewPublisher(plugintest.AckAsync)
	run1 := plugintest.Start(t, s1, pub1)
	plugintest.Eventually(t, 0, "the near-real-time pass started", func() bool { return s1.live.polls.Load() > 0 })
	waitAfterStart(t, st)
	var acked []string
	for range 5 {
		acked = append(acked, w.put("us-east-1", ctStream("us-east-1"), 5, 0)...)
		time.Sleep(30 * time.Millisecond) // puts spread over time, not a wait for a condition
	}
	if !pub1.Await(cfg.Lag-time.Second, func() bool { return len(pub1.MissingKeys(rawKey, acked)) == 0 }) {
		t.Fatal("the first events were not read by the near-real-time pass")
	}
	pub1.SetMode(plugintest.Manual) // nothing more is acknowledged: in flight at the kill
	inFlight := w.put("us-east-1", ctStream("us-east-1"), 20, 0)
	if !pub1.Await(cfg.Lag-time.Second, func() bool { return len(pub1.MissingKeys(rawKey, inFlight)) == 0 }) {
		t.Fatal("the events in flight were not read by the near-real-time pass")
	}
	run1.Stop(t)
	delivered := map[string]bool{}
	for _, b := range pub1.Batches() {
		if b.Outcome() == event.Acked {
			for _, k := range b.Keys(rawKey) {
				delivered[k] = true
			}
		}
	}
	for _, m := range inFlight {
		if delivered[m] {
			t.Fatalf("event %s in flight was acknowledged", m)
		}
	}

	s2 := w.source(t, cfg, st)
	pub2 := plugintest.NewPublisher(plugintest.AckAsync)
	run2 := plugintest.Start(t, s2, pub2)
	all := slices.Concat(acked, inFlight)
	waitSweptPast(t, st, time.Now().Add(cfg.Overlap))
	run2.Stop(t)
	again := map[string]int{}
	for _, k := range pub2.Keys(rawKey) {
		again[k]++
	}
	lost, twice := 0, 0
	for _, m := range all {
		switch n := again[m]; {
		case delivered[m] && n > 0, n > 1:
			twice++
		case !delivered[m] && n == 0:
			lost++
		}
	}
	if lost > 0 || twice > 0 {
		t.Errorf("of %d events (%d in flight at the kill): %d lost, %d delivered twice", len(all), len(inFlight), lost, twice)
	}
}

// The pass's state: spans replaced by later reads, ids kept only while a read may return them
// without their being ingested before it, and its encoding read back.
func TestLiveState(t *testing.T) {
	const margin = 1000
	s := newLiveState()
	s.mark(100, 200, 10_000)
	s.mark(150, 250, 12_000)
	s.mark(251, 300, 12_000)
	want := []liveRead{{100, 149, 10_000}, {150, 300, 12_000}}
	if !reflect.DeepEqual(s.Reads, want) {
		t.Fatalf("reads %v, want %v", s.Reads, want)
	}
	s.IDs["a"] = [2]int64{120, 8_500}  // ingested before the read at 10 000 (less the margin)
	s.IDs["b"] = [2]int64{120, 9_500}  // within the margin: the read may not have returned it
	s.IDs["c"] = [2]int64{160, 11_500} // within the margin of 12 000
	s.IDs["d"] = [2]int64{400, 1}      // a time no read covered yet (a read in progress)
	tests := []struct {
		name    string
		ts, ing int64
		id      string
		skip    bool
	}{
		{"ingested long before the read", 120, 8_000, "x", true},
		{"ingested within the margin, id kept", 120, 9_500, "b", true},
		{"ingested within the margin, id not kept", 120, 9_600, "y", false},
		{"ingested after the read", 120, 10_500, "z", false},
		{"a time not read", 50, 1, "w", false},
		{"a later read covers it", 160, 10_500, "v", true},
	}
	for _, tc := range tests {
		if got := s.skip(tc.ts, tc.ing, tc.id, margin); got != tc.skip {
			t.Errorf("%s: skip = %v, want %v", tc.name, got, tc.skip)
		}
	}
	back, err := decodeLive(s.encode())
	if err != nil || !reflect.DeepEqual(back, s) {
		t.Fatalf("decoded %+v (%v), want %+v", back, err, s)
	}
	s.prune(130, margin)
	if want := []liveRead{{100, 149, 10_000}, {150, 300, 12_000}}; !reflect.DeepEqual(s.Reads, want) {
		t.Errorf("after prune(130): reads %v, want %v", s.Reads, want)
	}
	if _, ok := s.IDs["a"]; ok {
		t.Error("id a kept: its read returned it (ingested before the read less the margin)")
	}
	if _, ok := s.IDs["b"]; ok {
		t.Error("id b kept: its time is before the sweep's")
	}
	for _, id := range []string{"c", "d"} {
		if _, ok := s.IDs[id]; !ok {
			t.Errorf("id %s dropped", id)
		}
	}
	s.prune(200, margin)
	if want := []liveRead{{150, 300, 12_000}}; !reflect.DeepEqual(s.Reads, want) {
		t.Errorf("after prune(200): reads %v, want %v", s.Reads, want)
	}
	if _, err := decodeLive([]byte(`{"v":1,"reads":[[5,9,1],[7,12,1]]}`)); err == nil {
		t.Error("overlapping spans decoded without error")
	}
	if _, err := decodeLive([]byte(`{"v":2}`)); err == nil {
		t.Error("an unknown version decoded without error")
	}
}

// A configuration without the pass (live_lag 0, or not shorter than lag) reads as before.
func TestLiveOn(t *testing.T) {
	tests := []struct {
		lag, liveLag time.Duration
		on           bool
	}{
		{10 * time.Minute, 2 * time.Second, true},
		{10 * time.Minute, 0, false},
		{4 * time.Second, 2 * time.Second, false}, // live_window is at most lag/2 = live_lag
		{50 * time.Millisecond, 2 * time.Second, false},
	}
	for _, tc := range tests {
		c := NewConfig().(*Config)
		c.Lag, c.LiveLag = tc.lag, tc.liveLag
		if got := c.liveOn(); got != tc.on {
			t.Errorf("lag %v live_lag %v: liveOn = %v, want %v", tc.lag, tc.liveLag, got, tc.on)
		}
	}
}

// How far back each read of the pass reaches: live_recent at every read, doubling at every
// second, fourth, eighth... read, the whole window (and the time until the next such read) at
// the first read and whenever the doubling reaches it.
func TestLiveDepth(t *testing.T) {
	def := NewConfig().(*Config) // recent 30s, window 3m, poll 5s, lag 10m
	wide := *def
	wide.LiveRecent = 5 * time.Minute // not shorter than the window: every read reads all of it
	short := *def
	short.Lag = 6 * time.Minute // the whole window and more reach at most lag / 2
	tests := []struct {
		name string
		cfg  *Config
		n    uint64
		want time.Duration
	}{
		{"the first read", def, 0, 3*time.Minute + 40*time.Second},
		{"odd read", def, 1, 30 * time.Second},
		{"second", def, 2, time.Minute},
		{"third", def, 3, 30 * time.Second},
		{"fourth", def, 4, 2 * time.Minute},
		{"sixth", def, 6, time.Minute},
		{"eighth", def, 8, 3*time.Minute + 40*time.Second},
		{"twenty-fourth", def, 24, 3*time.Minute + 40*time.Second},
		{"recent as wide as the window", &wide, 1, 3*time.Minute + 5*time.Second},
		{"lag / 2 bounds the window", &short, 8, 3 * time.Minute},
		{"lag / 2 bounds the window, odd read", &short, 1, 30 * time.Second},
	}
	for _, tc := range tests {
		if got := tc.cfg.liveDepth(tc.n); got != tc.want {
			t.Errorf("%s: liveDepth(%d) = %v, want %v", tc.name, tc.n, got, tc.want)
		}
	}
	// A time's reads at the defaults: about 14 in all (36 with the whole window at every read),
	// one at least at an age in [window, window + 40 s], and never more than 2 × age × poll /
	// recent (plus a poll) between two reads, age the time's age at the second.
	poll, lag := def.LivePollInterval, def.LiveLag
	for start := range 16 { // the time becomes lag old just before read start
		var ages []time.Duration
		for n := uint64(start); ; n++ {
			age := lag + time.Duration(n-uint64(start))*poll
			if age > 5*time.Minute {
				break
			}
			if def.liveDepth(n) >= age {
				ages = append(ages, age)
			}
		}
		if len(ages) < 12 || len(ages) > 16 {
			t.Errorf("read %d times (%v), want about 14", len(ages), ages)
		}
		last := ages[len(ages)-1]
		if last < def.LiveWindow || last > def.LiveWindow+40*time.Second {
			t.Errorf("last read at age %v, want within 40 s after the window (%v)", last, def.LiveWindow)
		}
		for i := 1; i < len(ages); i++ {
			most := time.Duration(2*ages[i].Seconds()*poll.Seconds()/def.LiveRecent.Seconds()*float64(time.Second)) + poll
			if gap := ages[i] - ages[i-1]; gap > most {
				t.Errorf("read at age %v then %v: %v apart, want at most %v", ages[i-1], ages[i], gap, most)
			}
		}
	}
}
