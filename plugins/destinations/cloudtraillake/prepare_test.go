package cloudtraillake

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/mapping"
)

// sample is a sample record with the kind and subtype its source would give it.
type sample struct {
	raw     []byte
	kind    event.Kind
	subtype string
}

func (s sample) record() *event.Record {
	return &event.Record{Raw: s.raw, Kind: s.kind, Subtype: s.subtype}
}

// sampleRecords are the mapping package's sample records (their kind and subtype from their
// file's name: alert_dlp.json is a Netskope dlp alert; alert_missing.json a dlp alert) and the Netskope audit events of
// Panther's rule tests (their "log" members; testdata/netskope at the repository's root).
func sampleRecords(t testing.TB) (mapping []sample, audit [][]byte) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "internal", "mapping", "testdata", "records", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		class, subtype, _ := strings.Cut(strings.TrimSuffix(filepath.Base(p), ".json"), "_")
		if subtype == "missing" { // a dlp alert with fields missing
			subtype = "dlp"
		}
		mapping = append(mapping, sample{b, event.Kind("netskope/" + class), subtype})
	}
	fh, err := os.Open("../../../testdata/netskope/panther-audit-tests.ndjson")
	if err != nil {
		t.Fatalf("Netskope samples: %v", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Log json.RawMessage `json:"log"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && len(line.Log) > 0 {
			audit = append(audit, line.Log)
		}
	}
	return mapping, audit
}

// wholeRecordEventData is what prepare made before it decoded only what the mapping reads: the
// whole record decoded, mapped, and every unused field encoded again into additionalEventData.
func wholeRecordEventData(t *testing.T, d *Destination, r *event.Record) any {
	t.Helper()
	fields, err := r.Fields()
	if err != nil {
		return nil
	}
	m, ok := d.maps.For(r.Kind.Class(), r.Subtype)
	if !ok || event.NetskopeUBA(r.Kind, r.Subtype) {
		return nil
	}
	out, err := m.Apply(fields)
	if err != nil {
		return nil
	}
	var parts []kv
	for _, k := range out.Unused(fields) {
		b, err := json.Marshal(fields[k])
		if err != nil {
			t.Fatal(err)
		}
		if _, id64 := id64Fields[k]; id64 {
			switch n := fields[k].(type) {
			case int64, uint64: // a 64-bit id is a string of its digits
				b, _ = json.Marshal(fmt.Sprint(n))
			}
		}
		parts = append(parts, kv{k, b})
	}
	return decodeJSON(t, d.eventData(nil, &out, "netskope"+r.Kind.Class()+"."+r.Subtype, additionalData(nil, parts), len(r.Raw)))
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

// TestPrepareMatchesWholeRecordMapping: eventData made from the fields the mapping reads, with
// the other fields copied as they are, holds the same values as eventData made from the whole
// decoded record.
func TestPrepareMatchesWholeRecordMapping(t *testing.T) {
	recs, audit := sampleRecords(t)
	for _, l := range audit {
		recs = append(recs, sample{append([]byte(`{"event_type":"audit",`), l[1:]...), event.KindNetskopeEvent, "audit"})
	}
	recs = append(recs,
		sample{[]byte(`{"_id":"d1","alert_type":"DLP","timestamp":1700000000,"user":"u","x":{"b":[1, 2.50, "s p a c e"]},"y":"\u00e9 <&>","dup":1,"dup":2}`), event.KindNetskopeAlert, "dlp"},
		sample{[]byte("{\"_id\":\"d2\",\"alert_type\":\"malware\",\"timestamp\":1700000000,\"bad\":\"\xff\"}"), event.KindNetskopeAlert, "malware"},
	)
	if len(recs) < 10 {
		t.Fatalf("only %d sample records", len(recs))
	}
	d := &Destination{cfg: NewConfig().(*Config), maps: mapping.DefaultCloudTrail(), account: "123456789012"}
	mapped := 0
	for i, smp := range recs {
		want := wholeRecordEventData(t, d, smp.record())
		p, err := d.prepare(smp.record())
		if want == nil {
			if err == nil {
				t.Errorf("record %d: mapped, though the whole record does not map", i)
			}
			continue
		}
		if err != nil {
			t.Errorf("record %d: %v, though the whole record maps", i, err)
			continue
		}
		mapped++
		if got := decodeJSON(t, []byte(p.ev.EventData)); !reflect.DeepEqual(got, want) {
			t.Errorf("record %d:\n got %v\nwant %v", i, got, want)
		}
	}
	if mapped < len(recs)/2 {
		t.Fatalf("only %d of %d records mapped", mapped, len(recs))
	}
	t.Logf("%d of %d records mapped alike", mapped, len(recs))
}

// BenchmarkPrepare is the destination's work per record before the call: mapping a Netskope
// alert to eventData (the fields the mapping reads decoded, the others copied into
// additionalEventData), its id and checksum.
func BenchmarkPrepare(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "internal", "mapping", "testdata", "records", "alert_dlp.json"))
	if err != nil {
		b.Skip(err)
	}
	d := &Destination{cfg: NewConfig().(*Config), maps: mapping.DefaultCloudTrail(), account: "123456789012"}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.prepare(&event.Record{Raw: raw, Kind: event.KindNetskopeAlert, Subtype: "dlp"}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSafeIDMatchesTheIDPattern(t *testing.T) {
	re := regexp.MustCompile(`[^-_A-Za-z0-9]`)
	for _, id := range []string{"", "abc-_09XZ", "a b/c", "r\u00e9c\u00f6rd-\u2603", "bad\xff\xfebytes", "日本", "x\x00y"} {
		if got, want := safeID(id), re.ReplaceAllString(id, "_"); got != want {
			t.Errorf("safeID(%q) = %q, want %q", id, got, want)
		}
	}
}
