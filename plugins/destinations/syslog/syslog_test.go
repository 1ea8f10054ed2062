package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
)

func newDest(t *testing.T, cfg *Config, opts ...Option) *Destination {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := New(cfg, plugintest.Settings(t, "siem", nil), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

// The conformance suite, with JSON messages (the raw record) over octet-counted TCP.
func TestDestinationSuite(t *testing.T) {
	var srv *server
	plugintest.RunDestinationSuite(t, plugintest.DestinationHarness{
		New: func(t *testing.T) plugin.Destination {
			srv = newServer(t, false, 0)
			cfg := testConfig(srv.addr())
			cfg.Format = FormatJSON
			cfg.MaxMessageBytes = 1 << 20
			d, err := New(cfg, plugintest.Settings(t, "siem", nil))
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Delivered: func(t *testing.T) []string {
			var out []string
			for _, m := range srv.messages() {
				out = append(out, msgOf(t, m))
			}
			return out
		},
		Key: plugintest.RawKey,
	})
}

func records(n int, prefix string) []*event.Record {
	recs := make([]*event.Record, n)
	for i := range recs {
		recs[i] = plugintest.NewRecord(fmt.Sprintf("%s-%d", prefix, i), map[string]any{"pad": strings.Repeat("x", 100)})
	}
	return recs
}

// Both framings carry every message whole.
func TestFraming(t *testing.T) {
	for _, framing := range []string{FramingOctetCounting, FramingNewline} {
		t.Run(framing, func(t *testing.T) {
			srv := newServer(t, framing == FramingNewline, 0)
			cfg := testConfig(srv.addr())
			cfg.Framing = framing
			d := newDest(t, cfg)
			// CEF of an unknown record: the raw JSON in msg, escaped; JSON with a line break
			// inside is compacted for newline framing.
			recs := []*event.Record{{Raw: []byte(`{"a":"x\ny","b":"p=q"}`)}, {Raw: []byte("{\n\"a\": 1\n}")}}
			if err := d.Write(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return len(srv.messages()) == 2 })
			m, err := parseCEF(msgOf(t, srv.messages()[0]))
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := m.get("msg"); v != `{"a":"x\ny","b":"p=q"}` {
				t.Errorf("msg = %q", v)
			}
			if m, _ := parseCEF(msgOf(t, srv.messages()[1])); func() string { v, _ := m.get("msg"); return v }() != "{\n\"a\": 1\n}" {
				t.Errorf("second message %q", srv.messages()[1])
			}
		})
	}
}

// The receiver resets the connection in the middle of a batch: the batch is sent again on a
// new connection, so every message arrives at least once.
func TestReconnectAndResend(t *testing.T) {
	srv := newServer(t, false, 5)
	cfg := testConfig(srv.addr())
	cfg.Format = FormatJSON
	// The first connection breaks after 3 KiB of the batch has gone out (the server resets it
	// after reading 5 messages, and the write that follows fails): a deterministic break
	// regardless of socket buffer sizes.
	var dials atomic.Int32
	base := newDialer(cfg, nil)
	d := newDest(t, cfg, withDialer(func(ctx context.Context) (net.Conn, error) {
		c, err := base(ctx)
		if err != nil || dials.Add(1) > 1 {
			return c, err
		}
		return &breakingConn{Conn: c, after: 3 << 10}, nil
	}))
	batch1, batch2 := records(40, "a"), records(40, "b")
	if err := d.Write(context.Background(), batch1); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(context.Background(), batch2); err != nil {
		t.Fatal(err)
	}
	_ = d.Close(context.Background())
	want := append(append([]*event.Record{}, batch1...), batch2...)
	waitFor(t, func() bool { return allArrived(t, srv, want) })
	if dials.Load() < 2 {
		t.Errorf("dialled %d times, want a reconnect", dials.Load())
	}
}

func allArrived(t *testing.T, srv *server, want []*event.Record) bool {
	got := map[string]int{}
	for _, m := range srv.messages() {
		got[msgOf(t, m)]++
	}
	for _, r := range want {
		if got[string(r.Raw)] == 0 {
			return false
		}
	}
	return true
}

// breakingConn fails every write once after bytes have been written, as a connection the
// peer reset does.
type breakingConn struct {
	net.Conn
	after   int
	written int
}

func (c *breakingConn) Write(p []byte) (int, error) {
	if c.written+len(p) <= c.after {
		c.written += len(p)
		return c.Conn.Write(p)
	}
	n, _ := c.Conn.Write(p[:c.after-c.written])
	c.written = c.after
	_ = c.Conn.Close()
	return n, errors.New("connection reset by peer (test)")
}

// A receiver that closed an idle connection: the next batch goes on a new one, whole.
func TestIdleConnectionClosedByReceiver(t *testing.T) {
	srv := newServer(t, false, 3)
	cfg := testConfig(srv.addr())
	cfg.Format = FormatJSON
	d := newDest(t, cfg)
	first := records(3, "a")
	if err := d.Write(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(srv.messages()) >= 3 })
	time.Sleep(50 * time.Millisecond) // let the reset reach the client's socket
	second := records(10, "b")
	if err := d.Write(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return allArrived(t, srv, append(first, second...)) })
	if srv.connections() != 2 {
		t.Errorf("%d connections, want 2", srv.connections())
	}
}

