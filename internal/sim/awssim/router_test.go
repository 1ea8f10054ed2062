package awssim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
)

// echo answers with what it saw: the caller, method, path, query and body.
type echoed struct {
	Caller    Caller
	Method    string
	Path      string
	Query     url.Values
	Body      string
	RequestID string
}

func echoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := CallerFrom(r.Context())
		if !ok {
			http.Error(w, "no caller", 500)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{Caller: c, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(b), RequestID: RequestIDFrom(r.Context())})
	})
}

func newTestRouter(t *testing.T, opts ...Option) (*Router, *httptest.Server) {
	t.Helper()
	rt := NewRouter(NewVerifier(testKeyring(time.Now()), opts...))
	rt.Handle("echo", echoHandler())
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return rt, srv
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestRouterSDKSigned sends requests signed by the AWS SDK for Go's signer to a fake service: a
// JSON body, a session token, and a path and query full of characters that need escaping.
func TestRouterSDKSigned(t *testing.T) {
	_, srv := newTestRouter(t)
	channel := "arn:aws:cloudtrail:eu-west-1:111122223333:channel/01234567-89ab-cdef-0123-456789abcdef"
	odd := "a b+c/d~e*f'!()&=;,ü%20?#[]"
	cases := []struct {
		name   string
		method string
		path   string
		query  url.Values
		body   []byte
		creds  aws.Credentials
	}{
		{"json body", "POST", "/PutAuditEvents", url.Values{"channelArn": {channel}},
			[]byte(`{"auditEvents":[{"id":"1","eventData":"{\"a\":\"ü\\n\"}"}]}`), aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}},
		{"session token", "POST", "/", nil, []byte(`{}`), aws.Credentials{AccessKeyID: tempAKID, SecretAccessKey: tempSecret, SessionToken: tempToken}},
		{"escaped query", "GET", "/items", url.Values{"externalId": {odd}, "channelArn": {channel}, "empty": {""}, "multi": {"b", "a", "a b"}}, nil,
			aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}},
		{"escaped path", "PUT", "/items/a b+c:d@e/ü/%", url.Values{"q": {odd}}, []byte("plain body"), aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(srv.URL)
			u.Path = tc.path
			u.RawQuery = tc.query.Encode()
			req := signed(t, tc.method, u.String(), tc.body, tc.creds, "echo", "eu-west-1", time.Now(), http.Header{"Content-Type": {"application/json"}})
			resp, raw := do(t, req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			var got echoed
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if got.Caller.AccessKeyID != tc.creds.AccessKeyID || got.Caller.Service != "echo" || got.Caller.Region != "eu-west-1" || got.Caller.AccountID != testAccount {
				t.Errorf("caller %+v", got.Caller)
			}
			if got.Path != tc.path || got.Body != string(tc.body) || got.Method != tc.method {
				t.Errorf("saw %s %q body %q", got.Method, got.Path, got.Body)
			}
			for k, v := range tc.query {
				// The SDK's signer puts repeated values in canonical (sorted) order.
				if a, b := slices.Sorted(slices.Values(got.Query[k])), slices.Sorted(slices.Values(v)); !slices.Equal(a, b) {
					t.Errorf("query %s = %q, want %q", k, got.Query[k], v)
				}
			}
			if got.RequestID == "" || got.RequestID != resp.Header.Get(RequestIDHeader) {
				t.Errorf("request id %q, header %q", got.RequestID, resp.Header.Get(RequestIDHeader))
			}
		})
	}
}

