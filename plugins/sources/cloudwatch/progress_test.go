package cloudwatch

import (
	"context"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

func TestCheckpointProgress(t *testing.T) {
	at := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	from, to := at.Add(-time.Minute).UnixMilli(), at.UnixMilli()
	tests := []struct {
		name string
		cp   checkpoint
		want time.Time
	}{
		{"window read to its end: its end", checkpoint{V: 1, From: from, To: to, Done: true}, at},
		{"window being read: its start", checkpoint{V: 1, From: from, To: to, Token: "t1"}, at.Add(-time.Minute)},
		{"a token that looks like the seen field", checkpoint{V: 1, From: from, To: to, Done: true, Token: `x,"seen":{"a":1}`,
			Seen: map[string]int64{"e1": from, "e2": to}}, at},
		{"no time", checkpoint{V: 1, From: 0, To: -1, Done: true}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cp.Seen == nil {
				tt.cp.Seen = map[string]int64{"e": from}
			}
			if got := checkpointProgress(tt.cp.encode()); !got.Equal(tt.want) {
				t.Errorf("checkpointProgress = %s; want %s", got, tt.want)
			}
			if got := tt.cp.progress(); !got.Equal(tt.want) {
				t.Errorf("progress = %s; want %s", got, tt.want)
			}
		})
	}
	if got := checkpointProgress([]byte("not json")); !got.IsZero() {
		t.Errorf("checkpointProgress of garbage = %s; want zero", got)
	}
}

// A partition tells its lease how far it has got: the progress of each checkpoint it saved,
// and that of the saved checkpoint at once when a lease starts.
func TestProgressReportedThroughTheLease(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	st := state.NewMemory().Namespace("plugin/cw")
	cfg := w.config("us-east-1")
	key := "us-east-1/" + testGroup + "/all"

	parts := plugintest.NewPartitions("a")
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, w.ownedSource(t, cfg, st, parts.Node("a")), pub)
	want := w.put("us-east-1", ctStream("us-east-1"), 5, time.Minute)
	pub.WaitUntil(t, 0, "every event", func() bool { return len(pub.MissingKeys(rawKey, want)) == 0 })
	plugintest.Eventually(t, 0, "the saved checkpoint's progress reported through the lease", func() bool {
		cp := savedCheckpoint(t, st)
		last, ok := parts.LastProgress(key)
		return cp != nil && cp.Done && cp.To > time.Now().Add(-time.Minute).UnixMilli() &&
			ok && last.Node == "a" && last.At.Equal(cp.progress())
	})
	run.Stop(t)

	// A window half read when the next lease starts: its start is reported at once.
	cp := savedCheckpoint(t, st)
	cp.From, cp.To, cp.Done, cp.Token = cp.To-10*60_000, cp.To-5*60_000, false, ""
	if err := st.Put(context.Background(), partitionKey, cp.encode()); err != nil {
		t.Fatal(err)
	}
	parts2 := plugintest.NewPartitions("b")
	plugintest.Start(t, w.ownedSource(t, cfg, st, parts2.Node("b")), plugintest.NewPublisher(plugintest.AckAsync))
	plugintest.Eventually(t, 0, "a progress report from the new lease", func() bool { return len(parts2.Progress(key)) > 0 })
	if first := parts2.Progress(key)[0]; !first.At.Equal(time.UnixMilli(cp.From)) || first.Node != "b" {
		t.Errorf("first progress of the new lease = %+v; want the saved window's start %s", first, time.UnixMilli(cp.From))
	}
}
