// Package syslog is the syslog destination: it encodes records as CEF, LEEF 2.0 or JSON under
// an RFC 5424 or RFC 3164 header and sends them to a SIEM over UDP, TCP (octet-counted or
// newline-framed) or TLS, reconnecting and sending a batch again when a connection breaks.
package syslog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/mapping"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
)

// Type is the plugin type name.
const Type = "syslog"

// Factory registers the destination.
func Factory() plugin.Factory {
	return plugin.Factory{
		Type:      Type,
		Kind:      plugin.KindDestination,
		Summary:   "sends records as CEF, LEEF or JSON over syslog (UDP, TCP, TLS) to a SIEM",
		NewConfig: NewConfig,
		NewDestination: func(c plugin.Config, set plugin.Settings) (plugin.Destination, error) {
			return New(c.(*Config), set)
		},
		// A receiver never answers, so a batch is only one write on a connection and the unit
		// sent again after a broken one: larger batches spread the per-batch work (a pooled
		// connection, its checks before and after) over more records.
		//
		// One worker: records are acknowledged as they are written (ack_every), and a source
		// saves its position only up to its first record not yet acknowledged, so a second
		// connection writing ahead of the first holds its records unsaved; a kill -9 then
		// sends them again. One connection streams in order at the speed of the receiver.
		Delivery: plugin.DeliveryDefaults{BatchMaxRecords: 2000, Workers: 1},
	}
}

// Option changes a Destination at construction.
type Option func(*Destination)

// WithEnricher replaces the CloudTrail Enricher (CloudTrailEnricher by default); nil turns it off.
func WithEnricher(e Enricher) Option { return func(d *Destination) { d.enc.enricher = e } }

// withDialer replaces how connections are made (tests inject broken connections).
func withDialer(f dialer) Option { return func(d *Destination) { d.dial = f } }

// Destination sends records to one syslog receiver. Write may be called concurrently: each
// call takes an idle connection from a small pool, or opens one.
type Destination struct {
	cfg  *Config
	set  plugin.Settings
	enc  *encoder
	dial dialer
	max  int

	idle chan net.Conn

	mu     sync.Mutex
	closed bool

	bufs sync.Pool
}

var (
	_ plugin.Destination = (*Destination)(nil)
	// The engine's pipeline.ProgressWriter: records are acknowledged as they are written.
	_ interface {
		WriteProgress(ctx context.Context, recs []*event.Record, delivered func(from, to int)) error
	} = (*Destination)(nil)
)

// New builds the destination. It does not connect: the first Write does.
func New(cfg *Config, set plugin.Settings, opts ...Option) (*Destination, error) {
	var user *mapping.Set
	if cfg.Mapping != "" {
		var err error
		if user, err = mapping.LoadFile(cfg.Mapping); err != nil {
			return nil, fmt.Errorf("syslog mapping: %w", err)
		}
	}
	tlsCfg, err := buildTLS(cfg, set.Logger)
	if err != nil {
		return nil, fmt.Errorf("syslog %s: %w", cfg.Address, err)
	}
	host := cfg.Hostname
	if host == "" {
		if host, err = os.Hostname(); err != nil || host == "" {
			host = "-"
		}
	}
	d := &Destination{
		cfg:  cfg,
		set:  set,
		enc:  newEncoder(cfg, host, user, CloudTrailEnricher),
		dial: newDialer(cfg, tlsCfg),
		max:  cfg.maxMessage(),
		idle: make(chan net.Conn, 16),
	}
	d.bufs.New = func() any { return new(batchBuf) }
	for _, o := range opts {
		o(d)
	}
	return d, nil
}

// batchBuf holds one Write's messages, framed, end to end; ends[i] is where message i ends
// and recs[i] the index of its record. sent is how many messages are written and reported.
type batchBuf struct {
	out  []byte
	msg  []byte
	ends []int
	recs []int
	sent int
}

