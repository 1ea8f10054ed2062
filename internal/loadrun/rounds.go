package loadrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// Alternating runs: the shipper (A) and another reader of the same backlog (B: the peer, or
// a second shipper binary) run one after the other, ABAB..., Options.Rounds times each, so
// that the machine's drift and its other load fall on both alike; the summary gives the
// median, min and max of each one's CPU seconds per million and peak RSS, and the ratios of
// the medians.

// resetter is a journey that can serve another run on the same backlog.
type resetter interface {
	reset()
}

// Series is one reader's runs of an alternation.
type Series struct {
	Name string // "logshipper", "otelcol-peer" or "logshipper B"
	Runs []Result
}

// Alternation is the runs of an alternating run, by reader: A the shipper (Options.Shipper),
// B the peer or Options.ShipperB (no runs when there is neither).
type Alternation struct {
	Journey string
	Mode    Mode
	A, B    Series
	BFirst  bool // B ran first in each round (Options.PeerFirst)
}

// Spread is the median, smallest and largest of some values.
type Spread struct{ Median, Min, Max float64 }

// spreadOf is the spread of xs (the median of an even count is the mean of the two middle
// values); zero for none.
func spreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Spread{Median: med, Min: s[0], Max: s[n-1]}
}

// CPU is the spread of the series' CPU seconds per million records.
func (s Series) CPU() Spread { return s.spread(func(r Result) float64 { return r.CPUPerMillion() }) }

// RSS is the spread of the series' peak RSS, MB.
func (s Series) RSS() Spread {
	return s.spread(func(r Result) float64 { return float64(r.MaxRSS) / (1 << 20) })
}

// Wall is the spread of the series' wall times, seconds.
func (s Series) Wall() Spread { return s.spread(func(r Result) float64 { return r.Wall.Seconds() }) }

// LatencyMedian and LatencyP99 are the spreads of the live runs' latency median and p99,
// seconds; ok is false when no run measured latency.
func (s Series) LatencyMedian() (Spread, bool) {
	return s.latencySpread(func(l *Latency) time.Duration { return l.Median })
}

func (s Series) LatencyP99() (Spread, bool) {
	return s.latencySpread(func(l *Latency) time.Duration { return l.P99 })
}

func (s Series) latencySpread(f func(*Latency) time.Duration) (Spread, bool) {
	var xs []float64
	for _, r := range s.Runs {
		if r.Latency != nil && r.Latency.N > 0 {
			xs = append(xs, f(r.Latency).Seconds())
		}
	}
	return spreadOf(xs), len(xs) > 0
}

func (s Series) spread(f func(Result) float64) Spread {
	xs := make([]float64, 0, len(s.Runs))
	for _, r := range s.Runs {
		xs = append(xs, f(r))
	}
	return spreadOf(xs)
}

// ratio is a/b, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// checkRounds fails on an alternation that cannot run.
func checkRounds(name string, mode Mode, o Options) error {
	if o.Rounds < 1 {
		return fmt.Errorf("loadrun: -rounds must be at least 1, not %d", o.Rounds)
	}
	if mode != Plain && mode != Live {
		return fmt.Errorf("loadrun: -rounds and -shipper-b alternate plain or live runs, not %s runs", mode)
	}
	if o.Peer != "" && o.ShipperB != "" {
		return errors.New("loadrun: -peer and -shipper-b each give the other side of an alternation: choose one")
	}
	if o.Peer != "" && (name != "cloudtrail" || mode != Plain || o.Cluster > 0) {
		return fmt.Errorf("loadrun: -peer alternates with the cloudtrail journey's plain run of one shipper process, not %s/%s", name, mode)
	}
	if o.ShipperB != "" {
		if _, err := os.Stat(o.ShipperB); err != nil {
			return fmt.Errorf("loadrun: -shipper-b: %w", err)
		}
	}
	return checkOptions(name, mode, o)
}

