// Package telemetry sets up logging and metrics with one scheme for every component.
package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// LogConfig is the `log:` section of the configuration.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// DefaultLogConfig is info-level text.
func DefaultLogConfig() LogConfig { return LogConfig{Level: "info", Format: "text"} }

// Validate checks the level and the format.
func (c LogConfig) Validate() error {
	var errs []string
	if _, err := parseLevel(c.Level); err != nil {
		errs = append(errs, "level: "+err.Error())
	}
	switch c.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Sprintf("format: %q is not one of text, json", c.Format))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

// NewLogger builds the process logger. An invalid config falls back to info/text.
func NewLogger(w io.Writer, c LogConfig) *slog.Logger {
	level, err := parseLevel(c.Level)
	if err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
