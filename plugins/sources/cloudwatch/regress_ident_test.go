package cloudwatch

import (
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

func TestIdentifierPatternEdges(t *testing.T) {
	ids, err := parseIdentifierPatterns("acct = ConsoleLogin\nx-$1=user=(\\w*)")
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := ids.match(`"eventName":"ConsoleLogin"`); !ok || id != "acct" {
		t.Errorf("`acct = ConsoleLogin` on a ConsoleLogin message: %q, %v (the space after '=' is part of the regex)", id, ok)
	}
	if id, ok := ids.match("user=bob"); !ok || id != "x-bob" {
		t.Errorf("x-$1=user=(\\w*) on user=bob: %q, %v", id, ok)
	}
	ids2, _ := parseIdentifierPatterns("$1=user=(\\w*)")
	if id, ok := ids2.match("user="); ok && id == "" {
		t.Errorf("an empty expansion gives the empty identifier instead of the default")
	}
}

// An invalid filter_pattern is refused by the service for good: Run stops with a fatal error
// naming the pattern instead of retrying with warnings forever.
func TestInvalidFilterPatternFatal(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	w.put("us-east-1", ctStream("us-east-1"), 1, time.Second)
	cfg := w.config("us-east-1")
	cfg.FilterPattern = `{ $.eventName = `
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, w.source(t, cfg, nil), pub)
	err := run.Wait(t)
	if err == nil || !plugin.IsFatal(err) || !strings.Contains(err.Error(), cfg.FilterPattern) {
		t.Fatalf("Run = %v; want a fatal error naming the filter pattern", err)
	}
}