// Write implements plugin.Destination. Records that cannot be encoded are reported in a
// *plugin.BatchError (Skipped: unmapped; Refused: not JSON, too large); the others are sent in
// order. A stream connection that breaks is replaced and the whole batch sent again, up to
// reconnects times; after that the error goes back to the engine, which retries the batch.
// Either way a message may reach the receiver twice, never zero times.
func (d *Destination) Write(ctx context.Context, recs []*event.Record) error {
	return d.WriteProgress(ctx, recs, nil)
}

// WriteProgress is Write that reports, every ack_every messages written, the records they
// carry as delivered (delivered(from, to): recs[from:to], never one that failed to encode),
// so that the engine acknowledges them before the batch ends. A message reported is not sent
// again after a broken connection; the reconnection sends the rest.
func (d *Destination) WriteProgress(ctx context.Context, recs []*event.Record, delivered func(from, to int)) error {
	if len(recs) == 0 {
		return nil
	}
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return errors.New("syslog: write after close")
	}
	b := d.bufs.Get().(*batchBuf)
	defer d.bufs.Put(b)
	b.out, b.ends, b.recs, b.sent = b.out[:0], b.ends[:0], b.recs[:0], 0
	var failed map[int]error
	truncated := 0
	for i, r := range recs {
		msg, err := d.enc.message(b.msg[:0], r)
		b.msg = msg
		if err == nil && len(msg) > d.max && d.cfg.Oversize != OversizeTruncate {
			err = plugin.Refused("too_large", fmt.Errorf("the syslog message is %d bytes, more than max_message_bytes (%d)", len(msg), d.max))
		}
		if err != nil {
			if failed == nil {
				failed = map[int]error{}
			}
			failed[i] = err
			continue
		}
		if len(msg) > d.max {
			msg = truncate(msg, d.max)
			truncated++
		}
		b.out = d.frame(b.out, msg)
		b.ends = append(b.ends, len(b.out))
		b.recs = append(b.recs, i)
	}
	if truncated > 0 {
		d.set.Metrics.Dropped("truncated", truncated)
		d.set.Logger.Warn("syslog messages cut to max_message_bytes", "messages", truncated, "max_message_bytes", d.max)
	}
	if len(b.ends) > 0 {
		if err := d.send(ctx, b, delivered); err != nil {
			return err
		}
	}
	if failed != nil {
		d.logFailed(failed)
		return &plugin.BatchError{Failed: failed}
	}
	return nil
}

// frame appends msg with the stream framing (none for UDP).
func (d *Destination) frame(dst, msg []byte) []byte {
	if d.cfg.Protocol == ProtoUDP {
		return append(dst, msg...)
	}
	if d.cfg.framing() == FramingNewline {
		return append(append(dst, msg...), '\n')
	}
	dst = strconv.AppendInt(dst, int64(len(msg)), 10)
	dst = append(dst, ' ')
	return append(dst, msg...)
}

func (d *Destination) logFailed(failed map[int]error) {
	counts := map[string]int{}
	var example error
	for _, err := range failed {
		var se *plugin.SkippedError
		var re *plugin.RefusedError
		switch {
		case errors.As(err, &se):
			counts[string(se.Reason)]++
		case errors.As(err, &re):
			counts["refused:"+re.Code]++
			example = err
		}
	}
	for what, n := range counts {
		d.set.Logger.Info("records not sent to syslog", "why", what, "records", n)
	}
	if example != nil {
		d.set.Logger.Warn("a record could not be encoded for syslog", "error", example)
	}
}

