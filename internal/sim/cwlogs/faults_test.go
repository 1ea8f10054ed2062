package cwlogs

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// rawCall sends one awsJson1.1 request with a credential scope that withCaller trusts.
func rawCall(ctx context.Context, url, op, body string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("X-Amz-Target", TargetPrefix+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260301/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestCutAnswers(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.client("us-east-1")
	evs := []InputEvent{{Timestamp: e.clock.ms(), Message: "one"}, {Timestamp: e.clock.ms(), Message: "two"}}
	mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", "s", evs))
	filter := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")}

	e.svc.SetFaults(Faults{CutRate: 1, Ops: []string{"FilterLogEvents"}})

	// The SDK client gets an error, not a page.
	if out, err := c.FilterLogEvents(ctx, filter); err == nil {
		t.Fatalf("a cut answer decoded: %d events", len(out.Events))
	}
	// On the wire: the full Content-Length promised, half the body, then the connection ends.
	resp, body, err := rawCall(ctx, e.srv.URL, "FilterLogEvents", `{"logGroupName":"g"}`)
	if resp == nil {
		t.Fatalf("no answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength <= 0 {
		t.Fatalf("status %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) || int64(len(body)) != resp.ContentLength/2 {
		t.Fatalf("read %d of %d bytes, err %v", len(body), resp.ContentLength, err)
	}
	if !strings.HasPrefix(string(body), `{"`) {
		t.Fatalf("cut body %q", body)
	}
	// The SDK may retry a read that failed on a closed connection: at least two cuts.
	cuts := e.svc.Stats().Cut
	if cuts < 2 {
		t.Fatalf("cuts counted: %d", cuts)
	}
	// Other operations are not cut (Faults.Ops).
	if _, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil {
		t.Fatalf("DescribeLogGroups was cut: %v", err)
	}
	// Error answers are never cut.
	_, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("nope")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("error answer: %v", err)
	}
	if st := e.svc.Stats(); st.Cut != cuts {
		t.Fatalf("stats %+v, want %d cuts", st, cuts)
	}

	// The same request again, faults off, gets the page.
	e.svc.SetFaults(Faults{})
	out, err := c.FilterLogEvents(ctx, filter)
	mustNoErr(t, err)
	if len(out.Events) != 2 || aws.ToString(out.Events[0].Message) != "one" {
		t.Fatalf("after the cut: %+v", out.Events)
	}
}

// A cut answer without a body (CreateLogGroup) is aborted before its status line; the work is
// done all the same.
func TestCutAnswerWithoutBody(t *testing.T) {
	e := newEnv(t, Options{Faults: Faults{CutRate: 1}})
	c := e.client("us-east-1")
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("made")}); err == nil {
		t.Fatal("a cut CreateLogGroup succeeded")
	}
	e.svc.SetFaults(Faults{})
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("made")})
	if apiCode(err) != "ResourceAlreadyExistsException" {
		t.Fatalf("the cut call did not create the group: %v", err)
	}
	if st := e.svc.Stats(); st.Cut < 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSlowAnswers(t *testing.T) {
	t.Run("limited to Ops", func(t *testing.T) {
		e := newEnv(t, Options{Faults: Faults{SlowRate: 1, SlowDelay: 5 * time.Millisecond, Ops: []string{"FilterLogEvents"}}})
		c := e.client("us-east-1")
		mustNoErr(t, e.svc.Put(testAccount, "us-east-1", "g", "s", []InputEvent{{Timestamp: e.clock.ms(), Message: "x"}}))
		for _, tc := range []struct {
			name string
			call func() error
			slow uint64
		}{
			{"FilterLogEvents", func() error {
				_, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")})
				return err
			}, 1},
			{"DescribeLogGroups", func() error {
				_, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
				return err
			}, 1},
			{"FilterLogEvents again", func() error {
				_, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")})
				return err
			}, 2},
		} {
			mustNoErr(t, tc.call())
			if got := e.svc.Stats().Slow; got != tc.slow {
				t.Fatalf("after %s: Slow %d, want %d", tc.name, got, tc.slow)
			}
		}
	})
	t.Run("no delay, no slow answer", func(t *testing.T) {
		e := newEnv(t, Options{Faults: Faults{SlowRate: 1}})
		_, err := e.client("us-east-1").DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
		mustNoErr(t, err)
		if got := e.svc.Stats().Slow; got != 0 {
			t.Fatalf("Slow %d", got)
		}
	})
	t.Run("the wait comes first and ends when the caller goes", func(t *testing.T) {
		// Were the caller's going ignored, the handler would hold the connection for a minute
		// and store the events: the test would fail, not hang.
		svc := New(Options{Rates: map[string]float64{}, Seed: 1, Faults: Faults{SlowRate: 1, SlowDelay: time.Minute}})
		mustNoErr(t, svc.Put(testAccount, "us-east-1", "g", "s", nil))
		closed := make(chan struct{}, 1)
		srv := httptest.NewUnstartedServer(withCaller(svc))
		srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateClosed {
				select {
				case closed <- struct{}{}:
				default:
				}
			}
		}
		srv.Start()
		t.Cleanup(srv.Close)

		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, _, err := rawCall(cctx, srv.URL, "PutLogEvents",
				`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":`+strconv.FormatInt(time.Now().UnixMilli(), 10)+`,"message":"late"}]}`)
			done <- err
		}()
		waitUntil(t, "the request to start waiting", func() bool { return svc.Stats().Slow == 1 })
		if st := svc.Stats(); st.EventsStored != 0 {
			t.Fatalf("stored before the wait ended: %+v", st)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("client error %v", err)
		}
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Fatal("the handler sat out the delay after the caller went")
		}
		if st := svc.Stats(); st.EventsStored != 0 {
			t.Fatalf("a cancelled request stored events: %+v", st)
		}
	})
	t.Run("rate is a probability", func(t *testing.T) {
		e := newEnv(t, Options{Faults: Faults{SlowRate: 0.5, SlowDelay: time.Microsecond}})
		c := e.client("us-east-1")
		for i := 0; i < 200; i++ {
			_, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
			mustNoErr(t, err)
		}
		if n := e.svc.Stats().Slow; n < 60 || n > 140 {
			t.Fatalf("%d of 200 requests slow at rate 0.5", n)
		}
	})
}

// waitUntil polls cond; the generous deadline only stops a broken test from hanging.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
