package console

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestViewerDoesNotSeeAuditLines(t *testing.T) {
	audit := LogLine{Time: time.Now(), Level: "warn", Message: "console login failed", Attrs: map[string]string{"audit": "true", "user": "mallory", "client": "192.0.2.66"}}
	plain := LogLine{Time: time.Now(), Level: "info", Plugin: "ns1", Message: "page read after"}
	for _, tc := range []struct {
		user, password string
		seesAudit      bool
	}{
		{"viewer", viewerPassword, false},
		{"admin", adminPassword, true},
	} {
		t.Run(tc.user, func(t *testing.T) {
			f := newFixture(t, nil)
			f.backend.logs = append(f.backend.logs, audit)
			f.backend.subscribe = make(chan LogFilter, 1)
			c := f.client()
			c.login(tc.user, tc.password)
			_, page := c.get("/logs")
			if got := strings.Contains(page, "192.0.2.66"); got != tc.seesAudit {
				t.Errorf("the Logging page shows the audit line: %v, want %v", got, tc.seesAudit)
			}
			if !strings.Contains(page, "page read") {
				t.Error("the Logging page lacks the other lines")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			st := c.openStream(ctx, "/logs/stream")
			f.waitSubscribed(ctx, 1)
			f.backend.publish(audit)
			f.backend.publish(plain)
			sawAudit := false
			for {
				select {
				case l, ok := <-st.lines:
					if !ok {
						t.Fatal("the stream ended")
					}
					sawAudit = sawAudit || strings.Contains(l, "192.0.2.66")
					if !strings.Contains(l, "page read after") {
						continue
					}
					if sawAudit != tc.seesAudit {
						t.Errorf("the stream sent the audit line: %v, want %v", sawAudit, tc.seesAudit)
					}
					return
				case <-ctx.Done():
					t.Fatal("no line on the stream")
				}
			}
		})
	}
}

func TestLogHubHidesAuditLines(t *testing.T) {
	h := NewLogHub(10)
	log, _ := hubLogger(h, slog.LevelInfo)
	log.With("audit", true).Warn("console login failed", "client", "192.0.2.66")
	log.Info("page read")
	for _, tc := range []struct {
		hide bool
		want []string
	}{
		{false, []string{"console login failed", "page read"}},
		{true, []string{"page read"}},
	} {
		got, _ := h.Logs(t.Context(), LogFilter{HideAudit: tc.hide})
		if m := messages(got); strings.Join(m, "|") != strings.Join(tc.want, "|") {
			t.Errorf("HideAudit %v: %q, want %q", tc.hide, m, tc.want)
		}
	}
}
