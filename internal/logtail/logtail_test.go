package logtail

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func newLogger(ring *Ring, out *bytes.Buffer, level slog.Level) *slog.Logger {
	next := slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})
	return slog.New(NewHandler(next, ring, slog.LevelDebug))
}

func TestLinesKeepPluginLevelAndAttrs(t *testing.T) {
	ring := NewRing(10)
	var out bytes.Buffer
	log := newLogger(ring, &out, slog.LevelInfo)
	log.With("plugin", "acme").Info("source started", "routes", 2)
	log.With("plugin", "lake").WithGroup("req").Warn("throttled", "op", "PutAuditEvents", "retry", 3)
	log.Debug("debug line kept for the console, not written")
	log.Info("no plugin", slog.Group("g", "k", "v"))

	all := ring.Lines(Filter{AllLevel: true}, 0)
	if len(all) != 4 {
		t.Fatalf("%d lines kept; want 4: %+v", len(all), all)
	}
	if e := all[0]; e.Plugin != "acme" || e.Message != "source started" || len(e.Attrs) != 1 || e.Attrs[0] != (Attr{"routes", "2"}) {
		t.Errorf("line 1 = %+v", e)
	}
	if e := all[1]; e.Plugin != "lake" || e.Level != slog.LevelWarn || e.Attrs[0] != (Attr{"req.op", "PutAuditEvents"}) {
		t.Errorf("line 2 = %+v", e)
	}
	if e := all[3]; e.Plugin != "" || e.Attrs[0] != (Attr{"g.k", "v"}) {
		t.Errorf("line 4 = %+v", e)
	}
	if strings.Contains(out.String(), "debug line") {
		t.Error("the process's handler wrote a line below its level")
	}
	if !strings.Contains(out.String(), "plugin=acme") {
		t.Errorf("the process's handler lost the plugin attribute:\n%s", out.String())
	}
	if got := all[1].String(); !strings.Contains(got, "WARN plugin=lake throttled req.op=PutAuditEvents req.retry=3") {
		t.Errorf("String() = %q", got)
	}
}

func TestFilter(t *testing.T) {
	ring := NewRing(100)
	log := newLogger(ring, &bytes.Buffer{}, slog.LevelInfo)
	log.With("plugin", "acme").Info("page read", "endpoint", "alerts/dlp")
	log.With("plugin", "acme").Error("wrong token")
	log.With("plugin", "lake").Info("ingested")
	log.With("plugin", "acme").Debug("detail")
	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"default: info and above", Filter{}, []string{"page read", "wrong token", "ingested"}},
		{"by plugin", Filter{Plugin: "acme"}, []string{"page read", "wrong token"}},
		{"by level", Filter{MinLevel: slog.LevelError}, []string{"wrong token"}},
		{"every level", Filter{Plugin: "acme", AllLevel: true}, []string{"page read", "wrong token", "detail"}},
		{"text in an attribute value, any case", Filter{Text: "ALERTS/"}, []string{"page read"}},
		{"text in the message", Filter{Text: "token"}, []string{"wrong token"}},
		{"no match", Filter{Plugin: "nobody"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range ring.Lines(tc.f, 0) {
				got = append(got, e.Message)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestRingKeepsTheLatest(t *testing.T) {
	ring := NewRing(3)
	log := newLogger(ring, &bytes.Buffer{}, slog.LevelInfo)
	for i := range 5 {
		log.Info(fmt.Sprintf("line %d", i))
	}
	got := ring.Lines(Filter{}, 0)
	if len(got) != 3 || got[0].Message != "line 2" || got[2].Message != "line 4" || got[2].Seq != 5 {
		t.Errorf("kept %+v; want lines 2..4 with seq 3..5", got)
	}
	if got := ring.Lines(Filter{}, 2); len(got) != 2 || got[0].Message != "line 3" {
		t.Errorf("limit 2: %+v; want lines 3 and 4", got)
	}
}

func TestFollow(t *testing.T) {
	ring := NewRing(10)
	log := newLogger(ring, &bytes.Buffer{}, slog.LevelInfo)
	ctx, cancel := context.WithCancel(context.Background())
	ch := ring.Follow(ctx, Filter{Plugin: "acme"})
	log.With("plugin", "lake").Info("not followed")
	log.With("plugin", "acme").Info("followed")
	select {
	case e := <-ch:
		if e.Message != "followed" {
			t.Errorf("followed %q; want the acme line", e.Message)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the line was not followed")
	}
	cancel()
	for range ch { // closed once ctx ends
	}
}
