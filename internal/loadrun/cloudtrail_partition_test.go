package loadrun

import (
	"fmt"
	"maps"
	"net"
	"strings"
	"testing"
	"time"
)

// TestCloudTrailDeliveredByPartition: the syslog receiver counts each expected id once, under
// the partition (region × log group) the load run put it in, whatever arrives again or was not
// expected; the counts are what a cluster crash run samples to time a takeover.
func TestCloudTrailDeliveredByPartition(t *testing.T) {
	east, west := trailPartition("us-east-1"), trailPartition("us-west-2")
	if east != "us-east-1/aws-cloudtrail-logs-123456789012/all" {
		t.Fatalf("trailPartition = %q; want the cloudwatch source's key <region>/<log group>/all", east)
	}
	// e1, e2, e3 were put in us-east-1 (index 0), w1 and w2 in us-west-2 (index 1).
	idsOf := map[string]uint16{"e1": 0, "e2": 0, "e3": 0, "w1": 1, "w2": 1}
	for _, tc := range []struct {
		name      string
		msgs      []string // externalIds sent, in order; "-" a message without one
		delivered map[string]int64
		got, lost int64
		twice     int64
		unknown   int64
	}{
		{"each id under its partition", []string{"e1", "w1", "e2"},
			map[string]int64{east: 2, west: 1}, 3, 2, 0, 0},
		{"an id again counts once", []string{"e1", "e1", "w2", "e1", "w2"},
			map[string]int64{east: 1, west: 1}, 2, 3, 2, 0},
		{"ids not put in any partition count nowhere", []string{"x9", "-", "w1"},
			map[string]int64{east: 0, west: 1}, 1, 4, 0, 2},
		{"all of them", []string{"w2", "e3", "e2", "w1", "e1"},
			map[string]int64{east: 3, west: 2}, 5, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := map[string]arrival{}
			perPart := []int64{0, 0}
			for id, p := range idsOf {
				ids[id] = arrival{part: p}
				perPart[p]++
			}
			rcv, err := startReceiver(ids, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer rcv.close()
			j := &cloudTrailJourney{rcv: rcv, parts: []string{east, west}, perPart: perPart}
			if want := map[string]int64{east: 3, west: 2}; !maps.Equal(j.wanted(), want) {
				t.Fatalf("wanted = %v; want %v", j.wanted(), want)
			}

			c, err := net.Dial("tcp", rcv.addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// One connection's messages are taken in order: a last unknown id marks the end.
			var stream strings.Builder
			for _, id := range append(tc.msgs, "end") {
				msg := "<134>1 2026-12-06T06:00:00Z host logshipper - - - CEF:0|AWS|CloudTrail|1.08|ConsoleLogin|ConsoleLogin|5|rt=1796536800000 externalId=" + id + " cs1=x"
				if id == "-" {
					msg = "<134>1 2026-12-06T06:00:00Z host logshipper - - - CEF:0|AWS|CloudTrail|1.08|ConsoleLogin|ConsoleLogin|5|rt=1796536800000"
				}
				fmt.Fprintf(&stream, "%d %s", len(msg), msg)
			}
			if _, err := c.Write([]byte(stream.String())); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); rcv.unknown.Load() < tc.unknown+1; {
				if time.Now().After(deadline) {
					t.Fatalf("the receiver took %d unknown messages of %d in 10 s", rcv.unknown.Load(), tc.unknown+1)
				}
				time.Sleep(5 * time.Millisecond)
			}

			if got := j.delivered(); !maps.Equal(got, tc.delivered) {
				t.Errorf("delivered = %v; want %v", got, tc.delivered)
			}
			if got := j.got(); got != tc.got {
				t.Errorf("got = %d; want %d", got, tc.got)
			}
			var r Result
			rcv.count(&r)
			if r.Got != tc.got || r.Lost != tc.lost || r.Twice != tc.twice {
				t.Errorf("count: got %d, lost %d, twice %d; want %d, %d, %d", r.Got, r.Lost, r.Twice, tc.got, tc.lost, tc.twice)
			}
		})
	}
}

// The backlog's times run in order from end-span to before end, also at a million records of
// six hours (span*i overflows int64 nanoseconds from record 427,000 on).
func TestSpacedTimeInOrderAtAMillion(t *testing.T) {
	end := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const span, n = 6 * time.Hour, 1_000_000
	prev := end.Add(-span)
	for _, i := range []int{0, 1, 426_000, 427_000, 427_001, 500_000, 999_999} {
		at := spacedTime(end, span, i, n)
		if at.Before(prev) || !at.Before(end) {
			t.Fatalf("record %d at %s: not in order after %s, before %s", i, at, prev, end)
		}
		if want := end.Add(-span).Add(time.Duration(float64(span) * float64(i) / n)); at.Sub(want).Abs() > time.Millisecond {
			t.Fatalf("record %d at %s, want about %s", i, at, want)
		}
		prev = at
	}
}
