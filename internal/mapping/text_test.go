package mapping

import "testing"

// A leaf says whether its value came from the record: a syslog destination keeps a CEF label
// read from the record (CE's incident mapping: cfp3Label from severity) and may leave out a fixed
// label text whose field is absent.
func TestLeafFromRecord(t *testing.T) {
	set, err := Parse([]byte(`
taxonomy:
  events:
    incident:
      header:
        Severity: {default_value: Unknown}
      extension:
        cfp3Label: {mapping_field: severity}
        cs1Label: {default_value: fixed}
        cs1: {mapping_field: missing, default_value: fallback}
        act: {mapping_field: activity}
`), "leaf.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, ok := set.For("events", "incident")
	if !ok {
		t.Fatal("no incident mapping")
	}
	out, err := m.Apply(map[string]any{"severity": "high", "activity": "Upload"})
	if err != nil {
		t.Fatal(err)
	}
	out.Set("added", "x")
	want := map[string]bool{"cfp3Label": true, "cs1Label": false, "cs1": false, "act": true, "added": false}
	got := map[string]bool{}
	for l := range out.Leaves() {
		got[l.Name] = l.FromRecord()
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s: FromRecord = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// A reused Output forgets the previous record's origins.
	if err := m.ApplyTo(&out, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	for l := range out.Leaves() {
		if l.FromRecord() {
			t.Errorf("%s: FromRecord after a record without fields", l.Name)
		}
	}
}
