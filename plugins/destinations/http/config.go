package httpdest

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Modes.
const (
	ModeHTTP      = "http"
	ModeSplunkHEC = "splunk_hec"
)

// Formats of the body in http mode.
const (
	FormatNDJSON    = "ndjson"
	FormatJSONArray = "json_array"
)

// Compressions.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
)

// DefaultMaxBodyBytes is the default largest body of one request, before compression: 1 MiB,
// the batch size Vector's splunk_hec sink and Sumo Logic's HTTP source use, and what HEC's
// max_content_length allowed before Splunk 7.
const DefaultMaxBodyBytes = 1 << 20

// Config is the http destination's configuration.
type Config struct {
	// URL is where batches are sent (http or https). In splunk_hec mode see hecURL.
	URL string `yaml:"url"`
	// Mode is "http" (plain JSON batches) or "splunk_hec" (Splunk HTTP Event Collector).
	Mode string `yaml:"mode"`
	// Method is POST or PUT (http mode; HEC is always POST).
	Method string `yaml:"method"`
	// Format is ndjson or json_array (http mode; HEC events are sent one per line).
	Format string `yaml:"format"`
	// Compression is gzip or none.
	Compression string `yaml:"compression"`
	// Headers are added to every request. Every value is treated as a secret: never logged.
	Headers map[string]config.Secret `yaml:"headers"`
	// Token is sent as "Authorization: <auth_scheme> <token>".
	Token config.Secret `yaml:"token"`
	// AuthScheme is the scheme of the token: Bearer, or Splunk in splunk_hec mode.
	AuthScheme string `yaml:"auth_scheme"`
	// Username and Password are HTTP basic authentication (not with token).
	Username string        `yaml:"username"`
	Password config.Secret `yaml:"password"`
	// Timeout bounds one request, from connecting to reading the answer.
	Timeout time.Duration `yaml:"timeout"`
	// TLS is the trust and the client certificate of https connections (netconf.TLS).
	TLS netconf.TLS `yaml:"tls"`
	// Proxy is the proxy of every request (netconf.Proxy: the system's by default).
	Proxy netconf.Proxy `yaml:"proxy"`
	// MaxBodyBytes is the largest body of one request before compression; batches are cut
	// to fit.
	MaxBodyBytes config.ByteSize `yaml:"max_body_bytes"`
	// SuccessCodes, when set, are the only statuses taken as delivered; empty means any 2xx.
	SuccessCodes []int `yaml:"success_codes"`

	// Splunk HEC event metadata (splunk_hec mode only).
	Host       string            `yaml:"host"`
	Source     string            `yaml:"source"`
	Sourcetype string            `yaml:"sourcetype"`
	Index      string            `yaml:"index"`
	Fields     map[string]string `yaml:"fields"`
	// Channel is sent as X-Splunk-Request-Channel (a GUID).
	Channel string `yaml:"channel"`
}

var _ plugin.Config = (*Config)(nil)

// NewConfig returns the defaults.
func NewConfig() plugin.Config {
	return &Config{
		Mode:         ModeHTTP,
		Method:       "POST",
		Format:       FormatNDJSON,
		Compression:  CompressionGzip,
		Timeout:      30 * time.Second,
		MaxBodyBytes: DefaultMaxBodyBytes,
	}
}

// authScheme is the scheme the token is sent with.
func (c *Config) authScheme() string {
	switch {
	case c.AuthScheme != "":
		return c.AuthScheme
	case c.Mode == ModeSplunkHEC:
		return "Splunk"
	}
	return "Bearer"
}