// With nobody listening, Write gives the batch back to the engine (a plain error: retried).
func TestNoReceiverIsRetryable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	_ = ln.Close()
	cfg := testConfig(addr)
	cfg.Reconnects = 1
	d := newDest(t, cfg)
	err := d.Write(context.Background(), records(2, "a"))
	var re *plugin.RefusedError
	if err == nil || plugin.IsFatal(err) || errors.As(err, &re) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

// A record larger than max_message_bytes is refused (dead-lettered) or truncated (counted).
func TestOversize(t *testing.T) {
	srv := newServer(t, false, 0)
	big := plugintest.NewRecord("big", map[string]any{"pad": strings.Repeat("y", 4000)})
	small := plugintest.NewRecord("small", nil)
	cfg := testConfig(srv.addr())
	cfg.Format = FormatJSON
	cfg.MaxMessageBytes = 1024
	d := newDest(t, cfg)
	err := d.Write(context.Background(), []*event.Record{small, big})
	var be *plugin.BatchError
	var re *plugin.RefusedError
	if !errors.As(err, &be) || len(be.Failed) != 1 || !errors.As(be.Failed[1], &re) || re.Code != "too_large" {
		t.Fatalf("err = %v, want record 1 refused as too_large", err)
	}
	cfg2 := *cfg
	cfg2.Oversize = OversizeTruncate
	d2 := newDest(t, &cfg2)
	if err := d2.Write(context.Background(), []*event.Record{big}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(srv.messages()) == 2 })
	n := max(len(srv.messages()[0]), len(srv.messages()[1])) // two connections: either order
	if n != 1024 {
		t.Errorf("truncated message is %d bytes, want 1024", n)
	}
}

// UDP: one datagram per message, no framing.
func TestUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := testConfig(pc.LocalAddr().String())
	cfg.Protocol = ProtoUDP
	cfg.Format = FormatJSON
	d := newDest(t, cfg)
	recs := records(3, "u")
	if err := d.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range recs {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := msgOf(t, string(buf[:n])); got != string(recs[i].Raw) {
			t.Errorf("datagram %d = %q", i, got)
		}
	}
}

// TLS: delivered with a trusted CA; a certificate that does not verify is Fatal, with advice.
func TestTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS() // for its certificate only
	defer ts.Close()
	cert := ts.TLS.Certificates[0]
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{ln: ln}
	srv.wg.Add(1)
	go srv.accept()
	t.Cleanup(func() { _ = ln.Close(); srv.wg.Wait() })

	cfg := testConfig(srv.addr())
	cfg.Protocol = ProtoTLS
	cfg.Format = FormatJSON
	d := newDest(t, cfg)
	err = d.Write(context.Background(), records(1, "t"))
	if !plugin.IsFatal(err) || !strings.Contains(err.Error(), "tls.ca_file") {
		t.Fatalf("untrusted certificate: err = %v, want Fatal naming tls.ca_file", err)
	}

	caFile := t.TempDir() + "/ca.pem"
	writePEM(t, caFile, ts.Certificate().Raw)
	cfg2 := testConfig(srv.addr())
	cfg2.Protocol = ProtoTLS
	cfg2.Format = FormatJSON
	cfg2.TLS = netconf.TLS{CAFile: caFile, ServerName: "example.com"}
	d2 := newDest(t, cfg2)
	recs := records(5, "t")
	if err := d2.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := d2.Write(context.Background(), recs); err != nil { // on the pooled connection
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(srv.messages()) == 10 })
}

func TestConfigValidate(t *testing.T) {
	c := NewConfig().(*Config)
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "address") {
		t.Fatalf("empty address: %v", err)
	}
	c = testConfig("h:1")
	c.Protocol, c.Format, c.Facility, c.LEEFDelimiter, c.MaxMessageBytes = "sctp", "xml", "local9", "||", 10
	err = c.Validate()
	for _, want := range []string{"protocol", "format", "facility", "leef_delimiter", "max_message_bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate does not report %s: %v", want, err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(plugintest.DefaultTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
