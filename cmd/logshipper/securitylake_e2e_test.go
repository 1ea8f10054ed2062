package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/ocsf"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/netskope"
	sims3 "github.com/logshipper/logshipper/internal/sim/s3"
)

// lakeReader reads the Parquet objects of a Security Lake bucket (cloudsim's S3) back with
// hyparquet, an independent reader (plugins/destinations/securitylake/testdata/read_parquet.mjs
// in --ocsf mode), each object once: objects never change.
type lakeReader struct {
	t       *testing.T
	s3      *sims3.Service
	bucket  string
	dir     string
	node    string
	modules string
	rows    map[string][]map[string]any // by key
}

func newLakeReader(t *testing.T, s3 *sims3.Service, bucket string) *lakeReader {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: run scripts/setup.sh (the Security Lake e2e reads its Parquet back with hyparquet)")
	}
	modules, err := filepath.Abs("../../tools/npm/node_modules")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "hyparquet", "package.json")); err != nil {
		t.Fatalf("hyparquet is not installed in %s: run scripts/setup.sh", modules)
	}
	return &lakeReader{t: t, s3: s3, bucket: bucket, dir: t.TempDir(), node: node, modules: modules, rows: map[string][]map[string]any{}}
}

// read reads the objects not read yet and returns every object's rows, by key.
func (l *lakeReader) read() map[string][]map[string]any {
	t := l.t
	t.Helper()
	keys, err := l.s3.Keys(l.bucket, "")
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string]string{}
	var files []string
	for _, k := range keys {
		if _, done := l.rows[k]; done {
			continue
		}
		o, err := l.s3.GetObject(l.bucket, k)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(l.dir, fmt.Sprintf("%d.parquet", len(l.rows)+len(files)))
		if err := os.WriteFile(f, o.Data, 0o600); err != nil {
			t.Fatal(err)
		}
		byFile[f] = k
		files = append(files, f)
	}
	if len(files) == 0 {
		return l.rows
	}
	cmd := exec.Command(l.node, append([]string{"../../plugins/destinations/securitylake/testdata/read_parquet.mjs", l.modules, "--ocsf"}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node read_parquet.mjs: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 256<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var f struct {
			File   string           `json:"file"`
			Codecs []string         `json:"codecs"`
			Rows   []map[string]any `json:"rows"`
		}
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("reading hyparquet's output: %v", err)
		}
		if len(f.Codecs) != 1 || f.Codecs[0] != "ZSTD" {
			t.Errorf("%s: compressed with %v, want ZSTD", byFile[f.File], f.Codecs)
		}
		l.rows[byFile[f.File]] = f.Rows
		os.Remove(f.File)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return l.rows
}

// waitForShipper waits for cond as waitFor does, and fails with the end of the shipper's
// standard error when it times out or the shipper exits.
func waitForShipper(t *testing.T, p *proc, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case err := <-p.done:
			t.Fatalf("the shipper exited (%v) while waiting for %s\nstderr:\n%s", err, what, lastChars(p.stderr.String(), 4000))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\nstderr:\n%s", what, lastChars(p.stderr.String(), 4000))
		}
	}
}

// lakeKeyRe is a key of the test's custom source: its partitions and the object's class.
var lakeKeyRe = regexp.MustCompile(`^ext/netskope/region=us-east-1/accountId=123456789012/eventDay=(\d{8})/[A-Za-z0-9.-]+-lake_(\d+)_\d+_\d+\.zstd\.parquet$`)

