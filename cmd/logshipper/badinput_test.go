package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/deadletter"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
)

// The bad-input corpus (testdata/badinput, see its README) pushed through the shipper as a user
// runs it: the real binary with a configuration file, a Netskope tenant that answers the
// corpus's pages, CloudTrail Lake and CloudWatch Logs from cloudsim, a syslog receiver. Each bad
// record must end delivered, dead-lettered with a reason naming what was wrong, or counted as
// dropped with its reason; every good record, before and after the bad input, is delivered;
// nothing hangs.

var badInputDir = filepath.Join("..", "..", "testdata", "badinput")

func readBadInput(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(badInputDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- Netskope ----

// nsAlert is one Netskope DLP alert as the data-export API returns it, with the same fields as
// the corpus's records; extra members (already JSON-encoded values) are appended.
func nsAlert(id string, extra ...string) string {
	tid := 9012345678901234000 + len(id)
	s := fmt.Sprintf(`{"_id":%q,"_insertion_epoch_timestamp":1767225600,"timestamp":1767225600,"alert_type":"DLP","alert_name":"DLP-PCI %s","type":"nspolicy","user":"alice@example.com","srcip":"10.1.2.3","app":"Box","action":"block","severity":"high","transaction_id":%d`, id, id, tid)
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// nsPage is a data-export answer holding elems (JSON texts) as its result.
func nsPage(elems ...string) []byte {
	return []byte(`{"ok":1,"result":[` + strings.Join(elems, ",") + `],"wait_time":0,"timestamp_hwm":1767225660}` + "\n")
}

// nsGoodPage is a page of n alerts with the ids <prefix>-1 ... <prefix>-n.
func nsGoodPage(prefix string, n int) ([]byte, []string) {
	var elems, ids []string
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		ids = append(ids, id)
		elems = append(elems, nsAlert(id))
	}
	return nsPage(elems...), ids
}

// nsHugePage is the generated "record 2 MB large" page: three alerts, the second with a 2 MB
// dlp_file member.
func nsHugePage() []byte {
	big := `"dlp_file":"` + strings.Repeat("0123456789abcdef", 2<<20/16) + `"`
	return nsPage(nsAlert("bi-huge-01"), nsAlert("bi-huge-02", big), nsAlert("bi-huge-03"))
}

// nested returns a JSON value nested depth arrays deep: [[[...[1]...]]].
func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

// nsDeepPage is the generated "record nested 10,000 deep" page: bi-deep-02 is nested 10,000
// deep counting its own object (the most encoding/json and the source accept), bi-deep-03 one
// level deeper.
func nsDeepPage() []byte {
	return nsPage(nsAlert("bi-deep-01"),
		nsAlert("bi-deep-02", `"policy_tree":`+nested(9999)),
		nsAlert("bi-deep-03", `"policy_tree":`+nested(10000)),
		nsAlert("bi-deep-04"))
}

// nsStep is what the scripted tenant answers at one position of an endpoint's iterator.
type nsStep struct {
	body []byte
	// times > 0: body is answered that many times at this position, then `then` (a fault that
	// goes away). 0: body every time.
	times int
	then  []byte
	// cut: body is sent under the Content-Length of `then`, and the connection dropped: a page
	// cut short in transit.
	cut bool
}

// scriptedTenant plays a Netskope tenant's data-export iterators from fixed pages: an epoch
// operation seeds the index at the first page, next moves to the following one, resend answers
// the current one again; past the last page every answer is an empty page.
type scriptedTenant struct {
	token string

	mu  sync.Mutex
	eps map[string]*scriptedEndpoint // by "alerts/dlp"
}

type scriptedEndpoint struct {
	steps  []nsStep
	pos    int
	served map[int]int
	ops    []string
}

func (st *scriptedTenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep, ok := strings.CutPrefix(r.URL.Path, "/api/v2/events/dataexport/")
	if !ok || r.Header.Get("Netskope-Api-Token") != st.token {
		http.Error(w, `{"ok":0,"error":"no such endpoint or token"}`, http.StatusForbidden)
		return
	}
	op := r.URL.Query().Get("operation")
	st.mu.Lock()
	e := st.eps[ep]
	if e == nil {
		st.mu.Unlock()
		w.Write(nsPage())
		return
	}
	e.ops = append(e.ops, op)
	switch op {
	case "next":
		e.pos++
	case "resend":
	case "head", "tail":
		e.pos = 0
	default:
		if _, err := strconv.ParseInt(op, 10, 64); err != nil {
			st.mu.Unlock()
			http.Error(w, `{"ok":0,"error":"bad operation"}`, http.StatusBadRequest)
			return
		}
		e.pos = 0
	}
	if e.pos >= len(e.steps) {
		st.mu.Unlock()
		w.Write(nsPage())
		return
	}
	step := e.steps[e.pos]
	n := e.served[e.pos]
	e.served[e.pos]++
	st.mu.Unlock()
	body := step.body
	if step.times > 0 && n >= step.times {
		body = step.then
	}
	if step.cut && (step.times == 0 || n < step.times) {
		w.Header().Set("Content-Length", strconv.Itoa(len(step.then)))
		w.Write(body)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drops the connection: the client reads a short body
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (st *scriptedTenant) opsOf(ep string) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]string(nil), st.eps[ep].ops...)
}

// readDeadLetters reads every dead-letter file of a data dir, by plugin configuration.
func readDeadLetters(t *testing.T, dataDir string) map[string][]deadletter.Entry {
	t.Helper()
	out := map[string][]deadletter.Entry{}
	files, _ := filepath.Glob(filepath.Join(dataDir, "deadletter", "*.ndjson"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.LastIndexByte(b, '\n'); i < len(b)-1 {
			b = b[:i+1] // a line being written
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var e deadletter.Entry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Errorf("%s: a dead letter that cannot be read back: %v: %.300s", f, err, sc.Bytes())
				continue
			}
			name := strings.TrimSuffix(filepath.Base(f), ".ndjson")
			out[name] = append(out[name], e)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return out
}

// entryRecord returns the bytes a dead letter kept.
func entryRecord(t *testing.T, e deadletter.Entry) []byte {
	t.Helper()
	switch {
	case e.Record != nil:
		return e.Record
	case e.RecordBase64 != "":
		b, err := base64.StdEncoding.DecodeString(e.RecordBase64)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []byte(e.RecordText)
}

// nsScenario is one corpus page served on its own alert endpoint, between a good page before it
// and a good page after it, and what the shipper must do with it.
type nsScenario struct {
	name     string // the corpus file, or the generated page
	endpoint string // the alert type it is served on
	bad      nsStep
	// The ids of the bad page that must reach the lake, exactly once each.
	lake []string
	// Its dead letters, in order per plugin configuration ("ns": the source, "lake": the
	// destination).
	dead []deadWant
	// Log lines the source must have written for this endpoint.
	logs []logWant
	// The operations the tenant must have been asked for, up to the page after the bad one.
	ops []string
}

type deadWant struct {
	plugin, reason, code, id string
	errHas                   []string
	// The bytes kept: record, else the element of the bad page that holds find, else the one
	// whose _id is id.
	record []byte
	find   string
}

type logWant struct {
	level, msg string
	errHas     []string
}

func TestE2EBadInputNetskopeIntoCloudTrailLake(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const token = "badinput-netskope-token"
	t.Setenv("NS_BAD_TOKEN", token)
	good := readBadInput(t, "ns-good.json")
	truncated := readBadInput(t, "ns-truncated.json")
	if !bytes.HasPrefix(good, truncated) || len(truncated) >= len(good) {
		t.Fatal("ns-truncated.json must be a prefix of ns-good.json")
	}
	malformed := readBadInput(t, "ns-malformed.json")
	notArray := readBadInput(t, "ns-result-not-array.json")
	recovered, recoveredIDs := nsGoodPage("bi-device-recovered", 3)
	huge, deep := nsHugePage(), nsDeepPage()

	// Every error below must name the tenant and the endpoint; {tenant} and {endpoint} are
	// replaced once the tenant listens.
	scenarios := []nsScenario{{
		name: "ns-malformed.json: the tenant answers it every time", endpoint: "policy",
		bad: nsStep{body: malformed},
		dead: []deadWant{{plugin: "ns", reason: "invalid", record: malformed, errHas: []string{
			"netskope tenant {tenant}, endpoint {endpoint} (operation=resend): the answer is not a data-export page (650 bytes): invalid JSON: expected ',' or ']' in the result array at byte 312",
			"given up after 3 identical answers"}}},
		logs: []logWant{
			{"WARN", "request failed; retrying", []string{"expected ',' or ']' in the result array at byte 312"}},
			{"ERROR", "the same broken answer came back; dropping it and going on", []string{"expected ',' or ']'"}}},
		ops: []string{"<epoch>", "next", "resend", "resend", "next"},
	}, {
		name: "ns-truncated.json: cut in transit once, whole on resend", endpoint: "malsite",
		bad:  nsStep{body: truncated, times: 1, cut: true, then: good},
		lake: []string{"bi-good-01", "bi-good-02", "bi-good-03"},
		logs: []logWant{{"WARN", "request failed; retrying", []string{"reading the page: unexpected EOF"}}},
		ops:  []string{"<epoch>", "next", "resend", "next"},
	}, {
		name: "ns-truncated.json: a complete answer, every time", endpoint: "malware",
		bad: nsStep{body: truncated},
		dead: []deadWant{{plugin: "ns", reason: "invalid", record: truncated, errHas: []string{
			"netskope tenant {tenant}, endpoint {endpoint} (operation=resend): the answer is not a data-export page (350 bytes): invalid JSON: unterminated string at byte 350"}}},
		logs: []logWant{{"ERROR", "the same broken answer came back; dropping it and going on", []string{"unterminated string at byte 350"}}},
		ops:  []string{"<epoch>", "next", "resend", "resend", "next"},
	}, {
		name: "ns-invalid-utf8.json", endpoint: "dlp",
		bad:  nsStep{body: readBadInput(t, "ns-invalid-utf8.json")},
		lake: []string{"bi-utf8-01", "bi-utf8-02", "bi-utf8-03"},
		logs: []logWant{{"WARN", "records held bytes that are not UTF-8: each such byte was replaced by U+FFFD and the records sent on (logshipper_records_repaired_total)", nil}},
	}, {
		name: "generated: a record of 2 MB", endpoint: "securityassessment",
		bad:  nsStep{body: huge},
		lake: []string{"bi-huge-01", "bi-huge-03"},
		dead: []deadWant{{plugin: "lake", reason: "too_large", id: "bi-huge-02", errHas: []string{"record of 2097450 bytes is larger than the 983040 bytes a batch may hold"}}},
	}, {
		name: "generated: records nested 10,000 and 10,001 deep", endpoint: "watchlist",
		bad:  nsStep{body: deep},
		lake: []string{"bi-deep-01", "bi-deep-04"},
		dead: []deadWant{
			{plugin: "ns", reason: "invalid", find: `"_id":"bi-deep-03"`, errHas: []string{"netskope tenant {tenant}, endpoint {endpoint}: record 3 of the page: invalid JSON: exceeded max depth at byte"}},
			{plugin: "lake", reason: "refused", code: "InvalidData", id: "bi-deep-02", errHas: []string{"eventData is nested too deeply"}}},
	}, {
		name: "ns-missing-fields.json", endpoint: "quarantine",
		bad:  nsStep{body: readBadInput(t, "ns-missing-fields.json")},
		lake: []string{"bi-missing-01", "bi-missing-05"},
		dead: []deadWant{
			{plugin: "lake", reason: "refused", code: "InvalidData", find: "(bi-missing-02)", errHas: []string{"record has no _id to use as the audit event id"}},
			{plugin: "lake", reason: "refused", code: "InvalidData", id: "bi-missing-03", errHas: []string{`eventData has no eventTime, which CloudTrail Lake requires (mapped from "timestamp", which the record lacks`}},
			{plugin: "lake", reason: "refused", code: "InvalidData", find: "(bi-missing-04)", errHas: []string{`eventData has no eventTime, which CloudTrail Lake requires (mapped from "timestamp", which the record lacks`}}},
	}, {
		name: "ns-wrong-types.json", endpoint: "remediation",
		bad:  nsStep{body: readBadInput(t, "ns-wrong-types.json")},
		lake: []string{"bi-types-01", "bi-types-03", "12345", "bi-types-07"},
		dead: []deadWant{
			{plugin: "lake", reason: "refused", code: "InvalidData", id: "bi-types-02", errHas: []string{`eventData has no eventTime, which CloudTrail Lake requires (mapped from "timestamp", which is empty or unusable in the record`}},
			{plugin: "lake", reason: "refused", code: "InvalidData", find: "(bi-types-04)", errHas: []string{"_id is an object, not a string to use as the audit event id"}},
			{plugin: "lake", reason: "refused", code: "InvalidData", id: "bi-types-06", errHas: []string{`(mapped from "timestamp", which is empty or unusable in the record`}}},
	}, {
		name: "ns-result-not-array.json", endpoint: "compromisedcredential",
		bad: nsStep{body: notArray},
		dead: []deadWant{{plugin: "ns", reason: "invalid", record: notArray, errHas: []string{
			"netskope tenant {tenant}, endpoint {endpoint} (operation=resend): the answer is not a data-export page (352 bytes): invalid JSON: result is not an array at byte 17"}}},
		logs: []logWant{{"ERROR", "the same broken answer came back; dropping it and going on", []string{"result is not an array"}}},
		ops:  []string{"<epoch>", "next", "resend", "resend", "next"},
	}, {
		name: "ns-mixed.json", endpoint: "ctep",
		bad:  nsStep{body: readBadInput(t, "ns-mixed.json")},
		lake: []string{"bi-mixed-01", "bi-mixed-06"},
		dead: []deadWant{
			{plugin: "ns", reason: "invalid", record: []byte(`{"_id":"bi-mixed-02","alert_type":"DLP","timestamp":1767225600,"severity":hig}`), errHas: []string{"netskope tenant {tenant}, endpoint {endpoint}: record 2 of the page: invalid JSON: invalid character 'h' looking for beginning of value at byte 379"}},
			{plugin: "ns", reason: "invalid", record: []byte(`42`), errHas: []string{"record 3 of the page: not a JSON object"}},
			{plugin: "ns", reason: "invalid", record: []byte(`"a string"`), errHas: []string{"record 4 of the page: not a JSON object"}},
			{plugin: "ns", reason: "invalid", record: []byte(`null`), errHas: []string{"record 5 of the page: not a JSON object"}}},
	}, {
		name: "ns-proxy-error.html: twice, then the page", endpoint: "device",
		bad:  nsStep{body: readBadInput(t, "ns-proxy-error.html"), times: 2, then: recovered},
		lake: recoveredIDs,
		logs: []logWant{{"WARN", "request failed; retrying", []string{"the answer is not a data-export page (167 bytes): invalid JSON: the answer is not a JSON object at byte 0"}}},
		ops:  []string{"<epoch>", "next", "resend", "resend", "next"},
	}}

	tenant := &scriptedTenant{token: token, eps: map[string]*scriptedEndpoint{}}
	var alertTypes []string
	wantLake := map[string]bool{}
	var after []string
	for _, sc := range scenarios {
		b, bIDs := nsGoodPage("bi-"+sc.endpoint+"-before", 3)
		a, aIDs := nsGoodPage("bi-"+sc.endpoint+"-after", 3)
		for _, id := range append(append(append([]string(nil), bIDs...), aIDs...), sc.lake...) {
			if wantLake[id] {
				t.Fatalf("id %s expected twice", id)
			}
			wantLake[id] = true
		}
		after = append(after, aIDs...)
		tenant.eps["alerts/"+sc.endpoint] = &scriptedEndpoint{steps: []nsStep{{body: b}, sc.bad, {body: a}}, served: map[int]int{}}
		alertTypes = append(alertTypes, sc.endpoint)
	}
	srv := httptest.NewServer(tenant)
	defer srv.Close()
	tenantHost := strings.TrimPrefix(srv.URL, "http://")

	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a := c.AWS.Accounts[0]

	dir := t.TempDir()
	admin := freeAddr(t)
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
shutdown_timeout: 20s
admin: {listen: "%s"}
log: {level: info, format: json}
plugins:
  - name: ns
    type: netskope
    tenant: %s
    api_token: ${NS_BAD_TOKEN}
    event_types: []
    alert_types: [%s]
    start: -1h
    max_backoff: 1s
    page_timeout: 10s
  - name: lake
    type: aws_cloudtrail_lake
    channel_arn: %s
    access_key_id: %s
    secret_access_key: %s
    endpoint: %s
    proxy: none
    batch: {max_records: 100, max_wait: 20ms}
    retry: {initial_interval: 20ms, max_interval: 200ms}
siem_mappings:
  - {source: ns, destination: lake}
`, admin, srv.URL, strings.Join(alertTypes, ", "), cloudsim.DemoChannelARN, a.AccessKeyID, a.SecretAccessKey, sim.Endpoints["aws"]))

	wantDead := map[string]int{}
	for _, sc := range scenarios {
		for _, d := range sc.dead {
			wantDead[d.plugin]++
		}
	}
	inLake := func() map[string][]lake.StoredEvent {
		out := map[string][]lake.StoredEvent{}
		for _, e := range sim.Lake.Query(lake.Filter{}) {
			id := cloudtraillake.RecordIDOf(e.ID)
			out[id] = append(out[id], e)
		}
		return out
	}
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 60*time.Second, "every page after a bad one in the lake, and every dead letter", func() bool {
		got := inLake()
		for _, id := range after {
			if len(got[id]) == 0 {
				return false
			}
		}
		dl := readDeadLetters(t, filepath.Join(dir, "data"))
		for pl, n := range wantDead {
			if len(dl[pl]) < n {
				return false
			}
		}
		return true
	})
	metrics := scrapeMetrics(t, admin)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	stderr := p.stderr.String()
	if strings.Contains(stderr, token) || strings.Contains(stderr, a.SecretAccessKey) {
		t.Fatal("a secret was logged")
	}
	if strings.Contains(stderr, "panic") {
		t.Fatalf("the shipper panicked:\n%s", lastChars(stderr, 4000))
	}

	// The lake holds exactly the good records, once each.
	got := inLake()
	for id := range wantLake {
		if len(got[id]) != 1 {
			t.Errorf("%s is in the lake %d times, want once", id, len(got[id]))
		}
	}
	for id := range got {
		if !wantLake[id] {
			t.Errorf("%s is in the lake, and should not be", id)
		}
	}
	// Invalid UTF-8 reaches the lake as U+FFFD, in valid JSON, repaired by the source (counted
	// below, logged above).
	if evs := got["bi-utf8-02"]; len(evs) == 1 {
		var data struct {
			UserIdentity struct {
				PrincipalID string `json:"principalId"`
			} `json:"userIdentity"`
		}
		if err := json.Unmarshal(evs[0].EventData, &data); err != nil || data.UserIdentity.PrincipalID != "\uFFFD\uFFFDal\uFFFDice@example.com" {
			t.Errorf("bi-utf8-02: principalId %q (%v), want each invalid byte as U+FFFD", data.UserIdentity.PrincipalID, err)
		}
	}

	// The dead letters: exactly those expected, in order per plugin, with their reasons.
	dl := readDeadLetters(t, filepath.Join(dir, "data"))
	var deadN int
	for _, sc := range scenarios {
		ep := "alerts/" + sc.endpoint
		subst := strings.NewReplacer("{tenant}", tenantHost, "{endpoint}", ep)
		for _, w := range sc.dead {
			deadN++
			// Entries of one plugin come in the order of the scenarios' pages only per
			// endpoint: find this one by its id, or by its bytes.
			want := w.record
			switch {
			case want != nil:
			case w.find != "":
				want = recordOf(t, sc.bad.body, w.find)
			default:
				want = recordOf(t, sc.bad.body, `"_id":"`+w.id+`"`)
			}
			var e *deadletter.Entry
			for i := range dl[w.plugin] {
				if bytes.Equal(entryRecord(t, dl[w.plugin][i]), want) {
					e = &dl[w.plugin][i]
					break
				}
			}
			if e == nil {
				t.Errorf("%s: no dead letter in %s holds %.120q", sc.name, w.plugin, want)
				continue
			}
			if e.Reason != w.reason || e.Code != w.code || e.ID != w.id || e.Source != "ns" {
				t.Errorf("%s: dead letter %s: reason %q code %q id %q source %q, want %q %q %q ns", sc.name, w.plugin, e.Reason, e.Code, e.ID, e.Source, w.reason, w.code, w.id)
			}
			for _, h := range w.errHas {
				if h = subst.Replace(h); !strings.Contains(e.Error, h) {
					t.Errorf("%s: dead letter error %q lacks %q", sc.name, e.Error, h)
				}
			}
		}
		for _, w := range sc.logs {
			found := false
			for _, l := range logLines(stderr, map[string]string{"plugin": "ns", "level": w.level, "msg": w.msg, "tenant": tenantHost, "endpoint": ep}) {
				msg, _ := l["error"].(string)
				ok := true
				for _, h := range w.errHas {
					ok = ok && strings.Contains(msg, subst.Replace(h))
				}
				found = found || ok
			}
			if !found {
				t.Errorf("%s: no %s log line %q with tenant %s, endpoint %s and an error holding %q", sc.name, w.level, w.msg, tenantHost, ep, w.errHas)
			}
		}
		if sc.ops != nil {
			ops := tenant.opsOf(ep)
			if len(ops) < len(sc.ops) {
				t.Errorf("%s: operations %v, want %v first", sc.name, ops, sc.ops)
				continue
			}
			ops = ops[:len(sc.ops)]
			if _, err := strconv.ParseInt(ops[0], 10, 64); err == nil {
				ops[0] = "<epoch>"
			}
			if !slices.Equal(ops, sc.ops) {
				t.Errorf("%s: operations %v, want %v first", sc.name, ops, sc.ops)
			}
		}
	}
	for pl, es := range dl {
		if len(es) != wantDead[pl] {
			for _, e := range es {
				t.Logf("dead letter %s: reason=%s code=%s id=%s error=%s", pl, e.Reason, e.Code, e.ID, e.Error)
			}
			t.Errorf("%s holds %d dead letters, want %d", pl, len(es), wantDead[pl])
		}
	}

	// Every drop is counted by reason, and the repaired record too.
	for series, want := range map[string]float64{
		`logshipper_records_dropped_total{plugin="ns",reason="invalid"}`:       float64(wantDead["ns"]),
		`logshipper_records_dropped_total{plugin="lake",reason="refused"}`:     float64(wantDead["lake"] - 1),
		`logshipper_records_dropped_total{plugin="lake",reason="too_large"}`:   1,
		`logshipper_records_sent_total{plugin="lake"}`:                         float64(len(wantLake)),
		`logshipper_records_repaired_total{plugin="ns",reason="invalid_utf8"}`: 1,
	} {
		if metrics[series] != want {
			t.Errorf("%s = %v, want %v (%v)", series, metrics[series], want, recordSeries(metrics))
		}
	}
	t.Logf("netskope → CloudTrail Lake, %d corpus pages each between two good pages on its own endpoint: %d records in the lake (each once), %d dead letters (%d by the source, %d by the destination), every error naming tenant and endpoint",
		len(scenarios), len(got), deadN, wantDead["ns"], wantDead["lake"])
}

// recordOf returns the element of a page's result array that holds needle, as its bytes. The
// elements are found by brackets and strings alone: the corpus pages hold invalid UTF-8 and
// nesting deeper than encoding/json reads.
func recordOf(t *testing.T, page []byte, needle string) []byte {
	t.Helper()
	i := bytes.Index(page, []byte(`"result":[`))
	if i < 0 {
		t.Fatal("no result array on the page")
	}
	i += len(`"result":[`)
	start, depth, inString := i, 0, false
	for ; i < len(page); i++ {
		switch c := page[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case (c == ',' || c == ']') && depth == 0:
			if el := page[start:i]; bytes.Contains(el, []byte(needle)) {
				return el
			}
			if c == ']' {
				t.Fatalf("no element holds %q", needle)
			}
			start = i + 1
		case c == '}' || c == ']':
			depth--
		}
	}
	t.Fatalf("the result array does not end")
	return nil
}

// ---- CloudTrail via CloudWatch Logs ----

// ctHugeMessage is the generated "huge" CloudTrail message: a record whose requestParameters
// hold a 2 MB policy document.
func ctHugeMessage() string {
	return `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEBADINPUT01","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"},"eventTime":"2026-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"PutUserPolicy","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","userAgent":"aws-cli/2.15.0","requestParameters":{"userName":"alice","policyName":"huge","policyDocument":"` +
		strings.Repeat("0123456789abcdef", 2<<20/16) + `"},"responseElements":null,"requestID":"REQ-huge","eventID":"bi-ct-huge","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012"}`
}

// ctDeepMessage is the generated "deeply nested" CloudTrail message: requestParameters nested
// depth levels deep.
func ctDeepMessage(id string, depth int) string {
	return `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEBADINPUT01","accountId":"123456789012","userName":"alice"},"eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","requestParameters":` +
		nested(depth) + `,"eventID":"` + id + `","eventType":"AwsApiCall","recipientAccountId":"123456789012"}`
}

// frameReceiver is a syslog receiver over TCP that keeps every frame.
type frameReceiver struct {
	ln net.Listener

	mu     sync.Mutex
	frames [][]byte
	torn   int
}

func startFrameReceiver(t *testing.T) *frameReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &frameReceiver{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 64<<10)
				for {
					f, err := readFrame(br)
					r.mu.Lock()
					if err != nil {
						if !errors.Is(err, io.EOF) {
							r.torn++
						}
						r.mu.Unlock()
						return
					}
					r.frames = append(r.frames, f)
					r.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return r
}

func (r *frameReceiver) view() ([][]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.frames...), r.torn
}

// ctWant is what the SIEM must receive for one CloudWatch Logs message of the corpus.
type ctWant struct {
	what string
	// cef: one entry per CEF message the record gives: "ct:<eventName>:<externalId>" for a
	// CloudTrail message (externalId the eventID, "" when the record has none), or
	// "generic:<parse_status>" for a record passed through as it came.
	cef []string
	// json: the JSON destination's parse_status ("ok" when it has none), or "dead:<reason>"
	// when it dead-letters the record; for a message the CloudWatch source splits into several
	// records (one per CloudTrail record it holds), that of each part, space-separated.
	json string
}

// parts is the number of records the CloudWatch source makes of the message.
func (w ctWant) parts() int { return len(strings.Fields(w.json)) }

// frameOf reads an RFC 5424 frame: its timestamp and its message (after the structured data).
func frameOf(t *testing.T, f []byte) (time.Time, string) {
	t.Helper()
	parts := strings.SplitN(string(f), " ", 7)
	if len(parts) < 7 {
		t.Fatalf("not an RFC 5424 message: %.200q", f)
	}
	ts, err := time.Parse("2006-01-02T15:04:05.000Z", parts[1])
	if err != nil {
		t.Fatalf("timestamp of %.200q: %v", f, err)
	}
	msg := parts[6]
	if strings.HasPrefix(msg, "[") {
		_, msg, _ = strings.Cut(msg, "] ")
	} else {
		msg = strings.TrimPrefix(msg, "- ")
	}
	return ts, msg
}

var (
	cefParseStatus  = regexp.MustCompile(` parse_status=(\S+)`)
	cefExternalID   = regexp.MustCompile(`(?:^|\|| )externalId=(\S+)`)
	jsonParseStatus = regexp.MustCompile(`^\{"source":"in",[^{]*"parse_status":"([a-z_]+)"`)
)

func TestE2EBadInputCloudTrailCloudWatchToSyslog(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	corpus := readBadInput(t, "cloudtrail-messages.txt")
	lines := strings.Split(strings.TrimSuffix(string(corpus), "\n"), "\n")
	msgs := append([]string(nil), lines...)
	msgs = append(msgs, ctHugeMessage(), ctDeepMessage("bi-ct-deep-9999", 9998), ctDeepMessage("bi-ct-deep-10000", 9999))
	nc := "generic:not_cloudtrail"
	wants := []ctWant{
		{"1: a good record", []string{"ct:GetObject:bi-ct-good-01"}, "ok"},
		{"2: malformed JSON (two commas)", []string{nc}, "not_cloudtrail"},
		{"3: truncated", []string{nc}, "not_cloudtrail"},
		{"4: invalid UTF-8 (CloudWatch Logs stores it as U+FFFD)", []string{"ct:GetObject:bi-ct-utf8"}, "ok"},
		{"5: a good record", []string{"ct:GetObject:bi-ct-good-05"}, "ok"},
		{"6: no eventName", []string{nc}, "not_cloudtrail"},
		{"7: no eventSource", []string{nc}, "not_cloudtrail"},
		{"8: no eventTime", []string{nc}, "not_cloudtrail"},
		{"9: no eventID", []string{"ct:GetObject:"}, "ok"},
		{"10: eventTime a number", []string{nc}, "not_cloudtrail"},
		{"11: requestParameters a string", []string{"ct:GetObject:bi-ct-params-string"}, "ok"},
		{"12: Records not an array", []string{nc}, "not_cloudtrail"},
		{"13: a VPC flow log, not CloudTrail", []string{nc}, "not_cloudtrail"},
		{"14: plain text", []string{nc}, "not_cloudtrail"},
		{"15: Records holding a good and a bad record (split by the source)", []string{"ct:GetObject:bi-ct-in-records-01", nc}, "ok not_cloudtrail"},
		{"16: JSON, not an object", []string{nc}, "not_cloudtrail"},
		{"17: an empty object", []string{nc}, "not_cloudtrail"},
		{"18: a good record", []string{"ct:GetObject:bi-ct-good-18"}, "ok"},
		{"generated: a 2 MB record", []string{"ct:PutUserPolicy:bi-ct-huge"}, "dead:too_large"},
		{"generated: nested 9,999 deep", []string{"generic:not_json"}, "not_json"},
		{"generated: nested 10,000 deep", []string{"generic:not_json"}, "not_json"},
	}
	if len(wants) != len(msgs) {
		t.Fatalf("%d expectations for %d messages: the corpus changed; update the table and the README", len(wants), len(msgs))
	}

	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a := c.AWS.Accounts[0]
	t.Setenv("CW_BAD_SECRET", a.SecretAccessKey)
	// Message n (from 1) has the timestamp base + n seconds; the syslog header carries it.
	base := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	events := make([]cwlogs.InputEvent, len(msgs))
	for i, m := range msgs {
		events[i] = cwlogs.InputEvent{Timestamp: base.Add(time.Duration(i+1) * time.Second).UnixMilli(), Message: m}
	}
	const group = "aws-cloudtrail-logs-badinput"
	if err := sim.Logs.Put(a.ID, "us-east-1", group, cwlogs.CloudTrailStream(a.ID, "us-east-1"), events); err != nil {
		t.Fatal(err)
	}

	cefRcv, jsonRcv := startFrameReceiver(t), startFrameReceiver(t)
	dir := t.TempDir()
	admin := freeAddr(t)
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
shutdown_timeout: 20s
log: {level: info, format: json}
admin: {listen: "%s"}
plugins:
  - name: in
    type: aws_cloudwatch_logs
    access_key_id: %s
    secret_access_key: ${CW_BAD_SECRET}
    endpoint: %s
    proxy: none
    regions: [us-east-1]
    log_group: %s
    start_position: -1h
    lag: 1s
    overlap: 5s
    poll_interval: 250ms
    max_backoff: 400ms
    eps_throttle: 0
  - name: siem-cef
    type: syslog
    address: %s
    protocol: tcp
    structured_data: true
    format: cef
    batch: {max_records: 50, max_wait: 20ms}
    retry: {initial_interval: 20ms, max_interval: 200ms}
  - name: siem-json
    type: syslog
    address: %s
    protocol: tcp
    format: json
    json_envelope: true
    batch: {max_records: 50, max_wait: 20ms}
    retry: {initial_interval: 20ms, max_interval: 200ms}
siem_mappings:
  - {source: in, destination: siem-cef}
  - {source: in, destination: siem-json}
`, admin, a.AccessKeyID, sim.Endpoints["aws"], group, cefRcv.ln.Addr(), jsonRcv.ln.Addr()))

	var wantCEF, wantJSON, wantDead, wantRecords int
	for _, w := range wants {
		wantCEF += len(w.cef)
		wantRecords += w.parts()
		for _, j := range strings.Fields(w.json) {
			if strings.HasPrefix(j, "dead:") {
				wantDead++
			} else {
				wantJSON++
			}
		}
	}
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 60*time.Second, "every message at both SIEMs, or dead-lettered", func() bool {
		cef, _ := cefRcv.view()
		js, _ := jsonRcv.view()
		return len(cef) >= wantCEF && len(js) >= wantJSON && len(readDeadLetters(t, filepath.Join(dir, "data"))["siem-json"]) >= wantDead
	})
	metrics := scrapeMetrics(t, admin)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	if stderr := p.stderr.String(); strings.Contains(stderr, a.SecretAccessKey) || strings.Contains(stderr, "panic") {
		t.Fatalf("a secret was logged, or the shipper panicked:\n%s", lastChars(stderr, 4000))
	}

	indexOf := func(ts time.Time) int {
		n := int(ts.Sub(base) / time.Second)
		if n < 1 || n > len(msgs) || !ts.Equal(base.Add(time.Duration(n)*time.Second)) {
			t.Fatalf("a message with the timestamp %s, which no corpus message has", ts)
		}
		return n - 1
	}
	// The CEF SIEM: every message, as CloudTrail or passed through with its parse status.
	cef, torn := cefRcv.view()
	gotCEF := make([][]string, len(msgs))
	for _, f := range cef {
		ts, msg := frameOf(t, f)
		i := indexOf(ts)
		var kind string
		switch {
		case strings.HasPrefix(msg, "CEF:0|AWS|CloudTrail|"):
			h := strings.Split(msg, "|")
			id := ""
			if m := cefExternalID.FindStringSubmatch(msg); m != nil {
				id = m[1]
			}
			kind = "ct:" + h[4] + ":" + id
		case strings.HasPrefix(msg, "CEF:0|logshipper|logshipper|"):
			m := cefParseStatus.FindStringSubmatch(msg)
			if m == nil {
				t.Fatalf("a generic message without parse_status: %.300q", msg)
			}
			kind = "generic:" + m[1]
			// The record itself travels in msg, whole.
			if !strings.Contains(msg, " msg=") {
				t.Errorf("%s: the generic message does not carry the record: %.300q", wants[i].what, msg)
			}
		default:
			t.Fatalf("an unexpected message: %.300q", msg)
		}
		gotCEF[i] = append(gotCEF[i], kind)
	}
	for i, w := range wants {
		if !slices.Equal(gotCEF[i], w.cef) {
			t.Errorf("%s: the CEF SIEM received %q, want %q", w.what, gotCEF[i], w.cef)
		}
	}
	// The JSON SIEM: every message but the dead-lettered ones, with parse_status.
	js, jsTorn := jsonRcv.view()
	gotJSON := make([][]string, len(msgs))
	for _, f := range js {
		ts, msg := frameOf(t, f)
		i := indexOf(ts)
		status := "ok"
		if m := jsonParseStatus.FindStringSubmatch(msg); m != nil {
			status = m[1]
		} else if !strings.HasPrefix(msg, `{"source":"in",`) {
			t.Fatalf("not a JSON envelope: %.300q", msg)
		}
		if len(gotJSON[i]) >= wants[i].parts() {
			t.Errorf("%s: received more often than it has records by the JSON SIEM", wants[i].what)
		}
		gotJSON[i] = append(gotJSON[i], status)
		if wants[i].parts() > 1 {
			continue // a part: one element of the message, checked by its status
		}
		// The record as read: the message itself when it is a JSON object, else the message
		// as a JSON string; CloudWatch Logs stores invalid UTF-8 as U+FFFD.
		stored := strings.ToValidUTF8(msgs[i], "\uFFFD")
		var quoted bytes.Buffer
		enc := json.NewEncoder(&quoted)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(stored)
		if !strings.Contains(msg, `"event":`+stored+`}`) && !strings.Contains(msg, `"event":{"message":`+strings.TrimSpace(quoted.String())+`}}`) {
			t.Errorf("%s: the JSON SIEM did not receive the message as it was: %.300q", wants[i].what, msg)
		}
	}
	dead := readDeadLetters(t, filepath.Join(dir, "data"))
	for _, e := range dead["siem-json"] {
		i := slices.Index(msgs, string(entryRecord(t, e)))
		if i < 0 {
			t.Errorf("a dead letter holds no corpus message: %s %s", e.Reason, e.Error)
			continue
		}
		gotJSON[i] = append(gotJSON[i], "dead:"+e.Code)
		if e.Source != "in" || e.Reason != "refused" || !strings.Contains(e.Error, "more than max_message_bytes (65536)") {
			t.Errorf("%s: dead letter source %q reason %q code %q error %q", wants[i].what, e.Source, e.Reason, e.Code, e.Error)
		}
	}
	for i, w := range wants {
		// The parts of a split message may arrive in any order (several batches in flight).
		got := slices.Clone(gotJSON[i])
		slices.Sort(got)
		want := strings.Fields(w.json)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the JSON SIEM got %q, want %q", w.what, gotJSON[i], w.json)
		}
	}
	if len(dead) != 1 || len(dead["siem-json"]) != wantDead || torn+jsTorn != 0 {
		t.Errorf("dead letters %d (want %d, all from siem-json), torn frames %d", len(dead["siem-json"]), wantDead, torn+jsTorn)
	}
	for series, want := range map[string]float64{
		`logshipper_records_received_total{plugin="in"}`:                        float64(wantRecords),
		`logshipper_records_sent_total{plugin="siem-cef"}`:                      float64(wantRecords),
		`logshipper_records_sent_total{plugin="siem-json"}`:                     float64(wantRecords - wantDead),
		`logshipper_records_dropped_total{plugin="siem-json",reason="refused"}`: float64(wantDead),
	} {
		if metrics[series] != want {
			t.Errorf("%s = %v, want %v (%v)", series, metrics[series], want, recordSeries(metrics))
		}
	}
	t.Logf("CloudTrail via CloudWatch Logs → syslog, %d messages (%d corpus lines, 3 generated): the CEF SIEM received %d messages, the JSON SIEM %d, %d dead-lettered (too large)",
		len(msgs), len(lines), len(cef), len(js), len(dead["siem-json"]))
}
