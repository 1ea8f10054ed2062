package file

import (
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

// ctRecord is a minimal CloudTrail record with user agent ua.
func ctRecord(id, ua string) string {
	return `{"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventID":"` + id + `","eventType":"AwsApiCall","userAgent":"` + ua + `"}`
}

// Records that are not valid UTF-8 go on repaired, each invalid byte as U+FFFD, and counted;
// valid ones (non-ASCII included) go on as read. Every form and record kind the source reads.
func TestInvalidUTF8IsRepairedAndCounted(t *testing.T) {
	tests := []struct {
		name, format, kind, content string
		want                        []string
		repaired                    float64
	}{{
		name: "NDJSON", format: "ndjson",
		content:  "{\"id\":\"1\",\"u\":\"zoë\"}\n{\"id\":\"2\",\"u\":\"\xff\xfeal\xc3ice\",\"f\":\"rapport-\xe9t\xe9.pdf\"}\n",
		want:     []string{`{"id":"1","u":"zoë"}`, "{\"id\":\"2\",\"u\":\"\uFFFD\uFFFDal\uFFFDice\",\"f\":\"rapport-\uFFFDt\uFFFD.pdf\"}"},
		repaired: 1,
	}, {
		name: "JSON array", format: "json",
		content:  "[{\"id\":\"1\",\"u\":\"a\x80\"}, {\"id\":\"2\"}]",
		want:     []string{"{\"id\":\"1\",\"u\":\"a\uFFFD\"}", `{"id":"2"}`},
		repaired: 1,
	}, {
		name: "record_kind netskope", format: "ndjson", kind: KindNetskope,
		content:  "{\"_id\":\"1\",\"alert_type\":\"DLP\",\"user\":\"\xc3\"}\n",
		want:     []string{"{\"_id\":\"1\",\"alert_type\":\"DLP\",\"user\":\"\uFFFD\"}"},
		repaired: 1,
	}, {
		name: "record_kind cloudtrail, one element of a Records file", format: "ndjson", kind: KindCloudTrail,
		content:  `{"Records":[` + ctRecord("a", "cli") + "," + ctRecord("b", "cli\xff") + "]}\n",
		want:     []string{ctRecord("a", "cli"), ctRecord("b", "cli\uFFFD")},
		repaired: 1,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "in.log"), tc.content)
			cfg := testConfig(t, filepath.Join(dir, "in.log"))
			cfg.Format, cfg.RecordKind, cfg.Follow = tc.format, tc.kind, false
			f := newFixture(t, cfg, nil)
			f.runToEnd()
			f.expectDrops()
			if got := f.pub.Raws(); !slices.Equal(got, tc.want) {
				t.Errorf("raws %q, want %q", got, tc.want)
			}
			for _, r := range f.pub.Records() {
				if !utf8.Valid(r.Raw) || !r.ValidJSON {
					t.Errorf("record %q: valid UTF-8 %v, ValidJSON %v", r.Raw, utf8.Valid(r.Raw), r.ValidJSON)
				}
				if tc.kind == KindCloudTrail && (r.Kind != event.KindCloudTrail || r.Subtype != "AwsApiCall") {
					t.Errorf("record %q: kind %q subtype %q", r.Raw, r.Kind, r.Subtype)
				}
			}
			if got := testutil.ToFloat64(f.set.Metrics.RepairedCounter(plugin.RepairInvalidUTF8)); got != tc.repaired {
				t.Errorf("repaired %v, want %v", got, tc.repaired)
			}
		})
	}
}
