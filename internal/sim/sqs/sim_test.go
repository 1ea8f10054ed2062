package sqs_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/logshipper/logshipper/internal/sim/awstest"
	"github.com/logshipper/logshipper/internal/sim/sqs"
)

// Behaviour checked against cloudsim only: what moto_server does not simulate, or does
// differently from AWS's documentation (README.md lists the differences).

func simEnv(t *testing.T, opts ...func(*awstest.SimOptions)) env {
	t.Helper()
	b := awstest.Sim(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return env{b: b, c: b.SQSClient(region, func(o *awssqs.Options) { o.Retryer = aws.NopRetryer{} }), ctx: ctx}
}

// A handle of an earlier receive: DeleteMessage succeeds without deleting (AWS's DeleteMessage
// reference), ChangeMessageVisibility is refused as expired; a handle of a deleted message
// deletes nothing and succeeds.
func TestStaleReceiptHandle(t *testing.T) {
	e := simEnv(t)
	url := e.queue(t, "stale", nil)
	e.send(t, url, "m")
	first := e.receive(t, url, 1, 30)
	e.release(t, url, first[0])
	second := e.receive(t, url, 1, 30)
	if len(second) != 1 {
		t.Fatalf("second receive %+v", second)
	}
	if _, err := e.c.DeleteMessage(e.ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage with the earlier handle: %v", err)
	}
	msgs, _ := e.b.SQS.Messages(sqs.ARN(awstest.SimAccount, region, "stale"))
	if len(msgs) != 1 {
		t.Fatalf("the earlier handle deleted the message: %+v", msgs)
	}
	_, err := e.c.ChangeMessageVisibility(e.ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 60})
	if errCode(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), "receipt handle has expired") {
		t.Fatalf("ChangeMessageVisibility with the earlier handle: %v", err)
	}
	if _, err := e.c.DeleteMessage(e.ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := e.b.SQS.Messages(sqs.ARN(awstest.SimAccount, region, "stale")); len(msgs) != 0 {
		t.Fatalf("the current handle did not delete: %+v", msgs)
	}
	if _, err := e.c.DeleteMessage(e.ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle}); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
	_, err = e.c.DeleteMessage(e.ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("garbage")})
	var rh *types.ReceiptHandleIsInvalid
	if !errors.As(err, &rh) {
		t.Fatalf("DeleteMessage with garbage: %v", err)
	}
}

func TestMessageNotInflight(t *testing.T) {
	e := simEnv(t)
	url := e.queue(t, "inflight", nil)
	e.send(t, url, "m")
	m := e.receive(t, url, 1, 30)
	e.release(t, url, m[0])
	_, err := e.c.ChangeMessageVisibility(e.ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m[0].ReceiptHandle, VisibilityTimeout: 30})
	var ni *types.MessageNotInflight
	if !errors.As(err, &ni) || errCode(err) != "AWS.SimpleQueueService.MessageNotInflight" {
		t.Fatalf("ChangeMessageVisibility of a visible message: %v (%q)", err, errCode(err))
	}
}

// The 12 hours count from the receive: extensions are accepted until the total reaches 12 h.
func TestTwelveHourLimitCountsFromReceive(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0).UTC()
	get := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	b := awstest.Sim(t, func(o *awstest.SimOptions) { o.SQS.Now = get })
	q := b.SQS
	arn, err := q.CreateQueue(sqs.QueueConfig{Account: awstest.SimAccount, Region: region, Name: "twelve"})
	if err != nil {
		t.Fatal(err)
	}
	advance(6 * time.Hour) // sent 6 h before the receive: does not count
	if _, err := q.Send(arn, "m"); err != nil {
		t.Fatal(err)
	}
	c := b.SQSClient(region, func(o *awssqs.Options) { o.Retryer = aws.NopRetryer{} })
	ctx := context.Background()
	url := sqs.QueueURL(b.Endpoint, awstest.SimAccount, "twelve")
	// The SigV4 verifier uses the real clock; only the queue's clock moves.
	out, err := c.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v %v", out, err)
	}
	h := out.Messages[0].ReceiptHandle
	tests := []struct {
		after time.Duration
		vis   int32
		code  string
	}{
		{0, 43200, ""},                          // exactly 12 h from the receive
		{11 * time.Hour, 3600, ""},              // 11 h + 1 h
		{0, 3601, "InvalidParameterValue"},      // 11 h + 1 h 1 s
		{30 * time.Minute, 1800, ""},            // 11.5 h + 0.5 h
		{0, 1801, "InvalidParameterValue"},      // past it
		{0, 43201, "InvalidParameterValue"},     // over the maximum value
		{-11*time.Hour - 30*time.Minute, 0, ""}, // back at the receive, returned to the queue
		{0, 10, "AWS.SimpleQueueService.MessageNotInflight"},
	}
	for i, tt := range tests {
		advance(tt.after)
		_, err := c.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: h, VisibilityTimeout: tt.vis})
		if errCode(err) != tt.code {
			t.Fatalf("step %d (+%v, %d s): %v, want code %q", i, tt.after, tt.vis, err, tt.code)
		}
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults sqs.Faults
		code   string
		status int
	}{
		{"throttle", sqs.Faults{ThrottleRate: 1}, "RequestThrottled", http.StatusForbidden},
		{"unavailable", sqs.Faults{UnavailableRate: 1}, "ServiceUnavailable", http.StatusServiceUnavailable},
		{"internal", sqs.Faults{InternalErrorRate: 1}, "InternalError", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := simEnv(t)
			url := e.queue(t, "faulty", nil)
			e.b.SQS.SetFaults(tt.faults)
			_, err := e.c.ReceiveMessage(e.ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
			var re interface{ HTTPStatusCode() int }
			if errCode(err) != tt.code || !errors.As(err, &re) || re.HTTPStatusCode() != tt.status {
				t.Fatalf("error %v: code %q", err, errCode(err))
			}
			// The SDK's standard retryer sees these as retryable.
			if !retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool() && tt.name != "throttle" {
				t.Errorf("%s is not retryable for the SDK", tt.code)
			}
		})
	}
	// Ops limits the faults; a cut answer is done in full before the connection drops.
	e := simEnv(t)
	url := e.queue(t, "cut", nil)
	e.send(t, url, "m")
	e.b.SQS.SetFaults(sqs.Faults{CutRate: 1, Ops: []string{"DeleteMessage"}})
	m := e.receive(t, url, 1, 30)
	if len(m) != 1 {
		t.Fatal("ReceiveMessage was faulted although Ops names DeleteMessage only")
	}
	if _, err := e.c.DeleteMessage(e.ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m[0].ReceiptHandle}); err == nil {
		t.Fatal("a cut DeleteMessage answered")
	}
	if msgs, _ := e.b.SQS.Messages(sqs.ARN(awstest.SimAccount, region, "cut")); len(msgs) != 0 || e.b.SQS.Stats().Cut != 1 {
		t.Fatalf("after the cut delete: %+v, stats %+v", msgs, e.b.SQS.Stats())
	}
}

