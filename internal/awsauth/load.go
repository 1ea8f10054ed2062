package awsauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
)

// Timeouts of the HTTP client Load builds. A request's context may end it sooner.
const (
	DialTimeout           = 10 * time.Second
	TLSHandshakeTimeout   = 10 * time.Second
	ResponseHeaderTimeout = 60 * time.Second
	// RequestTimeout bounds a whole request, the response body included, so a peer that stops
	// reading or sending cannot hold a caller whose context has no deadline.
	RequestTimeout = 2 * time.Minute
	// AssumeRoleDuration is the lifetime asked for assumed-role credentials; they are renewed
	// CredentialsExpiryWindow before they expire.
	AssumeRoleDuration      = time.Hour
	CredentialsExpiryWindow = 5 * time.Minute
)

// stsFallbackRegion signs STS calls when no region is known: STS's global endpoint is there.
const stsFallbackRegion = "us-east-1"

// imdsHosts are the EC2 instance metadata addresses, never reached through a proxy.
var imdsHosts = []string{"169.254.169.254", "fd00:ec2::254"}

// Option changes what Load does.
type Option func(*loadOptions)

type loadOptions struct {
	logger *slog.Logger
}

// WithLogger sets where Load's warnings and the SDK's own log lines go (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *loadOptions) { o.logger = l } }

// Load builds the SDK configuration for c. region is the plugin's region (from a channel ARN,
// a regions list, ...); c.Region overrides it, and when both are empty the SDK's default
// (AWS_REGION, the profile) applies. Credentials are c's static key, else the SDK default chain
// (environment, shared profile c.Profile, web identity, container, EC2 instance role via IMDSv2);
// with c.AssumeRoleARN they sign sts:AssumeRole (through c.Endpoint when set) and the role's
// credentials, cached and renewed before they expire, sign everything else.
//
// Load does not call AWS; credentials are fetched on first use. CallerIdentity checks them.
func Load(ctx context.Context, c Config, region string, opts ...Option) (aws.Config, error) {
	lo := loadOptions{logger: slog.Default()}
	for _, o := range opts {
		o(&lo)
	}
	if errs := config.ValidateTree(&c, ""); len(errs) > 0 {
		return aws.Config{}, fmt.Errorf("awsauth: %w", errors.Join(errs...))
	}
	hc, err := newHTTPClient(c, lo.logger)
	if err != nil {
		return aws.Config{}, err
	}
	lopts := []func(*awsconfig.LoadOptions) error{awsconfig.WithHTTPClient(hc), awsconfig.WithLogger(newSDKLogger(lo.logger))}
	if c.Region != "" {
		region = c.Region
	}
	if region != "" {
		lopts = append(lopts, awsconfig.WithRegion(region))
	}
	if c.Profile != "" {
		lopts = append(lopts, awsconfig.WithSharedConfigProfile(c.Profile))
	}
	if c.AccessKeyID.IsSet() {
		lopts = append(lopts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			strings.TrimSpace(c.AccessKeyID.Value()), strings.TrimSpace(c.SecretAccessKey.Value()), strings.TrimSpace(c.SessionToken.Value()))))
	}
	if c.Endpoint != "" {
		lopts = append(lopts, awsconfig.WithBaseEndpoint(strings.TrimRight(c.Endpoint, "/")))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, lopts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("awsauth: loading the AWS configuration: %w", err)
	}
	if c.AssumeRoleARN != "" {
		stsCfg := cfg.Copy()
		if stsCfg.Region == "" {
			stsCfg.Region = stsFallbackRegion
		}
		name := c.SessionName
		if name == "" {
			name = DefaultSessionName
		}
		prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(stsCfg), c.AssumeRoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = name
			o.Duration = AssumeRoleDuration
			if c.ExternalID != "" {
				o.ExternalID = aws.String(c.ExternalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(prov, func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = CredentialsExpiryWindow
		})
	}
	return cfg, nil
}

// Identity is who AWS takes the credentials for.
type Identity struct {
	Account, ARN, UserID string
}

// CallerIdentity asks STS (GetCallerIdentity, which needs no permission) who cfg's credentials
// belong to: the configuration check of AWS plugins. optFns adjust the STS client (a caller
// for which the answer is only nice to have sets RetryMaxAttempts to 1).
func CallerIdentity(ctx context.Context, cfg aws.Config, optFns ...func(*sts.Options)) (Identity, error) {
	cfg = cfg.Copy()
	if cfg.Region == "" {
		cfg.Region = stsFallbackRegion
	}
	out, err := sts.NewFromConfig(cfg, optFns...).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, fmt.Errorf("awsauth: sts:GetCallerIdentity: %w", err)
	}
	return Identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn), UserID: aws.ToString(out.UserId)}, nil
}

// newHTTPClient returns the SDK's buildable client (so AWS_CA_BUNDLE and the SDK's defaults
// modes still apply) with c's proxy and TLS through netconf, and our timeouts.
func newHTTPClient(c Config, log *slog.Logger) (*awshttp.BuildableClient, error) {
	nc, err := netconf.NewHTTP(c.Proxy, c.TLS, log, "AWS endpoints")
	if err != nil {
		return nil, fmt.Errorf("awsauth: %w", err)
	}
	proxy := bypassIMDS(nc.ProxyFunc())
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = DialTimeout
			d.KeepAlive = netconf.KeepAlive
		}).
		WithTransportOptions(func(tr *http.Transport) {
			nc.Configure(tr)
			tr.Proxy = proxy
			tr.TLSHandshakeTimeout = TLSHandshakeTimeout
			tr.ResponseHeaderTimeout = ResponseHeaderTimeout
			tr.IdleConnTimeout = netconf.IdleConnTimeout
			tr.MaxIdleConnsPerHost = netconf.MaxIdleConnsPerHost
		}).
		WithTimeout(RequestTimeout), nil
}

// bypassIMDS wraps the transport's proxy choice so that the instance metadata service is always
// reached directly: it is link-local, and a proxy would answer for another machine.
func bypassIMDS(base func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	if base == nil {
		return nil
	}
	direct := map[string]bool{}
	for _, h := range imdsHosts {
		direct[h] = true
	}
	if ep := os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); ep != "" {
		if eu, err := url.Parse(ep); err == nil && eu.Hostname() != "" {
			direct[eu.Host] = true
		}
	}
	return func(r *http.Request) (*url.URL, error) {
		if r.URL != nil && (direct[r.URL.Hostname()] || direct[r.URL.Host]) {
			return nil, nil
		}
		return base(r)
	}
}
