package awss3sqs

import (
	"testing"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awstest"
	"github.com/logshipper/logshipper/internal/state"
)

// The conformance suite over cloudsim's and moto_server's S3 and SQS: Produce stores one log file and sends
// its notification. The source has no partitions (every process shares the queue), so the
// partition cases are skipped. The queue's messages stay hidden 5 s after a receive: the
// suite's restarts find the messages the source returned to the queue at its stop.
func TestSourceSuite(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		var w *world
		plugintest.RunSourceSuite(t, plugintest.SourceHarness{
			Setup: func(t *testing.T) { w = newWorld(t, b, 5) },
			New: func(t *testing.T, store state.Store) plugin.Source {
				cfg := w.config()
				cfg.VisibilityTimeout = 5_000_000_000
				return w.source(t, cfg, settings(t, store))
			},
			Produce: func(t *testing.T, n int) []string { return w.produce(n) },
			Key:     idKey,
		})
	})
}
