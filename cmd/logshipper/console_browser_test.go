package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	bt "github.com/logshipper/logshipper/internal/browsertest"
	"github.com/logshipper/logshipper/internal/mapping"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/internal/sim/netskope"
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
)

// consoleOnlyConfig is a configuration with a console and nothing to ship: the test builds
// the rest in the browser. %s is the bcrypt hash of the admin's password.
const consoleOnlyConfig = `
data_dir: ./data
admin: {listen: ""}
log: {level: info, format: json}
console:
  listen: 127.0.0.1:0
  users:
    - {name: ada, password_hash: %q, role: admin}
`

const (
	consoleUser     = "ada"
	consolePassword = "correct horse battery staple"
)

// The console's whole journey in a real browser, against `logshipper run` and cloudsim: an
// admin logs in to a shipper whose file has only a console section, creates a Netskope source
// and a CloudTrail Lake destination through the plugin forms, writes a business rule and
// tests it on sample records, adds the SIEM mapping that joins them, and sees the records
// arrive on the Overview. The destination is broken for one subtype (its mapping file has no
// eventName for malware alerts), so those records are refused and dead-lettered: the Logging
// page, filtered by the destination's name, shows it; the Dead letters page lists them. The
// admin fixes the destination in its form (back to the built-in mapping) and replays the dead
// letters from their page; the lake then holds every Netskope record once.
//
// With LOGSHIPPER_SCREENSHOTS=docs/console the pages are saved as the pictures of
// docs/console.md.
func TestConsoleInBrowserNetskopeToLakeJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	c.Netskope.Generate = cloudsim.GenerateConfig{}
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	account := c.AWS.Accounts[0]

	// The tenant's alerts: dlp ones, which the destination's mapping file maps, and malware
	// ones, which it cannot (no eventName).
	const perType = 8
	want := map[string]string{} // _id → alert type
	start := time.Now().Add(-time.Hour).Unix()
	for i, typ := range []struct{ endpoint, alertType string }{{"dlp", "DLP"}, {"malware", "Malware"}} {
		var b bytes.Buffer
		for j := range perType {
			id := fmt.Sprintf("%024x", i*1000+j+1)
			fmt.Fprintf(&b, `{"_id":%q,"alert_type":%q,"timestamp":%d,"user":"u%d@example.com","srcip":"10.0.%d.%d","alert_name":"%s alert","transaction_id":%d}`+"\n",
				id, typ.alertType, start+int64(j), j%7, i, j, typ.alertType, 9_000_000_000_000_000_000+uint64(i*1000+j))
			want[id] = typ.endpoint
		}
		if _, err := sim.Netskope.LoadFile(netskope.Alerts, typ.endpoint, &b); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	brokenMapping := filepath.Join(dir, "broken-mapping.json")
	writeBrokenLakeMapping(t, brokenMapping)
	h, err := bcrypt.GenerateFromPassword([]byte(consolePassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "c.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(consoleOnlyConfig, string(h)))
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	base := consoleURL(t, p)

	ctx := bt.New(t, bt.Timeout(90*time.Second))
	failed := func() {
		t.Helper()
		if t.Failed() {
			t.Fatalf("the shipper's last lines:\n%s", lastChars(p.stderr.String(), 4000))
		}
	}
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			failed()
		}
	}

	logIn := func(t *testing.T, ctx context.Context, screenshot bool) {
		t.Helper()
		openPage(t, ctx, base+"/")
		bt.WaitVisible(t, ctx, bt.TestID("login-submit"))
		if screenshot {
			bt.Screenshot(t, ctx, "login")
		}
		bt.Fill(t, ctx, bt.TestID("login-name"), consoleUser)
		bt.Fill(t, ctx, bt.TestID("login-password"), consolePassword)
		bt.Submit(t, ctx, bt.TestID("login-submit"))
		bt.WaitText(t, ctx, bt.TestID("current-user"), consoleUser+" (admin)")
		bt.WaitText(t, ctx, bt.CSS("h1"), "Overview")
	}
	step("log in", func(t *testing.T) { logIn(t, ctx, true) })

	step("create the Netskope source", func(t *testing.T) {
		newPlugin(t, ctx, base, "netskope/source")
		fill := func() {
			bt.Fill(t, ctx, bt.TestID("field-name"), "netskope-acme")
			bt.Fill(t, ctx, bt.TestID("field-tenant"), sim.Endpoints["netskope"])
			bt.Fill(t, ctx, bt.TestID("field-api_token"), "cloudsim-demo-token")
			bt.Fill(t, ctx, bt.TestID("field-event_types"), "audit")
			bt.Fill(t, ctx, bt.TestID("field-alert_types"), "dlp\nmalware")
			bt.Fill(t, ctx, bt.TestID("field-start"), "-2h")
			bt.Fill(t, ctx, bt.TestID("field-max_backoff"), "1s")
			bt.Fill(t, ctx, bt.TestID("field-proxy-url"), "none")
		}
		fill()
		// Validate runs in place: the page stays, with the token typed in it.
		bt.Click(t, ctx, bt.TestID("plugin-validate"))
		bt.WaitText(t, ctx, bt.TestID("form-message"), "Valid")
		bt.Screenshot(t, ctx, "plugin-form")
		submitOK(t, ctx, bt.TestID("plugin-save"))
		bt.WaitText(t, ctx, bt.TestID("flash"), "Saved.")
	})

	step("create the CloudTrail Lake destination", func(t *testing.T) {
		newPlugin(t, ctx, base, "aws_cloudtrail_lake/destination")
		bt.Fill(t, ctx, bt.TestID("field-name"), "lake")
		bt.Fill(t, ctx, bt.TestID("field-channel_arn"), cloudsim.DemoChannelARN)
		bt.Fill(t, ctx, bt.TestID("field-access_key_id"), account.AccessKeyID)
		bt.Fill(t, ctx, bt.TestID("field-secret_access_key"), account.SecretAccessKey)
		bt.Fill(t, ctx, bt.TestID("field-endpoint"), sim.Endpoints["aws"])
		bt.Fill(t, ctx, bt.TestID("field-proxy-url"), "none")
		bt.Fill(t, ctx, bt.TestID("field-mapping"), brokenMapping)
		bt.Fill(t, ctx, bt.TestID("field-batch-max_wait"), "100ms")
		submitOK(t, ctx, bt.TestID("plugin-save"))
		bt.WaitText(t, ctx, bt.TestID("flash"), "Saved.")

		openPage(t, ctx, base+"/plugins")
		bt.WaitVisible(t, ctx, bt.TestID("plugin-netskope-acme"))
		bt.WaitVisible(t, ctx, bt.TestID("plugin-lake"))
		bt.Screenshot(t, ctx, "plugins")
	})

	step("write and test a rule", func(t *testing.T) {
		openPage(t, ctx, base+"/rules")
		bt.Fill(t, ctx, bt.TestID("rule-name"), "dlp-and-malware")
		bt.Fill(t, ctx, bt.TestID("rule-description"), "DLP and malware alerts go to the lake")
		bt.Fill(t, ctx, bt.TestID("rule-expr"), `alert_type in ["DLP", "Malware"]`)
		bt.Fill(t, ctx, bt.TestID("rule-records"), strings.Join([]string{
			`{"_id":"s1","alert_type":"DLP","user":"alice@example.com"}`,
			`{"_id":"s2","alert_type":"uba","user":"bob@example.com"}`,
			`{"_id":"s3","alert_type":"Malware","user":"carol@example.com"}`,
		}, "\n"))
		submitOK(t, ctx, bt.TestID("rule-test"))
		got := bt.WaitText(t, ctx, bt.TestID("rule-test-results"), "no match")
		var results []string
		for _, line := range strings.Split(got, "\n")[1:] { // the header first
			cells := strings.Split(line, "\t")
			if len(cells) > 1 {
				results = append(results, strings.TrimSpace(cells[1]))
			}
		}
		if strings.Join(results, ",") != "match,no match,match" {
			t.Fatalf("the rule test shows %q, want match, no match, match:\n%s", results, got)
		}
		bt.Screenshot(t, ctx, "rules")
		submitOK(t, ctx, bt.TestID("rule-save"))
		bt.WaitText(t, ctx, bt.TestID("flash"), "Saved.")
		bt.WaitVisible(t, ctx, bt.TestID("rule-dlp-and-malware"))
	})

	// A second tab keeps the Overview open from before the mapping exists: the page's own
	// refresh shows the records arrive.
	watch := bt.New(t, bt.Timeout(90*time.Second))
	step("open the Overview in a second tab", func(t *testing.T) {
		logIn(t, watch, false)
		bt.WaitText(t, watch, bt.TestID("plugin-row-lake"), "not used by a SIEM mapping")
	})

	step("add the SIEM mapping", func(t *testing.T) {
		openPage(t, ctx, base+"/mappings")
		bt.Fill(t, ctx, bt.TestID("mapping-name"), "acme-to-lake")
		bt.Fill(t, ctx, bt.TestID("mapping-source"), "netskope-acme")
		bt.Fill(t, ctx, bt.TestID("mapping-rule"), "dlp-and-malware")
		bt.Click(t, ctx, bt.TestID("mapping-destination-lake"))
		submitOK(t, ctx, bt.TestID("mapping-save"))
		bt.WaitText(t, ctx, bt.TestID("flash"), "Saved.")
	})

	// The dlp alerts reach the lake; the malware ones are refused by the destination and
	// dead-lettered.
	inLake := func() map[string]int {
		got := map[string]int{}
		for _, e := range sim.Lake.Query(lake.Filter{}) {
			got[cloudtraillake.RecordIDOf(e.ID)]++
		}
		return got
	}
	waitFor(t, 30*time.Second, "the dlp alerts in the lake", func() bool { return len(inLake()) == perType })
	waitFor(t, 30*time.Second, "the malware alerts dead-lettered", func() bool { return deadLettered(t, dir, "lake") == perType })
	failed()

	step("see the records arrive on the Overview", func(t *testing.T) {
		bt.WaitText(t, watch, bt.TestID("sent-lake"), fmt.Sprint(perType))
		bt.WaitText(t, watch, bt.TestID("received-netskope-acme"), fmt.Sprint(2*perType))
		bt.WaitText(t, watch, bt.TestID("state-netskope-acme"), "running")
		bt.WaitText(t, watch, bt.TestID("plugin-row-lake"), "refused "+fmt.Sprint(perType))
		bt.WaitVisible(t, watch, bt.TestID("mapping-row-acme-to-lake"))
		bt.Screenshot(t, watch, "overview")
	})

	step("preview the mapping", func(t *testing.T) {
		openPage(t, ctx, base+"/mappings?edit=acme-to-lake")
		submitOK(t, ctx, bt.TestID("mapping-preview"))
		bt.WaitVisible(t, ctx, bt.TestID("mapping-preview-result"))
		bt.Screenshot(t, ctx, "mappings")
	})

	step("filter the log by the destination's name", func(t *testing.T) {
		openPage(t, ctx, base+"/logs")
		bt.Fill(t, ctx, bt.TestID("log-plugin"), "lake")
		bt.ClickToPage(t, ctx, bt.TestID("log-apply"))
		got := bt.WaitText(t, ctx, bt.TestID("log-lines"), "records dead-lettered")
		for _, line := range strings.Split(got, "\n")[1:] {
			if cells := strings.Split(line, "\t"); len(cells) < 3 || strings.TrimSpace(cells[2]) != "lake" {
				t.Errorf("the log filtered by lake shows a line of another configuration: %q", line)
			}
		}
		bt.Screenshot(t, ctx, "logs")
	})

	step("find the dead letters", func(t *testing.T) {
		openPage(t, ctx, base+"/deadletters")
		counts := bt.WaitText(t, ctx, bt.TestID("deadletter-counts"), "lake")
		if !strings.Contains(counts, "refused") || !strings.Contains(counts, fmt.Sprint(perType)) {
			t.Errorf("the dead-letter counts do not show %d refused records of lake:\n%s", perType, counts)
		}
		bt.Screenshot(t, ctx, "deadletters")
		bt.ClickToPage(t, ctx, bt.CSS(`[data-testid="deadletter-row"] a`))
		bt.WaitText(t, ctx, bt.TestID("deadletter"), "eventName")
		bt.WaitText(t, ctx, bt.TestID("deadletter-record"), `"alert_type":"Malware"`)
		bt.Screenshot(t, ctx, "deadletter")
	})

	step("fix the destination", func(t *testing.T) {
		openPage(t, ctx, base+"/plugins/edit/lake")
		bt.Fill(t, ctx, bt.TestID("field-mapping"), "")
		submitOK(t, ctx, bt.TestID("plugin-save"))
		bt.WaitText(t, ctx, bt.TestID("flash"), "Saved.")
	})

	step("replay the dead letters", func(t *testing.T) {
		openPage(t, ctx, base+"/deadletters?destination=lake")
		bt.Click(t, ctx, bt.TestID("dl-select-all"))
		submitOK(t, ctx, bt.TestID("dl-replay"))
		bt.WaitText(t, ctx, bt.TestID("flash"), fmt.Sprintf("Replayed %d of %d selected.", perType, perType))
		bt.WaitText(t, ctx, bt.TestID("deadletter-counts"), "No dead letter.")
	})

	waitFor(t, 30*time.Second, "every alert in the lake", func() bool { return len(inLake()) == len(want) })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, lastChars(p.stderr.String(), 4000))
	}
	got := inLake()
	for id, typ := range want {
		if got[id] != 1 {
			t.Errorf("%s alert %s stored %d times in the lake, want once", typ, id, got[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("the lake holds %d ids, want %d", len(got), len(want))
	}
	// What the forms saved is in the file: the two configurations, the rule, the mapping, and
	// the destination without the broken mapping file.
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"netskope-acme", "type: aws_cloudtrail_lake", "dlp-and-malware", "acme-to-lake", "console:"} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("the configuration file lacks %q:\n%s", s, b)
		}
	}
	if bytes.Contains(b, []byte(brokenMapping)) {
		t.Errorf("the configuration file still names the broken mapping file:\n%s", b)
	}
}

