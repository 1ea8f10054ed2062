package cloudwatch

import (
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// Two processes of one configuration share a state store (fenced as the cluster's is) and the
// partitions, which move between them while events flow: every event is delivered, and only
// events of pages in flight at a move may be delivered twice.
func TestPartitionsMoveBetweenProcesses(t *testing.T) {
	w := newWorld(t, cwlogs.Options{ScanBudget: 3})
	regions := []string{"us-east-1", "eu-west-1", "ap-south-1"}
	parts := plugintest.NewPartitions("a")
	fs := plugintest.NewFencedStore()
	moves := plugintest.NewMoves(parts, partitionOf, rawKey)
	for _, node := range []string{"a", "b"} {
		s := w.ownedSource(t, w.config(regions...), fs.View(node, "plugin/cw"), parts.Node(node))
		pub := plugintest.NewPublisher(plugintest.AckAsync)
		moves.Add(node, pub)
		plugintest.Start(t, s, pub)
	}
	keys := make([]string, len(regions))
	for i, r := range regions {
		keys[i] = r + "/" + testGroup + "/all"
	}
	parts.WaitHeld(t, "a", keys...)

	var want []string
	for round := range 12 {
		for _, r := range regions {
			want = append(want, w.put(r, ctStream(r), 4, 10*time.Millisecond)...)
		}
		key := keys[round%len(keys)]
		to := "b"
		if h, _ := parts.Holder(key); h == "b" {
			to = "a"
		}
		moves.Move(key, to)
		parts.WaitHeld(t, to, key)
	}
	moves.WaitAll(t, 0, want)
	dups := moves.CheckDuplicates(t)
	t.Logf("%d events, %d delivered twice, %d releases", len(want), dups, len(parts.Releases()))
	for _, r := range parts.Releases() {
		if r.Lost {
			t.Errorf("unexpected lost lease %+v", r)
		}
	}
}