// send delivers a batch, reconnecting on failure: a new connection sends the messages not yet
// reported.
func (d *Destination) send(ctx context.Context, b *batchBuf, delivered func(from, to int)) error {
	var last error
	for attempt := 0; attempt <= d.cfg.Reconnects; attempt++ {
		if attempt > 0 {
			delay := retry.Backoff{Initial: redialInitial, Max: redialMax}.Delay(attempt-1, 0)
			d.set.Logger.Warn("syslog connection failed; reconnecting to send the batch again", "address", d.cfg.Address, "attempt", attempt, "retry_in", delay.Round(time.Millisecond), "messages", len(b.ends)-b.sent, "error", last)
			if !retry.Sleep(ctx, delay) {
				return fmt.Errorf("syslog %s: %w (after %v)", d.cfg.Address, ctx.Err(), last)
			}
		}
		conn, err := d.get(ctx)
		if err != nil {
			if plugin.IsFatal(err) {
				return err
			}
			last = fmt.Errorf("connect: %w", err)
			continue
		}
		if err = d.writeAll(ctx, conn, b, delivered); err != nil {
			_ = conn.Close()
			last = err
			continue
		}
		d.put(conn)
		return nil
	}
	return fmt.Errorf("syslog %s: %d messages not sent: %w", d.cfg.Address, len(b.ends)-b.sent, last)
}

// report tells delivered that messages b.sent to upto are written, as runs of consecutive
// records (a record that failed to encode has no message and splits a run).
func (b *batchBuf) report(upto int, delivered func(from, to int)) {
	if delivered != nil {
		for i := b.sent; i < upto; {
			j := i + 1
			for j < upto && b.recs[j] == b.recs[j-1]+1 {
				j++
			}
			delivered(b.recs[i], b.recs[j-1]+1)
			i = j
		}
	}
	b.sent = upto
}

// writeAll writes the messages of the batch not yet reported on one connection, ack_every at
// a time (all at once with ack_every 0), and reports each group once written; for a stream it
// checks, before reporting, that the connection is still open.
func (d *Destination) writeAll(ctx context.Context, conn net.Conn, b *batchBuf, delivered func(from, to int)) error {
	deadline := time.Now().Add(d.cfg.WriteTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	every := d.cfg.AckEvery
	if every <= 0 || delivered == nil {
		every = len(b.ends)
	}
	for b.sent < len(b.ends) {
		upto := min(b.sent+every, len(b.ends))
		start := 0
		if b.sent > 0 {
			start = b.ends[b.sent-1]
		}
		if d.cfg.Protocol == ProtoUDP {
			for _, end := range b.ends[b.sent:upto] {
				if _, err := conn.Write(b.out[start:end]); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
					// A refused datagram (ICMP port unreachable) is lost as any datagram may be;
					// anything else (no route, no buffer) is worth sending again.
					return fmt.Errorf("write datagram: %w", err)
				}
				start = end
			}
			b.report(upto, delivered)
			continue
		}
		if _, err := conn.Write(b.out[start:b.ends[upto-1]]); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("write: %w", ctx.Err())
			}
			return fmt.Errorf("write: %w", err)
		}
		if !alive(conn) {
			return errors.New("the receiver closed the connection during the batch")
		}
		b.report(upto, delivered)
	}
	return nil
}

// get returns an idle connection that is still open, or a new one.
func (d *Destination) get(ctx context.Context) (net.Conn, error) {
	for {
		select {
		case c := <-d.idle:
			if d.cfg.Protocol == ProtoUDP || alive(c) {
				return c, nil
			}
			_ = c.Close()
			d.set.Logger.Info("syslog receiver closed an idle connection; reconnecting", "address", d.cfg.Address)
		default:
			return d.dial(ctx)
		}
	}
}

// put returns a healthy connection to the pool (or closes it).
func (d *Destination) put(c net.Conn) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = c.Close()
		return
	}
	select {
	case d.idle <- c:
	default:
		_ = c.Close()
	}
}

// Close implements plugin.Destination: idle connections are closed; every Write has already
// written its batch before returning, so nothing is buffered here.
func (d *Destination) Close(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for {
		select {
		case c := <-d.idle:
			if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		default:
			return errors.Join(errs...)
		}
	}
}

// The wait before each reconnection: 100 ms doubling to 5 s, with jitter (retry.Backoff).
const (
	redialInitial = 100 * time.Millisecond
	redialMax     = 5 * time.Second
)

// Preview returns the message Write would send for r (header and MSG, without framing).
func (d *Destination) Preview(r *event.Record) (string, error) {
	msg, err := d.enc.message(nil, r)
	if err != nil {
		return "", err
	}
	return string(msg), nil
}
