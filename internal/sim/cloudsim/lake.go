package cloudsim

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/lake"
)

// LakeConfig is CloudTrail Lake: its channels, what a re-sent id does, faults, and where
// accepted events are also written.
type LakeConfig struct {
	Channels []ChannelConfig `yaml:"channels"`
	// DuplicateMode is what an id accepted by an earlier call does when sent again: dedupe
	// (default: accepted, same eventID, stored once), store-duplicate, or reject.
	DuplicateMode string     `yaml:"duplicate_mode"`
	Faults        LakeFaults `yaml:"faults"`
	// StoreFile, when set, gets every accepted event as one NDJSON line.
	StoreFile string `yaml:"store_file"`
	// CallsPerSecond is the PutAuditEvents quota per account and region: 0 means AWS's 100,
	// a negative value means no limit.
	CallsPerSecond float64 `yaml:"calls_per_second"`
}

// ChannelConfig is one channel; its account and region come from its ARN.
type ChannelConfig struct {
	ARN            string `yaml:"arn"`
	ExternalID     string `yaml:"external_id"`
	EventDataStore string `yaml:"event_data_store"`
}

// LakeFaults injects failures.
type LakeFaults struct {
	EventThrottleRate        float64       `yaml:"event_throttle_rate"`
	EventInternalFailureRate float64       `yaml:"event_internal_failure_rate"`
	CallThrottleRate         float64       `yaml:"call_throttle_rate"`
	CallServerErrorRate      float64       `yaml:"call_server_error_rate"`
	Latency                  time.Duration `yaml:"latency"`
	// SlowRate is the share of calls that wait SlowDelay first.
	SlowRate  float64       `yaml:"slow_rate"`
	SlowDelay time.Duration `yaml:"slow_delay"`
	// CutRate is the share of successful calls whose answer is cut after the events are
	// stored (half the body sent, the connection closed).
	CutRate float64 `yaml:"cut_rate"`
}

// DemoChannelARN is the channel of the default configuration.
const DemoChannelARN = "arn:aws:cloudtrail:us-east-1:123456789012:channel/6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01"

// DefaultLake has one channel in the demo account.
func DefaultLake() LakeConfig {
	return LakeConfig{Channels: []ChannelConfig{{ARN: DemoChannelARN}}, DuplicateMode: "dedupe"}
}

// LakeService is the running CloudTrail Lake.
type LakeService struct {
	*lake.Service
	file *os.File
}

func newLake(c LakeConfig, seed int64) (*LakeService, error) {
	mode, err := lake.ParseDuplicateMode(c.DuplicateMode)
	if err != nil {
		return nil, fmt.Errorf("cloudsim config: aws.lake.duplicate_mode: %w", err)
	}
	o := lake.Options{DuplicateMode: mode, Seed: uint64(seed), CallsPerSecond: c.CallsPerSecond, Faults: lake.Faults{
		EventThrottleRate: c.Faults.EventThrottleRate, EventInternalFailureRate: c.Faults.EventInternalFailureRate,
		CallThrottleRate: c.Faults.CallThrottleRate, CallServerErrorRate: c.Faults.CallServerErrorRate, Latency: c.Faults.Latency,
		SlowRate: c.Faults.SlowRate, SlowDelay: c.Faults.SlowDelay, CutRate: c.Faults.CutRate,
	}}
	ls := &LakeService{}
	if c.StoreFile != "" {
		f, err := os.OpenFile(c.StoreFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("cloudsim config: aws.lake.store_file: %w", err)
		}
		ls.file, o.NDJSON = f, f
	}
	ls.Service = lake.New(o)
	for i, ch := range c.Channels {
		if err := ls.AddChannel(lake.Channel{ARN: ch.ARN, ExternalID: ch.ExternalID, EventDataStore: ch.EventDataStore}); err != nil {
			ls.Close()
			return nil, fmt.Errorf("cloudsim config: aws.lake.channels[%d]: %w", i, err)
		}
	}
	return ls, nil
}

func (l *LakeService) register(rt *awssim.Router) {
	rt.Handle("cloudtrail-data", l.DataHandler())
	rt.Handle("cloudtrail", l.ControlHandler())
}

func (l *LakeService) registerAdmin(mux *http.ServeMux) {
	q := l.QueryHandler()
	mux.Handle("/lake/", q)
}

// Close closes the store file.
func (l *LakeService) Close() error {
	if l.file != nil {
		return l.file.Close()
	}
	return nil
}