// openPage navigates to url and fails the test at once when the server answers with an error.
func openPage(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if code := bt.Navigate(t, ctx, url); code >= 400 {
		t.Fatalf("%s answers %d:\n%s", url, code, bt.Text(t, ctx, bt.CSS("main")))
	}
}

// submitOK clicks the button sel, which submits a form, waits for the page that answers, and
// fails the test at once when that page is an error page or shows the form's problems.
func submitOK(t *testing.T, ctx context.Context, sel bt.Selector) {
	t.Helper()
	bt.ClickToPage(t, ctx, sel)
	problem, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`[...document.querySelectorAll('[data-testid="page-error"], .problems')].map(e => e.innerText).join("\n")`))
	if err != nil {
		t.Fatalf("reading the page after clicking %s: %v", sel, err)
	}
	if problem != "" {
		t.Fatalf("clicking %s: %s answers:\n%s", sel, bt.URL(t, ctx), problem)
	}
}

// newPlugin opens the form of a new plugin configuration of typeKind ("netskope/source") from
// the Plugins page.
func newPlugin(t *testing.T, ctx context.Context, base, typeKind string) {
	t.Helper()
	openPage(t, ctx, base+"/plugins")
	bt.Fill(t, ctx, bt.TestID("new-plugin-type"), typeKind)
	submitOK(t, ctx, bt.TestID("new-plugin"))
	bt.WaitVisible(t, ctx, bt.TestID("plugin-form"))
}

