package imds_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	ec2imds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/imds"
	"github.com/logshipper/logshipper/internal/sim/sts"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func call(t *testing.T, srv *httptest.Server, method, path string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func token(t *testing.T, srv *httptest.Server, ttl string) string {
	t.Helper()
	resp, body := call(t, srv, "PUT", imds.TokenPath, map[string]string{imds.TokenTTLHeader: ttl})
	if resp.StatusCode != 200 || resp.Header.Get(imds.TokenTTLHeader) != ttl || body == "" {
		t.Fatalf("token: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	return body
}

func TestTokens(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := imds.New(imds.Config{Keys: awssim.NewKeyring(), Now: clk.Now})
	srv := httptest.NewServer(s)
	defer srv.Close()
	const id = "/latest/meta-data/instance-id"

	for _, tc := range []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		status int
	}{
		{"token without ttl", "PUT", imds.TokenPath, nil, 400},
		{"token ttl 0", "PUT", imds.TokenPath, map[string]string{imds.TokenTTLHeader: "0"}, 400},
		{"token ttl too long", "PUT", imds.TokenPath, map[string]string{imds.TokenTTLHeader: "21601"}, 400},
		{"token ttl not a number", "PUT", imds.TokenPath, map[string]string{imds.TokenTTLHeader: "1h"}, 400},
		{"token through a proxy", "PUT", imds.TokenPath, map[string]string{imds.TokenTTLHeader: "60", "X-Forwarded-For": "10.0.0.1"}, 403},
		{"token by GET", "GET", imds.TokenPath, map[string]string{imds.TokenTTLHeader: "60"}, 405},
		{"token max ttl", "PUT", imds.TokenPath, map[string]string{imds.TokenTTLHeader: "21600"}, 200},
		{"IMDSv1 refused", "GET", id, nil, 401},
		{"unknown token", "GET", id, map[string]string{imds.TokenHeader: "AQAEAnotatoken"}, 401},
		{"POST", "POST", id, nil, 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := call(t, srv, tc.method, tc.path, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 && !strings.Contains(body, "<title>") {
				t.Errorf("error body %q", body)
			}
		})
	}

	tok := token(t, srv, "60")
	resp, body := call(t, srv, "GET", id, map[string]string{imds.TokenHeader: tok})
	if resp.StatusCode != 200 || body != imds.DefaultInstanceID {
		t.Fatalf("instance-id: %d %q", resp.StatusCode, body)
	}
	clk.Add(61 * time.Second)
	if resp, _ := call(t, srv, "GET", id, map[string]string{imds.TokenHeader: tok}); resp.StatusCode != 401 {
		t.Fatalf("expired token: %d", resp.StatusCode)
	}
	s.SetIMDSv1(true)
	if resp, body := call(t, srv, "GET", id, nil); resp.StatusCode != 200 || body != imds.DefaultInstanceID {
		t.Fatalf("IMDSv1 allowed: %d %q", resp.StatusCode, body)
	}
	// A token that is sent must be valid, IMDSv1 or not.
	if resp, _ := call(t, srv, "GET", id, map[string]string{imds.TokenHeader: tok}); resp.StatusCode != 401 {
		t.Fatalf("expired token with IMDSv1: %d", resp.StatusCode)
	}
}

func TestDocuments(t *testing.T) {
	keys := awssim.NewKeyring()
	s := imds.New(imds.Config{Keys: keys, RoleName: "shipper-role", AccountID: "444455556666", Region: "eu-west-3",
		InstanceID: "i-0abcdef1234567890", UserData: "#!/bin/sh\n"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	tok := token(t, srv, "300")
	get := func(path string) (int, string) {
		resp, body := call(t, srv, "GET", path, map[string]string{imds.TokenHeader: tok})
		return resp.StatusCode, body
	}
	for _, tc := range []struct{ path, want string }{
		{"/latest/meta-data/placement/region", "eu-west-3"},
		{"/latest/meta-data/placement/availability-zone", "eu-west-3a"},
		{"/latest/meta-data/instance-id", "i-0abcdef1234567890"},
		{"/latest/meta-data/iam/security-credentials/", "shipper-role"},
		{"/latest/meta-data/iam/security-credentials", "shipper-role"},
		{"/latest/meta-data/placement/", "availability-zone\nregion"},
		{"/latest/meta-data/", "ami-id\nhostname\niam/\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/"},
		{"/latest/", "dynamic\nmeta-data\nuser-data"},
		{"/latest/dynamic/instance-identity/", "document"},
		{"/latest/user-data", "#!/bin/sh\n"},
	} {
		if status, body := get(tc.path); status != 200 || body != tc.want {
			t.Errorf("%s: %d %q, want %q", tc.path, status, body, tc.want)
		}
	}
	for _, p := range []string{"/latest/meta-data/iam/security-credentials/other-role", "/latest/meta-data/nothing", "/2009-04-04/meta-data/"} {
		if status, _ := get(p); status != 404 {
			t.Errorf("%s: %d, want 404", p, status)
		}
	}

	status, body := get("/latest/meta-data/iam/security-credentials/shipper-role")
	if status != 200 || !strings.Contains(body, `"Code" : "Success",`) {
		t.Fatalf("credentials: %d %s", status, body)
	}
	var doc struct {
		Code, LastUpdated, Type, AccessKeyId, SecretAccessKey, Token string
		Expiration                                                   time.Time
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Code != "Success" || doc.Type != "AWS-HMAC" || !strings.HasPrefix(doc.AccessKeyId, "ASIA") || len(doc.AccessKeyId) != 20 ||
		len(doc.SecretAccessKey) != 40 || doc.Token == "" || time.Until(doc.Expiration) < 5*time.Hour {
		t.Fatalf("credentials %+v", doc)
	}
	cred, ok := keys.Lookup(doc.AccessKeyId)
	if !ok || cred.SecretAccessKey != doc.SecretAccessKey || cred.SessionToken != doc.Token || cred.AccountID != "444455556666" ||
		cred.ARN != "arn:aws:sts::444455556666:assumed-role/shipper-role/i-0abcdef1234567890" || !strings.HasSuffix(cred.UserID, ":i-0abcdef1234567890") {
		t.Fatalf("keyring has %+v, %v", cred, ok)
	}

	_, body = get("/latest/dynamic/instance-identity/document")
	var ident map[string]any
	if err := json.Unmarshal([]byte(body), &ident); err != nil {
		t.Fatal(err)
	}
	if ident["region"] != "eu-west-3" || ident["accountId"] != "444455556666" || ident["instanceId"] != "i-0abcdef1234567890" {
		t.Fatalf("identity document %s", body)
	}
}

func TestRotation(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	keys := awssim.NewKeyring()
	s := imds.New(imds.Config{Keys: keys, Now: clk.Now, CredentialLifetime: time.Hour, RotateBefore: 10 * time.Minute})
	first := s.Credentials()
	if !first.Expiration.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("expiration %v", first.Expiration)
	}
	clk.Add(49 * time.Minute)
	if c := s.Credentials(); c.AccessKeyID != first.AccessKeyID {
		t.Fatal("rotated too early")
	}
	clk.Add(time.Minute)
	second := s.Credentials()
	if second.AccessKeyID == first.AccessKeyID || !second.Expiration.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("not rotated 10 minutes before expiry: %+v", second)
	}
	// The old credentials keep working until they expire, then are answered ExpiredToken.
	old, ok := keys.Lookup(first.AccessKeyID)
	if !ok || old.Expired(clk.Now()) {
		t.Fatal("old credentials gone or expired early")
	}
	clk.Add(10 * time.Minute)
	if old, _ := keys.Lookup(first.AccessKeyID); !old.Expired(clk.Now()) {
		t.Fatal("old credentials still valid after expiry")
	}
	if third := s.Rotate(); third.AccessKeyID == second.AccessKeyID {
		t.Fatal("Rotate kept the credentials")
	}
}

// TestSDKClient reads the metadata with the SDK's IMDS client (IMDSv2 token flow).
func TestSDKClient(t *testing.T) {
	s := imds.New(imds.Config{Keys: awssim.NewKeyring(), Region: "ap-northeast-1", RoleName: "r1"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	client := ec2imds.New(ec2imds.Options{Endpoint: srv.URL, EnableFallback: aws.FalseTernary})
	ctx := context.Background()
	region, err := client.GetRegion(ctx, nil)
	if err != nil || region.Region != "ap-northeast-1" {
		t.Fatalf("region %v %v", region, err)
	}
	doc, err := client.GetInstanceIdentityDocument(ctx, nil)
	if err != nil || doc.Region != "ap-northeast-1" || doc.AccountID != imds.DefaultAccountID || doc.InstanceID != imds.DefaultInstanceID {
		t.Fatalf("document %+v %v", doc, err)
	}
	info, err := client.GetIAMInfo(ctx, nil)
	if err != nil || info.InstanceProfileArn != "arn:aws:iam::123456789012:instance-profile/r1" || info.Code != "Success" {
		t.Fatalf("iam info %+v %v", info, err)
	}
	md, err := client.GetMetadata(ctx, &ec2imds.GetMetadataInput{Path: "iam/security-credentials/"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(md.Content)
	if string(b) != "r1" {
		t.Fatalf("roles %q", b)
	}
}

// cloud starts the IMDS and an STS endpoint sharing one keyring.
func cloud(t *testing.T, cfg imds.Config) (*imds.Server, *httptest.Server, *httptest.Server) {
	t.Helper()
	keys := awssim.NewKeyring()
	cfg.Keys = keys
	s := imds.New(cfg)
	imdsSrv := httptest.NewServer(s)
	t.Cleanup(imdsSrv.Close)
	rt := awssim.NewRouter(awssim.NewVerifier(keys))
	sts.New(sts.Config{Keys: keys}).Register(rt)
	awsSrv := httptest.NewServer(rt)
	t.Cleanup(awsSrv.Close)
	return s, imdsSrv, awsSrv
}

// isolate clears the AWS environment and points the config files at empty ones, so that only the
// instance role can provide credentials.
func isolate(t *testing.T) string {
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	_ = os.WriteFile(cfg, nil, 0o600)
	_ = os.WriteFile(creds, nil, 0o600)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("HOME", dir)
	return dir
}

// TestDefaultConfigInstanceRole resolves credentials and region through the SDK's default chain
// from the simulated instance, then asks STS who they belong to.
func TestDefaultConfigInstanceRole(t *testing.T) {
	s, imdsSrv, awsSrv := cloud(t, imds.Config{RoleName: "log-shipper", AccountID: "777788889999", Region: "eu-north-1"})
	isolate(t)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imdsSrv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithEC2IMDSRegion())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-north-1" {
		t.Fatalf("region %q", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if creds.Source != "EC2RoleProvider" || !creds.CanExpire {
		t.Errorf("credentials from %q, expiring %v", creds.Source, creds.CanExpire)
	}
	client := awssts.NewFromConfig(cfg, func(o *awssts.Options) { o.BaseEndpoint = aws.String(awsSrv.URL) })
	id, err := client.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := "arn:aws:sts::777788889999:assumed-role/log-shipper/" + s.InstanceID()
	if aws.ToString(id.Arn) != want || aws.ToString(id.Account) != "777788889999" {
		t.Fatalf("identity %s %s, want %s", aws.ToString(id.Arn), aws.ToString(id.Account), want)
	}
}

// TestCLIInstanceRole has the AWS CLI (botocore's own IMDS client) take its credentials from the
// simulated instance.
func TestCLIInstanceRole(t *testing.T) {
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH")
	}
	s, imdsSrv, awsSrv := cloud(t, imds.Config{RoleName: "cli-role", AccountID: "121212121212"})
	dir := t.TempDir()
	cfg, creds := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	_ = os.WriteFile(cfg, nil, 0o600)
	_ = os.WriteFile(creds, nil, 0o600)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env, "AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE="+creds, "HOME="+dir, "AWS_PAGER=",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT="+imdsSrv.URL+"/")
	cmd := exec.Command(cli, "sts", "get-caller-identity", "--endpoint-url", awsSrv.URL, "--region", "us-east-1", "--output", "json")
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	var id struct{ Arn, Account string }
	if err := json.Unmarshal(stdout.Bytes(), &id); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if id.Arn != s.AssumedRoleARN() || id.Account != "121212121212" {
		t.Fatalf("identity %+v", id)
	}
}
