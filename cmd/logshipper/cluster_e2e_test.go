package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/cluster/clustertest"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
)

// Both journeys on three logshipper processes that share one configuration and a real 3-node
// NATS JetStream cluster: Netskope (several endpoints, one partition each) into CloudTrail
// Lake, and CloudTrail via CloudWatch Logs (several regions, one partition each) into a file
// per process. The members' node names, admin ports and data directories come from the
// environment (${NODE}, ${ADMIN}).

const clusterE2EConfig = `
data_dir: ./data-${NODE}
shutdown_timeout: 20s
admin: {listen: "${ADMIN}"}
log: {level: info, format: json}
cluster:
  urls: [%s]
  node: ${NODE}
  replicas: 3
  lease_ttl: 2s
  bucket: %s
plugins:
  - name: alerts
    type: netskope
    tenant: %s
    api_token: cloudsim-demo-token
    event_types: [%s]
    alert_types: [%s]
    start: -24h
    max_backoff: 1s
  - name: lake
    type: aws_cloudtrail_lake
    channel_arn: %s
    access_key_id: %s
    secret_access_key: %s
    endpoint: %s
    proxy: none
    retry: {initial_interval: 20ms, max_interval: 200ms}
  - name: ct
    type: aws_cloudwatch_logs
    access_key_id: %s
    secret_access_key: %s
    endpoint: %s
    proxy: none
    regions: [%s]
    log_group: %s
    start_position: -10m
    lag: 1s
    overlap: 5s
    poll_interval: 200ms
    max_backoff: 400ms
    eps_throttle: 0
  - name: siem
    type: file
    path: ./out-${NODE}.ndjson
    sync: false
    batch: {max_records: 200, max_wait: 10ms}
siem_mappings:
  - {source: alerts, destination: lake}
  - {source: ct, destination: siem}
`

var (
	ceEventTypes = []string{"audit", "network"}
	ceAlertTypes = []string{"dlp", "malware", "policy", "uba"}
	ceRegions    = []string{"us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"}
)

const ceGroup = "aws-cloudtrail-logs-123456789012"

// cePartitions is how many partitions the configuration has: one per Netskope endpoint, one
// per CloudWatch region.
var cePartitions = len(ceEventTypes) + len(ceAlertTypes) + len(ceRegions)

// ceWorld is one cluster end-to-end test's outside world: NATS, cloudsim, the members.
type ceWorld struct {
	t    *testing.T
	dir  string
	nats *clustertest.Cluster
	sim  *cloudsim.Sim
	mem  []*ceMember

	mu    sync.Mutex
	cwN   int
	cwIDs map[string]bool
	incs  []*ceIncarnation // every process started, for its last metrics
}

// ceMember is one member: its node name and admin address stay across restarts.
type ceMember struct {
	node, admin string
	inc         *ceIncarnation // the running process, nil when stopped
}

// ceIncarnation is one process of a member, with the drop counters last read from it.
type ceIncarnation struct {
	p     *proc
	node  string
	drops map[string]float64 // reason → count (summed over plugins)
}

func newCEWorld(t *testing.T) *ceWorld {
	t.Helper()
	w := &ceWorld{t: t, dir: t.TempDir(), cwIDs: map[string]bool{}}
	w.nats = clustertest.Start(t, 3)
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	var eps []string
	for _, e := range ceEventTypes {
		eps = append(eps, "events/"+e)
	}
	for _, a := range ceAlertTypes {
		eps = append(eps, "alerts/"+a)
	}
	c.Netskope.Generate = cloudsim.GenerateConfig{Backlog: 150, BacklogSpan: 2 * time.Hour, Endpoints: eps}
	c.Netskope.NewIndexFromHead = true
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	w.sim = sim
	a := c.AWS.Accounts[0]
	bucket := "e2e_" + strings.NewReplacer("/", "_", "-", "_").Replace(t.Name())
	writeFile(t, filepath.Join(w.dir, "c.yaml"), fmt.Sprintf(clusterE2EConfig,
		strings.Join(w.nats.URLs(), ", "), bucket,
		sim.Endpoints["netskope"], strings.Join(ceEventTypes, ", "), strings.Join(ceAlertTypes, ", "),
		cloudsim.DemoChannelARN, a.AccessKeyID, a.SecretAccessKey, sim.Endpoints["aws"],
		a.AccessKeyID, a.SecretAccessKey, sim.Endpoints["aws"], strings.Join(ceRegions, ", "), ceGroup))
	for i := range 3 {
		w.mem = append(w.mem, &ceMember{node: fmt.Sprintf("ls-%d", i+1), admin: freeAddr(t)})
	}
	return w
}

