package netskope

import (
	"fmt"
	"hash/fnv"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
	suggestpkg "github.com/logshipper/logshipper/internal/suggest"
)

// eventTypes and alertTypes are the data-export endpoint types of the REST API v2, in the order
// the partitions are started. Read-only: NewConfig hands out copies.
var (
	eventTypes = []string{"page", "application", "audit", "infrastructure", "network", "incident", "endpoint"}
	alertTypes = []string{"compromisedcredential", "policy", "malsite", "malware", "dlp", "securityassessment",
		"watchlist", "quarantine", "remediation", "uba", "ctep", "device", "content"}
)

// Config is the netskope source's configuration.
type Config struct {
	// Tenant is the tenant's URL, https://<tenant>.goskope.com (http is allowed, for cloudsim).
	Tenant string `yaml:"tenant"`
	// APIToken is a REST API v2 token allowed to read the data-export endpoints.
	APIToken config.Secret `yaml:"api_token"`
	// EventTypes are the event endpoints read (default: all). An empty list reads no events.
	EventTypes []string `yaml:"event_types"`
	// AlertTypes are the alert endpoints read (default: all). An empty list reads no alerts.
	AlertTypes []string `yaml:"alert_types"`
	// IndexPrefix names the server-side iterator indexes: <prefix>_<events|alerts>_<type>.
	// Empty: logshipper_<configuration name>, sanitised.
	IndexPrefix string `yaml:"index_prefix"`
	// Start is where an index with no saved position starts: now, an RFC 3339 time, or a
	// negative duration (-24h, -7d).
	Start string `yaml:"start"`
	// Proxy is the proxy of the tenant's requests (netconf.Proxy: the system's by default).
	Proxy netconf.Proxy `yaml:"proxy"`
	// TLS is how the tenant's certificate is checked (netconf.TLS).
	TLS netconf.TLS `yaml:"tls"`
	// PageTimeout bounds one request, its page's body included.
	PageTimeout time.Duration `yaml:"page_timeout"`
	// MaxBackoff caps the exponential backoff between retries of a failing request.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// PagesInFlight is how many pages the configuration holds at once, all endpoints together,
	// from the request until the destinations have acknowledged every record: a full page is
	// about 20 MB, so this bounds memory whatever the backlog.
	PagesInFlight int `yaml:"pages_in_flight"`
}

var _ plugin.Config = (*Config)(nil)

// The defaults.
const (
	DefaultStart       = "now"
	DefaultPageTimeout = 2 * time.Minute
	DefaultMaxBackoff  = 2 * time.Minute
	// DefaultPagesInFlight is one full page at a time: measured against 2 on a million records
	// into CloudTrail Lake (docs/benchmarks.md), it cost 13% of the throughput (8,100 instead of
	// 9,350 records/s; the lake takes 10,000 events/s per account) and saved 17-30% of the CPU
	// and the RSS peak of a restart's catch-up (149 instead of 163 MB).
	DefaultPagesInFlight = 1
)

// NewConfig returns the defaults.
func NewConfig() plugin.Config {
	return &Config{
		EventTypes:  slices.Clone(eventTypes),
		AlertTypes:  slices.Clone(alertTypes),
		Start:       DefaultStart,
		PageTimeout: DefaultPageTimeout,
		MaxBackoff:  DefaultMaxBackoff,

		PagesInFlight: DefaultPagesInFlight,
	}
}

// Validate implements plugin.Config. It reports every problem, each starting with its key. The
// proxy and tls sections validate themselves (config.ValidateTree walks into them).
func (c *Config) Validate() error {
	var p config.Problems
	if strings.TrimSpace(c.Tenant) == "" {
		p.Addf("tenant: required: the tenant's URL, https://<tenant>.goskope.com")
	} else if _, err := tenantURL(c.Tenant); err != nil {
		p.Addf("tenant: %v", err)
	}
	if !c.APIToken.IsSet() {
		p.Addf("api_token: required: a REST API v2 token (use ${ENV_VAR} or ${file:PATH} rather than the token itself)")
	}
	checkTypes(&p, "event_types", c.EventTypes, eventTypes, alertTypes)
	checkTypes(&p, "alert_types", c.AlertTypes, alertTypes, eventTypes)
	if len(c.EventTypes) == 0 && len(c.AlertTypes) == 0 {
		p.Addf("event_types, alert_types: both are empty: nothing would be read")
	}
	if c.IndexPrefix != "" {
		if err := checkIndexPrefix(c.IndexPrefix); err != nil {
			p.Addf("index_prefix: %v", err)
		}
	}
	if _, err := parseStart(c.Start, time.Now()); err != nil {
		p.Addf("start: %v", err)
	}
	if c.PageTimeout < time.Second {
		p.Addf("page_timeout: must be at least 1s (a full page is about 20 MB)")
	}
	if c.PagesInFlight < 1 {
		p.Addf("pages_in_flight: must be at least 1")
	}
	if c.MaxBackoff < time.Second {
		p.Addf("max_backoff: must be at least 1s")
	}
	return p.Err()
}

