package awssim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SigV4 constants.
const (
	SigV4Algorithm = "AWS4-HMAC-SHA256"
	// AmzDateFormat is the ISO 8601 basic format of X-Amz-Date.
	AmzDateFormat = "20060102T150405Z"
	// DefaultMaxSkew is how far a request's signing time may be from the server's clock.
	DefaultMaxSkew = 15 * time.Minute
	// DefaultMaxBodyBytes bounds the bodies the verifier reads to hash them. Services enforce
	// their own, smaller, limits with their own errors.
	DefaultMaxBodyBytes = 32 << 20

	unsignedPayload = "UNSIGNED-PAYLOAD"
	scopeTerminator = "aws4_request"
)

// regionPattern is the shape of an AWS region name (us-east-1, us-gov-west-1, cn-north-1, ...).
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// Verifier checks AWS Signature Version 4 on requests signed with the Authorization header, as
// AWS services do, against the credentials in a Keyring. Safe for concurrent use.
type Verifier struct {
	keys     *Keyring
	now      func() time.Time
	maxSkew  time.Duration
	maxBody  int64
	errw     ErrorWriter
	service  string
	regions  map[string]bool
	unsigned bool
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithClock sets the verifier's clock (default time.Now). It decides signature expiry, credential
// expiry and the Date header of the answers.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// WithMaxSkew sets how far the signing time may be from the clock (default 15 minutes, as AWS).
func WithMaxSkew(d time.Duration) Option { return func(v *Verifier) { v.maxSkew = d } }

// WithMaxBodyBytes bounds the request bodies read for hashing (default DefaultMaxBodyBytes).
func WithMaxBodyBytes(n int64) Option { return func(v *Verifier) { v.maxBody = n } }

// WithErrorWriter sets how Middleware writes authentication failures (default JSONErrors). The
// Router uses the writer of each service instead.
func WithErrorWriter(ew ErrorWriter) Option { return func(v *Verifier) { v.errw = ew } }

// WithService makes the verifier require this signing name in the credential scope, as a
// service's endpoint does ("Credential should be scoped to correct service: 'logs'."). The
// Router does not need it: it dispatches on the scope's service.
func WithService(name string) Option { return func(v *Verifier) { v.service = name } }

// WithRegions restricts the regions a credential scope may name. By default any well-formed
// region name is accepted.
func WithRegions(regions ...string) Option {
	return func(v *Verifier) {
		v.regions = map[string]bool{}
		for _, r := range regions {
			v.regions[r] = true
		}
	}
}

// WithUnsignedPayload accepts X-Amz-Content-Sha256: UNSIGNED-PAYLOAD (an S3 feature; other
// services hash the body, which is the default here).
func WithUnsignedPayload() Option { return func(v *Verifier) { v.unsigned = true } }

// NewVerifier returns a verifier accepting the credentials in keys.
func NewVerifier(keys *Keyring, opts ...Option) *Verifier {
	v := &Verifier{keys: keys, now: time.Now, maxSkew: DefaultMaxSkew, maxBody: DefaultMaxBodyBytes, errw: JSONErrors}
	for _, o := range opts {
		o(v)
	}
	return v
}

// Now returns the verifier's current time.
func (v *Verifier) Now() time.Time { return v.now() }

// Keys returns the keyring the verifier checks against.
func (v *Verifier) Keys() *Keyring { return v.keys }

// Middleware returns next behind signature verification: a verified request reaches next with
// its Caller in the context (CallerFrom); any other gets the AWS error, written by the verifier's
// ErrorWriter. Every answer carries x-amzn-RequestId and a Date from the verifier's clock.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.serve(w, r, v.errw, next)
	})
}

func (v *Verifier) serve(w http.ResponseWriter, r *http.Request, errw ErrorWriter, next http.Handler) {
	r, _ = EnsureRequestID(w, r)
	w.Header().Set("Date", v.now().UTC().Format(http.TimeFormat))
	c, err := v.Verify(r)
	if err != nil {
		errw.WriteError(w, r, err)
		return
	}
	next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), c)))
}

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	raw              string
	credential       string
	accessKey        string
	date             string
	region           string
	service          string
	terminator       string
	signedHeadersRaw string
	signedHeaders    []string
	signature        string
}

func incomplete(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeIncompleteSignature, format, args...)
}

func invalidSignature(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeInvalidSignature, Message: msg}
}

