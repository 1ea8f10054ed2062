// Package httpdest is the `http` destination: it sends records as JSON batches (NDJSON or a
// JSON array), gzip-compressed by default, to an HTTP endpoint, or as events to Splunk's HTTP
// Event Collector (mode splunk_hec), and tells the engine from each answer whether to retry,
// dead-letter or stop.
//
// Records are sent as their Raw bytes, never decoded and encoded again.
package httpdest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Type is the plugin type name.
const Type = "http"

// gzipLevel trades CPU for size. BestSpeed compresses CloudTrail NDJSON 6.7:1 at 5 µs a
// record; the default level reaches 9.4:1 at 12 µs (BenchmarkEncode): not worth the CPU on the
// hot path.
const gzipLevel = gzip.BestSpeed

// maxAnswer is how much of an answer is read; the rest is drained (up to drainAnswer) so the
// connection can be reused.
const (
	maxAnswer   = 64 << 10
	drainAnswer = 1 << 20
)

// Factory registers the destination.
func Factory() plugin.Factory {
	return plugin.Factory{
		Type:      Type,
		Kind:      plugin.KindDestination,
		Summary:   "sends JSON batches (NDJSON or array, gzip) to an HTTP endpoint or Splunk HEC",
		Checks:    true,
		NewConfig: NewConfig,
		NewDestination: func(c plugin.Config, set plugin.Settings) (plugin.Destination, error) {
			return New(c.(*Config), set)
		},
		// A batch is one request (more when its encoding passes max_body_bytes, which also
		// lowers batch.max_bytes): 1,000 records leave the body limit to cut it. Four requests
		// in flight keep a collector busy across a round trip between clouds.
		Delivery: plugin.DeliveryDefaults{BatchMaxRecords: 1000, Workers: 4, QueueSize: 5000},
	}
}

// Destination sends batches to one URL. It is safe for concurrent use.
type Destination struct {
	cfg       *Config
	log       *slog.Logger
	client    *http.Client
	transport *http.Transport
	url       string // where batches go
	safeURL   string // url without credentials or query, for messages
	header    http.Header
	enc       *encoder
	class     classifier
	maxBody   int
	closed    atomic.Bool
	bodies    sync.Pool // *body
}

var (
	_ plugin.Destination = (*Destination)(nil)
	_ plugin.Limited     = (*Destination)(nil)
	_ plugin.Checker     = (*Destination)(nil)
)

// New builds the destination from a validated configuration.
func New(cfg *Config, set plugin.Settings) (*Destination, error) {
	log := set.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if cfg.Mode == ModeSplunkHEC {
		if u, err = hecURL(cfg.URL); err != nil {
			return nil, fmt.Errorf("url: %w", err)
		}
	}
	nc, err := netconf.NewHTTP(cfg.Proxy, cfg.TLS, log, redactURL(u))
	if err != nil {
		return nil, err
	}
	tr := nc.Transport()
	tr.MaxIdleConnsPerHost = 64
	d := &Destination{
		cfg: cfg, log: log, transport: tr,
		// No redirect is followed: a 301/302 would turn the POST into a GET answered 200,
		// records reported delivered that went nowhere; classify makes it a clear error.
		client:  netconf.Client(tr, cfg.Timeout),
		url:     u.String(),
		safeURL: redactURL(u),
		enc:     newEncoder(cfg),
		maxBody: int(cfg.MaxBodyBytes),
	}
	d.class = classifier{hec: cfg.Mode == ModeSplunkHEC, url: d.safeURL}
	if len(cfg.SuccessCodes) > 0 {
		d.class.success = map[int]bool{}
		for _, c := range cfg.SuccessCodes {
			d.class.success[c] = true
		}
	}
	d.header = d.buildHeader()
	d.bodies.New = func() any { return &body{} }
	log.Info("http destination ready", "url", d.safeURL, "mode", cfg.Mode, "format", cfg.Format,
		"compression", cfg.Compression, "max_body_bytes", d.maxBody, "proxy", cfg.Proxy, "headers", headerNames(cfg.Headers))
	return d, nil
}

// buildHeader is the header every request carries.
func (d *Destination) buildHeader() http.Header {
	c := d.cfg
	h := http.Header{}
	switch {
	case c.Mode == ModeSplunkHEC, c.Format == FormatJSONArray:
		h.Set("Content-Type", "application/json")
	default:
		h.Set("Content-Type", "application/x-ndjson")
	}
	h.Set("User-Agent", "logshipper")
	for k, v := range c.Headers {
		h.Set(k, v.Value())
	}
	if c.Compression == CompressionGzip {
		h.Set("Content-Encoding", "gzip")
	}
	switch {
	case c.Token.IsSet():
		h.Set("Authorization", c.authScheme()+" "+c.Token.Value())
	case c.Username != "":
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password.Value())))
	}
	if c.Mode == ModeSplunkHEC && c.Channel != "" {
		h.Set("X-Splunk-Request-Channel", c.Channel)
	}
	return h
}

