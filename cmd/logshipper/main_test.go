package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/browsertest"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
)

// TestMain lets the test binary play logshipper itself: the end-to-end tests start it again
// with LOGSHIPPER_TEST_MAIN=1, so they run the real main, as a separate process, without a
// separate build. The tests run with the browser of the console's browser tests, which starts
// only when one of them opens a tab.
func TestMain(m *testing.M) {
	if os.Getenv("LOGSHIPPER_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(browsertest.Main(m))
}

// runCLI runs the root command in-process and returns its output and exit code.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newRootCmd(&out, &errb)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	var ec exitCode
	switch {
	case err == nil:
	case errors.As(err, &ec):
		code = int(ec)
	default:
		fmt.Fprintln(&errb, "logshipper:", err)
		code = 1
	}
	return out.String(), errb.String(), code
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeFile(t, good, `
data_dir: ./d
plugins:
  - {name: in, type: file, paths: ["x.ndjson"]}
  - {name: out, type: stdout}
  - {name: spare, type: stdout, batch: {max_records: 20, max_wait: 250ms}, retry: {max_interval: 2h}, workers: 3}
siem_mappings:
  - {source: in, destination: out}
`)
	out, errOut, code := runCLI(t, "", "validate", "-c", good)
	if code != 0 || !strings.Contains(out, "valid (3 plugin configurations, 0 business rules, 1 siem mappings)") {
		t.Fatalf("code %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(errOut, `warning: plugin "spare" (stdout) is in no siem_mapping`) {
		t.Errorf("warning missing: %s", errOut)
	}
	// Each destination's effective settings: stdout's own default workers (1), the file's
	// values, and nothing for the source.
	for _, want := range []string{
		"  out (stdout): batch: {max_records: 500, max_bytes: 4MiB, max_wait: 1s}, retry: {initial_interval: 1s, max_interval: 1m}, workers: 1, queue_size: 10000, spool_max_size: 1GiB\n",
		"  spare (stdout): batch: {max_records: 20, max_bytes: 4MiB, max_wait: 250ms}, retry: {initial_interval: 1s, max_interval: 2h}, workers: 3, queue_size: 10000, spool_max_size: 1GiB\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "  in (file)") {
		t.Errorf("validate shows delivery settings for a source:\n%s", out)
	}

	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, `
data_dir: ./d
plugins:
  - name: in
    type: file
    pathz: ["x"]
  - name: out
    type: stdout
    workers: 0
business_rules:
  - name: broken
    expr: 'severity =='
siem_mappings:
  - {source: in, destination: nowhere}
`)
	_, errOut, code = runCLI(t, "", "validate", "-c", bad)
	if code != 1 {
		t.Fatalf("code %d, want 1; stderr: %s", code, errOut)
	}
	if !strings.Contains(errOut, `line 6: plugins[0] (in): pathz: unknown key (did you mean "paths"?)`) {
		t.Errorf("the misspelt key is not reported with its line and path:\n%s", errOut)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, `
plugins:
  - name: in
    type: file
    paths: ["x"]
  - name: out
    type: stdout
    workers: 0
business_rules:
  - name: broken
    expr: 'severity =='
siem_mappings:
  - {source: in, destination: nowhere}
`)
	_, errOut, code := runCLI(t, "", "validate", "-c", bad)
	if code != 1 {
		t.Fatalf("code %d", code)
	}
	for _, want := range []string{
		"plugins[1] (out): workers: must be 1 to 64",
		"business_rules[0] (broken): expr:",
		`siem_mappings[0]: destination: no plugin configuration is named "nowhere"`,
		"3 problem(s)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in:\n%s", want, errOut)
		}
	}
}

func TestRulesTestCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, `
plugins:
  - {name: in, type: file, paths: ["x"]}
  - {name: out, type: stdout}
business_rules:
  - name: dlp
    expr: 'alert_type == "dlp" && transaction_id == 9223372036854775807'
siem_mappings:
  - {source: in, destination: out, rule: dlp}
`)
	input := `{"alert_type":"dlp","transaction_id":9223372036854775807}
{"alert_type":"dlp","transaction_id":9223372036854775806}

{"alert_type":"malware"}
`
	out, errOut, code := runCLI(t, input, "rules", "test", "-c", cfg, "--rule", "dlp", "--input", "-")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	want := []string{"stdin:1: match ", "stdin:2: no match", "stdin:4: no match"}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
	if !strings.Contains(errOut, "rule dlp: 1 of 3 records match") {
		t.Errorf("summary: %s", errOut)
	}
	out, _, _ = runCLI(t, input, "rules", "test", "-c", cfg, "--rule", "dlp", "--input", "-", "--matches-only")
	if strings.TrimSpace(out) != `{"alert_type":"dlp","transaction_id":9223372036854775807}` {
		t.Errorf("--matches-only printed %q", out)
	}
	_, errOut, code = runCLI(t, input, "rules", "test", "-c", cfg, "--rule", "nope", "--input", "-")
	if code == 0 || !strings.Contains(errOut, `no business rule is named "nope"`) {
		t.Errorf("unknown rule: code %d, %s", code, errOut)
	}
}

func TestVersionAndPlugins(t *testing.T) {
	out, _, code := runCLI(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "logshipper ") {
		t.Fatalf("version: %d %q", code, out)
	}
	out, _, _ = runCLI(t, "", "plugins")
	for _, w := range []string{"source       file", "destination  file", "destination  stdout"} {
		if !strings.Contains(out, w) {
			t.Errorf("plugins output lacks %q:\n%s", w, out)
		}
	}
	out, _, _ = runCLI(t, "", "run", "--help")
	if !strings.Contains(out, "Examples:") && !strings.Contains(out, "Example") {
		t.Errorf("run --help has no example:\n%s", out)
	}
}

// ---- end to end, as real processes ----

type proc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan error
}

func startShipper(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LOGSHIPPER_TEST_MAIN=1")
	errb := &lockedBuffer{}
	cmd.Stderr = errb
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: errb, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return p
}

// lockedBuffer lets the test read stderr while the process writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("process did not exit within %v; stderr:\n%s", timeout, p.stderr.String())
		return -1
	}
}

