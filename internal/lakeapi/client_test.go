package lakeapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/lakeapi"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/lake"
)

const account = "123456789012"

func startSim(t *testing.T) (*cloudsim.Sim, cloudsim.AccountConfig) {
	t.Helper()
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	s, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, c.AWS.Accounts[0]
}

// awsConfig signs with the account's key (or another secret) and sends to cloudsim.
func awsConfig(s *cloudsim.Sim, a cloudsim.AccountConfig, secret string) aws.Config {
	if secret == "" {
		secret = a.SecretAccessKey
	}
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(a.AccessKeyID, secret, "")),
		BaseEndpoint: aws.String(s.Endpoints["aws"]),
	}
}

func eventData(uid, recipient string) string {
	return fmt.Sprintf(`{"version":"1.0","userIdentity":{"type":"User","principalId":"alice@example.com","details":{"groups":["finance","vpn"]}},`+
		`"userAgent":"Mozilla/5.0","eventSource":"netskopealert.dlp","eventName":"DLP policy \"PCI\" matched","eventTime":"2026-11-23T09:00:00Z",`+
		`"UID":%q,"recipientAccountId":%q,"additionalEventData":{"file":"Q3 résumé\tfinal.xlsx","note":"line1\nline2 ✓ 😀"}}`, uid, recipient)
}

func event(id, recipient string) lakeapi.AuditEvent {
	d := eventData(id, recipient)
	return lakeapi.AuditEvent{ID: id, EventData: d, EventDataChecksum: lakeapi.Checksum([]byte(d))}
}

func TestPutAuditEvents(t *testing.T) {
	s, a := startSim(t)
	c := lakeapi.New(awsConfig(s, a, ""))
	ctx := context.Background()
	events := []lakeapi.AuditEvent{event("e-1", account), event("e-2", account), event("e_3", account)}
	events[2].EventDataChecksum = "" // optional
	out, err := c.PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", events)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 3 || len(out.Failed) != 0 || out.RequestID == "" {
		t.Fatalf("%+v", out)
	}
	for i, r := range out.Successful {
		if r.ID != events[i].ID || r.EventID == "" {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	stored := s.Lake.Query(lake.Filter{Channel: cloudsim.DemoChannelARN})
	if len(stored) != 3 {
		t.Fatalf("%d stored", len(stored))
	}
	for i, st := range stored {
		var got, want any
		if err := json.Unmarshal(st.EventData, &got); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal([]byte(events[i].EventData), &want)
		if fmt.Sprint(got) != fmt.Sprint(want) || st.EventID != out.Successful[i].EventID || st.EventName != `DLP policy "PCI" matched` {
			t.Fatalf("stored %d: %s", i, st.EventData)
		}
	}
}

// A partial failure is an answer, not an error: the events the lake refused are in Failed.
func TestPartialFailure(t *testing.T) {
	s, a := startSim(t)
	c := lakeapi.New(awsConfig(s, a, ""))
	bad := event("e-2", "999999999999")
	badSum := event("e-3", account)
	badSum.EventDataChecksum = lakeapi.Checksum([]byte("something else"))
	out, err := c.PutAuditEvents(context.Background(), cloudsim.DemoChannelARN, "", []lakeapi.AuditEvent{event("e-1", account), bad, badSum})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 1 || out.Successful[0].ID != "e-1" || len(out.Failed) != 2 {
		t.Fatalf("%+v", out)
	}
	f := out.Failed[0]
	if f.ID != "e-2" || f.ErrorCode != lakeapi.EventErrInvalidRecipient || f.ErrorMessage == "" || lakeapi.EventErrorRetryable(f.ErrorCode) {
		t.Fatalf("%+v", f)
	}
	if f := out.Failed[1]; f.ID != "e-3" || f.ErrorCode != lakeapi.EventErrInvalidChecksum {
		t.Fatalf("%+v", f)
	}
	if !lakeapi.EventErrorRetryable("Throttling") || !lakeapi.EventErrorRetryable("InternalFailure") {
		t.Fatal("per-event Throttling and InternalFailure are retryable")
	}
}

func apiError(t *testing.T, err error, code string) *lakeapi.APIError {
	t.Helper()
	var ae *lakeapi.APIError
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("error %v (%T), want %s", err, err, code)
	}
	if ae.RequestID == "" || ae.Status == 0 || ae.Message == "" {
		t.Fatalf("incomplete %+v", ae)
	}
	// The SDK's interface fits too.
	var se smithy.APIError
	if !errors.As(err, &se) || se.ErrorCode() != code {
		t.Fatalf("not a smithy.APIError: %v", err)
	}
	return ae
}

