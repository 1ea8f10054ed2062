// Package config loads logshipper's YAML file: strict decoding (an unknown key is an error with
// its path and line), ${ENV} and ${file:PATH} interpolation, defaults, then a recursive
// validation that reports every problem at once, each with its path.
package config

import (
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/rules"
	"github.com/logshipper/logshipper/internal/telemetry"
)

// Config is a whole configuration file.
type Config struct {
	// DataDir holds the state store, dead letters and plugin files.
	DataDir string `yaml:"data_dir"`
	// Log sets the level and format of the process log.
	Log telemetry.LogConfig `yaml:"log"`
	// Admin serves /metrics, /healthz and /readyz.
	Admin AdminConfig `yaml:"admin"`
	// ShutdownTimeout bounds how long a stop waits for in-flight batches.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// StateSyncInterval is how often the state file's writes (source positions) are committed
	// with an fsync; between commits each write is in a journal a killed process keeps and a
	// machine crash may lose (positions then go back at most this far: records sent again,
	// none skipped). 0 commits and fsyncs every write.
	StateSyncInterval time.Duration `yaml:"state_sync_interval"`
	// MemoryLimit is the Go runtime's soft memory limit for the process (the garbage
	// collector works harder as the heap nears it; it is not a cap); 0 leaves the runtime's
	// default. The GOMEMLIMIT environment variable, when set, wins.
	MemoryLimit ByteSize `yaml:"memory_limit"`
	// Plugins are the plugin configurations (decoded by the loader with each type's options).
	Plugins []*Plugin `yaml:"-"`
	// BusinessRules are the named filters.
	BusinessRules []RuleConfig `yaml:"business_rules"`
	// SIEMMappings are the routes: source + rule + destination.
	SIEMMappings []RouteConfig `yaml:"siem_mappings"`

	// Sections are the top-level sections the caller added (Section), by key: each the value
	// its constructor returned, decoded and validated. A section the file does not have has no
	// entry.
	Sections map[string]any `yaml:"-"`

	// Rules holds every business rule, compiled, with All.
	Rules *rules.Set `yaml:"-"`
	// Warnings are problems that do not stop the configuration from running.
	Warnings []string `yaml:"-"`
	// Path is the file the configuration was read from.
	Path string `yaml:"-"`
}

// DefaultMemoryLimit keeps the heap's slack small: the engine bounds what it holds (pages in
// flight, queues), and without a limit the collector lets the heap grow to twice that.
const DefaultMemoryLimit = 100 << 20

// Default returns the configuration's defaults.
func Default() *Config {
	return &Config{
		DataDir:           "logshipper-data",
		Log:               telemetry.DefaultLogConfig(),
		Admin:             AdminConfig{Listen: "127.0.0.1:9870"},
		ShutdownTimeout:   30 * time.Second,
		StateSyncInterval: time.Second,
		MemoryLimit:       DefaultMemoryLimit,
	}
}

// Validate checks the top-level scalars.
func (c *Config) Validate() error {
	var p Problems
	if c.DataDir == "" {
		p.Addf("data_dir: must not be empty")
	}
	if c.ShutdownTimeout <= 0 {
		p.Addf("shutdown_timeout: must be positive")
	}
	if c.StateSyncInterval < 0 {
		p.Addf("state_sync_interval: must be 0 (fsync every write) or positive")
	}
	return p.Err()
}

var _ Warner = AdminConfig{}

// Warnings implements Warner: the profiler served where others can reach it.
func (a AdminConfig) Warnings() []string {
	if !a.PProf || a.Listen == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(a.Listen)
	if err != nil {
		return nil // Validate reports it
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	where := host
	if where == "" || where == "0.0.0.0" || where == "::" {
		where = "every address of this machine"
	}
	return []string{fmt.Sprintf("pprof: on, and listen %q serves it on %s: a profile shows record contents in memory to anyone who reaches the port; listen on 127.0.0.1 or turn pprof off", a.Listen, where)}
}

// AdminConfig is the `admin:` section.
type AdminConfig struct {
	// Listen is host:port for the admin server; empty turns it off.
	Listen string `yaml:"listen"`
	// PProf adds Go's profiler under /debug/pprof/ (CPU and heap profiles, goroutines). Off by
	// default: a profile shows record contents in memory, so only where the admin port is private.
	PProf bool `yaml:"pprof"`
}

// Validate checks the listen address.
func (a AdminConfig) Validate() error {
	if a.Listen == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(a.Listen)
	if err != nil {
		return fmt.Errorf("listen: %q is not host:port", a.Listen)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("listen: %q: the port is not 0-65535 (or a service name of this machine)", a.Listen)
	}
	return nil
}

// Plugin is one plugin configuration: the keys every plugin shares, and the type's own options.
type Plugin struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	// KindName is "source" or "destination". It is needed only for a type that is both (file)
	// and is not used by any siem_mapping; otherwise the loader infers it.
	KindName string `yaml:"kind"`
	// EPS caps the records per second this instance reads (a source) or sends (a destination);
	// 0 means no limit.
	EPS int `yaml:"eps"`
	// Disabled keeps the configuration in the file without running it: it is not built, and
	// the SIEM mappings that name it do not run (validate warns of each).
	Disabled bool `yaml:"disabled"`

	// Destinations only. A key the entry leaves out takes the default of the destination's
	// factory (plugin.Factory.DeliveryDefaults).
	Batch     BatchConfig `yaml:"batch"`
	Retry     RetryConfig `yaml:"retry"`
	Workers   int         `yaml:"workers"`
	QueueSize int         `yaml:"queue_size"`
	// SpoolMaxSize bounds the records kept on disk (<data_dir>/spool/<name>) while a fatal error
	// has stopped the destination, sent when it runs again; 0 keeps none, and the sources
	// feeding it then stop when it stops.
	SpoolMaxSize ByteSize `yaml:"spool_max_size"`

	// Kind is the factory's kind, set by the loader.
	Kind plugin.Kind `yaml:"-"`
	// Options is the type's own configuration, decoded and defaulted by the loader.
	Options plugin.Config `yaml:"-"`
	// Line is where the entry starts in the file.
	Line int `yaml:"-"`

	// set records which shared keys the file gave, to reject destination keys on a source.
	set map[string]bool
}

