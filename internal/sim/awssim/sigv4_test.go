package awssim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAccount = "111122223333"
	userAKID    = "AKIAIOSFODNN7EXAMPLE"
	userSecret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tempAKID    = "ASIAIOSFODNN7EXAMPLE"
	tempSecret  = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
	tempToken   = "IQoJb3JpZ2luX2VjEXAMPLETOKEN+/=="
	oldAKID     = "ASIAOLDOLDOLDEXAMPLE"
)

func testKeyring(now time.Time) *Keyring {
	return NewKeyring(
		Credential{AccessKeyID: userAKID, SecretAccessKey: userSecret, AccountID: testAccount,
			ARN: "arn:aws:iam::" + testAccount + ":user/alice", UserID: "AIDAEXAMPLEUSERID0001"},
		Credential{AccessKeyID: tempAKID, SecretAccessKey: tempSecret, SessionToken: tempToken, AccountID: testAccount,
			ARN: "arn:aws:sts::" + testAccount + ":assumed-role/shipper/i-0abc", UserID: "AROAEXAMPLEROLEID0001:i-0abc",
			Expiration: now.Add(time.Hour)},
		Credential{AccessKeyID: oldAKID, SecretAccessKey: tempSecret, SessionToken: tempToken, AccountID: testAccount,
			ARN: "arn:aws:sts::" + testAccount + ":assumed-role/shipper/i-0abc", UserID: "AROAEXAMPLEROLEID0001:i-0abc",
			Expiration: now.Add(-time.Minute)},
	)
}

