package cloudwatch

import (
	"fmt"
	"math/bits"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/awssource"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/sim/cwlogs/filterpattern"
)

// Config is the aws_cloudwatch_logs source's configuration. The AWS access keys (credentials,
// assume role, endpoint, proxy URL, TLS) are awsauth's, inline.
type Config struct {
	AWS awsauth.Config `yaml:",inline"`

	// Regions are the regions polled, one poller each.
	Regions []string `yaml:"regions"`
	// OtherRegions is a comma-separated list of more regions (JSA's "Other Regions").
	OtherRegions string `yaml:"other_regions"`
	// LogGroup is the log group read (one per configuration).
	LogGroup string `yaml:"log_group"`
	// LogStream limits the reading to one stream; LogStreamPrefix to streams with a prefix.
	LogStream       string `yaml:"log_stream"`
	LogStreamPrefix string `yaml:"log_stream_prefix"`
	// FilterPattern is applied by the service (CloudWatch Logs filter syntax).
	FilterPattern string `yaml:"filter_pattern"`
	// ExtractOriginalEvent forwards the message alone; off, the CloudWatch envelope.
	ExtractOriginalEvent bool `yaml:"extract_original_event"`

	// UseAsGatewayLogSource assigns each record a log-source identifier.
	UseAsGatewayLogSource bool `yaml:"use_as_gateway_log_source"`
	// LogSourceIdentifierPattern holds `Identifier=regex` lines; the first match wins.
	LogSourceIdentifierPattern string `yaml:"log_source_identifier_pattern"`
	// DefaultLogSourceIdentifier is used when no pattern matches ("" = the log stream name).
	DefaultLogSourceIdentifier string `yaml:"default_log_source_identifier"`

	// AcquireServerCertificate pins the endpoint's certificate on first use.
	AcquireServerCertificate bool `yaml:"acquire_server_certificate"`

	// EPSThrottle caps the records per second of this configuration, all regions together;
	// 0 or empty (nil: `eps_throttle:`, `~`, `""`) means no limit.
	EPSThrottle *EPS `yaml:"eps_throttle"`
	// StartPosition is where a partition without a checkpoint starts.
	StartPosition string `yaml:"start_position"`
	// Lag is how far behind now a window ends; Overlap how far back the next window starts
	// before the end of the last one.
	Lag     time.Duration `yaml:"lag"`
	Overlap time.Duration `yaml:"overlap"`
	// MaxWindow caps one window's span (catching up from an old start position).
	MaxWindow time.Duration `yaml:"max_window"`
	// PollInterval is the pause between windows once caught up.
	PollInterval time.Duration `yaml:"poll_interval"`
	// RequestsPerSecond is the FilterLogEvents rate shared by every poller of one account
	// (credential identity) and region in this process.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	// MaxBackoff caps the exponential backoff after an error.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// PageSize is FilterLogEvents' limit: the most events one answer holds.
	PageSize int `yaml:"page_size"`
	// RequestsInFlight is how many FilterLogEvents requests one region keeps in flight while
	// catching up, each reading its own time slice.
	RequestsInFlight int `yaml:"requests_in_flight"`
	// SlowRequest is how long a FilterLogEvents request may wait for its answer before the
	// region starts another one (a request retrying after an error counts as slow at once).
	SlowRequest time.Duration `yaml:"slow_request"`
	// CheckpointEvery is how many events of a page are published as one batch with its own
	// checkpoint: a restart sends again at most the batches in flight, not the whole page.
	CheckpointEvery int `yaml:"checkpoint_every"`

	// LiveLag is how far behind now the near-real-time pass reads (0: no such pass, every
	// event waits for the windows at lag); it runs when 0 < live_lag < lag.
	LiveLag time.Duration `yaml:"live_lag"`
	// LiveWindow is how far back each read of the near-real-time pass goes: events ingested up
	// to this long after their timestamp arrive within about live_poll_interval.
	LiveWindow time.Duration `yaml:"live_window"`
	// LivePollInterval is the pause between two reads of the near-real-time pass.
	LivePollInterval time.Duration `yaml:"live_poll_interval"`
	// LiveRecent is the span before now − live_lag that every read of the near-real-time
	// pass covers; older time is read at every second, fourth, eighth... read, each reaching
	// twice as far back (see Config.liveDepth).
	LiveRecent time.Duration `yaml:"live_recent"`
	// LiveMargin is how long before a read an event's ingestionTime must be for that read
	// to be sure to have returned it (CloudWatch Logs' read consistency and clock resolution).
	LiveMargin time.Duration `yaml:"live_margin"`
}

var _ plugin.Config = (*Config)(nil)

