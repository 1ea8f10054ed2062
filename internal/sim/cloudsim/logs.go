package cloudsim

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// LogsConfig is CloudWatch Logs: quotas, late ingestion, faults, and CloudTrail files to load.
type LogsConfig struct {
	// Quotas are requests per second per account and region by API (FilterLogEvents: 5 ...);
	// the real defaults apply to APIs not named; 0 turns a quota off.
	Quotas map[string]float64 `yaml:"quotas"`
	// IngestDelay makes an event visible only this long after it is put (CloudTrail reaches
	// CloudWatch Logs about 5 minutes late), plus a random share of IngestJitter, so events
	// also appear out of order.
	IngestDelay  time.Duration `yaml:"ingest_delay"`
	IngestJitter time.Duration `yaml:"ingest_jitter"`
	Faults       LogsFaults    `yaml:"faults"`
	// Load puts CloudTrail records (raw NDJSON, {"Records":[...]} files or arrays) into a log
	// group, in stream <account>_CloudTrail_<region>, visible as CloudTrail delivers them:
	// IngestDelay (plus jitter) after their eventTime, so past records are visible at once. A
	// file with a record older than 14 days or more than 2 hours ahead (which CloudWatch Logs
	// refuses) has its times moved, newest to now, order and spacing kept (scaled down when
	// they span more than 14 days), each eventTime rewritten; the move is logged.
	Load []LogsLoad `yaml:"load"`
}

// LogsFaults injects failures on a share of requests.
type LogsFaults struct {
	ThrottleRate    float64 `yaml:"throttle_rate"`
	UnavailableRate float64 `yaml:"unavailable_rate"`
	EmptyPageRate   float64 `yaml:"empty_page_rate"`
	// SlowRate is the share of requests that wait SlowDelay first.
	SlowRate  float64       `yaml:"slow_rate"`
	SlowDelay time.Duration `yaml:"slow_delay"`
	// CutRate is the share of successful requests whose answer is cut after the work is done
	// (half the body sent, the connection closed).
	CutRate float64  `yaml:"cut_rate"`
	Ops     []string `yaml:"ops"` // limit to these operations; none: all
}

// LogsLoad is one file of CloudTrail records to load.
type LogsLoad struct {
	Account string `yaml:"account"` // default: the first account
	Region  string `yaml:"region"`
	Group   string `yaml:"group"`
	File    string `yaml:"file"`
}

// DefaultLogs has the real quotas and no late ingestion.
func DefaultLogs() LogsConfig { return LogsConfig{} }

// LogsService is the running CloudWatch Logs.
type LogsService = cwlogs.Service

func newLogs(c LogsConfig, seed int64, defaultAccount string, logger *slog.Logger) (*LogsService, error) {
	rates := cwlogs.DefaultRates()
	for api, r := range c.Quotas {
		rates[api] = r
	}
	s := cwlogs.New(cwlogs.Options{
		Rates: rates, IngestDelay: c.IngestDelay, IngestJitter: c.IngestJitter, Seed: uint64(seed),
		Faults: cwlogs.Faults{ThrottleRate: c.Faults.ThrottleRate, UnavailableRate: c.Faults.UnavailableRate,
			EmptyPageRate: c.Faults.EmptyPageRate, SlowRate: c.Faults.SlowRate, SlowDelay: c.Faults.SlowDelay,
			CutRate: c.Faults.CutRate, Ops: c.Faults.Ops},
		Logger: logger,
	})
	for i, l := range c.Load {
		account := l.Account
		if account == "" {
			account = defaultAccount
		}
		if l.Region == "" || l.Group == "" || l.File == "" {
			return nil, fmt.Errorf("cloudsim config: aws.logs.load[%d]: region, group and file are needed", i)
		}
		f, err := os.Open(l.File)
		if err != nil {
			return nil, fmt.Errorf("cloudsim config: aws.logs.load[%d]: %w", i, err)
		}
		_, err = s.LoadCloudTrail(account, l.Region, l.Group, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("cloudsim config: aws.logs.load[%d] %s: %w", i, l.File, err)
		}
	}
	return s, nil
}
