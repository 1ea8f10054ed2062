package cloudwatch_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/plugins/sources/cloudwatch"
)

// JSA's proxy keys (proxy_server, proxy_port, proxy_username, proxy_password) keep working:
// they are read into the proxy section every plugin shares, each with a deprecation warning
// that names the plugin, the old key and the new one, and never shows the password.
func TestJSAProxyKeys(t *testing.T) {
	const password = "p@ss:w/rd"
	env := map[string]string{"PROXY_PW": password}
	res := config.Resolver{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	tests := []struct {
		name     string
		keys     string
		want     netconf.Proxy
		warnings []string // substrings, one per warning expected
		err      string   // substring of the load error; "" = loads
	}{
		{
			name: "all four",
			keys: "    proxy_server: proxy.example.com\n    proxy_port: 3128\n    proxy_username: shipper\n    proxy_password: ${PROXY_PW}\n",
			want: netconf.Proxy{URL: "http://proxy.example.com:3128", Username: "shipper", Password: config.NewSecret(password)},
			warnings: []string{
				"plugins[0] (cw): proxy_server: deprecated; write proxy.url instead",
				"plugins[0] (cw): proxy_port: deprecated; write proxy.url instead",
				"plugins[0] (cw): proxy_username: deprecated; write proxy.username instead",
				"plugins[0] (cw): proxy_password: deprecated; write proxy.password instead",
			},
		},
		{
			name:     "server with a scheme",
			keys:     "    proxy_server: https://[fd00::1]\n    proxy_port: \"8443\"\n",
			want:     netconf.Proxy{URL: "https://[fd00::1]:8443"},
			warnings: []string{"proxy_server: deprecated", "proxy_port: deprecated"},
		},
		{
			name:     "empty, as the sample had them",
			keys:     "    proxy_server: \"\"\n    proxy_port: 0\n    proxy_username: \"\"\n",
			want:     netconf.Proxy{Username: ""},
			warnings: []string{"proxy_server: deprecated", "proxy_port: deprecated", "proxy_username: deprecated"},
		},
		{name: "no port", keys: "    proxy_server: proxy\n", err: "proxy_port: required with proxy_server"},
		{name: "port alone", keys: "    proxy_port: 3128\n", err: "proxy_port: needs proxy_server"},
		{name: "old and new", keys: "    proxy_server: proxy\n    proxy_port: 1\n    proxy:\n      url: http://p:1\n", err: "keep proxy only"},
		{name: "password alone", keys: "    proxy_password: ${PROXY_PW}\n", err: "proxy: username, password: only used with a proxy URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := "plugins:\n  - name: cw\n    type: aws_cloudwatch_logs\n    regions: [us-east-1]\n    log_group: g\n" + tc.keys +
				"  - {name: console, type: stdout}\nsiem_mappings:\n  - {source: cw, destination: console}\n"
			cfg, err := config.Parse([]byte(doc), "t.yaml", registry(t), res)
			if err != nil && strings.Contains(err.Error(), password) {
				t.Fatalf("the password in %v", err)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, _ := cfg.Plugin("cw")
			got := p.Options.(*cloudwatch.Config).AWS.Proxy
			if got.URL != tc.want.URL || got.Username != tc.want.Username || got.Password.Value() != tc.want.Password.Value() {
				t.Errorf("proxy %+v (password %q), want %+v", got, got.Password.Value(), tc.want)
			}
			all := strings.Join(cfg.Warnings, "\n")
			if len(cfg.Warnings) != len(tc.warnings) {
				t.Errorf("warnings:\n%s\nwant %d", all, len(tc.warnings))
			}
			for _, w := range tc.warnings {
				if !strings.Contains(all, w) {
					t.Errorf("warnings:\n%s\nlack %q", all, w)
				}
			}
			if shown := all + fmt.Sprintf("%v %+v %#v", got, got, got); strings.Contains(shown, password) {
				t.Errorf("the password shows in %s", shown)
			}
		})
	}
}
