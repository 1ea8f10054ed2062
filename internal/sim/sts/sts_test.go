package sts_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/sts"
)

const (
	account    = "111122223333"
	userARN    = "arn:aws:iam::111122223333:user/shipper"
	userID     = "AIDAQ3EGUMSTSEXAMPLE"
	userAKID   = "AKIAQ3EGUMSTSEXAMPLE"
	userSecret = "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"
	tempAKID   = "ASIAQ3EGUMSTSEXAMPLE"
	tempSecret = "tEmPsEcReT0123456789abcdefghijklmnopqrst"
	tempToken  = "FwoGZXIvYXdzEXAMPLE//token=="
	oldAKID    = "ASIAQ3EGUMSTSOLDOLD0"
)

type fixture struct {
	keys   *awssim.Keyring
	router *awssim.Router
	srv    *httptest.Server
}

func newFixture(t *testing.T, opts ...awssim.Option) *fixture {
	t.Helper()
	now := time.Now()
	keys := awssim.NewKeyring(
		awssim.Credential{AccessKeyID: userAKID, SecretAccessKey: userSecret, AccountID: account, ARN: userARN, UserID: userID},
		awssim.Credential{AccessKeyID: tempAKID, SecretAccessKey: tempSecret, SessionToken: tempToken, AccountID: account,
			ARN: "arn:aws:sts::111122223333:assumed-role/reader/s1", UserID: "AROAQ3EGUMSTSEXAMPLE:s1", Expiration: now.Add(time.Hour)},
		awssim.Credential{AccessKeyID: oldAKID, SecretAccessKey: tempSecret, SessionToken: tempToken, AccountID: account,
			ARN: "arn:aws:sts::111122223333:assumed-role/reader/s0", UserID: "AROAQ3EGUMSTSEXAMPLE:s0", Expiration: now.Add(-time.Second)},
	)
	rt := awssim.NewRouter(awssim.NewVerifier(keys, opts...))
	sts.New(sts.Config{Keys: keys}).Register(rt)
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return &fixture{keys: keys, router: rt, srv: srv}
}

func (f *fixture) client(creds aws.Credentials, attempts int) *awssts.Client {
	return awssts.New(awssts.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(f.srv.URL),
		Credentials:      credentials.StaticCredentialsProvider{Value: creds},
		RetryMaxAttempts: attempts,
	})
}

func TestGetCallerIdentitySDK(t *testing.T) {
	f := newFixture(t)
	skewed := newFixture(t, awssim.WithClock(func() time.Time { return time.Now().Add(-40 * time.Minute) }))
	for _, tc := range []struct {
		name    string
		f       *fixture
		creds   aws.Credentials
		arn     string
		code    string
		message string
	}{
		{"user", f, aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}, userARN, "", ""},
		{"temporary", f, aws.Credentials{AccessKeyID: tempAKID, SecretAccessKey: tempSecret, SessionToken: tempToken}, "arn:aws:sts::111122223333:assumed-role/reader/s1", "", ""},
		{"wrong secret", f, aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: "wrong"}, "", "SignatureDoesNotMatch", awssim.MsgSignatureMismatch},
		{"unknown key", f, aws.Credentials{AccessKeyID: "AKIAUNKNOWNKEY000000", SecretAccessKey: userSecret}, "", "InvalidClientTokenId", awssim.MsgInvalidToken},
		{"missing session token", f, aws.Credentials{AccessKeyID: tempAKID, SecretAccessKey: tempSecret}, "", "InvalidClientTokenId", awssim.MsgInvalidToken},
		{"expired token", f, aws.Credentials{AccessKeyID: oldAKID, SecretAccessKey: tempSecret, SessionToken: tempToken}, "", "ExpiredToken", awssim.MsgExpiredToken},
		{"stale X-Amz-Date", skewed, aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}, "", "SignatureDoesNotMatch", "Signature not yet current: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := tc.f.client(tc.creds, 1).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if aws.ToString(out.Arn) != tc.arn || aws.ToString(out.Account) != account || aws.ToString(out.UserId) == "" {
					t.Fatalf("identity %s %s %s", aws.ToString(out.Arn), aws.ToString(out.Account), aws.ToString(out.UserId))
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v", err)
			}
			if ae.ErrorCode() != tc.code || !strings.HasPrefix(ae.ErrorMessage(), tc.message) {
				t.Fatalf("got %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), tc.code, tc.message)
			}
		})
	}
}

func TestAssumeRoleSDK(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	role := "arn:aws:iam::444455556666:role/service/log-writer"
	out, err := f.client(aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}, 1).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String(role), RoleSessionName: aws.String("shipper@host-1"), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "arn:aws:sts::444455556666:assumed-role/log-writer/shipper@host-1"
	if aws.ToString(out.AssumedRoleUser.Arn) != want || !strings.HasPrefix(aws.ToString(out.AssumedRoleUser.AssumedRoleId), "AROA") ||
		!strings.HasPrefix(aws.ToString(out.Credentials.AccessKeyId), "ASIA") || time.Until(*out.Credentials.Expiration) > 15*time.Minute {
		t.Fatalf("assumed %+v %+v", out.AssumedRoleUser, out.Credentials)
	}
	c := out.Credentials
	id, err := f.client(aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}, 1).
		GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != want || aws.ToString(id.Account) != "444455556666" || aws.ToString(id.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
		t.Fatalf("identity %s %s %s", aws.ToString(id.Arn), aws.ToString(id.Account), aws.ToString(id.UserId))
	}

	for _, tc := range []struct {
		name  string
		in    awssts.AssumeRoleInput
		code  string
		inMsg string
	}{
		{"too long", awssts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(7200)},
			"ValidationError", "exceeds the MaxSessionDuration"},
		{"bad arn", awssts.AssumeRoleInput{RoleArn: aws.String("xxxxxxxxxxxxxxxxxxxx"), RoleSessionName: aws.String("s1")},
			"ValidationError", "xxxxxxxxxxxxxxxxxxxx is invalid"},
		{"bad session", awssts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("bad/name")},
			"ValidationError", "Member must satisfy regular expression pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client(aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}, 1).AssumeRole(ctx, &tc.in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code || !strings.Contains(ae.ErrorMessage(), tc.inMsg) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// noRedirects shows STS's redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// post sends a query-protocol request signed by the SDK's signer.
