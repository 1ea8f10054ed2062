package cloudwatch

import (
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

// The conformance suite over a simulated CloudWatch Logs; Produce puts events in two regions
// alternately, so the suite sees two partitions. A nacked batch is read again 10-20 ms after
// the nack.
func TestSourceSuite(t *testing.T) {
	var (
		w     *world
		calls int
	)
	plugintest.RunSourceSuite(t, plugintest.SourceHarness{
		Setup: func(t *testing.T) {
			w = newWorld(t, cwlogs.Options{ScanBudget: 3})
			calls = 0
		},
		New: func(t *testing.T, store state.Store) plugin.Source {
			s := w.source(t, w.config("us-east-1", "eu-west-1"), store)
			s.tune.nackBase = 20 * time.Millisecond // NackInProcess waits for the rescan
			return s
		},
		NewOwned: func(t *testing.T, store state.Store, parts plugin.Partitions) plugin.Source {
			s := w.ownedSource(t, w.config("us-east-1", "eu-west-1"), store, parts)
			s.tune.nackBase = 20 * time.Millisecond
			return s
		},
		Partition: partitionOf,
		Produce: func(t *testing.T, n int) []string {
			calls++
			region := "us-east-1"
			if calls%2 == 0 {
				region = "eu-west-1"
			}
			return w.put(region, ctStream(region), n, 10*time.Millisecond)
		},
		Key: rawKey,
	})
}
