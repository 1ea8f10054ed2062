package cloudwatch

import (
	"strings"
	"testing"
	"time"
)

func validConfig() *Config {
	c := NewConfig().(*Config)
	c.Regions = []string{"us-east-1"}
	c.LogGroup = "g"
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c *Config)
		want string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no region", func(c *Config) { c.Regions = nil }, "regions: required"},
		{"other regions only", func(c *Config) { c.Regions, c.OtherRegions = nil, "us-east-2, eu-west-1" }, ""},
		{"bad other region", func(c *Config) { c.OtherRegions = "us-east-2,Mars" }, `other_regions: "Mars"`},
		{"region key", func(c *Config) { c.AWS.Region = "us-east-1" }, "region: not used"},
		{"no group", func(c *Config) { c.LogGroup = "" }, "log_group: required"},
		{"stream and prefix", func(c *Config) { c.LogStream, c.LogStreamPrefix = "a", "b" }, "give one or neither"},
		{"bad pattern", func(c *Config) { c.UseAsGatewayLogSource, c.LogSourceIdentifierPattern = true, "x=(" }, "log_source_identifier_pattern"},
		{"pattern without gateway", func(c *Config) { c.LogSourceIdentifierPattern = "x=y" }, "only used with use_as_gateway_log_source"},
		{"negative eps", func(c *Config) { c.EPSThrottle = EPSLimit(-1) }, "eps_throttle"},
		{"bad start", func(c *Config) { c.StartPosition = "yesterday" }, "start_position"},
		{"window not past overlap", func(c *Config) { c.MaxWindow = c.Overlap }, "max_window"},
		{"no rps", func(c *Config) { c.RequestsPerSecond = 0 }, "requests_per_second"},
		{"page size 0", func(c *Config) { c.PageSize = 0 }, "page_size: 0: must be 1 to 10000"},
		{"page size past the API's", func(c *Config) { c.PageSize = 10001 }, "page_size: 10001"},
		{"small pages", func(c *Config) { c.PageSize = 1 }, ""},
		// The service refuses a bad filter pattern at the first read; validate refuses it first.
		{"bad filter pattern", func(c *Config) { c.FilterPattern = `{ $.eventName = ` }, "filter_pattern: "},
		{"unbalanced quote", func(c *Config) { c.FilterPattern = `"Failed to` }, "filter_pattern: "},
		{"json filter pattern", func(c *Config) { c.FilterPattern = `{ $.eventName = "ConsoleLogin" && $.errorCode NOT EXISTS }` }, ""},
		{"terms filter pattern", func(c *Config) { c.FilterPattern = `?ERROR ?WARN -Exiting` }, ""},
		{"long filter pattern", func(c *Config) { c.FilterPattern = strings.Repeat("a", 1025) }, "longer than 1024"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mod(c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want a problem with %q", err, tc.want)
			}
		})
	}
}

func TestRegionsMerged(t *testing.T) {
	c := validConfig()
	c.Regions = []string{"us-east-1", "eu-west-1"}
	c.OtherRegions = " eu-west-1 , ap-south-1,,"
	got, err := c.allRegions()
	if err != nil || strings.Join(got, ",") != "us-east-1,eu-west-1,ap-south-1" {
		t.Fatalf("%v %v", got, err)
	}
}

func TestStartPosition(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"beginning", time.UnixMilli(0), false},
		{"end", now, false},
		{"", now, false},
		{"-15m", now.Add(-15 * time.Minute), false},
		{"-7d", now.Add(-7 * 24 * time.Hour), false},
		{"2026-02-01T00:00:00Z", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), false},
		{"2027-01-01T00:00:00Z", time.Time{}, true},
		{"-x", time.Time{}, true},
		{"soon", time.Time{}, true},
	}
	for _, tc := range tests {
		got, err := parseStartPosition(tc.in, now)
		if tc.bad != (err != nil) || !tc.bad && got != tc.want.UnixMilli() {
			t.Errorf("%q: %v %v", tc.in, time.UnixMilli(got).UTC(), err)
		}
	}
}
