package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// The names the embedded configuration gives the second journey's plugin configurations and
// its rule.
const (
	trailSource      = "cloudtrail"
	siemName         = "siem"
	trailArchiveName = "cloudtrail-archive"
	trailRuleName    = "not-read-only"
)

// mRetries counts the source's calls retried (throttled ones among them).
const mRetries = "logshipper_retries_total"

// only is the configuration restricted to the SIEM mappings that start from source: the
// engine then builds that source and the destinations it feeds, and nothing else.
func only(cfg *config.Config, source string) *config.Config {
	c := *cfg
	c.SIEMMappings = nil
	for _, r := range cfg.SIEMMappings {
		if r.Source == source {
			c.SIEMMappings = append(c.SIEMMappings, r)
		}
	}
	return &c
}

// cloudwatchJourney is the demo's second journey: CloudTrail via CloudWatch Logs to a SIEM.
type cloudwatchJourney struct {
	out      io.Writer
	show     func(string) string
	sim      *cloudsim.Sim
	rcv      *receiver
	cfg      *config.Config // the whole embedded configuration
	reg      *plugin.Registry
	log      *slog.Logger
	timeout  time.Duration
	archive  string
	received string
}

// run loads the CloudTrail records into CloudWatch Logs, runs the cloudtrail source and its
// routes until every record is accounted for and the SIEM received what was sent, and prints
// what happened.
func (j *cloudwatchJourney) run(ctx context.Context) error {
	w := j.out
	account := cloudsim.Default().AWS.Accounts[0].ID
	evs, err := replay(trailRecords, trailRegions, time.Now(), replaySpan)
	if err != nil {
		return err
	}
	held, err := loadTrail(j.sim.Logs, account, evs)
	if err != nil {
		return err
	}
	rule, ok := j.cfg.Rules.Get(trailRuleName)
	if !ok {
		return fmt.Errorf("demo: the embedded configuration has no rule %s", trailRuleName)
	}
	selected := 0
	for _, e := range evs {
		if ok, err := rule.Match(&event.Record{Raw: []byte(e.msg)}); err == nil && ok {
			selected++
		}
	}

	fmt.Fprintf(w, "\n\nthe second journey: CloudTrail via CloudWatch Logs → a SIEM over syslog (CEF)\n")
	fmt.Fprintf(w, "cloudsim, CloudWatch Logs  %s  log group %s of account %s:\n", j.sim.Endpoints["aws"], trailGroup, account)
	fmt.Fprintf(w, "  %d real CloudTrail records (Panther's rule tests) replayed: their eventTime moved into the last %s, in their order\n",
		len(evs), replaySpan)
	for _, r := range trailRegions {
		fmt.Fprintf(w, "  %-10s %4d records in stream %s\n", r, held[r], cwlogs.CloudTrailStream(account, r))
	}
	fmt.Fprintf(w, "  faults on: events visible %s after they are put plus up to %s more (late, out of order); %.0f%% of FilterLogEvents calls throttled besides the 5/s quota\n",
		ingestDelay, ingestJitter, logsThrottleRate*100)
	fmt.Fprintf(w, "the SIEM: a syslog receiver in-process on %s (TCP, octet counting), writing what it receives to %s\n",
		j.rcv.Addr(), j.show(j.received))

	want := float64(len(evs))
	p, err := runPass(ctx, only(j.cfg, trailSource), j.reg, j.log, j.timeout, func(c counts) bool {
		// Every record cloudsim holds went down both routes (the source read every region to
		// its end: it never finishes, so this is how the demo knows), and the SIEM received
		// every message the destination sent.
		return routesSettled(c, want, []string{siemName, trailArchiveName}) &&
			float64(j.rcv.Lines()) >= c[mSent][siemName]
	})
	if err != nil {
		return fmt.Errorf("demo: the CloudWatch Logs run: %w", err)
	}
	if err := j.rcv.Close(); err != nil {
		return fmt.Errorf("demo: syslog receiver: %w", err)
	}
	arrivals := map[string]arrival{}
	for _, r := range trailRegions {
		a, err := readBack(ctx, j.sim.Logs, account, r)
		if err != nil {
			return err
		}
		arrivals[r] = a
	}
	got, err := readReceived(j.received)
	if err != nil {
		return err
	}

	c := p.counts
	// What the source read: the engine counts it once.
	// (The records the overlapping windows read again are recognised by eventId and not
	// published again; the source counts them apart, not as drops.)
	read := c[mReceived][trailSource]
	fmt.Fprintf(w, "\nrun: %.0f records read (cloudsim holds %d) in %s from every region to the end, each once (what the overlapping windows read again is recognised by eventId)\n",
		read, len(evs), p.elapsed.Round(100*time.Millisecond))
	fmt.Fprintf(w, "  late and out of order: by region, when the records became visible and how many arrived before an earlier one\n")
	for _, r := range trailRegions {
		a := arrivals[r]
		fmt.Fprintf(w, "    %-10s %4d records, %s to %s after their time, %d out of order\n",
			r, a.events, a.minDelay.Round(100*time.Millisecond), a.maxDelay.Round(100*time.Millisecond), a.outOfOrder)
	}
	fmt.Fprintf(w, "  FilterLogEvents throttled or failed: %.0f calls, retried with backoff\n", c[mRetries][trailSource])
	line := fmt.Sprintf("  to the SIEM: %.0f sent + %.0f filtered by the rule %s", c[mSent][siemName], dropped(c, siemName, plugin.ReasonFiltered), trailRuleName)
	accounted := c[mSent][siemName] + dropped(c, siemName, plugin.ReasonFiltered)
	for _, k := range slices.Sorted(maps.Keys(c[mDropped])) {
		name, reason, _ := strings.Cut(k, "/")
		if name != siemName || reason == string(plugin.ReasonFiltered) || c[mDropped][k] == 0 {
			continue
		}
		line += fmt.Sprintf(" + %.0f %s", c[mDropped][k], reason)
		accounted += c[mDropped][k]
	}
	fmt.Fprintf(w, "%s = %.0f\n", line, accounted)
	fmt.Fprintf(w, "  to the archive: %.0f records in %s\n", c[mSent][trailArchiveName], j.show(j.archive))
	fmt.Fprintf(w, "  received by the SIEM: %d CEF messages (%d expected: the records the rule keeps) in %s\n",
		got.lines, selected, j.show(j.received))

	fmt.Fprintf(w, "\nwhat the SIEM received, by category (cat=):\n")
	writeColumns(w, got.categories)
	fmt.Fprintf(w, "gateway log-source identifiers (dvchost=, also the syslog HOSTNAME):\n")
	writeColumns(w, got.identifiers)
	if got.login != "" {
		fmt.Fprintf(w, "\na console login, as received:\n  %s\n", got.login)
	}
	if got.alarm != "" {
		fmt.Fprintf(w, "\n%s, as received:\n  %s\n", got.alarmKind, got.alarm)
	}
	fmt.Fprintf(w, "\nsee more: grep 'cat=' %s; the same journey as a service against go run ./cmd/cloudsim serve: examples/cloudwatch-to-syslog.yaml\n",
		j.show(j.received))
	if int(got.lines) != selected || float64(got.lines) != c[mSent][siemName] {
		return fmt.Errorf("demo: the SIEM received %d messages; %d records were selected and %.0f sent", got.lines, selected, c[mSent][siemName])
	}
	return nil
}