// BatchConfig groups records for a destination.
type BatchConfig struct {
	MaxRecords int           `yaml:"max_records"`
	MaxBytes   ByteSize      `yaml:"max_bytes"`
	MaxWait    time.Duration `yaml:"max_wait"`
}

// RetryConfig is the backoff between attempts: exponential from InitialInterval up to
// MaxInterval, with jitter; a server's retry-after is honoured when longer. Retries go on until
// the record is delivered or refused, or the process stops.
type RetryConfig struct {
	InitialInterval time.Duration `yaml:"initial_interval"`
	MaxInterval     time.Duration `yaml:"max_interval"`
}

// destinationDefaults sets the shared keys of destination entry p to d, its factory's defaults,
// before the entry's own values are decoded over them.
func destinationDefaults(p *Plugin, d plugin.DeliveryDefaults) {
	p.Batch = BatchConfig{MaxRecords: d.BatchMaxRecords, MaxBytes: ByteSize(d.BatchMaxBytes), MaxWait: d.BatchMaxWait}
	p.Retry = RetryConfig{InitialInterval: d.RetryInitialInterval, MaxInterval: d.RetryMaxInterval}
	p.Workers = d.Workers
	p.QueueSize = d.QueueSize
	p.SpoolMaxSize = ByteSize(d.SpoolMaxSize)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// Validate checks the shared keys; the options validate themselves.
func (p *Plugin) Validate() error {
	var v Problems
	if p.Name == "" {
		v.Addf("name: missing")
	} else if !nameRE.MatchString(p.Name) {
		v.Addf("name: %q must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit", p.Name)
	}
	if p.EPS < 0 {
		v.Addf("eps: must be 0 (no limit) or more")
	}
	if p.Kind == plugin.KindSource {
		for _, k := range destinationKeys {
			if p.set[k] {
				v.Addf("%s: only destinations take this key", k)
			}
		}
		return v.Err()
	}
	if p.Batch.MaxRecords < 1 {
		v.Addf("batch.max_records: must be at least 1")
	}
	if p.Batch.MaxBytes < 1024 {
		v.Addf("batch.max_bytes: must be at least 1KiB")
	}
	if p.Batch.MaxWait < 0 {
		v.Addf("batch.max_wait: must not be negative")
	}
	if p.Retry.InitialInterval <= 0 {
		v.Addf("retry.initial_interval: must be positive")
	}
	if p.Retry.MaxInterval < p.Retry.InitialInterval {
		v.Addf("retry.max_interval: must be at least retry.initial_interval (%s)", p.Retry.InitialInterval)
	}
	if p.Workers < 1 || p.Workers > 64 {
		v.Addf("workers: must be 1 to 64")
	}
	if p.QueueSize < 1 {
		v.Addf("queue_size: must be at least 1")
	}
	if p.SpoolMaxSize != 0 && p.SpoolMaxSize < p.Batch.MaxBytes {
		v.Addf("spool_max_size: must be 0 (keep nothing) or at least batch.max_bytes (%s), the most one batch holds", p.Batch.MaxBytes)
	}
	return v.Err()
}

// RuleConfig is one business rule.
type RuleConfig struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Expr is an expr-lang expression over the record's fields that yields a boolean.
	Expr string `yaml:"expr"`
	// Filter is a Mongo-style filter, as Netskope Cloud Exchange stores business rules: a
	// mapping, or the JSON text Cloud Exchange shows (its "mongo" string). A rule has Expr or
	// Filter, not both.
	Filter any `yaml:"filter"`
}

// RouteConfig is one SIEM mapping: records of Source that match Rule go to Destination.
type RouteConfig struct {
	Name        string `yaml:"name"`
	Source      string `yaml:"source"`
	Destination string `yaml:"destination"`
	Rule        string `yaml:"rule"`
}

// ActiveMappings are the SIEM mappings that run: those whose source and destination are not
// disabled.
func (c *Config) ActiveMappings() []RouteConfig {
	var out []RouteConfig
	for _, r := range c.SIEMMappings {
		if !c.disabled(r.Source) && !c.disabled(r.Destination) {
			out = append(out, r)
		}
	}
	return out
}

func (c *Config) disabled(name string) bool {
	p, ok := c.Plugin(name)
	return ok && p.Disabled
}

// Plugin returns the plugin configuration of that name.
func (c *Config) Plugin(name string) (*Plugin, bool) {
	for _, p := range c.Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}