// BatchLimits implements plugin.Limited: a batch's records, with their framing, fit in
// max_body_bytes. Write still cuts a batch whose encoding grew (HEC's event envelope) into
// several requests.
func (d *Destination) BatchLimits() plugin.BatchLimits {
	return plugin.BatchLimits{MaxBytes: max(1, d.maxBody-d.maxBody/16)}
}

// body is one request body being built.
type body struct {
	buf     bytes.Buffer
	gz      *gzip.Writer
	w       io.Writer
	raw     int   // bytes before compression
	idx     []int // indexes of the records in it
	scratch []byte
}

func (d *Destination) getBody() *body {
	b := d.bodies.Get().(*body)
	b.buf.Reset()
	b.raw, b.idx = 0, b.idx[:0]
	b.w = &b.buf
	if d.cfg.Compression == CompressionGzip {
		if b.gz == nil {
			b.gz, _ = gzip.NewWriterLevel(&b.buf, gzipLevel) // the level is a valid constant
		} else {
			b.gz.Reset(&b.buf)
		}
		b.w = b.gz
	}
	b.write(d.enc.open())
	return b
}

func (d *Destination) putBody(b *body) {
	if b.buf.Cap() > 4*d.maxBody { // do not keep a buffer grown by an odd batch
		return
	}
	d.bodies.Put(b)
}

func (b *body) write(p []byte) {
	if len(p) == 0 {
		return
	}
	_, _ = b.w.Write(p) // writes to a bytes.Buffer, through gzip or not, do not fail
	b.raw += len(p)
}

// finish closes the body and returns its bytes.
func (b *body) finish(closing []byte) []byte {
	b.write(closing)
	if b.gz != nil && b.w == b.gz {
		_ = b.gz.Close()
	}
	return b.buf.Bytes()
}

// Write implements plugin.Destination. Records are encoded into bodies of at most
// max_body_bytes; each body is one request. When a request fails, the records not yet
// delivered are reported in a *plugin.BatchError (or the error of the whole call if none was
// delivered, so that a refused call is split by the engine).
func (d *Destination) Write(ctx context.Context, recs []*event.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if d.closed.Load() {
		return fmt.Errorf("http destination %s: write after close", d.safeURL)
	}
	failed := map[int]error{}
	sent := 0 // requests delivered
	b := d.getBody()
	defer func() { d.putBody(b) }()
	frame := len(d.enc.open()) + len(d.enc.close())
	sep := d.enc.sep()
	for i, r := range recs {
		var err error
		b.scratch, err = d.enc.appendRecord(b.scratch[:0], r)
		if err != nil {
			failed[i] = plugin.Refused("invalid_json", err)
			continue
		}
		piece := b.scratch
		if frame+len(piece) > d.maxBody {
			failed[i] = plugin.Refused("too_large", fmt.Errorf("the record takes %d bytes, more than max_body_bytes (%d)", len(piece), d.maxBody))
			continue
		}
		if len(b.idx) > 0 && b.raw+len(sep)+len(piece)+len(d.enc.close()) > d.maxBody {
			if err := d.flush(ctx, b, recs, failed, sent); err != nil {
				return d.stop(err, recs, failed, i, sent)
			}
			sent++
			nb := d.getBody()
			nb.scratch, b.scratch = b.scratch, nb.scratch // the piece moves to the new body
			d.putBody(b)
			b = nb
		}
		if len(b.idx) > 0 {
			b.write(sep)
		}
		b.write(b.scratch)
		b.idx = append(b.idx, i)
	}
	if len(b.idx) > 0 {
		if err := d.flush(ctx, b, recs, failed, sent); err != nil {
			return d.stop(err, recs, failed, len(recs), sent)
		}
	}
	if len(failed) > 0 {
		return &plugin.BatchError{Failed: failed}
	}
	return nil
}

