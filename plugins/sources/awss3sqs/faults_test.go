package awss3sqs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/awstest"
	"github.com/logshipper/logshipper/internal/sim/s3"
	"github.com/logshipper/logshipper/internal/sim/sqs"
)

// With cloudsim's SQS throttling (403 RequestThrottled), answering 503 and 500 and cutting
// answers whose work was done, and its S3 answering SlowDown and 500 and cutting GetObject
// mid-download, every record arrives, the source never stops, nothing is dead-lettered, each
// object's records arrive whole (a cut download publishes none of the object, never half of it
// then all of it), and the copies are few.
func TestFaultsLoseNothing(t *testing.T) {
	b := awstest.Sim(t)
	w := newWorld(t, b, 30)
	const files, per = 45, 20
	var want []string
	fileOf := map[string]int{} // record id -> file
	// Half the messages announce one file, the other half two: a failed read of the second
	// would have the first read again with it.
	for f := 0; f < files; {
		var keys []string
		for range 1 + f%2 {
			body, ids := w.logFile(per, time.Now())
			key := logKey(time.Now(), fmt.Sprintf("u%d", w.files.Load()))
			w.put(key, body)
			keys = append(keys, key)
			for _, id := range ids {
				fileOf[id] = f
			}
			want = append(want, ids...)
			f++
		}
		w.send(w.s3Event(keys...))
	}
	sqsOps := []string{"ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility"}
	b.SQS.SetFaults(sqs.Faults{ThrottleRate: 0.15, UnavailableRate: 0.05, InternalErrorRate: 0.05, CutRate: 0.1, Ops: sqsOps})
	b.S3.SetFaults(s3.Faults{SlowDownRate: 0.15, InternalErrorRate: 0.05, CutRate: 0.25, Ops: []string{"GetObject"}})

	cfg := w.config()
	cfg.VisibilityTimeout, cfg.BatchSize = 4*time.Second, 10
	set := settings(t, nil)
	drops := plugintest.DropperOf(t, set)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, w.source(t, cfg, set), pub)
	plugintest.Eventually(t, 40*time.Second, "every record", func() bool {
		if done, err := run.Done(); done {
			t.Fatalf("the source stopped: %v", err)
		}
		return len(pub.MissingKeys(idKey, want)) == 0
	})
	b.SQS.SetFaults(sqs.Faults{})
	w.waitQueued(t, 0, "every message to be deleted")
	run.Stop(t)

	if n := len(drops.Drops()); n != 0 {
		t.Errorf("%d dead letters: %v", n, drops.Drops())
	}
	seen := map[string]int{}
	for _, k := range pub.Keys(idKey) {
		seen[k]++
	}
	perFile := map[int]int{} // file -> how many times its records arrived
	for id, n := range seen {
		f := fileOf[id]
		if c, ok := perFile[f]; ok && c != n {
			var counts []string
			for id2, n2 := range seen {
				if fileOf[id2] == f {
					counts = append(counts, fmt.Sprintf("%s=%d", id2, n2))
				}
			}
			t.Fatalf("file %d arrived in part: its records arrived %s times", f, strings.Join(counts, " "))
		}
		perFile[f] = n
	}
	copies := 0
	for _, n := range perFile {
		copies += n - 1
	}
	sq, st := b.SQS.Stats(), b.S3.Stats()
	t.Logf("%d records of %d files; files delivered more than once: %d copies; SQS: %+v; S3: %+v; errors counted %v",
		len(want), files, copies, sq, st, testutil.ToFloat64(set.Metrics.Errors))
	// A failed read is tried again at once (fetchAttempts), so a file is read again only when
	// its message's delete, or all the tries of a read of another object of its message, failed
	// after the SDK's retries (a cut ReceiveMessage hides its messages for a visibility timeout,
	// without copies). Here that is 0 or 1 file; a source that left every failed read to the
	// visibility timeout delivers 7 to 13 files twice.
	if copies > 5 {
		t.Errorf("%d of %d files delivered more than once", copies, files)
	}
	if n := drops.Count(plugin.ReasonInvalid); n != 0 {
		t.Errorf("%d objects dead-lettered", n)
	}
}
