package awss3sqs

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awstest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// waitQueued waits until the queue holds n messages, visible or not.
func (w *world) waitQueued(t *testing.T, n int, what string) {
	t.Helper()
	plugintest.Eventually(t, 10*time.Second, what, func() bool { return w.queued() == n })
}

// A message is deleted only once every batch of it was acknowledged; a nacked batch leaves
// it in the queue, and it is read again.
func TestDeleteAfterAck(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 30)
		cfg := w.config()
		cfg.BatchSize = 2 // 5 records: 3 batches of one message
		pub := plugintest.NewPublisher(plugintest.Manual)
		run := plugintest.Start(t, w.source(t, cfg, settings(t, nil)), pub)
		ids := w.produce(5)
		pub.WaitKeys(t, idKey, ids)
		if n := len(pub.Batches()); n != 3 {
			t.Fatalf("%d batches, want 3", n)
		}
		// Two of three acknowledged, one nacked: the message stays and comes back at once.
		pub.Batches()[0].Ack()
		pub.Batches()[2].Ack()
		if w.queued() != 1 {
			t.Fatal("the message was deleted before all its batches were acknowledged")
		}
		pub.Batches()[1].Nack()
		pub.WaitUntil(t, 10*time.Second, "the nacked message to be read again", func() bool { return len(pub.Batches()) == 6 })
		if w.queued() != 1 {
			t.Fatal("the nacked message left the queue")
		}
		pub.AckAll()
		w.waitQueued(t, 0, "the message to be deleted once every batch of its second reading was acknowledged")
		run.Stop(t)
	})
}

// While its records are being delivered, a message's visibility is extended: a second source
// on the same queue does not receive it, though the batch is held for several visibility
// timeouts.
func TestVisibilityExtended(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 2)
		cfg := w.config()
		cfg.VisibilityTimeout = 2 * time.Second
		slow := plugintest.NewPublisher(plugintest.Manual)
		other := plugintest.NewPublisher(plugintest.AckAsync)
		a := plugintest.Start(t, w.source(t, cfg, settings(t, nil)), slow)
		ids := w.produce(3)
		slow.WaitKeys(t, idKey, ids)
		second := plugintest.Start(t, w.source(t, w.config(), settings(t, nil)), other)
		// The slow destination holds the batch for three visibility timeouts: had the keepalive
		// not extended it, the message would be visible again and the other source would read it.
		if other.Await(6*time.Second, func() bool { return len(other.Records()) > 0 || len(slow.Batches()) > 1 }) {
			t.Fatalf("the message was received again while its batch was in flight: %d batches here, %d records there", len(slow.Batches()), len(other.Records()))
		}
		slow.AckAll()
		w.waitQueued(t, 0, "the message to be deleted after the acknowledgement")
		a.Stop(t)
		second.Stop(t)
		if len(other.Records()) != 0 {
			t.Errorf("the other source published %d records of the delivered message", len(other.Records()))
		}
	})
}