// Validate implements plugin.Config: it reports every problem, each starting with its key. The
// proxy and tls sections validate themselves (config.ValidateTree walks into them).
func (c *Config) Validate() error {
	var p config.Problems
	if c.URL == "" {
		p.Addf("url: missing (http:// or https:// URL)")
	} else if err := checkURL(c.URL); err != nil {
		p.Addf("url: %v", err)
	} else if c.Mode == ModeSplunkHEC {
		if _, err := hecURL(c.URL); err != nil {
			p.Addf("url: %v", err)
		}
	}
	switch c.Mode {
	case ModeHTTP:
		for key, set := range map[string]bool{
			"host": c.Host != "", "source": c.Source != "", "sourcetype": c.Sourcetype != "",
			"index": c.Index != "", "fields": len(c.Fields) > 0, "channel": c.Channel != "",
		} {
			if set {
				p.Addf("%s: only used in mode splunk_hec", key)
			}
		}
	case ModeSplunkHEC:
		if c.Method != "POST" {
			p.Addf("method: HEC takes POST only")
		}
		if c.Format != FormatNDJSON {
			p.Addf("format: HEC takes events one after the other (ndjson), not %q", c.Format)
		}
		if !c.Token.IsSet() {
			p.Addf("token: missing (the HEC token; mode splunk_hec needs one)")
		}
		for k := range c.Fields {
			if k == "" {
				p.Addf("fields: an empty field name")
			}
		}
	default:
		p.Addf("mode: %q is not http or splunk_hec", c.Mode)
	}
	if c.Method != "POST" && c.Method != "PUT" {
		p.Addf("method: %q is not POST or PUT", c.Method)
	}
	if c.Format != FormatNDJSON && c.Format != FormatJSONArray {
		p.Addf("format: %q is not ndjson or json_array", c.Format)
	}
	if c.Compression != CompressionGzip && c.Compression != CompressionNone {
		p.Addf("compression: %q is not gzip or none", c.Compression)
	}
	names := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case !validHeaderName(k):
			p.Addf("headers: %q is not a header name", k)
		case reservedHeader(k):
			p.Addf("headers: %s is set by the destination itself", k)
		case strings.EqualFold(k, "Authorization") && (c.Token.IsSet() || c.Username != ""):
			p.Addf("headers: Authorization cannot be given with token or username")
		case strings.ContainsAny(c.Headers[k].Value(), "\r\n"):
			p.Addf("headers: the value of %s holds a line break", k) // the value is not shown
		}
	}
	if c.Token.IsSet() && c.Username != "" {
		p.Addf("token: cannot be used with username/password (one Authorization header)")
	}
	if c.Password.IsSet() && c.Username == "" {
		p.Addf("password: needs username")
	}
	if strings.ContainsAny(c.AuthScheme, " \t\r\n") {
		p.Addf("auth_scheme: %q must be one word (Bearer, Splunk, Token, ...)", c.AuthScheme)
	}
	if strings.ContainsAny(c.Token.Value(), "\r\n") {
		p.Addf("token: holds a line break")
	}
	if c.Timeout <= 0 {
		p.Addf("timeout: must be positive")
	}
	if c.MaxBodyBytes < 1024 {
		p.Addf("max_body_bytes: must be at least 1KiB")
	}
	for _, code := range c.SuccessCodes {
		if code < 200 || code > 599 {
			p.Addf("success_codes: %d is not an HTTP status of 200 to 599", code)
		}
	}
	return p.Err()
}

var _ config.Warner = (*Config)(nil)

// Warnings implements config.Warner: credentials sent in clear.
func (c *Config) Warnings() []string {
	var secrets []string
	if c.Token.IsSet() {
		secrets = append(secrets, "token")
	}
	if c.Password.IsSet() {
		secrets = append(secrets, "password")
	}
	for name := range c.Headers {
		if credentialHeader(name) {
			secrets = append(secrets, "headers")
			break
		}
	}
	u, err := url.Parse(c.URL)
	if err != nil || len(secrets) == 0 {
		return nil
	}
	if w := netconf.CleartextWarning(u, strings.Join(secrets, ", ")); w != "" {
		return []string{"url: " + w}
	}
	return nil
}

// credentialHeader reports a header name that carries a credential (Authorization, a cookie, an
// API key or token): a Content-Type sent in clear is no secret.
func credentialHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"authorization", "cookie", "token", "key", "secret", "password", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// checkURL accepts an absolute http(s) URL with a host and no credentials or fragment.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not a URL (%v)", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: want an http:// or https:// URL", redactURL(u))
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", redactURL(u))
	}
	if u.User != nil {
		return fmt.Errorf("%q: put credentials in username/password or token, not in the URL", redactURL(u))
	}
	if u.Fragment != "" {
		return fmt.Errorf("%q: a fragment is never sent", redactURL(u))
	}
	return nil
}

// redactURL is u without credentials and query (which may hold a key): safe to log.
func redactURL(u *url.URL) string {
	v := *u
	v.User = nil
	if v.RawQuery != "" {
		v.RawQuery = "..."
	}
	v.Fragment = ""
	return v.String()
}

// hecURL is the event endpoint of a HEC url: the URL as given when its path already ends with
// /services/collector, /services/collector/event or /services/collector/event/1.0, else the
// URL with /services/collector/event appended to its path.
func hecURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	p := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(p, "/services/collector/raw") || strings.HasSuffix(p, "/services/collector/raw/1.0"):
		return nil, errors.New("the raw endpoint is not supported: give the base URL or /services/collector/event")
	case strings.HasSuffix(p, "/services/collector"), strings.HasSuffix(p, "/services/collector/event"),
		strings.HasSuffix(p, "/services/collector/event/1.0"):
		u.Path = p
	default:
		u.Path = p + "/services/collector/event"
	}
	u.RawPath = ""
	return u, nil
}

// hecHealthURL is <base>/services/collector/health for the event endpoint u.
func hecHealthURL(u *url.URL) *url.URL {
	v := *u
	i := strings.LastIndex(v.Path, "/services/collector")
	v.Path = v.Path[:i] + "/services/collector/health"
	v.RawQuery = ""
	return &v
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// reservedHeader names headers the destination computes.
func reservedHeader(k string) bool {
	switch strings.ToLower(k) {
	case "content-length", "content-encoding", "transfer-encoding", "host", "connection":
		return true
	}
	return false
}