func TestRouterUnknownService(t *testing.T) {
	rt, srv := newTestRouter(t)
	rt.Handle("sts", echoHandler(), RouteErrors(QueryErrors{Namespace: "https://sts.amazonaws.com/doc/2011-06-15/"}))
	req := signed(t, "POST", srv.URL+"/", []byte("{}"), aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}, "s3", "us-east-1", time.Now(), nil)
	resp, raw := do(t, req)
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != CodeInvalidSignature {
		t.Fatalf("status %d %v: %s", resp.StatusCode, resp.Header, raw)
	}
	if !strings.Contains(string(raw), "Credential should be scoped to correct service: 'echo' or 'sts'") {
		t.Errorf("body %s", raw)
	}

	// An unsigned form post is answered in the query protocol.
	req, _ = http.NewRequest("POST", srv.URL+"/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, raw = do(t, req)
	want := "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n" +
		"    <Code>MissingAuthenticationToken</Code>\n    <Message>Request is missing Authentication Token</Message>\n  </Error>\n" +
		"  <RequestId>" + resp.Header.Get(RequestIDHeader) + "</RequestId>\n</ErrorResponse>\n"
	if resp.StatusCode != 403 || string(raw) != want || resp.Header.Get("Content-Type") != "text/xml" {
		t.Errorf("status %d %q:\n%s\nwant\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), raw, want)
	}

	// An unsigned JSON call gets the JSON error.
	req, _ = http.NewRequest("POST", srv.URL+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "Logs_20140328.FilterLogEvents")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, raw = do(t, req)
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != CodeMissingAuthenticationToken {
		t.Errorf("status %d %v: %s", resp.StatusCode, resp.Header, raw)
	}
}

// fakeLogs answers FilterLogEvents with no events, as the real service would for an empty group.
var fakeLogs = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "Logs_20140328.FilterLogEvents" {
		WriteJSONError(w, Errorf(400, "UnknownOperationException", ""))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = w.Write([]byte(`{"events":[],"searchedLogStreams":[]}`))
})

// TestLogsClient drives the router with the SDK's CloudWatch Logs client (awsJson1.1) and checks
// the error codes the SDK parses out of the verifier's answers.
func TestLogsClient(t *testing.T) {
	skewed := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name     string
		creds    aws.Credentials
		clock    func() time.Time
		attempts int
		code     string
	}{
		{"valid", aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}, nil, 0, ""},
		{"wrong secret", aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: "nope"}, nil, 0, CodeInvalidSignature},
		{"unknown key", aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: userSecret}, nil, 0, CodeUnrecognizedClient},
		{"missing session token", aws.Credentials{AccessKeyID: tempAKID, SecretAccessKey: tempSecret}, nil, 0, CodeUnrecognizedClient},
		{"expired token", aws.Credentials{AccessKeyID: oldAKID, SecretAccessKey: tempSecret, SessionToken: tempToken}, nil, 0, CodeExpiredToken},
		{"stale X-Amz-Date", aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}, func() time.Time { return skewed }, 1, CodeInvalidSignature},
		// With retries, the SDK corrects its clock from the answer's Date header, as against AWS.
		{"skew corrected by the SDK", aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}, func() time.Time { return skewed }, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.clock != nil {
				opts = append(opts, WithClock(tc.clock))
			}
			rt := NewRouter(NewVerifier(testKeyring(time.Now()), opts...))
			rt.Handle("logs", fakeLogs)
			srv := httptest.NewServer(rt)
			defer srv.Close()
			client := cloudwatchlogs.New(cloudwatchlogs.Options{
				Region:       "eu-central-1",
				BaseEndpoint: aws.String(srv.URL),
				Credentials:  credentials.StaticCredentialsProvider{Value: tc.creds},
				RetryMaxAttempts: func() int {
					if tc.attempts > 0 {
						return tc.attempts
					}
					return 1
				}(),
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/cloudtrail")})
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
			// The server's clock is an hour ahead: to it the request is from the past.
			if tc.name == "stale X-Amz-Date" && !strings.HasPrefix(ae.ErrorMessage(), "Signature expired: ") {
				t.Errorf("message %q", ae.ErrorMessage())
			}
		})
	}
}

