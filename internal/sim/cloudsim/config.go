// Package cloudsim runs the simulators of the outside world in one process: a Netskope tenant,
// the AWS services (CloudWatch Logs, CloudTrail Lake, STS, S3, SQS, behind one SigV4-verifying
// listener), an EC2 instance metadata service, and an admin endpoint to look inside. The
// cloudsim command, the end-to-end tests and the demo all start it through Start.
package cloudsim

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/logshipper/logshipper/internal/config"
)

// Config is cloudsim's configuration file. Every section has working defaults (Default), so
// an empty file, or none, serves the demo's world.
type Config struct {
	AWS      AWSConfig      `yaml:"aws"`
	IMDS     IMDSConfig     `yaml:"imds"`
	Netskope NetskopeConfig `yaml:"netskope"`
	Admin    AdminConfig    `yaml:"admin"`
	Seed     int64          `yaml:"seed"`
	// Logger gets what the simulators do on their own initiative, such as moving the times of
	// loaded CloudTrail samples into the range CloudWatch Logs accepts; nil discards it.
	Logger *slog.Logger `yaml:"-"`
}

// AWSConfig is the one listener of every AWS service, and the accounts it knows.
type AWSConfig struct {
	Listen   string          `yaml:"listen"`
	Accounts []AccountConfig `yaml:"accounts"`
	Logs     LogsConfig      `yaml:"logs"`
	Lake     LakeConfig      `yaml:"lake"`
	S3       S3Config        `yaml:"s3"`
	SQS      SQSConfig       `yaml:"sqs"`
}

// AccountConfig is an account and the long-term access key that signs for it.
type AccountConfig struct {
	ID              string `yaml:"id"`
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	User            string `yaml:"user"` // IAM user name, for the caller's ARN
}

// IMDSConfig is the EC2 instance metadata service.
type IMDSConfig struct {
	Listen  string `yaml:"listen"` // "" turns it off
	Role    string `yaml:"role"`
	Account string `yaml:"account"`
	Region  string `yaml:"region"`
}

// NetskopeConfig is the simulated tenant.
type NetskopeConfig struct {
	Listen string        `yaml:"listen"` // "" turns it off
	Tokens []TokenConfig `yaml:"tokens"`
	// Generate is records per second per endpoint, and a backlog of records that exist at start.
	Generate GenerateConfig `yaml:"generate"`
	// Load replays records from files (JSON array or NDJSON) on an endpoint.
	Load   []LoadConfig  `yaml:"load"`
	Faults NetskopeFault `yaml:"faults"`
	// NewIndexFromHead makes operation=next on an unknown index start at the oldest record
	// instead of now.
	NewIndexFromHead bool `yaml:"new_index_from_head"`
	RateLimit        int  `yaml:"rate_limit"` // requests per second per endpoint; default 4
}

// TokenConfig is one API token and the endpoints it may read ("alerts/*", "events/page"; none: all).
type TokenConfig struct {
	Value     string   `yaml:"value"`
	Endpoints []string `yaml:"endpoints"`
}

// GenerateConfig generates records on every endpoint.
type GenerateConfig struct {
	Rate          float64       `yaml:"rate"`           // records per second per endpoint
	Backlog       int           `yaml:"backlog"`        // records per endpoint that exist at start
	BacklogSpan   time.Duration `yaml:"backlog_span"`   // spread of the backlog before start
	DuplicateRate float64       `yaml:"duplicate_rate"` // share of records repeating an earlier _id
	Endpoints     []string      `yaml:"endpoints"`      // "alerts/dlp", "events/*"...; none: all
}

// LoadConfig replays a file on one endpoint.
type LoadConfig struct {
	Endpoint string `yaml:"endpoint"` // e.g. alerts/dlp
	File     string `yaml:"file"`
}

// NetskopeFault injects failures on a share of the requests that pass authentication and the
// rate limit (see internal/sim/netskope's README).
type NetskopeFault struct {
	// ThrottleRate answers 429 as the rate limiter does, although the call was within the
	// limit; the index does not move.
	ThrottleRate    float64       `yaml:"throttle_rate"`
	ServerErrorRate float64       `yaml:"server_error_rate"`
	CutBodyRate     float64       `yaml:"cut_body_rate"`
	SlowRate        float64       `yaml:"slow_rate"`
	SlowDelay       time.Duration `yaml:"slow_delay"`
	OKZeroRate      float64       `yaml:"ok_zero_rate"`
}

// AdminConfig serves /healthz, /lake/events, /lake/stats and /netskope/stats (unsigned).
type AdminConfig struct {
	Listen string `yaml:"listen"`
}

// Default returns the demo's world on fixed loopback ports.
func Default() *Config {
	return &Config{
		AWS: AWSConfig{
			Listen: "127.0.0.1:4566",
			Accounts: []AccountConfig{{
				ID: "123456789012", AccessKeyID: "AKIACLOUDSIMDEMO0001",
				SecretAccessKey: "cloudsim/demo/secret/key/not/a/real/one0", User: "logshipper",
			}},
			Logs: DefaultLogs(),
			Lake: DefaultLake(),
			S3:   DefaultS3(),
			SQS:  DefaultSQS(),
		},
		IMDS:     IMDSConfig{Listen: "127.0.0.1:4567", Role: "logshipper-role", Account: "123456789012", Region: "us-east-1"},
		Netskope: NetskopeConfig{Listen: "127.0.0.1:4568", Tokens: []TokenConfig{{Value: "cloudsim-demo-token"}}, Generate: GenerateConfig{Rate: 2, Backlog: 500, BacklogSpan: time.Hour}},
		Admin:    AdminConfig{Listen: "127.0.0.1:4569"},
		Seed:     1,
	}
}

// Load reads a configuration file over the defaults; unknown keys and values of the wrong type
// are errors, reported as logshipper reports its own configuration's (a *config.Error).
func Load(path string) (*Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cloudsim config: %w", err)
	}
	// logshipper's strict decoding: every unknown key and type error, with line, path and a
	// suggestion, in one error.
	if err := config.DecodeStrict(b, path, c); err != nil {
		return nil, err
	}
	// Files named in the configuration are relative to it.
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(filepath.Dir(path), *p)
		}
	}
	for i := range c.AWS.Logs.Load {
		rel(&c.AWS.Logs.Load[i].File)
	}
	for i := range c.Netskope.Load {
		rel(&c.Netskope.Load[i].File)
	}
	rel(&c.AWS.Lake.StoreFile)
	for i := range c.AWS.S3.CloudTrail {
		rel(&c.AWS.S3.CloudTrail[i].File)
	}
	return c, c.Validate()
}

// Validate checks what the servers cannot start without.
func (c *Config) Validate() error {
	if c.AWS.Listen != "" && len(c.AWS.Accounts) == 0 {
		return fmt.Errorf("cloudsim config: aws.accounts: at least one account is needed")
	}
	for i, a := range c.AWS.Accounts {
		if len(a.ID) != 12 || a.AccessKeyID == "" || a.SecretAccessKey == "" {
			return fmt.Errorf("cloudsim config: aws.accounts[%d]: id (12 digits), access_key_id and secret_access_key are needed", i)
		}
	}
	return nil
}
