package cloudtraillake

import (
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/mapping"
)

// TestMemberFlagsSkipNoUsedField checks the shortcut unusedMembers takes: a member whose key
// the mapping cannot put in Output.Used is never in it, for every record of the samples.
func TestMemberFlagsSkipNoUsedField(t *testing.T) {
	d := &Destination{cfg: NewConfig().(*Config), maps: mapping.DefaultCloudTrail(), account: "123456789012"}
	checked := 0
	samples, _ := sampleRecords(t)
	for _, s := range samples {
		r := s.record()
		m, ok := d.maps.For(r.Kind.Class(), r.Subtype)
		if !ok {
			continue
		}
		fields, err := r.Fields()
		if err != nil {
			continue
		}
		out, err := m.Apply(fields)
		if err != nil {
			continue
		}
		want, _ := d.memberFlags(m)
		members, err := event.Members(r.Raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, mb := range members {
			if want[mb.Key]&flagMayUse == 0 && out.Uses(mb.Key) {
				t.Errorf("%s %s: %s is used by the mapping but not flagged as one it may use", r.Kind, r.Subtype, mb.Key)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no member checked")
	}
}

// TestPooledScratchKeepsNoRecord checks that the scratch prepare pools again holds nothing of
// the record: a pooled value pointing into a record would keep the whole page it shares bytes
// with alive (two or three pages of 20 MB were seen held so in a load run's heap profile).
func TestPooledScratchKeepsNoRecord(t *testing.T) {
	d := &Destination{cfg: NewConfig().(*Config), maps: mapping.DefaultCloudTrail(), account: "123456789012"}
	for range 20 { // the pool may hand another scratch back (another P, or -race dropping one)
		if _, err := d.prepare(alert("a1", "DLP", `,"note":"shared bytes"`)); err != nil {
			t.Fatal(err)
		}
		sc := scratchPool.Get().(*scratch)
		if got := string(sc.out.AppendJSON(nil)); got != "{}" {
			t.Fatalf("the pooled mapping output holds %s", got)
		}
		for _, m := range sc.members[:cap(sc.members)] {
			if m.Key != "" || m.Value != nil {
				t.Fatalf("the pooled member list holds %q", m.Key)
			}
		}
		if len(sc.fields) != 0 {
			t.Fatalf("the pooled fields hold %v", sc.fields)
		}
		scratchPool.Put(sc)
	}
}