// RunRounds runs journey name in mode Options.Rounds times with the shipper and as often with
// the peer (Options.Peer) or the second shipper (Options.ShipperB), alternating, the peer or
// second shipper first with Options.PeerFirst. A journey that can be reset serves every run
// from one backlog (the live run's records are put anew for each run, so it is set up anew,
// as a journey that cannot be reset is).
func RunRounds(ctx context.Context, name string, mode Mode, o Options) (Alternation, error) {
	alt := Alternation{Journey: name, Mode: mode, A: Series{Name: "logshipper"}, BFirst: o.PeerFirst}
	switch {
	case o.Peer != "":
		alt.B.Name = "otelcol-peer"
	case o.ShipperB != "":
		alt.B.Name = "logshipper B"
	}
	if o.Records < 1 {
		return alt, errors.New("loadrun: at least one record is needed")
	}
	if o.Stall <= 0 {
		o.Stall = 2 * time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if err := checkRounds(name, mode, o); err != nil {
		return alt, err
	}
	steps := []string{"a"}
	if alt.B.Name != "" {
		steps = append(steps, "b")
		if o.PeerFirst {
			steps = []string{"b", "a"}
		}
	}
	var j journey
	defer func() {
		if j != nil {
			j.close()
		}
	}()
	for round := 1; round <= o.Rounds; round++ {
		for _, step := range steps {
			logf := progress(o.Progress, fmt.Sprintf("%s round %d", name, round), mode)
			if rs, ok := j.(resetter); ok && mode != Live {
				rs.reset()
			} else {
				if j != nil {
					j.close()
					j = nil
				}
				var err error
				if j, err = newJourney(ctx, name, mode, o, logf); err != nil {
					return alt, err
				}
			}
			dir, err := runDir(o.Dir, fmt.Sprintf("%s-%s-round%d-%s", name, mode, round, step))
			if err != nil {
				return alt, err
			}
			oo := o
			oo.Peer = ""
			switch {
			case step == "a":
				r, err := runOn(ctx, j, name, mode, dir, oo, logf)
				if err != nil {
					return alt, err
				}
				r.Round = round
				alt.A.Runs = append(alt.A.Runs, r)
			case o.Peer != "":
				ct, ok := j.(*cloudTrailJourney)
				if !ok {
					return alt, fmt.Errorf("loadrun: -peer needs the cloudtrail journey, not %s", name)
				}
				p, err := runPeer(ctx, ct, dir, o, logf)
				if err != nil {
					return alt, err
				}
				p.Round = round
				if n := len(alt.A.Runs); n > 0 {
					p.Floor = alt.A.Runs[n-1].Floor // the same records
				}
				alt.B.Runs = append(alt.B.Runs, *p)
			default:
				oo.Shipper = o.ShipperB
				r, err := runOn(ctx, j, name, mode, dir, oo, logf)
				if err != nil {
					return alt, err
				}
				r.Round, r.Runner = round, alt.B.Name
				alt.B.Runs = append(alt.B.Runs, r)
			}
		}
	}
	return alt, nil
}

// Results is the alternation's runs in the order they ran.
func (a Alternation) Results() []Result {
	first, second := a.A.Runs, a.B.Runs
	if a.BFirst {
		first, second = second, first
	}
	var out []Result
	for i := range max(len(first), len(second)) {
		if i < len(first) {
			out = append(out, first[i])
		}
		if i < len(second) {
			out = append(out, second[i])
		}
	}
	return out
}

// WriteSummary writes the alternation's summary as a Markdown table: each reader's median, min
// and max CPU seconds per million and peak RSS (and latency, for live runs), then the ratios
// of B's medians to A's.
func WriteSummary(w io.Writer, a Alternation) {
	var b bytes.Buffer
	series := []Series{a.A}
	if a.B.Name != "" {
		series = append(series, a.B)
	}
	_, live := a.A.LatencyMedian()
	b.WriteString("| journey | run | reader | runs | CPU s per M: median | min | max | peak RSS MB: median | min | max | wall s: median |")
	if live {
		b.WriteString(" latency median s: median | latency p99 s: median |")
	}
	b.WriteString("\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	if live {
		b.WriteString("---:|---:|")
	}
	b.WriteString("\n")
	for _, s := range series {
		c, m := s.CPU(), s.RSS()
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f | %.1f |",
			a.Journey, a.Mode, s.Name, len(s.Runs), c.Median, c.Min, c.Max, m.Median, m.Min, m.Max, s.Wall().Median)
		if live {
			lm, _ := s.LatencyMedian()
			lp, _ := s.LatencyP99()
			fmt.Fprintf(&b, " %.1f | %.1f |", lm.Median, lp.Median)
		}
		b.WriteString("\n")
	}
	if a.B.Name != "" {
		ca, cb := a.A.CPU().Median, a.B.CPU().Median
		ra, rb := a.A.RSS().Median, a.B.RSS().Median
		fmt.Fprintf(&b, "\n- %s / %s, medians: CPU s per million %.2f / %.2f = %.2fx, peak RSS %.0f / %.0f MB = %.2fx",
			a.B.Name, a.A.Name, cb, ca, ratio(cb, ca), rb, ra, ratio(rb, ra))
		if live {
			la, _ := a.A.LatencyMedian()
			lb, _ := a.B.LatencyMedian()
			fmt.Fprintf(&b, ", latency median %.1f / %.1f s = %.2fx", lb.Median, la.Median, ratio(lb.Median, la.Median))
		}
		b.WriteString("\n")
	}
	_, _ = w.Write(b.Bytes())
}
