package cloudtraillake

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/mapping"
)

// sortedLastKept is keyOrder.apply's reference: a stable sort by key, and of a repeated key the
// last.
func sortedLastKept(parts []kv) []kv {
	s := slices.Clone(parts)
	slices.SortStableFunc(s, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	var out []kv
	for i, p := range s {
		if i+1 < len(s) && s[i+1].k == p.k {
			continue
		}
		out = append(out, p)
	}
	return out
}

func partsOf(kvs ...string) []kv {
	var parts []kv
	for i := 0; i+1 < len(kvs); i += 2 {
		parts = append(parts, kv{kvs[i], []byte(kvs[i+1])})
	}
	return parts
}

// TestKeyOrderApply applies one keyOrder to records one after the other, as prepare does: the
// same keys in the same order (the remembered order is used), other keys, a repeated key, the
// same keys in another order, and none.
func TestKeyOrderApply(t *testing.T) {
	var o keyOrder
	for _, tc := range []struct {
		name  string
		parts []kv
	}{
		{"first", partsOf("b", "1", "a", "2", "c", "3")},
		{"same keys, other values", partsOf("b", "4", "a", "5", "c", "6")},
		{"a key more", partsOf("b", "1", "a", "2", "c", "3", "aa", "7")},
		{"a repeated key", partsOf("x", "1", "a", "2", "x", "3")},
		{"the repeated key again, other values", partsOf("x", "4", "a", "5", "x", "6")},
		{"the same keys in another order", partsOf("a", "5", "x", "4", "x", "6")},
		{"keys of the same length, one differing", partsOf("a", "5", "y", "4", "x", "6")},
		{"none", nil},
		{"one", partsOf("z", "1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.parts)
			got := o.apply(tc.parts)
			if want := sortedLastKept(tc.parts); !reflect.DeepEqual(slices.Clip(got), want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("apply = %v, want %v", got, want)
			}
			if !reflect.DeepEqual(tc.parts, before) {
				t.Errorf("apply changed its input: %v, was %v", tc.parts, before)
			}
		})
	}
}

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