// checkTypes reports unknown, misplaced and repeated type names, suggesting the closest known one.
func checkTypes(p *config.Problems, key string, got, known, other []string) {
	seen := map[string]bool{}
	for i, t := range got {
		switch {
		case seen[t]:
			p.Addf("%s[%d]: %q is listed twice", key, i, t)
		case slices.Contains(known, t):
		case slices.Contains(other, t):
			otherKey := "alert_types"
			if key == "alert_types" {
				otherKey = "event_types"
			}
			p.Addf("%s[%d]: %q is one of the %s, not of the %s", key, i, t, otherKey, key)
		default:
			msg := fmt.Sprintf("%s[%d]: unknown type %q", key, i, t)
			if s := suggest(t, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (known: " + strings.Join(known, ", ") + ")"
			}
			p.Addf("%s", msg)
		}
		seen[t] = true
	}
}

// suggest returns the known name closest to s, if it is close enough to be a typo.
func suggest(s string, known []string) string {
	s = strings.ToLower(strings.ReplaceAll(s, " ", ""))
	best, bestD := "", 3
	for _, k := range known {
		if k == s {
			return k // only the case or spaces differed
		}
		if d := suggestpkg.Distance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

var (
	_ config.Warner  = (*Config)(nil)
	_ config.Claimer = (*Config)(nil)
)

// Claims implements config.Claimer: the tenant's iterator indexes of the live source and of its
// backfills. Two configurations of one process reading one index would split its pages between
// them; the sources' factory refuses the second too, when it is built.
func (c *Config) Claims(name string) []config.Claim {
	u, err := tenantURL(c.Tenant)
	if err != nil {
		return nil // Validate reports it
	}
	base := strings.TrimRight(u.String(), "/")
	prefix := c.IndexPrefix
	if prefix == "" {
		prefix = defaultIndexPrefix(name)
	}
	var out []config.Claim
	for _, p := range []string{prefix, BackfillIndexPrefix(prefix)} {
		out = append(out, config.Claim{
			Key: "netskope index\x00" + base + "\x00" + p,
			Problem: func(first string) string {
				return fmt.Sprintf("index_prefix: %q on %s is already read by %s; two readers of one index split its pages between them: give one of them its own index_prefix", p, base, first)
			},
		})
	}
	return out
}

// Warnings implements config.Warner: the token sent in clear.
func (c *Config) Warnings() []string {
	u, err := tenantURL(c.Tenant)
	if err != nil || !c.APIToken.IsSet() {
		return nil
	}
	if w := netconf.CleartextWarning(u, "api_token"); w != "" {
		return []string{"tenant: " + w}
	}
	return nil
}

// tenantURL parses the tenant option: a URL, or a bare host name taken as https.
func tenantURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %v", s, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("%q: the scheme must be https (or http, for a simulator)", s)
	case u.Host == "":
		return nil, fmt.Errorf("%q has no host name", s)
	case u.User != nil:
		return nil, fmt.Errorf("the tenant URL must not hold credentials: the token goes in api_token")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("the tenant URL must not have a query or a fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// maxPrefix is the longest index prefix: the longest index name is then
// <prefix>_alerts_compromisedcredential, 29 bytes more.
const maxPrefix = 64

// checkIndexPrefix accepts what index names are safely made of: letters, digits and '_'.
func checkIndexPrefix(s string) error {
	if len(s) > maxPrefix {
		return fmt.Errorf("%q is longer than %d characters", s, maxPrefix)
	}
	for _, r := range s {
		if !indexChar(r) {
			return fmt.Errorf("%q: only letters, digits and '_' are allowed (found %q)", s, r)
		}
	}
	return nil
}

func indexChar(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// defaultIndexPrefix derives the prefix from the configuration name: logshipper_<name>, every
// character other than a letter, a digit or '_' turned into '_', and a long name cut and
// suffixed with a hash of the whole name (so two long names stay apart).
func defaultIndexPrefix(name string) string {
	var b strings.Builder
	b.WriteString("logshipper_")
	for _, r := range name {
		if indexChar(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > maxPrefix {
		h := fnv.New32a()
		h.Write([]byte(name))
		s = s[:maxPrefix-9] + "_" + fmt.Sprintf("%08x", h.Sum32())
	}
	return s
}

// indexName is the name of the index of one endpoint.
func indexName(prefix string, ep endpoint) string {
	return prefix + "_" + ep.kind + "_" + ep.typ
}

// parseStart reads the start option relative to now: "now", an RFC 3339 time, or a negative
// duration ("-24h", "-90m", "-7d").
func parseStart(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "now":
		return now, nil
	case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") || s[0] >= '0' && s[0] <= '9' && !strings.Contains(s, ":"):
		d, err := parseRelative(s)
		if err != nil {
			return time.Time{}, err
		}
		if d > 0 {
			return time.Time{}, fmt.Errorf("%q is in the future; a relative start goes back in time, e.g. -24h", s)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not now, an RFC 3339 time (2024-05-01T00:00:00Z) or a negative duration (-24h, -7d)", s)
	}
	if t.After(now) {
		return time.Time{}, fmt.Errorf("%q is in the future", s)
	}
	return t, nil
}

// parseRelative reads a Go duration, also taking whole days ("-7d").
func parseRelative(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as -24h or -7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as -24h or -7d", s)
	}
	return d, nil
}
