// Package demo runs logshipper's built-in demonstration: it writes sample Netskope-shaped
// alerts (with a few broken lines), runs the embedded configuration over them, and prints what
// arrived where, what was filtered, and what went to the dead-letter store. A second pass
// shows that nothing is read twice.
package demo

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// Config is the demo's configuration.
//
//go:embed demo.yaml
var Config []byte

// Options tune a demo run.
type Options struct {
	Dir     string // working directory; emptied first
	Records int    // alerts to generate
	Seed    uint64
	Out     io.Writer // the summary
	Log     io.Writer // the process log
}

// Run runs the demo.
func Run(ctx context.Context, reg *plugin.Registry, o Options) error {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("demo: clear %s: %w", dir, err)
	}
	input := filepath.Join(dir, "input", "alerts.ndjson")
	bad, err := writeAlerts(input, o.Records, o.Seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "demo: wrote %d Netskope-shaped alerts (and %d broken lines) to %s\n", o.Records, bad, input)

	res := config.Resolver{Env: func(k string) (string, bool) {
		if k == "DEMO_DIR" {
			return dir, true
		}
		return os.LookupEnv(k)
	}}
	cfg, err := config.Parse(Config, "demo.yaml (embedded)", reg, res)
	if err != nil {
		return err
	}
	for pass := 1; pass <= 2; pass++ {
		log := telemetry.NewLogger(o.Log, telemetry.LogConfig{Level: "warn", Format: "text"})
		a, err := app.New(cfg, reg, log, "demo")
		if err != nil {
			return err
		}
		start := time.Now()
		if err := a.Run(ctx); err != nil {
			return err
		}
		el := time.Since(start)
		counts, err := a.Metrics().Counts()
		if err != nil {
			return err
		}
		summarize(o.Out, pass, counts, el, dir)
	}
	return nil
}

func summarize(w io.Writer, pass int, c map[string]map[string]float64, el time.Duration, dir string) {
	read := c["logshipper_records_received_total"]["netskope-alerts"]
	if pass == 2 {
		fmt.Fprintf(w, "\nsecond run over the same files: %.0f records read again (positions were saved after delivery)\n", read)
		return
	}
	rate := read / el.Seconds()
	fmt.Fprintf(w, "\nfirst run: %.0f records read in %s (%.0f records/s)\n", read, el.Round(time.Millisecond), rate)
	fmt.Fprintf(w, "  %-10s %8s %9s %s\n", "destination", "sent", "filtered", "file")
	for _, d := range []string{"siem", "archive"} {
		fmt.Fprintf(w, "  %-10s %8.0f %9.0f %s\n", d, c["logshipper_records_sent_total"][d], c["logshipper_records_dropped_total"][d+"/filtered"], filepath.Join(dir, "out", d+".ndjson"))
	}
	fmt.Fprintf(w, "  dead letters: %.0f invalid input lines, kept with their reason in %s\n",
		c["logshipper_records_dropped_total"]["netskope-alerts/invalid"], filepath.Join(dir, "state", "deadletter", "netskope-alerts.ndjson"))
}

var (
	alertTypes = []string{"dlp", "malware", "policy", "malsite", "compromisedcredential", "uba", "ctep"}
	severities = []string{"low", "medium", "high", "critical"}
	apps       = []string{"Box", "Google Drive", "Microsoft OneDrive", "Slack", "Salesforce", "GitHub"}
	activities = []string{"Upload", "Download", "Share", "Edit", "Login Successful", "Post"}
)

// writeAlerts writes n alerts shaped like Netskope's data-export records (19-digit ids, nested
// objects, epoch timestamps) and a few broken lines; it returns how many lines are broken.
func writeAlerts(path string, n int, seed uint64) (int, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	base := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC).Unix()
	bad := 0
	for i := range n {
		if i > 0 && i%2500 == 0 {
			w.WriteString(`{"_id": "truncated-by-a-crashed-writer", "alert_type": "dl` + "\n")
			bad++
		}
		at := alertTypes[r.IntN(len(alertTypes))]
		ts := base + int64(i)
		fmt.Fprintf(w, `{"_id":"%024x","_insertion_epoch_timestamp":%d,"timestamp":%d,"alert_type":%q,"alert_name":"%s alert %d",`+
			`"severity":%q,"user":"user%d@example.com","app":%q,"activity":%q,"srcip":"10.%d.%d.%d","dstip":"203.0.113.%d",`+
			`"transaction_id":%d,"app_session_id":%d,"policy":{"name":"Block %s","action":"block"},"access_method":"Client"}`+"\n",
			r.Uint64()&0xffffffffffff<<48|uint64(i), ts+3, ts, at, at, i, severities[r.IntN(len(severities))], r.IntN(500),
			apps[r.IntN(len(apps))], activities[r.IntN(len(activities))], r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256),
			uint64(9_000_000_000_000_000_000)+r.Uint64N(200_000_000_000_000_000), r.Uint64N(1<<62)+1<<62, at)
	}
	return bad, w.Flush()
}
