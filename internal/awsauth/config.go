// Package awsauth holds what every AWS plugin needs to reach AWS: the configuration keys for
// credentials (static keys, the SDK's default chain, a shared profile, an assumed role with an
// external id), region and endpoint overrides, an HTTP(S) proxy and TLS trust, their
// validation, and Load, which turns them into an aws.Config for the SDK's clients and for
// clients of our own (internal/lakeapi).
//
// A plugin embeds Config inline, so its keys sit beside the plugin's own:
//
//	type Config struct {
//		AWS     awsauth.Config `yaml:",inline"`
//		Channel string         `yaml:"channel_arn"`
//	}
//
// config.ValidateTree calls Config.Validate for it. Secrets (the keys, a proxy password) are
// never logged or printed: they are config.Secret values, and Proxy prints its URL redacted.
package awsauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/tlsx"
)

// DefaultSessionName is the role session name used when session_name is not set.
const DefaultSessionName = "logshipper"

// Config is the AWS access configuration of a plugin.
type Config struct {
	// AccessKeyID and SecretAccessKey are a long-term access key. Both or neither: without
	// them the SDK's default chain is used (environment, shared profile, web identity, ECS,
	// EC2 instance role through IMDSv2).
	AccessKeyID     config.Secret `yaml:"access_key_id"`
	SecretAccessKey config.Secret `yaml:"secret_access_key"`
	// SessionToken goes with temporary keys (ASIA...). Optional.
	SessionToken config.Secret `yaml:"session_token"`
	// Profile is a profile of the shared config and credentials files (default chain only).
	Profile string `yaml:"profile"`
	// AssumeRoleARN, when set, is assumed with the credentials above (sts:AssumeRole); the
	// temporary credentials are refreshed before they expire.
	AssumeRoleARN string `yaml:"assume_role_arn"`
	// ExternalID is passed to AssumeRole (the role's trust policy may require it).
	ExternalID string `yaml:"external_id"`
	// SessionName is the role session name (default "logshipper"); it shows in CloudTrail.
	SessionName string `yaml:"session_name"`
	// Region overrides the region the plugin would use (and the SDK's default).
	Region string `yaml:"region"`
	// Endpoint overrides every AWS endpoint, STS included, with one base URL (cloudsim,
	// LocalStack, a VPC endpoint).
	Endpoint string `yaml:"endpoint"`
	// Proxy is "system" (default: HTTPS_PROXY, HTTP_PROXY and NO_PROXY from the environment),
	// "none", or a proxy URL, http://[user:password@]host:port (https:// and socks5:// too).
	Proxy Proxy `yaml:"proxy"`
	// TLS adds trust (a CA file) or, for tests only, turns verification off.
	TLS TLSConfig `yaml:"tls"`
}

// TLSConfig is the TLS trust of AWS connections.
type TLSConfig struct {
	// CAFile holds PEM certificates trusted besides the system's (a TLS-inspecting proxy's
	// CA, a private endpoint's).
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify accepts any server certificate. Never in production: anyone on the
	// path can then read and change the traffic. Load logs a warning when it is on.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Proxy is the proxy setting: "", "system", "none" or a URL. Printing it (fmt, slog, JSON,
// YAML) shows the URL with its password redacted.
type Proxy string

// Proxy modes.
const (
	ProxySystem = "system"
	ProxyNone   = "none"
)

func (p Proxy) String() string {
	mode, u, err := p.parse()
	switch {
	case err != nil:
		if strings.Contains(string(p), "@") {
			return "[unparsable proxy URL, redacted]"
		}
		return string(p)
	case u != nil:
		return u.Redacted()
	}
	return mode
}

// GoString keeps %#v from showing a password.
func (p Proxy) GoString() string { return "awsauth.Proxy(" + fmt.Sprintf("%q", p.String()) + ")" }

// Format makes every fmt verb print the redacted form.
func (p Proxy) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = fmt.Fprintf(f, "%q", p.String())
		return
	}
	_, _ = f.Write([]byte(p.String()))
}

