package awss3sqs

import (
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

// A unit is done once it is sealed and every batch answered, once, with whether something
// failed.
func TestTracker(t *testing.T) {
	type result struct{ calls, failed, leave int }
	for _, tc := range []struct {
		name string
		run  func(tr *tracker)
		want result
	}{
		{"acks then seal", func(tr *tracker) { tr.add(); tr.add(); tr.ack(event.Acked); tr.ack(event.Acked); tr.seal(false, false) }, result{1, 0, 0}},
		{"seal then acks", func(tr *tracker) { tr.add(); tr.add(); tr.seal(false, false); tr.ack(event.Acked); tr.ack(event.Acked) }, result{1, 0, 0}},
		{"waits for the last ack", func(tr *tracker) { tr.add(); tr.add(); tr.seal(false, false); tr.ack(event.Acked) }, result{0, 0, 0}},
		{"a nack fails the unit", func(tr *tracker) {
			tr.add()
			tr.add()
			tr.ack(event.Nacked)
			tr.seal(false, false)
			tr.ack(event.Acked)
		}, result{1, 1, 0}},
		{"sealed failed to be left", func(tr *tracker) { tr.add(); tr.ack(event.Acked); tr.seal(true, true) }, result{1, 1, 1}},
		{"nothing published", func(tr *tracker) { tr.seal(false, false) }, result{1, 0, 0}},
		{"abandoned: done never called, late acks ignored", func(tr *tracker) {
			tr.add()
			tr.seal(false, false)
			if !tr.abandon() {
				t.Error("abandon of an unfinished unit returned false")
			}
			tr.ack(event.Acked)
		}, result{0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got result
			tr := newTracker(func(failed, leave bool) {
				got.calls++
				if failed {
					got.failed++
				}
				if leave {
					got.leave++
				}
			})
			tc.run(tr)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.calls == 1 && tr.abandon() {
				t.Error("abandon of a finished unit returned true")
			}
		})
	}
}
