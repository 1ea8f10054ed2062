package app

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// net/http's own messages about the admin server reach the structured log, as a WARN line of
// the admin component.
func TestAdminServerLogsThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	srv := adminServer(http.NewServeMux(), slog.New(slog.NewJSONHandler(&buf, nil)))
	srv.ErrorLog.Printf("http: Accept error: too many open files")
	out := buf.String()
	for _, want := range []string{`"level":"WARN"`, `"component":"admin"`, `"msg":"http: Accept error: too many open files"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %q lacks %s", out, want)
		}
	}
}
