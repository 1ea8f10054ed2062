package cloudtraillake

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/sim/lake"
)

// TestPooledEventDataArriveIntact writes batches one after the other, of records of growing
// size so that a batch's eventData buffer grows while it is filled, and checks that every event
// the lake stored holds exactly the eventData Preview (which does not pool) makes for its
// record: no event's bytes were overwritten by a later record or a later Write.
func TestPooledEventDataArriveIntact(t *testing.T) {
	s := startSim(t)
	d := newDest(t, s, nil)
	want := map[string]string{}
	for batch := range 4 {
		var recs []*event.Record
		for i := range 40 {
			id := fmt.Sprintf("b%d-r%d", batch, i)
			note := strings.Repeat(fmt.Sprintf("x%d\"", i), 1+i*i*3) // up to ~20 kB, quotes included
			r := alert(id, "DLP", fmt.Sprintf(`,"note":%q`, note))
			recs = append(recs, r)
			p, err := d.Preview(r)
			if err != nil {
				t.Fatal(err)
			}
			var pv struct {
				ID        string          `json:"id"`
				EventData json.RawMessage `json:"eventData"`
			}
			if err := json.Unmarshal([]byte(p), &pv); err != nil {
				t.Fatal(err)
			}
			want[pv.ID] = string(pv.EventData)
		}
		if err := d.Write(context.Background(), recs); err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
	}
	got := s.Lake.Query(lake.Filter{})
	if len(got) != len(want) {
		t.Fatalf("lake holds %d events, want %d", len(got), len(want))
	}
	for _, e := range got {
		w, ok := want[e.ID]
		if !ok {
			t.Errorf("unexpected event %s", e.ID)
			continue
		}
		var a, b any
		if err := json.Unmarshal(e.EventData, &a); err != nil {
			t.Fatalf("%s: stored eventData: %v", e.ID, err)
		}
		if err := json.Unmarshal([]byte(w), &b); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: stored eventData differs from Preview's:\n got %s\nwant %s", e.ID, e.EventData, w)
		}
	}
}
