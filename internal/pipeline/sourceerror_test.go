package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/plugin"
)

// A source that stops with an error says the others keep running only when others run; when
// it was the only one of its engine, it says its pipeline delivers what is in flight and stops.
func TestSourceErrorMessageNamesWhatKeepsRunning(t *testing.T) {
	tests := []struct {
		name     string
		siblings int
		want     string
		notWant  string
	}{
		{"only source", 0, "no other source is running", "keep running"},
		{"one of two", 1, "the other plugin configurations keep running", "no other source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var logs syncBuffer
			bad := plugin.Source(sourceFunc(func(context.Context, plugin.Publisher) error {
				return plugin.Fatal(errors.New("401 Unauthorized"))
			}))
			h.source("bad", bad)
			h.sources[0].Logger = slog.New(slog.NewTextHandler(&logs, nil))
			h.dest("dst", &fakeDest{}, fastOpts())
			h.route("bad", "dst", nil)
			for i := 0; i < tt.siblings; i++ {
				h.source("good", newScriptedSource(false, recs("a")))
				h.route("good", "dst", nil)
			}
			_, stop := h.start()
			defer func() { _ = stop() }()
			eventually(t, "the source's stop to be logged", func() bool { return strings.Contains(logs.String(), "source stopped") })
			got := logs.String()
			if !strings.Contains(got, tt.want) || strings.Contains(got, tt.notWant) {
				t.Errorf("log %q: want %q and not %q", got, tt.want, tt.notWant)
			}
		})
	}
}
