package syslog

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// The hand-written time stamps are what time.AppendFormat writes, at every millisecond of
// many random times and at the edges of the years they take.
func TestStampsMatchAppendFormat(t *testing.T) {
	times := []time.Time{time.Unix(0, 0), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 29, 12, 30, 1, 5e6, time.UTC)}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		times = append(times, time.UnixMilli(rng.Int64N(1<<46)-1<<45).UTC())
	}
	e := newEncoder(testConfig("127.0.0.1:514"), "h", nil, nil)
	for _, ts := range times {
		if got, want := string(appendLEEFTime(nil, ts.UnixMilli())), time.UnixMilli(ts.UnixMilli()).UTC().Format(leefTimeLayout); got != want {
			t.Fatalf("LEEF devTime of %v: %s; want %s", ts, got, want)
		}
		hdr := string(e.appendHeader(nil, &event.Record{Time: ts}))
		if want := ts.Format("2006-01-02T15:04:05.000Z"); !strings.Contains(hdr, " "+want+" ") {
			t.Fatalf("header of %v: %s; want the stamp %s", ts, hdr, want)
		}
	}
}
