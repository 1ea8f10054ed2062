// Package netconf is the one network configuration of every plugin that dials a server: the
// `proxy` and `tls` sections (same keys, defaults and meaning in every plugin, documented once in
// README.md), their validation, and HTTP, which turns them into the transports and clients of
// the AWS SDK, the Netskope source and the http destination. The syslog destination uses TLS
// alone.
package netconf

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/config"
)

// Proxy modes, the values of proxy.url that are not a URL.
const (
	// ProxySystem (also an empty url, the default) takes the proxy from HTTPS_PROXY, HTTP_PROXY
	// and NO_PROXY (and their lower-case forms), as Go and the AWS SDK do.
	ProxySystem = "system"
	// ProxyNone connects directly, whatever the environment says.
	ProxyNone = "none"
)

// Proxy is the `proxy` section. The file may also give the short form `proxy: <url>`, one
// scalar read as proxy.url.
type Proxy struct {
	// URL is "system" (or empty: the default), "none", or the proxy's http://, https://,
	// socks5:// or socks5h:// host:port (a URL without a scheme is taken as http://). It holds
	// no credentials: they go in Username and Password.
	URL string `yaml:"url"`
	// Username and Password authenticate to the proxy (Basic for http(s), RFC 1929 for SOCKS5).
	Username string        `yaml:"username"`
	Password config.Secret `yaml:"password"`
}

var (
	_ config.Validator = Proxy{}
	_ config.Upgrader  = (*Proxy)(nil)
	_ slog.LogValuer   = Proxy{}
	_ fmt.Stringer     = Proxy{}
)

// Mode is ProxySystem, ProxyNone or "url".
func (p Proxy) Mode() string {
	switch strings.ToLower(strings.TrimSpace(p.URL)) {
	case "", ProxySystem:
		return ProxySystem
	case ProxyNone:
		return ProxyNone
	}
	return "url"
}

// Validate implements config.Validator; each problem starts with its key below proxy.
func (p Proxy) Validate() error {
	var v config.Problems
	mode := p.Mode()
	if mode == "url" {
		if _, err := parseProxyURL(p.URL); err != nil {
			v.Addf("url: %v", err)
		}
	}
	if mode != "url" && (p.Username != "" || p.Password.IsSet()) {
		v.Addf("username, password: only used with a proxy URL (url is %q)", mode)
	}
	if p.Password.IsSet() && p.Username == "" {
		v.Addf("password: needs username")
	}
	if strings.ContainsAny(p.Username, ":\r\n") {
		v.Addf("username: must not hold ':' or a line break")
	}
	return v.Err()
}

// parseProxyURL reads a proxy URL; its messages never hold the URL's user information (a
// password may hold any character, so it is found by its '@', before url.Parse sees it).
func parseProxyURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	if _, _, has := cutUserinfo(s); has {
		return nil, errors.New("a user name or password in the URL: give them as proxy.username and proxy.password")
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the whole URL: keep only its reason (no user information is left
		// in s to show).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("not a URL (%v); want \"system\", \"none\" or http://host:port", err)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("scheme %q is not http, https, socks5 or socks5h", u.Scheme)
	}
	if u.User != nil {
		return nil, errors.New("a user name or password in the URL: give them as proxy.username and proxy.password")
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", u.String())
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q is not 1-65535", port)
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: a proxy URL has no path, query or fragment", u.String())
	}
	u.Path = ""
	return u, nil
}

// url returns the proxy URL with its credentials, for the transport; nil outside mode "url".
func (p Proxy) url() (*url.URL, error) {
	if p.Mode() != "url" {
		return nil, nil
	}
	u, err := parseProxyURL(p.URL)
	if err != nil {
		return nil, fmt.Errorf("proxy.url: %w", err)
	}
	switch {
	case p.Password.IsSet():
		u.User = url.UserPassword(p.Username, p.Password.Value())
	case p.Username != "":
		u.User = url.User(p.Username)
	}
	return u, nil
}

// Func returns the http.Transport's Proxy function: nil (direct) for "none",
// http.ProxyFromEnvironment for "system", else the configured proxy with its credentials.
func (p Proxy) Func() (func(*http.Request) (*url.URL, error), error) {
	switch p.Mode() {
	case ProxyNone:
		return nil, nil
	case ProxySystem:
		return http.ProxyFromEnvironment, nil
	}
	u, err := p.url()
	if err != nil {
		return nil, err
	}
	return http.ProxyURL(u), nil
}

// String shows the mode, or the URL with the user name; never the password.
func (p Proxy) String() string {
	if m := p.Mode(); m != "url" {
		return m
	}
	u, err := parseProxyURL(p.URL)
	if err != nil {
		return "[invalid proxy URL]"
	}
	if p.Username != "" {
		u.User = url.User(p.Username)
	}
	if p.Password.IsSet() {
		u.User = url.UserPassword(p.Username, "xxxxx")
	}
	return u.String()
}

// LogValue keeps slog lines to String's form.
func (p Proxy) LogValue() slog.Value { return slog.StringValue(p.String()) }

// UpgradeYAML implements config.Upgrader: the short form `proxy: <scalar>` becomes
// `proxy: {url: <scalar>}`. A URL with credentials in it (what awsauth and the http destination
// documented) has them moved to username and password, with a deprecation; so do "off" and
// "direct", old spellings of "none".
func (*Proxy) UpgradeYAML(n *yaml.Node) (*yaml.Node, []config.Deprecation, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return n, nil, nil
	}
	m := config.MappingNode(n.Line)
	if n.Tag == "!!null" {
		return m, nil, nil
	}
	s := strings.TrimSpace(n.Value)
	switch strings.ToLower(s) {
	case "off", "direct":
		m = config.WithKey(m, "url", config.StringNode(n.Line, ProxyNone))
		return m, []config.Deprecation{{New: []string{"url: none"}, Note: fmt.Sprintf("%q is read as none", s)}}, nil
	}
	if s == "" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		// An explicit "" meant a direct connection for the netskope source and the http
		// destination; it is the system's proxy now, as everywhere.
		m = config.WithKey(m, "url", config.StringNode(n.Line, ""))
		return m, []config.Deprecation{{New: []string{"url"}, Note: `"" is the system's proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY); write none for a direct connection`}}, nil
	}
	rest, userinfo, has := cutUserinfo(s)
	if !has {
		return config.WithKey(m, "url", config.StringNode(n.Line, n.Value)), nil, nil
	}
	user, pw, hasPW := strings.Cut(userinfo, ":")
	m = config.WithKey(m, "url", config.StringNode(n.Line, rest))
	m = config.WithKey(m, "username", config.StringNode(n.Line, unescapeUserinfo(user)))
	news := []string{"url", "username"}
	if hasPW {
		m = config.WithKey(m, "password", config.StringNode(n.Line, unescapeUserinfo(pw)))
		news = append(news, "password")
	}
	return m, []config.Deprecation{{New: news, Note: "credentials in the proxy URL"}}, nil
}

// cutUserinfo takes the user information out of a proxy URL written with or without its
// scheme: what stands between the scheme (if any) and the last '@'. A password may hold '/',
// '?', '#', '@' or '%', so the URL's grammar cannot be trusted to find it; a proxy URL's host
// and port hold no '@'.
func cutUserinfo(s string) (rest, userinfo string, has bool) {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s, "", false
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 && i < at {
		start = i + len("://")
	}
	return s[:start] + s[at+1:], s[start:at], true
}

// unescapeUserinfo decodes a URL's percent-escapes in a user name or password; text that is
// not validly escaped is taken as written.
func unescapeUserinfo(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