// The defaults.
const (
	DefaultEPSThrottle       = 5000
	DefaultStartPosition     = "end"
	DefaultLag               = 10 * time.Minute
	DefaultOverlap           = 15 * time.Minute
	DefaultMaxWindow         = time.Hour
	DefaultPollInterval      = 30 * time.Second
	DefaultRequestsPerSecond = 5
	DefaultMaxBackoff        = 2 * time.Minute
	// DefaultPageSize is FilterLogEvents' largest page, its own default.
	DefaultPageSize = 10000
	// DefaultRequestsInFlight is the requests one region keeps in flight while catching up:
	// with one in flight while the answers come in time, the others are stalled requests
	// (late answers, retries) and the one reading beside them; at 20% faults a region reading
	// a backlog as fast as it can had 4 stalled for 40% of its time.
	DefaultRequestsInFlight = 8
	// DefaultCheckpointEvery is the events per published batch (and checkpoint): a kill re-sends
	// at most the batches in flight, and a checkpoint costs what a resume can read again (see
	// checkpoint), not the ids of the page.
	DefaultCheckpointEvery = 50
	// DefaultSlowRequest is how long a request may wait before another starts beside it:
	// FilterLogEvents answers a 1 MB page well within it.
	DefaultSlowRequest = 2 * time.Second
	// DefaultLiveLag, DefaultLiveWindow, DefaultLivePollInterval, DefaultLiveRecent and
	// DefaultLiveMargin are the near-real-time pass's defaults (see live.go).
	DefaultLiveLag          = 2 * time.Second
	DefaultLiveWindow       = 3 * time.Minute
	DefaultLivePollInterval = 5 * time.Second
	DefaultLiveRecent       = 30 * time.Second
	DefaultLiveMargin       = 5 * time.Second
	// maxRequestsInFlight bounds requests_in_flight (the quota is 5 calls per second).
	maxRequestsInFlight = 16
)

// NewConfig returns the defaults.
func NewConfig() plugin.Config {
	return &Config{
		ExtractOriginalEvent: true,
		EPSThrottle:          EPSLimit(DefaultEPSThrottle),
		StartPosition:        DefaultStartPosition,
		Lag:                  DefaultLag,
		Overlap:              DefaultOverlap,
		MaxWindow:            DefaultMaxWindow,
		PollInterval:         DefaultPollInterval,
		RequestsPerSecond:    DefaultRequestsPerSecond,
		MaxBackoff:           DefaultMaxBackoff,
		PageSize:             DefaultPageSize,
		RequestsInFlight:     DefaultRequestsInFlight,
		SlowRequest:          DefaultSlowRequest,
		CheckpointEvery:      DefaultCheckpointEvery,
		LiveLag:              DefaultLiveLag,
		LiveWindow:           DefaultLiveWindow,
		LivePollInterval:     DefaultLivePollInterval,
		LiveRecent:           DefaultLiveRecent,
		LiveMargin:           DefaultLiveMargin,
	}
}

var (
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	logGroupRe  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)
	logStreamRe = regexp.MustCompile(`^[^:*]{1,512}$`)
)