// parseAuthorization parses the Authorization header value h. Its components may be separated
// by commas, spaces or both, as AWS accepts.
func parseAuthorization(h string) (*authorization, *Error) {
	a := &authorization{raw: h}
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != SigV4Algorithm {
		return nil, incomplete("Unsupported AWS 'algorithm': '%s'", alg)
	}
	var have = map[string]bool{}
	for _, tok := range strings.FieldsFunc(rest, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
		k, val, ok := strings.Cut(tok, "=")
		if !ok {
			return nil, incomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", tok, h)
		}
		switch k {
		case "Credential":
			a.credential = val
		case "SignedHeaders":
			a.signedHeadersRaw = val
		case "Signature":
			a.signature = val
		}
		have[k] = true
	}
	var missing []string
	for _, k := range []string{"Credential", "Signature", "SignedHeaders"} {
		if !have[k] {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", k))
		}
	}
	if len(missing) > 0 {
		return nil, incomplete("%s Authorization=%s", strings.Join(missing, " "), h)
	}
	parts := strings.Split(a.credential, "/")
	if len(parts) != 5 {
		return nil, incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", a.credential)
	}
	a.accessKey, a.date, a.region, a.service, a.terminator = parts[0], parts[1], parts[2], parts[3], parts[4]
	a.signedHeaders = strings.Split(a.signedHeadersRaw, ";")
	return a, nil
}

// ScopeService returns the service named in the credential scope of r's Authorization header
// ("logs", "sts", ...), or "" when r carries no parsable SigV4 Authorization header.
func ScopeService(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if h == "" {
		return ""
	}
	a, err := parseAuthorization(h)
	if err != nil {
		return ""
	}
	return a.service
}

// Verify checks the signature of r and returns its caller, or the error AWS would answer with.
// It reads r's body to hash it and puts an equal body back for the handler.
//
// The checks run in the order AWS runs them: a missing Authorization header
// (MissingAuthenticationTokenException), a malformed one or a missing date
// (IncompleteSignatureException), a credential scope that does not fit the request or a signing
// time more than 15 minutes away from the clock (InvalidSignatureException), an unknown access key
// or a missing or wrong session token (UnrecognizedClientException), expired temporary
// credentials (ExpiredTokenException), and last the signature itself (InvalidSignatureException).
func (v *Verifier) Verify(r *http.Request) (Caller, *Error) {
	h := r.Header.Get("Authorization")
	if strings.TrimSpace(h) == "" {
		return Caller{}, &Error{Status: http.StatusForbidden, Code: CodeMissingAuthenticationToken, Message: MsgMissingAuthenticationToken}
	}
	a, aerr := parseAuthorization(h)
	if aerr != nil {
		return Caller{}, aerr
	}

	// The signing time: X-Amz-Date, or else the Date header.
	amzDate := r.Header.Get("X-Amz-Date")
	var signedAt time.Time
	switch {
	case amzDate != "":
		t, err := time.Parse(AmzDateFormat, amzDate)
		if err != nil {
			return Caller{}, incomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://docs.aws.amazon.com/general/latest/gr/sigv4-date-handling.html", amzDate)
		}
		signedAt = t
	case r.Header.Get("Date") != "":
		t, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil {
			return Caller{}, incomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://docs.aws.amazon.com/general/latest/gr/sigv4-date-handling.html", r.Header.Get("Date"))
		}
		signedAt = t.UTC()
		amzDate = signedAt.Format(AmzDateFormat)
	default:
		return Caller{}, incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=%s", h)
	}

	// The credential scope.
	var scopeErrs []string
	if !regionPattern.MatchString(a.region) || (v.regions != nil && !v.regions[a.region]) {
		scopeErrs = append(scopeErrs, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", a.region))
	}
	if v.service != "" && a.service != v.service {
		scopeErrs = append(scopeErrs, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", v.service))
	}
	if a.terminator != scopeTerminator {
		scopeErrs = append(scopeErrs, fmt.Sprintf("Credential should be scoped with a valid terminator: '%s', not '%s'.", scopeTerminator, a.terminator))
	}
	if want := amzDate[:8]; a.date != want {
		scopeErrs = append(scopeErrs, fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.date, want, amzDate))
	}
	if len(scopeErrs) > 0 {
		return Caller{}, invalidSignature(strings.Join(scopeErrs, " "))
	}
	if !contains(a.signedHeaders, "host") {
		return Caller{}, invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}

	// The signing time against the clock.
	now := v.now().UTC()
	skewText := fmt.Sprintf("%d min.", int(v.maxSkew/time.Minute))
	if earliest := now.Add(-v.maxSkew); signedAt.Before(earliest) {
		return Caller{}, invalidSignature(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			amzDate, earliest.Format(AmzDateFormat), now.Format(AmzDateFormat), skewText))
	}
	if latest := now.Add(v.maxSkew); signedAt.After(latest) {
		return Caller{}, invalidSignature(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
			amzDate, latest.Format(AmzDateFormat), now.Format(AmzDateFormat), skewText))
	}

	// The credential.
	cred, ok := v.keys.Lookup(a.accessKey)
	if !ok {
		return Caller{}, &Error{Status: http.StatusForbidden, Code: CodeUnrecognizedClient, Message: MsgInvalidToken}
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if cred.SessionToken != "" || token != "" {
		if !hmac.Equal([]byte(token), []byte(cred.SessionToken)) {
			return Caller{}, &Error{Status: http.StatusForbidden, Code: CodeUnrecognizedClient, Message: MsgInvalidToken}
		}
	}
	if cred.Expired(now) {
		return Caller{}, &Error{Status: http.StatusForbidden, Code: CodeExpiredToken, Message: MsgExpiredToken}
	}

	// The payload.
	body, err := v.readBody(r)
	if err != nil {
		return Caller{}, err
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if v.unsigned && r.Header.Get("X-Amz-Content-Sha256") == unsignedPayload {
		payloadHash = unsignedPayload
	}

	// The signature.
	query, qerr := canonicalQuery(r.URL.RawQuery)
	if qerr != nil {
		return Caller{}, invalidSignature(MsgSignatureMismatch)
	}
	headers := canonicalHeaders(r, a.signedHeaders)
	scope := a.date + "/" + a.region + "/" + a.service + "/" + scopeTerminator
	key := signingKey(cred.SecretAccessKey, a.date, a.region, a.service)
	for _, path := range canonicalPaths(requestPath(r)) {
		creq := strings.Join([]string{r.Method, path, query, headers, a.signedHeadersRaw, payloadHash}, "\n")
		creqSum := sha256.Sum256([]byte(creq))
		sts := SigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creqSum[:])
		want := hex.EncodeToString(hmacSHA256(key, []byte(sts)))
		if hmac.Equal([]byte(want), []byte(a.signature)) {
			return Caller{
				AccessKeyID: cred.AccessKeyID,
				AccountID:   cred.AccountID,
				ARN:         cred.ARN,
				UserID:      cred.UserID,
				Region:      a.region,
				Service:     a.service,
			}, nil
		}
	}
	return Caller{}, invalidSignature(MsgSignatureMismatch)
}

