package file

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/config"
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

// The log group and stream a CloudWatch envelope names go on in the records' Meta as valid
// UTF-8 (repaired, and the record counted once) like the records' own bytes.
func TestEnvelopeNamesAreRepaired(t *testing.T) {
	tests := []struct {
		name, content string
		group, stream string
		wantRaw       string
		repaired      float64
	}{{
		// QRadar's text form holds the names as they were written.
		name:     "QRadar form, names invalid, record valid",
		content:  "{LogStreamName: s\xc3, LogGroupName: grp\xff, Timestamp: 1, Message: " + ctRecord("a", "cli") + ", IngestionTime: 2, EventId: 9}\n",
		group:    "grp\uFFFD",
		stream:   "s\uFFFD",
		wantRaw:  ctRecord("a", "cli"),
		repaired: 1,
	}, {
		name:     "QRadar form, names and record invalid",
		content:  "{LogStreamName: s, LogGroupName: grp\xff, Timestamp: 1, Message: " + ctRecord("a", "cli\xe9") + ", IngestionTime: 2, EventId: 9}\n",
		group:    "grp\uFFFD",
		stream:   "s",
		wantRaw:  ctRecord("a", "cli\uFFFD"),
		repaired: 1,
	}, {
		// A JSON string is read as encoding/json reads it (an invalid byte is U+FFFD), and counted.
		name:     "CloudWatch event as JSON, names invalid",
		content:  "{\"logGroup\":\"grp\xff\",\"logStream\":\"s\xc3\",\"timestamp\":1,\"ingestionTime\":2,\"eventId\":\"9\",\"message\":" + jsonString(t, ctRecord("a", "cli")) + "}\n",
		group:    "grp\uFFFD",
		stream:   "s\uFFFD",
		wantRaw:  ctRecord("a", "cli"),
		repaired: 1,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "in.log"), tc.content)
			cfg := testConfig(t, filepath.Join(dir, "in.log"))
			cfg.RecordKind, cfg.Follow = KindCloudTrail, false
			f := newFixture(t, cfg, nil)
			f.runToEnd()
			f.expectDrops()
			recs := f.pub.Records()
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			r := recs[0]
			if string(r.Raw) != tc.wantRaw {
				t.Errorf("raw %q, want %q", r.Raw, tc.wantRaw)
			}
			if g, s := r.Meta[event.MetaLogGroup], r.Meta[event.MetaLogStream]; g != tc.group || s != tc.stream {
				t.Errorf("meta log group %q stream %q, want %q %q", g, s, tc.group, tc.stream)
			}
			for k, v := range r.Meta {
				if !utf8.ValidString(v) {
					t.Errorf("meta %s %q: not valid UTF-8", k, v)
				}
			}
			if got := testutil.ToFloat64(f.set.Metrics.RepairedCounter(plugin.RepairInvalidUTF8)); got != tc.repaired {
				t.Errorf("repaired %v, want %v", got, tc.repaired)
			}
		})
	}
}

// A record within max_record_size as read but over it once repaired (each invalid byte becomes
// three) is dropped as too large, its bytes as read, and never published oversized; a record
// that still fits once repaired goes on.
func TestRepairedRecordOverMaxRecordSizeIsDropped(t *testing.T) {
	const limit = 64
	fits := "{\"u\":\"" + strings.Repeat("a", 40) + "\xff\"}"                           // 49 bytes, 51 repaired
	grows := "{\"u\":\"" + strings.Repeat("a", 30) + strings.Repeat("\xff", 10) + "\"}" // 48 bytes, 68 repaired
	ctGrows := ctRecord("b", strings.Repeat("\xff", 300))                               // 600 bytes longer repaired
	tests := []struct {
		name, format, kind, content string
		size                        int64
		wantRaws                    []string
		wantDrops                   []string
	}{{
		name: "NDJSON", format: "ndjson", size: limit,
		content:   fits + "\n" + grows + "\n",
		wantRaws:  []string{strings.ReplaceAll(fits, "\xff", "\uFFFD")},
		wantDrops: []string{grows},
	}, {
		name: "JSON array", format: "json", size: limit,
		content:   "[" + grows + "," + fits + "]",
		wantRaws:  []string{strings.ReplaceAll(fits, "\xff", "\uFFFD")},
		wantDrops: []string{grows},
	}, {
		name: "record_kind netskope", format: "ndjson", kind: KindNetskope, size: limit,
		content:   grows + "\n",
		wantDrops: []string{grows},
	}, {
		name: "record_kind cloudtrail, one element of a Records file", format: "ndjson", kind: KindCloudTrail,
		size:      int64(len(`{"Records":[`+ctRecord("a", "cli")+","+ctGrows+"]}")) + 10,
		content:   `{"Records":[` + ctRecord("a", "cli") + "," + ctGrows + "]}\n",
		wantRaws:  []string{ctRecord("a", "cli")},
		wantDrops: []string{ctGrows},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "in.log"), tc.content)
			cfg := testConfig(t, filepath.Join(dir, "in.log"))
			cfg.Format, cfg.RecordKind, cfg.Follow = tc.format, tc.kind, false
			cfg.MaxRecordSize = config.ByteSize(tc.size)
			f := newFixture(t, cfg, nil)
			f.runToEnd()
			if got := f.pub.Raws(); !slices.Equal(got, tc.wantRaws) {
				t.Errorf("raws %q, want %q", got, tc.wantRaws)
			}
			for _, r := range f.pub.Records() {
				if int64(len(r.Raw)) > tc.size {
					t.Errorf("record of %d bytes published, over max_record_size %d", len(r.Raw), tc.size)
				}
			}
			var drops []string
			for _, d := range f.drops() {
				if d.Reason != plugin.ReasonTooLarge {
					t.Errorf("drop %q: reason %s, want too_large", d.Raw, d.Reason)
				}
				drops = append(drops, string(d.Raw))
			}
			if !slices.Equal(drops, tc.wantDrops) {
				t.Errorf("dropped %q, want %q", drops, tc.wantDrops)
			}
		})
	}
}
