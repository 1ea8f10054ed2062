package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
	"github.com/logshipper/logshipper/internal/state"
)

// The CloudTrail → CloudWatch Logs → aws_cloudwatch_logs → syslog (CEF over TCP) journey, with
// cloudsim in this process, the shipper as a real process, and a syslog receiver in this process.
//
// Why exactly once is impossible here across a kill -9, while at least once holds: the source
// saves its position (window, nextToken, seen eventIds) only after the destination acknowledged
// a batch, and a syslog destination acknowledges when its TCP write returned. A syslog receiver
// never answers, and it does not deduplicate. A process killed between "the bytes were written
// to the socket" and "the checkpoint covering them was committed" leaves a checkpoint from
// before those bytes: the next process reads those events again and sends them again. Nothing
// can close that gap on the sender's side alone: committing before the write would lose the
// batch when the kill comes between commit and write; only a receiver-side dedupe (by eventID,
// as CloudTrail Lake does) would make it exactly once. So the test asserts: nothing lost; no
// duplicate without a kill (the first run, and a graceful stop and restart); after each kill -9,
// duplicates only among the records the killed process sent past its last saved checkpoint
// (computed from the checkpoint it left in state.db), never more than those.

const (
	cwAccount  = "123456789012"
	cwGroup    = "aws-cloudtrail-logs-123456789012"
	cwPrefix   = cwAccount + "_CloudTrail_"
	cwLag      = 2 * time.Second
	cwOverlap  = 10 * time.Second
	cwDelay    = 300 * time.Millisecond
	cwJitter   = 2500 * time.Millisecond
	cwMaxSkew  = 4 * time.Second // a live record's timestamp is up to this long before its put
	cwFilter   = `{ ($.eventSource = "iam.amazonaws.com") || ($.errorCode = "AccessDenied") }`
	cwIdentPat = `aws-iam=.*"eventSource":"iam\.amazonaws\.com".*
      acct-$1="recipientAccountId":"(\d+)"`
)

// Regions: two in regions, one in other_regions.
var cwRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-2"}

// ctSample is one of the real CloudTrail records, with what the oracle needs.
type ctSample struct {
	fields     map[string]json.RawMessage
	source     string
	errorCode  string
	recipient  string
	hasRecipID bool
}

func loadCTSamples(t *testing.T) []ctSample {
	t.Helper()
	b, err := os.ReadFile("../../internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var out []ctSample
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var s ctSample
		if err := json.Unmarshal(line, &s.fields); err != nil {
			t.Fatalf("sample: %v", err)
		}
		str := func(k string) (string, bool) {
			raw, ok := s.fields[k]
			if !ok {
				return "", false
			}
			var v string
			if json.Unmarshal(raw, &v) != nil {
				return "", false
			}
			return v, true
		}
		s.source, _ = str("eventSource")
		s.errorCode, _ = str("errorCode")
		s.recipient, s.hasRecipID = str("recipientAccountId")
		out = append(out, s)
	}
	if len(out) < 300 {
		t.Fatalf("only %d CloudTrail samples", len(out))
	}
	return out
}

var allDigits = regexp.MustCompile(`^[0-9]+$`)

// matches is the filter pattern, computed in Go.
func (s *ctSample) matches() bool {
	return s.source == "iam.amazonaws.com" || s.errorCode == "AccessDenied"
}

// identifier is the gateway log-source identifier the patterns give, computed in Go; no
// pattern matching: the log stream name.
func (s *ctSample) identifier(region string, hasRecipID bool) string {
	switch {
	case s.source == "iam.amazonaws.com":
		return "aws-iam"
	case hasRecipID && allDigits.MatchString(s.recipient):
		return "acct-" + s.recipient
	}
	return cwlogs.CloudTrailStream(cwAccount, region)
}

// putRecord is one CloudTrail record put into the simulated CloudWatch Logs.
type putRecord struct {
	region   string
	ts       int64 // the CloudWatch timestamp (ms) = eventTime
	put      time.Time
	expected bool // matches the filter (and is in a CloudTrail stream)
	ident    string
	backlog  bool
	decoy    bool // in a stream the log_stream_prefix leaves out
}

