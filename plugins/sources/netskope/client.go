package netskope

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
)

// TokenHeader carries the REST API v2 token.
const TokenHeader = "Netskope-Api-Token"

// RequestsPerSecond is the data-export rate limit, per token and endpoint.
const RequestsPerSecond = 4

// maxBody is the largest answer read (a full page is about 20 MB).
const maxBody = 1 << 30

// errClass says what a failed request means for the iterator and for the retry.
type errClass int

const (
	// classFatal: 401 or 403; retrying cannot help.
	classFatal errClass = iota + 1
	// classThrottled: 429; the request did not reach the iterator. Retry after Retry-After.
	classThrottled
	// classNotServed: the service answered that it did not serve a page (ok: 0, a 4xx): the
	// index did not move; the same operation is retried.
	classNotServed
	// classUnknown: a network error, a timeout, a 5xx, a body cut short: the iterator may have
	// served the page (and moved). A next is retried as resend.
	classUnknown
	// classMalformed: a complete 200 answer that is not a data-export answer. Treated as
	// classUnknown; the same broken answer three times running is dropped (see fetch).
	classMalformed
)

// reqError is a failed data-export request. Its message names the tenant and the endpoint,
// never the token.
type reqError struct {
	class      errClass
	tenant     string
	ep         endpoint
	op         string
	status     int
	retryAfter time.Duration
	body       []byte // classMalformed: the answer
	// streamed: the answer was being read as it streamed (get with a sink) when it failed.
	streamed bool
	err      error
}

func (e *reqError) Error() string {
	return fmt.Sprintf("netskope tenant %s, endpoint %s (operation=%s): %v", e.tenant, e.ep, e.op, e.err)
}

func (e *reqError) Unwrap() error { return e.err }

// errPageTimeout ends a request that page_timeout ran out on.
var errPageTimeout = errors.New("page_timeout passed")

// client calls one tenant's data-export endpoints.
type client struct {
	base    string // the tenant URL, without a trailing slash
	host    string // for messages
	token   string
	hc      *http.Client
	timeout time.Duration
}

// reply is a successful answer with what its headers say about the rate limit.
type reply struct {
	ans  *answer
	size int
	// stream is what was read of a page read as it streamed (its chunks went to the sink);
	// ans then holds the members other than result, and no element.
	stream *streamed
}

// pageSink takes the chunks of a page read as its body arrives (see readStream).
type pageSink struct {
	reader *pageReader
	n      int // elements per chunk
	// each builds and hands on a chunk; an error ends the read.
	each func(c *streamChunk) error
	// chunks is how many chunks were given to each.
	chunks int
}

// limitInfo is what the rate-limit headers of an answer say.
type limitInfo struct {
	exhausted bool          // RateLimit-Remaining: 0
	reset     time.Duration // RateLimit-Reset
}

func newClient(cfg *Config, maxConns int, log *slog.Logger) (*client, error) {
	u, err := tenantURL(cfg.Tenant)
	if err != nil {
		return nil, fmt.Errorf("tenant: %w", err)
	}
	hc, err := newHTTPClient(cfg, maxConns, log, u.Host)
	if err != nil {
		return nil, err
	}
	return &client{
		base:    strings.TrimRight(u.String(), "/"),
		host:    u.Host,
		token:   cfg.APIToken.Value(),
		hc:      hc,
		timeout: cfg.PageTimeout,
	}, nil
}

// newHTTPClient builds the client through netconf (proxy, TLS trust; a warning on log when
// verification is off), with this source's timeouts and enough idle connections for one per
// endpoint. The data-export API does not redirect, and the client follows no redirect: one
// would carry the token elsewhere.
func newHTTPClient(cfg *Config, maxConns int, log *slog.Logger, host string) (*http.Client, error) {
	nc, err := netconf.NewHTTP(cfg.Proxy, cfg.TLS, log, "netskope tenant "+host)
	if err != nil {
		return nil, fmt.Errorf("netskope tenant %s: %w", host, err)
	}
	tr := nc.Transport()
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: netconf.KeepAlive}).DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	tr.ResponseHeaderTimeout = cfg.PageTimeout
	tr.MaxIdleConnsPerHost = maxConns + 2
	return netconf.Client(tr, 0), nil
}