func TestCallErrors(t *testing.T) {
	s, a := startSim(t)
	ctx := context.Background()
	c := lakeapi.New(awsConfig(s, a, ""))
	one := []lakeapi.AuditEvent{event("e-1", account)}

	_, err := c.PutAuditEvents(ctx, "arn:aws:cloudtrail:us-east-1:123456789012:channel/00000000-0000-0000-0000-000000000000", "", one)
	ae := apiError(t, err, lakeapi.ErrCodeChannelNotFound)
	if ae.Status != 400 || ae.Operation != "PutAuditEvents" || !lakeapi.IsPermanent(err) || lakeapi.IsRetryable(err) || lakeapi.IsThrottle(err) || lakeapi.IsAuth(err) {
		t.Fatalf("ChannelNotFound classified wrong: %+v", ae)
	}
	if !strings.Contains(err.Error(), "ChannelNotFound") || !strings.Contains(err.Error(), ae.RequestID) {
		t.Fatalf("message %q", err)
	}

	// Two equal ids fail the call.
	_, err = c.PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", []lakeapi.AuditEvent{event("d", account), event("d", account)})
	apiError(t, err, lakeapi.ErrCodeDuplicatedAuditEventID)
	if !lakeapi.IsPermanent(err) {
		t.Fatal("DuplicatedAuditEventId is permanent")
	}

	// A wrong secret.
	bad := lakeapi.New(awsConfig(s, a, "wrong/secret"))
	_, err = bad.PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", one)
	apiError(t, err, "InvalidSignatureException")
	if !lakeapi.IsAuth(err) || !lakeapi.IsPermanent(err) || lakeapi.IsRetryable(err) {
		t.Fatal("InvalidSignatureException classified wrong")
	}
	if strings.Contains(err.Error(), "wrong/secret") {
		t.Fatal("secret in the error")
	}

	// An unknown key.
	other := a
	other.AccessKeyID = "AKIAUNKNOWNUNKNOWN00"
	_, err = lakeapi.New(awsConfig(s, other, "")).PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", one)
	apiError(t, err, "UnrecognizedClientException")
	if !lakeapi.IsAuth(err) || !lakeapi.IsPermanent(err) {
		t.Fatal("UnrecognizedClientException classified wrong")
	}
}

func TestThrottlingAndServerErrors(t *testing.T) {
	s, a := startSim(t)
	ctx := context.Background()
	c := lakeapi.New(awsConfig(s, a, ""))
	one := []lakeapi.AuditEvent{event("e-1", account)}

	s.Lake.SetFaults(lake.Faults{CallThrottleRate: 1})
	_, err := c.PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", one)
	apiError(t, err, "ThrottlingException")
	if !lakeapi.IsThrottle(err) || !lakeapi.IsRetryable(err) || lakeapi.IsPermanent(err) {
		t.Fatal("ThrottlingException classified wrong")
	}

	s.Lake.SetFaults(lake.Faults{CallServerErrorRate: 1})
	for range 6 {
		_, err = c.PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", one)
		var ae *lakeapi.APIError
		if !errors.As(err, &ae) || ae.Status < 500 || !lakeapi.IsRetryable(err) || lakeapi.IsThrottle(err) || lakeapi.IsPermanent(err) {
			t.Fatalf("server error classified wrong: %v", err)
		}
	}

	// Per-event throttling is in the answer.
	s.Lake.SetFaults(lake.Faults{EventThrottleRate: 1})
	out, err := c.PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", one)
	if err != nil || len(out.Failed) != 1 || out.Failed[0].ErrorCode != lakeapi.EventErrThrottling || !lakeapi.EventErrorRetryable(out.Failed[0].ErrorCode) {
		t.Fatalf("%+v %v", out, err)
	}
}

