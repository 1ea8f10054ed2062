package pipeline

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/logshipper/logshipper/internal/plugin"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A refused batch is split to find its bad records, each refused alone: they are all
// dead-lettered, and the log says so in one line, not one line a record.
func TestRefusedRecordsAreLoggedSpaced(t *testing.T) {
	h := newHarness(t)
	all := ids("r", 32)
	bad := []string{"r3", "r7", "r11", "r19", "r23", "r29"}
	src := newScriptedSource(false, recs(all...))
	d := &fakeDest{behave: func(_ int, ids []string) error {
		for _, b := range bad {
			if slices.Contains(ids, b) {
				return plugin.Refused("InvalidData", errors.New("the batch holds a bad record"))
			}
		}
		return nil
	}}
	h.source("src", src)
	o := fastOpts()
	o.Workers = 1
	h.dest("dst", d, o)
	var logs lockedBuf
	h.dests[len(h.dests)-1].Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h.route("src", "dst", nil)
	h.start()
	src.waitAcks(t, 1)
	if got := h.dlq.reasons()["refused"]; len(got) != len(bad) {
		t.Fatalf("dead letters %v; want the %d bad records", got, len(bad))
	}
	if n := strings.Count(logs.String(), "records dead-lettered"); n != 1 {
		t.Errorf("%d \"records dead-lettered\" lines for %d records refused one by one; want 1:\n%s", n, len(bad), logs.String())
	}
}
