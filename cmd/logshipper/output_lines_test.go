package main

import (
	"strings"
	"testing"
)

// recordLines leaves out a line being written and, up to maxTorn of them, fragments of writes a
// kill cut short (the start of a longer line); every other line is the caller's to judge.
func TestRecordLines(t *testing.T) {
	whole := `{"_id":"a","n":1}`
	frag := `{"_id":"a","n`
	for _, tc := range []struct {
		name    string
		file    string
		maxTorn int
		want    []string
	}{
		{"whole lines", whole + "\n" + `{"_id":"b"}` + "\n", 0, []string{whole, `{"_id":"b"}`}},
		{"a line being written", whole + "\n" + frag, 0, []string{whole}},
		{"a fragment allowed", frag + "\n" + whole + "\n", 1, []string{whole}},
		{"a fragment not allowed", frag + "\n" + whole + "\n", 0, []string{frag, whole}},
		{"more fragments than allowed", frag + "\n" + frag + "\n" + whole + "\n", 1, []string{frag, whole}},
		{"not the start of a line", `{"_id":"z` + "\n" + whole + "\n", 1, []string{`{"_id":"z`, whole}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, l := range recordLines(t, []byte(tc.file), tc.maxTorn) {
				got = append(got, string(l))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
