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
