package netconf

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Timeouts and pool sizes of the transports HTTP builds; a plugin may change its transport's
// after Transport returns it.
const (
	DialTimeout         = 10 * time.Second
	KeepAlive           = 30 * time.Second
	TLSHandshakeTimeout = 10 * time.Second
	IdleConnTimeout     = 90 * time.Second
	MaxIdleConnsPerHost = 32
)

// HTTP is a plugin's proxy and TLS, read and checked once (files loaded, the
// insecure_skip_verify warning logged), ready to configure HTTP transports. Every HTTP client
// of the project is built through it.
type HTTP struct {
	proxy func(*http.Request) (*url.URL, error)
	tls   *tls.Config
}

// NewHTTP reads p and t. log is the plugin's logger (for the insecure_skip_verify warning);
// peer names the server in that warning.
func NewHTTP(p Proxy, t TLS, log *slog.Logger, peer string) (*HTTP, error) {
	pf, err := p.Func()
	if err != nil {
		return nil, err
	}
	tc, err := t.ClientConfig(log, peer)
	if err != nil {
		return nil, err
	}
	return &HTTP{proxy: pf, tls: tc}, nil
}

// ProxyFunc is the transport's Proxy function (nil: direct).
func (h *HTTP) ProxyFunc() func(*http.Request) (*url.URL, error) { return h.proxy }

// Configure sets tr's proxy and TLS configuration (a copy, so transports do not share one), for
// a transport built elsewhere (the AWS SDK's).
func (h *HTTP) Configure(tr *http.Transport) {
	tr.Proxy = h.proxy
	tr.TLSClientConfig = h.tls.Clone()
}

// Transport returns a new transport with the proxy, the TLS configuration, and the timeouts
// and pool sizes above.
func (h *HTTP) Transport() *http.Transport {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: DialTimeout, KeepAlive: KeepAlive}).DialContext,
		TLSHandshakeTimeout:   TLSHandshakeTimeout,
		IdleConnTimeout:       IdleConnTimeout,
		MaxIdleConnsPerHost:   MaxIdleConnsPerHost,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	h.Configure(tr)
	return tr
}

// Client returns a client over tr (from Transport, maybe adjusted) whose requests end after
// timeout (0: no bound but the request's context) and that follows no redirect: a redirect
// would carry a token elsewhere, or turn a POST into a GET answered 200; the caller sees the
// 3xx.
func Client(tr http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
