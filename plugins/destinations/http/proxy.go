package httpdest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// Proxy is the proxy setting: "" (direct, the default), "system" (HTTPS_PROXY, HTTP_PROXY and
// NO_PROXY from the environment) or a proxy URL, http://[user:password@]host:port (https://
// and socks5:// too). Printing it (fmt, slog, JSON, YAML) shows the URL with its password
// redacted.
type Proxy string

// Proxy modes.
const (
	proxyDirect = "direct"
	proxySystem = "system"
	proxyURL    = "url"
)

func (p Proxy) String() string {
	mode, u, err := p.parse()
	switch {
	case err != nil:
		if strings.Contains(string(p), "@") {
			return "[unparsable proxy URL, redacted]"
		}
		return string(p)
	case u != nil:
		return u.Redacted()
	case mode == proxyDirect:
		return ""
	}
	return mode
}

// GoString keeps %#v from showing a password.
func (p Proxy) GoString() string { return fmt.Sprintf("httpdest.Proxy(%q)", p.String()) }

// Format makes every fmt verb print the redacted form.
func (p Proxy) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = fmt.Fprintf(f, "%q", p.String())
		return
	}
	_, _ = f.Write([]byte(p.String()))
}

// LogValue keeps slog from showing a password.
func (p Proxy) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalText keeps encoders from showing a password.
func (p Proxy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// MarshalYAML keeps YAML encoders from showing a password.
func (p Proxy) MarshalYAML() (any, error) { return p.String(), nil }

// parse returns the mode and, for proxyURL, the URL. A URL without a scheme is taken as http://.
func (p Proxy) parse() (string, *url.URL, error) {
	s := strings.TrimSpace(string(p))
	switch strings.ToLower(s) {
	case "", "none", proxyDirect:
		return proxyDirect, nil, nil
	case proxySystem:
		return proxySystem, nil, nil
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error // url.Error repeats the URL, password included: keep its reason
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", nil, fmt.Errorf("not a URL (%v)", err)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return "", nil, fmt.Errorf("scheme %q is not http, https, socks5 or socks5h", u.Scheme)
	}
	if u.Hostname() == "" {
		return "", nil, errors.New("no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", nil, errors.New("a proxy URL has no path, query or fragment")
	}
	return proxyURL, u, nil
}

// proxyFunc returns the transport's proxy function: nil for a direct connection.
func (p Proxy) proxyFunc() (func(*http.Request) (*url.URL, error), error) {
	mode, u, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	switch mode {
	case proxySystem:
		return http.ProxyFromEnvironment, nil
	case proxyURL:
		return http.ProxyURL(u), nil
	}
	return nil, nil
}
