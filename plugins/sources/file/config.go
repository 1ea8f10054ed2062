package file

import (
	"path/filepath"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Config is the file source's configuration.
type Config struct {
	// Paths are glob patterns (filepath.Match syntax) of the files to read.
	Paths []string `yaml:"paths"`
	// Format is ndjson (one JSON object a line), json (one JSON array of objects a file), or
	// auto (an array if the file's first non-blank byte is '[').
	Format string `yaml:"format"`
	// Follow keeps reading lines appended to NDJSON files and files that appear later. When
	// false, the source reads what is there and finishes.
	Follow bool `yaml:"follow"`
	// PollInterval is how often the globs and the files are looked at again.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BatchSize is the most records published in one batch.
	BatchSize int `yaml:"batch_size"`
	// MaxRecordSize is the longest record (line) accepted; longer ones are dead-lettered.
	MaxRecordSize config.ByteSize `yaml:"max_record_size"`
	// StartAt says where to start in a file with no saved position that is there when the
	// source starts: beginning or end. Files that appear later are always read from their
	// beginning (with end, the new file of a rotation would otherwise lose its first lines).
	StartAt string `yaml:"start_at"`
	// RecordKind says what the records are, for the destinations that read it: empty (they
	// carry no Kind), cloudtrail (CloudTrail in any form cloudtrailrecord.Split unwraps, split
	// into one record each) or netskope (Netskope events and alerts).
	RecordKind string `yaml:"record_kind"`
}

var (
	_ plugin.Config       = (*Config)(nil)
	_ config.KindedSource = (*Config)(nil)
)

// RecordKinds implements config.KindedSource: record_kind chooses the kinds of the records.
func (c *Config) RecordKinds() (key, value string, kinds map[string][]event.Kind) {
	return "record_kind", c.RecordKind, map[string][]event.Kind{
		KindNone:       {""},
		KindCloudTrail: {event.KindCloudTrail},
		KindNetskope:   {event.KindNetskopeEvent, event.KindNetskopeAlert},
	}
}

// NewConfig returns the defaults.
func NewConfig() plugin.Config {
	return &Config{
		Format:        "auto",
		Follow:        true,
		PollInterval:  time.Second,
		BatchSize:     1000,
		MaxRecordSize: 1 << 20,
		StartAt:       "beginning",
	}
}

// Validate implements plugin.Config.
func (c *Config) Validate() error {
	var p config.Problems
	if len(c.Paths) == 0 {
		p.Addf("paths: at least one glob pattern is needed")
	}
	for i, g := range c.Paths {
		if _, err := filepath.Match(g, ""); err != nil {
			p.Addf("paths[%d]: %q is not a valid glob: %v", i, g, err)
		}
	}
	switch c.Format {
	case "auto", "ndjson", "json":
	default:
		p.Addf("format: %q is not one of auto, ndjson, json", c.Format)
	}
	if c.PollInterval < 10*time.Millisecond {
		p.Addf("poll_interval: must be at least 10ms")
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		p.Addf("batch_size: must be 1 to 100000")
	}
	if c.MaxRecordSize < 64 {
		p.Addf("max_record_size: must be at least 64B")
	}
	switch c.StartAt {
	case "beginning", "end":
	default:
		p.Addf("start_at: %q is not one of beginning, end", c.StartAt)
	}
	switch c.RecordKind {
	case KindNone, KindCloudTrail, KindNetskope:
	default:
		p.Addf("record_kind: %q is not one of cloudtrail, netskope (or empty)", c.RecordKind)
	}
	return p.Err()
}
