package plugintest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
)

// Running is a source's Run in its own goroutine.
type Running struct {
	pub    *Publisher
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start runs src.Run(ctx, pub) in a goroutine. The test's cleanup stops it if the test did not.
// When Run returns, pub is closed: a later Publish is reported by pub.Violations.
func Start(t testing.TB, src plugin.Source, pub *Publisher) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{pub: pub, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer pub.Close()
		r.err = src.Run(ctx, pub)
	}()
	t.Cleanup(func() {
		cancel()
		pub.Unblock()
		select {
		case <-r.done:
		case <-time.After(DefaultTimeout):
			t.Errorf("plugintest: the source's Run did not return within %s of its context's end", DefaultTimeout)
		}
	})
	return r
}

// Stop cancels Run's context and waits for Run to return, failing the test if it does not
// return within DefaultTimeout or returns anything but nil.
func (r *Running) Stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(DefaultTimeout):
		t.Fatalf("plugintest: Run did not return within %s of its context's end", DefaultTimeout)
	}
	if r.err != nil {
		t.Fatalf("plugintest: Run returned %v after its context ended; want nil", r.err)
	}
}

// Wait waits for Run to return on its own (a source with nothing more to read) and returns its
// error, failing the test after DefaultTimeout.
func (r *Running) Wait(t testing.TB) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(DefaultTimeout):
		t.Fatalf("plugintest: Run did not return on its own within %s", DefaultTimeout)
		return nil
	}
}

// Done reports whether Run has returned, and its error.
func (r *Running) Done() (bool, error) {
	select {
	case <-r.done:
		return true, r.err
	default:
		return false, nil
	}
}

// abbreviate prints at most a few keys.
func abbreviate(keys []string) string {
	const most = 8
	q := make([]string, 0, most)
	for i, k := range keys {
		if i == most {
			break
		}
		if len(k) > 80 {
			k = k[:77] + "..."
		}
		q = append(q, fmt.Sprintf("%q", k))
	}
	s := strings.Join(q, ", ")
	if len(keys) > most {
		s += fmt.Sprintf(" and %d more", len(keys)-most)
	}
	return "[" + s + "]"
}
