package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/sim/awstest"
)

const region = "us-east-1"

// errCode returns the error code the SDK reports for err ("" for none).
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

type env struct {
	b   awstest.Backend
	c   *awssqs.Client
	ctx context.Context
}

// onBoth runs f against cloudsim and against moto_server.
func onBoth(t *testing.T, f func(t *testing.T, e env)) {
	for _, b := range awstest.Both(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			f(t, env{b: b, c: b.SQSClient(region), ctx: ctx})
		})
	}
}

func (e env) queue(t *testing.T, name string, attrs map[string]string) string {
	t.Helper()
	out, err := e.c.CreateQueue(e.ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

func (e env) send(t *testing.T, url string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := e.c.SendMessage(e.ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(b)}); err != nil {
			t.Fatalf("SendMessage: %v", err)
		}
	}
}

func (e env) receive(t *testing.T, url string, n int32, vis int32) []types.Message {
	t.Helper()
	out, err := e.c.ReceiveMessage(e.ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: n,
		VisibilityTimeout: vis, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

// release makes a received message visible again at once (a VisibilityTimeout of 0 in
// ReceiveMessage is not sent by the SDK: 0 is its zero value).
func (e env) release(t *testing.T, url string, m types.Message) {
	t.Helper()
	if _, err := e.c.ChangeMessageVisibility(e.ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
		ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatalf("ChangeMessageVisibility 0: %v", err)
	}
}

func TestQueueLifecycle(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		url := e.queue(t, "life", map[string]string{"VisibilityTimeout": "45"})
		got, err := e.c.GetQueueUrl(e.ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("life")})
		if err != nil || aws.ToString(got.QueueUrl) != url {
			t.Fatalf("GetQueueUrl: %v %v, want %s", aws.ToString(got.QueueUrl), err, url)
		}
		// Creating it again with the same attributes answers the same URL.
		if again := e.queue(t, "life", map[string]string{"VisibilityTimeout": "45"}); again != url {
			t.Fatalf("CreateQueue again: %s, want %s", again, url)
		}
		attrs, err := e.c.GetQueueAttributes(e.ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"VisibilityTimeout": "45", "QueueArn": "arn:aws:sqs:us-east-1:" + e.b.Account + ":life",
			"ApproximateNumberOfMessages": "0", "MessageRetentionPeriod": "345600"}
		for k, v := range want {
			if attrs.Attributes[k] != v {
				t.Errorf("attribute %s = %q, want %q", k, attrs.Attributes[k], v)
			}
		}
		_, err = e.c.GetQueueUrl(e.ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String("no-such-queue")})
		var nq *types.QueueDoesNotExist
		if !errors.As(err, &nq) || errCode(err) != "AWS.SimpleQueueService.NonExistentQueue" {
			t.Fatalf("GetQueueUrl of a missing queue: %v (code %q)", err, errCode(err))
		}
	})
}

func TestSendReceiveDelete(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		url := e.queue(t, "srd", nil)
		before := time.Now().Add(-time.Second).UnixMilli()
		// The SDK checks MD5OfMessageBody and MD5OfBody: a wrong one would fail these calls.
		e.send(t, url, "one", `{"two":"ü ✓"}`)
		msgs := e.receive(t, url, 10, 30)
		for len(msgs) < 2 { // a standard queue may hand out fewer than are there
			msgs = append(msgs, e.receive(t, url, 10, 30)...)
		}
		bodies := map[string]bool{}
		for _, m := range msgs {
			bodies[aws.ToString(m.Body)] = true
			if m.Attributes["ApproximateReceiveCount"] != "1" {
				t.Errorf("ApproximateReceiveCount %q", m.Attributes["ApproximateReceiveCount"])
			}
			ts, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
			if err != nil || ts < before || ts > time.Now().UnixMilli()+1000 {
				t.Errorf("SentTimestamp %q", m.Attributes["SentTimestamp"])
			}
		}
		if !bodies["one"] || !bodies[`{"two":"ü ✓"}`] {
			t.Fatalf("bodies %v", bodies)
		}
		// Both are in flight: nothing more to receive.
		if more := e.receive(t, url, 10, 30); len(more) != 0 {
			t.Fatalf("received %d in-flight messages again", len(more))
		}
		for _, m := range msgs {
			if _, err := e.c.DeleteMessage(e.ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
		attrs, err := e.c.GetQueueAttributes(e.ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "0" || attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
			t.Fatalf("after deleting: %v %v", attrs.Attributes, err)
		}
	})
}

