package awss3sqs

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/awssource"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Config is the aws_s3_sqs source's configuration. The AWS access keys (credentials, assume
// role, region, endpoint, proxy, TLS) are awsauth's, inline, as in the CloudWatch Logs source.
type Config struct {
	AWS awsauth.Config `yaml:",inline"`

	// QueueURL is the SQS queue the bucket's event notifications go to.
	QueueURL string `yaml:"queue_url"`
	// VisibilityTimeout is how long a received message stays hidden from other readers; it is
	// extended every half period while its records are being delivered.
	VisibilityTimeout time.Duration `yaml:"visibility_timeout"`
	// WaitTime is ReceiveMessage's long-poll wait.
	WaitTime time.Duration `yaml:"wait_time"`
	// MaxMessages is the most messages one ReceiveMessage returns.
	MaxMessages int `yaml:"max_messages"`
	// Workers is how many receive loops run, each handling the messages it received.
	Workers int `yaml:"number_of_workers"`
	// MaxReceiveCount is how many times a message may be received: past it the message goes to
	// the dead letters and is deleted (0: no limit).
	MaxReceiveCount int `yaml:"max_receive_count"`
	// APITimeout bounds one SQS or S3 call (a GetObject's whole read included).
	APITimeout time.Duration `yaml:"api_timeout"`
	// KeyRegex selects the objects read by key; others are skipped and counted.
	KeyRegex string `yaml:"key_regex"`
	// SkipDigest skips CloudTrail digest files (counted).
	SkipDigest bool `yaml:"skip_digest"`
	// PathStyle addresses buckets as endpoint/bucket/key (S3-compatible stores, moto).
	PathStyle bool `yaml:"path_style"`
	// BatchSize is the most records one published batch holds.
	BatchSize int `yaml:"batch_size"`
	// MaxObjectSize is the largest object read, as stored (compressed); a larger one goes to
	// the dead letters.
	MaxObjectSize config.ByteSize `yaml:"max_object_size"`

	// BackfillBucket and BackfillPrefix are what `logshipper backfill` lists.
	BackfillBucket string `yaml:"backfill_bucket"`
	BackfillPrefix string `yaml:"backfill_prefix"`

	// UseAsGatewayLogSource assigns each record a log-source identifier.
	UseAsGatewayLogSource bool `yaml:"use_as_gateway_log_source"`
	// LogSourceIdentifierPattern holds `Identifier=regex` lines; the first match wins.
	LogSourceIdentifierPattern string `yaml:"log_source_identifier_pattern"`
	// DefaultLogSourceIdentifier is used when no pattern matches ("" = the bucket name).
	DefaultLogSourceIdentifier string `yaml:"default_log_source_identifier"`
	// EPSThrottle caps the records per second of this configuration; 0 or empty: no limit.
	EPSThrottle *awssource.EPS `yaml:"eps_throttle"`
}

var _ plugin.Config = (*Config)(nil)

// The defaults (Filebeat's aws-s3 input's, but max_messages: SQS's own maximum).
const (
	DefaultVisibilityTimeout = 300 * time.Second
	DefaultWaitTime          = 20 * time.Second
	DefaultMaxMessages       = 10
	DefaultWorkers           = 4
	DefaultMaxReceiveCount   = 5
	DefaultAPITimeout        = 120 * time.Second
	DefaultKeyRegex          = `(^|/)CloudTrail/`
	DefaultBatchSize         = 500
	DefaultMaxObjectSize     = 1 << 30
	DefaultBackfillPrefix    = "AWSLogs/"
	DefaultEPSThrottle       = 5000
	// maxVisibility is SQS's limit on a message's visibility timeout (12 hours).
	maxVisibility = 12 * time.Hour
)

// NewConfig returns the defaults.
func NewConfig() plugin.Config {
	return &Config{
		VisibilityTimeout: DefaultVisibilityTimeout,
		WaitTime:          DefaultWaitTime,
		MaxMessages:       DefaultMaxMessages,
		Workers:           DefaultWorkers,
		MaxReceiveCount:   DefaultMaxReceiveCount,
		APITimeout:        DefaultAPITimeout,
		KeyRegex:          DefaultKeyRegex,
		SkipDigest:        true,
		BatchSize:         DefaultBatchSize,
		MaxObjectSize:     DefaultMaxObjectSize,
		BackfillPrefix:    DefaultBackfillPrefix,
		EPSThrottle:       awssource.EPSLimit(DefaultEPSThrottle),
	}
}

