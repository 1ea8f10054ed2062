package httpdest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/plugin"
)

// maxRetryAfter caps a server's Retry-After: a misconfigured server asking for a day must not
// park the destination for a day.
const maxRetryAfter = 10 * time.Minute

// snippetBytes is how much of an answer's body goes into an error message.
const snippetBytes = 512

// hecAnswer is the JSON answer of Splunk's HTTP Event Collector.
type hecAnswer struct {
	Text               string `json:"text"`
	Code               *int   `json:"code"`
	InvalidEventNumber *int   `json:"invalid-event-number"`
}

// invalidEventError says which event of a HEC request was refused: the ones before it may have
// been indexed and the ones after were not.
type invalidEventError struct {
	index int
	err   error
}

func (e *invalidEventError) Error() string { return e.err.Error() }
func (e *invalidEventError) Unwrap() error { return e.err }

// classifier reads the answer to a request into the error class the engine acts on.
type classifier struct {
	hec     bool
	url     string // safe to show: no credentials, no query
	success map[int]bool
}

// classify returns nil when the records were delivered, or the classified error: Throttled
// (429, 503, HEC busy) with the server's Retry-After; Fatal for what only a configuration
// change fixes (credentials, a redirect, a URL or method the server does not serve, an
// unaccepted encoding, HEC's token, index and channel errors); Refused for the other 4xx (and
// HEC's data errors), which the engine bisects and dead-letters; a plain error (retried) for
// the rest.
func (c *classifier) classify(status int, hdr http.Header, body []byte, now time.Time) error {
	if c.hec {
		if err, ok := c.classifyHEC(status, hdr, body, now); ok {
			return err
		}
	}
	if c.isSuccess(status) {
		return nil
	}
	e := c.statusError(status, body)
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
		return plugin.Throttled(e, retryAfter(hdr, now))
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		what := "token and auth_scheme, username/password, or the headers holding credentials"
		if c.hec {
			what = "the HEC token (token) and that it is enabled"
		}
		return plugin.Fatal(fmt.Errorf("%s refused the credentials (%w): check %s", c.url, e, what))
	case status == http.StatusProxyAuthRequired:
		return plugin.Fatal(fmt.Errorf("the proxy refused the credentials for %s (%w): check the user and password in proxy", c.url, e))
	case status == http.StatusUnsupportedMediaType:
		return plugin.Fatal(fmt.Errorf("%s does not take the body as sent (%w): check compression (try none), format and a Content-Type header", c.url, e))
	case status >= 300 && status < 400:
		loc := hdr.Get("Location")
		if u, err := parseURL(loc); err == nil {
			loc = redactURL(u)
		}
		return plugin.Fatal(fmt.Errorf("%s redirects to %q (%w): redirects are not followed, set url to where the data should go", c.url, loc, e))
	case status == http.StatusNotFound, status == http.StatusMethodNotAllowed, status == http.StatusGone,
		status == http.StatusNotImplemented:
		// The endpoint, not a record, is wrong: refusing would split every batch down to
		// single records and dead-letter the whole stream.
		return plugin.Fatal(fmt.Errorf("%s does not take the request (%w): check url and method", c.url, e))
	case status == http.StatusRequestTimeout:
		return e
	case status >= 200 && status < 300: // not in success_codes
		return plugin.Refused(strconv.Itoa(status), fmt.Errorf("%w (not in success_codes)", e))
	case status == http.StatusRequestEntityTooLarge:
		return plugin.Refused(strconv.Itoa(status), fmt.Errorf("%w (lower max_body_bytes to the server's limit)", e))
	case status >= 400 && status < 500:
		return plugin.Refused(strconv.Itoa(status), e)
	}
	return e // 5xx and anything unexpected: retried
}

func (c *classifier) isSuccess(status int) bool {
	if len(c.success) > 0 {
		return c.success[status]
	}
	return status >= 200 && status < 300
}

// classifyHEC reads HEC's {"text","code"} answer. ok is false when the answer holds no code
// HEC documents, and the status decides.
func (c *classifier) classifyHEC(status int, hdr http.Header, body []byte, now time.Time) (err error, ok bool) {
	var a hecAnswer
	if json.Unmarshal(body, &a) != nil || a.Code == nil {
		return nil, false
	}
	code := *a.Code
	e := fmt.Errorf("POST %s: %d %s: HEC code %d: %s", c.url, status, http.StatusText(status), code, snippet([]byte(a.Text)))
	codeName := "hec_" + strconv.Itoa(code)
	switch code {
	case 0:
		if status >= 200 && status < 300 {
			return nil, true
		}
		return nil, false
	case 1, 2, 3, 4: // token disabled, token required, invalid authorization, invalid token
		return plugin.Fatal(fmt.Errorf("%s refused the token (%w): check token and that it is enabled in Splunk", c.url, e)), true
	case 7: // incorrect index
		return plugin.Fatal(fmt.Errorf("%w: check index, and that the token may write to it", e)), true
	case 10, 11: // data channel missing, invalid data channel
		return plugin.Fatal(fmt.Errorf("%w: the token has indexer acknowledgement on; set channel to a GUID, or turn acknowledgement off", e)), true
	case 14, 16: // ack disabled, query-string authorization not enabled
		return plugin.Fatal(e), true
	case 5, 6, 12, 13, 15: // no data, invalid data format, event field required/blank, indexed fields
		r := plugin.Refused(codeName, e)
		if a.InvalidEventNumber != nil && *a.InvalidEventNumber >= 0 {
			return &invalidEventError{index: *a.InvalidEventNumber, err: r}, true
		}
		return r, true
	case 9, 18, 19, 20: // server busy; unhealthy (queues full, ack service unavailable)
		return plugin.Throttled(e, retryAfter(hdr, now)), true
	case 8: // internal server error
		return e, true
	}
	return nil, false
}

func (c *classifier) statusError(status int, body []byte) error {
	s := snippet(body)
	if s == "" {
		return fmt.Errorf("%s: %d %s", c.url, status, http.StatusText(status))
	}
	return fmt.Errorf("%s: %d %s: %s", c.url, status, http.StatusText(status), s)
}

// snippet is the first 512 bytes of an answer, as valid UTF-8 on one line.
func snippet(b []byte) string {
	if len(b) > snippetBytes {
		b = b[:snippetBytes]
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- { // a rune cut in two
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Join(strings.Fields(s), " ")
	return s
}

// retryAfter reads Retry-After (seconds or an HTTP date), capped at maxRetryAfter; 0 when absent.
func retryAfter(hdr http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(hdr.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

func parseURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	return url.Parse(s)
}

// jsonCode decodes a HEC answer and reports whether it holds a code.
func jsonCode(body []byte, a *hecAnswer) bool {
	return json.Unmarshal(body, a) == nil && a.Code != nil
}
