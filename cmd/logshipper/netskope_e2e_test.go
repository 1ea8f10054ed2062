package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
)

// Journey 1 end to end, as real processes over real sockets: a Netskope tenant (cloudsim, in
// this process) → the netskope source → a business rule → the aws_cloudtrail_lake destination
// → CloudTrail Lake (cloudsim). Faults on both sides (Netskope 5xx, "ok": 0, bodies cut short,
// slow answers; Lake per-event and per-call throttling and 5xx), the shipper killed with -9 twice
// in the middle of the run and restarted, a second netskope configuration whose token may not
// read its endpoint (403). Every record the tenant generated that the rule keeps and that is not
// a UBA alert is in the lake exactly once, by id; nothing else is; UBA and filtered records are
// counted by the final run, never sent; 19-digit ids keep every digit.

// e2eEndpoint is one data-export endpoint the test reads.
type e2eEndpoint struct {
	kind netskope.Kind
	typ  string
}

var e2eNetskopeEndpoints = []e2eEndpoint{
	{netskope.Events, "audit"}, {netskope.Events, "page"},
	{netskope.Alerts, "dlp"}, {netskope.Alerts, "ctep"}, {netskope.Alerts, "malware"}, {netskope.Alerts, "uba"},
}

// e2eKeepRule is the business rule of the test's SIEM mapping; e2eKeep is the same predicate
// in Go. It drops audit events of low severity_level and every record of informational severity.
const e2eKeepRule = `!(event_type == "audit" && severity_level == "low") && severity != "informational"`