// cwWorld generates records and puts them into the sim, and remembers them by eventID.
type cwWorld struct {
	logs    *cloudsim.LogsService
	samples []ctSample
	rnd     *rand.Rand

	mu   sync.Mutex
	recs map[string]*putRecord // CloudTrail eventID → record
	n    int
}

func (w *cwWorld) put(region, stream string, tss []int64, backlog, decoy bool) error {
	w.mu.Lock()
	events := make([]cwlogs.InputEvent, 0, len(tss))
	now := time.Now()
	for _, ts := range tss {
		s := &w.samples[w.rnd.IntN(len(w.samples))]
		w.n++
		id := fmt.Sprintf("%08x-e2e0-4%03x-8%03x-%012x", w.n, w.n%4096, w.rnd.IntN(4096), w.rnd.Uint64()&0xffffffffffff)
		f := make(map[string]json.RawMessage, len(s.fields))
		for k, v := range s.fields {
			f[k] = v
		}
		hasRecip := s.hasRecipID
		if w.n%8 == 0 {
			// Some records without recipientAccountId: no pattern matches them, and the
			// identifier is the log stream name.
			delete(f, "recipientAccountId")
			hasRecip = false
		}
		f["eventID"] = json.RawMessage(strconv.Quote(id))
		f["eventTime"] = json.RawMessage(strconv.Quote(time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05Z")))
		msg, err := json.Marshal(f)
		if err != nil {
			w.mu.Unlock()
			return err
		}
		events = append(events, cwlogs.InputEvent{Timestamp: ts, Message: string(msg)})
		w.recs[id] = &putRecord{region: region, ts: ts, put: now, expected: s.matches() && !decoy, ident: s.identifier(region, hasRecip), backlog: backlog, decoy: decoy}
	}
	w.mu.Unlock()
	return w.logs.Put(cwAccount, region, cwGroup, stream, events)
}

// putLive puts n records per region with timestamps up to cwMaxSkew before now.
func (w *cwWorld) putLive(n int) error {
	now := time.Now().UnixMilli()
	for _, r := range cwRegions {
		tss := make([]int64, n)
		for i := range tss {
			w.mu.Lock()
			tss[i] = now - w.rnd.Int64N(cwMaxSkew.Milliseconds())
			w.mu.Unlock()
		}
		if err := w.put(r, cwlogs.CloudTrailStream(cwAccount, r), tss, false, false); err != nil {
			return fmt.Errorf("put %s: %w", r, err)
		}
	}
	return nil
}

// putBurst puts n records per region with timestamps 1 to 3 s old and returns the eventIDs of
// the expected ones.
func (w *cwWorld) putBurst(n int) (map[string]bool, error) {
	before := w.snapshot()
	now := time.Now().UnixMilli()
	for _, r := range cwRegions {
		tss := make([]int64, n)
		w.mu.Lock()
		for i := range tss {
			tss[i] = now - 1000 - w.rnd.Int64N(2000)
		}
		w.mu.Unlock()
		if err := w.put(r, cwlogs.CloudTrailStream(cwAccount, r), tss, false, false); err != nil {
			return nil, fmt.Errorf("put %s: %w", r, err)
		}
	}
	out := map[string]bool{}
	for id, r := range w.snapshot() {
		if _, old := before[id]; !old && r.expected {
			out[id] = true
		}
	}
	return out, nil
}

func (w *cwWorld) snapshot() map[string]putRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]putRecord, len(w.recs))
	for id, r := range w.recs {
		out[id] = *r
	}
	return out
}

// ---- the syslog receiver ----

// sysMsg is one message the receiver got.
type sysMsg struct {
	ctID      string // CEF externalId: the CloudTrail eventID
	cwID      string // SD id: the CloudWatch eventId (the record's ID)
	host      string // RFC 5424 HOSTNAME
	dvchost   string // CEF dvchost
	logSource string // SD log_source
	epoch     int    // which shipper process sent it (by connection)
}