func TestVisibilityAndReceiveCount(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		url := e.queue(t, "vis", nil)
		e.send(t, url, "again")
		first := e.receive(t, url, 1, 30)
		if len(first) != 1 {
			t.Fatalf("received %d", len(first))
		}
		// Back to the queue at once: the next receive counts 2 and has a new handle.
		if _, err := e.c.ChangeMessageVisibility(e.ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
			ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			t.Fatalf("ChangeMessageVisibility 0: %v", err)
		}
		second := e.receive(t, url, 1, 30)
		if len(second) != 1 || second[0].Attributes["ApproximateReceiveCount"] != "2" || aws.ToString(second[0].ReceiptHandle) == aws.ToString(first[0].ReceiptHandle) {
			t.Fatalf("second receive %+v", second)
		}
		// Past 12 hours of visibility since the receive: rejected.
		_, err := e.c.ChangeMessageVisibility(e.ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
			ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 43201})
		if errCode(err) != "InvalidParameterValue" {
			t.Fatalf("ChangeMessageVisibility 43201: %v (code %q)", err, errCode(err))
		}
		if _, err := e.c.ChangeMessageVisibility(e.ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
			ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 600}); err != nil {
			t.Fatalf("extending to 600 s: %v", err)
		}
	})
}

func TestParameterErrors(t *testing.T) {
	tests := []struct {
		name string
		call func(e env, url string) error
		code string
	}{
		{"MaxNumberOfMessages 11", func(e env, url string) error {
			_, err := e.c.ReceiveMessage(e.ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 11})
			return err
		}, "InvalidParameterValue"},
		{"WaitTimeSeconds 21", func(e env, url string) error {
			_, err := e.c.ReceiveMessage(e.ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 21})
			return err
		}, "InvalidParameterValue"},
		{"11 batch entries", func(e env, url string) error {
			var entries []types.SendMessageBatchRequestEntry
			for i := range 11 {
				entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), MessageBody: aws.String("x")})
			}
			_, err := e.c.SendMessageBatch(e.ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
			return err
		}, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
		{"repeated batch ids", func(e env, url string) error {
			_, err := e.c.SendMessageBatch(e.ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
				{Id: aws.String("a"), MessageBody: aws.String("1")}, {Id: aws.String("a"), MessageBody: aws.String("2")}}})
			return err
		}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
		{"missing queue", func(e env, url string) error {
			_, err := e.c.SendMessage(e.ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url + "-gone"), MessageBody: aws.String("x")})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue"},
	}
	onBoth(t, func(t *testing.T, e env) {
		url := e.queue(t, "params", nil)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(e, url); errCode(err) != tt.code {
					t.Fatalf("error %v: code %q, want %q", err, errCode(err), tt.code)
				}
			})
		}
	})
}

func TestBatchPartialFailure(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		url := e.queue(t, "batch", nil)
		out, err := e.c.SendMessageBatch(e.ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("a"), MessageBody: aws.String("A")}, {Id: aws.String("b"), MessageBody: aws.String("B")}}})
		if err != nil || len(out.Successful) != 2 {
			t.Fatalf("SendMessageBatch: %+v %v", out, err)
		}
		msgs := e.receive(t, url, 10, 60)
		for len(msgs) < 2 {
			msgs = append(msgs, e.receive(t, url, 10, 60)...)
		}
		del, err := e.c.DeleteMessageBatch(e.ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
			{Id: aws.String("good"), ReceiptHandle: msgs[0].ReceiptHandle},
			{Id: aws.String("bad"), ReceiptHandle: aws.String("not-a-receipt-handle")}}})
		if err != nil {
			t.Fatalf("DeleteMessageBatch: %v", err)
		}
		if len(del.Successful) != 1 || aws.ToString(del.Successful[0].Id) != "good" || len(del.Failed) != 1 ||
			aws.ToString(del.Failed[0].Id) != "bad" || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" || !del.Failed[0].SenderFault {
			t.Fatalf("DeleteMessageBatch: successful %+v failed %+v", del.Successful, del.Failed)
		}
		chg, err := e.c.ChangeMessageVisibilityBatch(e.ctx, &awssqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url),
			Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
				{Id: aws.String("ok"), ReceiptHandle: msgs[1].ReceiptHandle, VisibilityTimeout: 120},
				{Id: aws.String("bad"), ReceiptHandle: aws.String("not-a-receipt-handle"), VisibilityTimeout: 120}}})
		if err != nil || len(chg.Successful) != 1 || len(chg.Failed) != 1 || aws.ToString(chg.Failed[0].Code) != "ReceiptHandleIsInvalid" {
			t.Fatalf("ChangeMessageVisibilityBatch: %+v %v", chg, err)
		}
	})
}