// queueHostRe matches the hosts of SQS queue URLs that name their region:
// sqs.<region>.amazonaws.com[.cn] and the legacy <region>.queue.amazonaws.com.
var queueHostRe = regexp.MustCompile(`^(?:sqs\.([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.amazonaws\.com(?:\.cn)?|([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.queue\.amazonaws\.com)$`)

// queueRegion returns the region a queue URL names ("" when its host does not say, as a local
// endpoint's).
func queueRegion(u *url.URL) string {
	m := queueHostRe.FindStringSubmatch(strings.ToLower(u.Hostname()))
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

// parseQueueURL checks queue_url: an http(s) URL whose path is /<account>/<queue name>.
func parseQueueURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not a queue URL (like https://sqs.us-east-1.amazonaws.com/111122223333/cloudtrail)", s)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("%q: the path must be /<account>/<queue name>", s)
	}
	return u, nil
}

// region is the region of the queue (and of its bucket, which S3 notifications require):
// region when set, else the one the queue URL names.
func (c *Config) region() string {
	if c.AWS.Region != "" {
		return c.AWS.Region
	}
	if u, err := parseQueueURL(c.QueueURL); err == nil {
		return queueRegion(u)
	}
	return ""
}

// Validate implements plugin.Config. It reports every problem, each starting with its key.
func (c *Config) Validate() error {
	var p config.Problems
	if strings.TrimSpace(c.QueueURL) == "" {
		p.Addf("queue_url: required: the SQS queue the bucket's event notifications go to")
	} else if u, err := parseQueueURL(c.QueueURL); err != nil {
		p.Addf("queue_url: %v", err)
	} else {
		qr := queueRegion(u)
		switch {
		case qr == "" && c.AWS.Region == "":
			p.Addf("region: required: queue_url %q does not name a region", c.QueueURL)
		case qr != "" && c.AWS.Region != "" && qr != c.AWS.Region:
			p.Addf("region: %q, but queue_url is in %q (the queue and its bucket are in one region)", c.AWS.Region, qr)
		}
	}
	if c.VisibilityTimeout < time.Second || c.VisibilityTimeout > maxVisibility || c.VisibilityTimeout%time.Second != 0 {
		p.Addf("visibility_timeout: %s: must be whole seconds from 1s to 12h (SQS's limits)", c.VisibilityTimeout)
	}
	if c.WaitTime < 0 || c.WaitTime > 20*time.Second || c.WaitTime%time.Second != 0 {
		p.Addf("wait_time: %s: must be whole seconds from 0s to 20s (SQS's long-poll limits)", c.WaitTime)
	}
	if c.MaxMessages < 1 || c.MaxMessages > 10 {
		p.Addf("max_messages: %d: must be 1 to 10 (SQS's limits)", c.MaxMessages)
	}
	if c.Workers < 1 || c.Workers > 64 {
		p.Addf("number_of_workers: %d: must be 1 to 64", c.Workers)
	}
	if c.MaxReceiveCount < 0 {
		p.Addf("max_receive_count: %d: must be 0 (no limit) or more", c.MaxReceiveCount)
	}
	if c.APITimeout <= c.WaitTime {
		p.Addf("api_timeout: %s: must be longer than wait_time (%s), or every long poll would time out", c.APITimeout, c.WaitTime)
	}
	if _, err := regexp.Compile(c.KeyRegex); err != nil {
		p.Addf("key_regex: %v", err)
	}
	if c.MaxObjectSize < 1 {
		p.Addf("max_object_size: must be more than 0")
	}
	if c.BatchSize < 1 {
		p.Addf("batch_size: %d: must be at least 1", c.BatchSize)
	}
	if c.UseAsGatewayLogSource {
		if _, err := awssource.ParseIdentifierPatterns(c.LogSourceIdentifierPattern); err != nil {
			p.Addf("log_source_identifier_pattern: %v", err)
		}
	} else if strings.TrimSpace(c.LogSourceIdentifierPattern) != "" || c.DefaultLogSourceIdentifier != "" {
		p.Addf("log_source_identifier_pattern, default_log_source_identifier: only used with use_as_gateway_log_source: true")
	}
	if c.EPSThrottle != nil && *c.EPSThrottle < 0 {
		p.Addf("eps_throttle: must be 0 (no limit) or more")
	}
	return p.Err()
}