// Authentication failures carry the query code in x-amzn-query-error, which the SDK reports.
func TestAuthenticationErrors(t *testing.T) {
	b := awstest.Sim(t)
	b.Secret = "wrong"
	c := b.SQSClient(region, func(o *awssqs.Options) { o.Retryer = aws.NopRetryer{} })
	_, err := c.ListQueues(context.Background(), &awssqs.ListQueuesInput{})
	if errCode(err) != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v (%q)", err, errCode(err))
	}
	b.AccessKey = "AKIAUNKNOWNKEY000000"
	c = b.SQSClient(region, func(o *awssqs.Options) { o.Retryer = aws.NopRetryer{} })
	_, err = c.ListQueues(context.Background(), &awssqs.ListQueuesInput{})
	if errCode(err) != "InvalidClientTokenId" {
		t.Fatalf("unknown key: %v (%q)", err, errCode(err))
	}
}

// A long poll on an empty queue waits its whole time; a message whose visibility ends during
// the wait is returned then.
func TestLongPollWaits(t *testing.T) {
	e := simEnv(t)
	url := e.queue(t, "wait", nil)
	start := time.Now()
	out, err := e.c.ReceiveMessage(e.ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 0 || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("empty long poll: %v %v after %v", out, err, time.Since(start))
	}
	e.send(t, url, "m")
	if m := e.receive(t, url, 1, 1); len(m) != 1 {
		t.Fatal("no message")
	}
	start = time.Now()
	out, err = e.c.ReceiveMessage(e.ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 10})
	if err != nil || len(out.Messages) != 1 || out.Messages[0].Attributes != nil && out.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("long poll over a visibility timeout: %+v %v", out, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the message came back after %v (its visibility timeout was 1 s)", took)
	}
}

func TestSendRejects(t *testing.T) {
	e := simEnv(t)
	arn, err := e.b.SQS.CreateQueue(sqs.QueueConfig{Account: awstest.SimAccount, Region: region, Name: "rejects"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body string
	}{
		{"empty", ""},
		{"too large", strings.Repeat("x", sqs.MaxMessageSize+1)},
		{"control character", "a\x01b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.b.SQS.Send(arn, tt.body); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := e.b.SQS.Send(sqs.ARN(awstest.SimAccount, region, "missing"), "x"); err == nil {
		t.Fatal("Send to a missing queue accepted")
	}
}

func TestLatency(t *testing.T) {
	e := simEnv(t, func(o *awstest.SimOptions) {
		o.SQS.Faults = sqs.Faults{Latency: 300 * time.Millisecond, Ops: []string{"ListQueues"}}
	})
	start := time.Now()
	if _, err := e.c.ListQueues(e.ctx, &awssqs.ListQueuesInput{}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("ListQueues took %v with 300 ms of latency", took)
	}
}

// A long poll ends on real time even when the service's clock stands still.
func TestLongPollWithAFrozenClock(t *testing.T) {
	frozen := time.Unix(1_800_000_000, 0)
	e := simEnv(t, func(o *awstest.SimOptions) { o.SQS.Now = func() time.Time { return frozen } })
	url := e.queue(t, "frozen", nil)
	start := time.Now()
	out, err := e.c.ReceiveMessage(e.ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("%v %v", out, err)
	}
	if took := time.Since(start); took < 900*time.Millisecond || took > 10*time.Second {
		t.Fatalf("a 1 s long poll took %v", took)
	}
}

// A queue URL is resolved by its account and name, whatever its host: AWS's form works too.
func TestAWSShapedQueueURL(t *testing.T) {
	e := simEnv(t)
	e.queue(t, "aws-shaped", nil)
	awsURL := "https://sqs.us-east-1.amazonaws.com/" + awstest.SimAccount + "/aws-shaped"
	e.send(t, awsURL, "via the AWS URL")
	if m := e.receive(t, awsURL, 1, 30); len(m) != 1 || aws.ToString(m[0].Body) != "via the AWS URL" {
		t.Fatalf("received %+v", m)
	}
	_, err := e.c.SendMessage(e.ctx, &awssqs.SendMessageInput{QueueUrl: aws.String("https://sqs.us-east-1.amazonaws.com/999988887777/aws-shaped"), MessageBody: aws.String("x")})
	if errCode(err) != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("another account's queue: %v", err)
	}
}