// start runs member i's process.
func (w *ceWorld) start(i int) {
	w.t.Helper()
	m := w.mem[i]
	cmd := exec.Command(os.Args[0], "run", "-c", "c.yaml")
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "LOGSHIPPER_TEST_MAIN=1", "NODE="+m.node, "ADMIN="+m.admin)
	errb := &lockedBuffer{}
	cmd.Stderr = errb
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: errb, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	w.t.Cleanup(func() { _ = cmd.Process.Kill() })
	inc := &ceIncarnation{p: p, node: m.node, drops: map[string]float64{}}
	w.mu.Lock()
	w.incs = append(w.incs, inc)
	w.mu.Unlock()
	m.inc = inc
}

// startAll starts the three members at the same moment, as a compose file or three systemd
// units do: they race to create the key-value buckets of the new cluster.
func (w *ceWorld) startAll() {
	w.t.Helper()
	for i := range w.mem {
		w.start(i)
	}
}

// signal sends sig to member i's process.
func (w *ceWorld) signal(i int, sig syscall.Signal) {
	w.t.Helper()
	if err := w.mem[i].inc.p.cmd.Process.Signal(sig); err != nil {
		w.t.Fatalf("%s: %v: %v", w.mem[i].node, sig, err)
	}
}

// kill ends member i with SIGKILL.
func (w *ceWorld) kill(i int) {
	w.t.Helper()
	w.signal(i, syscall.SIGKILL)
	w.mem[i].inc.p.wait(w.t, 10*time.Second)
	w.mem[i].inc = nil
}

// stop ends member i with SIGTERM and wants exit code 0.
func (w *ceWorld) stop(i int) {
	w.t.Helper()
	w.scrape()
	w.signal(i, syscall.SIGTERM)
	p := w.mem[i].inc.p
	if code := p.wait(w.t, 30*time.Second); code != 0 {
		w.t.Fatalf("%s: exit %d after SIGTERM:\n%s", w.mem[i].node, code, lastChars(p.stderr.String(), 4000))
	}
	w.mem[i].inc = nil
}

// readyz is member i's /readyz body (nil when it does not answer).
func (w *ceWorld) readyz(i int) map[string]any {
	m := w.mem[i]
	if m.inc == nil {
		return nil
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + m.admin + "/readyz")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body map[string]any
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		return nil
	}
	return body
}

// owned is how many partitions member i holds by its /readyz (-1: it does not answer or is
// not connected to the cluster).
func (w *ceWorld) owned(i int) int {
	b := w.readyz(i)
	if b == nil || b["cluster"] != "connected" {
		return -1
	}
	n, ok := b["partitions_owned"].(float64)
	if !ok {
		return -1
	}
	return int(n)
}

// spread is true when every member in want owns at least one partition and they own every
// partition together.
func (w *ceWorld) spread(want ...int) bool {
	total := 0
	for _, i := range want {
		n := w.owned(i)
		if n <= 0 {
			return false
		}
		total += n
	}
	return total == cePartitions
}

