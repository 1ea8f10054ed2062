package pipeline

import (
	"testing"

	"github.com/logshipper/logshipper/internal/recent"
)

// The engine gives the records each source publishes to Options.Recent, which keeps the last
// ones for the console's rule tests, by source.
func TestRecentRecordsAreKeptBySource(t *testing.T) {
	h := newHarness(t)
	keep := recent.New(4)
	h.recent = keep
	src := newScriptedSource(false, recs(ids("a", 10)...))
	h.source("src", src)
	h.dest("out", &fakeDest{}, fastOpts())
	h.route("src", "out", nil)
	_, stop := h.start()
	src.waitAcks(t, 1)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := keep.Last("src", 0)
	if len(got) != 4 {
		t.Fatalf("kept %d records of src; want the last 4", len(got))
	}
	if want := string(recs(ids("a", 10)...)[9].Raw); string(got[3].Raw) != want {
		t.Errorf("last kept %s; want %s", got[3].Raw, want)
	}
}
