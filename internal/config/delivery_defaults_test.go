package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/plugins/all"
	"github.com/logshipper/logshipper/plugins/destinations/stdout"
	filesrc "github.com/logshipper/logshipper/plugins/sources/file"
)

// tunedFactory is a destination that exists only in these tests, with delivery defaults d.
func tunedFactory(typ string, d plugin.DeliveryDefaults) plugin.Factory {
	return plugin.Factory{
		Type:      typ,
		Kind:      plugin.KindDestination,
		Summary:   "test only: a destination with its own delivery defaults",
		NewConfig: stdout.NewConfig,
		NewDestination: func(plugin.Config, plugin.Settings) (plugin.Destination, error) {
			return nil, errors.New("test only")
		},
		Delivery: d,
	}
}

// delivery is what the loader sets on a destination entry, in the order of its keys.
type delivery struct {
	batch     config.BatchConfig
	retry     config.RetryConfig
	workers   int
	queueSize int
}

func deliveryOf(p *config.Plugin) delivery {
	return delivery{p.Batch, p.Retry, p.Workers, p.QueueSize}
}

// globalDelivery is today's global default, written out so that a change to it is seen here.
var globalDelivery = delivery{
	batch:     config.BatchConfig{MaxRecords: 500, MaxBytes: 4 << 20, MaxWait: time.Second},
	retry:     config.RetryConfig{InitialInterval: time.Second, MaxInterval: time.Minute},
	workers:   2,
	queueSize: 10000,
}

func TestLoadDestinationDefaultsFromFactory(t *testing.T) {
	reg, err := plugin.NewRegistry(
		filesrc.Factory(),
		// Every key its own.
		tunedFactory("lakeish", plugin.DeliveryDefaults{
			BatchMaxRecords: 100, BatchMaxBytes: 1 << 20, BatchMaxWait: 3 * time.Second,
			Workers: 8, QueueSize: 2000,
			RetryInitialInterval: 200 * time.Millisecond, RetryMaxInterval: 5 * time.Second,
		}),
		// One key its own, the others global.
		tunedFactory("syslogish", plugin.DeliveryDefaults{BatchMaxRecords: 2000}),
		// None: the global defaults.
		tunedFactory("plain", plugin.DeliveryDefaults{}),
	)
	if err != nil {
		t.Fatal(err)
	}
	lakeish := delivery{
		batch:     config.BatchConfig{MaxRecords: 100, MaxBytes: 1 << 20, MaxWait: 3 * time.Second},
		retry:     config.RetryConfig{InitialInterval: 200 * time.Millisecond, MaxInterval: 5 * time.Second},
		workers:   8,
		queueSize: 2000,
	}
	syslogish := globalDelivery
	syslogish.batch.MaxRecords = 2000

	tests := []struct {
		name  string
		entry string // the destination entry, named out, in YAML flow form
		want  delivery
	}{
		{"all keys from the factory", `{name: out, type: lakeish}`, lakeish},
		{"some keys from the factory, the rest global", `{name: out, type: syslogish}`, syslogish},
		{"a factory without defaults", `{name: out, type: plain}`, globalDelivery},
		{
			"the user's values win key by key",
			`{name: out, type: lakeish, batch: {max_records: 50}, retry: {max_interval: 1m}, workers: 3}`,
			func() delivery {
				d := lakeish
				d.batch.MaxRecords, d.retry.MaxInterval, d.workers = 50, time.Minute, 3
				return d
			}(),
		},
		{
			"the user's values win over global defaults",
			`{name: out, type: plain, batch: {max_bytes: 1MiB, max_wait: 0s}, queue_size: 7}`,
			func() delivery {
				d := globalDelivery
				d.batch.MaxBytes, d.batch.MaxWait, d.queueSize = 1<<20, 0, 7
				return d
			}(),
		},
		{
			"the user's value equal to the global default wins over the factory's",
			`{name: out, type: lakeish, batch: {max_records: 500}, workers: 2}`,
			func() delivery {
				d := lakeish
				d.batch.MaxRecords, d.workers = 500, 2
				return d
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "plugins:\n  - {name: in, type: file, paths: [x]}\n  - " + tt.entry + "\nsiem_mappings:\n  - {source: in, destination: out}\n"
			cfg, err := config.Parse([]byte(yaml), "test.yaml", reg, config.Resolver{Env: fakeEnv(nil)})
			if err != nil {
				t.Fatal(err)
			}
			if got := deliveryOf(mustPlugin(t, cfg, "out")); got != tt.want {
				t.Errorf("delivery settings\n got %+v\nwant %+v", got, tt.want)
			}
			// A source takes none of them, whatever its destinations' factories say.
			if got := deliveryOf(mustPlugin(t, cfg, "in")); got != (delivery{}) {
				t.Errorf("source has delivery settings %+v", got)
			}
		})
	}
}

