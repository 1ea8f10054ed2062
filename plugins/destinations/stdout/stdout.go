// Package stdout is the stdout destination: it writes each record as one JSON line to the
// process's standard output, for trying a configuration out and for piping.
package stdout

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
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
		// Write holds the stream for the whole batch, so a second worker would only reorder
		// batches.
		Delivery: plugin.DeliveryDefaults{Workers: 1},
	}
}

// Destination writes NDJSON to a writer.
type Destination struct {
	mu      sync.Mutex
	out     io.Writer
	w       *bufio.Writer
	scratch []byte
}

var _ plugin.Destination = (*Destination)(nil)

// New returns a destination writing to w.
func New(w io.Writer) *Destination {
	return &Destination{out: w, w: bufio.NewWriterSize(w, 64<<10)}
}

// Write implements plugin.Destination: each record on its own line, flushed before returning. A
// record spanning several lines (a pretty-printed element of a JSON array file) is compacted onto
// one; one that cannot be (not valid JSON) is refused, the others are written.
func (d *Destination) Write(_ context.Context, recs []*event.Record) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var refused map[int]error
	for i, r := range recs {
		raw, err := d.oneLine(r.Raw)
		if err != nil {
			if refused == nil {
				refused = map[int]error{}
			}
			refused[i] = plugin.Refused("InvalidRecord", err)
			continue
		}
		_, _ = d.w.Write(raw)
		_ = d.w.WriteByte('\n')
	}
	if err := d.w.Flush(); err != nil {
		// A bufio.Writer keeps its first error for good: start afresh, so that the retried
		// batch is written whole once the output takes it again.
		d.w.Reset(d.out)
		return fmt.Errorf("write to standard output: %w", err)
	}
	if refused != nil {
		return &plugin.BatchError{Failed: refused}
	}
	return nil
}

// oneLine returns raw on one line: as it is, or compacted into d.scratch when it holds a line
// break (whitespace between JSON tokens: a JSON string cannot hold one). A record that is not
// valid JSON then is an error.
func (d *Destination) oneLine(raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return raw, nil
	}
	out, err := jsonx.AppendCompact(d.scratch[:0], raw)
	if err != nil {
		return nil, fmt.Errorf("record spans several lines and is not valid JSON: %w", err)
	}
	d.scratch = out
	return out, nil
}

// Close implements plugin.Destination. It flushes and leaves the stream open (it is the
// process's); a Write after Close still writes.
func (d *Destination) Close(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.w.Flush(); err != nil {
		d.w.Reset(d.out)
		return fmt.Errorf("write to standard output: %w", err)
	}
	return nil
}