// readBody reads r's body (bounded) and puts an equal one back.
func (v *Verifier) readBody(r *http.Request) ([]byte, *Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, v.maxBody+1))
	_ = r.Body.Close()
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "IncompleteBody", "The request body could not be read: %v", err)
	}
	if int64(len(body)) > v.maxBody {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request size %d exceeded %d bytes", len(body), v.maxBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// signingKey derives the SigV4 signing key.
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte(scopeTerminator))
}

// requestPath returns the path of r as the client sent it, still escaped.
func requestPath(r *http.Request) string {
	p := r.RequestURI
	if p == "" {
		p = r.URL.EscapedPath()
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if !strings.HasPrefix(p, "/") {
		if u, err := url.Parse(p); err == nil {
			p = u.EscapedPath()
		}
	}
	if p == "" {
		p = "/"
	}
	return p
}

// canonicalPaths returns the canonical URIs a client may have signed for the escaped path p, the
// usual one first: every SDK but S3's escapes the already escaped path once more (the AWS SDK for
// Go as is; botocore after removing dot segments and empty segments); S3-style signers use the
// escaped path as it is.
func canonicalPaths(p string) []string {
	paths := []string{uriEncode(p, false)}
	if n := uriEncode(normalizePath(p), false); n != paths[0] {
		paths = append(paths, n)
	}
	if p != paths[0] {
		paths = append(paths, p)
	}
	return paths
}

// normalizePath removes dot segments and empty segments from p, keeping a trailing slash.
func normalizePath(p string) string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	n := "/" + strings.Join(out, "/")
	if strings.HasSuffix(p, "/") && n != "/" {
		n += "/"
	}
	return n
}

// uriEncode percent-encodes every byte of s outside the unreserved set A-Z a-z 0-9 - _ . ~
// (and '/' unless encodeSlash), with upper-case hex, as SigV4 requires.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && !encodeSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// canonicalQuery returns the SigV4 canonical query string of a raw query: every name and value
// decoded (a '+' is a space, as in forms) and encoded again, the pairs sorted by name, then value.
func canonicalQuery(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	type pair struct{ k, v string }
	var pairs []pair
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, val, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			return "", err
		}
		dv, err := url.QueryUnescape(val)
		if err != nil {
			return "", err
		}
		pairs = append(pairs, pair{uriEncode(dk, true), uriEncode(dv, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String(), nil
}

// canonicalHeaders returns the canonical headers block for the signed header names, each line
// "name:value\n", values trimmed, inner runs of spaces collapsed, repeated headers joined by ','.
func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, name := range names {
		var values []string
		switch name {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = r.Header.Values("Content-Length")
			if len(values) == 0 && r.ContentLength >= 0 {
				values = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		case "transfer-encoding":
			values = r.Header.Values("Transfer-Encoding")
			if len(values) == 0 && len(r.TransferEncoding) > 0 {
				values = []string{strings.Join(r.TransferEncoding, ",")}
			}
		default:
			values = r.Header.Values(name)
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, val := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.Join(strings.Fields(val), " "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
