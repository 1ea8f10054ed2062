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

	"github.com/logshipper/logshipper/internal/event"
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
	}
}

// Destination writes NDJSON files.
type Destination struct {
	cfg *Config
	set plugin.Settings

	mu   sync.Mutex
	f    *os.File
	size int64
	buf  []byte
}

var _ plugin.Destination = (*Destination)(nil)

// New opens (creating) the file and its directory.
func New(cfg *Config, set plugin.Settings) (*Destination, error) {
	d := &Destination{cfg: cfg, set: set}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o755); err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	if err := d.open(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Destination) open() error {
	f, err := os.OpenFile(d.cfg.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", d.cfg.Path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat %s: %w", d.cfg.Path, err)
	}
	d.f, d.size = f, fi.Size()
	return nil
}

// Write implements plugin.Destination: one write (and one sync) per batch.
func (d *Destination) Write(_ context.Context, recs []*event.Record) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf = d.buf[:0]
	for _, r := range recs {
		d.buf = append(d.buf, r.Raw...)
		d.buf = append(d.buf, '\n')
	}
	if d.f == nil {
		if err := d.open(); err != nil {
			return err
		}
	}
	if d.cfg.MaxSize > 0 && d.size > 0 && d.size+int64(len(d.buf)) > int64(d.cfg.MaxSize) {
		if err := d.rotate(); err != nil {
			return err
		}
	}
	n, err := d.f.Write(d.buf)
	d.size += int64(n)
	if err != nil {
		// A partial write leaves a torn line; the batch is retried whole, so close the file and
		// let the next attempt reopen it. Readers skip a torn line as invalid JSON.
		_ = d.f.Close()
		d.f = nil
		return fmt.Errorf("write %s: %w", d.cfg.Path, err)
	}
	if d.cfg.Sync {
		if err := d.f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", d.cfg.Path, err)
		}
	}
	return nil
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

// Close implements plugin.Destination.
func (d *Destination) Close(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
