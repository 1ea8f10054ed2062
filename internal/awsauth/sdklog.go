package awsauth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/smithy-go/logging"
)

// sdkLogger writes the AWS SDK's own log lines (its WARN and DEBUG classifications) through
// slog, so they carry the plugin's attributes and honour the configured level and format
// instead of going to standard error as plain text.
type sdkLogger struct {
	ctx context.Context
	log *slog.Logger
}

var (
	_ logging.Logger        = sdkLogger{}
	_ logging.ContextLogger = sdkLogger{}
)

func newSDKLogger(l *slog.Logger) sdkLogger {
	return sdkLogger{ctx: context.Background(), log: l.With("component", "aws-sdk")}
}

// discardWarning starts the line smithy-go writes when it cannot drain the body of an answer
// whose connection was cut. The failed call itself returns an error, which the caller's retry
// logs with its context, so at WARN the line would only say the same thing twice; it stays
// visible at DEBUG.
const discardWarning = "failed to discard remaining HTTP response body"

// Logf implements logging.Logger.
func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelInfo
	switch c {
	case logging.Warn:
		level = slog.LevelWarn
		if strings.HasPrefix(format, discardWarning) {
			level = slog.LevelDebug
		}
	case logging.Debug:
		level = slog.LevelDebug
	}
	if !s.log.Enabled(s.ctx, level) {
		return
	}
	s.log.Log(s.ctx, level, fmt.Sprintf(format, v...))
}

// WithContext implements logging.ContextLogger: the SDK hands each operation's context.
func (s sdkLogger) WithContext(ctx context.Context) logging.Logger {
	return sdkLogger{ctx: ctx, log: s.log}
}
