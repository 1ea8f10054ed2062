package syslog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/logshipper/logshipper/internal/plugin"
)

// dialer opens connections to the receiver.
type dialer func(ctx context.Context) (net.Conn, error)

func newDialer(cfg *Config, tlsCfg *tls.Config) dialer {
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: cfg.KeepAlive}
	switch cfg.Protocol {
	case ProtoUDP:
		return func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "udp", cfg.Address) }
	case ProtoTLS:
		td := &tls.Dialer{NetDialer: d, Config: tlsCfg}
		return func(ctx context.Context) (net.Conn, error) {
			c, err := td.DialContext(ctx, "tcp", cfg.Address)
			if err != nil && isCertError(err) {
				return nil, plugin.Fatal(fmt.Errorf("syslog %s: the server certificate does not verify (%w): set tls.ca_file to the CA that signed it, or tls.server_name to a name it carries", cfg.Address, err))
			}
			return c, err
		}
	}
	return func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", cfg.Address) }
}

func isCertError(err error) bool {
	var (
		ua *x509.UnknownAuthorityError
		hn x509.HostnameError
		ci x509.CertificateInvalidError
		cv *tls.CertificateVerificationError
	)
	return errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &cv)
}

// buildTLS builds the TLS configuration of protocol tls through netconf (which warns on log
// when insecure_skip_verify is on); server_name defaults to the host of the address.
func buildTLS(cfg *Config, log *slog.Logger) (*tls.Config, error) {
	if cfg.Protocol != ProtoTLS {
		return nil, nil
	}
	t, err := cfg.TLS.ClientConfig(log, "syslog "+cfg.Address)
	if err != nil {
		return nil, err
	}
	if t.ServerName == "" {
		host, _, _ := net.SplitHostPort(cfg.Address)
		t.ServerName = host
	}
	return t, nil
}

// alive reports whether a stream connection still looks open. A syslog receiver never sends
// anything, so end of file or an error from a read that would block means the peer closed or
// reset it. A TCP write into a connection the peer has already closed succeeds (the kernel
// takes the bytes) and the data is then lost; checking before a batch and after it turns that
// loss into a resend.
func alive(c net.Conn) bool {
	raw := c
	tc, isTLS := c.(*tls.Conn)
	if isTLS {
		raw = tc.NetConn()
	}
	sc, ok := raw.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	state := peek(rc)
	switch {
	case state == peekNothing:
		return true
	case state == peekData && isTLS:
		// TLS 1.3 session tickets, or a close_notify alert: let crypto/tls read them.
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		_, err := c.Read(b[:])
		_ = c.SetReadDeadline(time.Time{})
		var ne net.Error
		return err == nil || errors.As(err, &ne) && ne.Timeout()
	case state == peekData:
		return true // unexpected bytes from the receiver; the connection is open
	}
	return false
}

type peekState int

const (
	peekNothing peekState = iota
	peekData
	peekClosed
)

// peek looks at the socket without blocking and without taking anything out of it.
func peek(rc syscall.RawConn) peekState {
	state := peekNothing
	var b [1]byte
	err := rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
			state = peekNothing
		case err != nil:
			state = peekClosed
		case n == 0:
			state = peekClosed // orderly shutdown by the peer
		default:
			state = peekData
		}
		return true // never wait for readiness
	})
	if err != nil {
		return peekClosed
	}
	return state
}