type sysReceiver struct {
	ln         net.Listener
	watch      map[string]bool // killOn's eventIDs
	watchAfter int
	watchHits  int
	watchFn    func()

	mu    sync.Mutex
	msgs  []sysMsg
	bad   []string
	torn  int
	open  int
	conns int
	epoch int
}

func startReceiver(t *testing.T) *sysReceiver {
	t.Helper()
	// A small receive buffer (set on the listener, so the window is small from the handshake)
	// keeps more of a batch in the sender's hands until the receiver reads it.
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10) })
		return errors.Join(err, serr)
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &sysReceiver{ln: ln}
	go r.accept()
	t.Cleanup(func() { ln.Close() })
	return r
}

func (r *sysReceiver) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.open++
		r.conns++
		epoch := r.epoch
		r.mu.Unlock()
		go r.serve(c, epoch)
	}
}

func (r *sysReceiver) serve(c net.Conn, epoch int) {
	defer func() {
		c.Close()
		r.mu.Lock()
		r.open--
		r.mu.Unlock()
	}()
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		frame, err := readFrame(br)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.mu.Lock()
				r.torn++ // a frame cut by the kill: never counted as delivered
				r.mu.Unlock()
			}
			return
		}
		m, perr := parseSyslogCEF(frame)
		r.mu.Lock()
		if perr != nil {
			r.bad = append(r.bad, fmt.Sprintf("%v: %.300q", perr, frame))
		} else {
			m.epoch = epoch
			r.msgs = append(r.msgs, m)
		}
		var fire func()
		if r.watch[m.ctID] {
			if r.watchHits++; r.watchHits > r.watchAfter {
				fire, r.watch, r.watchFn = r.watchFn, nil, nil
			}
		}
		r.mu.Unlock()
		if fire != nil {
			fire() // before reading on: the sender may be in the middle of its batch
		}
	}
}

