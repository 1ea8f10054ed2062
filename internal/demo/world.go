package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/netskope"
)

// BacklogSpan is how far back the tenant's backlog reaches; the embedded configuration starts
// reading 7 hours back.
const BacklogSpan = 6 * time.Hour

// The failures the demo's cloudsim injects, so the summary can show that they cost nothing:
// shares of Netskope requests answered 5xx or cut short, of CloudTrail Lake events throttled,
// and of PutAuditEvents calls failed with 500/503.
const (
	netskope5xxRate       = 0.03
	netskopeCutRate       = 0.05
	lakeEventThrottleRate = 0.02
	lakeCallErrorRate     = 0.01
)

// worldConfig is cloudsim's default world on free loopback ports, with a fixed backlog of
// about records records spread over every endpoint (no live generation, so the demo knows
// when everything has arrived), a few duplicates, and faults on both sides. The lake also
// writes every stored event to lakeFile. CloudWatch Logs ingests late and out of order and
// throttles; the second journey puts its CloudTrail records in when it starts.
func worldConfig(records int, seed int64, lakeFile string) *cloudsim.Config {
	n := len(netskope.Endpoints())
	c := cloudsim.Default()
	c.AWS.Listen, c.Netskope.Listen = "127.0.0.1:0", "127.0.0.1:0"
	c.IMDS.Listen, c.Admin.Listen = "", "" // not needed: the demo looks inside through Go
	c.Seed = seed
	c.Netskope.Generate = cloudsim.GenerateConfig{
		Backlog:       (records + n - 1) / n,
		BacklogSpan:   BacklogSpan,
		DuplicateRate: 0.01, // Netskope serves the odd record twice, same _id
	}
	c.Netskope.Faults = cloudsim.NetskopeFault{ServerErrorRate: netskope5xxRate, CutBodyRate: netskopeCutRate}
	c.AWS.Lake.Faults = cloudsim.LakeFaults{EventThrottleRate: lakeEventThrottleRate, CallServerErrorRate: lakeCallErrorRate}
	c.AWS.Lake.StoreFile = lakeFile
	c.AWS.Logs.IngestDelay, c.AWS.Logs.IngestJitter = ingestDelay, ingestJitter
	c.AWS.Logs.Faults = cloudsim.LogsFaults{ThrottleRate: logsThrottleRate, Ops: []string{"FilterLogEvents"}}
	return c
}

// startWorld starts cloudsim in-process.
func startWorld(records int, seed int64, dir string) (*cloudsim.Sim, string, error) {
	lakeFile := filepath.Join(dir, "lake", "events.ndjson")
	if err := os.MkdirAll(filepath.Dir(lakeFile), 0o755); err != nil {
		return nil, "", fmt.Errorf("demo: %w", err)
	}
	sim, err := cloudsim.Start(worldConfig(records, seed, lakeFile))
	if err != nil {
		return nil, "", fmt.Errorf("demo: starting cloudsim: %w", err)
	}
	return sim, lakeFile, nil
}

// variables are the values the demo gives the embedded configuration's ${...}: the
// in-process cloudsim and syslog receiver, whatever the environment says.
func variables(sim *cloudsim.Sim, siem, dir string) map[string]string {
	cfg := cloudsim.Default()
	acct := cfg.AWS.Accounts[0]
	return map[string]string{
		"DEMO_DIR":              dir,
		"NETSKOPE_TENANT":       sim.Endpoints["netskope"],
		"NETSKOPE_API_TOKEN":    cfg.Netskope.Tokens[0].Value,
		"AWS_ENDPOINT_URL":      sim.Endpoints["aws"],
		"AWS_ACCESS_KEY_ID":     acct.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": acct.SecretAccessKey,
		"SYSLOG_ADDRESS":        siem,
	}
}

// tenantTotal is what the tenant holds, duplicates included, and how many are duplicates.
func tenantTotal(st netskope.Stats) (total, dups int64) {
	for _, e := range st.Endpoints {
		total += int64(e.Retained)
		dups += e.Duplicates
	}
	return total, dups
}
