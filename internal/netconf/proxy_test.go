package netconf_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
)

const secretPW = "pr0xy-s3cret"

func TestProxyValidate(t *testing.T) {
	pw := config.NewSecret(secretPW)
	tests := []struct {
		name string
		p    netconf.Proxy
		want []string // substrings of the problems; none: valid
	}{
		{"default", netconf.Proxy{}, nil},
		{"system", netconf.Proxy{URL: "system"}, nil},
		{"none, any case", netconf.Proxy{URL: "NONE"}, nil},
		{"http", netconf.Proxy{URL: "http://proxy.corp:3128"}, nil},
		{"https with credentials", netconf.Proxy{URL: "https://proxy.corp:443", Username: "u", Password: pw}, nil},
		{"socks5", netconf.Proxy{URL: "socks5://10.0.0.1:1080", Username: "u"}, nil},
		{"no scheme", netconf.Proxy{URL: "proxy.corp:3128"}, nil},
		{"ipv6", netconf.Proxy{URL: "http://[fd00::1]:3128"}, nil},
		{"credentials in the url", netconf.Proxy{URL: "http://u:" + secretPW + "@proxy:3128"}, []string{"url: a user name or password in the URL: give them as proxy.username and proxy.password"}},
		{"scheme", netconf.Proxy{URL: "ftp://proxy:21"}, []string{`url: scheme "ftp" is not http, https, socks5 or socks5h`}},
		{"port", netconf.Proxy{URL: "http://proxy:99999"}, []string{"url:", "not 1-65535"}},
		{"no host", netconf.Proxy{URL: "http://:3128"}, []string{"url:", "no host"}},
		{"path", netconf.Proxy{URL: "http://proxy:3128/x"}, []string{"url:", "no path, query or fragment"}},
		{"bad escape in a password", netconf.Proxy{URL: "http://u:" + secretPW + "%zz@proxy:3128"}, []string{"url: a user name or password in the URL"}},
		{"URL syntax in a password", netconf.Proxy{URL: "http://u:" + secretPW + "?/#@proxy:3128"}, []string{"url: a user name or password in the URL"}},
		{"bad escape", netconf.Proxy{URL: "http://proxy%zz:3128"}, []string{"url: not a URL"}},
		{"password alone", netconf.Proxy{URL: "http://proxy:3128", Password: pw}, []string{"password: needs username"}},
		{"credentials without a url", netconf.Proxy{Username: "u", Password: pw}, []string{`username, password: only used with a proxy URL (url is "system")`}},
		{"username with a colon", netconf.Proxy{URL: "http://p:1", Username: "a:b"}, []string{"username: must not hold ':'"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secretPW) {
				t.Errorf("the password in %q", err)
			}
		})
	}
}

func TestProxyFunc(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://tenant.example/x", nil)
	f, err := netconf.Proxy{URL: "none"}.Func()
	if err != nil || f != nil {
		t.Fatalf("none: a proxy function (%v)", err)
	}
	f, err = netconf.Proxy{}.Func()
	if err != nil || reflect.ValueOf(f).Pointer() != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
		t.Fatalf("default: not http.ProxyFromEnvironment (%v)", err)
	}
	f, err = netconf.Proxy{URL: "proxy.corp:3128", Username: "shipper", Password: config.NewSecret("p@ss:w/rd")}.Func()
	if err != nil {
		t.Fatal(err)
	}
	u, err := f(req)
	if err != nil || u.Scheme != "http" || u.Host != "proxy.corp:3128" || u.User.Username() != "shipper" {
		t.Fatalf("proxy %v, %v", u, err)
	}
	if pw, _ := u.User.Password(); pw != "p@ss:w/rd" {
		t.Fatalf("password %q", pw)
	}
	if _, err := (netconf.Proxy{URL: "ftp://x"}).Func(); err == nil || !strings.HasPrefix(err.Error(), "proxy.url:") {
		t.Fatalf("a bad URL: %v", err)
	}
}

// The password shows in no fmt verb, no slog line (text or JSON), no String.
func TestProxyPasswordNeverShown(t *testing.T) {
	type plugin struct {
		Proxy netconf.Proxy `yaml:"proxy"`
	}
	p := netconf.Proxy{URL: "http://proxy.corp:3128", Username: "shipper", Password: config.NewSecret(secretPW)}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "proxy", p, "cfg", plugin{p})
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "proxy", p, "cfg", plugin{p})
	outs := []string{logs.String(), p.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, p), fmt.Sprintf(verb, plugin{p}), fmt.Sprintf(verb, &plugin{p}))
	}
	for _, out := range outs {
		if strings.Contains(out, secretPW) {
			t.Fatalf("the password in %q", out)
		}
	}
	if got := p.String(); got != "http://shipper:xxxxx@proxy.corp:3128" {
		t.Errorf("String() = %q", got)
	}
	if !strings.Contains(logs.String(), "proxy=http://shipper:xxxxx@proxy.corp:3128") {
		t.Errorf("slog line: %s", logs.String())
	}
}
