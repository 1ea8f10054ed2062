package schema

import (
	"slices"
	"testing"
)

func TestEnumFromMeaning(t *testing.T) {
	for _, tc := range []struct {
		meaning, def string
		want         []string
	}{
		{"`udp`, `tcp` or `tls`", "tcp", []string{"udp", "tcp", "tls"}},
		{"`stdout` or `stderr` (exactly, in lower case).", "stdout", []string{"stdout", "stderr"}},
		{"`POST` or `PUT` (HEC: `POST` only)", "", []string{"POST", "PUT"}},
		{"`cef`, `leef`, or `json`; see below", "cef", []string{"cef", "leef", "json"}},
		// A default outside the list: the list is not all the values.
		{"`a` or `b`", "c", nil},
		// One value, or prose around the values, is no list.
		{"`http`: JSON batches; `splunk_hec`: HEC event objects", "http", nil},
		{"the receiver, `host:port`", "", nil},
		{"`gzip` (`Content-Encoding: gzip`) or `none`", "gzip", nil},
	} {
		if got := enum(tc.meaning, tc.def); !slices.Equal(got, tc.want) {
			t.Errorf("enum(%q, %q) = %q, want %q", tc.meaning, tc.def, got, tc.want)
		}
	}
}
