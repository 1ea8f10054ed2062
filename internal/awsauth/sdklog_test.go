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
		wantLevel string     // "" when nothing is logged
	}{
		{"warn", logging.Warn, slog.LevelInfo, "WARN"},
		{"debug hidden at info", logging.Debug, slog.LevelInfo, ""},
		{"debug shown at debug", logging.Debug, slog.LevelDebug, "DEBUG"},
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
			logging.WithContext(context.Background(), cfg.Logger).Logf(tt.class, "Response has no supported checksum (%d)", 7)
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
				line["msg"] != "Response has no supported checksum (7)" {
				t.Errorf("line %v", line)
			}
		})
	}
}