func post(t *testing.T, f *fixture, method, query, body, contentType string) (*http.Response, string) {
	t.Helper()
	target := f.srv.URL + "/"
	if query != "" {
		target += "?" + query
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, target, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestWire checks the exact answers, as real STS lays them out.
func TestWire(t *testing.T) {
	f := newFixture(t)
	const form = "application/x-www-form-urlencoded"
	identity := "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <GetCallerIdentityResult>\n" +
		"    <Arn>" + userARN + "</Arn>\n    <UserId>" + userID + "</UserId>\n    <Account>" + account + "</Account>\n" +
		"  </GetCallerIdentityResult>\n  <ResponseMetadata>\n    <RequestId>{id}</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n"
	fault := func(code, msg string) string {
		return "<ErrorResponse xmlns=\"http://webservices.amazon.com/AWSFault/2005-15-09\">\n  <Error>\n    <Type>Sender</Type>\n" +
			"    <Code>" + code + "</Code>\n    <Message>" + msg + "</Message>\n  </Error>\n  <RequestId>{id}</RequestId>\n</ErrorResponse>\n"
	}
	for _, tc := range []struct {
		name, method, query, body, ct string
		status                        int
		want                          string // {id} stands for the request id
		location                      string
	}{
		{"post", "POST", "", "Action=GetCallerIdentity&Version=2011-06-15", form, 200, identity, ""},
		{"post with charset", "POST", "", "Action=GetCallerIdentity&Version=2011-06-15", form + "; charset=utf-8", 200, identity, ""},
		{"get", "GET", "Action=GetCallerIdentity&Version=2011-06-15", "", "", 200, identity, ""},
		{"first action wins", "POST", "", "Action=GetCallerIdentity&Action=NoSuchAction&Version=2011-06-15", form, 200, identity, ""},
		{"unknown parameter", "POST", "", "Action=GetCallerIdentity&Version=2011-06-15&Unknown=value", form, 200, identity, ""},
		{"unknown action", "POST", "", "Action=NoSuchAction&Version=2011-06-15", form, 400, fault("InvalidAction", "Could not find operation NoSuchAction for version 2011-06-15"), ""},
		{"missing version", "POST", "", "Action=GetCallerIdentity", form, 400, fault("InvalidAction", "Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED"), ""},
		{"other version", "POST", "", "Action=GetCallerIdentity&Version=2000-01-01", form, 400, fault("InvalidAction", "Could not find operation GetCallerIdentity for version 2000-01-01"), ""},
		{"empty action", "POST", "", "Action=&Version=2011-06-15", form, 400, fault("InvalidAction", "Could not find operation  for version 2011-06-15"), ""},
		{"missing action", "POST", "", "Version=2011-06-15", form, 302, "", "https://aws.amazon.com/iam"},
		{"not a form", "POST", "", "Action=GetCallerIdentity&Version=2011-06-15", "", 302, "", "https://aws.amazon.com/iam"},
		{"get without action", "GET", "Version=2011-06-15", "", "", 302, "", "https://aws.amazon.com/iam?Version=2011-06-15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, f, tc.method, tc.query, tc.body, tc.ct)
			id := resp.Header.Get("X-Amzn-Requestid")
			if resp.StatusCode != tc.status || id == "" {
				t.Fatalf("status %d, request id %q: %s", resp.StatusCode, id, body)
			}
			if want := strings.ReplaceAll(tc.want, "{id}", id); body != want {
				t.Errorf("body\n%s\nwant\n%s", body, want)
			}
			if tc.want != "" && resp.Header.Get("Content-Type") != "text/xml" {
				t.Errorf("content type %q", resp.Header.Get("Content-Type"))
			}
			if resp.Header.Get("Location") != tc.location {
				t.Errorf("location %q", resp.Header.Get("Location"))
			}
		})
	}
}

func cliEnv(t *testing.T, akid, secret string) []string {
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
	return append(env, "AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+creds, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "HOME="+dir)
}

// TestCLI runs `aws sts get-caller-identity` (botocore) against the simulator.
func TestCLI(t *testing.T) {
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH")
	}
	f := newFixture(t)
	for _, tc := range []struct {
		name, akid, secret string
		wantErr            string
	}{
		{"valid", userAKID, userSecret, ""},
		{"wrong secret", userAKID, "wrong", "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation: " + awssim.MsgSignatureMismatch},
		{"unknown key", "AKIAUNKNOWNKEY000000", userSecret, "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: " + awssim.MsgInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(cli, "sts", "get-caller-identity", "--endpoint-url", f.srv.URL, "--region", "us-east-1", "--output", "json")
			cmd.Env = cliEnv(t, tc.akid, tc.secret)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(stderr.String(), tc.wantErr) {
					t.Fatalf("err %v, stderr %s", err, stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			var id struct{ UserId, Account, Arn string }
			if err := json.Unmarshal(stdout.Bytes(), &id); err != nil {
				t.Fatalf("%v: %s", err, stdout.String())
			}
			if id.Arn != userARN || id.Account != account || id.UserId != userID {
				t.Fatalf("identity %+v", id)
			}
		})
	}
}