// peakRSS is a process's peak resident set (VmHWM), in KiB, or 0.
func peakRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// Journey: a Netskope tenant (cloudsim) → the netskope source → aws_security_lake → cloudsim's
// S3, as a user runs it (`logshipper run`), with S3 faults on (SlowDown, 500, 503, and
// CompleteMultipartUpload answered 200 with an <Error>) and the shipper killed with -9 three
// times. Every record the tenant generated is in the bucket (none lost; those stored twice
// counted, bounded by what was in flight at each kill); each object holds one OCSF class under
// ext/netskope/region=/accountId=/eventDay=/, and every row hyparquet reads back is a valid OCSF
// 1.1.0 record of its record.
func TestE2ENetskopeIntoSecurityLakeWithS3FaultsAndKills(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	began := time.Now()
	const token = "netskope-lake-e2e-token"
	t.Setenv("NS_LAKE_E2E_TOKEN", token)
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	c.Seed = 18
	c.Netskope.Tokens = []cloudsim.TokenConfig{{Value: token}}
	var genEndpoints []string
	for _, ep := range e2eNetskopeEndpoints {
		genEndpoints = append(genEndpoints, string(ep.kind)+"/"+ep.typ)
	}
	// No live generation: records are added between the runs, so that the test knows every
	// record the tenant ever generated.
	c.Netskope.Generate = cloudsim.GenerateConfig{Rate: 0, Backlog: 250, BacklogSpan: 3 * time.Hour, Endpoints: genEndpoints}
	c.Netskope.Faults = cloudsim.NetskopeFault{ServerErrorRate: 0.05, CutBodyRate: 0.05}
	// A request fails past the SDK's three attempts about one time in five.
	c.AWS.S3.Faults = cloudsim.S3Faults{SlowDownRate: 0.2, InternalErrorRate: 0.2, UnavailableRate: 0.2, CompleteErrorRate: 0.3}
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	tn := sim.Netskope
	a := c.AWS.Accounts[0]
	bucket := cloudsim.DemoLakeBucket
	lake := newLakeReader(t, sim.S3, bucket)

	const workers, maxRecords, queueSize = 4, 100, 1000
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
shutdown_timeout: 20s
log: {level: info, format: json}
plugins:
  - name: ns
    type: netskope
    tenant: %s
    api_token: ${NS_LAKE_E2E_TOKEN}
    event_types: [audit, page]
    alert_types: [dlp, ctep, malware, uba]
    start: -4h
    max_backoff: 1s
    page_timeout: 10s
  - name: lake
    type: aws_security_lake
    bucket: %s
    region: us-east-1
    source_name: netskope
    account_id: "123456789012"
    access_key_id: %s
    secret_access_key: %s
    endpoint: %s
    path_style: true
    proxy: {url: none}
    validate: all
    max_file_idle: 200ms
    workers: %d
    queue_size: %d
    batch: {max_records: %d, max_wait: 50ms}
    retry: {initial_interval: 20ms, max_interval: 200ms}
siem_mappings:
  - {source: ns, destination: lake}
`, sim.Endpoints["netskope"], bucket, a.AccessKeyID, a.SecretAccessKey, sim.Endpoints["aws"], workers, queueSize, maxRecords))

	generated := func() map[string]json.RawMessage {
		out := map[string]json.RawMessage{}
		for _, ep := range e2eNetskopeEndpoints {
			for _, r := range tn.Records(ep.kind, ep.typ) {
				out[r.ID] = r.Raw
			}
		}
		return out
	}
	stored := func() map[string]int {
		ids := map[string]int{}
		for _, rows := range lake.read() {
			for _, row := range rows {
				md, _ := row["metadata"].(map[string]any)
				id, _ := md["uid"].(string)
				ids[id]++
			}
		}
		return ids
	}
	objects := func() int {
		keys, err := sim.S3.Keys(bucket, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}

	// Three runs killed with -9 while objects are being stored; records arrive between them.
	const kills = 3
	var rss []int
	var stderrs strings.Builder
	for round := range kills {
		p := startShipper(t, dir, "run", "-c", "c.yaml")
		before := objects()
		waitForShipper(t, p, 30*time.Second, fmt.Sprintf("round %d: objects stored", round+1), func() bool { return objects() >= before+2 })
		rss = append(rss, peakRSS(p.cmd.Process.Pid))
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.wait(t, 10*time.Second)
		stderrs.WriteString(p.stderr.String())
		t.Logf("round %d: killed with -9 with %d objects stored (%s)", round+1, objects(), time.Since(began).Round(100*time.Millisecond))
		for _, ep := range e2eNetskopeEndpoints {
			if err := tn.Generate(ep.kind, ep.typ, 40); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The final run: stopped with SIGTERM once every record the tenant generated is stored.
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	want := generated()
	var got map[string]int
	deadline := time.Now().Add(60 * time.Second)
	for {
		got = stored()
		var missing []string
		for id := range want {
			if got[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			sort.Strings(missing)
			t.Fatalf("%d of %d records never reached the bucket (e.g. %.5v)\nstderr:\n%s", len(missing), len(want), missing, lastChars(p.stderr.String(), 4000))
		}
		time.Sleep(300 * time.Millisecond) // the poll of this condition loop: each poll lists and reads the bucket
	}
	rss = append(rss, peakRSS(p.cmd.Process.Pid))
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	stderrs.WriteString(p.stderr.String())
	if strings.Contains(stderrs.String(), a.SecretAccessKey) || strings.Contains(stderrs.String(), token) {
		t.Fatal("a run logged a secret")
	}
	// The S3 faults reached the destination past the SDK's own retries: objects failed, and
	// their records were written again.
	faults := 0
	for _, line := range logLines(stderrs.String(), map[string]string{"plugin": "lake"}) {
		if e, _ := line["error"].(string); strings.Contains(e, "SlowDown") || strings.Contains(e, "InternalError") || strings.Contains(e, "ServiceUnavailable") {
			faults++
		}
	}
	if faults == 0 {
		t.Error("no run logged an S3 fault: the faults were not injected")
	}

	// Every object: one class, under the source's partitions; every row a valid OCSF record of
	// a record the tenant generated, in the eventDay of its time.
	got = stored()
	rows, classes := 0, map[string]int{}
	for key, objRows := range lake.read() {
		m := lakeKeyRe.FindStringSubmatch(key)
		if m == nil {
			t.Fatalf("object %s is not under ext/netskope/region=us-east-1/accountId=123456789012/eventDay=YYYYMMDD/", key)
		}
		for _, row := range objRows {
			rows++
			b, err := json.Marshal(row)
			if err != nil {
				t.Fatal(err)
			}
			if err := ocsf.ValidateJSON(b); err != nil {
				t.Fatalf("%s: a row is not valid OCSF %s: %v\n%.1500s", key, ocsf.Version, err, b)
			}
			if class := fmt.Sprint(row["class_uid"]); class != m[2] {
				t.Fatalf("%s holds a row of class %s", key, class)
			}
			ms, err := strconv.ParseInt(fmt.Sprint(row["time"]), 10, 64)
			if err != nil || time.UnixMilli(ms).UTC().Format("20060102") != m[1] {
				t.Fatalf("%s holds a row of time %v", key, row["time"])
			}
			md, _ := row["metadata"].(map[string]any)
			if id, _ := md["uid"].(string); want[id] == nil {
				t.Fatalf("%s holds a row of no record the tenant generated: %v", key, md["uid"])
			}
			classes[m[2]]++
		}
	}
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct records stored, want the %d generated", len(got), len(want))
	}
	// A record is stored twice when its object was stored but the kill came before its
	// acknowledgement reached the source: at most what the engine held at each kill.
	if bound := kills * (queueSize + workers*maxRecords); dups > bound {
		t.Errorf("%d records stored twice, more than the %d the %d kills could have held in flight", dups, bound, kills)
	}
	st := sim.S3.Stats()
	t.Logf("netskope → aws_security_lake (cloudsim S3), %d kill -9 + SIGTERM, %s: %d records generated, all stored (%d rows in %d objects, %d stored twice); rows by class %v; "+
		"S3 calls %v, %d S3 failures logged; peak RSS of the runs %v KiB",
		kills, time.Since(began).Round(100*time.Millisecond), len(want), rows, len(lake.rows), dups, classes, st.Calls, faults, rss)
}

// examples/netskope-to-security-lake.yaml, run as its comment says against cloudsim started
// with examples/cloudsim.yaml (free ports, a smaller backlog): every record of the tenant is
// stored in the example's Security Lake bucket, each OCSF class under its custom source, and
// every row read back is valid OCSF.
func TestExampleNetskopeToSecurityLake(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c, err := cloudsim.Load("../../examples/cloudsim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	c.Netskope.Generate = cloudsim.GenerateConfig{Backlog: 25, BacklogSpan: 6 * time.Hour}
	c.AWS.S3.CloudTrail = nil
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a := c.AWS.Accounts[0]
	t.Setenv("NETSKOPE_TENANT", sim.Endpoints["netskope"])
	t.Setenv("AWS_ACCESS_KEY_ID", a.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", a.SecretAccessKey)
	t.Setenv("AWS_ENDPOINT_URL", sim.Endpoints["aws"])
	example, err := os.ReadFile("../../examples/netskope-to-security-lake.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Only the admin port changes, so that the test does not depend on 9872 being free.
	cfg := strings.Replace(string(example), `admin: {listen: "127.0.0.1:9872"}`, `admin: {listen: "`+freeAddr(t)+`"}`, 1)
	if cfg == string(example) {
		t.Fatal("the example's admin line changed: update this test")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "netskope-to-security-lake.yaml"), cfg)
	p := startShipper(t, dir, "run", "-c", "netskope-to-security-lake.yaml")

	want := map[string]bool{}
	for _, ep := range netskope.Endpoints() {
		for _, r := range sim.Netskope.Records(ep.Kind, ep.Type) {
			want[r.ID] = true
		}
	}
	if len(want) < 300 {
		t.Fatalf("the tenant holds %d records", len(want))
	}
	lake := newLakeReader(t, sim.S3, cloudsim.DemoLakeBucket)
	sources := map[string]string{"2004": "netskope-findings", "3002": "netskope-auth", "4001": "netskope-network", "5001": "netskope-devices", "6001": "netskope-web", "6003": "netskope-admin"}
	keyRe := regexp.MustCompile(`^ext/([a-z-]+)/region=us-east-1/accountId=123456789012/eventDay=\d{8}/[A-Za-z0-9.-]+-security-lake_(\d+)_\d+_\d+\.zstd\.parquet$`)
	got := map[string]bool{}
	deadline := time.Now().Add(90 * time.Second)
	for len(got) < len(want) {
		select {
		case err := <-p.done:
			t.Fatalf("the shipper exited (%v) with %d of %d records stored\nstderr:\n%s", err, len(got), len(want), lastChars(p.stderr.String(), 4000))
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d records stored after 90 s\nstderr:\n%s", len(got), len(want), lastChars(p.stderr.String(), 4000))
		}
		for key, rows := range lake.read() {
			m := keyRe.FindStringSubmatch(key)
			if m == nil || sources[m[2]] != m[1] {
				t.Fatalf("object %s is not under its class's custom source (%v)", key, sources)
			}
			for _, row := range rows {
				b, _ := json.Marshal(row)
				if err := ocsf.ValidateJSON(b); err != nil {
					t.Fatalf("%s: a row is not valid OCSF: %v\n%.1000s", key, err, b)
				}
				md, _ := row["metadata"].(map[string]any)
				id, _ := md["uid"].(string)
				got[id] = true
			}
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	t.Logf("the example stored the tenant's %d records in %d objects", len(want), len(lake.rows))
}

// Journey: CloudTrail records (a file source with record_kind cloudtrail) into Security Lake on
// cloudsim's S3, killed with -9 once: every record the mapping takes is stored as API Activity
// (6003) or Authentication (3002), each class under its custom source, under the region and
// account the record names, each row valid OCSF; the samples that are not CloudTrail records
// are refused by the file source into the dead letters with the reason.
func TestE2ECloudTrailFileIntoSecurityLake(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	c.AWS.S3.CloudTrail = nil
	c.AWS.S3.Faults = cloudsim.S3Faults{SlowDownRate: 0.05, InternalErrorRate: 0.05}
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a := c.AWS.Accounts[0]
	samples, err := os.ReadFile("../../internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	// Each sample gets an eventID of its own (some share one), so that every record is found
	// in the lake by its metadata.uid.
	wantClass, wantIDs := map[string]int{}, map[string]bool{}
	var refused, noID int
	var input bytes.Buffer
	idRe := regexp.MustCompile(`"eventID"\s*:\s*"[^"]*"`)
	for i, line := range bytes.Split(samples, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		id := fmt.Sprintf("e2e-lake-%04d", i)
		line = idRe.ReplaceAll(line, []byte(`"eventID":"`+id+`"`))
		input.Write(line)
		input.WriteByte('\n')
		ev, err := ocsf.FromRecord(&event.Record{Raw: line, Kind: event.KindCloudTrail})
		if err != nil {
			refused++
			continue
		}
		if !bytes.Contains(line, []byte(id)) {
			noID++ // stored, but not found by id: counted apart
			continue
		}
		wantIDs[id] = true
		wantClass[strconv.Itoa(ev.ClassUID())]++
	}
	mappable := len(wantIDs)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "in", "trail.ndjson"), input.String())
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
shutdown_timeout: 20s
log: {level: info, format: json}
plugins:
  - name: trail
    type: file
    paths: ["./in/*.ndjson"]
    record_kind: cloudtrail
    poll_interval: 20ms
    batch_size: 50
  - name: lake
    type: aws_security_lake
    bucket: %s
    region: us-east-1
    source_name: cloudtrail-api
    class_sources: {3002: cloudtrail-auth}
    account_id: "123456789012"
    access_key_id: %s
    secret_access_key: %s
    endpoint: %s
    path_style: true
    proxy: {url: none}
    validate: all
    max_file_idle: 200ms
    batch: {max_records: 50, max_wait: 20ms}
    retry: {initial_interval: 20ms, max_interval: 200ms}