func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// signed returns a request to target signed by the AWS SDK for Go's signer.
func signed(t *testing.T, method, target string, body []byte, creds aws.Credentials, service, region string, at time.Time, hdr http.Header) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash(body), service, region, at); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestGetVanilla checks the verifier against the "get-vanilla" case of AWS's SigV4 test suite.
func TestGetVanilla(t *testing.T) {
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	keys := NewKeyring(Credential{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", AccountID: testAccount})
	v := NewVerifier(keys, WithClock(func() time.Time { return at }))
	req := httptest.NewRequest("GET", "http://example.amazonaws.com/", nil)
	req.Header.Set("X-Amz-Date", "20150830T123600Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	c, err := v.Verify(req)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Region != "us-east-1" || c.Service != "service" || c.AccessKeyID != "AKIDEXAMPLE" || c.AccountID != testAccount {
		t.Fatalf("caller = %+v", c)
	}
}

func TestVerifyErrors(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	keys := testKeyring(now)
	v := NewVerifier(keys, WithClock(func() time.Time { return now }))
	user := aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}
	temp := aws.Credentials{AccessKeyID: tempAKID, SecretAccessKey: tempSecret, SessionToken: tempToken}
	const target = "http://logs.us-east-1.amazonaws.com/?b=2&a=1"
	body := []byte(`{"logGroupName":"g"}`)

	cases := []struct {
		name    string
		req     func() *http.Request
		status  int
		code    string
		message string // exact, or a prefix when it ends with "..."
	}{
		{"valid user", func() *http.Request {
			return signed(t, "POST", target, body, user, "logs", "us-east-1", now, nil)
		}, 200, "", ""},
		{"valid temporary", func() *http.Request {
			return signed(t, "POST", target, body, temp, "logs", "us-east-1", now, nil)
		}, 200, "", ""},
		{"signed 14 minutes ago", func() *http.Request {
			return signed(t, "POST", target, body, user, "logs", "us-east-1", now.Add(-14*time.Minute), nil)
		}, 200, "", ""},
		{"x-amz-content-sha256 signed", func() *http.Request {
			return signed(t, "POST", target, body, user, "logs", "us-east-1", now, http.Header{"X-Amz-Content-Sha256": {payloadHash(body)}})
		}, 200, "", ""},
		{"x-amz-content-sha256 of another body", func() *http.Request {
			other := payloadHash([]byte("other"))
			r, _ := http.NewRequest("POST", target, bytes.NewReader(body))
			r.Header.Set("X-Amz-Content-Sha256", other)
			if err := v4.NewSigner().SignHTTP(context.Background(), user, r, other, "logs", "us-east-1", now); err != nil {
				t.Fatal(err)
			}
			return r
		}, 403, CodeInvalidSignature, MsgSignatureMismatch},
		{"unsigned payload", func() *http.Request {
			r, _ := http.NewRequest("POST", target, bytes.NewReader(body))
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			if err := v4.NewSigner().SignHTTP(context.Background(), user, r, "UNSIGNED-PAYLOAD", "logs", "us-east-1", now); err != nil {
				t.Fatal(err)
			}
			return r
		}, 403, CodeInvalidSignature, MsgSignatureMismatch},
		{"no authorization", func() *http.Request {
			return mustRequest(t, "POST", target, bytes.NewReader(body))
		}, 403, CodeMissingAuthenticationToken, MsgMissingAuthenticationToken},
		{"unknown key", func() *http.Request {
			return signed(t, "POST", target, body, aws.Credentials{AccessKeyID: "AKIANOTKNOWN00000000", SecretAccessKey: userSecret}, "logs", "us-east-1", now, nil)
		}, 403, CodeUnrecognizedClient, MsgInvalidToken},
		{"wrong secret", func() *http.Request {
			return signed(t, "POST", target, body, aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: "not-the-secret"}, "logs", "us-east-1", now, nil)
		}, 403, CodeInvalidSignature, MsgSignatureMismatch},
		{"body changed after signing", func() *http.Request {
			r := signed(t, "POST", target, body, user, "logs", "us-east-1", now, nil)
			r.Body = io.NopCloser(strings.NewReader(`{"logGroupName":"h"}`))
			return r
		}, 403, CodeInvalidSignature, MsgSignatureMismatch},
		{"query changed after signing", func() *http.Request {
			r := signed(t, "POST", target, body, user, "logs", "us-east-1", now, nil)
			r.URL.RawQuery = "a=1&b=3"
			return r
		}, 403, CodeInvalidSignature, MsgSignatureMismatch},
		{"signed header changed", func() *http.Request {
			r := signed(t, "POST", target, body, user, "logs", "us-east-1", now, http.Header{"X-Amz-Target": {"Logs_20140328.FilterLogEvents"}})
			r.Header.Set("X-Amz-Target", "Logs_20140328.DeleteLogGroup")
			return r
		}, 403, CodeInvalidSignature, MsgSignatureMismatch},
		{"stale date", func() *http.Request {
			return signed(t, "POST", target, body, user, "logs", "us-east-1", now.Add(-20*time.Minute), nil)
		}, 403, CodeInvalidSignature, "Signature expired: " + now.Add(-20*time.Minute).Format(AmzDateFormat) +
			" is now earlier than " + now.Add(-15*time.Minute).Format(AmzDateFormat) + " (" + now.Format(AmzDateFormat) + " - 15 min.)"},
		{"future date", func() *http.Request {
			return signed(t, "POST", target, body, user, "logs", "us-east-1", now.Add(20*time.Minute), nil)
		}, 403, CodeInvalidSignature, "Signature not yet current: " + now.Add(20*time.Minute).Format(AmzDateFormat) +
			" is still later than " + now.Add(15*time.Minute).Format(AmzDateFormat) + " (" + now.Format(AmzDateFormat) + " + 15 min.)"},
		{"temporary key without token", func() *http.Request {
			return signed(t, "POST", target, body, aws.Credentials{AccessKeyID: tempAKID, SecretAccessKey: tempSecret}, "logs", "us-east-1", now, nil)
		}, 403, CodeUnrecognizedClient, MsgInvalidToken},
		{"temporary key with wrong token", func() *http.Request {
			return signed(t, "POST", target, body, aws.Credentials{AccessKeyID: tempAKID, SecretAccessKey: tempSecret, SessionToken: "other"}, "logs", "us-east-1", now, nil)
		}, 403, CodeUnrecognizedClient, MsgInvalidToken},
		{"long-term key with a token", func() *http.Request {
			return signed(t, "POST", target, body, aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret, SessionToken: "x"}, "logs", "us-east-1", now, nil)
		}, 403, CodeUnrecognizedClient, MsgInvalidToken},
		{"expired temporary credentials", func() *http.Request {
			return signed(t, "POST", target, body, aws.Credentials{AccessKeyID: oldAKID, SecretAccessKey: tempSecret, SessionToken: tempToken}, "logs", "us-east-1", now, nil)
		}, 403, CodeExpiredToken, MsgExpiredToken},
		{"invalid region", func() *http.Request {
			return signed(t, "POST", target, body, user, "logs", "moon", now, nil)
		}, 403, CodeInvalidSignature, "Credential should be scoped to a valid region, not 'moon'."},
		{"no date", func() *http.Request {
			r := signed(t, "POST", target, body, user, "logs", "us-east-1", now, nil)
			r.Header.Del("X-Amz-Date")
			return r
		}, 400, CodeIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 ..."},
		{"scope date differs from X-Amz-Date", func() *http.Request {
			r := signed(t, "POST", target, body, user, "logs", "us-east-1", now, nil)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/"+now.Format("20060102")+"/", "/20150830/", 1))
			return r
		}, 403, CodeInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150830' != '" + now.Format("20060102") + "', from '" + now.Format(AmzDateFormat) + "'."},
		{"no signature", func() *http.Request {
			r := signed(t, "POST", target, body, user, "logs", "us-east-1", now, nil)
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", h[:strings.Index(h, ", Signature=")])
			return r
		}, 400, CodeIncompleteSignature, "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 ..."},
		{"short credential", func() *http.Request {
			r := mustRequest(t, "POST", target, nil)
			r.Header.Set("X-Amz-Date", now.Format(AmzDateFormat))
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+userAKID+"/us-east-1/logs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
			return r
		}, 400, CodeIncompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + userAKID + "/us-east-1/logs/aws4_request'"},
		{"other algorithm", func() *http.Request {
			r := mustRequest(t, "POST", target, nil)
			r.Header.Set("Authorization", "AWS4-ECDSA-P256-SHA256 Credential=x")
			return r
		}, 400, CodeIncompleteSignature, "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			// Serve through the middleware so that the request goes over the wire format.
			srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, _ := CallerFrom(r.Context())
				b, _ := io.ReadAll(r.Body)
				_ = json.NewEncoder(w).Encode(map[string]any{"caller": c, "body": string(b)})
			})))
			defer srv.Close()
			u, _ := url.Parse(srv.URL)
			req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
			// The host the request was signed for is kept: the server sees it in the Host header.
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, raw)
			}
			if resp.Header.Get(RequestIDHeader) == "" || resp.Header.Get("Date") == "" {
				t.Errorf("missing x-amzn-RequestId or Date: %v", resp.Header)
			}
			if tc.code == "" {
				var got struct {
					Caller Caller
					Body   string
				}
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatal(err)
				}
				if got.Caller.AccountID != testAccount || got.Caller.Region != "us-east-1" || got.Caller.Service != "logs" || got.Body != string(body) {
					t.Fatalf("handler saw %+v", got)
				}
				return
			}
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("%v: %s", err, raw)
			}
			if e.Type != tc.code || resp.Header.Get("X-Amzn-ErrorType") != tc.code {
				t.Errorf("code %q (header %q), want %q", e.Type, resp.Header.Get("X-Amzn-ErrorType"), tc.code)
			}
			if want, ok := strings.CutSuffix(tc.message, "..."); ok {
				if !strings.HasPrefix(e.Message, want) {
					t.Errorf("message %q, want prefix %q", e.Message, want)
				}
			} else if e.Message != tc.message {
				t.Errorf("message %q, want %q", e.Message, tc.message)
			}
		})
	}
}

