package loadrun

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSpreadOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want Spread
	}{
		{"none", nil, Spread{}},
		{"one", []float64{3}, Spread{3, 3, 3}},
		{"odd count, unsorted", []float64{9, 1, 4}, Spread{4, 1, 9}},
		{"even count: the mean of the middle two", []float64{10, 2, 4, 30}, Spread{7, 2, 30}},
		{"equal values", []float64{5, 5, 5, 5}, Spread{5, 5, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.xs...)
			if got := spreadOf(tc.xs); got != tc.want {
				t.Errorf("spreadOf(%v) = %+v, want %+v", tc.xs, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.xs[i] {
					t.Fatalf("spreadOf reordered its input: %v, was %v", tc.xs, in)
				}
			}
		})
	}
}

// run is a result of held records with cpu seconds and rss MB.
func run(held int64, cpu float64, rssMB int64) Result {
	return Result{Held: held, CPU: time.Duration(cpu * float64(time.Second)), MaxRSS: rssMB << 20, Wall: time.Second}
}

func TestSummaryMediansAndRatios(t *testing.T) {
	alt := Alternation{Journey: "cloudtrail", Mode: Plain,
		A: Series{Name: "logshipper", Runs: []Result{run(1e6, 20, 60), run(1e6, 10, 50), run(1e6, 30, 70)}},
		B: Series{Name: "otelcol-peer", Runs: []Result{run(500_000, 25, 150), run(500_000, 20, 200), run(500_000, 15, 100)}},
	}
	if got, want := alt.A.CPU(), (Spread{20, 10, 30}); got != want {
		t.Errorf("A's CPU s per million: %+v, want %+v", got, want)
	}
	// Per million records: B's runs held half a million each.
	if got, want := alt.B.CPU(), (Spread{40, 30, 50}); got != want {
		t.Errorf("B's CPU s per million: %+v, want %+v", got, want)
	}
	if got, want := alt.B.RSS(), (Spread{150, 100, 200}); got != want {
		t.Errorf("B's peak RSS: %+v, want %+v", got, want)
	}
	var b bytes.Buffer
	WriteSummary(&b, alt)
	for _, want := range []string{
		"| cloudtrail | plain | logshipper | 3 | 20.00 | 10.00 | 30.00 | 60 | 50 | 70 | 1.0 |",
		"| cloudtrail | plain | otelcol-peer | 3 | 40.00 | 30.00 | 50.00 | 150 | 100 | 200 | 1.0 |",
		"otelcol-peer / logshipper, medians: CPU s per million 40.00 / 20.00 = 2.00x, peak RSS 150 / 60 MB = 2.50x",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, b.String())
		}
	}
	if got := alt.Results(); len(got) != 6 || got[0].Held != 1e6 || got[1].Held != 500_000 {
		t.Errorf("Results are not in the order they ran (ABAB...): %+v", got)
	}
	alt.BFirst = true
	if got := alt.Results(); len(got) != 6 || got[0].Held != 500_000 || got[1].Held != 1e6 {
		t.Errorf("Results are not in the order they ran (BABA...): %+v", got)
	}
}

func TestSummaryLatencyColumns(t *testing.T) {
	lat := func(med, p99 time.Duration) *Latency { return &Latency{N: 10, Median: med, P99: p99} }
	a := run(1e6, 10, 50)
	a.Latency = lat(10*time.Second, 20*time.Second)
	a2 := run(1e6, 10, 50)
	a2.Latency = lat(14*time.Second, 40*time.Second)
	b := run(1e6, 10, 50)
	b.Latency = lat(3*time.Second, 6*time.Second)
	alt := Alternation{Journey: "cloudtrail", Mode: Live,
		A: Series{Name: "logshipper", Runs: []Result{a, a2}}, B: Series{Name: "logshipper B", Runs: []Result{b}}}
	var out bytes.Buffer
	WriteSummary(&out, alt)
	for _, want := range []string{"latency median s: median", "| 12.0 | 30.0 |", "| 3.0 | 6.0 |", "latency median 3.0 / 12.0 s = 0.25x"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCheckRounds(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "logshipper-old")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	peer := filepath.Join(t.TempDir(), "otelcol-peer")
	if err := os.WriteFile(peer, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		journey string
		mode    Mode
		o       Options
		wantErr string // "" for none
	}{
		{"the shipper alone", "netskope", Plain, Options{Rounds: 3}, ""},
		{"with the peer", "cloudtrail", Plain, Options{Rounds: 3, Peer: PeerOtel, PeerBin: peer}, ""},
		{"with a second shipper", "netskope", Plain, Options{Rounds: 2, ShipperB: bin}, ""},
		{"live, with a second shipper", "cloudtrail", Live, Options{Rounds: 2, ShipperB: bin, Rate: 100}, ""},
		{"no rounds", "cloudtrail", Plain, Options{Rounds: 0}, "at least 1"},
		{"a crash run", "cloudtrail", Crash, Options{Rounds: 2}, "plain or live"},
		{"a fault run", "netskope", Fault, Options{Rounds: 2}, "plain or live"},
		{"peer and second shipper", "cloudtrail", Plain, Options{Rounds: 2, Peer: PeerOtel, PeerBin: peer, ShipperB: bin}, "choose one"},
		{"peer on netskope", "netskope", Plain, Options{Rounds: 2, Peer: PeerOtel, PeerBin: peer}, "cloudtrail journey's plain run"},
		{"peer in a cluster", "cloudtrail", Plain, Options{Rounds: 2, Peer: PeerOtel, PeerBin: peer, Cluster: 3}, "one shipper process"},
		{"peer missing", "cloudtrail", Plain, Options{Rounds: 2, Peer: PeerOtel, PeerBin: peer + "-missing"}, "scripts/peer.sh"},
		{"second shipper missing", "netskope", Plain, Options{Rounds: 2, ShipperB: bin + "-missing"}, "-shipper-b"},
		{"moto on netskope", "netskope", Plain, Options{Rounds: 2, Backend: BackendMoto, MotoBin: "moto_server"}, "cloudtrail journey's plain run"},
		{"a live run without a rate", "cloudtrail", Live, Options{Rounds: 1}, "rate above 0"},
		{"a bad source option", "cloudtrail", Plain, Options{Rounds: 1, SourceOptions: "lag"}, "key=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRounds(tc.journey, tc.mode, tc.o)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("checkRounds: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("checkRounds: %v; want an error with %q", err, tc.wantErr)
			}
		})
	}
}

