package netconf_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/plugins/destinations/stdout"
	filesrc "github.com/logshipper/logshipper/plugins/sources/file"
)

// dialer is how a plugin holds the sections.
type dialer struct {
	URL   string        `yaml:"url"`
	Proxy netconf.Proxy `yaml:"proxy"`
	TLS   netconf.TLS   `yaml:"tls"`
}

func (*dialer) Validate() error { return nil }

func registry(t *testing.T) *plugin.Registry {
	r, err := plugin.NewRegistry(filesrc.Factory(), stdout.Factory(), plugin.Factory{
		Type: "dialer", Kind: plugin.KindDestination, Summary: "test only",
		NewConfig: func() plugin.Config { return &dialer{} },
		NewDestination: func(plugin.Config, plugin.Settings) (plugin.Destination, error) {
			return nil, errors.New("test only")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The sections through the project's loader: the short form, the old shapes with their
// deprecation warnings, strict keys with paths, and no password in any message.
func TestThroughTheLoader(t *testing.T) {
	env := map[string]string{"PW": secretPW}
	res := config.Resolver{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Dir: t.TempDir()}
	tests := []struct {
		name    string
		yaml    string
		want    netconf.Proxy
		tls     netconf.TLS
		warning string // substring of the one warning expected; "" = none
		err     []string
	}{
		{name: "absent", yaml: ""},
		{name: "short system", yaml: "proxy: system", want: netconf.Proxy{URL: "system"}},
		{name: "short none", yaml: "proxy: none", want: netconf.Proxy{URL: "none"}},
		{name: "short empty", yaml: `proxy: ""`, warning: `proxy: deprecated; write proxy.url instead ("" is the system's proxy`},
		{name: "short null", yaml: "proxy:"},
		{name: "short URL", yaml: "proxy: http://proxy.corp:3128", want: netconf.Proxy{URL: "http://proxy.corp:3128"}},
		{name: "mapping", yaml: "proxy:\n      url: socks5://10.0.0.1:1080\n      username: shipper\n      password: ${PW}",
			want: netconf.Proxy{URL: "socks5://10.0.0.1:1080", Username: "shipper", Password: config.NewSecret(secretPW)}},
		{name: "flow mapping", yaml: "proxy: {url: none}", want: netconf.Proxy{URL: "none"}},
		{name: "credentials in the short URL", yaml: "proxy: http://shipper:${PW}@proxy.corp:3128",
			want:    netconf.Proxy{URL: "http://proxy.corp:3128", Username: "shipper", Password: config.NewSecret(secretPW)},
			warning: "plugins[1] (out): proxy: deprecated; write proxy.url, proxy.username, proxy.password instead (credentials in the proxy URL)"},
		{name: "a password with URL syntax in it", yaml: "proxy: http://shipper:${PW}?/#%@x@proxy.corp:3128",
			want:    netconf.Proxy{URL: "http://proxy.corp:3128", Username: "shipper", Password: config.NewSecret(secretPW + "?/#%@x")},
			warning: "credentials in the proxy URL"},
		{name: "an escaped password", yaml: "proxy: http://shipper:p%40ss@proxy.corp:3128",
			want:    netconf.Proxy{URL: "http://proxy.corp:3128", Username: "shipper", Password: config.NewSecret("p@ss")},
			warning: "credentials in the proxy URL"},
		{name: "credentials without a scheme", yaml: "proxy: shipper@proxy.corp:3128",
			want: netconf.Proxy{URL: "proxy.corp:3128", Username: "shipper"}, warning: "proxy.url, proxy.username instead"},
		{name: "off", yaml: "proxy: off", want: netconf.Proxy{URL: "none"}, warning: `plugins[1] (out): proxy: deprecated; write proxy.url: none instead ("off" is read as none)`},
		{name: "direct", yaml: "proxy: direct", want: netconf.Proxy{URL: "none"}, warning: "proxy.url: none"},
		{name: "tls", yaml: "tls:\n      server_name: siem.internal\n      min_version: \"1.3\"\n      insecure_skip_verify: true",
			tls:     netconf.TLS{ServerName: "siem.internal", MinVersion: "1.3", InsecureSkipVerify: true},
			warning: "plugins[1] (out): tls: insecure_skip_verify: TLS certificate verification is off"},
		{name: "misspelt proxy key", yaml: "proxy:\n      url: http://p:1\n      usernme: x",
			err: []string{"plugins[1] (out): proxy.usernme: unknown key (did you mean \"username\"?)"}},
		{name: "a password with URL syntax in proxy.url", yaml: "proxy:\n      url: http://shipper:${PW}?x@proxy.corp:3128",
			err: []string{"plugins[1] (out): proxy: url: a user name or password in the URL"}},
		{name: "credentials in proxy.url", yaml: "proxy:\n      url: http://shipper:${PW}@proxy.corp:3128",
			err: []string{"plugins[1] (out): proxy: url: a user name or password in the URL: give them as proxy.username and proxy.password"}},
		{name: "bad proxy and tls", yaml: "proxy: ftp://proxy\n    tls: {cert_file: /nonexistent/c.pem, min_version: \"1.0\"}",
			err: []string{`plugins[1] (out): proxy: url: scheme "ftp"`, "plugins[1] (out): tls: key_file: missing", `plugins[1] (out): tls: min_version: "1.0"`}},
		{name: "misspelt tls key", yaml: "tls: {ca_fle: x}", err: []string{`tls.ca_fle: unknown key (did you mean "ca_file"?)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := "plugins:\n  - {name: in, type: file, paths: [x]}\n  - name: out\n    type: dialer\n    url: https://x\n    " + tc.yaml +
				"\nsiem_mappings:\n  - {source: in, destination: out}\n"
			cfg, err := config.Parse([]byte(doc), "t.yaml", registry(t), res)
			if err != nil && strings.Contains(err.Error(), secretPW) {
				t.Fatalf("the password in %v", err)
			}
			if len(tc.err) > 0 {
				if err == nil {
					t.Fatalf("accepted; want %q", tc.err)
				}
				for _, w := range tc.err {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%v\nlacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, _ := cfg.Plugin("out")
			d := p.Options.(*dialer)
			if d.Proxy.URL != tc.want.URL || d.Proxy.Username != tc.want.Username || d.Proxy.Password.Value() != tc.want.Password.Value() {
				t.Errorf("proxy %v, want %v", d.Proxy, tc.want)
			}
			if d.TLS != tc.tls {
				t.Errorf("tls %+v, want %+v", d.TLS, tc.tls)
			}
			switch {
			case tc.warning == "" && len(cfg.Warnings) > 0:
				t.Errorf("warnings %q", cfg.Warnings)
			case tc.warning != "" && (len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], tc.warning)):
				t.Errorf("warnings %q, want one with %q", cfg.Warnings, tc.warning)
			}
			if strings.Contains(strings.Join(cfg.Warnings, "\n"), secretPW) {
				t.Errorf("the password in the warnings %q", cfg.Warnings)
			}
		})
	}
}

// An anchor merged into two entries is read the same in both: upgrading one does not change
// the nodes the other shares.
func TestSharedAnchorUpgradedForEach(t *testing.T) {
	doc := `x-net: &net
  proxy: http://u:pw@proxy.corp:3128
plugins:
  - {name: in, type: file, paths: [x]}
  - {<<: *net, name: a, type: dialer, url: https://a}
  - {<<: *net, name: b, type: dialer, url: https://b}
siem_mappings:
  - {source: in, destination: a}
  - {source: in, destination: b}
`
	cfg, err := config.Parse([]byte(doc), "t.yaml", registry(t), config.Resolver{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		p, _ := cfg.Plugin(name)
		if px := p.Options.(*dialer).Proxy; px.URL != "http://proxy.corp:3128" || px.Username != "u" || px.Password.Value() != "pw" {
			t.Errorf("%s: %v", name, px)
		}
	}
	if len(cfg.Warnings) != 2 {
		t.Errorf("warnings %q, want one per entry", cfg.Warnings)
	}
}

// README.md documents every key of both sections.
func TestREADMEDocumentsEveryKey(t *testing.T) {
	plugintest.CheckDocumentedOptions(t, "README.md", &netconf.Proxy{})
	plugintest.CheckDocumentedOptions(t, "README.md", &netconf.TLS{})
}