// get makes one data-export request and reads its answer. b, when not nil, is the builder the
// answer is for: the body is read with room to spare (builder.spare) and its elements may be
// written over in place (answer.body), its spans made room for as b expects (builder.spanRoom).
//
// With sink, a page whose "ok" comes before its result array is read as it streams: each
// chunk of elements goes to sink.each as soon as it is read, and the timeout bounds the
// reading alone (each stretch between two chunks, and the request to its headers), not the
// time sink.each takes (the pipeline's backpressure). Any failure after the headers is then
// marked streamed (reqError.streamed).
func (c *client) get(ctx context.Context, ep endpoint, index, op string, b *builder, sink *pageSink) (*reply, limitInfo, error) {
	fail := func(class errClass, status int, err error) *reqError {
		return &reqError{class: class, tenant: c.host, ep: ep, op: op, status: status, err: err}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(c.timeout, func() { cancel(errPageTimeout) })
	defer timer.Stop()
	// timedOut names page_timeout in the error of a request it ended.
	timedOut := func(err error) error {
		if errors.Is(context.Cause(ctx), errPageTimeout) {
			return fmt.Errorf("%w (%s): %w", errPageTimeout, c.timeout, err)
		}
		return err
	}
	u := c.base + ep.path() + "?index=" + url.QueryEscape(index) + "&operation=" + url.QueryEscape(op)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, limitInfo{}, fail(classFatal, 0, err)
	}
	req.Header.Set(TokenHeader, c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "logshipper-netskope")
	resp, err := c.hc.Do(req)
	if err != nil {
		// url.Error quotes the URL: it holds the index and the operation, not the token.
		return nil, limitInfo{}, fail(classUnknown, 0, timedOut(unwrapURLError(err)))
	}
	defer resp.Body.Close()
	li := limits(resp.Header)
	if resp.StatusCode != http.StatusOK {
		msg := statusMessage(resp)
		switch code := resp.StatusCode; {
		case code == http.StatusUnauthorized:
			return nil, li, fail(classFatal, code, fmt.Errorf("401 Unauthorized: the tenant refused the API token (unknown, expired or revoked)%s", msg))
		case code == http.StatusForbidden:
			return nil, li, fail(classFatal, code, fmt.Errorf("403 Forbidden: the API token may not read this endpoint; add %s to the token's scope%s", ep.path(), msg))
		case code == http.StatusTooManyRequests:
			e := fail(classThrottled, code, fmt.Errorf("429 Too Many Requests%s", msg))
			e.retryAfter = retryAfter(resp.Header, li)
			return nil, li, e
		case code >= 300 && code < 400:
			loc := "no Location"
			if u, err := resp.Location(); err == nil {
				loc = "to " + u.Scheme + "://" + u.Host
			}
			return nil, li, fail(classFatal, code, fmt.Errorf("%s, redirected %s: the data-export API does not redirect; check the tenant URL (https://<tenant>.goskope.com) and any proxy", resp.Status, loc))
		case code >= 500:
			return nil, li, fail(classUnknown, code, fmt.Errorf("%s%s", resp.Status, msg))
		case code >= 400:
			return nil, li, fail(classNotServed, code, fmt.Errorf("%s%s", resp.Status, msg))
		default:
			return nil, li, fail(classUnknown, code, fmt.Errorf("unexpected answer %s%s", resp.Status, msg))
		}
	}
	var body []byte
	if sink != nil && b != nil {
		st, whole, err := sink.reader.readStream(resp.Body, sink.n, maxBody, b, func(ch *streamChunk) error {
			timer.Stop()
			sink.chunks++
			err := sink.each(ch)
			timer.Reset(c.timeout)
			return err
		})
		var rf *readFailure
		switch {
		case err == nil:
			return &reply{ans: st.env, size: st.body, stream: st}, li, nil
		case errors.As(err, &rf):
			return nil, li, fail(classUnknown, resp.StatusCode, fmt.Errorf("reading the page: %w", timedOut(rf.err)))
		case !errors.Is(err, errNotStreamed):
			e := fail(classUnknown, resp.StatusCode, fmt.Errorf("reading the page as it streamed: %w", timedOut(err)))
			e.streamed = true
			return nil, li, e
		}
		body = whole
	} else {
		room := 0
		if b != nil {
			room = b.spare(resp.ContentLength)
		}
		body, err = readBody(resp, room)
		if err != nil {
			return nil, li, fail(classUnknown, resp.StatusCode, fmt.Errorf("reading the page: %w", timedOut(err)))
		}
	}
	spans := len(body) / defaultBytesPerSpan
	if b != nil {
		spans = b.spanRoom(len(body))
	}
	ans, err := parseAnswerSpans(body, spans)
	if err == nil && !ans.hasOK && ans.result == nil {
		err = errors.New("no ok and no result member")
	}
	if err != nil {
		e := fail(classMalformed, resp.StatusCode, fmt.Errorf("the answer is not a data-export page (%d bytes): %w", len(body), err))
		e.body = body
		return nil, li, e
	}
	if ans.hasOK && !ans.ok {
		msg := ans.errMsg
		if msg == "" {
			msg = "no error message"
		}
		return nil, li, fail(classNotServed, resp.StatusCode, fmt.Errorf(`"ok": 0: %s`, msg))
	}
	if b != nil {
		ans.body = body
	}
	return &reply{ans: ans, size: len(body)}, li, nil
}

