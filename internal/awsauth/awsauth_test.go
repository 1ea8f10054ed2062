package awsauth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
)

// startSim runs a cloudsim on free ports.
func startSim(t *testing.T) (*cloudsim.Sim, cloudsim.AccountConfig) {
	t.Helper()
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "127.0.0.1:0", "", "127.0.0.1:0"
	s, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, c.AWS.Accounts[0]
}

// isolateEnv keeps the machine's AWS settings out of a test: no credentials in the
// environment, empty shared files.
func isolateEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_EC2_METADATA_DISABLED",
		"AWS_CA_BUNDLE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	for _, k := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		p := filepath.Join(dir, strings.ToLower(k))
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv(k, p)
	}
	// No instance metadata unless a test points at cloudsim's.
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1/")
}

func staticConfig(s *cloudsim.Sim, a cloudsim.AccountConfig) awsauth.Config {
	return awsauth.Config{
		AccessKeyID:     config.NewSecret(a.AccessKeyID),
		SecretAccessKey: config.NewSecret(a.SecretAccessKey),
		Endpoint:        s.Endpoints["aws"],
	}
}

func TestStaticKeys(t *testing.T) {
	isolateEnv(t)
	s, a := startSim(t)
	ctx := context.Background()
	cfg, err := awsauth.Load(ctx, staticConfig(s, a), "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region %q", cfg.Region)
	}
	id, err := awsauth.CallerIdentity(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if id.Account != "123456789012" || id.ARN != "arn:aws:iam::123456789012:user/logshipper" {
		t.Fatalf("identity %+v", id)
	}

	// The region override wins over the plugin's region.
	c := staticConfig(s, a)
	c.Region = "ap-southeast-2"
	if cfg, err := awsauth.Load(ctx, c, "eu-west-1"); err != nil || cfg.Region != "ap-southeast-2" {
		t.Fatalf("override: %q %v", cfg.Region, err)
	}

	// A wrong secret is refused, and the secret is nowhere in the error.
	c = staticConfig(s, a)
	c.SecretAccessKey = config.NewSecret("wrong-secret-do-not-print")
	cfg, err = awsauth.Load(ctx, c, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = awsauth.CallerIdentity(ctx, cfg)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("secret in the error: %v", err)
	}
}

