package netskope

import (
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugintest"
	sim "github.com/logshipper/logshipper/internal/sim/netskope"
)

// Two processes of one configuration share a state store (fenced as the cluster's is) and the
// partitions, which move between them while records flow: every record is delivered, and
// only records of a page in flight at a move may be delivered twice.
func TestPartitionsMoveBetweenProcesses(t *testing.T) {
	w := newWorld(t, sim.Options{RateLimit: -1, PageSize: 4})
	eps := []sim.Endpoint{
		{Kind: sim.Events, Type: "audit"}, {Kind: sim.Events, Type: "application"},
		{Kind: sim.Alerts, Type: "dlp"}, {Kind: sim.Alerts, Type: "malware"},
	}
	cfg := w.config([]string{"audit", "application"}, []string{"dlp", "malware"})
	parts := plugintest.NewPartitions("a")
	fs := plugintest.NewFencedStore()
	partition := func(r *event.Record) string {
		if r.Kind == event.KindNetskopeAlert {
			return "alerts/" + r.Subtype
		}
		return "events/" + r.Subtype
	}
	moves := plugintest.NewMoves(parts, partition, func(r *event.Record) string { return r.ID })
	for _, node := range []string{"a", "b"} {
		set := plugintest.Settings(t, "ns", fs.View(node, "plugin/ns"))
		set.Partitions = parts.Node(node)
		s, err := New(cfg, set)
		if err != nil {
			t.Fatal(err)
		}
		pub := plugintest.NewPublisher(plugintest.AckAsync)
		moves.Add(node, pub)
		plugintest.Start(t, fast(s, 200), pub)
	}
	keys := make([]string, len(eps))
	for i, ep := range eps {
		keys[i] = string(ep.Kind) + "/" + ep.Type
	}
	parts.WaitHeld(t, "a", keys...)

	var want []string
	for round := range 12 {
		for _, ep := range eps {
			if err := w.tenant.Generate(ep.Kind, ep.Type, 3); err != nil {
				t.Fatal(err)
			}
		}
		key := keys[round%len(keys)]
		to := "b"
		if h, _ := parts.Holder(key); h == "b" {
			to = "a"
		}
		moves.Move(key, to)
		parts.WaitHeld(t, to, key)
	}
	for _, ep := range eps {
		want = append(want, w.ids(ep.Kind, ep.Type)...)
	}
	moves.WaitAll(t, 0, want)
	dups := moves.CheckDuplicates(t)
	t.Logf("%d records, %d delivered twice, %d releases", len(want), dups, len(parts.Releases()))
	for _, r := range parts.Releases() {
		if r.Lost || !strings.Contains(r.Key, "/") {
			t.Errorf("unexpected release %+v", r)
		}
	}
}