// Validate implements plugin.Config. It reports every problem, each starting with its key.
// The awsauth keys are validated by their own Validate (the configuration loader walks into
// them; New checks them again through awsauth.Load).
func (c *Config) Validate() error {
	var p config.Problems
	if c.AWS.Region != "" {
		p.Addf("region: not used by this source: list the regions in regions (or other_regions)")
	}
	regions, err := c.allRegions()
	if err != nil {
		p.Addf("%v", err)
	} else if len(regions) == 0 {
		p.Addf("regions: required: at least one region (regions or other_regions)")
	}
	switch {
	case strings.TrimSpace(c.LogGroup) == "":
		p.Addf("log_group: required: the log group to read, e.g. aws-cloudtrail-logs-123456789012")
	case !logGroupRe.MatchString(c.LogGroup):
		p.Addf("log_group: %q is not a log group name (1-512 of letters, digits and ._-/#)", c.LogGroup)
	}
	if c.LogStream != "" && c.LogStreamPrefix != "" {
		p.Addf("log_stream, log_stream_prefix: give one or neither (FilterLogEvents takes stream names or a prefix, not both)")
	}
	if c.LogStream != "" && !logStreamRe.MatchString(c.LogStream) {
		p.Addf("log_stream: %q is not a log stream name (1-512 characters, no ':' or '*')", c.LogStream)
	}
	if c.LogStreamPrefix != "" && !logStreamRe.MatchString(c.LogStreamPrefix) {
		p.Addf("log_stream_prefix: %q is not a log stream name prefix (no ':' or '*')", c.LogStreamPrefix)
	}
	if len(c.FilterPattern) > filterpattern.MaxLength {
		p.Addf("filter_pattern: longer than %d characters", filterpattern.MaxLength)
	} else if _, err := filterpattern.Parse(c.FilterPattern); err != nil {
		p.Addf("filter_pattern: %q is not CloudWatch Logs filter syntax (CloudWatch Logs would refuse it): %v", c.FilterPattern, err)
	}
	if c.UseAsGatewayLogSource {
		if _, err := parseIdentifierPatterns(c.LogSourceIdentifierPattern); err != nil {
			p.Addf("log_source_identifier_pattern: %v", err)
		}
	} else if strings.TrimSpace(c.LogSourceIdentifierPattern) != "" || c.DefaultLogSourceIdentifier != "" {
		p.Addf("log_source_identifier_pattern, default_log_source_identifier: only used with use_as_gateway_log_source: true")
	}
	if c.EPSThrottle != nil && *c.EPSThrottle < 0 {
		p.Addf("eps_throttle: must be 0 (no limit) or more")
	}
	if _, err := parseStartPosition(c.StartPosition, time.Now()); err != nil {
		p.Addf("start_position: %v", err)
	}
	if c.Lag < 0 {
		p.Addf("lag: must not be negative")
	}
	if c.Overlap < 0 {
		p.Addf("overlap: must not be negative")
	}
	if c.MaxWindow <= c.Overlap {
		p.Addf("max_window: must be longer than overlap (%s), or a window could not move forward", c.Overlap)
	}
	if c.PollInterval < 10*time.Millisecond {
		p.Addf("poll_interval: must be at least 10ms")
	}
	if c.RequestsPerSecond <= 0 {
		p.Addf("requests_per_second: must be more than 0 (the FilterLogEvents quota is 5 per second per account and region)")
	}
	if c.MaxBackoff < 10*time.Millisecond {
		p.Addf("max_backoff: must be at least 10ms")
	}
	if c.PageSize < 1 || c.PageSize > DefaultPageSize {
		p.Addf("page_size: %d: must be 1 to %d (FilterLogEvents' limit)", c.PageSize, DefaultPageSize)
	}
	if c.SlowRequest <= 0 {
		p.Addf("slow_request: %s: must be more than 0", c.SlowRequest)
	}
	if c.RequestsInFlight < 1 || c.RequestsInFlight > maxRequestsInFlight {
		p.Addf("requests_in_flight: %d: must be 1 to %d", c.RequestsInFlight, maxRequestsInFlight)
	}
	if c.CheckpointEvery < 1 {
		p.Addf("checkpoint_every: %d: must be at least 1", c.CheckpointEvery)
	}
	if c.LiveLag < 0 {
		p.Addf("live_lag: must not be negative (0: no near-real-time pass)")
	}
	if c.LiveWindow <= 0 {
		p.Addf("live_window: must be more than 0")
	}
	if c.LivePollInterval < 10*time.Millisecond {
		p.Addf("live_poll_interval: must be at least 10ms")
	}
	if c.LiveRecent <= 0 {
		p.Addf("live_recent: must be more than 0")
	}
	if c.LiveMargin < time.Second {
		p.Addf("live_margin: must be at least 1s (the server's Date header, which the read times follow, has a resolution of one second)")
	}
	return p.Err()
}

// liveOn says whether the near-real-time pass runs: live_lag set and shorter than lag.
func (c *Config) liveOn() bool { return c.LiveLag > 0 && c.liveWindow() > c.LiveLag }

// liveWindow is how far back a read of the near-real-time pass goes: live_window, at most
// half of lag, so that the last read of the pass over a time is saved well before the
// windows at lag read it.
func (c *Config) liveWindow() time.Duration { return min(c.LiveWindow, c.Lag/2) }

// liveDepth is how far before now read n of the near-real-time pass (n counts from 0 when the
// pass starts) reaches back: live_recent at every read, twice that at every second read, four
// times at every fourth, and so on, so that a time is read again at most 2 × a ×
// live_poll_interval / live_recent after its previous read, a its age then; the reads that would
// reach past the window (the first included) read the whole window and the time it takes
// until the next of them (at most lag / 2 in all), so that every time is read once more when
// it is older than the window.
func (c *Config) liveDepth(n uint64) time.Duration {
	w := c.liveWindow()
	k := 0
	for k < 62 && c.LiveRecent<<k < w {
		k++
	}
	if t := bits.TrailingZeros64(n); t < k {
		return c.LiveRecent << t
	}
	gap := c.LivePollInterval // between two reads of the whole window
	for i := 0; i < k && gap < c.Lag; i++ {
		gap <<= 1
	}
	return max(w, min(w+gap, c.Lag/2))
}

// EPS is the eps_throttle value (awssource.EPS): records per second, nil or 0 for no limit.
type EPS = awssource.EPS

// EPSLimit returns a limit of n records per second (0: none).
func EPSLimit(n int) *EPS { return awssource.EPSLimit(n) }

// epsLimit is the eps_throttle in records per second; 0 means no limit.
func (c *Config) epsLimit() int {
	if c.EPSThrottle == nil {
		return 0
	}
	return int(*c.EPSThrottle)
}

