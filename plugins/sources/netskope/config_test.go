package netskope

import (
	"errors"

	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugintest"
)

func validConfig() *Config {
	c := NewConfig().(*Config)
	c.Tenant = "https://acme.goskope.com"
	c.APIToken = config.NewSecret("tok")
	return c
}

func TestDefaults(t *testing.T) {
	c := NewConfig().(*Config)
	if len(c.EventTypes) != 7 || len(c.AlertTypes) != 13 || c.Start != "now" || c.PageTimeout != 2*time.Minute || c.MaxBackoff != 2*time.Minute || c.Proxy != (netconf.Proxy{}) {
		t.Errorf("defaults %+v", c)
	}
	c.EventTypes[0] = "changed"
	if eventTypes[0] != "page" {
		t.Error("NewConfig shares the eventTypes slice")
	}
	if err := validConfig().Validate(); err != nil {
		t.Errorf("a valid configuration: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Config)
		want   []string // every one must appear in the error
	}{
		{"nothing set", func(c *Config) { c.Tenant, c.APIToken = "", config.Secret{} }, []string{"tenant: required", "api_token: required"}},
		{"bare host is https", func(c *Config) { c.Tenant = "acme.goskope.com" }, nil},
		{"http for cloudsim", func(c *Config) { c.Tenant = "http://127.0.0.1:4568/" }, nil},
		{"ftp", func(c *Config) { c.Tenant = "ftp://acme.goskope.com" }, []string{"tenant:", "scheme"}},
		{"credentials in the URL", func(c *Config) { c.Tenant = "https://u:p@acme.goskope.com" }, []string{"tenant:", "credentials"}},
		{"typo in an event type", func(c *Config) { c.EventTypes = []string{"adit", "page"} }, []string{`event_types[0]: unknown type "adit" (did you mean "audit"?)`}},
		{"typo in an alert type", func(c *Config) { c.AlertTypes = []string{"Compromised Credential", "malwre"} }, []string{
			`alert_types[0]: unknown type "Compromised Credential" (did you mean "compromisedcredential"?)`,
			`alert_types[1]: unknown type "malwre" (did you mean "malware"?)`}},
		{"nothing like it", func(c *Config) { c.AlertTypes = []string{"zzzzzzzz"} }, []string{`alert_types[0]: unknown type "zzzzzzzz" (known: compromisedcredential, policy`}},
		{"alert type among events", func(c *Config) { c.EventTypes = []string{"dlp"} }, []string{`event_types[0]: "dlp" is one of the alert_types`}},
		{"twice", func(c *Config) { c.EventTypes = []string{"audit", "audit"} }, []string{`event_types[1]: "audit" is listed twice`}},
		{"no types", func(c *Config) { c.EventTypes, c.AlertTypes = nil, []string{} }, []string{"event_types, alert_types: both are empty"}},
		{"only alerts", func(c *Config) { c.EventTypes = nil }, nil},
		{"index prefix characters", func(c *Config) { c.IndexPrefix = "my-index" }, []string{"index_prefix:", "only letters, digits and '_'"}},
		{"index prefix length", func(c *Config) { c.IndexPrefix = strings.Repeat("x", 65) }, []string{"index_prefix:", "longer than 64"}},
		{"index prefix ok", func(c *Config) { c.IndexPrefix = "CE_logshipper_1" }, nil},
		{"start RFC 3339", func(c *Config) { c.Start = "2024-05-01T00:00:00Z" }, nil},
		{"start relative", func(c *Config) { c.Start = "-36h" }, nil},
		{"start days", func(c *Config) { c.Start = "-7d" }, nil},
		{"start positive", func(c *Config) { c.Start = "24h" }, []string{"start:", "in the future"}},
		{"start future time", func(c *Config) { c.Start = "2999-01-01T00:00:00Z" }, []string{"start:", "in the future"}},
		{"start garbage", func(c *Config) { c.Start = "yesterday" }, []string{`start: "yesterday" is not now, an RFC 3339 time`}},
		{"proxy system", func(c *Config) { c.Proxy = netconf.Proxy{URL: "system"} }, nil},
		{"proxy URL", func(c *Config) {
			c.Proxy = netconf.Proxy{URL: "http://proxy:3128", Username: "user", Password: config.NewSecret("pw")}
		}, nil},
		{"proxy credentials in the URL", func(c *Config) { c.Proxy = netconf.Proxy{URL: "http://user:pw@proxy:3128"} }, []string{"proxy: url:", "proxy.username and proxy.password"}},
		{"proxy bad scheme", func(c *Config) { c.Proxy = netconf.Proxy{URL: "ftp://proxy:3128"} }, []string{"proxy: url:", `scheme "ftp"`}},
		{"proxy no host", func(c *Config) { c.Proxy = netconf.Proxy{URL: "http://"} }, []string{"proxy: url:", "no host"}},
		{"tls ca_file", func(c *Config) { c.TLS.CAFile = "/nonexistent/ca.pem" }, []string{"tls: ca_file:"}},
		{"timeouts", func(c *Config) { c.PageTimeout, c.MaxBackoff = time.Millisecond, 0 }, []string{"page_timeout: must be at least 1s", "max_backoff: must be at least 1s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := validConfig()
			c.change(cfg)
			err := errors.Join(config.ValidateTree(cfg, "")...)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected problems: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems %q do not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Errorf("problems %q show the proxy password", err)
			}
		})
	}
}

