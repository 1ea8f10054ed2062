package awss3sqs

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	base := func() *Config {
		c := NewConfig().(*Config)
		c.QueueURL = "https://sqs.eu-west-1.amazonaws.com/111122223333/cloudtrail"
		return c
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"defaults with a queue", func(*Config) {}, ""},
		{"no queue", func(c *Config) { c.QueueURL = "" }, "queue_url: required"},
		{"not a URL", func(c *Config) { c.QueueURL = "cloudtrail" }, "queue_url:"},
		{"no account in the path", func(c *Config) { c.QueueURL = "https://sqs.eu-west-1.amazonaws.com/cloudtrail" }, "queue_url:"},
		{"local queue without region", func(c *Config) { c.QueueURL = "http://127.0.0.1:5000/123456789012/q" }, "region: required"},
		{"local queue with region", func(c *Config) { c.QueueURL = "http://127.0.0.1:5000/123456789012/q"; c.AWS.Region = "us-east-1" }, ""},
		{"region against the URL", func(c *Config) { c.AWS.Region = "us-east-1" }, "region: \"us-east-1\", but queue_url is in \"eu-west-1\""},
		{"visibility too long", func(c *Config) { c.VisibilityTimeout = 13 * time.Hour }, "visibility_timeout"},
		{"visibility not whole seconds", func(c *Config) { c.VisibilityTimeout = 1500 * time.Millisecond }, "visibility_timeout"},
		{"wait too long", func(c *Config) { c.WaitTime = 25 * time.Second }, "wait_time"},
		{"max_messages 11", func(c *Config) { c.MaxMessages = 11 }, "max_messages"},
		{"no workers", func(c *Config) { c.Workers = 0 }, "number_of_workers"},
		{"negative max_receive_count", func(c *Config) { c.MaxReceiveCount = -1 }, "max_receive_count"},
		{"api_timeout under wait_time", func(c *Config) { c.APITimeout = 10 * time.Second }, "api_timeout"},
		{"bad key_regex", func(c *Config) { c.KeyRegex = "(" }, "key_regex"},
		{"batch_size 0", func(c *Config) { c.BatchSize = 0 }, "batch_size"},
		{"pattern without gateway", func(c *Config) { c.LogSourceIdentifierPattern = "a=b" }, "use_as_gateway_log_source"},
		{"bad pattern", func(c *Config) { c.UseAsGatewayLogSource = true; c.LogSourceIdentifierPattern = "nope" }, "log_source_identifier_pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

func TestRegionFromQueueURL(t *testing.T) {
	for u, want := range map[string]string{
		"https://sqs.us-east-1.amazonaws.com/111122223333/q":      "us-east-1",
		"https://sqs.cn-north-1.amazonaws.com.cn/111122223333/q":  "cn-north-1",
		"https://eu-central-1.queue.amazonaws.com/111122223333/q": "eu-central-1",
		"https://sqs.us-gov-west-1.amazonaws.com/111122223333/q":  "us-gov-west-1",
		"http://127.0.0.1:5000/111122223333/q":                    "",
	} {
		c := &Config{QueueURL: u}
		if got := c.region(); got != want {
			t.Errorf("region of %s = %q, want %q", u, got, want)
		}
	}
}