// TestBotocoreSigned sends requests signed by botocore (the AWS CLI's library), an independent
// SigV4 implementation, to the fake service.
func TestBotocoreSigned(t *testing.T) {
	python := pythonWithBotocore(t)
	_, srv := newTestRouter(t)
	script := `
import sys, urllib.request, urllib.error, urllib.parse
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
base, method, path, body, token = sys.argv[1:6]
q = urllib.parse.quote
query = "&".join(q(k, safe="-_.~") + "=" + q(v, safe="-_.~") for k, v in
    [("channelArn", "arn:aws:cloudtrail:us-east-1:111122223333:channel/x"), ("odd", "a b+c/d~e*f'!()&=;,ü%20")])
url = base + q(path, safe="/~") + "?" + query
req = AWSRequest(method=method, url=url, data=body.encode() if body else None, headers={"Content-Type": "application/json"})
SigV4Auth(Credentials(sys.argv[6], sys.argv[7], token or None), "echo", "ap-southeast-2").add_auth(req)
p = req.prepare()
r = urllib.request.Request(p.url, data=p.body or None, method=method, headers=dict(p.headers))
try:
    resp = urllib.request.urlopen(r)
    print(resp.status); print(resp.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
`
	for _, tc := range []struct {
		name, method, path, body string
		akid, secret, token      string
	}{
		{"json post", "POST", "/PutAuditEvents", `{"auditEvents":[{"id":"ü"}]}`, userAKID, userSecret, ""},
		{"get with token", "GET", "/items/a b:c", "", tempAKID, tempSecret, tempToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(python, "-c", script, srv.URL, tc.method, tc.path, tc.body, tc.token, tc.akid, tc.secret).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			status, body, _ := strings.Cut(string(out), "\n")
			if status != "200" {
				t.Fatalf("status %s: %s", status, body)
			}
			var got echoed
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if got.Caller.AccessKeyID != tc.akid || got.Caller.Region != "ap-southeast-2" || got.Path != tc.path || got.Body != tc.body ||
				got.Query.Get("odd") != "a b+c/d~e*f'!()&=;,ü%20" {
				t.Errorf("saw %+v", got)
			}
		})
	}
}

func pythonWithBotocore(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"python3", "python"} {
		p, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", "import botocore").Run() == nil {
			return p
		}
	}
	if aws, err := exec.LookPath("aws"); err == nil {
		// The CLI's own interpreter, from its #! line.
		if b, err := os.ReadFile(aws); err == nil && bytes.HasPrefix(b, []byte("#!")) {
			line, _, _ := strings.Cut(string(b[2:]), "\n")
			if exec.Command(strings.TrimSpace(line), "-c", "import botocore").Run() == nil {
				return strings.TrimSpace(line)
			}
		}
	}
	t.Skip("no python with botocore")
	return ""
}

// AWSCLIEnv returns the environment for running the AWS CLI in tests: credentials from the
// arguments, and config files that cannot pick up the machine's.
func awsCLIEnv(t *testing.T, akid, secret string) []string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	_ = os.WriteFile(cfg, nil, 0o600)
	_ = os.WriteFile(creds, nil, 0o600)
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "AWS_ACCESS_KEY_ID="+akid, "AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_CONFIG_FILE="+cfg, "AWS_SHARED_CREDENTIALS_FILE="+creds, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=", "HOME="+dir)
}

// TestCLICloudTrailData runs `aws cloudtrail-data put-audit-events` (restJson1, a channel ARN in
// the query string) against a fake cloudtrail-data service.
func TestCLICloudTrailData(t *testing.T) {
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not on PATH")
	}
	rt, srv := newTestRouter(t)
	var mu sync.Mutex
	var seen echoed
	rt.Handle("cloudtrail-data", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := CallerFrom(r.Context())
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = echoed{Caller: c, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(b)}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"successful":[{"id":"e1","eventID":"5f6e2f4e-0000-4000-8000-000000000001"}],"failed":[]}`))
	}))
	channel := "arn:aws:cloudtrail:us-east-1:111122223333:channel/01234567-89ab-cdef-0123-456789abcdef"
	cmd := exec.Command(cli, "cloudtrail-data", "put-audit-events", "--endpoint-url", srv.URL, "--region", "us-east-1",
		"--channel-arn", channel, "--external-id", "ext id/ü+1",
		"--audit-events", `[{"id":"e1","eventData":"{\"version\":\"1.0\"}"}]`)
	cmd.Env = awsCLIEnv(t, userAKID, userSecret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "5f6e2f4e-0000-4000-8000-000000000001") {
		t.Errorf("output %s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen.Caller.AccessKeyID != userAKID || seen.Caller.Service != "cloudtrail-data" || seen.Path != "/PutAuditEvents" ||
		seen.Query.Get("channelArn") != channel || seen.Query.Get("externalId") != "ext id/ü+1" || !strings.Contains(seen.Body, `"auditEvents"`) {
		t.Errorf("saw %+v", seen)
	}
}
