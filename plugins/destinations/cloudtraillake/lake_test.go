package cloudtraillake

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/mapping"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/pipeline"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/rules"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/internal/telemetry"
)

func startSim(t *testing.T) *cloudsim.Sim {
	t.Helper()
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	s, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func newDest(t *testing.T, s *cloudsim.Sim, edit func(*Config)) *Destination {
	t.Helper()
	c := NewConfig().(*Config)
	a := cloudsim.Default().AWS.Accounts[0]
	c.AWS.AccessKeyID, c.AWS.SecretAccessKey = config.NewSecret(a.AccessKeyID), config.NewSecret(a.SecretAccessKey)
	c.AWS.Endpoint = s.Endpoints["aws"]
	c.AWS.Proxy = netconf.Proxy{URL: netconf.ProxyNone}
	c.ChannelARN = cloudsim.DemoChannelARN
	if edit != nil {
		edit(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := New(context.Background(), c, plugintest.Settings(t, "lake", nil))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func alert(id, typ, extra string) *event.Record {
	raw := fmt.Sprintf(`{"_id":%q,"alert_type":%q,"timestamp":1795420800,"user":"alice@example.com","srcip":"10.1.2.3","alert_name":"DLP rule","app":"Box","transaction_id":9223372036854775807%s}`, id, typ, extra)
	return &event.Record{ID: id, Raw: []byte(raw), Kind: event.KindNetskopeAlert, Subtype: strings.ToLower(typ)}
}

func TestWriteMapsAndDelivers(t *testing.T) {
	s := startSim(t)
	d := newDest(t, s, nil)
	recs := []*event.Record{
		alert("a1", "DLP", ""),
		alert("a2", "uba", ""),
		alert("a1", "DLP", ""), // the same id again in one call
		alert("a3", "malware", `,"dstip":"x"`),
	}
	err := d.Write(context.Background(), recs)
	var be *plugin.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write: %v, want a BatchError for the skipped records", err)
	}
	var se *plugin.SkippedError
	// The engine never hands the lake a UBA alert (RefuseKind); written directly, it is
	// skipped for the same reason.
	if !errors.As(be.Failed[1], &se) || se.Reason != plugin.ReasonUnsupported {
		t.Errorf("uba: %v", be.Failed[1])
	}
	if !errors.As(be.Failed[2], &se) || se.Reason != plugin.ReasonDuplicate {
		t.Errorf("duplicate: %v", be.Failed[2])
	}
	if len(be.Failed) != 2 {
		t.Errorf("failed %v", be.Failed)
	}
	got := s.Lake.Query(lake.Filter{})
	if len(got) != 2 {
		t.Fatalf("lake holds %d events, want 2", len(got))
	}
	a1 := ""
	for _, e := range got {
		if RecordIDOf(e.ID) == "a1" {
			a1 = e.EventSource + " " + string(e.EventData)
		}
	}
	for _, want := range []string{"netskopealert.dlp", "2026-11-", "9223372036854775807", "123456789012"} {
		if !strings.Contains(a1, want) {
			t.Errorf("a1 lacks %q: %s", want, a1)
		}
	}
}

// Netskope gives one _id to records of different endpoints and to distinct audit events (the
// public Netskope audit samples of panther-labs/panther-analysis hold five distinct events with
// _id 1e589befa3da30132362f32a). Each is a record of its own: all of them reach the lake, in one
// call or in several, each under its own audit event id and with the _id as its UID; the same
// record twice in one call is sent once and counted as a duplicate; sent again in a later call it
// keeps its id (so a lake that deduplicates ids keeps one copy).
func TestRecordsSharingAnIDAllArrive(t *testing.T) {
	const shared = "1e589befa3da30132362f32a"
	audit := func(what string) *event.Record {
		raw := fmt.Sprintf(`{"_id":%q,"timestamp":1702318213,"user":"admin@example.com","audit_log_event":%q,"event_type":"audit"}`, shared, what)
		return &event.Record{ID: shared, Raw: []byte(raw), Kind: event.KindNetskopeEvent, Subtype: "audit"}
	}
	tests := []struct {
		name    string
		calls   [][]*event.Record
		sources []string // eventSource of each event the lake must hold
		dups    int      // records counted as duplicates
	}{
		{"across endpoints, one call", [][]*event.Record{{alert(shared, "dlp", ""), alert(shared, "malware", "")}},
			[]string{"netskopealert.dlp", "netskopealert.malware"}, 0},
		{"across endpoints, two calls", [][]*event.Record{{alert(shared, "dlp", "")}, {alert(shared, "malware", "")}},
			[]string{"netskopealert.dlp", "netskopealert.malware"}, 0},
		{"distinct audit events, one call", [][]*event.Record{{audit("Rest API V2 Call"), audit("Deleted rbi template")}},
			[]string{"netskopeevent.audit", "netskopeevent.audit"}, 0},
		{"distinct audit events, two calls", [][]*event.Record{{audit("Rest API V2 Call")}, {audit("Deleted rbi template")}},
			[]string{"netskopeevent.audit", "netskopeevent.audit"}, 0},
		{"the same record twice in one call", [][]*event.Record{{audit("Login Successful"), audit("Login Successful")}},
			[]string{"netskopeevent.audit"}, 1},
		{"the same record in two calls", [][]*event.Record{{audit("Login Successful")}, {audit("Login Successful")}},
			[]string{"netskopeevent.audit"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startSim(t)
			d := newDest(t, s, nil)
			dups := 0
			for i, call := range tc.calls {
				err := d.Write(context.Background(), call)
				var be *plugin.BatchError
				if errors.As(err, &be) {
					for j, e := range be.Failed {
						var se *plugin.SkippedError
						if !errors.As(e, &se) || se.Reason != plugin.ReasonDuplicate {
							t.Fatalf("call %d record %d: %v", i, j, e)
						}
						dups++
					}
				} else if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if dups != tc.dups {
				t.Errorf("%d records counted as duplicates, want %d", dups, tc.dups)
			}
			var sources []string
			ids := map[string]bool{}
			for _, e := range s.Lake.Query(lake.Filter{}) {
				sources = append(sources, e.EventSource)
				ids[e.ID] = true
				if got := RecordIDOf(e.ID); got != shared {
					t.Errorf("audit event id %s: RecordIDOf = %q, want %q", e.ID, got, shared)
				}
				var data struct{ UID string }
				if err := json.Unmarshal(e.EventData, &data); err != nil || data.UID == "" {
					t.Errorf("eventData %s: UID %q (%v)", e.EventData, data.UID, err)
				}
			}
			slices.Sort(sources)
			if !slices.Equal(sources, tc.sources) {
				t.Errorf("the lake holds %v, want %v", sources, tc.sources)
			}
			if len(ids) != len(tc.sources) {
				t.Errorf("%d distinct ids for %d events", len(ids), len(tc.sources))
			}
			if st := s.Lake.Stats(); st.DuplicateConflicts != 0 {
				t.Errorf("the lake saw %d ids re-sent with other eventData", st.DuplicateConflicts)
			}
		})
	}
}

func TestAuditEventID(t *testing.T) {
	sum := sha256.Sum256([]byte("{}"))
	long := strings.Repeat("a", 200)
	for _, tc := range []struct{ id, wantRecord string }{
		{"5182808a2a99fc688d4a8057", "5182808a2a99fc688d4a8057"},
		{"a b/c", "a_b_c"},
		{"with-dashes-in-it", "with-dashes-in-it"},
		{long, long[:111]},
	} {
		got := AuditEventID(tc.id, sum)
		if len(got) > 128 || !regexp.MustCompile(`^[-_A-Za-z0-9]+$`).MatchString(got) {
			t.Errorf("AuditEventID(%q) = %q: not 1-128 of [-_A-Za-z0-9]", tc.id, got)
		}
		if r := RecordIDOf(got); r != tc.wantRecord {
			t.Errorf("RecordIDOf(%q) = %q, want %q", got, r, tc.wantRecord)
		}
	}
	if a, b := AuditEventID("x", sha256.Sum256([]byte("a"))), AuditEventID("x", sha256.Sum256([]byte("b"))); a == b {
		t.Errorf("two eventData give one id %s", a)
	}
}

func TestPerEventFailuresAreClassified(t *testing.T) {
	s := startSim(t)
	s.Lake.SetFaults(lake.Faults{EventThrottleRate: 1})
	d := newDest(t, s, nil)
	err := d.Write(context.Background(), []*event.Record{alert("t1", "dlp", "")})
	var be *plugin.BatchError
	var te *plugin.ThrottledError
	if !errors.As(err, &be) || !errors.As(be.Failed[0], &te) {
		t.Fatalf("per-event Throttling: %v, want a throttled record", err)
	}
	s.Lake.SetFaults(lake.Faults{})
	if err := d.Write(context.Background(), []*event.Record{alert("t1", "dlp", "")}); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

func TestConfigurationErrorsAreFatal(t *testing.T) {
	s := startSim(t)
	d := newDest(t, s, func(c *Config) {
		c.ChannelARN = "arn:aws:cloudtrail:us-east-1:123456789012:channel/00000000-0000-0000-0000-000000000000"
	})
	err := d.Write(context.Background(), []*event.Record{alert("x", "dlp", "")})
	if !plugin.IsFatal(err) || !strings.Contains(err.Error(), "ChannelNotFound") {
		t.Fatalf("unknown channel: %v, want fatal ChannelNotFound", err)
	}
	if err := d.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "no channel") {
		t.Fatalf("Check: %v", err)
	}
	wrong := newDest(t, s, func(c *Config) { c.AWS.SecretAccessKey = config.NewSecret("wrong") })
	if err := wrong.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "credentials were refused") {
		t.Fatalf("Check with a wrong secret: %v", err)
	}
	if err := newDest(t, s, nil).Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct{ arn, mapping, want string }{
		{"", "", "channel_arn: missing"},
		{"arn:aws:cloudtrail:us-east-1:123:channel/x", "", "channel_arn:"},
		{cloudsim.DemoChannelARN, "", ""},
		// New refuses a mapping file it cannot load, so validate must too.
		{cloudsim.DemoChannelARN, filepath.Join(t.TempDir(), "missing.json"), "mapping: "},
	} {
		c := NewConfig().(*Config)
		c.ChannelARN, c.Mapping = tc.arn, tc.mapping
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q, mapping %q: %v, want %q", tc.arn, tc.mapping, err, tc.want)
		}
	}
}

func TestRefuseKind(t *testing.T) {
	d := &Destination{cfg: NewConfig().(*Config), maps: mapping.DefaultCloudTrail(), account: "123456789012"}
	tests := []struct {
		kind    event.Kind
		subtype string
		refused bool
		reason  string
	}{
		{event.KindNetskopeAlert, "dlp", false, ""},
		{event.KindNetskopeAlert, "ctep", false, ""},
		{event.KindNetskopeEvent, "audit", false, ""},
		// A subtype no mapping covers is taken: the mapping decides, and counts it as unmapped.
		{event.KindNetskopeAlert, "nosuchtype", false, ""},
		{event.KindNetskopeAlert, "uba", true, "UBA alerts"},
		{event.KindNetskopeAlert, event.NetskopeSubtype("UBA"), true, "UBA alerts"},
		// An anomaly alert (a record read without its endpoint, named by its alert_type) is a
		// UBA alert, not netskopealert.anomaly.
		{event.KindNetskopeAlert, event.NetskopeSubtype("anomaly"), true, "UBA alerts"},
		// A UBA event endpoint would be another thing: only alerts are refused.
		{event.KindNetskopeEvent, "uba", false, ""},
		{event.KindCloudTrail, "AwsApiCall", true, "not cloudtrail records"},
		{"", "", true, "no kind"},
		{"netskope/other", "dlp", true, "not netskope/other records"},
	}
	for _, tc := range tests {
		reason, refused := d.RefuseKind(tc.kind, tc.subtype)
		if refused != tc.refused || !strings.Contains(reason, tc.reason) {
			t.Errorf("RefuseKind(%q, %q) = %q, %v; want refused=%v with %q", tc.kind, tc.subtype, reason, refused, tc.refused, tc.reason)
		}
	}
}

// scripted publishes its batches once and waits for each one's outcome.
type scripted struct {
	batches [][]*event.Record
	acked   chan event.Outcome
}

func (s *scripted) Run(ctx context.Context, pub plugin.Publisher) error {
	for _, b := range s.batches {
		if err := pub.Publish(ctx, b, func(o event.Outcome) { s.acked <- o }); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// Through the engine, the lake is never handed a UBA alert, a CloudTrail record or a record of
// no kind: they are counted on it as unsupported_by_destination and acknowledged, and the
// Netskope alerts and events around them are delivered.
func TestEngineRefusesKindsTheLakeDoesNotTake(t *testing.T) {
	s := startSim(t)
	metrics := telemetry.NewMetrics("test")
	d := newDest(t, s, nil)
	ct := &event.Record{ID: "ct1", Raw: []byte(`{"eventVersion":"1.08","eventID":"ct1","eventType":"AwsApiCall"}`), Kind: event.KindCloudTrail, Subtype: "AwsApiCall"}
	plain := &event.Record{ID: "plain1", Raw: []byte(`{"_id":"plain1","alert_type":"DLP","timestamp":1795420800,"user":"u@example.com"}`)}
	audit := &event.Record{ID: "ev1", Raw: []byte(`{"event_type":"audit","_id":"ev1","timestamp":1795420800,"user":"admin@example.com","audit_log_event":"Login Successful"}`),
		Kind: event.KindNetskopeEvent, Subtype: "audit"}
	src := &scripted{acked: make(chan event.Outcome, 2), batches: [][]*event.Record{
		{alert("e1", "DLP", ""), alert("e2", "uba", ""), ct, alert("e3", "malware", "")},
		{plain, alert("e4", "uba", ""), audit},
	}}
	log := plugintest.Logger(t)
	e, err := pipeline.New(pipeline.Options{Logger: log, DeadLetters: failingDeadLetters{t}}, []pipeline.SourceSpec{{
		Name: "src", Source: src, Metrics: metrics.Plugin("src"), Logger: log.With("plugin", "src"), Dropper: &plugintest.Dropper{},
	}}, []pipeline.DestinationSpec{{
		Name: "lake", Destination: d, Metrics: metrics.Plugin("lake"), Logger: log.With("plugin", "lake"),
		Options: pipeline.DestinationOptions{MaxRecords: 100, MaxBytes: 1 << 20, MaxWait: 10 * time.Millisecond, Workers: 1, QueueSize: 100,
			Retry: retry.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond}},
	}}, []pipeline.RouteSpec{{Name: "src->lake", Source: "src", Destination: "lake", Rule: allRule(t)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	for i := range src.batches {
		select {
		case o := <-src.acked:
			if o != event.Acked {
				t.Errorf("batch %d: %v, want acked", i, o)
			}
		case <-time.After(plugintest.DefaultTimeout):
			t.Fatalf("batch %d not acknowledged", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("engine: %v", err)
	}
	var got []string
	for _, ev := range s.Lake.Query(lake.Filter{}) {
		got = append(got, RecordIDOf(ev.ID)+" "+ev.EventSource)
	}
	slices.Sort(got)
	want := []string{"e1 netskopealert.dlp", "e3 netskopealert.malware", "ev1 netskopeevent.audit"}
	if !slices.Equal(got, want) {
		t.Errorf("the lake holds %v, want %v", got, want)
	}
	lm := metrics.Plugin("lake")
	if v := testutil.ToFloat64(lm.DroppedCounter(string(plugin.ReasonUnsupported))); v != 4 {
		t.Errorf("unsupported_by_destination = %v, want 4 (two UBA alerts, a CloudTrail record, a record of no kind)", v)
	}
	if v := testutil.ToFloat64(lm.Received); v != 3 {
		t.Errorf("the lake's queue received %v records, want the 3 it takes", v)
	}
}

func allRule(t *testing.T) *rules.Rule {
	t.Helper()
	set, err := rules.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := set.Get(rules.All)
	if !ok {
		t.Fatal("no rule All")
	}
	return r
}

// failingDeadLetters fails the test when anything is dead-lettered: a refused kind is counted,
// not kept.
type failingDeadLetters struct{ t *testing.T }

func (f failingDeadLetters) Put(plugin string, es []deadletter.Entry) error {
	f.t.Errorf("%s dead-lettered %d records (first: %s %s)", plugin, len(es), es[0].Reason, es[0].ID)
	return nil
}

// The INFO summary of what was ingested comes at most every summaryEvery, whatever the number of
// Writes; it gathers every Write since the last line.
func TestIngestSummaryIsPeriodic(t *testing.T) {
	var s ingestSummary
	in, _, due := s.add(map[string]int{"dlp alerts": 3}, nil)
	if !due || in["dlp alerts"] != 3 {
		t.Fatalf("first Write: due %v, %v; want a line at once", due, in)
	}
	for range 1000 {
		if _, _, due := s.add(map[string]int{"dlp alerts": 1}, map[string]int{"audit events": 1}); due {
			t.Fatal("a second line within summaryEvery")
		}
	}
	s.last = s.last.Add(-summaryEvery)
	in, failed, due := s.add(nil, nil)
	if !due || in["dlp alerts"] != 1000 || failed["audit events"] != 1000 {
		t.Fatalf("after summaryEvery: due %v, ingested %v, failed %v; want the 1000 of each gathered", due, in, failed)
	}
	if _, _, due := s.add(nil, nil); due {
		t.Error("a line with nothing to say")
	}
}