// Poison objects (not gzip nor JSON, gzip of garbage, a missing key) are dead-lettered once
// each, with the reason; the good object of the same message flows, and the message is
// deleted. A body that is no notification is dead-lettered and deleted too.
func TestPoisonObjectOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 30)
		set := settings(t, nil)
		drops := plugintest.DropperOf(t, set)
		pub := plugintest.NewPublisher(plugintest.AckAsync)
		run := plugintest.Start(t, w.source(t, w.config(), set), pub)
		now := time.Now()
		good, ids := w.logFile(4, now)
		keys := []string{logKey(now, "good"), logKey(now, "plain"), logKey(now, "garbage"), logKey(now, "missing")}
		w.put(keys[0], good)
		w.put(keys[1], []byte("not gzip, not JSON"))
		w.put(keys[2], gz([]byte("<html>gzip of not JSON</html>")))
		w.send(w.s3Event(keys...))
		w.send("this is not a notification")
		pub.WaitKeys(t, idKey, ids)
		w.waitQueued(t, 0, "both messages to be deleted")
		plugintest.Eventually(t, 5*time.Second, "four dead letters", func() bool { return drops.Count(plugin.ReasonInvalid) == 4 })
		run.Stop(t)
		var got []string
		for _, d := range drops.Drops() {
			got = append(got, d.Err.Error())
		}
		sort.Strings(got)
		for _, want := range []string{"not a CloudTrail log file", "not a CloudTrail log file", "cannot be read for good (NoSuchKey)", "not an S3 event notification"} {
			found := false
			for i, g := range got {
				if strings.Contains(g, want) {
					got = append(got[:i], got[i+1:]...)
					found = true
					break
				}
			}
			if !found {
				t.Errorf("no dead letter says %q (left: %q)", want, got)
			}
		}
		if n := len(pub.Records()); n != 4 {
			t.Errorf("%d records published, want the good file's 4", n)
		}
		if v := testutil.ToFloat64(set.Metrics.Objects.WithLabelValues(objPoison)); v != 3 {
			t.Errorf("objects poison = %v, want 3", v)
		}
	})
}

// Every notification shape: SNS-wrapped, EventBridge (AWS's and moto's), S3's test event,
// several records in one message, keys with a space and escapes, a digest file (skipped), a
// key outside key_regex (skipped), a removal (skipped).
func TestNotificationShapes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 30)
		set := settings(t, nil)
		drops := plugintest.DropperOf(t, set)
		pub := plugintest.NewPublisher(plugintest.AckAsync)
		run := plugintest.Start(t, w.source(t, w.config(), set), pub)
		now := time.Now()
		var want []string
		file := func(key string) {
			body, ids := w.logFile(2, now)
			w.put(key, body)
			want = append(want, ids...)
		}
		k1, k2, k3, k4 := logKey(now, "a b+c=d"), logKey(now, "sns"), logKey(now, "eventbridge"), logKey(now, "moto-eb")
		for _, k := range []string{k1, k2, k3, k4} {
			file(k)
		}
		digest := fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/2026/12/06/%s_CloudTrail-Digest_%s_trail_%s_20261206T120000Z.json.gz", testAccount, testRegion, testAccount, testRegion, testRegion)
		w.put(digest, gz([]byte(`{"digestStartTime":"2026-12-06T11:00:00Z","logFiles":[]}`)))
		w.put("other/config.json.gz", gz([]byte(`{"x":1}`)))
		w.send(w.s3Event(k1, digest, "other/config.json.gz"))
		w.send(`{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:111122223333:t","Message":` + quote(w.s3Event(k2)) + `}`)
		w.send(fmt.Sprintf(`{"version":"0","id":"i","detail-type":"Object Created","source":"aws.s3","account":%q,"time":"2026-12-06T12:00:00Z","region":%q,"resources":[],"detail":{"version":"0","bucket":{"name":%q},"object":{"key":%q,"size":1,"etag":"e"},"reason":"PutObject"}}`, testAccount, testRegion, w.bucket, k3))
		w.send(fmt.Sprintf(`{"version":"0","id":"i","detail-type":"Object Created","source":"aws.s3","account":%q,"time":1765022400,"region":%q,"resources":[],"detail":{"version":"0","bucket":{"name":%q},"object":{"key":%q,"size":1,"eTag":"e"},"reason":"ObjectCreated"}}`, testAccount, testRegion, w.bucket, k4))
		w.send(`{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-06T12:00:00.000Z","Bucket":"` + w.bucket + `"}`)
		w.send(`{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`)
		pub.WaitKeys(t, idKey, want)
		w.waitQueued(t, 0, "every message to be deleted")
		run.Stop(t)
		if n := len(pub.Records()); n != len(want) {
			t.Errorf("%d records published, want %d", n, len(want))
		}
		if n := drops.Count(plugin.ReasonControlMessage); n != 1 {
			t.Errorf("%d test events counted, want 1", n)
		}
		if n := drops.Count(plugin.ReasonInvalid); n != 0 {
			t.Errorf("%d dead letters, want none", n)
		}
		for outcome, want := range map[string]float64{objDigest: 1, objFiltered: 1, objRead: 4} {
			if v := testutil.ToFloat64(set.Metrics.Objects.WithLabelValues(outcome)); v != want {
				t.Errorf("objects %s = %v, want %v", outcome, v, want)
			}
		}
		for _, r := range pub.Records() {
			if r.Kind != event.KindCloudTrail || r.Meta[MetaBucket] != w.bucket {
				t.Errorf("record %s: kind %q, bucket %q", r.ID, r.Kind, r.Meta[MetaBucket])
			}
		}
	})
}

