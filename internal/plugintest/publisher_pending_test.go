package plugintest

import (
	"context"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
)

// A batch stays pending until the source's acknowledgement callback has returned: a test that
// waits for no pending batch then reads what the source saved on the outcome reads it saved.
func TestPendingUntilTheCallbackReturns(t *testing.T) {
	p := NewPublisher(Manual)
	inCallback, release := make(chan struct{}), make(chan struct{})
	if err := p.Publish(context.Background(), []*event.Record{{Raw: []byte(`{}`)}}, func(event.Outcome) {
		close(inCallback)
		<-release
	}); err != nil {
		t.Fatal(err)
	}
	b := p.Batches()[0]
	go b.Ack()
	<-inCallback
	if b.Outcome() != event.Acked {
		t.Fatalf("outcome %v while the callback runs, want acked", b.Outcome())
	}
	if n := len(p.Pending()); n != 1 {
		t.Fatalf("%d pending while the source's callback runs, want 1", n)
	}
	close(release)
	p.WaitUntil(t, 0, "the callback to return", func() bool { return len(p.Pending()) == 0 })
}
