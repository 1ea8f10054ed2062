package httpdest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testRecords reads testdata/records.ndjson.
func testRecords(t testing.TB) []*event.Record {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "records.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var out []*event.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, &event.Record{Raw: bytes.Clone(sc.Bytes())})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHECURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://splunk:8088":                                "https://splunk:8088/services/collector/event",
		"https://splunk:8088/":                               "https://splunk:8088/services/collector/event",
		"https://splunk:8088/services/collector":             "https://splunk:8088/services/collector",
		"https://splunk:8088/services/collector/":            "https://splunk:8088/services/collector",
		"https://splunk:8088/services/collector/event":       "https://splunk:8088/services/collector/event",
		"https://splunk:8088/services/collector/event/1.0":   "https://splunk:8088/services/collector/event/1.0",
		"https://lb.example/splunk":                          "https://lb.example/splunk/services/collector/event",
		"https://http-inputs-acme.splunkcloud.com:443?x=1":   "https://http-inputs-acme.splunkcloud.com:443/services/collector/event?x=1",
		"https://lb.example/splunk/services/collector/event": "https://lb.example/splunk/services/collector/event",
	} {
		u, err := hecURL(in)
		if err != nil || u.String() != want {
			t.Errorf("hecURL(%q) = %v, %v; want %s", in, u, err, want)
		}
		if h := hecHealthURL(u).String(); !strings.HasSuffix(h, "/services/collector/health") || strings.Contains(h, "?") {
			t.Errorf("health URL of %s: %s", u, h)
		}
	}
	if _, err := hecURL("https://splunk:8088/services/collector/raw"); err == nil {
		t.Error("the raw endpoint was accepted")
	}
}

// The HEC body: one event object per record with time (ms), host (the log-source identifier,
// else the option), source, sourcetype, index, fields and the record as the event, byte-exact.
func TestHECBodyGolden(t *testing.T) {
	srv := newRecorder(t, func(_ int, _ got, w http.ResponseWriter) {
		_, _ = w.Write([]byte(`{"text":"Success","code":0}`))
	})
	d := newDest(t, cfgFor(t, srv.srv.URL, func(c *Config) {
		c.Mode, c.Token = ModeSplunkHEC, config.NewSecret("hec-token")
		c.Host, c.Source, c.Sourcetype, c.Index = "shipper-1", "logshipper:cloudtrail", "aws:cloudtrail", "security"
		c.Fields = map[string]string{"env": "prod", "team": "sec\"ops"}
		c.Channel = "0f7e7a3a-1d2b-4c5d-8e9f-0a1b2c3d4e5f"
	}))
	recs := testRecords(t)
	recs[0].Time = time.Date(2024, 3, 1, 12, 30, 45, 678_900_000, time.UTC)
	recs[1].Meta = map[string]string{event.MetaLogSourceID: "123456789012_CloudTrail_us-east-1"}
	if err := d.Write(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	g := reqs[0]
	if g.Path != "/services/collector/event" || g.Header.Get("Authorization") != "Splunk hec-token" ||
		g.Header.Get("X-Splunk-Request-Channel") != "0f7e7a3a-1d2b-4c5d-8e9f-0a1b2c3d4e5f" || !g.Gzip {
		t.Errorf("request %s %v", g.Path, g.Header)
	}
	dec := json.NewDecoder(bytes.NewReader(g.Body))
	for i := range recs {
		var ev struct {
			Event json.RawMessage `json:"event"`
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !bytes.Equal(ev.Event, recs[i].Raw) {
			t.Errorf("event %d is not the record byte-exact", i)
		}
	}
	golden := filepath.Join("testdata", "hec_body.golden")
	if *update {
		if err := os.WriteFile(golden, g.Body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g.Body, want) {
		t.Errorf("HEC body differs from %s (run with -update if the change is intended):\n%s", golden, g.Body)
	}
}

// HEC names the event it refused: that record alone is refused, the rest go again.
func TestHECInvalidEventNumber(t *testing.T) {
	srv := newRecorder(t, func(_ int, _ got, w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"text":"Invalid data format","code":6,"invalid-event-number":2}`))
	})
	d := newDest(t, cfgFor(t, srv.srv.URL, func(c *Config) { c.Mode, c.Token = ModeSplunkHEC, config.NewSecret("t") }))
	err := d.Write(t.Context(), records(5, "h"))
	var be *plugin.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 5 {
		t.Fatalf("want a BatchError over 5 records, got %v", err)
	}
	for i, e := range be.Failed {
		var re *plugin.RefusedError
		if refused := errors.As(e, &re); refused != (i == 2) {
			t.Errorf("record %d: %v", i, e)
		}
	}
}
