// Package file is the file destination: it appends records as NDJSON to a file, rotating it by
// size and keeping a bounded number of old files.
package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/logshipper/logshipper/internal/appendfile"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Type is the plugin type name.
const Type = "file"

// Factory registers the file destination.
func Factory() plugin.Factory {
	return plugin.Factory{
		Type:      Type,
		Kind:      plugin.KindDestination,
		Summary:   "appends records as NDJSON to a file rotated by size",
		NewConfig: NewConfig,
		NewDestination: func(c plugin.Config, set plugin.Settings) (plugin.Destination, error) {
			return New(c.(*Config), set)
		},
		// Write holds the file for the whole batch (one write, one fsync), so a second worker
		// would only reorder batches; larger batches mean fewer fsyncs.
		Delivery: plugin.DeliveryDefaults{BatchMaxRecords: 1000, Workers: 1},
	}
}

// Destination writes NDJSON files.
type Destination struct {
	cfg *Config
	set plugin.Settings

	mu     sync.Mutex
	f      *appendfile.File
	size   int64
	buf    []byte
	closed bool
}

// errClosed is returned by Write after Close.
var errClosed = errors.New("file destination: closed")

var _ plugin.Destination = (*Destination)(nil)

// New opens (creating) the file and its directory.
func New(cfg *Config, set plugin.Settings) (*Destination, error) {
	d := &Destination{cfg: cfg, set: set}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), cfg.Mode.Dir()); err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	if err := d.open(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Destination) open() error {
	f, err := appendfile.Open(d.cfg.Path, d.cfg.Mode.Perm())
	if err != nil {
		return fmt.Errorf("open %s: %w", d.cfg.Path, err)
	}
	d.f = f
	return nil
}

// Write implements plugin.Destination: one write (and one sync) per batch. A record spanning
// several lines (a pretty-printed element of a JSON array file) is compacted onto one; one that
// cannot be (not valid JSON) is refused, the others are written.
func (d *Destination) Write(_ context.Context, recs []*event.Record) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	d.buf = d.buf[:0]
	var refused map[int]error
	for i, r := range recs {
		var err error
		if d.buf, err = appendLine(d.buf, r.Raw); err != nil {
			if refused == nil {
				refused = map[int]error{}
			}
			refused[i] = plugin.Refused("InvalidRecord", err)
		}
	}
	if err := d.write(); err != nil {
		return err
	}
	if refused != nil {
		return &plugin.BatchError{Failed: refused}
	}
	return nil
}

func (d *Destination) write() error {
	if len(d.buf) == 0 {
		return nil
	}
	if d.f == nil {
		if err := d.open(); err != nil {
			return err
		}
	}
	if d.cfg.MaxSize > 0 && d.f.Size() > 0 && d.f.Size()+int64(len(d.buf)) > int64(d.cfg.MaxSize) {
		if err := d.rotate(); err != nil {
			return err
		}
	}
	if err := d.f.Append(d.buf); err != nil {
		// Append cut a partial write back; a file that could not be cut is ended with a newline
		// when it is opened again. Either way the retried batch starts on a line of its own.
		d.drop()
		return fmt.Errorf("write %s: %w", d.cfg.Path, err)
	}
	if d.cfg.Sync {
		if err := d.f.Sync(); err != nil {
			// After a failed fsync the kernel may have dropped the dirty pages and a second
			// fsync may then succeed without them: never trust this descriptor again.
			d.drop()
			return fmt.Errorf("sync %s: %w", d.cfg.Path, err)
		}
	}
	return nil
}

// drop closes the file after a failure; the next write reopens it.
func (d *Destination) drop() {
	_ = d.f.Close()
	d.f = nil
}

// appendLine appends raw and a newline to buf. A record holding a line break (whitespace between
// JSON tokens: a JSON string cannot hold one) is compacted onto one line (jsonx.AppendLine); one
// that is not valid JSON is an error and buf is returned unchanged.
func appendLine(buf, raw []byte) ([]byte, error) {
	out, err := jsonx.AppendLine(buf, raw)
	if err != nil {
		return buf, fmt.Errorf("record spans several lines and is not valid JSON: %w", err)
	}
	return append(out, '\n'), nil
}

// rotate shifts path.N to path.N+1 (dropping those past MaxFiles) and starts a new file.
func (d *Destination) rotate() error {
	if err := d.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", d.cfg.Path, err)
	}
	d.f = nil
	name := func(i int) string { return d.cfg.Path + "." + strconv.Itoa(i) }
	if d.cfg.MaxFiles == 0 {
		if err := os.Remove(d.cfg.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	} else {
		_ = os.Remove(name(d.cfg.MaxFiles))
		for i := d.cfg.MaxFiles - 1; i >= 1; i-- {
			if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("rotate: %w", err)
			}
		}
		if err := os.Rename(d.cfg.Path, name(1)); err != nil {
			return fmt.Errorf("rotate: %w", err)
		}
	}
	d.set.Logger.Info("file rotated", "path", d.cfg.Path)
	return d.open()
}

// Close implements plugin.Destination. Every Write already reached the file (and the disk, with
// sync): Close only releases it. A Write after Close fails; a second Close does nothing.
func (d *Destination) Close(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
