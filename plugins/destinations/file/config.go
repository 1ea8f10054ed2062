package file

import (
	"fmt"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Config is the file destination's configuration.
type Config struct {
	// Path is the file written; rotated files get .1, .2, ... appended (.1 is the newest).
	Path string `yaml:"path"`
	// MaxSize rotates the file before a write would make it larger; 0 never rotates.
	MaxSize config.ByteSize `yaml:"max_size"`
	// MaxFiles is how many rotated files are kept besides the current one.
	MaxFiles int `yaml:"max_files"`
	// Sync flushes every batch to disk before acknowledging it. Turning it off is faster, and a
	// machine crash (not a process crash) may then lose acknowledged records.
	Sync bool `yaml:"sync"`
	// Mode is the permission of the files written (octal); a directory made for them gets the
	// matching search bits (0600: 0700). Security logs are for their owner only by default.
	Mode config.FileMode `yaml:"mode"`
}

var (
	_ plugin.Config      = (*Config)(nil)
	_ config.HostChecker = (*Config)(nil)
)

// CheckHost implements config.HostChecker: the file can be opened for appending, or created
// with its directory, as New does.
func (c *Config) CheckHost() error {
	if c.Path == "" {
		return nil // Validate reports it
	}
	if err := config.CheckFileWritable(c.Path); err != nil {
		return fmt.Errorf("path: %w", err)
	}
	return nil
}

// NewConfig returns the defaults.
func NewConfig() plugin.Config {
	return &Config{MaxSize: 100 << 20, MaxFiles: 5, Sync: true, Mode: 0o600}
}

// Validate implements plugin.Config.
func (c *Config) Validate() error {
	var p config.Problems
	if c.Path == "" {
		p.Addf("path: missing")
	}
	if c.MaxSize != 0 && c.MaxSize < 4096 {
		p.Addf("max_size: must be 0 (no rotation) or at least 4KiB")
	}
	if c.MaxFiles < 0 || c.MaxFiles > 1000 {
		p.Addf("max_files: must be 0 to 1000")
	}
	if c.Mode&0o600 != 0o600 {
		p.Addf("mode: %s does not let logshipper read and write its own file (want 0600 or wider)", c.Mode)
	}
	return p.Err()
}