func e2eKeep(ep e2eEndpoint, raw []byte) (bool, error) {
	var f struct {
		Severity      *string `json:"severity"`
		SeverityLevel *string `json:"severity_level"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return false, err
	}
	if ep.kind == netskope.Events && ep.typ == "audit" && f.SeverityLevel != nil && *f.SeverityLevel == "low" {
		return false, nil
	}
	return f.Severity == nil || *f.Severity != "informational", nil
}

// tenantView is what the tenant holds at one moment, classified as the shipper must treat it.
type tenantView struct {
	raw        map[string]json.RawMessage // by _id
	expected   map[string]bool            // must reach the lake: kept by the rule, not UBA
	uba        map[string]bool            // kept by the rule, dropped by the destination
	filtered   map[string]bool            // dropped by the rule (UBA ones included)
	records    int                        // records generated, duplicates included
	duplicates int                        // records repeating an earlier _id
}

func viewTenant(t *testing.T, tn *netskope.Tenant, seen map[string]recordClass) tenantView {
	t.Helper()
	v := tenantView{raw: map[string]json.RawMessage{}, expected: map[string]bool{}, uba: map[string]bool{}, filtered: map[string]bool{}}
	for _, ep := range e2eNetskopeEndpoints {
		for _, r := range tn.Records(ep.kind, ep.typ) {
			v.records++
			if prev, dup := v.raw[r.ID]; dup {
				v.duplicates++
				if !bytes.Equal(prev, r.Raw) {
					t.Fatalf("the tenant repeated _id %s with different content", r.ID)
				}
				continue
			}
			v.raw[r.ID] = r.Raw
			class, known := seen[r.ID]
			if !known {
				keep, err := e2eKeep(ep, r.Raw)
				switch {
				case err != nil:
					t.Fatalf("%s: %v", r.ID, err)
				case !keep:
					class = classFiltered
				case ep.kind == netskope.Alerts && ep.typ == "uba":
					class = classUBA
				default:
					class = classExpected
				}
				seen[r.ID] = class
			}
			switch class {
			case classFiltered:
				v.filtered[r.ID] = true
			case classUBA:
				v.uba[r.ID] = true
			default:
				v.expected[r.ID] = true
			}
		}
	}
	return v
}

// recordClass is how the shipper must treat a record; records never change, so the test
// classifies each _id once.
type recordClass int

const (
	classExpected recordClass = iota
	classFiltered
	classUBA
)

// decodeExact decodes a JSON object keeping numbers as their literal text.
func decodeExact(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("not a JSON object: %v: %.200s", err, b)
	}
	return m
}

// scrapeMetrics reads the shipper's /metrics into series → value ("name{labels}" as exposed).
func scrapeMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

// logLines returns the JSON log lines of a process's stderr that have every key=value given.
func logLines(stderr string, want map[string]string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		ok := true
		for k, v := range want {
			if s, _ := m[k].(string); s != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// additionalID64Fields are 64-bit ids the default mapping leaves to additionalEventData
// (transaction_id becomes the UID).
var additionalID64Fields = []string{"app_session_id", "browser_session_id", "connection_id", "request_id", "incident_id", "dlp_incident_id", "dlp_parent_id"}

var nineteenDigits = regexp.MustCompile(`^[0-9]{19}$`)

func TestE2ENetskopeIntoCloudTrailLakeWithFaultsAndKills(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	began := time.Now()
	const token, alertsOnlyToken = "netskope-e2e-token-7f3a", "alerts-only-token"
	t.Setenv("NS_E2E_TOKEN", token)
	t.Setenv("NS_E2E_ALERTS_TOKEN", alertsOnlyToken)

	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	c.Seed = 5
	c.Netskope.Tokens = []cloudsim.TokenConfig{{Value: token}, {Value: alertsOnlyToken, Endpoints: []string{"alerts/*"}}}
	var genEndpoints []string
	for _, ep := range e2eNetskopeEndpoints {
		genEndpoints = append(genEndpoints, string(ep.kind)+"/"+ep.typ)
	}
	c.Netskope.Generate = cloudsim.GenerateConfig{Rate: 1, Backlog: 1200, BacklogSpan: 3 * time.Hour, DuplicateRate: 0.02, Endpoints: genEndpoints}
	c.Netskope.Faults = cloudsim.NetskopeFault{ServerErrorRate: 0.1, OKZeroRate: 0.06, CutBodyRate: 0.1, SlowRate: 0.05, SlowDelay: 200 * time.Millisecond}
	c.AWS.Lake.Faults = cloudsim.LakeFaults{EventThrottleRate: 0.05, CallThrottleRate: 0.08, CallServerErrorRate: 0.08}
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	tn, lk := sim.Netskope, sim.Lake
	tenantHost := strings.TrimPrefix(sim.Endpoints["netskope"], "http://")
	a := c.AWS.Accounts[0]

	dir := t.TempDir()
	const alertsOnlyPlugin = `
  - name: ns-alerts-only
    type: netskope
    tenant: %s
    api_token: ${NS_E2E_ALERTS_TOKEN}
    event_types: [audit]
    alert_types: []
    start: -4h
    max_backoff: 1s
`
	writeConfig := func(admin string, withAlertsOnly bool) {
		extraPlugin, extraRoute := "", ""
		if withAlertsOnly {
			extraPlugin = fmt.Sprintf(alertsOnlyPlugin, sim.Endpoints["netskope"])
			extraRoute = "  - {source: ns-alerts-only, destination: lake, rule: e2e-keep}\n"
		}
		writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
shutdown_timeout: 20s
admin: {listen: "%s"}
log: {level: info, format: json}
plugins:
  - name: ns
    type: netskope
    tenant: %s
    api_token: ${NS_E2E_TOKEN}
    event_types: [audit, page]
    alert_types: [dlp, ctep, malware, uba]
    start: -4h
    max_backoff: 1s
    page_timeout: 10s
%s  - name: lake
    type: aws_cloudtrail_lake
    channel_arn: %s
    access_key_id: %s
    secret_access_key: %s
    endpoint: %s
    proxy: none
    workers: 4
    batch: {max_records: 100, max_wait: 20ms}
    retry: {initial_interval: 20ms, max_interval: 200ms}
business_rules:
  - name: e2e-keep
    expr: '%s'
siem_mappings:
  - {source: ns, destination: lake, rule: e2e-keep}
%s`, admin, sim.Endpoints["netskope"], extraPlugin, cloudsim.DemoChannelARN, a.AccessKeyID, a.SecretAccessKey, sim.Endpoints["aws"], e2eKeepRule, extraRoute))
	}

	classes := map[string]recordClass{}
	start := viewTenant(t, tn, classes)
	if len(start.expected) < 2500 || len(start.filtered) < 1000 || len(start.uba) < 500 || start.duplicates == 0 {
		t.Fatalf("the tenant's backlog does not exercise the rule: %d expected, %d filtered, %d UBA, %d duplicates",
			len(start.expected), len(start.filtered), len(start.uba), start.duplicates)
	}
	stored := func() int { return int(lk.Stats().Total) }
	var stderrs []string

	// Two runs killed with -9 in the middle of the backlog, with the 403 configuration present.
	for round, share := range []float64{0.15, 0.5} {
		writeConfig("", true)
		p := startShipper(t, dir, "run", "-c", "c.yaml")
		var refused []map[string]any
		waitFor(t, 20*time.Second, "the 403 of the alerts-only configuration to be logged", func() bool {
			refused = logLines(p.stderr.String(), map[string]string{"level": "ERROR", "plugin": "ns-alerts-only", "tenant": tenantHost, "endpoint": "events/audit"})
			return len(refused) > 0
		})
		if msg := fmt.Sprint(refused[0]); !strings.Contains(msg, "403") {
			t.Fatalf("the error logged for the alerts-only configuration does not say 403: %s", msg)
		}
		atRefusal := stored()
		target := max(int(share*float64(len(start.expected))), atRefusal+1)
		waitFor(t, 30*time.Second, fmt.Sprintf("round %d: %d events in the lake", round+1, target), func() bool { return stored() >= target })
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.wait(t, 10*time.Second)
		stderrs = append(stderrs, p.stderr.String())
		stopped := logLines(p.stderr.String(), map[string]string{"plugin": "ns-alerts-only", "msg": "source stopped; the other plugin configurations keep running"})
		if len(stopped) != 1 {
			t.Fatalf("round %d: the alerts-only configuration was not stopped once (%d)", round+1, len(stopped))
		}
		if e, _ := stopped[0]["error"].(string); !strings.Contains(e, tenantHost) || !strings.Contains(e, "events/audit") || !strings.Contains(e, "403") {
			t.Fatalf("round %d: the error does not name the tenant, the endpoint and the status: %q", round+1, e)
		}
		t.Logf("round %d: 403 logged with %d events in the lake; killed with -9 at %d (%s)", round+1, atRefusal, stored(), time.Since(began).Round(100*time.Millisecond))
	}

	// The final run: no 403 configuration, admin endpoint on, stopped with SIGTERM once every
	// expected record the tenant held when it started is in the lake. Records generated after
	// that may or may not be in by then; those that are must be expected ones too.
	admin := freeAddr(t)
	writeConfig(admin, false)
	// A call the killed process made may still be in the lake's hands: wait for it to settle.
	lakeBefore := lk.Stats()
	for settled := time.Now(); time.Since(settled) < 300*time.Millisecond; time.Sleep(20 * time.Millisecond) {
		if now := lk.Stats(); now.Calls != lakeBefore.Calls || now.Total != lakeBefore.Total {
			lakeBefore, settled = now, time.Now()
		}
	}
	// Fresh UBA alerts after the saved positions, so that the final run has some to count
	// whatever the earlier rounds reached (one page in flight at a time makes that vary).
	if err := tn.Generate(netskope.Alerts, "uba", 20); err != nil {
		t.Fatal(err)
	}
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	atT := viewTenant(t, tn, classes)
	missing := func(v tenantView) []string {
		if stored() < len(v.expected) {
			return []string{"(not yet)"}
		}
		have := map[string]bool{}
		for _, e := range lk.Query(lake.Filter{}) {
			have[cloudtraillake.RecordIDOf(e.ID)] = true
		}
		var out []string
		for id := range v.expected {
			if !have[id] {
				out = append(out, id)
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(missing(atT)) > 0 {
		if time.Now().After(deadline) {
			m := missing(atT)
			sort.Strings(m)
			t.Fatalf("%d expected records never reached the lake (e.g. %.5v); lake holds %d\nstderr:\n%s", len(m), m, stored(), lastChars(p.stderr.String(), 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Logf("final run: the %d records expected at its start are in the lake (%s)", len(atT.expected), time.Since(began).Round(100*time.Millisecond))
	// Counted, never sent: the final run's counters, at a quiet moment (no page in flight).
	var m map[string]float64
	var lakeNow lake.Stats
	quiet := func() bool {
		m = scrapeMetrics(t, admin)
		lakeNow = lk.Stats()
		again := scrapeMetrics(t, admin)
		for k, v := range m {
			if strings.HasPrefix(k, "logshipper_records_") && again[k] != v {
				return false
			}
		}
		r, f := m[`logshipper_records_received_total{plugin="ns"}`], m[`logshipper_records_dropped_total{plugin="lake",reason="filtered"}`]
		lr, s := m[`logshipper_records_received_total{plugin="lake"}`], m[`logshipper_records_sent_total{plugin="lake"}`]
		u, d := m[`logshipper_records_dropped_total{plugin="lake",reason="unsupported_by_destination"}`], m[`logshipper_records_dropped_total{plugin="lake",reason="duplicate"}`]
		accepted := float64(lakeNow.Total - lakeBefore.Total + lakeNow.Duplicates - lakeBefore.Duplicates)
		// Filtered and refused-by-kind records never enter the lake's queue; a repeated id is
		// skipped by the lake after it. The UBA endpoint may be read after the others: the
		// fresh UBA alerts must have been counted too (u > 0) before the moment is judged.
		return m[`logshipper_queue_records{plugin="lake"}`] == 0 && r == f+u+lr && lr == s+d && s == accepted && u > 0
	}
	deadline = time.Now().Add(20 * time.Second)
	for !quiet() {
		if time.Now().After(deadline) {
			t.Fatalf("the final run's counters never added up: %v\nlake before %+v\nlake now %+v", recordSeries(m), lakeBefore, lakeNow)
		}
		time.Sleep(100 * time.Millisecond)
	}
	filteredN := m[`logshipper_records_dropped_total{plugin="lake",reason="filtered"}`]
	ubaN := m[`logshipper_records_dropped_total{plugin="lake",reason="unsupported_by_destination"}`]
	if filteredN == 0 || ubaN == 0 {
		t.Fatalf("the final run counted %v filtered and %v UBA records; both must be > 0: %v", filteredN, ubaN, recordSeries(m))
	}
	for k, v := range m {
		if strings.HasPrefix(k, `logshipper_records_dropped_total{`) && v > 0 &&
			!strings.Contains(k, `reason="filtered"`) && !strings.Contains(k, `reason="unsupported_by_destination"`) && !strings.Contains(k, `reason="duplicate"`) {
			t.Errorf("unexpected drops in the final run: %s %v", k, v)
		}
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	stderrs = append(stderrs, p.stderr.String())
	for i, s := range stderrs {
		if strings.Contains(s, token) || strings.Contains(s, a.SecretAccessKey) {
			t.Fatalf("run %d logged a secret", i+1)
		}
	}

	// Exactly once by id; nothing else.
	final := viewTenant(t, tn, classes)
	events := lk.Query(lake.Filter{})
	got := map[string]int{}
	for _, e := range events {
		got[cloudtraillake.RecordIDOf(e.ID)]++
	}
	for id := range atT.expected {
		if got[id] != 1 {
			t.Fatalf("%s is in the lake %d times, want once", id, got[id])
		}
	}
	var ubaSent, filteredSent, unknown int
	for id, n := range got {
		switch {
		case n != 1:
			t.Fatalf("%s is in the lake %d times", id, n)
		case final.uba[id]:
			ubaSent++
		case final.filtered[id]:
			filteredSent++
		case !final.expected[id]:
			unknown++
		}
	}
	if ubaSent+filteredSent+unknown > 0 {
		t.Fatalf("the lake holds %d UBA alerts, %d records the rule filters and %d records the tenant never generated", ubaSent, filteredSent, unknown)
	}
	st := lk.Stats()
	if st.ByEventSource["netskopealert.uba"] != 0 {
		t.Fatalf("UBA alerts reached the lake: %v", st.ByEventSource)
	}
	if st.DuplicateConflicts != 0 {
		t.Fatalf("%d re-sent ids carried different eventData: ids are not deterministic", st.DuplicateConflicts)
	}
	if int(st.Total) != len(got) {
		t.Fatalf("the lake stored %d events for %d ids", st.Total, len(got))
	}

	// 64-bit ids keep every digit: the UID (transaction_id, else _id) and the unmapped ids in
	// additionalEventData (strings there) are the source's digits, exactly.
	checked := 0
	for i, e := range events {
		if i%3 != 0 {
			continue // a third of them is plenty, and keeps the test quick under -race
		}
		id := cloudtraillake.RecordIDOf(e.ID)
		src := decodeExact(t, final.raw[id])
		data := decodeExact(t, e.EventData)
		uid, _ := data["UID"].(string)
		if tid, ok := src["transaction_id"].(json.Number); ok {
			if uid != tid.String() {
				t.Fatalf("%s: UID %q, transaction_id %s", e.ID, uid, tid)
			}
			if nineteenDigits.MatchString(tid.String()) {
				checked++
			}
		} else if uid != id {
			t.Fatalf("%s: UID %q, want the _id", e.ID, uid)
		}
		extra, _ := data["additionalEventData"].(map[string]any)
		for _, k := range additionalID64Fields {
			want, ok := src[k].(json.Number)
			if !ok || !nineteenDigits.MatchString(want.String()) {
				continue
			}
			// A string of the digits, as Cloud Exchange writes it.
			if got, ok := extra[k].(string); !ok || got != want.String() {
				t.Fatalf("%s: %s is %v in additionalEventData, want %s", e.ID, k, extra[k], want)
			}
			checked++
		}
	}
	if checked < 500 {
		t.Fatalf("only %d 19-digit ids were checked", checked)
	}

	// The faults were injected.
	ns := tn.Stats()
	if ns.Faults.ServerErrors == 0 || ns.Faults.OKZero == 0 || ns.Faults.CutBodies == 0 {
		t.Fatalf("netskope faults not all injected: %+v", ns.Faults)
	}
	if st.Failed["Throttling"] == 0 || st.CallErrors["ThrottlingException"] == 0 || st.CallErrors["InternalFailure"]+st.CallErrors["ServiceUnavailable"] == 0 {
		t.Fatalf("lake faults not all injected: failed %v, call errors %v", st.Failed, st.CallErrors)
	}

	t.Logf("netskope → rule → CloudTrail Lake, 2 kill -9 restarts + SIGTERM, %s: tenant generated %d records on %d endpoints (%d repeats of an earlier _id), %d unique; "+
		"expected %d, filtered by the rule %d, UBA %d; the lake stores %d (all %d expected at the last restart + %d live), each once; %d re-sent ids deduplicated, 0 conflicts; "+
		"final run counted %v filtered, %v UBA, %v duplicates in a batch, %v sent; %d 19-digit ids checked; "+
		"netskope faults: %d 5xx, %d ok:0, %d cut bodies, %d slow, %d 429s; lake faults: per-event %v, calls %v",
		time.Since(began).Round(100*time.Millisecond), final.records, len(e2eNetskopeEndpoints), final.duplicates, len(final.raw),
		len(final.expected), len(final.filtered), len(final.uba), len(got), len(atT.expected), len(got)-len(atT.expected), st.Duplicates,
		filteredN, ubaN, m[`logshipper_records_dropped_total{plugin="lake",reason="duplicate"}`], m[`logshipper_records_sent_total{plugin="lake"}`], checked,
		ns.Faults.ServerErrors, ns.Faults.OKZero, ns.Faults.CutBodies, ns.Faults.Slow, ns.ByStatus[429], st.Failed, st.CallErrors)
}

// recordSeries keeps the record counters of a scrape, for messages.
func recordSeries(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if strings.HasPrefix(k, "logshipper_records_") || strings.HasPrefix(k, "logshipper_queue_") {
			out[k] = v
		}
	}
	return out
}

func lastChars(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