// received is what the SIEM's file holds.
type received struct {
	lines       int64
	categories  map[string]int64 // CEF cat= values; "(none)" for a message without one
	identifiers map[string]int64 // CEF dvchost= values
	login       string           // a ConsoleLogin message
	alarm       string           // an access-denied or logging-tampering message
	alarmKind   string
}

// tampering are the CloudTrail calls that stop or blind the trail itself.
var tampering = []string{"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "DeleteFlowLogs"}

// readReceived reads the receiver's file, one message a line.
func readReceived(name string) (received, error) {
	f, err := os.Open(name)
	if err != nil {
		return received{}, fmt.Errorf("demo: reading what the SIEM received: %w", err)
	}
	defer f.Close()
	r := received{categories: map[string]int64{}, identifiers: map[string]int64{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), maxFrame+1)
	for sc.Scan() {
		msg := sc.Text()
		r.lines++
		ext := cefExtension(msg)
		cat, ok := ext["cat"]
		if !ok {
			cat = "(none)"
		}
		r.categories[cat]++
		if id, ok := ext["dvchost"]; ok {
			r.identifiers[id]++
		}
		act := ext["act"]
		switch {
		case r.login == "" && act == "ConsoleLogin":
			r.login = msg
		case r.alarmKind != "logging tampering" && slices.Contains(tampering, act):
			r.alarm, r.alarmKind = msg, "logging tampering"
		case r.alarm == "" && isDenied(ext):
			r.alarm, r.alarmKind = msg, "access denied"
		}
	}
	if err := sc.Err(); err != nil {
		return received{}, fmt.Errorf("demo: reading what the SIEM received: %w", err)
	}
	return r, nil
}

// isDenied reports whether a CloudTrail CEF message carries an access-denied error code.
func isDenied(ext map[string]string) bool {
	for k, v := range ext {
		if strings.HasPrefix(k, "cs") && !strings.HasSuffix(k, "Label") && ext[k+"Label"] == "errorCode" &&
			(strings.Contains(v, "AccessDenied") || strings.Contains(v, "Unauthorized")) {
			return true
		}
	}
	return false
}

// cefExtension parses the extension of a CEF message (after the seventh unescaped '|' that
// follows "CEF:") into its keys and values, unescaping \= \\ \n \r. A message that is not CEF
// gives an empty map.
func cefExtension(msg string) map[string]string {
	i := strings.Index(msg, "CEF:")
	if i < 0 {
		return map[string]string{}
	}
	s := msg[i:]
	bars := 0
	for j := 0; j < len(s) && bars < 7; j++ {
		switch s[j] {
		case '\\':
			j++
		case '|':
			bars++
			if bars == 7 {
				s = s[j+1:]
			}
		}
	}
	out := map[string]string{}
	if bars < 7 {
		return out
	}
	// Keys are runs of [A-Za-z0-9_] followed by an unescaped '='; a value runs to the space
	// before the next key.
	type kv struct{ k, vStart, kStart int }
	var keys []kv
	for j := 0; j < len(s); j++ {
		if s[j] == '\\' {
			j++
			continue
		}
		if s[j] != '=' {
			continue
		}
		k := j
		for k > 0 && isKeyByte(s[k-1]) {
			k--
		}
		if k == j || (k > 0 && s[k-1] != ' ') {
			continue
		}
		keys = append(keys, kv{k: j, kStart: k, vStart: j + 1})
	}
	for n, e := range keys {
		end := len(s)
		if n+1 < len(keys) {
			end = keys[n+1].kStart - 1
		}
		if end < e.vStart {
			end = e.vStart
		}
		out[s[e.kStart:e.k]] = cefUnescape(s[e.vStart:end])
	}
	return out
}

func isKeyByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func cefUnescape(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
			switch v[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(v[i])
			}
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
