package netconf

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CleartextWarning is the configuration warning for secrets (what names them: "api_token") sent
// to u over plain http to a host that is not this machine; "" when u is https, or its host is
// a loopback address or localhost (cloudsim, a local collector).
func CleartextWarning(u *url.URL, what string) string {
	if u == nil || u.Scheme != "http" || IsLoopbackHost(u.Hostname()) {
		return ""
	}
	return fmt.Sprintf("%s is sent over plain http to %s: anyone on the network path can read it; use https", what, u.Host)
}

// IsLoopbackHost reports whether host (a name or an address, without port) is this machine.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Warnings implements config.Warner: turning certificate verification off is valid, and unsafe.
func (t TLS) Warnings() []string {
	if !t.InsecureSkipVerify {
		return nil
	}
	return []string{"insecure_skip_verify: TLS certificate verification is off: anyone on the network path " +
		"can read and change the traffic, credentials included; trust a private CA with tls.ca_file instead"}
}