// Two source instances of two workers each share one queue: every record is delivered once
// when nothing fails, and the queue empties.
func TestSharedQueueOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 30)
		var want []string
		for range 10 {
			want = append(want, w.produce(3)...)
		}
		p1, p2 := plugintest.NewPublisher(plugintest.AckAsync), plugintest.NewPublisher(plugintest.AckAsync)
		r1 := plugintest.Start(t, w.source(t, w.config(), settings(t, nil)), p1)
		r2 := plugintest.Start(t, w.source(t, w.config(), settings(t, nil)), p2)
		for range 10 {
			want = append(want, w.produce(3)...)
		}
		plugintest.Eventually(t, 20*time.Second, "every record from one of the sources", func() bool {
			have := map[string]bool{}
			for _, k := range append(p1.Keys(idKey), p2.Keys(idKey)...) {
				have[k] = true
			}
			for _, k := range want {
				if !have[k] {
					return false
				}
			}
			return true
		})
		w.waitQueued(t, 0, "every message to be deleted")
		r1.Stop(t)
		r2.Stop(t)
		seen := map[string]int{}
		for _, k := range append(p1.Keys(idKey), p2.Keys(idKey)...) {
			seen[k]++
		}
		for k, n := range seen {
			if n > 1 {
				t.Errorf("record %s delivered %d times", k, n)
			}
		}
		if len(seen) != len(want) {
			t.Errorf("%d records delivered, want %d", len(seen), len(want))
		}
		t.Logf("source 1 delivered %d records, source 2 %d", len(p1.Records()), len(p2.Records()))
	})
}

// A message received more than max_receive_count times goes to the dead letters once and is
// deleted.
func TestMaxReceiveCount(t *testing.T) {
	eachBackend(t, func(t *testing.T, b awstest.Backend) {
		w := newWorld(t, b, 30)
		cfg := w.config()
		cfg.MaxReceiveCount = 2
		set := settings(t, nil)
		drops := plugintest.DropperOf(t, set)
		pub := plugintest.NewPublisher(plugintest.Manual)
		run := plugintest.Start(t, w.source(t, cfg, set), pub)
		ids := w.produce(2)
		for round := 1; round <= 2; round++ {
			pub.WaitUntil(t, 10*time.Second, fmt.Sprintf("reading %d of the message", round), func() bool { return len(pub.Batches()) == round })
			pub.Batches()[round-1].Nack()
		}
		w.waitQueued(t, 0, "the message received a third time to be dead-lettered and deleted")
		run.Stop(t)
		if n := drops.Count(plugin.ReasonInvalid); n != 1 {
			t.Fatalf("%d dead letters, want 1", n)
		}
		if d := drops.Drops()[0]; !strings.Contains(d.Err.Error(), "received 3 times, more than max_receive_count (2)") {
			t.Errorf("dead letter: %v", d.Err)
		}
		if n := len(pub.Batches()); n != 2 {
			t.Errorf("%d batches of %v, want 2 (one per reading before the limit)", n, ids)
		}
	})
}