// writeBrokenLakeMapping writes a CloudTrail Lake mapping file with the built-in mapping of dlp
// and malware alerts, less the malware alerts' eventName: the destination refuses those
// records (eventName is required) and they go to the dead-letter store.
func writeBrokenLakeMapping(t *testing.T, path string) {
	t.Helper()
	var file struct {
		JSONData string `json:"jsonData"`
	}
	if err := json.Unmarshal(mapping.DefaultCloudTrailFile(), &file); err != nil {
		t.Fatal(err)
	}
	var inner map[string]any
	if err := json.Unmarshal([]byte(file.JSONData), &inner); err != nil {
		t.Fatal(err)
	}
	taxonomy := inner["taxonomy"].(map[string]any)
	alerts := taxonomy["alerts"].(map[string]any)
	malware := alerts["malware"].(map[string]any)
	delete(malware["extension"].(map[string]any), "eventName")
	inner["taxonomy"] = map[string]any{"alerts": map[string]any{"dlp": alerts["dlp"], "malware": malware}}
	b, err := json.MarshalIndent(inner, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(b))
}

// consoleURL waits for the shipper's "console serving" log line and returns its address.
func consoleURL(t *testing.T, p *proc) string {
	t.Helper()
	var url string
	waitFor(t, 30*time.Second, "the console to serve", func() bool {
		for _, l := range jsonLogLines(p.stderr.String()) {
			if l["msg"] == "console serving" {
				url, _ = l["url"].(string)
				return url != ""
			}
		}
		return false
	})
	return url
}

// deadLettered counts the entries of a destination's dead-letter file under dir's data_dir.
func deadLettered(t *testing.T, dir, plugin string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "deadletter", plugin+".ndjson"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// jsonLogLines decodes the JSON log lines of out, leaving out the others.
func jsonLogLines(out string) []map[string]any {
	var lines []map[string]any
	for _, s := range strings.Split(out, "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(s), &l) == nil {
			lines = append(lines, l)
		}
	}
	return lines
}
