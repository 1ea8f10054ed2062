// Package awsauth holds what every AWS plugin needs to reach AWS: the configuration keys for
// credentials (static keys, the SDK's default chain, a shared profile, an assumed role with an
// external id), region and endpoint overrides, the proxy and TLS sections of internal/netconf,
// their validation, and Load, which turns them into an aws.Config for the SDK's clients and for
// clients of our own (internal/lakeapi).
//
// A plugin embeds Config inline, so its keys sit beside the plugin's own:
//
//	type Config struct {
//		AWS     awsauth.Config `yaml:",inline"`
//		Channel string         `yaml:"channel_arn"`
//	}
//
// config.ValidateTree calls Config.Validate for it, and the sections' own. Secrets (the keys, a
// proxy password) are never logged or printed: they are config.Secret values.
package awsauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
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
	// Proxy is the proxy of every AWS connection but the instance metadata service's
	// (netconf.Proxy: the system's by default).
	Proxy netconf.Proxy `yaml:"proxy"`
	// TLS is the trust (and client certificate) of AWS connections (netconf.TLS).
	TLS netconf.TLS `yaml:"tls"`
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

// Validate reports every problem, each starting with its key. The proxy and tls sections
// validate themselves (config.ValidateTree walks into them).
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

var _ config.Warner = (*Config)(nil)

// Warnings implements config.Warner: an endpoint over plain http to another machine. Requests
// are signed, so the secret key never travels, but a session token does, and every record.
func (c *Config) Warnings() []string {
	if c.Endpoint == "" {
		return nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return nil
	}
	if w := netconf.CleartextWarning(u, "every record (and a session token, if any)"); w != "" {
		return []string{"endpoint: " + w}
	}
	return nil
}