// readBody reads a whole answer, with room bytes of capacity after it when its Content-Length
// is known; one shorter than its Content-Length is an error (a cut body).
func readBody(resp *http.Response, room int) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 {
		if n > maxBody {
			return nil, fmt.Errorf("the answer is %d bytes, more than the %d accepted", n, maxBody)
		}
		if n <= 64<<20 {
			// Exactly the promised size (a full page is about 20 MB): a bytes.Buffer would double
			// itself for the last bytes.
			b := make([]byte, n, n+int64(room))
			if _, err := io.ReadFull(resp.Body, b); err != nil {
				return nil, err
			}
			return b, nil
		}
		// Content-Length is a promise, not a fact: past 64 MiB, grow as bytes arrive.
		var buf bytes.Buffer
		buf.Grow(64 << 20)
		if _, err := io.CopyN(&buf, resp.Body, n); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("the answer is more than the %d bytes accepted", maxBody)
	}
	return b, nil
}

// statusMessage returns ": <message>" from an error answer's body, if it has one.
func statusMessage(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if len(b) == 0 {
		return ""
	}
	if a, err := parseAnswer(b); err == nil && a.errMsg != "" {
		return ": " + a.errMsg
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return ": " + strings.Join(strings.Fields(s), " ")
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// limits reads RateLimit-Remaining and RateLimit-Reset.
func limits(h http.Header) limitInfo {
	var li limitInfo
	if v := h.Get("RateLimit-Remaining"); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n <= 0 {
			li.exhausted = true
		}
	}
	if v := h.Get("RateLimit-Reset"); v != "" {
		if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && n > 0 && n < 3600 {
			li.reset = time.Duration(n * float64(time.Second))
		}
	}
	return li
}

// retryAfter reads Retry-After (seconds or an HTTP date), else RateLimit-Reset, else 1s.
func retryAfter(h http.Header, li limitInfo) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 && n < 3600 {
			return max(time.Duration(n*float64(time.Second)), 100*time.Millisecond)
		}
		if t, err := http.ParseTime(v); err == nil {
			return min(max(time.Until(t), 100*time.Millisecond), time.Hour)
		}
	}
	if li.reset > 0 {
		return li.reset
	}
	return time.Second
}

// pacer spaces the requests to one endpoint of one tenant with one token: the 4 requests per
// second the API allows, and the pauses its answers ask for (RateLimit-Remaining: 0 until
// RateLimit-Reset, 429 until Retry-After). Every reader of that endpoint in the process (the
// live source, a backfill, two configurations sharing a token) built by one Factory shares it.
//
// In cluster mode an endpoint read by one configuration is one partition, read by one member
// at a time: its pacer allows the whole rate. An endpoint that several configurations read with
// one token is several partitions, which different members may own: its pacer allows this
// member's share of the rate (plugin.Settings.Share).
type pacer struct {
	lim *plugin.QuotaLimiter

	mu        sync.Mutex
	notBefore time.Time
}

// pacers holds the pacer of every (tenant, token, endpoint) of one registry: the sources it
// builds share them.
type pacers struct {
	mu     sync.Mutex
	m      map[string]*pacer
	claims map[string]string // tenant + index prefix -> the configuration reading them
	// readers are the configurations reading each (tenant, token, endpoint), by pacerKey.
	readers map[string]map[string]bool
}

func newPacers() *pacers {
	return &pacers{m: map[string]*pacer{}, claims: map[string]string{}, readers: map[string]map[string]bool{}}
}