func TestWithService(t *testing.T) {
	now := time.Now()
	v := NewVerifier(testKeyring(now), WithService("logs"))
	req := signed(t, "POST", "http://localhost/", []byte("{}"), aws.Credentials{AccessKeyID: userAKID, SecretAccessKey: userSecret}, "sts", "us-east-1", now, nil)
	_, err := v.Verify(req)
	if err == nil || err.Code != CodeInvalidSignature || err.Message != "Credential should be scoped to correct service: 'logs'." {
		t.Fatalf("err = %v", err)
	}
}

func TestCanonicalQuery(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"", ""},
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a", "a=&a=1&a=2"},
		{"k=a+b%20c", "k=a%20b%20c"},
		{"k=%7e%2f%3a", "k=~%2F%3A"},
		{"arn=arn:aws:cloudtrail:us-east-1:1:channel/x", "arn=arn%3Aaws%3Acloudtrail%3Aus-east-1%3A1%3Achannel%2Fx"},
		{"a-b=1&a%2Fb=2", "a%2Fb=2&a-b=1"}, // sorted after encoding
		{"u=%C3%BC", "u=%C3%BC"},
	} {
		got, err := canonicalQuery(tc.raw)
		if err != nil || got != tc.want {
			t.Errorf("canonicalQuery(%q) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}

func TestPruneExpired(t *testing.T) {
	now := time.Now()
	k := testKeyring(now)
	if n := k.PruneExpired(now); n != 1 || k.Len() != 2 {
		t.Fatalf("pruned %d, left %d", n, k.Len())
	}
	if _, ok := k.Lookup(oldAKID); ok {
		t.Fatal("expired key kept")
	}
	k.Remove(userAKID)
	if _, ok := k.Lookup(userAKID); ok {
		t.Fatal("removed key kept")
	}
}

func mustRequest(t *testing.T, method, target string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
