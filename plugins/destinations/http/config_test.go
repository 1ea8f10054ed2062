package httpdest

import (
	"errors"

	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
		want   []string // substrings of the problems; none: valid
	}{
		{"defaults with a url", nil, nil},
		{"hec", func(c *Config) { c.Mode, c.Token, c.Index = ModeSplunkHEC, config.NewSecret("t"), "main" }, nil},
		{"missing url", func(c *Config) { c.URL = "" }, []string{"url: missing"}},
		{"bad scheme", func(c *Config) { c.URL = "ftp://x" }, []string{"url:", "http://"}},
		{"no host", func(c *Config) { c.URL = "https:///x" }, []string{"has no host"}},
		{"credentials in url", func(c *Config) { c.URL = "https://u:hunter2@x/" }, []string{"url:", "username/password"}},
		{"hec raw endpoint", func(c *Config) {
			c.Mode, c.Token, c.URL = ModeSplunkHEC, config.NewSecret("t"), "https://s:8088/services/collector/raw"
		}, []string{"raw endpoint"}},
		{"hec needs a token, POST, ndjson", func(c *Config) { c.Mode, c.Method, c.Format = ModeSplunkHEC, "PUT", FormatJSONArray },
			[]string{"token: missing", "method: HEC takes POST", "format: HEC"}},
		{"hec options in http mode", func(c *Config) { c.Index, c.Channel = "main", "c" }, []string{"index: only used in mode splunk_hec", "channel: only"}},
		{"bad enums", func(c *Config) { c.Mode, c.Method, c.Format, c.Compression = "x", "GET", "csv", "zstd" },
			[]string{`mode: "x"`, `method: "GET"`, `format: "csv"`, `compression: "zstd"`}},
		{"headers", func(c *Config) {
			c.Headers = map[string]config.Secret{"Bad Name": config.NewSecret("v"), "Content-Length": config.NewSecret("1"),
				"X-Split": config.NewSecret("a\r\nInjected: yes")}
		}, []string{`"Bad Name" is not a header name`, "Content-Length is set by the destination", "X-Split holds a line break"}},
		{"authorization twice", func(c *Config) {
			c.Token, c.Headers = config.NewSecret("t"), map[string]config.Secret{"Authorization": config.NewSecret("x")}
		}, []string{"Authorization cannot be given"}},
		{"token and basic", func(c *Config) { c.Token, c.Username = config.NewSecret("t"), "u" }, []string{"token: cannot be used with username"}},
		{"password alone", func(c *Config) { c.Password = config.NewSecret("p") }, []string{"password: needs username"}},
		{"auth scheme", func(c *Config) { c.AuthScheme = "Bearer x" }, []string{"auth_scheme:"}},
		{"limits", func(c *Config) { c.Timeout, c.MaxBodyBytes, c.SuccessCodes = 0, 10, []int{99} },
			[]string{"timeout: must be positive", "max_body_bytes: must be at least 1KiB", "success_codes: 99"}},
		{"proxy", func(c *Config) { c.Proxy = netconf.Proxy{URL: "ftp://p:secretpw@x"} }, []string{"proxy: url:"}},
		{"proxy password", func(c *Config) { c.Proxy = netconf.Proxy{URL: "http://x:3128", Password: config.NewSecret("secretpw")} },
			[]string{"proxy: password: needs username"}},
		{"tls", func(c *Config) { c.TLS = netconf.TLS{CAFile: "/nonexistent/ca.pem", CertFile: "c.pem"} },
			[]string{"tls: ca_file:", "tls: key_file: missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConfig().(*Config)
			c.URL = "https://collector.example:8443/in"
			if tc.change != nil {
				tc.change(c)
			}
			err := errors.Join(config.ValidateTree(c, "")...)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected problems: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no problem reported, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems %q lack %q", err, w)
				}
			}
			for _, secret := range []string{"hunter2", "secretpw", "Injected"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("a problem shows a secret: %v", err)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := NewConfig().(*Config)
	if c.Mode != ModeHTTP || c.Method != "POST" || c.Format != FormatNDJSON || c.Compression != CompressionGzip ||
		c.Timeout != 30*time.Second || c.MaxBodyBytes != 1<<20 || c.authScheme() != "Bearer" {
		t.Fatalf("defaults: %+v", c)
	}
	c.Mode = ModeSplunkHEC
	if c.authScheme() != "Splunk" {
		t.Fatal("HEC's default scheme is not Splunk")
	}
	d := &Destination{maxBody: 1 << 20}
	if l := d.BatchLimits(); l.MaxBytes <= 0 || l.MaxBytes >= 1<<20 {
		t.Fatalf("batch limits %+v do not keep under max_body_bytes", l)
	}
}

// Credentials over plain http to another machine are a warning; a header that carries none is not.
func TestCleartextWarnings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		url     string
		headers map[string]config.Secret
		warn    bool
	}{
		{"content type only", "http://siem.example:8080/in", map[string]config.Secret{"Content-Type": config.NewSecret("application/json")}, false},
		{"authorization header", "http://siem.example:8080/in", map[string]config.Secret{"Authorization": config.NewSecret("Bearer x")}, true},
		{"api key header", "http://siem.example:8080/in", map[string]config.Secret{"X-Api-Key": config.NewSecret("k")}, true},
		{"https", "https://siem.example/in", map[string]config.Secret{"Authorization": config.NewSecret("Bearer x")}, false},
		{"loopback", "http://127.0.0.1:8080/in", map[string]config.Secret{"Authorization": config.NewSecret("Bearer x")}, false},
	} {
		c := &Config{URL: tc.url, Headers: tc.headers}
		if w := c.Warnings(); (len(w) > 0) != tc.warn {
			t.Errorf("%s: warnings %q, want a warning: %v", tc.name, w, tc.warn)
		}
	}
}