// flush sends the records of b. On failure it marks them in failed (a refused HEC event alone,
// when HEC named it) and returns the error.
func (d *Destination) flush(ctx context.Context, b *body, recs []*event.Record, failed map[int]error, sent int) error {
	data := b.finish(d.enc.close())
	err := d.send(ctx, data, len(b.idx), b.raw)
	if err == nil {
		return nil
	}
	var ie *invalidEventError
	if errors.As(err, &ie) && ie.index < len(b.idx) {
		// HEC names the first event it refused: that one is dead-lettered; the others of the
		// request go again (those before it may have been indexed: at least once).
		for k, i := range b.idx {
			if k == ie.index {
				failed[i] = ie.err
			} else {
				failed[i] = fmt.Errorf("sent again: event %d of the same request was refused (%v)", ie.index, ie.err)
			}
		}
		return ie
	}
	if ie != nil {
		err = ie.err
	}
	if sent == 0 && !plugin.IsFatal(err) {
		return err // the caller returns it for the whole call
	}
	for _, i := range b.idx {
		failed[i] = retryable(err)
	}
	return err
}

// stop ends a Write after a failed request: records from next on were not sent. It returns
// the error of the whole call when nothing was delivered (so a refused call is split by the
// engine, a throttle honoured), else a BatchError.
func (d *Destination) stop(err error, recs []*event.Record, failed map[int]error, next, sent int) error {
	if plugin.IsFatal(err) {
		return err
	}
	var ie *invalidEventError
	if sent == 0 && !errors.As(err, &ie) {
		return err
	}
	for i := next; i < len(recs); i++ {
		if _, ok := failed[i]; !ok {
			failed[i] = fmt.Errorf("not sent: an earlier request of the batch failed (%w)", retryable(err))
		}
	}
	return &plugin.BatchError{Failed: failed}
}

// retryable keeps a throttle (and its Retry-After) and turns a refusal into an error to retry:
// a refused request after others were delivered is sent again in a batch of its own, which
// the engine then splits.
func retryable(err error) error {
	var re *plugin.RefusedError
	if errors.As(err, &re) {
		return fmt.Errorf("sent again in a batch of its own: %v", err)
	}
	return err
}

// send makes one request and classifies its answer.
func (d *Destination) send(ctx context.Context, data []byte, n, raw int) error {
	guard := &bodyGuard{data: data}
	defer guard.release()
	req, err := http.NewRequestWithContext(ctx, d.method(), d.url, guard.reader())
	if err != nil {
		return plugin.Fatal(fmt.Errorf("http destination %s: %w", d.safeURL, err))
	}
	req.ContentLength = int64(len(data))
	req.GetBody = func() (io.ReadCloser, error) { return guard.reader(), nil }
	req.Header = d.header.Clone()
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return explainTLS(fmt.Errorf("%s %s: %w", req.Method, d.safeURL, unwrapURLError(err)), d.maybeNeedsCert())
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainAnswer))
	_ = resp.Body.Close()
	err = d.class.classify(resp.StatusCode, resp.Header, answer, time.Now())
	d.log.Debug("http request", "url", d.safeURL, "records", n, "bytes", raw, "body_bytes", len(data),
		"status", resp.StatusCode, "duration", time.Since(start).Round(time.Microsecond), "ok", err == nil)
	return err
}

// bodyGuard hands out readers of a pooled body buffer and cuts them off once the request is
// over: the transport may still be reading a request body after the answer came (a server
// that answered 413 early), and the buffer goes back to the pool for the next Write.
type bodyGuard struct {
	mu   sync.Mutex
	data []byte
}

func (g *bodyGuard) reader() io.ReadCloser { return &guardedReader{g: g} }

func (g *bodyGuard) release() {
	g.mu.Lock()
	g.data = nil
	g.mu.Unlock()
}

type guardedReader struct {
	g   *bodyGuard
	off int
}

var errBodyReleased = errors.New("request body released")

func (r *guardedReader) Read(p []byte) (int, error) {
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	if r.g.data == nil {
		return 0, errBodyReleased
	}
	if r.off >= len(r.g.data) {
		return 0, io.EOF
	}
	n := copy(p, r.g.data[r.off:])
	r.off += n
	return n, nil
}

func (r *guardedReader) Close() error { return nil }

func (d *Destination) method() string {
	if d.cfg.Mode == ModeSplunkHEC {
		return http.MethodPost
	}
	return d.cfg.Method
}

// unwrapURLError drops url.Error's copy of the URL, which may hold a query with a key.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Close implements plugin.Destination: nothing is buffered between calls; idle connections
// are closed. A Write after Close fails.
func (d *Destination) Close(context.Context) error {
	d.closed.Store(true)
	d.transport.CloseIdleConnections()
	return nil
}

// headerNames lists the configured headers' names (their values are never logged).
func headerNames(h map[string]config.Secret) []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, http.CanonicalHeaderKey(k))
	}
	sort.Strings(out)
	return out
}