// readFrame reads one RFC 6587 frame: octet-counted (LEN SP MSG) or newline-terminated. io.EOF
// only between frames; a frame cut short is io.ErrUnexpectedEOF.
func readFrame(br *bufio.Reader) ([]byte, error) {
	first, err := br.Peek(1)
	if err != nil {
		return nil, err
	}
	if first[0] >= '1' && first[0] <= '9' {
		lenStr, err := br.ReadString(' ')
		if err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
		if err != nil || n <= 0 || n > 1<<20 {
			return nil, fmt.Errorf("bad octet count %q", lenStr)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		return buf, nil
	}
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return bytes.TrimSuffix(line, []byte("\n")), nil
}

var (
	cefKeyRe  = regexp.MustCompile(`(?:^| )([A-Za-z0-9_]+)=`)
	sdParamRe = regexp.MustCompile(`([A-Za-z0-9_.-]+)="((?:[^"\\]|\\.)*)"`)
)

// parseSyslogCEF reads an RFC 5424 message with CEF in it: HOSTNAME, the structured data's id
// and log_source, and the CEF extension's externalId and dvchost.
func parseSyslogCEF(b []byte) (sysMsg, error) {
	var m sysMsg
	s := string(b)
	var fields [6]string
	for i := range fields {
		var ok bool
		fields[i], s, ok = strings.Cut(s, " ")
		if !ok {
			return m, fmt.Errorf("not an RFC 5424 message")
		}
	}
	if !strings.HasPrefix(fields[0], "<") || !strings.HasSuffix(fields[0], ">1") {
		return m, fmt.Errorf("not an RFC 5424 PRI VERSION: %q", fields[0])
	}
	m.host = fields[2]
	// Structured data: "-" or [elements], escapes \" \\ \].
	switch {
	case strings.HasPrefix(s, "- "):
		s = s[2:]
	case strings.HasPrefix(s, "["):
		end, esc := -1, false
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == ']' && (i+1 == len(s) || s[i+1] == ' '):
				end = i
			}
			if end >= 0 {
				break
			}
		}
		if end < 0 {
			return m, fmt.Errorf("unterminated structured data")
		}
		for _, p := range sdParamRe.FindAllStringSubmatch(s[:end+1], -1) {
			v := strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\]`, `]`).Replace(p[2])
			switch p[1] {
			case "id":
				m.cwID = v
			case "log_source":
				m.logSource = v
			}
		}
		s = strings.TrimPrefix(s[end+1:], " ")
	default:
		return m, fmt.Errorf("no structured data")
	}
	s = strings.TrimPrefix(s, "\ufeff")
	if !strings.HasPrefix(s, "CEF:") {
		return m, fmt.Errorf("not CEF")
	}
	pipes, esc := 0, false
	ext := -1
	for i := 0; i < len(s) && ext < 0; i++ {
		switch c := s[i]; {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '|':
			pipes++
			if pipes == 7 {
				ext = i + 1
			}
		}
	}
	if ext < 0 {
		return m, fmt.Errorf("CEF header has fewer than 7 fields")
	}
	s = s[ext:]
	idx := cefKeyRe.FindAllStringSubmatchIndex(s, -1)
	unesc := strings.NewReplacer(`\=`, `=`, `\\`, `\`, `\n`, "\n", `\r`, "\r")
	for i, x := range idx {
		end := len(s)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		v := unesc.Replace(s[x[1]:end])
		switch s[x[2]:x[3]] {
		case "externalId":
			m.ctID = v
		case "dvchost":
			m.dvchost = v
		}
	}
	if m.ctID == "" {
		return m, fmt.Errorf("no externalId")
	}
	return m, nil
}

// killOn calls fn from the connection's reader, before it reads on, once more than after of
// ids arrived.
func (r *sysReceiver) killOn(ids map[string]bool, after int, fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watch, r.watchAfter, r.watchHits, r.watchFn = ids, after, 0, fn
}

// view returns a copy of the messages so far, and the counters.
func (r *sysReceiver) view() (msgs []sysMsg, bad []string, torn int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sysMsg(nil), r.msgs...), append([]string(nil), r.bad...), r.torn
}

func (r *sysReceiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.msgs))
	for _, m := range r.msgs {
		out[m.ctID]++
	}
	return out
}

// drained reports that no connection is open (a killed process's were all read to their end).
func (r *sysReceiver) drained() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open == 0
}

func (r *sysReceiver) nextEpoch() {
	r.mu.Lock()
	r.epoch++
	r.mu.Unlock()
}

// ---- AWS traffic counter ----

// awsCounter is a reverse proxy in front of cloudsim's AWS listener that counts the
// FilterLogEvents calls and the errors the sim answered (ThrottlingException: the injected
// faults and the 5/s quota).
type awsCounter struct {
	calls, throttles, unavailable atomic.Int64
}

func startAWSCounter(t *testing.T, target string) (*awsCounter, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &awsCounter{}
	rp := httputil.NewSingleHostReverseProxy(u) // keeps the Host header, which SigV4 signed
	rp.ErrorLog = log.New(io.Discard, "", 0)    // a killed shipper cuts its calls short
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Header.Get("X-Amz-Target") == cwlogs.TargetPrefix+"FilterLogEvents" {
			c.calls.Add(1)
		}
		switch resp.Header.Get("X-Amzn-ErrorType") {
		case "ThrottlingException":
			c.throttles.Add(1)
		case "ServiceUnavailableException":
			c.unavailable.Add(1)
		}
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return c, "http://" + ln.Addr().String()
}

// ---- checkpoints ----

// cwCheckpoint is the source's saved position (plugins/sources/cloudwatch/partition.go).
type cwCheckpoint struct {
	Start int64            `json:"start"`
	From  int64            `json:"from"`
	To    int64            `json:"to"`
	Token string           `json:"token"`
	Done  bool             `json:"done"`
	Seen  map[string]int64 `json:"seen"`
}

// readCheckpoints reads the source's checkpoints by region from a stopped shipper's state.db.
func readCheckpoints(t *testing.T, dataDir string) map[string]*cwCheckpoint {
	t.Helper()
	db, err := state.Open(dataDir)
	if err != nil {
		t.Fatalf("open the killed shipper's state: %v", err)
	}
	defer db.Close()
	ns := db.Namespace("plugin/in")
	ctx := context.Background()
	keys, err := ns.Keys(ctx, "cw/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*cwCheckpoint{}
	for _, k := range keys {
		v, err := ns.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		var cp cwCheckpoint
		if err := json.Unmarshal(v, &cp); err != nil {
			t.Fatalf("checkpoint %s: %v", k, err)
		}
		parts := strings.Split(k, "/")
		if len(parts) < 2 {
			t.Fatalf("checkpoint key %q", k)
		}
		out[parts[1]] = &cp
	}
	return out
}

// inFlight returns the eventIDs delivered so far that the checkpoints do not cover: the next
// process reads them again (ts at or after where it resumes, eventId not in the seen set) and
// sends them again. Those are the only duplicates a kill may cause.
func inFlight(cps map[string]*cwCheckpoint, recs map[string]putRecord, delivered map[string]string) map[string]bool {
	out := map[string]bool{}
	for ctID, cwID := range delivered {
		r := recs[ctID]
		cp := cps[r.region]
		if cp == nil {
			out[ctID] = true // no checkpoint: the region starts again from start_position
			continue
		}
		from := cp.From
		if cp.Done {
			from = max(cp.To+1-cwOverlap.Milliseconds(), cp.Start)
		}
		if _, seen := cp.Seen[cwID]; r.ts >= from && !seen {
			out[ctID] = true
		}
	}
	return out
}

// waitDelivered waits until every expected record of recs arrived, else fails naming the
// missing ones.
func waitDelivered(t *testing.T, rcv *sysReceiver, recs map[string]putRecord, timeout time.Duration, what string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := rcv.counts()
		var missing []string
		want := 0
		for id, r := range recs {
			if r.expected {
				want++
				if got[id] == 0 {
					missing = append(missing, fmt.Sprintf("%s(%s ts=%s backlog=%v put=%s)", id, r.region,
						time.UnixMilli(r.ts).UTC().Format("15:04:05.000"), r.backlog, r.put.UTC().Format("15:04:05.000")))
				}
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sort.Strings(missing)
			_, bad, torn := rcv.view()
			t.Fatalf("%s: %d of %d expected records never arrived, e.g. %v (now %s; receiver: %d unreadable messages %.3q, %d torn frames)\nstderr:\n%s",
				what, len(missing), want, missing[:min(5, len(missing))], time.Now().UTC().Format("15:04:05.000"), len(bad), bad, torn, lastChars(p.stderr.String(), 6000))
		}
		select {
		case err := <-p.done:
			t.Fatalf("%s: the shipper exited (%v) with %d of %d expected records missing\nstderr:\n%s", what, err, len(missing), want, lastChars(p.stderr.String(), 6000))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestE2ECloudTrailCloudWatchToSyslogWithLateEventsThrottlingAndKills(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	began := time.Now()

	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	c.Seed = 11
	c.AWS.Logs = cloudsim.LogsConfig{
		IngestDelay:  cwDelay,
		IngestJitter: cwJitter,
		Faults:       cloudsim.LogsFaults{ThrottleRate: 0.08, UnavailableRate: 0.03, EmptyPageRate: 0.1, Ops: []string{"FilterLogEvents"}},
	}
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	counter, endpoint := startAWSCounter(t, sim.Endpoints["aws"])
	a := c.AWS.Accounts[0]
	if a.ID != cwAccount {
		t.Fatalf("the demo account is %s", a.ID)
	}
	t.Setenv("CW_E2E_SECRET", a.SecretAccessKey)

	rcv := startReceiver(t)
	w := &cwWorld{logs: sim.Logs, samples: loadCTSamples(t), rnd: rand.New(rand.NewPCG(7, 11)), recs: map[string]*putRecord{}}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
shutdown_timeout: 20s
log: {level: info, format: json}
admin: {listen: ""}
plugins:
  - name: in
    type: aws_cloudwatch_logs
    access_key_id: %s
    secret_access_key: ${CW_E2E_SECRET}
    endpoint: %s
    proxy: none
    regions: [%s, %s]
    other_regions: "%s"
    log_group: %s
    log_stream_prefix: %s
    filter_pattern: '%s'
    use_as_gateway_log_source: true
    log_source_identifier_pattern: |
      %s
    start_position: -10m
    lag: %s
    overlap: %s
    poll_interval: 250ms
    max_backoff: 400ms
    eps_throttle: 0
  - name: out
    type: syslog
    address: %s
    protocol: tcp
    header: rfc5424
    structured_data: true
    format: cef
    workers: 2
    batch: {max_records: 50, max_wait: 20ms}
    retry: {initial_interval: 20ms, max_interval: 200ms}
siem_mappings:
  - {source: in, destination: out}
`, a.AccessKeyID, endpoint, cwRegions[0], cwRegions[1], cwRegions[2], cwGroup, cwPrefix, cwFilter, cwIdentPat,
		cwLag, cwOverlap, rcv.ln.Addr()))

	// The backlog: records 1 to 8 minutes old, and decoys (matching records in a stream the
	// prefix leaves out). Visible only after the ingest delay and jitter: wait for them, since a
	// record older than lag + overlap is only caught by a window read after it is visible.
	now := time.Now().UnixMilli()
	for _, r := range cwRegions {
		tss := make([]int64, 700)
		for i := range tss {
			tss[i] = now - time.Minute.Milliseconds() - w.rnd.Int64N(7*time.Minute.Milliseconds())
		}
		if err := w.put(r, cwlogs.CloudTrailStream(cwAccount, r), tss, true, false); err != nil {
			t.Fatal(err)
		}
	}
	decoyTS := make([]int64, 150)
	for i := range decoyTS {
		decoyTS[i] = now - w.rnd.Int64N(5*time.Minute.Milliseconds())
	}
	if err := w.put(cwRegions[0], "decoy-trail", decoyTS, true, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(cwDelay + cwJitter + 100*time.Millisecond)

	// Live records, while the shipper runs and while it is down: timestamps up to cwMaxSkew in
	// the past, visible 0.3-2.8 s after the put, so late and out of order.
	stopFeed, fed := make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopFeed:
				fed <- nil
				return
			case <-tick.C:
				if err := w.putLive(6); err != nil {
					fed <- err
					return
				}
			}
		}
	}()
	feeding := true
	endFeed := func() {
		if feeding {
			close(stopFeed)
			if err := <-fed; err != nil {
				t.Fatal(err)
			}
			feeding = false
		}
	}
	defer endFeed()

	unique := func() int { return len(rcv.counts()) }
	dupCount := func(counts map[string]int) int {
		d := 0
		for _, n := range counts {
			d += n - 1
		}
		return d
	}

	// Run 1: no kill before this point, so no duplicate. Wait for the whole backlog and some
	// live records.
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitDelivered(t, rcv, w.snapshot(), 20*time.Second, "the backlog", p)
	base := unique()
	waitFor(t, 15*time.Second, "live records in run 1", func() bool { return unique() >= base+150 })
	if d := dupCount(rcv.counts()); d != 0 {
		t.Fatalf("run 1 (no kill yet) delivered %d duplicates", d)
	}
	run1Delivered := unique()

	// Two kills with -9, each at a different moment, each followed by a restart.
	var inflightTotal int
	inflightSets := map[string]bool{}
	var killedAt []int
	kill := func(round int) {
		_ = p.cmd.Process.Signal(syscall.SIGKILL) // the receiver may have sent it already
		p.wait(t, 10*time.Second)
		waitFor(t, 10*time.Second, "the killed shipper's connections to be read to their end", rcv.drained)
		msgs, _, _ := rcv.view()
		delivered := map[string]string{}
		for _, m := range msgs {
			delivered[m.ctID] = m.cwID
		}
		fl := inFlight(readCheckpoints(t, filepath.Join(dir, "data")), w.snapshot(), delivered)
		for id := range fl {
			inflightSets[id] = true
		}
		inflightTotal += len(fl)
		killedAt = append(killedAt, len(delivered))
		t.Logf("kill -9 #%d with %d records delivered; %d of them past the saved checkpoints (%s)", round, len(delivered), len(fl), time.Since(began).Round(100*time.Millisecond))
		rcv.nextEpoch()
		p = startShipper(t, dir, "run", "-c", "c.yaml")
	}
	// Each kill comes while a burst of records (a few seconds old, so in the next windows) is
	// being delivered: the receiver sends SIGKILL from its reader as soon as it got the first
	// (then the 61st) of them, before it reads on, so the shipper is likely to die between a
	// batch's write and the checkpoint that covers it (how often depends on scheduling: the
	// count is reported, and bounded whatever it is).
	burstThenKill := func(round, perRegion, after int) {
		ids, err := w.putBurst(perRegion)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) <= after {
			t.Fatalf("the burst has %d expected records", len(ids))
		}
		killed := make(chan struct{})
		proc := p.cmd.Process
		rcv.killOn(ids, after, func() {
			_ = proc.Signal(syscall.SIGKILL)
			close(killed)
		})
		select {
		case <-killed:
		case <-time.After(20 * time.Second):
			t.Fatalf("kill %d: the burst's records did not arrive", round)
		}
		kill(round)
	}
	burstThenKill(1, 1500, 0)
	base = unique()
	waitFor(t, 20*time.Second, "records in run 2", func() bool { return unique() >= base+120 })
	burstThenKill(2, 1500, 60)

	// Run 3: feed a little longer, then stop feeding and wait for every expected record.
	base = unique()
	waitFor(t, 20*time.Second, "records in run 3", func() bool { return unique() >= base+100 })
	endFeed()
	all := w.snapshot()
	waitDelivered(t, rcv, all, 30*time.Second, "every record put", p)
	// The windows still open cover the last puts: give the shipper one more lag + poll to send
	// anything that should not come, then stop it.
	time.Sleep(cwLag + 500*time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	if strings.Contains(p.stderr.String(), a.SecretAccessKey) {
		t.Fatal("the shipper logged the secret access key")
	}
	waitFor(t, 10*time.Second, "the stopped shipper's connections to close", rcv.drained)
	afterKills := rcv.counts()
	dupsAfterKills := dupCount(afterKills)

	// Run 4: a graceful stop saved every delivered position; a restart with a few more records
	// sends those once and nothing again.
	rcv.nextEpoch()
	p = startShipper(t, dir, "run", "-c", "c.yaml")
	if err := w.putLive(40); err != nil {
		t.Fatal(err)
	}
	all = w.snapshot()
	waitDelivered(t, rcv, all, 20*time.Second, "the records put after the graceful stop", p)
	time.Sleep(cwLag + 500*time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after the second SIGTERM:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	waitFor(t, 10*time.Second, "the stopped shipper's connections to close", rcv.drained)

	// ---- assertions ----
	msgs, bad, torn := rcv.view()
	if len(bad) > 0 {
		t.Fatalf("%d messages could not be read, e.g. %s", len(bad), bad[0])
	}
	counts := map[string]int{}
	byEpoch := map[int]int{}
	for _, m := range msgs {
		counts[m.ctID]++
		byEpoch[m.epoch]++
		r, ok := all[m.ctID]
		switch {
		case !ok:
			t.Fatalf("the receiver got eventID %q, which was never put", m.ctID)
		case r.decoy:
			t.Fatalf("%s from the stream the prefix leaves out arrived", m.ctID)
		case !r.expected:
			t.Fatalf("%s does not match the filter pattern, yet it arrived", m.ctID)
		}
		if m.host != r.ident || m.logSource != r.ident || (m.dvchost != "" && m.dvchost != r.ident) {
			t.Fatalf("%s (%s): HOSTNAME %q, SD log_source %q, dvchost %q; want %q", m.ctID, r.region, m.host, m.logSource, m.dvchost, r.ident)
		}
		if m.cwID == "" {
			t.Fatalf("%s: no record id in the structured data", m.ctID)
		}
	}
	var want, filteredOut, late, backlogN, decoys int
	putPerRegion, deliveredPerRegion := map[string]int{}, map[string]int{}
	idents := map[string]int{}
	for id, r := range all {
		putPerRegion[r.region]++
		switch {
		case r.decoy:
			decoys++
			continue
		case r.backlog:
			backlogN++
		case r.put.UnixMilli()-r.ts >= time.Second.Milliseconds():
			late++
		}
		if !r.expected {
			filteredOut++
			continue
		}
		want++
		if counts[id] == 0 {
			t.Fatalf("%s (%s) was lost", id, r.region)
		}
		deliveredPerRegion[r.region]++
		idents[identClass(r.ident)]++
	}
	for _, class := range []string{"aws-iam", "acct-", "stream"} {
		if idents[class] == 0 {
			t.Errorf("no delivered record has a %s identifier: the patterns are not all exercised (%v)", class, idents)
		}
	}
	if dupCount(counts) != dupsAfterKills {
		t.Fatalf("the graceful stop and restart (run 4) re-sent %d records", dupCount(counts)-dupsAfterKills)
	}
	dups := 0
	for id, n := range counts {
		if n > 1 {
			dups += n - 1
			if !inflightSets[id] {
				t.Fatalf("%s was delivered %d times, yet it was covered by the checkpoints at every kill", id, n)
			}
		}
	}
	if dups > inflightTotal {
		t.Fatalf("%d duplicates, more than the %d records past the checkpoints at the kills", dups, inflightTotal)
	}
	// Out of order: per region, messages whose eventTime is before one received earlier.
	outOfOrder := 0
	lastTS := map[string]int64{}
	for _, m := range msgs {
		r := all[m.ctID]
		if r.ts < lastTS[r.region] {
			outOfOrder++
		}
		lastTS[r.region] = max(lastTS[r.region], r.ts)
	}
	throttles := counter.throttles.Load()
	if throttles == 0 {
		t.Fatalf("no ThrottlingException was answered in %d FilterLogEvents calls", counter.calls.Load())
	}
	if run1Delivered == 0 || len(killedAt) != 2 {
		t.Fatalf("the kills did not happen mid-run: %v", killedAt)
	}

	t.Logf("CloudTrail → CloudWatch Logs → syslog CEF, %s: put per region %v (backlog 1-8 min old %d, live put ≥1 s after their timestamp %d, decoys in another stream %d); "+
		"filtered out %d, expected %d, delivered %d unique (%v), %d messages by process %v, %d arrived out of timestamp order; identifiers %v; "+
		"duplicates %d (0 in run 1 and across the graceful restart; at most %d records were past the checkpoints at the 2 kills, delivered counts at the kills %v); %d torn frames; "+
		"FilterLogEvents calls %d, throttled %d, unavailable %d; restarts 3 (2 after kill -9, 1 after SIGTERM)",
		time.Since(began).Round(100*time.Millisecond), putPerRegion, backlogN, late, decoys,
		filteredOut, want, len(counts), deliveredPerRegion, len(msgs), byEpoch, outOfOrder, idents,
		dups, inflightTotal, killedAt, torn,
		counter.calls.Load(), throttles, counter.unavailable.Load())
}

func identClass(id string) string {
	switch {
	case id == "aws-iam":
		return "aws-iam"
	case strings.HasPrefix(id, "acct-"):
		return "acct-"
	}
	return "stream"
}
