package console

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
)

func hubLogger(h *LogHub, level slog.Level) (*slog.Logger, *syncBuffer) {
	out := &syncBuffer{}
	return slog.New(h.Handler(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))), out
}

func messages(ls []LogLine) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Message)
	}
	return out
}

func TestLogHubFilters(t *testing.T) {
	h := NewLogHub(100)
	log, out := hubLogger(h, slog.LevelDebug)
	log.With("plugin", "ns1").Info("page read", "records", 100)
	log.With("plugin", "ns1").Debug("request", "url", "https://acme.goskope.com/api")
	log.With("plugin", "lake1").Error("put failed", "error", "AccessDenied")
	log.Warn("reload refused", "reason", "plugins[1]: bad")
	if !strings.Contains(out.String(), "put failed") {
		t.Fatal("the wrapped handler did not get the lines")
	}
	for _, tc := range []struct {
		name string
		f    LogFilter
		want []string
	}{
		{"all", LogFilter{}, []string{"page read", "request", "put failed", "reload refused"}},
		{"by configuration", LogFilter{Plugin: "ns1"}, []string{"page read", "request"}},
		{"by level", LogFilter{Level: "warn"}, []string{"put failed", "reload refused"}},
		{"by text in the message", LogFilter{Text: "PUT"}, []string{"put failed"}},
		{"by text in an attribute", LogFilter{Text: "accessdenied"}, []string{"put failed"}},
		{"by text in a key=value", LogFilter{Text: "records=100"}, []string{"page read"}},
		{"all three", LogFilter{Plugin: "ns1", Level: "info", Text: "read"}, []string{"page read"}},
		{"limit keeps the newest", LogFilter{Limit: 2}, []string{"put failed", "reload refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Logs(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(messages(got), tc.want) {
				t.Errorf("got %q, want %q", messages(got), tc.want)
			}
		})
	}
}

func TestLogHubLine(t *testing.T) {
	h := NewLogHub(10)
	log, _ := hubLogger(h, slog.LevelInfo)
	log.With("plugin", "ns1").WithGroup("req").With("n", 1).Info("sent", "token", config.NewSecret("s3cr3t"), slog.Group("g", "a", "b"))
	log.Debug("not logged at info")
	got, _ := h.Logs(t.Context(), LogFilter{})
	if len(got) != 1 {
		t.Fatalf("got %d lines: %+v", len(got), got)
	}
	l := got[0]
	want := map[string]string{"req.n": "1", "req.token": "[redacted]", "req.g.a": "b"}
	if l.Plugin != "ns1" || l.Level != "info" || l.Message != "sent" || !reflect.DeepEqual(l.Attrs, want) || l.Time.IsZero() {
		t.Errorf("line %+v, want plugin ns1, info, attrs %v", l, want)
	}
}

func TestLogHubKeepsTheLastLines(t *testing.T) {
	h := NewLogHub(3)
	log, _ := hubLogger(h, slog.LevelInfo)
	for _, m := range []string{"1", "2", "3", "4", "5"} {
		log.Info(m)
	}
	got, _ := h.Logs(t.Context(), LogFilter{})
	if want := []string{"3", "4", "5"}; !reflect.DeepEqual(messages(got), want) {
		t.Errorf("got %q, want %q", messages(got), want)
	}
}

func TestLogHubSubscription(t *testing.T) {
	h := NewLogHub(10)
	log := slog.New(h.Handler(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := h.SubscribeLogs(ctx, LogFilter{Plugin: "lake1"})
	if err != nil {
		t.Fatal(err)
	}
	log.With("plugin", "ns1").Info("not for this subscriber")
	log.With("plugin", "lake1").Info("for it")
	select {
	case l := <-ch:
		if l.Message != "for it" {
			t.Errorf("got %q", l.Message)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no line")
	}
	cancel()
	// The channel closes once the context ends; lines logged meanwhile may still arrive.
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				log.With("plugin", "lake1").Info("after the end") // must not panic on a closed channel
				return
			}
		case <-deadline:
			t.Fatal("the channel was not closed")
		}
	}
}

func TestLogHubSlowSubscriberDoesNotBlockLogging(t *testing.T) {
	h := NewLogHub(10)
	log := slog.New(h.Handler(slog.NewTextHandler(io.Discard, nil)))
	if _, err := h.SubscribeLogs(t.Context(), LogFilter{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for range logSubBuffer * 3 {
			log.Info("x")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logging blocked on a subscriber that reads nothing")
	}
}

func TestLogHubSubscribersComeAndGoWhileLogging(t *testing.T) {
	h := NewLogHub(50)
	log := slog.New(h.Handler(slog.NewTextHandler(io.Discard, nil)))
	stop := make(chan struct{})
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		for {
			select {
			case <-stop:
				return
			default:
				log.Info("Some Line", "k", "V")
			}
		}
	}()
	for i := range 200 {
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := h.SubscribeLogs(ctx, LogFilter{Text: []string{"LINE", "k=v"}[i%2]})
		if err != nil {
			t.Fatal(err)
		}
		<-ch // a line reaches a live subscriber
		cancel()
		for range ch { // closes once the subscription ends
		}
	}
	close(stop)
	<-logged
}
