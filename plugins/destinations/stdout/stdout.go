// Package stdout is the stdout destination: it writes each record as one JSON line to the
// process's standard output, for trying a configuration out and for piping.
package stdout

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Type is the plugin type name.
const Type = "stdout"

// Config is the stdout destination's configuration.
type Config struct {
	// Stream is stdout or stderr.
	Stream string `yaml:"stream"`
}

// NewConfig returns the defaults.
func NewConfig() plugin.Config { return &Config{Stream: "stdout"} }

// Validate implements plugin.Config.
func (c *Config) Validate() error {
	var p config.Problems
	if c.Stream != "stdout" && c.Stream != "stderr" {
		p.Addf("stream: %q is not one of stdout, stderr", c.Stream)
	}
	return p.Err()
}

// Factory registers the stdout destination.
func Factory() plugin.Factory {
	return plugin.Factory{
		Type:      Type,
		Kind:      plugin.KindDestination,
		Summary:   "writes records as NDJSON to standard output",
		NewConfig: NewConfig,
		NewDestination: func(c plugin.Config, _ plugin.Settings) (plugin.Destination, error) {
			w := os.Stdout
			if c.(*Config).Stream == "stderr" {
				w = os.Stderr
			}
			return New(w), nil
		},
	}
}

// Destination writes NDJSON to a writer.
type Destination struct {
	mu sync.Mutex
	w  *bufio.Writer
}

var _ plugin.Destination = (*Destination)(nil)

// New returns a destination writing to w.
func New(w io.Writer) *Destination { return &Destination{w: bufio.NewWriterSize(w, 64<<10)} }

// Write implements plugin.Destination.
func (d *Destination) Write(_ context.Context, recs []*event.Record) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range recs {
		_, _ = d.w.Write(r.Raw)
		_ = d.w.WriteByte('\n')
	}
	if err := d.w.Flush(); err != nil {
		return fmt.Errorf("write to standard output: %w", err)
	}
	return nil
}

// Close implements plugin.Destination.
func (d *Destination) Close(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.w.Flush()
}