// Without keys the SDK default chain finds the EC2 instance role through IMDSv2.
func TestDefaultChainInstanceRole(t *testing.T) {
	isolateEnv(t)
	s, _ := startSim(t)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.Endpoints["imds"]+"/")
	ctx := context.Background()
	cfg, err := awsauth.Load(ctx, awsauth.Config{Endpoint: s.Endpoints["aws"]}, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if creds.Source != "EC2RoleProvider" || creds.SessionToken == "" || !creds.CanExpire {
		t.Fatalf("credentials from %q (token %v, expires %v)", creds.Source, creds.SessionToken != "", creds.CanExpire)
	}
	id, err := awsauth.CallerIdentity(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(id.ARN, ":assumed-role/logshipper-role/") || id.Account != "123456789012" {
		t.Fatalf("identity %+v", id)
	}
}

// A profile of the shared files is read through the default chain.
func TestProfile(t *testing.T) {
	isolateEnv(t)
	s, a := startSim(t)
	creds := fmt.Sprintf("[shipper]\naws_access_key_id = %s\naws_secret_access_key = %s\n", a.AccessKeyID, a.SecretAccessKey)
	if err := os.WriteFile(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg, err := awsauth.Load(ctx, awsauth.Config{Profile: "shipper", Endpoint: s.Endpoints["aws"]}, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if id, err := awsauth.CallerIdentity(ctx, cfg); err != nil || id.Account != "123456789012" {
		t.Fatalf("%+v %v", id, err)
	}
	if _, err := awsauth.Load(ctx, awsauth.Config{Profile: "missing"}, "eu-west-1"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("unknown profile: %v", err)
	}
}

// recorder forwards to target and keeps the STS actions and their parameters.
type recorder struct {
	mu    sync.Mutex
	calls []url.Values
	proxy *httputil.ReverseProxy
}

func newRecorder(t *testing.T, target string) (*recorder, string) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{proxy: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Action") != "" {
		rc.mu.Lock()
		rc.calls = append(rc.calls, v)
		rc.mu.Unlock()
	}
	rc.proxy.ServeHTTP(w, r)
}

func (rc *recorder) actions(name string) []url.Values {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []url.Values
	for _, c := range rc.calls {
		if c.Get("Action") == name {
			out = append(out, c)
		}
	}
	return out
}

// The role is assumed with the external id through the endpoint override, and its
// credentials sign the calls after it, once (they are cached).
func TestAssumeRoleWithExternalID(t *testing.T) {
	isolateEnv(t)
	s, a := startSim(t)
	rec, endpoint := newRecorder(t, s.Endpoints["aws"])
	c := staticConfig(s, a)
	c.Endpoint = endpoint
	c.AssumeRoleARN = "arn:aws:iam::123456789012:role/shipper"
	c.ExternalID = "ext-4f1c2a"
	c.SessionName = "logshipper-test"
	ctx := context.Background()
	cfg, err := awsauth.Load(ctx, c, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		id, err := awsauth.CallerIdentity(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if id.ARN != "arn:aws:sts::123456789012:assumed-role/shipper/logshipper-test" {
			t.Fatalf("identity %+v", id)
		}
	}
	calls := rec.actions("AssumeRole")
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1 (cached)", len(calls))
	}
	if got := calls[0]; got.Get("ExternalId") != "ext-4f1c2a" || got.Get("RoleArn") != c.AssumeRoleARN || got.Get("RoleSessionName") != "logshipper-test" {
		t.Fatalf("AssumeRole parameters %v", got)
	}
	if n := len(rec.actions("GetCallerIdentity")); n != 2 {
		t.Fatalf("%d GetCallerIdentity calls through the endpoint override", n)
	}

	// Without a session name the default is used; without an external id none is sent.
	rec2, endpoint2 := newRecorder(t, s.Endpoints["aws"])
	c = staticConfig(s, a)
	c.Endpoint, c.AssumeRoleARN = endpoint2, "arn:aws:iam::123456789012:role/path/to/shipper"
	cfg, err = awsauth.Load(ctx, c, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	calls = rec2.actions("AssumeRole")
	if len(calls) != 1 || calls[0].Get("RoleSessionName") != awsauth.DefaultSessionName || calls[0].Has("ExternalId") {
		t.Fatalf("AssumeRole parameters %v", calls)
	}
}

// testProxy is a forward proxy that wants basic credentials and counts what it carries.
type testProxy struct {
	user, pass          string
	connects, forwarded atomic.Int64
	refused             atomic.Int64
	tr                  *http.Transport
}

func newTestProxy(t *testing.T, user, pass string) (*testProxy, *httptest.Server) {
	p := &testProxy{user: user, pass: pass, tr: &http.Transport{Proxy: nil}}
	srv := httptest.NewServer(p)
	t.Cleanup(func() { srv.Close(); p.tr.CloseIdleConnections() })
	return p, srv
}

func (p *testProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pass))
	if r.Header.Get("Proxy-Authorization") != want {
		p.refused.Add(1)
		w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusProxyAuthRequired)
		return
	}
	if r.Method == http.MethodConnect {
		p.connects.Add(1)
		dst, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			dst.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() {
			_, _ = io.Copy(dst, brw)
			dst.Close()
		}()
		_, _ = io.Copy(conn, dst)
		conn.Close()
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	p.forwarded.Add(1)
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Authorization")
	out.Header.Del("Proxy-Connection")
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// tlsFront serves target over TLS with httptest's certificate, written to a PEM file.
func tlsFront(t *testing.T, target string) (string, string) {
	u, _ := url.Parse(target)
	srv := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(u))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, ca
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProxyAndTLS(t *testing.T) {
	isolateEnv(t)
	s, a := startSim(t)
	ctx := context.Background()
	p, psrv := newTestProxy(t, "shipper", "pr0xy-pa$$")

	// Plain HTTP: the request is forwarded, with the proxy credentials.
	c := staticConfig(s, a)
	c.Proxy = netconf.Proxy{URL: psrv.URL, Username: "shipper", Password: config.NewSecret("pr0xy-pa$$")}
	cfg, err := awsauth.Load(ctx, c, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awsauth.CallerIdentity(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if p.forwarded.Load() == 0 || p.refused.Load() != 0 {
		t.Fatalf("forwarded %d, refused %d", p.forwarded.Load(), p.refused.Load())
	}

	// HTTPS: a CONNECT tunnel, and the endpoint's certificate trusted through ca_file.
	front, ca := tlsFront(t, s.Endpoints["aws"])
	c.Endpoint = front
	c.TLS.CAFile = ca
	cfg, err = awsauth.Load(ctx, c, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awsauth.CallerIdentity(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if p.connects.Load() == 0 {
		t.Fatal("no CONNECT through the proxy")
	}

	// Without the CA the certificate is refused...
	c.TLS.CAFile = ""
	cfg, err = awsauth.Load(ctx, c, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RetryMaxAttempts = 1
	if _, err := awsauth.CallerIdentity(ctx, cfg); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
	// ...unless verification is off, which is warned about.
	var logs syncBuffer
	c.TLS.InsecureSkipVerify = true
	cfg, err = awsauth.Load(ctx, c, "eu-west-1", awsauth.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awsauth.CallerIdentity(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "insecure_skip_verify") {
		t.Fatalf("no warning: %q", logs.String())
	}

	// A wrong proxy password: the proxy refuses, and the password is in no error.
	c = staticConfig(s, a)
	c.Proxy = netconf.Proxy{URL: psrv.URL, Username: "shipper", Password: config.NewSecret("nope-secret")}
	cfg, err = awsauth.Load(ctx, c, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.RetryMaxAttempts = 1
	_, err = awsauth.CallerIdentity(ctx, cfg)
	if err == nil || p.refused.Load() == 0 {
		t.Fatalf("wrong proxy password: %v", err)
	}
	if strings.Contains(err.Error(), "nope-secret") {
		t.Fatalf("proxy password in the error: %v", err)
	}

	// "none" goes direct, whatever the proxy would say.
	before := p.forwarded.Load() + p.connects.Load()
	c.Proxy = netconf.Proxy{URL: netconf.ProxyNone}
	cfg, err = awsauth.Load(ctx, c, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awsauth.CallerIdentity(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if p.forwarded.Load()+p.connects.Load() != before {
		t.Fatal("proxy none went through the proxy")
	}
}

// The instance metadata service is never reached through an explicit proxy.
func TestProxyBypassesIMDS(t *testing.T) {
	isolateEnv(t)
	s, _ := startSim(t)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.Endpoints["imds"]+"/")
	p, psrv := newTestProxy(t, "u", "p")
	ctx := context.Background()
	px := netconf.Proxy{URL: psrv.URL, Username: "u", Password: config.NewSecret("p")}
	cfg, err := awsauth.Load(ctx, awsauth.Config{Endpoint: s.Endpoints["aws"], Proxy: px}, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awsauth.CallerIdentity(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if p.forwarded.Load() != 1 {
		t.Fatalf("%d requests through the proxy, want 1 (STS only, not IMDS)", p.forwarded.Load())
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, ca := tlsFront(t, "http://127.0.0.1:1")
	key, secret := config.NewSecret("AKIAIOSFODNN7EXAMPLE"), config.NewSecret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	tests := []struct {
		name string
		c    awsauth.Config
		want []string // one substring per problem, in order; none: valid
	}{
		{"empty: default chain", awsauth.Config{}, nil},
		{"static keys", awsauth.Config{AccessKeyID: key, SecretAccessKey: secret}, nil},
		{"everything", awsauth.Config{AccessKeyID: key, SecretAccessKey: secret, SessionToken: config.NewSecret("tok"),
			AssumeRoleARN: "arn:aws:iam::123456789012:role/team/shipper", ExternalID: "ext-1", SessionName: "ls@host",
			Region: "eu-west-1", Endpoint: "https://vpce-1.sts.eu-west-1.vpce.amazonaws.com/", Proxy: netconf.Proxy{URL: "http://proxy.corp:3128", Username: "u", Password: config.NewSecret("p")},
			TLS: netconf.TLS{CAFile: ca}}, nil},
		{"gov partition", awsauth.Config{AssumeRoleARN: "arn:aws-us-gov:iam::123456789012:role/r"}, nil},
		{"proxy system", awsauth.Config{Proxy: netconf.Proxy{URL: "system"}}, nil},
		{"proxy none", awsauth.Config{Proxy: netconf.Proxy{URL: "none"}}, nil},
		{"proxy host:port", awsauth.Config{Proxy: netconf.Proxy{URL: "proxy.corp:8080"}}, nil},
		{"proxy socks5", awsauth.Config{Proxy: netconf.Proxy{URL: "socks5://10.0.0.1:1080"}}, nil},
		{"only the key id", awsauth.Config{AccessKeyID: key}, []string{"secret_access_key: missing"}},
		{"only the secret", awsauth.Config{SecretAccessKey: secret}, []string{"access_key_id: missing"}},
		{"secret in the key id", awsauth.Config{AccessKeyID: secret, SecretAccessKey: secret}, []string{"access_key_id: not an access key id"}},
		{"token alone", awsauth.Config{SessionToken: config.NewSecret("t")}, []string{"session_token: needs"}},
		{"profile and keys", awsauth.Config{AccessKeyID: key, SecretAccessKey: secret, Profile: "p"}, []string{"profile: cannot be used"}},
		{"role ARN of a user", awsauth.Config{AssumeRoleARN: "arn:aws:iam::123456789012:user/bob"}, []string{"assume_role_arn: \"arn:aws:iam::123456789012:user/bob\" is not an IAM role ARN"}},
		{"role ARN short account", awsauth.Config{AssumeRoleARN: "arn:aws:iam::12345:role/r"}, []string{"assume_role_arn:"}},
		{"role name", awsauth.Config{AssumeRoleARN: "shipper"}, []string{"assume_role_arn:"}},
		{"external id alone", awsauth.Config{ExternalID: "abc"}, []string{"external_id: only used with assume_role_arn"}},
		{"external id chars", awsauth.Config{AssumeRoleARN: "arn:aws:iam::123456789012:role/r", ExternalID: "a b"}, []string{"external_id: must be"}},
		{"session name", awsauth.Config{AssumeRoleARN: "arn:aws:iam::123456789012:role/r", SessionName: "x"}, []string{"session_name:"}},
		{"region", awsauth.Config{Region: "EU-West"}, []string{"region: \"EU-West\" is not a region"}},
		{"endpoint scheme", awsauth.Config{Endpoint: "ftp://x"}, []string{"endpoint:"}},
		{"endpoint no host", awsauth.Config{Endpoint: "http://"}, []string{"endpoint:"}},
		{"endpoint relative", awsauth.Config{Endpoint: "localhost:4566"}, []string{"endpoint:"}},
		{"endpoint port", awsauth.Config{Endpoint: "http://127.0.0.1:99999"}, []string{"endpoint:"}},
		{"proxy scheme", awsauth.Config{Proxy: netconf.Proxy{URL: "ftp://proxy:21"}}, []string{"proxy: url: scheme \"ftp\""}},
		{"proxy port", awsauth.Config{Proxy: netconf.Proxy{URL: "http://u:secretpw@proxy:http"}}, []string{"proxy: url:"}},
		{"proxy path", awsauth.Config{Proxy: netconf.Proxy{URL: "http://proxy:3128/path"}}, []string{"proxy: url:", "a proxy URL has no path"}},
		{"proxy no host", awsauth.Config{Proxy: netconf.Proxy{URL: "http://:3128"}}, []string{"proxy: url:", "no host"}},
		{"proxy bad escape", awsauth.Config{Proxy: netconf.Proxy{URL: "http://proxy%zz:3128"}}, []string{"proxy: url: not a URL"}},
		{"proxy password in the url", awsauth.Config{Proxy: netconf.Proxy{URL: "http://u:sec%zzret@proxy:3128"}}, []string{"proxy: url: a user name or password in the URL"}},
		{"ca file missing", awsauth.Config{TLS: netconf.TLS{CAFile: filepath.Join(dir, "none.pem")}}, []string{"tls: ca_file:"}},
		{"ca file not PEM", awsauth.Config{TLS: netconf.TLS{CAFile: notPEM}}, []string{"tls: ca_file:", "no PEM certificate"}},
		{"every problem at once", awsauth.Config{AccessKeyID: key, AssumeRoleARN: "x", Region: "x", Proxy: netconf.Proxy{URL: "ftp://p"}},
			[]string{"secret_access_key:", "assume_role_arn:", "region:", "proxy:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := errors.Join(config.ValidateTree(&tt.c, "")...)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("%q does not have %q (in order)", msg, w)
				}
				at += i
			}
			for _, s := range []string{"secretpw", "sec%zzret", "wJalrXUtnFEMI"} {
				if strings.Contains(msg, s) {
					t.Fatalf("secret in %q", msg)
				}
			}
		})
	}
}

// The configuration is decoded by the project's loader and prints no secret, whatever the verb.
func TestSecretsNotPrinted(t *testing.T) {
	c := awsauth.Config{
		AccessKeyID: config.NewSecret("AKIAIOSFODNN7EXAMPLE"), SecretAccessKey: config.NewSecret("topsecretvalue"),
		SessionToken: config.NewSecret("sessiontokenvalue"),
		Proxy:        netconf.Proxy{URL: "http://proxy:3128", Username: "user", Password: config.NewSecret("proxypassword")},
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "aws", c, "proxy", c.Proxy)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("cfg", "aws", c, "proxy", c.Proxy)
	for _, out := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s %q", c.Proxy, c.Proxy), logs.String()} {
		for _, secret := range []string{"AKIAIOSFODNN7EXAMPLE", "topsecretvalue", "sessiontokenvalue", "proxypassword"} {
			if strings.Contains(out, secret) {
				t.Fatalf("%q shows %s", out, secret)
			}
		}
	}
	if got := c.Proxy.String(); got != "http://user:xxxxx@proxy:3128" {
		t.Fatalf("proxy prints as %q", got)
	}
}

// Config decodes inline in a plugin configuration through the project's strict loader.
func TestDecodeInline(t *testing.T) {
	type pluginConfig struct {
		AWS     awsauth.Config `yaml:",inline"`
		Channel string         `yaml:"channel_arn"`
	}
	var pc pluginConfig
	errs := config.ValidateTree(&pc, "destinations.lake")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	pc.AWS.AccessKeyID = config.NewSecret("AKIAIOSFODNN7EXAMPLE")
	errs = config.ValidateTree(&pc, "destinations.lake")
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "destinations.lake: secret_access_key: missing") {
		t.Fatalf("%v", errs)
	}
}

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		warn     bool
	}{
		{"", false},
		{"https://logs.example.internal", false},
		{"http://127.0.0.1:4566", false},
		{"http://localhost:4566", false},
		{"http://10.1.2.3:4566", true},
	} {
		w := (&awsauth.Config{Endpoint: tc.endpoint}).Warnings()
		if (len(w) > 0) != tc.warn || tc.warn && !strings.Contains(w[0], "endpoint: every record") {
			t.Errorf("endpoint %q: warnings %q, want a warning: %v", tc.endpoint, w, tc.warn)
		}
	}
}