// allRegions merges regions and other_regions, in order, each once.
func (c *Config) allRegions() ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var bad []string
	add := func(key, r string) {
		r = strings.TrimSpace(r)
		if r == "" {
			return
		}
		if !regionRe.MatchString(r) {
			bad = append(bad, fmt.Sprintf("%s: %q is not a region name (like us-east-1)", key, r))
			return
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for i, r := range c.Regions {
		add(fmt.Sprintf("regions[%d]", i), r)
	}
	for _, r := range strings.Split(c.OtherRegions, ",") {
		add("other_regions", r)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return out, nil
}

// jsaProxyKeys are JSA's "Use Proxy" keys, the deprecated spelling of the proxy section every
// plugin shares; UpgradeYAML reads them into it.
var jsaProxyKeys = []string{"proxy_server", "proxy_port", "proxy_username", "proxy_password"}

var _ config.Upgrader = (*Config)(nil)

// UpgradeYAML implements config.Upgrader: the JSA-style keys proxy_server and proxy_port become
// proxy.url (http://server:port; a server written with a scheme keeps it), proxy_username and
// proxy_password become proxy.username and proxy.password, each with a deprecation. Given
// together with proxy, they are an error.
func (*Config) UpgradeYAML(n *yaml.Node) (*yaml.Node, []config.Deprecation, error) {
	if n.Kind != yaml.MappingNode {
		return n, nil, nil
	}
	old := map[string]*yaml.Node{}
	for _, k := range jsaProxyKeys {
		if v := config.FindKey(n, k); v != nil {
			old[k] = v
		}
	}
	if len(old) == 0 {
		return n, nil, nil
	}
	if config.FindKey(n, "proxy") != nil {
		return nil, nil, fmt.Errorf("proxy_server, proxy_port, proxy_username, proxy_password: deprecated, and proxy is given too; keep proxy only")
	}
	var deps []config.Deprecation
	px := config.MappingNode(n.Line)
	server, port := old["proxy_server"], old["proxy_port"]
	if server != nil || port != nil {
		host, p, scheme := "", "", "http"
		if server != nil {
			host = strings.TrimSpace(server.Value)
			px.Line = server.Line
		}
		if port != nil {
			p = strings.TrimSpace(port.Value)
		}
		if i := strings.Index(host, "://"); i >= 0 {
			scheme, host = host[:i], host[i+3:]
		}
		url := ""
		switch {
		case host == "" && (p == "" || p == "0"):
			// Both empty (as older sample configurations hold them): no proxy is meant, and the
			// section's default applies.
		case host == "":
			return nil, nil, fmt.Errorf("proxy_port: needs proxy_server (better: proxy.url)")
		case p == "" || p == "0":
			return nil, nil, fmt.Errorf("proxy_port: required with proxy_server (better: proxy.url, http://host:port)")
		default:
			url = scheme + "://" + net.JoinHostPort(strings.Trim(host, "[]"), p)
		}
		if url != "" {
			px = config.WithKey(px, "url", config.StringNode(px.Line, url))
		}
		for _, k := range []string{"proxy_server", "proxy_port"} {
			if old[k] != nil {
				deps = append(deps, config.Deprecation{Old: k, New: []string{"proxy.url"}, Note: "proxy_server and proxy_port make the URL http://server:port"})
			}
		}
	}
	for _, k := range []string{"username", "password"} {
		if v := old["proxy_"+k]; v != nil {
			px = config.WithKey(px, k, v)
			deps = append(deps, config.Deprecation{Old: "proxy_" + k, New: []string{"proxy." + k}})
		}
	}
	out := config.WithoutKeys(n, jsaProxyKeys...)
	if len(px.Content) > 0 {
		out = config.WithKey(out, "proxy", px)
	}
	return out, deps, nil
}

// parseStartPosition reads start_position: beginning, end (now), an RFC 3339 time, or a
// negative duration (-15m, -7d), relative to now. The result is in ms since the epoch.
func parseStartPosition(s string, now time.Time) (int64, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "beginning":
		return 0, nil
	case "", "end", "now":
		return now.UnixMilli(), nil
	}
	if strings.HasPrefix(s, "-") {
		var d time.Duration
		var err error
		if days, ok := strings.CutSuffix(s, "d"); ok {
			var n int
			n, err = strconv.Atoi(days)
			d = time.Duration(n) * 24 * time.Hour
		} else {
			d, err = time.ParseDuration(s)
		}
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as -15m, -24h or -7d", s)
		}
		return now.Add(d).UnixMilli(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("%q is not beginning, end, an RFC 3339 time (2026-03-01T00:00:00Z) or a negative duration (-15m)", s)
	}
	if t.After(now) {
		return 0, fmt.Errorf("%q is in the future", s)
	}
	return t.UnixMilli(), nil
}