func TestRedriveToDeadLetterQueue(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		dlq := e.queue(t, "dead", nil)
		a, err := e.c.GetQueueAttributes(e.ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(dlq), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		policy, _ := json.Marshal(map[string]string{"deadLetterTargetArn": a.Attributes["QueueArn"], "maxReceiveCount": "2"})
		url := e.queue(t, "live", map[string]string{"RedrivePolicy": string(policy)})
		e.send(t, url, "poison")
		for i := 1; i <= 2; i++ {
			m := e.receive(t, url, 1, 30)
			if len(m) != 1 || m[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(i) {
				t.Fatalf("receive %d: %+v", i, m)
			}
			e.release(t, url, m[0])
		}
		if m := e.receive(t, url, 1, 30); len(m) != 0 {
			t.Fatalf("received after maxReceiveCount: %+v", m)
		}
		var got []types.Message
		for range 5 {
			if got = e.receive(t, dlq, 1, 30); len(got) > 0 {
				break
			}
		}
		if len(got) != 1 || aws.ToString(got[0].Body) != "poison" {
			t.Fatalf("dead-letter queue holds %+v", got)
		}
	})
}

func TestLongPollReturnsOnArrival(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		url := e.queue(t, "poll", nil)
		type result struct {
			msgs []types.Message
			err  error
			took time.Duration
		}
		done := make(chan result, 1)
		go func() {
			start := time.Now()
			out, err := e.c.ReceiveMessage(e.ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 20})
			r := result{err: err, took: time.Since(start)}
			if out != nil {
				r.msgs = out.Messages
			}
			done <- r
		}()
		e.send(t, url, "wake up")
		r := <-done
		if r.err != nil || len(r.msgs) != 1 || aws.ToString(r.msgs[0].Body) != "wake up" {
			t.Fatalf("long poll: %+v", r)
		}
		if r.took > 10*time.Second {
			t.Fatalf("long poll took %v for a message sent at once", r.took)
		}
	})
}

func TestPurgeQueue(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		url := e.queue(t, "purge", nil)
		e.send(t, url, "a", "b", "c")
		if _, err := e.c.PurgeQueue(e.ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Fatal(err)
		}
		if m := e.receive(t, url, 10, 30); len(m) != 0 {
			t.Fatalf("received %d after a purge", len(m))
		}
	})
}

func TestAWSCLI(t *testing.T) {
	onBoth(t, func(t *testing.T, e env) {
		out, err := e.b.CLI(e.ctx, t, region, "sqs", "create-queue", "--queue-name", "cli")
		if err != nil {
			t.Fatal(err)
		}
		var created struct{ QueueUrl string }
		if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasSuffix(created.QueueUrl, "/cli") {
			t.Fatalf("create-queue: %q %v", out, err)
		}
		if _, err := e.b.CLI(e.ctx, t, region, "sqs", "send-message", "--queue-url", created.QueueUrl, "--message-body", "from the cli"); err != nil {
			t.Fatal(err)
		}
		out, err = e.b.CLI(e.ctx, t, region, "sqs", "receive-message", "--queue-url", created.QueueUrl, "--wait-time-seconds", "5")
		if err != nil || !strings.Contains(out, `"Body": "from the cli"`) {
			t.Fatalf("receive-message: %q %v", out, err)
		}
		_, err = e.b.CLI(e.ctx, t, region, "sqs", "get-queue-url", "--queue-name", "missing")
		if err == nil || !strings.Contains(err.Error(), "NonExistentQueue") {
			t.Fatalf("get-queue-url of a missing queue: %v", err)
		}
	})
}

// Message attributes come back with the MD5 both implementations compute from SQS's documented
// encoding: cloudsim's must equal moto_server's.
func TestMessageAttributesMD5(t *testing.T) {
	attrs := map[string]types.MessageAttributeValue{
		"trace":  {DataType: aws.String("String"), StringValue: aws.String("abc-123")},
		"n":      {DataType: aws.String("Number"), StringValue: aws.String("42")},
		"blob":   {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
		"custom": {DataType: aws.String("String.json"), StringValue: aws.String(`{"a":1}`)},
	}
	var sums []string
	onBoth(t, func(t *testing.T, e env) {
		url := e.queue(t, "attrs", nil)
		sent, err := e.c.SendMessage(e.ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("b"), MessageAttributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.c.ReceiveMessage(e.ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(url), MessageAttributeNames: []string{"All"}})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("ReceiveMessage: %v %v", out, err)
		}
		m := out.Messages[0]
		if aws.ToString(m.MD5OfMessageAttributes) != aws.ToString(sent.MD5OfMessageAttributes) || len(m.MessageAttributes) != 4 ||
			string(m.MessageAttributes["blob"].BinaryValue) != "\x00\x01\x02\xff" || aws.ToString(m.MessageAttributes["custom"].DataType) != "String.json" {
			t.Fatalf("received %+v (sent MD5 %s)", m, aws.ToString(sent.MD5OfMessageAttributes))
		}
		sums = append(sums, aws.ToString(sent.MD5OfMessageAttributes))
	})
	if len(sums) == 2 && sums[0] != sums[1] {
		t.Fatalf("MD5OfMessageAttributes: cloudsim %s, moto_server %s", sums[0], sums[1])
	}
}