const e2eConfig = `
data_dir: ./data
shutdown_timeout: %s
admin: {listen: "%s"}
log: {level: info, format: json}
plugins:
  - name: in
    type: file
    paths: ["./in/*.ndjson"]
    poll_interval: 20ms
    batch_size: 250
  - name: out
    type: file
    path: %s
    batch: {max_records: 300, max_wait: 10ms}
siem_mappings:
  - {source: in, destination: out}
`

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// appendRecords appends records [from, to) to a file, as NDJSON.
func appendRecords(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	for i := from; i < to; i++ {
		fmt.Fprintf(w, `{"_id":"r%07d","alert_type":"dlp","transaction_id":%d,"user":"u%d@example.com"}`+"\n", i, 1234567890123456789+int64(i), i%97)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// delivered counts each id in the output file; it fails on any line that is not a whole record.
func delivered(t *testing.T, path string) map[string]int {
	t.Helper()
	return deliveredTorn(t, path, 0)
}

// deliveredTorn is delivered for a file written by processes killed with SIGKILL: up to
// maxTorn fragments of writes the kills cut short are allowed (see recordLines).
func deliveredTorn(t *testing.T, path string, maxTorn int) map[string]int {
	t.Helper()
	out := map[string]int{}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range recordLines(t, b, maxTorn) {
		var r struct {
			ID  string      `json:"_id"`
			TID json.Number `json:"transaction_id"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("torn or invalid line in output: %q: %v", line, err)
		}
		out[r.ID]++
	}
	return out
}

// recordLines returns the whole lines of an output file b. A last line without its newline is
// being written right now (the shipper may be running) and is left out. A write that SIGKILL
// cut short leaves a fragment that the next process ends with a newline (appendfile), a line of
// its own whose records the source sends again: up to maxTorn lines that are the start of a
// longer line of b are left out too; a line that does not decode is otherwise the caller's
// failure.
func recordLines(t *testing.T, b []byte, maxTorn int) [][]byte {
	t.Helper()
	if i := bytes.LastIndexByte(b, '\n'); i < len(b)-1 {
		b = b[:i+1]
	}
	all := bytes.Split(b, []byte("\n"))
	var out [][]byte
	torn := 0
	for _, line := range all {
		if len(line) == 0 {
			continue
		}
		if torn < maxTorn && !json.Valid(line) && slices.ContainsFunc(all, func(l []byte) bool {
			return len(l) > len(line) && bytes.HasPrefix(l, line)
		}) {
			torn++
			continue
		}
		out = append(out, line)
	}
	return out
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestE2EGracefulStopAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	out := filepath.Join(dir, "out", "records.ndjson")
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(e2eConfig, "30s", addr, out))
	in := filepath.Join(dir, "in", "a.ndjson")
	writeFile(t, in, "")
	appendRecords(t, in, 0, 5000)

	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 20*time.Second, "5000 records", func() bool { return len(delivered(t, out)) == 5000 })

	// The admin endpoints answer while it runs.
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  `"ready":true`,
		"/metrics": `logshipper_records_sent_total{plugin="out"} 5000`,
	} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body lacks %q:\n%.2000s", path, resp.StatusCode, want, body)
		}
	}

	// The profiler is off unless admin.pprof asks for it.
	if resp, err := http.Get("http://" + addr + "/debug/pprof/"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ without admin.pprof: %d, want 404", resp.StatusCode)
	}

	// A second process on the same data_dir is refused with a clear message.
	second := startShipper(t, dir, "run", "-c", "c.yaml")
	if code := second.wait(t, 10*time.Second); code != 1 {
		t.Fatalf("second process exit code %d, want 1", code)
	}
	if msg := second.stderr.String(); !strings.Contains(msg, "in use by another logshipper process") || !strings.Contains(msg, fmt.Sprintf("pid %d", p.cmd.Process.Pid)) {
		t.Fatalf("second process message unclear:\n%s", msg)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM %d, want 0; stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), `"plugin":"in"`) {
		t.Errorf("plugin log lines do not carry plugin=<name>")
	}

	appendRecords(t, in, 5000, 7000)
	p = startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 20*time.Second, "7000 records", func() bool { return len(delivered(t, out)) == 7000 })
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code after SIGINT %d", code)
	}
	for id, n := range delivered(t, out) {
		if n != 1 {
			t.Fatalf("%s delivered %d times after a graceful stop and restart", id, n)
		}
	}
}

func TestE2EKill9LosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out", "records.ndjson")
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(e2eConfig, "30s", "", out))
	in := filepath.Join(dir, "in", "a.ndjson")
	writeFile(t, in, "")

	const total, rounds = 40000, 6
	written := 0
	for round := range rounds {
		p := startShipper(t, dir, "run", "-c", "c.yaml")
		// Feed while it runs, then kill it at a moment that varies from round to round.
		step := total / rounds
		for k := 0; k < 4; k++ {
			appendRecords(t, in, written, written+step/4)
			written += step / 4
			time.Sleep(time.Duration(5+round*7) * time.Millisecond)
		}
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait(t, 10*time.Second)
	}
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	// Each kill may cut one write of the file destination short.
	waitFor(t, 30*time.Second, "every record", func() bool { return len(deliveredTorn(t, out, rounds)) == written })
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t, 20*time.Second)
	dups := 0
	for _, n := range deliveredTorn(t, out, rounds) {
		dups += n - 1
	}
	t.Logf("%d records, %d kill -9 restarts: none lost, %d delivered twice (at least once)", written, rounds, dups)
}

func TestE2ESecondSignalExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	// /dev/full takes the open and fails every write: deliveries retry for ever, so a graceful
	// stop waits for the (long) shutdown timeout, and only a second signal ends it.
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(e2eConfig, "1h", "", "/dev/full"))
	in := filepath.Join(dir, "in", "a.ndjson")
	writeFile(t, in, "")
	appendRecords(t, in, 0, 100)
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 10*time.Second, "a failed delivery", func() bool { return strings.Contains(p.stderr.String(), "delivery failed; will retry") })
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, 10*time.Second, "graceful stop to begin", func() bool { return strings.Contains(p.stderr.String(), "stopping gracefully") })
	time.Sleep(100 * time.Millisecond)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 5*time.Second); code != 130 {
		t.Fatalf("exit code %d after a second signal, want 130", code)
	}
	// Nothing was lost: with a working destination the records all arrive.
	out := filepath.Join(dir, "out.ndjson")
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(e2eConfig, "30s", "", out))
	p = startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 20*time.Second, "the 100 records", func() bool { return len(delivered(t, out)) == 100 })
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t, 20*time.Second)
}

// Every example and every plugin's sample configuration must stay valid.
func TestExamplesAreValid(t *testing.T) {
	all, _ := filepath.Glob("../../examples/*.yaml")
	var files []string
	for _, f := range all {
		if !strings.HasPrefix(filepath.Base(f), "cloudsim") { // cloudsim's own, checked by its tests
			files = append(files, f)
		}
	}
	samples, _ := filepath.Glob("../../plugins/*/*/sample.yaml")
	files = append(files, samples...)
	if len(files) < 2 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			out, errOut, code := runCLI(t, "", "validate", "-c", f)
			if code != 0 || !strings.Contains(out, "valid") {
				t.Fatalf("%s: code %d\n%s%s", f, code, out, errOut)
			}
		})
	}
}

// The demo runs the Netskope → CloudTrail Lake journey against an in-process cloudsim with
// faults on: the backlog arrives, the rule filters, UBA alerts are skipped, the lake holds
// every kept record once, and a second run pulls nothing again. Then CloudTrail via
// CloudWatch Logs → a SIEM: every record loaded is read and the SIEM receives, as CEF, every
// one the rule selects.
func TestDemoRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	out, errOut, code := runCLI(t, "", "demo", "--dir", dir, "--records", "2000", "--seed", "2")
	if code != 0 {
		t.Fatalf("code %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"first run: 2000 records pulled (the tenant holds 2000)",
		"to the archive: 2000 records",
		"0 are missing from the lake and 0 stored twice",
		"second run on the same data dir: 0 records pulled again",
		"0 new events in the lake",
		"what arrived in CloudTrail Lake",
		`"eventSource": "netskopealert.dlp"`,
		`"recipientAccountId": "123456789012"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	var sent, filtered, uba int
	if _, line, ok := strings.Cut(out, "  to the lake: "); !ok {
		t.Fatalf("no lake line:\n%s", out)
	} else if _, err := fmt.Sscanf(line, "%d sent + %d filtered by the rule lake-worthy + %d UBA alerts skipped", &sent, &filtered, &uba); err != nil {
		t.Fatalf("lake line %.120q: %v", line, err)
	}
	// 100 records per endpoint: the rule drops the page events and some policy alerts; the
	// uba endpoint's records are skipped.
	if sent < 1500 || filtered < 100 || uba < 90 {
		t.Errorf("sent %d, filtered %d, UBA skipped %d:\n%s", sent, filtered, uba, out)
	}
	var total int
	if _, line, ok := strings.Cut(out, "what arrived in CloudTrail Lake: "); !ok {
		t.Fatalf("no lake total:\n%s", out)
	} else if _, err := fmt.Sscan(line, &total); err != nil || total == 0 {
		t.Fatalf("nothing arrived in the lake (%v):\n%s", err, out)
	}
	// The lake's own record of what it stored agrees.
	b, err := os.ReadFile(filepath.Join(dir, "lake", "events.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != total {
		t.Errorf("the lake file holds %d events, the summary says %d", len(lines), total)
	}
	var ev lake.StoredEvent
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil || !strings.HasPrefix(ev.EventSource, "netskope") || ev.ChannelARN != cloudsim.DemoChannelARN {
		t.Errorf("stored event %+v (%v)", ev, err)
	}
	if cfg, _, _ := runCLI(t, "", "demo", "--print-config"); !strings.Contains(cfg, cloudsim.DemoChannelARN) || !strings.Contains(cfg, "type: netskope") ||
		!strings.Contains(cfg, "type: aws_cloudwatch_logs") || !strings.Contains(cfg, "type: syslog") {
		t.Errorf("--print-config:\n%s", cfg)
	}

	// The second journey: CloudTrail via CloudWatch Logs (late, out of order, throttled) to
	// the SIEM; every record loaded is read, the rule's selection is what the SIEM received.
	var read, held, sentSIEM, filteredSIEM, gotSIEM, selected int
	if _, line, ok := strings.Cut(out, "\nrun: "); !ok {
		t.Fatalf("no CloudWatch Logs run line:\n%s", out)
	} else if _, err := fmt.Sscanf(line, "%d records read (cloudsim holds %d)", &read, &held); err != nil {
		t.Fatalf("run line %.120q: %v", line, err)
	}
	if _, line, ok := strings.Cut(out, "  to the SIEM: "); !ok {
		t.Fatalf("no SIEM line:\n%s", out)
	} else if _, err := fmt.Sscanf(line, "%d sent + %d filtered by the rule not-read-only", &sentSIEM, &filteredSIEM); err != nil {
		t.Fatalf("SIEM line %.120q: %v", line, err)
	}
	if _, line, ok := strings.Cut(out, "  received by the SIEM: "); !ok {
		t.Fatalf("no received line:\n%s", out)
	} else if _, err := fmt.Sscanf(line, "%d CEF messages (%d expected", &gotSIEM, &selected); err != nil {
		t.Fatalf("received line %.120q: %v", line, err)
	}
	if held != 395 || read != held || gotSIEM == 0 || gotSIEM != selected || gotSIEM != sentSIEM || sentSIEM+filteredSIEM != read {
		t.Errorf("held %d, read %d, sent %d + filtered %d, received %d of %d selected:\n%s", held, read, sentSIEM, filteredSIEM, gotSIEM, selected, out)
	}
	received, err := os.ReadFile(filepath.Join(dir, "siem", "received.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(received), "\n"); n != gotSIEM {
		t.Errorf("the SIEM's file holds %d messages, the summary says %d", n, gotSIEM)
	}
	for _, want := range []string{
		"us-east-1", "us-west-2", "eu-west-1", "out of order",
		"what the SIEM received, by category (cat=):",
		"gateway log-source identifiers",
		"a console login, as received:\n  <",
		"|ConsoleLogin|",
		"CEF:0|AWS|CloudTrail|",
		" cat=",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if _, cats, ok := strings.Cut(out, "by category (cat=):\n"); !ok || !strings.HasPrefix(cats, "  ") {
		t.Errorf("no categories shown:\n%s", out)
	}
}

// A graceful stop while the source is blocked by backpressure (an EPS-limited destination, a
// small queue) must save the position of everything delivered during the drain: a restart
// then sends nothing twice.
func TestE2EGracefulStopUnderBackpressureSendsNothingTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
admin: {listen: ""}
plugins:
  - {name: in, type: file, paths: ["./in/*.ndjson"], poll_interval: 20ms, batch_size: 100}
  - {name: out, type: file, path: %s, eps: 4000, queue_size: 300, batch: {max_records: 100, max_wait: 10ms}}
siem_mappings:
  - {source: in, destination: out}
`, out))
	in := filepath.Join(dir, "in", "a.ndjson")
	writeFile(t, in, "")
	appendRecords(t, in, 0, 12000)
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 20*time.Second, "a first part delivered", func() bool { return len(delivered(t, out)) >= 3000 })
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.stderr.String())
	}
	p = startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 30*time.Second, "every record", func() bool { return len(delivered(t, out)) == 12000 })
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t, 20*time.Second)
	for id, n := range delivered(t, out) {
		if n != 1 {
			t.Fatalf("%s delivered %d times after a graceful stop under backpressure", id, n)
		}
	}
}

func TestValidateCheckAgainstCloudsim(t *testing.T) {
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a := c.AWS.Accounts[0]
	dir := t.TempDir()
	for _, tc := range []struct {
		name, secret, channel, want string
		code                        int
	}{
		{"ok", a.SecretAccessKey, cloudsim.DemoChannelARN, "check lake (aws_cloudtrail_lake): ok", 0},
		{"wrong secret", "wrong", cloudsim.DemoChannelARN, "credentials were refused", 1},
		{"unknown channel", a.SecretAccessKey, "arn:aws:cloudtrail:us-east-1:123456789012:channel/00000000-0000-0000-0000-000000000000", "no channel", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			writeFile(t, p, fmt.Sprintf(`
plugins:
  - {name: in, type: file, paths: ["x"]}
  - name: lake
    type: aws_cloudtrail_lake
    channel_arn: %s
    access_key_id: %s
    secret_access_key: %s
    endpoint: %s
    proxy: none
siem_mappings: [{source: in, destination: lake}]
`, tc.channel, a.AccessKeyID, tc.secret, sim.Endpoints["aws"]))
			out, errOut, code := runCLI(t, "", "validate", "-c", p, "--check")
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("code %d, want %d; output lacks %q:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
			if strings.Contains(out+errOut, tc.secret) && tc.secret != "wrong" {
				t.Fatal("the secret was printed")
			}
		})
	}
}

func TestMappingPreview(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	writeFile(t, cfg, `
plugins:
  - {name: in, type: file, paths: ["x"]}
  - name: lake
    type: aws_cloudtrail_lake
    channel_arn: arn:aws:cloudtrail:us-east-1:123456789012:channel/6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01
    access_key_id: AKIAEXAMPLEEXAMPLE01
    secret_access_key: not-used-by-preview
    proxy: none
siem_mappings: [{source: in, destination: lake}]
`)
	tests := []struct {
		name, input, kind, subtype string
		want                       []string
	}{
		{"dlp alert", `{"_id":"a1","alert_type":"DLP","timestamp":1795420800,"user":"alice@example.com","srcip":"10.1.2.3","alert_name":"Block","transaction_id":9007199254740993123}`,
			"netskope/alert", "dlp", []string{`stdin:1: {"id":"a1-`, `"eventSource":"netskopealert.dlp"`, `"eventTime":"2026-11-23T08:00:00Z"`, `9007199254740993123`}},
		{"uba alert", `{"_id":"u1","alert_type":"uba","timestamp":1795420800,"user":"bob@example.com"}`,
			"netskope/alert", "uba", []string{`stdin:1: not sent: skipped (unsupported_by_destination): CloudTrail Lake does not take UBA alerts`}},
		// An anomaly alert named by its own alert_type (no --subtype) is a UBA alert.
		{"anomaly alert", `{"_id":"u2","alert_type":"anomaly","timestamp":1795420800,"user":"bob@example.com"}`,
			"netskope/alert", "", []string{`stdin:1: not sent: skipped (unsupported_by_destination): CloudTrail Lake does not take UBA alerts`}},
		{"no kind", `{"_id":"a2","alert_type":"DLP","timestamp":1795420800,"user":"alice@example.com"}`,
			"", "", []string{`stdin:1: not sent: skipped (unsupported_by_destination)`, "no kind"}},
	}
	printed := ""
	for _, tc := range tests {
		out, errOut, code := runCLI(t, tc.input+"\n", "mapping", "preview", "-c", cfg, "--destination", "lake", "--input", "-", "--kind", tc.kind, "--subtype", tc.subtype)
		if code != 0 {
			t.Fatalf("%s: code %d: %s", tc.name, code, errOut)
		}
		for _, want := range tc.want {
			if !strings.Contains(out, want) {
				t.Errorf("%s: preview lacks %q:\n%s", tc.name, want, out)
			}
		}
		printed += out + errOut
	}
	if strings.Contains(printed, "not-used-by-preview") {
		t.Fatal("a secret was printed")
	}
}

// Journey 1: Netskope alerts from cloudsim's tenant into CloudTrail Lake (cloudsim), with
// per-event throttling and 5xx injected and the shipper killed with -9 twice: every alert but
// the UBA ones is in the lake exactly once (ids are deterministic and the lake deduplicates a
// re-sent id), none duplicated by content, UBA alerts never sent, and the ctep endpoint's c2
// alerts under ctep.
func TestE2EAlertsIntoCloudTrailLakeWithFaultsAndKills(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	c.Netskope.Generate = cloudsim.GenerateConfig{}
	c.AWS.Lake.Faults = cloudsim.LakeFaults{EventThrottleRate: 0.1, CallServerErrorRate: 0.05, CallThrottleRate: 0.05}
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a := c.AWS.Accounts[0]
	dir := t.TempDir()
	endpoints := []string{"dlp", "malware", "policy", "uba", "compromisedcredential", "malsite", "ctep"}
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
admin: {listen: ""}
plugins:
  - name: alerts
    type: netskope
    tenant: %s
    api_token: cloudsim-demo-token
    event_types: []
    alert_types: [%s]
    start: -2h
    max_backoff: 1s
  - name: lake
    type: aws_cloudtrail_lake
    channel_arn: %s
    access_key_id: %s
    secret_access_key: %s
    endpoint: %s
    proxy: none
    retry: {initial_interval: 20ms, max_interval: 200ms}
siem_mappings: [{source: alerts, destination: lake}]
`, sim.Endpoints["netskope"], strings.Join(endpoints, ", "), cloudsim.DemoChannelARN, a.AccessKeyID, a.SecretAccessKey, sim.Endpoints["aws"]))
	// alert_type per record: the ctep endpoint serves ctep and c2 alerts.
	types := []struct{ endpoint, alertType string }{
		{"dlp", "dlp"}, {"malware", "malware"}, {"policy", "policy"}, {"uba", "uba"},
		{"compromisedcredential", "compromisedcredential"}, {"malsite", "malsite"}, {"ctep", "ctep"}, {"ctep", "c2"},
	}
	want := map[string]bool{}
	byEndpoint := map[string]*bytes.Buffer{}
	const total = 4000
	start := time.Now().Add(-time.Hour).Unix()
	for i := range total {
		typ := types[i%len(types)]
		id := fmt.Sprintf("%024x", i+1)
		b := byEndpoint[typ.endpoint]
		if b == nil {
			b = &bytes.Buffer{}
			byEndpoint[typ.endpoint] = b
		}
		fmt.Fprintf(b, `{"_id":%q,"alert_type":%q,"timestamp":%d,"user":"u%d@example.com","srcip":"10.0.%d.%d","alert_name":"%s alert","transaction_id":%d}`+"\n",
			id, typ.alertType, start+int64(i/2), i%50, i%250, i%200, typ.alertType, 9_000_000_000_000_000_000+uint64(i))
		if typ.endpoint != "uba" {
			want[id] = true
		}
	}
	for ep, b := range byEndpoint {
		if _, err := sim.Netskope.LoadFile(netskope.Alerts, ep, b); err != nil {
			t.Fatal(err)
		}
	}

	for round := range 2 {
		p := startShipper(t, dir, "run", "-c", "c.yaml")
		time.Sleep(time.Duration(150+200*round) * time.Millisecond)
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait(t, 10*time.Second)
	}
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 60*time.Second, "every alert in the lake", func() bool { return int(sim.Lake.Stats().Total) >= len(want) })
	time.Sleep(300 * time.Millisecond) // let anything extra arrive before counting
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.stderr.String())
	}
	events := sim.Lake.Query(lake.Filter{})
	got := map[string]int{}
	for _, e := range events {
		got[cloudtraillake.RecordIDOf(e.ID)]++
		if strings.Contains(e.EventSource, "uba") {
			t.Fatalf("a UBA alert reached the lake: %s", e.ID)
		}
		if e.EventSource == "netskopealert.c2" {
			t.Fatalf("c2 alerts must be grouped under ctep")
		}
	}
	for id := range want {
		if got[id] != 1 {
			t.Fatalf("%s stored %d times, want once", id, got[id])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("lake holds %d ids, want %d", len(got), len(want))
	}
	st := sim.Lake.Stats()
	t.Logf("%d alerts (%d UBA refused), 2 kill -9 restarts, faults on: %d stored once each; %d re-sent ids deduplicated; per-event failures %v; call errors %v",
		total, total-len(want), len(got), st.Duplicates, st.Failed, st.CallErrors)
	if st.DuplicateConflicts != 0 {
		t.Fatalf("%d re-sent ids carried different eventData: ids are not deterministic", st.DuplicateConflicts)
	}
}
