package awsauth_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
)

// The SDK's own log lines go through the plugin's slog logger, with its attributes, at the
// matching level, and not at all below the configured level.
func TestSDKLogLinesGoThroughSlog(t *testing.T) {
	tests := []struct {
		name      string
		class     logging.Classification
		level     slog.Level // the logger's level
		format    string     // the SDK's format; "" means a checksum warning
		wantLevel string     // "" when nothing is logged
	}{
		{"warn", logging.Warn, slog.LevelInfo, "", "WARN"},
		{"debug hidden at info", logging.Debug, slog.LevelInfo, "", ""},
		{"debug shown at debug", logging.Debug, slog.LevelDebug, "", "DEBUG"},
		// A cut answer's error is logged by the caller's retry; the SDK's warning repeats it.
		{"discard warning hidden at info", logging.Warn, slog.LevelInfo,
			"failed to discard remaining HTTP response body, this may affect connection reuse: %d", ""},
		{"discard warning shown at debug", logging.Warn, slog.LevelDebug,
			"failed to discard remaining HTTP response body, this may affect connection reuse: %d", "DEBUG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: tt.level})).With("plugin", "lake")
			c := awsauth.Config{AccessKeyID: config.NewSecret("AKIAEXAMPLE"), SecretAccessKey: config.NewSecret("secret-example")}
			cfg, err := awsauth.Load(context.Background(), c, "us-east-1", awsauth.WithLogger(log))
			if err != nil {
				t.Fatal(err)
			}
			// The SDK asks for the operation's logger through logging.WithContext.
			format, wantMsg := "Response has no supported checksum (%d)", "Response has no supported checksum (7)"
			if tt.format != "" {
				format, wantMsg = tt.format, strings.Replace(tt.format, "%d", "7", 1)
			}
			logging.WithContext(context.Background(), cfg.Logger).Logf(tt.class, format, 7)
			out := strings.TrimSpace(logs.String())
			if tt.wantLevel == "" {
				if out != "" {
					t.Fatalf("logged %q below the level", out)
				}
				return
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(out), &line); err != nil {
				t.Fatalf("not one JSON line: %q", out)
			}
			if line["level"] != tt.wantLevel || line["plugin"] != "lake" || line["component"] != "aws-sdk" ||
				line["msg"] != wantMsg {
				t.Errorf("line %v", line)
			}
		})
	}
}