// buildShipper builds the shipper into a temporary directory.
func buildShipper(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the shipper")
	}
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is read from /proc")
	}
	bin := filepath.Join(t.TempDir(), "logshipper")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/logshipper").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// peerBin is the collector scripts/peer.sh builds; the test fails without it.
func peerBin(t *testing.T) string {
	t.Helper()
	peer, err := filepath.Abs("../../bin/otelcol-peer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(peer); err != nil {
		t.Fatalf("no collector: run scripts/setup.sh (or scripts/peer.sh), which builds it: %v", err)
	}
	return peer
}

// checkAlternation checks that every run of alt delivered everything once and was measured,
// in the order ABAB... (BABA... with first "b").
func checkAlternation(t *testing.T, alt Alternation, rounds int, first string) {
	t.Helper()
	if len(alt.A.Runs) != rounds || len(alt.B.Runs) != rounds {
		t.Fatalf("%d and %d runs, want %d each", len(alt.A.Runs), len(alt.B.Runs), rounds)
	}
	for i, r := range alt.Results() {
		wantB := i%2 == 0 == (first == "b")
		if isB := r.Runner != ""; isB != wantB || r.Round != i/2+1 {
			t.Errorf("run %d: runner %q round %d, out of the alternation's order", i, r.Runner, r.Round)
		}
		if r.Got != r.Want || r.Lost != 0 || r.Twice != 0 || r.CPU <= 0 || r.MaxRSS <= 0 || r.Wall <= 0 {
			t.Errorf("run %d (%s, round %d): %+v", i, r.Runner, r.Round, r)
		}
	}
	var b bytes.Buffer
	WriteSummary(&b, alt)
	if !strings.Contains(b.String(), alt.B.Name+" / logshipper, medians: CPU s per million") {
		t.Errorf("no ratios in the summary:\n%s", b.String())
	}
	t.Logf("\n%s", b.String())
}

// The shipper and the collector alternate on one backlog, the receiver and the state reset
// between runs.
func TestRoundsWithPeer(t *testing.T) {
	bin := buildShipper(t)
	peer := peerBin(t)
	o := Options{
		Shipper: bin, Dir: t.TempDir(), Records: 3000, Seed: 7, Stall: time.Minute,
		TrailSamples: "../cloudtrailrecord/testdata/panther-rule-tests.ndjson",
		Peer:         PeerOtel, PeerBin: peer, Rounds: 2, PeerFirst: true,
	}
	alt, err := RunRounds(context.Background(), "cloudtrail", Plain, o)
	if err != nil {
		t.Fatal(err)
	}
	checkAlternation(t, alt, 2, "b")
}

// Two shipper binaries alternate on the Netskope journey, which is set up anew for each run.
func TestRoundsWithSecondShipper(t *testing.T) {
	bin := buildShipper(t)
	o := Options{
		Shipper: bin, ShipperB: bin, Dir: t.TempDir(), Records: 2000, Seed: 7, Stall: time.Minute,
		TrailSamples: "../cloudtrailrecord/testdata/panther-rule-tests.ndjson", Rounds: 2,
	}
	alt, err := RunRounds(context.Background(), "netskope", Plain, o)
	if err != nil {
		t.Fatal(err)
	}
	checkAlternation(t, alt, 2, "a")
}
