package securitylake

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/pipeline"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/rules"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// onceSource publishes its batches, one after the other, then returns; outcomes holds their acks.
type onceSource struct {
	batches  [][]*event.Record
	mu       sync.Mutex
	outcomes []event.Outcome
}

func (s *onceSource) Run(ctx context.Context, pub plugin.Publisher) error {
	for _, b := range s.batches {
		if err := pub.Publish(ctx, b, func(o event.Outcome) {
			s.mu.Lock()
			s.outcomes = append(s.outcomes, o)
			s.mu.Unlock()
		}); err != nil {
			return err
		}
	}
	return nil
}

// memDLQ keeps the dead letters the engine puts.
type memDLQ struct {
	mu      sync.Mutex
	entries []deadletter.Entry
}

func (q *memDLQ) Put(_ string, entries []deadletter.Entry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries = append(q.entries, entries...)
	return nil
}

// Through the engine, at the factory's delivery defaults: mapped records are stored, a record
// whose mapping fails is dead-lettered with its reason, a record of no kind is refused by kind
// (counted, not dead-lettered), and every batch is acknowledged once its objects are stored.
func TestThroughEngine(t *testing.T) {
	eachBackend(t, func(t *testing.T, m *backend) {
		bucket := m.bucket(t)
		d := newTestDest(t, m.testConfig(bucket))
		noKind := rec("nokind", "")
		noKind.Kind = ""
		src := &onceSource{batches: [][]*event.Record{
			{rec("e1", ""), rec("e2", `"fail":"no OCSF class for this"`), noKind},
			{rec("e3", `"class":3002`), rec("e4", "")},
		}}
		metrics := telemetry.NewMetrics("test")
		dlq := &memDLQ{}
		def := Factory().DeliveryDefaults()
		set, _ := rules.NewSet()
		all, _ := set.Get(rules.All)
		log := plugintest.Logger(t)
		e, err := pipeline.New(pipeline.Options{Logger: log, DeadLetters: dlq},
			[]pipeline.SourceSpec{{Name: "in", Source: src, Metrics: metrics.Plugin("in"), Logger: log.With("plugin", "in")}},
			[]pipeline.DestinationSpec{{Name: "lake", Destination: d, Metrics: metrics.Plugin("lake"), Logger: log.With("plugin", "lake"),
				Options: pipeline.DestinationOptions{MaxRecords: def.BatchMaxRecords, MaxBytes: def.BatchMaxBytes, MaxWait: def.BatchMaxWait,
					Workers: def.Workers, QueueSize: def.QueueSize}}},
			[]pipeline.RouteSpec{{Name: "in->lake", Source: "in", Destination: "lake", Rule: all}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Run(ctx); err != nil {
			t.Fatalf("Run: %v", err)
		}
		src.mu.Lock()
		outcomes := slices.Clone(src.outcomes)
		src.mu.Unlock()
		if !slices.Equal(outcomes, []event.Outcome{event.Acked, event.Acked}) {
			t.Errorf("outcomes %v, want both batches acked", outcomes)
		}
		var stored []string
		for _, o := range m.objects(t, bucket) {
			for _, r := range o.rows {
				stored = append(stored, r.Metadata.UID)
			}
		}
		slices.Sort(stored)
		if !slices.Equal(stored, []string{"e1", "e3", "e4"}) {
			t.Errorf("stored %v, want e1 e3 e4", stored)
		}
		dlq.mu.Lock()
		defer dlq.mu.Unlock()
		if len(dlq.entries) != 1 || dlq.entries[0].ID != "e2" || dlq.entries[0].Code != "OCSFMapping" || dlq.entries[0].Error == "" {
			t.Errorf("dead letters %+v, want e2 with code OCSFMapping and its reason", dlq.entries)
		}
		counts, err := metrics.Counts()
		if err != nil {
			t.Fatal(err)
		}
		if n := counts["logshipper_records_dropped_total"]["lake/"+string(plugin.ReasonUnsupported)]; n != 1 {
			t.Errorf("%v records dropped as unsupported, want 1 (counts %v)", n, counts["logshipper_records_dropped_total"])
		}
	})
}