// waitSpread waits until spread(want...), showing each member's /readyz if it never is.
func (w *ceWorld) waitSpread(what string, timeout time.Duration, want ...int) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for !w.spread(want...) {
		if time.Now().After(deadline) {
			var b strings.Builder
			for i := range w.mem {
				fmt.Fprintf(&b, "%s /readyz: %v\n", w.mem[i].node, w.readyz(i))
			}
			w.t.Fatalf("timed out after %s waiting for %s (%d partitions):\n%s%s", timeout, what, cePartitions, &b, w.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape reads the drop counters of every running process.
func (w *ceWorld) scrape() {
	c := http.Client{Timeout: 3 * time.Second}
	for _, m := range w.mem {
		if m.inc == nil {
			continue
		}
		resp, err := c.Get("http://" + m.admin + "/metrics")
		if err != nil {
			continue
		}
		drops := map[string]float64{}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "logshipper_records_dropped_total{") {
				continue
			}
			labels, val, ok := strings.Cut(strings.TrimPrefix(line, "logshipper_records_dropped_total{"), "} ")
			if !ok {
				continue
			}
			_, reason, ok := strings.Cut(labels, `reason="`)
			if !ok {
				continue
			}
			reason, _, _ = strings.Cut(reason, `"`)
			v, err := strconv.ParseFloat(val, 64)
			if err == nil {
				drops[reason] += v
			}
		}
		resp.Body.Close()
		if sc.Err() == nil {
			w.mu.Lock()
			m.inc.drops = drops
			w.mu.Unlock()
		}
	}
}

// drops sums the last drop counters read from every process started.
func (w *ceWorld) drops() map[string]float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]float64{}
	for _, inc := range w.incs {
		for r, v := range inc.drops {
			out[r] += v
		}
	}
	return out
}

// addNetskope adds n records to every endpoint (UBA ones only when uba).
func (w *ceWorld) addNetskope(n int, uba bool) {
	w.t.Helper()
	for _, e := range ceEventTypes {
		if err := w.sim.Netskope.Generate(netskope.Events, e, n); err != nil {
			w.t.Fatal(err)
		}
	}
	for _, a := range ceAlertTypes {
		if a == "uba" && !uba {
			continue
		}
		if err := w.sim.Netskope.Generate(netskope.Alerts, a, n); err != nil {
			w.t.Fatal(err)
		}
	}
}

// addCloudWatch puts n CloudTrail records into every region's log group.
func (w *ceWorld) addCloudWatch(n int) {
	w.t.Helper()
	now := time.Now()
	for _, r := range ceRegions {
		evs := make([]cwlogs.InputEvent, n)
		w.mu.Lock()
		for i := range evs {
			w.cwN++
			id := fmt.Sprintf("cwe2e-%08d", w.cwN)
			w.cwIDs[id] = true
			ts := now.Add(-time.Duration(i%500) * time.Millisecond)
			evs[i] = cwlogs.InputEvent{Timestamp: ts.UnixMilli(), Message: fmt.Sprintf(
				`{"eventVersion":"1.08","eventID":%q,"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":%q,"recipientAccountId":"123456789012"}`,
				id, ts.UTC().Format(time.RFC3339), r)}
		}
		w.mu.Unlock()
		if err := w.sim.Logs.Put("123456789012", r, ceGroup, cwlogs.CloudTrailStream("123456789012", r), evs); err != nil {
			w.t.Fatal(err)
		}
	}
}

// lakeWant is every Netskope id the lake must hold (UBA alerts are not sent to it), and how
// many UBA alerts the tenant holds (each dropped as unsupported by the lake).
func (w *ceWorld) lakeWant() (want map[string]bool, uba int) {
	want = map[string]bool{}
	for _, e := range ceEventTypes {
		for _, r := range w.sim.Netskope.Records(netskope.Events, e) {
			want[r.ID] = true
		}
	}
	for _, a := range ceAlertTypes {
		for _, r := range w.sim.Netskope.Records(netskope.Alerts, a) {
			if a == "uba" {
				uba++
			} else {
				want[r.ID] = true
			}
		}
	}
	return want, uba
}

// stored counts each record id in the lake.
func (w *ceWorld) stored() map[string]int {
	got := map[string]int{}
	for _, e := range w.sim.Lake.Query(lake.Filter{}) {
		got[cloudtraillake.RecordIDOf(e.ID)]++
	}
	return got
}

// cwDelivered counts each CloudTrail eventID in every member's output file.
func (w *ceWorld) cwDelivered() map[string]int {
	w.t.Helper()
	out := map[string]int{}
	for _, m := range w.mem {
		b, err := os.ReadFile(filepath.Join(w.dir, "out-"+m.node+".ndjson"))
		if err != nil {
			continue
		}
		// A member is killed once at most: one write cut short per file.
		for _, line := range recordLines(w.t, b, 1) {
			var r struct {
				ID string `json:"eventID"`
			}
			if err := json.Unmarshal(line, &r); err != nil || r.ID == "" {
				w.t.Fatalf("%s's output holds a torn or foreign line %q: %v", m.node, line, err)
			}
			out[r.ID]++
		}
	}
	return out
}