// The options decode from YAML over the defaults; a list given replaces the default one.
func TestDecodeYAML(t *testing.T) {
	c := NewConfig().(*Config)
	doc := `
tenant: https://acme.goskope.com
api_token: abc
event_types: [audit]
alert_types: []
index_prefix: shipper_1
start: -24h
proxy: {url: system}
tls: {ca_file: "", insecure_skip_verify: true}
page_timeout: 90s
max_backoff: 5m
`
	if err := yaml.Unmarshal([]byte(doc), c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.APIToken.Value() != "abc" || len(c.EventTypes) != 1 || len(c.AlertTypes) != 0 || c.PageTimeout != 90*time.Second ||
		c.MaxBackoff != 5*time.Minute || !c.TLS.InsecureSkipVerify || c.Start != "-24h" || c.IndexPrefix != "shipper_1" {
		t.Errorf("decoded %+v", c)
	}
}

func TestIndexNames(t *testing.T) {
	for name, want := range map[string]string{
		"acme":          "logshipper_acme",
		"netskope-acme": "logshipper_netskope_acme",
		"a b/ç":         "logshipper_a_b__",
	} {
		if got := defaultIndexPrefix(name); got != want {
			t.Errorf("defaultIndexPrefix(%q) = %q, want %q", name, got, want)
		}
	}
	long1, long2 := defaultIndexPrefix(strings.Repeat("x", 100)+"1"), defaultIndexPrefix(strings.Repeat("x", 100)+"2")
	if len(long1) > maxPrefix || long1 == long2 || checkIndexPrefix(long1) != nil {
		t.Errorf("long names: %q %q", long1, long2)
	}
	if got := indexName("logshipper_acme", endpoint{"alerts", "dlp"}); got != "logshipper_acme_alerts_dlp" {
		t.Errorf("indexName = %q", got)
	}
	// A source without index_prefix derives it from its name.
	w := newWorld(t, simDefaults())
	s, err := New(w.config([]string{"audit"}, nil), plugintest.Settings(t, "Prod Tenant", nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.prefix != "logshipper_Prod_Tenant" {
		t.Errorf("prefix %q", s.prefix)
	}
}

// Index names of different readers must not collide: a backfill's and a live configuration's
// (in any process), and two configurations of one process (refused when built).
func TestIndexNamesDoNotCollide(t *testing.T) {
	ep := endpoint{"events", "audit"}
	if a, b := indexName(BackfillIndexPrefix(defaultIndexPrefix("acme")), ep), indexName(defaultIndexPrefix("acme-backfill"), ep); a == b {
		t.Errorf("backfill of acme and live acme-backfill both use %s", a)
	}
	w := newWorld(t, simDefaults())
	cfg := w.config([]string{"audit"}, nil)
	ps := newPacers()
	if _, err := buildSource(cfg, plugintest.Settings(t, "acme-eu", nil), ps); err != nil {
		t.Fatal(err)
	}
	if _, err := buildSource(cfg, plugintest.Settings(t, "acme-eu", nil), ps); err != nil {
		t.Errorf("the same configuration built again (a second run in one process): %v", err)
	}
	_, err := buildSource(cfg, plugintest.Settings(t, "acme.eu", nil), ps)
	if err == nil || !strings.Contains(err.Error(), `already read by the configuration "acme-eu"`) {
		t.Errorf("acme.eu after acme-eu on one tenant: %v; want refused", err)
	}
	other := w.config([]string{"audit"}, nil)
	other.IndexPrefix = "acme_eu_own"
	if _, err := buildSource(other, plugintest.Settings(t, "acme.eu", nil), ps); err != nil {
		t.Errorf("with its own index_prefix: %v", err)
	}
}

func TestParseStart(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"now":                  now,
		"":                     now,
		"-24h":                 now.Add(-24 * time.Hour),
		"-1h30m":               now.Add(-90 * time.Minute),
		"-7d":                  now.Add(-7 * 24 * time.Hour),
		"2026-03-01T00:00:00Z": time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	} {
		got, err := parseStart(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseStart(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