// A problem with a value the user gave next to the factory's defaults names the entry's path.
func TestLoadDestinationDefaultsValidateNamesPath(t *testing.T) {
	reg, err := plugin.NewRegistry(filesrc.Factory(), tunedFactory("lakeish", plugin.DeliveryDefaults{
		RetryInitialInterval: 2 * time.Second, RetryMaxInterval: 5 * time.Second,
	}))
	if err != nil {
		t.Fatal(err)
	}
	yaml := `plugins:
  - {name: in, type: file, paths: [x]}
  - {name: out, type: lakeish, retry: {max_interval: 1s}, workers: 65}
siem_mappings:
  - {source: in, destination: out}
`
	_, err = config.Parse([]byte(yaml), "test.yaml", reg, config.Resolver{Env: fakeEnv(nil)})
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse: %v, want a *config.Error", err)
	}
	for _, want := range []string{
		// The factory's initial interval (2s) against the user's max_interval.
		"test.yaml: line 3: plugins[1] (out): retry.max_interval: must be at least retry.initial_interval (2s)",
		"test.yaml: line 3: plugins[1] (out): workers: must be 1 to 64",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
}

// minimalOptions are options that make an entry of each built-in destination type valid.
var minimalOptions = map[string]string{
	"aws_cloudtrail_lake": `channel_arn: "arn:aws:cloudtrail:us-east-1:123456789012:channel/6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01"`,
	"aws_security_lake":   "bucket: aws-security-data-lake-us-east-1-x1\n    region: us-east-1\n    source_name: logshipper",
	"file":                `path: /tmp/out.ndjson`,
	"http":                `url: "https://collector.example:8088/"`,
	"stdout":              ``,
	"syslog":              `address: "127.0.0.1:514"`,
}

// Every built-in destination loads with its factory's defaults, and they pass the loader's own
// checks: a default that failed them would refuse every entry that leaves the key out.
func TestLoadBuiltinDestinationDefaults(t *testing.T) {
	reg := all.Registry()
	for _, f := range reg.Factories() {
		if f.Kind != plugin.KindDestination {
			continue
		}
		t.Run(f.Type, func(t *testing.T) {
			opts, ok := minimalOptions[f.Type]
			if !ok {
				t.Fatalf("no minimal options for destination type %q: add them to minimalOptions", f.Type)
			}
			entry := "  - name: out\n    type: " + f.Type + "\n    kind: destination\n"
			if opts != "" {
				entry += "    " + opts + "\n"
			}
			yaml := "plugins:\n  - {name: in, type: file, paths: [x]}\n" + entry + "siem_mappings:\n  - {source: in, destination: out}\n"
			cfg, err := config.Parse([]byte(yaml), "test.yaml", reg, config.Resolver{Env: fakeEnv(nil)})
			if err != nil {
				t.Fatal(err)
			}
			d := f.DeliveryDefaults()
			want := delivery{
				batch:     config.BatchConfig{MaxRecords: d.BatchMaxRecords, MaxBytes: config.ByteSize(d.BatchMaxBytes), MaxWait: d.BatchMaxWait},
				retry:     config.RetryConfig{InitialInterval: d.RetryInitialInterval, MaxInterval: d.RetryMaxInterval},
				workers:   d.Workers,
				queueSize: d.QueueSize,
			}
			if got := deliveryOf(mustPlugin(t, cfg, "out")); got != want {
				t.Errorf("delivery settings\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// The destinations whose peers call for their own defaults have them.
func TestBuiltinDestinationDefaultValues(t *testing.T) {
	reg := all.Registry()
	tests := []struct {
		typ        string
		maxRecords int
		maxBytes   int
		workers    int
		queueSize  int
	}{
		{"aws_cloudtrail_lake", 100, 1<<20 - 64<<10, 8, 2000},
		{"aws_security_lake", 2000, 4 << 20, 16, 20000},
		{"syslog", 2000, 4 << 20, 1, 10000},
		{"http", 1000, 4 << 20, 4, 5000},
		{"file", 1000, 4 << 20, 1, 10000},
		{"stdout", 500, 4 << 20, 1, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			f, ok := reg.Lookup(tt.typ, plugin.KindDestination)
			if !ok {
				t.Fatalf("no destination %q", tt.typ)
			}
			d := f.DeliveryDefaults()
			if d.BatchMaxRecords != tt.maxRecords || d.BatchMaxBytes != tt.maxBytes || d.Workers != tt.workers || d.QueueSize != tt.queueSize {
				t.Errorf("defaults %+v, want max_records %d, max_bytes %d, workers %d, queue_size %d",
					d, tt.maxRecords, tt.maxBytes, tt.workers, tt.queueSize)
			}
		})
	}
}