// LogValue keeps slog from showing a password.
func (p Proxy) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalText keeps encoders from showing a password.
func (p Proxy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// MarshalYAML keeps YAML encoders from showing a password.
func (p Proxy) MarshalYAML() (any, error) { return p.String(), nil }

// parse returns the mode ("system", "none" or "url") and, for "url", the proxy URL. A URL
// without a scheme is taken as http://.
func (p Proxy) parse() (string, *url.URL, error) {
	s := strings.TrimSpace(string(p))
	switch strings.ToLower(s) {
	case "", ProxySystem:
		return ProxySystem, nil, nil
	case ProxyNone, "off", "direct":
		return ProxyNone, nil, nil
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", nil, fmt.Errorf("not a URL (%v)", err)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return "", nil, fmt.Errorf("scheme %q is not http, https, socks5 or socks5h", u.Scheme)
	}
	if u.Hostname() == "" {
		return "", nil, errors.New("no host")
	}
	if port := u.Port(); port != "" {
		if n, err := parsePort(port); err != nil || n == 0 {
			return "", nil, fmt.Errorf("port %q is not 1-65535", port)
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", nil, errors.New("a proxy URL has no path, query or fragment")
	}
	if u.User != nil && u.User.Username() == "" {
		return "", nil, errors.New("a password without a user name")
	}
	return "url", u, nil
}

func parsePort(s string) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, errors.New("too large")
		}
	}
	return n, nil
}

var (
	roleARNRe     = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/(?:[\x21-\x7e]+/)?[\w+=,.@-]{1,64}$`)
	externalIDRe  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	regionRe      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	accessKeyIDRe = regexp.MustCompile(`^\w{1,128}$`)
)

// Validate reports every problem, each starting with its key.
func (c *Config) Validate() error {
	var p config.Problems
	id, secret := c.AccessKeyID.IsSet(), c.SecretAccessKey.IsSet()
	switch {
	case id && !secret:
		p.Addf("secret_access_key: missing (access_key_id is set; give both, or neither to use the default credential chain)")
	case secret && !id:
		p.Addf("access_key_id: missing (secret_access_key is set; give both, or neither to use the default credential chain)")
	}
	if id && !accessKeyIDRe.MatchString(strings.TrimSpace(c.AccessKeyID.Value())) {
		// The value is not shown: it may be a secret pasted in the wrong key.
		p.Addf("access_key_id: not an access key id (letters and digits, like AKIA...)")
	}
	if c.SessionToken.IsSet() && !id {
		p.Addf("session_token: needs access_key_id and secret_access_key")
	}
	if c.Profile != "" && (id || secret) {
		p.Addf("profile: cannot be used with access_key_id/secret_access_key (the profile is part of the default chain)")
	}
	if c.AssumeRoleARN != "" && !roleARNRe.MatchString(c.AssumeRoleARN) {
		p.Addf("assume_role_arn: %q is not an IAM role ARN (want arn:aws:iam::<12-digit account>:role/<name>)", c.AssumeRoleARN)
	}
	if c.ExternalID != "" {
		if c.AssumeRoleARN == "" {
			p.Addf("external_id: only used with assume_role_arn")
		} else if n := len(c.ExternalID); n < 2 || n > 1224 || !externalIDRe.MatchString(c.ExternalID) {
			p.Addf("external_id: must be 2-1224 characters of letters, digits and +=,.@:/-_")
		}
	}
	if c.SessionName != "" {
		if c.AssumeRoleARN == "" {
			p.Addf("session_name: only used with assume_role_arn")
		} else if !sessionNameRe.MatchString(c.SessionName) {
			p.Addf("session_name: %q must be 2-64 characters of letters, digits and +=,.@-_", c.SessionName)
		}
	}
	if c.Region != "" && !regionRe.MatchString(c.Region) {
		p.Addf("region: %q is not a region name (like us-east-1)", c.Region)
	}
	if c.Endpoint != "" {
		if err := checkEndpoint(c.Endpoint); err != nil {
			p.Addf("endpoint: %v", err)
		}
	}
	if _, _, err := c.Proxy.parse(); err != nil {
		p.Addf("proxy: %v (want \"system\", \"none\" or http://[user:password@]host:port)", err)
	}
	if c.TLS.CAFile != "" {
		if _, err := tlsx.ReadCAFile(c.TLS.CAFile); err != nil {
			p.Addf("tls.ca_file: %v", err)
		}
	}
	return p.Err()
}

// checkEndpoint accepts an http or https base URL with a host and nothing after the path.
func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not a URL (%v)", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: want an http:// or https:// URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q: no user or password in an endpoint", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: an endpoint has no query or fragment", s)
	}
	if _, port, err := net.SplitHostPort(u.Host); err == nil {
		if n, err := parsePort(port); err != nil || n == 0 {
			return fmt.Errorf("%q: port %q is not 1-65535", s, port)
		}
	}
	return nil
}