// complete is true when the lake holds every Netskope id that must reach it, every CloudWatch
// record put was delivered, and the drops counted cover every UBA alert.
func (w *ceWorld) complete() bool {
	want, uba := w.lakeWant()
	got := w.stored()
	for id := range want {
		if got[id] == 0 {
			return false
		}
	}
	cw := w.cwDelivered()
	w.mu.Lock()
	for id := range w.cwIDs {
		if cw[id] == 0 {
			w.mu.Unlock()
			return false
		}
	}
	w.mu.Unlock()
	w.scrape()
	return w.drops()["unsupported_by_destination"] >= float64(uba)
}

// waitComplete waits until complete, showing what is missing if it never is.
func (w *ceWorld) waitComplete(phase string, timeout time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for !w.complete() {
		if time.Now().After(deadline) {
			want, uba := w.lakeWant()
			got := w.stored()
			missing := 0
			for id := range want {
				if got[id] == 0 {
					missing++
				}
			}
			cw := w.cwDelivered()
			cwMissing := 0
			w.mu.Lock()
			for id := range w.cwIDs {
				if cw[id] == 0 {
					cwMissing++
				}
			}
			w.mu.Unlock()
			w.t.Fatalf("%s: after %s: %d of %d Netskope records missing from the lake, %d of %d CloudWatch records not delivered, drops %v for %d UBA alerts\n%s",
				phase, timeout, missing, len(want), cwMissing, len(w.cwIDs), w.drops(), uba, w.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logs is the end of every running member's stderr, for a failure message.
func (w *ceWorld) logs() string {
	var b strings.Builder
	for _, m := range w.mem {
		if m.inc != nil {
			fmt.Fprintf(&b, "--- %s:\n%s\n", m.node, lastChars(m.inc.p.stderr.String(), 3000))
		}
	}
	return b.String()
}

// checkFinal asserts the end state: the lake holds each id once and none it should not, every
// CloudWatch record was delivered (duplicates are counted and returned), and every UBA alert
// was counted as dropped.
func (w *ceWorld) checkFinal() (cwDups int) {
	w.t.Helper()
	want, uba := w.lakeWant()
	got := w.stored()
	for id, n := range got {
		if !want[id] {
			w.t.Errorf("the lake holds %s, which it must not (a UBA alert or an unknown id)", id)
		} else if n != 1 {
			w.t.Errorf("%s stored %d times in the lake, want once", id, n)
		}
	}
	if len(got) != len(want) {
		w.t.Errorf("the lake holds %d ids, want %d", len(got), len(want))
	}
	cw := w.cwDelivered()
	for id := range w.cwIDs {
		switch n := cw[id]; {
		case n == 0:
			w.t.Errorf("CloudWatch record %s never delivered", id)
		case n > 1:
			cwDups += n - 1
		}
	}
	if len(cw) != len(w.cwIDs) {
		w.t.Errorf("the outputs hold %d CloudWatch ids, %d were put", len(cw), len(w.cwIDs))
	}
	d := w.drops()
	if d["unsupported_by_destination"] < float64(uba) {
		w.t.Errorf("%v UBA alerts counted as unsupported_by_destination, the tenant holds %d", d["unsupported_by_destination"], uba)
	}
	w.t.Logf("drops by reason (every process started, its last metrics): %v; UBA alerts in the tenant: %d", d, uba)
	if st := w.sim.Lake.Stats(); st.DuplicateConflicts != 0 {
		w.t.Errorf("%d re-sent ids carried different eventData: ids are not deterministic", st.DuplicateConflicts)
	}
	return cwDups
}

func TestE2EClusterKillRollingRestartAndNATSNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	w := newCEWorld(t)
	w.addCloudWatch(30)
	w.startAll()

	// Steady state: every member owns some partitions, everything arrives.
	w.waitSpread("the partitions spread over the three members", 30*time.Second, 0, 1, 2)
	w.waitComplete("steady state", 40*time.Second)
	t.Logf("steady state: partitions owned %d, %d, %d", w.owned(0), w.owned(1), w.owned(2))

	// SIGKILL one member with records flowing: the others take its partitions within about
	// the lease TTL, and the records added after the kill arrive too.
	w.addNetskope(40, false)
	w.addCloudWatch(30)
	w.scrape()
	w.mu.Lock()
	putBeforeKill := w.cwN
	w.mu.Unlock()
	killed := time.Now()
	w.kill(0)
	waitFor(t, 15*time.Second, "the killed member's partitions on the other two", func() bool { return w.spread(1, 2) })
	t.Logf("SIGKILL: its partitions owned by the other members %s after the kill (lease_ttl 2s)", time.Since(killed).Round(100*time.Millisecond))
	w.addNetskope(40, true)
	w.addCloudWatch(30)
	w.waitComplete("after a SIGKILL", 40*time.Second)

	// The killed member comes back and gets its share again.
	w.start(0)
	waitFor(t, 20*time.Second, "the restarted member to own partitions", func() bool { return w.spread(0, 1, 2) })

	// A rolling restart: each member stopped with SIGTERM (exit 0) and started again, one at a
	// time, records added before each stop.
	for i := range w.mem {
		w.addNetskope(20, true)
		w.addCloudWatch(20)
		w.stop(i)
		waitFor(t, 15*time.Second, "the stopped member's partitions on the others", func() bool {
			var others []int
			for j := range w.mem {
				if j != i {
					others = append(others, j)
				}
			}
			return w.spread(others...)
		})
		w.start(i)
		waitFor(t, 20*time.Second, "the restarted member to own partitions", func() bool { return w.spread(0, 1, 2) })
	}
	w.waitComplete("after a rolling restart", 40*time.Second)

	// One NATS node lost with records flowing.
	w.addNetskope(30, true)
	w.addCloudWatch(30)
	w.nats.Stop(1)
	w.addNetskope(30, true)
	w.addCloudWatch(30)
	w.waitComplete("with a NATS node down", 40*time.Second)
	if !w.spread(0, 1, 2) {
		t.Errorf("with a NATS node down the partitions are not spread over the three members: %d, %d, %d", w.owned(0), w.owned(1), w.owned(2))
	}

	for i := range w.mem {
		w.stop(i)
	}
	dups := w.checkFinal()
	// Only a kill leaves batches delivered and not acknowledged: a record delivered twice is
	// one that was put before the SIGKILL.
	for id, n := range w.cwDelivered() {
		if k, _ := strconv.Atoi(strings.TrimPrefix(id, "cwe2e-")); n > 1 && k > putBeforeKill {
			t.Errorf("CloudWatch record %s, put after the SIGKILL, delivered %d times (graceful handovers and a NATS node loss must not duplicate)", id, n)
		}
	}
	want, _ := w.lakeWant()
	t.Logf("%d Netskope records in the lake once each (%d re-sent ids deduplicated by the lake); %d CloudWatch records delivered, %d of them twice (the SIGKILL's batches in flight)",
		len(want), w.sim.Lake.Stats().Duplicates, len(w.cwIDs), dups)
}

// cwPutCount is how many CloudWatch records were put so far (their ids count up).
func (w *ceWorld) cwPutCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cwN
}

// cwDeliveredBy counts each CloudTrail eventID in member i's output file.
func (w *ceWorld) cwDeliveredBy(i int) map[string]int {
	w.t.Helper()
	out := map[string]int{}
	b, err := os.ReadFile(filepath.Join(w.dir, "out-"+w.mem[i].node+".ndjson"))
	if err != nil {
		return out
	}
	if k := bytes.LastIndexByte(b, '\n'); k < len(b)-1 {
		b = b[:k+1]
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var r struct {
			ID string `json:"eventID"`
		}
		if len(line) > 0 && json.Unmarshal(line, &r) == nil {
			out[r.ID]++
		}
	}
	return out
}

// A member frozen with SIGSTOP past its lease TTL while records flow loses its partitions to
// the other members; resumed with SIGCONT, it finds its leases gone and says so, and nothing it
// does afterwards overwrites the new owners' positions: the lake holds each record once, and
// no CloudWatch record put after the freeze is delivered twice by the same side (a stale
// checkpoint written over the new owner's would make the new owner, or the resumed member once
// it owns the partition again, read those records a second time).
func TestE2EClusterFrozenMemberIsFenced(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	w := newCEWorld(t)
	w.addCloudWatch(30)
	w.startAll()
	w.waitSpread("the partitions spread over the three members", 30*time.Second, 0, 1, 2)
	w.waitComplete("steady state", 40*time.Second)

	// Freeze the member that owns the most partitions, with records just added (some in
	// flight when it stops).
	frozen, most := 0, 0
	for i := range w.mem {
		if n := w.owned(i); n > most {
			frozen, most = i, n
		}
	}
	others := []int{(frozen + 1) % 3, (frozen + 2) % 3}
	w.addNetskope(30, true)
	w.addCloudWatch(30)
	w.scrape()
	putBeforeFreeze := w.cwPutCount()
	w.signal(frozen, syscall.SIGSTOP)
	stopped := time.Now()
	t.Logf("%s (owning %d of %d partitions) frozen with SIGSTOP", w.mem[frozen].node, most, cePartitions)

	// Records keep coming while it is frozen; the others take its partitions over and deliver
	// everything, for longer than twice the lease TTL.
	for time.Since(stopped) < 5*time.Second || !w.spread(others...) {
		if time.Since(stopped) > 20*time.Second {
			t.Fatalf("the frozen member's partitions did not move to the others: %d, %d\n%s", w.owned(others[0]), w.owned(others[1]), w.logs())
		}
		w.addNetskope(5, true)
		w.addCloudWatch(5)
		time.Sleep(250 * time.Millisecond) // the pace at which records reach the tenant and the log group
	}
	t.Logf("its partitions on %s and %s %s after the freeze", w.mem[others[0]].node, w.mem[others[1]].node, time.Since(stopped).Round(100*time.Millisecond))
	// The frozen member cannot be scraped: the drops check counts the others' and its last.
	w.waitComplete("with a member frozen", 40*time.Second)

	w.signal(frozen, syscall.SIGCONT)
	resumed := w.mem[frozen].inc.p
	waitFor(t, 20*time.Second, "the resumed member to log its lost partitions", func() bool {
		return strings.Contains(resumed.stderr.String(), "partition lost")
	})
	w.waitSpread("the resumed member to own partitions again", 30*time.Second, 0, 1, 2)
	w.addNetskope(30, true)
	w.addCloudWatch(30)
	w.waitComplete("after the resume", 40*time.Second)
	for i := range w.mem {
		w.stop(i)
	}
	dups := w.checkFinal()

	logs := resumed.stderr.String()
	fencedWrites := strings.Count(logs, "another process saved its")
	lostLeases := strings.Count(logs, "partition lost: its lease ended")
	if fencedWrites+lostLeases == 0 {
		t.Errorf("the resumed member logged no lost lease and no refused write")
	}
	// After the freeze, each side delivers a record at most once: the others while it was
	// frozen, the resumed member once it owns partitions again.
	byFrozen := w.cwDeliveredBy(frozen)
	byOthers := map[string]int{}
	for _, i := range others {
		for id, n := range w.cwDeliveredBy(i) {
			byOthers[id] += n
		}
	}
	late := 0
	for id := range w.cwIDs {
		k, _ := strconv.Atoi(strings.TrimPrefix(id, "cwe2e-"))
		if k <= putBeforeFreeze {
			continue
		}
		if byFrozen[id] > 1 || byOthers[id] > 1 {
			t.Errorf("CloudWatch record %s, put after the freeze, delivered %d times by the resumed member and %d times by the others: a stale position was used", id, byFrozen[id], byOthers[id])
		}
		if byFrozen[id] == 1 && byOthers[id] == 1 {
			late++
		}
	}
	t.Logf("resumed member: %d lost leases and %d refused position writes logged; %d CloudWatch records delivered twice in all (%d of them put after the freeze, delivered by the others and by the resumed member before it saw its leases gone)",
		lostLeases, fencedWrites, dups, late)
}