// The context bounds a call; a deadline is retryable, a cancellation is not.
func TestContext(t *testing.T) {
	s, a := startSim(t)
	c := lakeapi.New(awsConfig(s, a, ""))
	one := []lakeapi.AuditEvent{event("e-1", account)}
	s.Lake.SetFaults(lake.Faults{Latency: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", one)
	if !errors.Is(err, context.DeadlineExceeded) || !lakeapi.IsRetryable(err) || time.Since(start) > time.Second {
		t.Fatalf("deadline: %v after %v", err, time.Since(start))
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = c.PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", one)
	if !errors.Is(err, context.Canceled) || lakeapi.IsRetryable(err) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestExternalID(t *testing.T) {
	s, a := startSim(t)
	const arn = "arn:aws:cloudtrail:us-east-1:123456789012:channel/partner-0001"
	if err := s.Lake.AddChannel(lake.Channel{ARN: arn, ExternalID: "ext-7c1d"}); err != nil {
		t.Fatal(err)
	}
	c := lakeapi.New(awsConfig(s, a, ""))
	ctx := context.Background()
	_, err := c.PutAuditEvents(ctx, arn, "", []lakeapi.AuditEvent{event("e-1", account)})
	apiError(t, err, lakeapi.ErrCodeChannelInsufficientPermission)
	_, err = c.PutAuditEvents(ctx, arn, "ext-other", []lakeapi.AuditEvent{event("e-1", account)})
	apiError(t, err, lakeapi.ErrCodeChannelInsufficientPermission)
	out, err := c.PutAuditEvents(ctx, arn, "ext-7c1d", []lakeapi.AuditEvent{event("e-1", account)})
	if err != nil || len(out.Successful) != 1 {
		t.Fatalf("%+v %v", out, err)
	}
	if n := len(s.Lake.Query(lake.Filter{Channel: arn})); n != 1 {
		t.Fatalf("%d stored", n)
	}
}

func TestGetChannel(t *testing.T) {
	s, a := startSim(t)
	c := lakeapi.New(awsConfig(s, a, ""))
	ctx := context.Background()
	if _, err := c.PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", []lakeapi.AuditEvent{event("e-1", account)}); err != nil {
		t.Fatal(err)
	}
	ch, err := c.GetChannel(ctx, cloudsim.DemoChannelARN)
	if err != nil {
		t.Fatal(err)
	}
	if ch.ChannelARN != cloudsim.DemoChannelARN || ch.Name == "" || ch.Source == "" || ch.RequestID == "" ||
		!strings.Contains(ch.EventDataStoreARN(), ":eventdatastore/") || len(ch.SourceConfig) == 0 {
		t.Fatalf("%+v", ch)
	}
	st := ch.IngestionStatus
	if st.LatestIngestionSuccessEventID == "" || st.LatestIngestionSuccessTime.IsZero() || time.Since(st.LatestIngestionSuccessTime) > time.Minute {
		t.Fatalf("ingestion status %+v", st)
	}
	// By id, in the client's region.
	_, _, id, _ := lakeapi.ParseChannelARN(cloudsim.DemoChannelARN)
	if ch, err := c.GetChannel(ctx, id); err != nil || ch.ChannelARN != cloudsim.DemoChannelARN {
		t.Fatalf("by id: %+v %v", ch, err)
	}

	_, err = c.GetChannel(ctx, "arn:aws:cloudtrail:us-east-1:123456789012:channel/00000000-0000-0000-0000-000000000000")
	ae := apiError(t, err, "ChannelNotFoundException")
	if ae.Operation != "GetChannel" || !lakeapi.IsPermanent(err) || lakeapi.IsRetryable(err) {
		t.Fatalf("unknown channel classified wrong: %v", err)
	}
	_, err = c.GetChannel(ctx, "arn:aws:cloudtrail:us-east-1:111122223333:channel/abc")
	apiError(t, err, "AccessDeniedException")
	if !lakeapi.IsAuth(err) || !lakeapi.IsPermanent(err) {
		t.Fatal("AccessDeniedException classified wrong")
	}
	if _, err := c.GetChannel(ctx, "arn:aws:cloudtrail:us-east-1:1234:channel/abc"); !lakeapi.IsPermanent(err) || !strings.Contains(err.Error(), "12 digits") {
		t.Fatalf("malformed ARN: %v", err)
	}
}

// Credentials from awsauth: an assumed role, fetched from cloudsim STS and cached.
func TestWithAssumedRole(t *testing.T) {
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	s, a := startSim(t)
	ctx := context.Background()
	cfg, err := awsauth.Load(ctx, awsauth.Config{
		AccessKeyID: config.NewSecret(a.AccessKeyID), SecretAccessKey: config.NewSecret(a.SecretAccessKey),
		AssumeRoleARN: "arn:aws:iam::123456789012:role/lake-writer", ExternalID: "ext-1", Endpoint: s.Endpoints["aws"],
	}, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	c := lakeapi.New(cfg)
	for i := range 3 {
		out, err := c.PutAuditEvents(ctx, cloudsim.DemoChannelARN, "", []lakeapi.AuditEvent{event(fmt.Sprint("r-", i), account)})
		if err != nil || len(out.Successful) != 1 {
			t.Fatalf("%+v %v", out, err)
		}
	}
	for _, st := range s.Lake.Query(lake.Filter{Channel: cloudsim.DemoChannelARN}) {
		if st.CallerAccount != account {
			t.Fatalf("%+v", st)
		}
	}
}

func TestInvalidInput(t *testing.T) {
	s, a := startSim(t)
	c := lakeapi.New(awsConfig(s, a, ""))
	ctx := context.Background()
	many := make([]lakeapi.AuditEvent, 101)
	for i := range many {
		many[i] = event(fmt.Sprint("e", i), account)
	}
	big := event("big", account)
	big.EventData = strings.Replace(big.EventData, `"note":"`, `"note":"`+strings.Repeat("x", 1<<20), 1)
	for name, tc := range map[string]struct {
		arn    string
		events []lakeapi.AuditEvent
		want   string
	}{
		"none":     {cloudsim.DemoChannelARN, nil, "0 events"},
		"too many": {cloudsim.DemoChannelARN, many, "101 events"},
		"too big":  {cloudsim.DemoChannelARN, []lakeapi.AuditEvent{big}, "over the limit"},
		"bad ARN":  {"arn:aws:logs:us-east-1:123456789012:channel/x", many[:1], `service "logs"`},
	} {
		_, err := c.PutAuditEvents(ctx, tc.arn, "", tc.events)
		var ie *lakeapi.InvalidInputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) || !lakeapi.IsPermanent(err) || lakeapi.IsRetryable(err) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if st := s.Lake.Stats(); st.Calls != 0 {
		t.Fatalf("%d calls reached the lake", st.Calls)
	}
}

// Many concurrent calls share the pooled buffers safely (run with -race).
func TestConcurrentCalls(t *testing.T) {
	s, a := startSim(t)
	c := lakeapi.New(awsConfig(s, a, ""))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 5 {
				events := make([]lakeapi.AuditEvent, 20)
				for i := range events {
					events[i] = event(fmt.Sprintf("w%d-%d-%d", w, n, i), account)
				}
				out, err := c.PutAuditEvents(context.Background(), cloudsim.DemoChannelARN, "", events)
				if err == nil && len(out.Successful) != len(events) {
					err = fmt.Errorf("%d failed: %+v", len(out.Failed), out.Failed)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(s.Lake.Query(lake.Filter{})); n != 8*5*20 {
		t.Fatalf("%d stored", n)
	}
}

// Answers that are not AWS's: a proxy's HTML page, an endpoint with the code in the body
// only, a 200 whose body is cut.
func TestErrorParsing(t *testing.T) {
	var mu sync.Mutex
	var status int
	var header http.Header
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	c := lakeapi.New(cfg)
	set := func(st int, h http.Header, b string) {
		mu.Lock()
		status, header, body = st, h, b
		mu.Unlock()
	}
	call := func() error {
		_, err := c.PutAuditEvents(context.Background(), cloudsim.DemoChannelARN, "", []lakeapi.AuditEvent{event("e-1", account)})
		return err
	}

	set(400, http.Header{"X-Amzn-Errortype": {"ChannelNotFound:http://internal.amazon.com/coral/com.amazonaws.cloudtraildata/"},
		"X-Amzn-Requestid": {"req-1"}}, `{"message":"Channel not found"}`)
	ae := apiError(t, call(), "ChannelNotFound")
	if ae.Message != "Channel not found" || ae.RequestID != "req-1" {
		t.Fatalf("%+v", ae)
	}

	set(400, http.Header{"X-Amzn-Requestid": {"req-2"}}, `{"__type":"com.amazonaws.cloudtraildata.v20210811#ThrottlingException","Message":"Rate exceeded"}`)
	err := call()
	ae = apiError(t, err, "ThrottlingException")
	if ae.Message != "Rate exceeded" || !lakeapi.IsThrottle(err) {
		t.Fatalf("%+v", ae)
	}

	set(429, nil, ``)
	if err := call(); !lakeapi.IsThrottle(err) || !lakeapi.IsRetryable(err) {
		t.Fatalf("429: %v", err)
	}

	set(502, http.Header{"Content-Type": {"text/html"}}, "<html><body>Bad Gateway</body></html>")
	err = call()
	var e *lakeapi.APIError
	if !errors.As(err, &e) || e.Code != "" || e.Status != 502 || !strings.Contains(e.Message, "Bad Gateway") || !lakeapi.IsRetryable(err) {
		t.Fatalf("502: %v", err)
	}

	set(407, nil, "proxy auth")
	if err := call(); lakeapi.IsRetryable(err) || lakeapi.IsPermanent(err) || !strings.Contains(err.Error(), "Proxy Authentication Required") {
		t.Fatalf("407: %v", err)
	}

	set(200, nil, `{"successful":[{"id":"e-1"`)
	if err := call(); err == nil || !lakeapi.IsRetryable(err) {
		t.Fatalf("cut answer: %v", err)
	}

	set(403, http.Header{"X-Amzn-Errortype": {"ExpiredTokenException"}}, `{"message":"The security token included in the request is expired"}`)
	if err := call(); !lakeapi.IsAuth(err) || !lakeapi.IsPermanent(err) {
		t.Fatalf("expired: %v", err)
	}
}

// Network failures are retryable.
func TestNetworkErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Read(make([]byte, 1024))
			conn.Close() // hang up mid-request
		}
	}()
	defer ln.Close()
	c := lakeapi.New(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	_, err = c.PutAuditEvents(context.Background(), cloudsim.DemoChannelARN, "", []lakeapi.AuditEvent{event("e-1", account)})
	if err == nil || !lakeapi.IsRetryable(err) || lakeapi.IsPermanent(err) {
		t.Fatalf("hang-up: %v", err)
	}

	// Nothing listening.
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln2.Addr().String()
	ln2.Close()
	c = lakeapi.New(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://" + closed),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	_, err = c.GetChannel(context.Background(), cloudsim.DemoChannelARN)
	if err == nil || !lakeapi.IsRetryable(err) {
		t.Fatalf("refused: %v", err)
	}

	if lakeapi.IsRetryable(nil) || lakeapi.IsPermanent(nil) || lakeapi.IsThrottle(nil) {
		t.Fatal("nil")
	}
	if lakeapi.IsRetryable(errors.New("something else")) {
		t.Fatal("an unknown error is not known to be retryable")
	}
}

func TestParseChannelARN(t *testing.T) {
	tests := []struct {
		arn                 string
		region, account, id string
		err                 string
	}{
		{arn: cloudsim.DemoChannelARN, region: "us-east-1", account: "123456789012", id: "6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01"},
		{arn: "arn:aws-cn:cloudtrail:cn-north-1:111122223333:channel/abc", region: "cn-north-1", account: "111122223333", id: "abc"},
		{arn: "arn:aws-us-gov:cloudtrail:us-gov-west-1:111122223333:channel/a.b_c-d", region: "us-gov-west-1", account: "111122223333", id: "a.b_c-d"},
		{arn: "", err: "empty"},
		{arn: " " + cloudsim.DemoChannelARN, err: "spaces"},
		{arn: "6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01", err: "a channel id, not its ARN"},
		{arn: "arn:aws:cloudtrail:us-east-1:123456789012", err: "not an ARN"},
		{arn: "urn:aws:cloudtrail:us-east-1:123456789012:channel/x", err: "not an ARN"},
		{arn: "arn:gcp:cloudtrail:us-east-1:123456789012:channel/x", err: `partition "gcp"`},
		{arn: "arn:aws:cloudtrail-data:us-east-1:123456789012:channel/x", err: `service "cloudtrail-data" is not cloudtrail`},
		{arn: "arn:aws:cloudtrail::123456789012:channel/x", err: "no region"},
		{arn: "arn:aws:cloudtrail:US-EAST-1:123456789012:channel/x", err: `region "US-EAST-1"`},
		{arn: "arn:aws:cloudtrail:us-east-1:12345678901:channel/x", err: `account "12345678901" is not 12 digits`},
		{arn: "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x", err: `resource "eventdatastore/x" is not channel/<id>`},
		{arn: "arn:aws:cloudtrail:us-east-1:123456789012:channel/", err: "no channel id"},
		{arn: "arn:aws:cloudtrail:us-east-1:123456789012:channel/a/b", err: `channel id "a/b"`},
	}
	for _, tt := range tests {
		region, acct, id, err := lakeapi.ParseChannelARN(tt.arn)
		if tt.err != "" {
			var ie *lakeapi.InvalidInputError
			if err == nil || !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "want arn:aws:cloudtrail:") {
				t.Errorf("%q: error %v, want %q", tt.arn, err, tt.err)
			}
			continue
		}
		if err != nil || region != tt.region || acct != tt.account || id != tt.id {
			t.Errorf("%q: %q %q %q %v", tt.arn, region, acct, id, err)
		}
	}
}

func TestChecksum(t *testing.T) {
	// echo -n '{"a":1}' | openssl dgst -sha256 -binary | base64
	if got := lakeapi.Checksum([]byte(`{"a":1}`)); got != "AVq9f1zFei3ZS3WQ8ErYCEJzkF7jPsXOvq5iJ2qX+GI=" {
		t.Fatalf("%s", got)
	}
}