siem_mappings:
  - {source: trail, destination: lake}
`, cloudsim.DemoLakeBucket, a.AccessKeyID, a.SecretAccessKey, sim.Endpoints["aws"]))
	lake := newLakeReader(t, sim.S3, cloudsim.DemoLakeBucket)
	keyRe := regexp.MustCompile(`^ext/(cloudtrail-api|cloudtrail-auth)/region=([a-z0-9-]+)/accountId=([A-Za-z0-9_.-]+)/eventDay=\d{8}/[A-Za-z0-9.-]+-lake_(\d+)_\d+_\d+\.zstd\.parquet$`)
	count := func() (classes map[string]int, ids map[string]bool, rows int) {
		classes, ids = map[string]int{}, map[string]bool{}
		for _, objRows := range lake.read() {
			for _, row := range objRows {
				md, _ := row["metadata"].(map[string]any)
				id, _ := md["uid"].(string)
				if !ids[id] && wantIDs[id] {
					classes[fmt.Sprint(row["class_uid"])]++
				}
				ids[id] = true
				rows++
			}
		}
		return classes, ids, rows
	}

	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitForShipper(t, p, 30*time.Second, "objects stored", func() bool {
		keys, _ := sim.S3.Keys(cloudsim.DemoLakeBucket, "")
		return len(keys) >= 2
	})
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 10*time.Second)
	p = startShipper(t, dir, "run", "-c", "c.yaml")
	dlq := filepath.Join(dir, "data", "deadletter", "trail.ndjson")
	deadLetters := func() int {
		b, _ := os.ReadFile(dlq)
		return bytes.Count(b, []byte("\n"))
	}
	classes := map[string]int{}
	waitForShipper(t, p, 60*time.Second, "every mappable record stored and the others dead-lettered", func() bool {
		var ids map[string]bool
		classes, ids, _ = count()
		for id := range wantIDs {
			if !ids[id] {
				return false
			}
		}
		return deadLetters() >= refused
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	for key, objRows := range lake.read() {
		m := keyRe.FindStringSubmatch(key)
		if m == nil {
			t.Fatalf("object %s is not under ext/cloudtrail-{api,auth}/region=/accountId=/eventDay=/", key)
		}
		if (m[4] == "3002") != (m[1] == "cloudtrail-auth") {
			t.Fatalf("object %s of class %s is under the wrong source", key, m[4])
		}
		for _, row := range objRows {
			b, _ := json.Marshal(row)
			if err := ocsf.ValidateJSON(b); err != nil {
				t.Fatalf("%s: a row is not valid OCSF: %v\n%.1000s", key, err, b)
			}
			cloud, _ := row["cloud"].(map[string]any)
			if r, _ := cloud["region"].(string); r != "" && r != m[2] {
				t.Fatalf("%s holds a row of region %s", key, r)
			}
			if fmt.Sprint(row["class_uid"]) != m[4] {
				t.Fatalf("%s holds a row of class %v", key, row["class_uid"])
			}
		}
	}
	for class, n := range wantClass {
		if classes[class] != n {
			t.Errorf("class %s: %d records stored, want %d", class, classes[class], n)
		}
	}
	// The records that are not CloudTrail's are refused by the file source (record_kind
	// cloudtrail) before the destination: each is in the dead letters with its reason, once
	// per run that read it (the kill came before the source saved its position past it).
	b, _ := os.ReadFile(dlq)
	refusedErrs := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var dl struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(line, &dl); err != nil || !strings.Contains(dl.Error, "not a CloudTrail record") {
			t.Fatalf("dead letter %.300s: want a record refused as not CloudTrail's", line)
		}
		refusedErrs[dl.Error] = true
	}
	if len(refusedErrs) != refused || deadLetters() > 2*refused {
		t.Errorf("%d distinct dead letters in %d lines, want the %d records the mapping refuses, at most once per run:\n%.2000s", len(refusedErrs), deadLetters(), refused, b)
	}
	_, _, rows := count()
	if want := mappable + noID; rows < want {
		t.Errorf("%d rows for %d records", rows, want)
	}
	t.Logf("%d CloudTrail records: %d stored, found by id as %v, and %d without an eventID; %d objects, %d rows (%d stored twice after the kill); %d refused into the dead letters",
		mappable+noID+refused, mappable+noID, wantClass, noID, len(lake.rows), rows, rows-mappable-noID, refused)
}