// claim records that the configuration name reads the indexes of prefix on a tenant, and
// refuses a second configuration doing so: two readers of one index split its pages.
func (ps *pacers) claim(tenant, prefix, name string) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	key := tenant + "\x00" + prefix
	if other, ok := ps.claims[key]; ok && other != name {
		return fmt.Errorf("index_prefix: %q on %s is already read by the configuration %q; two readers of one index split its pages between them: give one of them its own index_prefix", prefix, tenant, other)
	}
	ps.claims[key] = name
	return nil
}

// pacerKey names the (tenant, token, endpoint) whose rate limit one pacer keeps.
func pacerKey(c *client, ep endpoint) string {
	sum := sha256.Sum256([]byte(c.token))
	return c.base + "\x00" + hex.EncodeToString(sum[:8]) + "\x00" + ep.String()
}

// read records that the configuration name reads ep of c's tenant with c's token. Every
// configuration is built, and so recorded, before any pacer is made.
func (ps *pacers) read(c *client, ep endpoint, name string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	k := pacerKey(c, ep)
	if ps.readers[k] == nil {
		ps.readers[k] = map[string]bool{}
	}
	ps.readers[k][name] = true
}

// get returns the shared pacer of (tenant, token, endpoint), allowing perSecond, or this
// member's share of it when several configurations read the endpoint with the token.
func (ps *pacers) get(c *client, ep endpoint, perSecond float64, share plugin.Share, log *slog.Logger) *pacer {
	key := pacerKey(c, ep)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	rkey := key + "\x00" + strconv.FormatFloat(perSecond, 'g', -1, 64)
	p, ok := ps.m[rkey]
	if !ok {
		if len(ps.readers[key]) <= 1 {
			share, log = plugin.AllShare{}, nil
		}
		quota := share.Quota(plugin.QuotaKey("netskope:"+ep.String(), c.base, c.token), perSecond)
		p = &pacer{lim: plugin.NewQuotaLimiter(perSecond, 1, quota, log)}
		ps.m[rkey] = p
	}
	return p
}

// wait blocks until a request may be made.
func (p *pacer) wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		d := time.Until(p.notBefore)
		p.mu.Unlock()
		if d <= 0 {
			break
		}
		if !retry.Sleep(ctx, d) {
			return ctx.Err()
		}
	}
	return p.lim.Wait(ctx)
}

// hold makes every request wait until t.
func (p *pacer) hold(t time.Time) {
	p.mu.Lock()
	if t.After(p.notBefore) {
		p.notBefore = t
	}
	p.mu.Unlock()
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// castagnoli is CRC-32C, which the processor computes (SSE 4.2, ARMv8): a page's fingerprint
// costs a few microseconds a megabyte.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fingerprintPrefix marks the fingerprints of fingerprint; a saved one without it is
// fingerprintV1's (positions saved by earlier versions).
const fingerprintPrefix = "c:"

// fingerprint identifies a page by its records: their count, size and CRC-32C. A resend that
// returns the page already acknowledged has the same fingerprint (samePage).
func fingerprint(a *answer) string {
	if len(a.elems) == 0 {
		return ""
	}
	return fingerprintOf(len(a.elems), len(a.result), crc32.Checksum(a.result, castagnoli), a.hwm)
}

// fingerprintOf is the fingerprint of a page of n elements whose result array is size bytes
// of CRC-32C crc, with timestamp_hwm hwm.
func fingerprintOf(n, size int, crc uint32, hwm int64) string {
	// timestamp_hwm is part of it: a resend repeats it exactly, while a later page the tenant
	// filled with byte-identical records (re-emitted duplicates) has a later one.
	return fmt.Sprintf("%s%d:%d:%08x:%d", fingerprintPrefix, n, size, crc, hwm)
}

// fingerprintV1 is the fingerprint positions saved before fingerprint took CRC-32C: the same
// with a CRC-64 (table-driven, about twenty times the cost), computed only to recognise such a
// saved page on a resend.
func fingerprintV1(a *answer) string {
	if len(a.elems) == 0 {
		return ""
	}
	return fmt.Sprintf("%d:%d:%016x:%d", len(a.elems), len(a.result), crc64.Checksum(a.result, crcTable), a.hwm)
}

// samePage reports whether a is the page whose fingerprint was saved (either form).
func samePage(a *answer, saved string) bool {
	if saved == "" || len(a.elems) == 0 {
		return false
	}
	if strings.HasPrefix(saved, fingerprintPrefix) {
		return fingerprint(a) == saved
	}
	return fingerprintV1(a) == saved
}
