package s3

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// WriteError writes e as S3 does: an XML <Error> with the code, message, the resource
// elements, RequestId and HostId; a HEAD request gets the status alone.
func WriteError(w http.ResponseWriter, r *http.Request, e *s3Error) {
	_, id := awssim.EnsureRequestID(w, r)
	w.Header().Set("X-Amz-Request-Id", id)
	w.Header().Set("X-Amz-Id-2", hostID(id))
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	_, _ = w.Write(errorBody(e, id))
}

func errorBody(e *s3Error, id string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>")
	b.WriteString(awssim.XMLEscape(e.Code))
	b.WriteString("</Code><Message>")
	b.WriteString(awssim.XMLEscape(e.Message))
	b.WriteString("</Message>")
	for _, x := range e.extra {
		b.WriteString("<" + x[0] + ">" + awssim.XMLEscape(x[1]) + "</" + x[0] + ">")
	}
	b.WriteString("<RequestId>" + id + "</RequestId><HostId>" + hostID(id) + "</HostId></Error>")
	return b.Bytes()
}

func hostID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// authCodes are S3's names of the authentication failures the verifier reports.
var authCodes = map[string]struct {
	code   string
	status int
}{
	awssim.CodeMissingAuthenticationToken: {"AccessDenied", http.StatusForbidden},
	awssim.CodeIncompleteSignature:        {"AuthorizationHeaderMalformed", http.StatusBadRequest},
	awssim.CodeInvalidSignature:           {"SignatureDoesNotMatch", http.StatusForbidden},
	awssim.CodeUnrecognizedClient:         {"InvalidAccessKeyId", http.StatusForbidden},
	awssim.CodeExpiredToken:               {"ExpiredToken", http.StatusBadRequest},
}

// Errors is the awssim.ErrorWriter of the S3 route: authentication failures in S3's XML.
var Errors awssim.ErrorWriter = awssim.ErrorWriterFunc(func(w http.ResponseWriter, r *http.Request, e *awssim.Error) {
	out := &s3Error{Status: e.Status, Code: e.Code, Message: e.Message}
	if c, ok := authCodes[e.Code]; ok {
		out.Code, out.Status = c.code, c.status
	}
	if strings.HasPrefix(e.Message, "Signature expired") || strings.HasPrefix(e.Message, "Signature not yet current") {
		out.Code, out.Message = "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
	}
	WriteError(w, r, out)
})

// req is one request being served.
type req struct {
	w       http.ResponseWriter
	r       *http.Request
	caller  awssim.Caller
	bucket  string
	key     string
	query   url.Values
	body    []byte
	op      string
	cutBody bool
}

// virtualHost matches the hosts of virtual-hosted-style requests: <bucket>.s3.<region>.amazonaws.com,
// <bucket>.s3.amazonaws.com and <bucket>.localhost.
var virtualHost = regexp.MustCompile(`^(.+)\.(s3[.-]([a-z0-9-]+\.)?amazonaws\.com|localhost)$`)

// target splits a request into its bucket and key.
func target(r *http.Request) (bucketName, key string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	path := r.URL.Path
	if m := virtualHost.FindStringSubmatch(host); m != nil {
		return m[1], strings.TrimPrefix(path, "/")
	}
	path = strings.TrimPrefix(path, "/")
	bucketName, key, _ = strings.Cut(path, "/")
	return bucketName, key
}

// operation names a request as the S3 API does.
func operation(method, bucketName, key string, q url.Values) string {
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case bucketName == "":
		if method == http.MethodGet {
			return "ListBuckets"
		}
	case key == "":
		switch method {
		case http.MethodPut:
			if has("notification") {
				return "PutBucketNotificationConfiguration"
			}
			if len(q) == 0 {
				return "CreateBucket"
			}
		case http.MethodGet:
			switch {
			case q.Get("list-type") == "2":
				return "ListObjectsV2"
			case has("uploads"):
				return "ListMultipartUploads"
			case has("notification"):
				return "GetBucketNotificationConfiguration"
			case has("location"):
				return "GetBucketLocation"
			case len(q) == 0 || has("prefix") || has("delimiter") || has("marker") || has("max-keys"):
				return "ListObjects"
			}
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodDelete:
			if len(q) == 0 {
				return "DeleteBucket"
			}
		}
	default:
		switch method {
		case http.MethodPut:
			if has("partNumber") && has("uploadId") {
				return "UploadPart"
			}
			if !has("tagging") && !has("acl") {
				return "PutObject"
			}
		case http.MethodGet:
			if has("uploadId") {
				return "ListParts"
			}
			if !has("tagging") && !has("acl") && !has("attributes") {
				return "GetObject"
			}
		case http.MethodHead:
			return "HeadObject"
		case http.MethodDelete:
			if has("uploadId") {
				return "AbortMultipartUpload"
			}
			return "DeleteObject"
		case http.MethodPost:
			if has("uploads") {
				return "CreateMultipartUpload"
			}
			if has("uploadId") {
				return "CompleteMultipartUpload"
			}
		}
	}
	return ""
}

type opFunc func(s *Service, x *req) *s3Error

var ops = map[string]opFunc{
	"ListBuckets":                        (*Service).opListBuckets,
	"CreateBucket":                       (*Service).opCreateBucket,
	"HeadBucket":                         (*Service).opHeadBucket,
	"DeleteBucket":                       (*Service).opDeleteBucket,
	"GetBucketLocation":                  (*Service).opGetBucketLocation,
	"PutBucketNotificationConfiguration": (*Service).opPutNotification,
	"GetBucketNotificationConfiguration": (*Service).opGetNotification,
	"ListObjectsV2":                      (*Service).opListObjectsV2,
	"PutObject":                          (*Service).opPutObject,
	"GetObject":                          (*Service).opGetObject,
	"HeadObject":                         (*Service).opGetObject,
	"DeleteObject":                       (*Service).opDeleteObject,
	"CreateMultipartUpload":              (*Service).opCreateUpload,
	"UploadPart":                         (*Service).opUploadPart,
	"CompleteMultipartUpload":            (*Service).opCompleteUpload,
	"AbortMultipartUpload":               (*Service).opAbortUpload,
	"ListMultipartUploads":               (*Service).opListUploads,
	"ListParts":                          (*Service).opListParts,
}

// ServeHTTP implements the REST protocol.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r, id := awssim.EnsureRequestID(w, r)
	w.Header().Set("X-Amz-Request-Id", id)
	w.Header().Set("X-Amz-Id-2", hostID(id))
	caller, ok := awssim.CallerFrom(r.Context())
	if !ok {
		WriteError(w, r, errAccessDenied())
		return
	}
	bucketName, key := target(r)
	q := r.URL.Query()
	q.Del("x-id") // the SDKs add ?x-id=<Operation>
	op := operation(r.Method, bucketName, key, q)
	fn := ops[op]
	if fn == nil {
		name := op
		if name == "" {
			name = r.Method + " with these parameters"
		}
		WriteError(w, r, errf(http.StatusNotImplemented, "NotImplemented", "A header or query you provided implies functionality that is not implemented: cloudsim's S3 does not simulate %s.", name))
		return
	}
	if ce := r.Header.Get("Content-Encoding"); strings.Contains(ce, "aws-chunked") || strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		// The SDKs send aws-chunked bodies (with a trailing checksum) over https only; cloudsim
		// serves plain http and does not decode them.
		WriteError(w, r, errf(http.StatusNotImplemented, "NotImplemented", "cloudsim's S3 does not decode aws-chunked bodies: use plain http, where the SDKs send the checksum as a header."))
		return
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(io.LimitReader(r.Body, MaxObjectSize+1)); err != nil {
			WriteError(w, r, errf(http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header."))
			return
		}
	}
	f := s.Faults()
	x := &req{w: w, r: r, caller: caller, bucket: bucketName, key: key, query: q, body: body, op: op}
	if f.applies(op) {
		wait, slowed := s.rnd.Delay(f.Latency, f.SlowDelay, f.SlowRate)
		if slowed {
			s.slow.Add(1)
		}
		if !retry.Sleep(r.Context(), wait) {
			return
		}
		if f.SlowDownRate > 0 || f.InternalErrorRate > 0 || f.UnavailableRate > 0 {
			v := s.float64()
			switch {
			case v < f.SlowDownRate:
				WriteError(w, r, errf(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."))
				return
			case v < f.SlowDownRate+f.InternalErrorRate:
				WriteError(w, r, errf(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again."))
				return
			case v < f.SlowDownRate+f.InternalErrorRate+f.UnavailableRate:
				WriteError(w, r, errf(http.StatusServiceUnavailable, "ServiceUnavailable", "Service is unable to handle request."))
				return
			}
		}
		x.cutBody = f.CutRate > 0 && s.float64() < f.CutRate
	}
	if e := fn(s, x); e != nil {
		WriteError(w, r, e)
		return
	}
	s.countCall(op)
}

// reply writes a successful answer: status and body (XML bodies get their content type).
func (s *Service) reply(x *req, status int, body []byte) {
	h := x.w.Header()
	if len(body) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/xml")
	}
	if x.r.Method != http.MethodHead || h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	if x.cutBody && len(body) > 0 && x.r.Method != http.MethodHead {
		s.cut.Add(1)
		x.w.WriteHeader(status)
		_, _ = x.w.Write(body[:len(body)/2])
		if fl, ok := x.w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler) // net/http closes the connection without logging
	}
	x.w.WriteHeader(status)
	if x.r.Method != http.MethodHead {
		_, _ = x.w.Write(body)
	}
}

func xmlBody(v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		panic(err) // the answer types always marshal
	}
	return append([]byte(xml.Header), b...)
}

// ownBucket returns the named bucket if the caller may use it: it must exist (NoSuchBucket),
// belong to the caller's account (AccessDenied) and be addressed in its region
// (AuthorizationHeaderMalformed names the right one, as S3 does).
func (s *Service) ownBucket(x *req) (*bucket, *s3Error) {
	b := s.bucket(x.bucket)
	if b == nil {
		return nil, errNoBucket(x.bucket)
	}
	if b.account != x.caller.AccountID {
		return nil, errAccessDenied()
	}
	if b.region != x.caller.Region {
		return nil, errf(http.StatusBadRequest, "AuthorizationHeaderMalformed",
			"The authorization header is malformed; the region '%s' is wrong; expecting '%s'", x.caller.Region, b.region).with("Region", b.region)
	}
	return b, nil
}

type bucketXML struct {
	Name         string
	CreationDate string
	BucketRegion string `xml:",omitempty"`
}

func (s *Service) opListBuckets(x *req) *s3Error {
	var out struct {
		XMLName xml.Name    `xml:"ListAllMyBucketsResult"`
		Xmlns   string      `xml:"xmlns,attr"`
		Owner   ownerXML    `xml:"Owner"`
		Buckets []bucketXML `xml:"Buckets>Bucket"`
	}
	out.Xmlns = xmlns
	out.Owner = owner(x.caller.AccountID)
	s.mu.RLock()
	for _, b := range s.buckets {
		if b.account == x.caller.AccountID {
			out.Buckets = append(out.Buckets, bucketXML{Name: b.name, CreationDate: b.created.UTC().Format(lastModifiedAt), BucketRegion: b.region})
		}
	}
	s.mu.RUnlock()
	sort.Slice(out.Buckets, func(i, j int) bool { return out.Buckets[i].Name < out.Buckets[j].Name })
	s.reply(x, http.StatusOK, xmlBody(out))
	return nil
}

type ownerXML struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

func owner(account string) ownerXML {
	sum := sha256.Sum256([]byte("cloudsim-owner-" + account))
	return ownerXML{ID: hexString(sum[:])}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

func (s *Service) opCreateBucket(x *req) *s3Error {
	region := DefaultRegion
	if len(bytes.TrimSpace(x.body)) > 0 {
		var cfg struct {
			LocationConstraint string
		}
		if err := xml.Unmarshal(x.body, &cfg); err != nil {
			return errf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
		if cfg.LocationConstraint != "" {
			region = cfg.LocationConstraint
		}
	}
	if region != x.caller.Region {
		if region == DefaultRegion {
			return errf(http.StatusBadRequest, "IllegalLocationConstraintException", "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
		}
		return errf(http.StatusBadRequest, "IllegalLocationConstraintException", "The %s location constraint is incompatible for the region specific endpoint this request was sent to.", region)
	}
	if _, e := s.createBucket(x.caller.AccountID, region, x.bucket); e != nil {
		return e
	}
	x.w.Header().Set("Location", "/"+x.bucket)
	s.reply(x, http.StatusOK, nil)
	return nil
}

func (s *Service) opHeadBucket(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	x.w.Header().Set("X-Amz-Bucket-Region", b.region)
	s.reply(x, http.StatusOK, nil)
	return nil
}

func (s *Service) opGetBucketLocation(x *req) *s3Error {
	b := s.bucket(x.bucket)
	if b == nil {
		return errNoBucket(x.bucket)
	}
	if b.account != x.caller.AccountID {
		return errAccessDenied()
	}
	loc := b.region
	if loc == DefaultRegion {
		loc = ""
	}
	s.reply(x, http.StatusOK, xmlBody(struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		Xmlns   string   `xml:"xmlns,attr"`
		Value   string   `xml:",chardata"`
	}{Xmlns: xmlns, Value: loc}))
	return nil
}

func (s *Service) opDeleteBucket(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	b.mu.RLock()
	n := len(b.objects) + len(b.uploads)
	b.mu.RUnlock()
	if n > 0 {
		return errf(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty").with("BucketName", b.name)
	}
	s.mu.Lock()
	delete(s.buckets, b.name)
	s.mu.Unlock()
	s.reply(x, http.StatusNoContent, nil)
	return nil
}

// ListObjectsV2

type contentsXML struct {
	Key          string
	LastModified string
	ETag         string
	Size         int64
	StorageClass string
}

type prefixXML struct{ Prefix string }

func (s *Service) opListObjectsV2(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	q := x.query
	prefix, delim, startAfter, token := q.Get("prefix"), q.Get("delimiter"), q.Get("start-after"), q.Get("continuation-token")
	maxKeys := MaxKeys
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errInvalidArgument("max-keys", v, "Provided max-keys not an integer or within integer range")
		}
		maxKeys = min(n, MaxKeys)
	}
	encode := q.Get("encoding-type")
	if encode != "" && encode != "url" {
		return errInvalidArgument("encoding-type", encode, "Invalid Encoding Method specified in Request")
	}
	after := startAfter
	if _, ok := q["continuation-token"]; ok {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || token == "" {
			return errInvalidArgument("continuation-token", token, "The continuation token provided is incorrect")
		}
		after = string(raw)
	}
	b.mu.RLock()
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	type out struct {
		XMLName               xml.Name `xml:"ListBucketResult"`
		Xmlns                 string   `xml:"xmlns,attr"`
		Name                  string
		Prefix                string
		Delimiter             string `xml:",omitempty"`
		MaxKeys               int
		EncodingType          string `xml:",omitempty"`
		KeyCount              int
		IsTruncated           bool
		ContinuationToken     string        `xml:",omitempty"`
		NextContinuationToken string        `xml:",omitempty"`
		StartAfter            string        `xml:",omitempty"`
		Contents              []contentsXML `xml:"Contents"`
		CommonPrefixes        []prefixXML   `xml:"CommonPrefixes"`
	}
	enc := func(v string) string {
		if encode == "url" {
			return strings.ReplaceAll(url.QueryEscape(v), "%2F", "/")
		}
		return v
	}
	o := out{Xmlns: xmlns, Name: b.name, Prefix: enc(prefix), Delimiter: enc(delim), MaxKeys: maxKeys, EncodingType: encode,
		ContinuationToken: token, StartAfter: enc(startAfter)}
	last := ""
	seenPrefix := map[string]bool{}
	for _, k := range keys {
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if seenPrefix[cp] {
					last = k
					continue
				}
				if o.KeyCount == maxKeys {
					o.IsTruncated = true
					break
				}
				seenPrefix[cp] = true
				o.CommonPrefixes = append(o.CommonPrefixes, prefixXML{enc(cp)})
				o.KeyCount++
				last = k
				continue
			}
		}
		if o.KeyCount == maxKeys {
			o.IsTruncated = true
			break
		}
		obj := b.objects[k]
		o.Contents = append(o.Contents, contentsXML{Key: enc(k), LastModified: obj.modified.UTC().Format(lastModifiedAt),
			ETag: obj.etag, Size: int64(len(obj.data)), StorageClass: "STANDARD"})
		o.KeyCount++
		last = k
	}
	b.mu.RUnlock()
	if o.IsTruncated {
		// The token resumes after the last key covered, including those folded into a common
		// prefix.
		if len(o.CommonPrefixes) > 0 && delim != "" {
			cp := o.CommonPrefixes[len(o.CommonPrefixes)-1].Prefix
			if encode == "url" {
				cp, _ = url.QueryUnescape(cp)
			}
			if strings.HasPrefix(last, cp) {
				last = cp + "\U0010FFFF"
			}
		}
		o.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
	}
	s.reply(x, http.StatusOK, xmlBody(o))
	return nil
}

// Objects

// checksums are the x-amz-checksum-* headers S3 verifies, with their hash functions.
var checksums = map[string]func() hash.Hash{
	"X-Amz-Checksum-Crc32":     func() hash.Hash { return crc32.NewIEEE() },
	"X-Amz-Checksum-Crc32c":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"X-Amz-Checksum-Crc64nvme": func() hash.Hash { return crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5)) },
	"X-Amz-Checksum-Sha1":      sha1.New,
	"X-Amz-Checksum-Sha256":    sha256.New,
}

// verifyBody checks Content-MD5 and the x-amz-checksum-* headers against the body, as S3 does,
// and returns the checksums to keep with the object.
func verifyBody(h http.Header, body []byte) (map[string]string, *s3Error) {
	if v := h.Get("Content-Md5"); v != "" {
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(want) != md5.Size {
			return nil, errf(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		sum := md5.Sum(body)
		if !bytes.Equal(sum[:], want) {
			return nil, errf(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	kept := map[string]string{}
	for name, newHash := range checksums {
		v := h.Get(name)
		if v == "" {
			continue
		}
		hh := newHash()
		hh.Write(body)
		got := base64.StdEncoding.EncodeToString(hh.Sum(nil))
		if got != v {
			alg := strings.ToUpper(strings.TrimPrefix(name, "X-Amz-Checksum-"))
			return nil, errf(http.StatusBadRequest, "BadDigest", "The %s you specified did not match the calculated checksum.", alg)
		}
		kept[name] = v
	}
	return kept, nil
}

// userMetadata returns the x-amz-meta-* headers.
func userMetadata(h http.Header) map[string]string {
	var m map[string]string
	for k, v := range h {
		if strings.HasPrefix(k, "X-Amz-Meta-") && len(v) > 0 {
			if m == nil {
				m = map[string]string{}
			}
			m[k] = v[0]
		}
	}
	return m
}

func (s *Service) opPutObject(x *req) *s3Error {
	if x.r.Header.Get("X-Amz-Copy-Source") != "" {
		return errf(http.StatusNotImplemented, "NotImplemented", "cloudsim's S3 does not simulate CopyObject.")
	}
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	if len(x.key) > MaxKeyLength {
		return errf(http.StatusBadRequest, "KeyTooLongError", "Your key is too long").with("MaxSizeAllowed", strconv.Itoa(MaxKeyLength)).with("Size", strconv.Itoa(len(x.key)))
	}
	if int64(len(x.body)) > MaxObjectSize {
		return errf(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
	}
	sums, e := verifyBody(x.r.Header, x.body)
	if e != nil {
		return e
	}
	o := &object{key: x.key, data: x.body, etag: etagOf(x.body), modified: s.now().UTC().Truncate(time.Millisecond),
		contentType: x.r.Header.Get("Content-Type"), contentEncoding: x.r.Header.Get("Content-Encoding"),
		metadata: userMetadata(x.r.Header), checksums: sums}
	if o.contentType == "" {
		o.contentType = "binary/octet-stream"
	}
	s.store(b, o, "ObjectCreated:Put", x.caller.UserID, remoteIP(x.r))
	x.w.Header().Set("ETag", o.etag)
	for k, v := range sums {
		x.w.Header().Set(k, v)
	}
	s.reply(x, http.StatusOK, nil)
	return nil
}

func remoteIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// rangeRE is the one byte range S3 serves: bytes=a-b, bytes=a- or bytes=-n.
var rangeRE = regexp.MustCompile(`^bytes=(\d*)-(\d*)$`)

// parseRange reads a Range header for an object of size bytes. ok is false for a header S3
// ignores (malformed, several ranges, or last before first): the whole object is served. A
// range that starts at or past the end has first >= size.
func parseRange(rg string, size int64) (first, last int64, ok bool) {
	m := rangeRE.FindStringSubmatch(rg)
	if m == nil || m[1] == "" && m[2] == "" {
		return 0, 0, false
	}
	if m[1] == "" { // the last n bytes
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return 0, 0, false
		}
		if n == 0 {
			return size, size, true
		}
		return max(size-n, 0), size - 1, true
	}
	first, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	last = size - 1
	if m[2] != "" {
		l, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil || l < first {
			return 0, 0, false
		}
		last = min(l, size-1)
	}
	return first, last, true
}

func (s *Service) opGetObject(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	b.mu.RLock()
	o := b.objects[x.key]
	b.mu.RUnlock()
	if o == nil {
		if x.r.Method == http.MethodHead {
			return errf(http.StatusNotFound, "NotFound", "Not Found")
		}
		return errNoKey(x.key)
	}
	h := x.w.Header()
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", o.contentType)
	if o.contentEncoding != "" {
		h.Set("Content-Encoding", o.contentEncoding)
	}
	for k, v := range o.metadata {
		h.Set(k, v)
	}
	if strings.EqualFold(x.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		for k, v := range o.checksums {
			h.Set(k, v)
		}
		if len(o.checksums) > 0 {
			h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
		}
	}
	data := o.data
	status := http.StatusOK
	if rg := x.r.Header.Get("Range"); rg != "" {
		size := int64(len(data))
		first, last, ok := parseRange(rg, size)
		if ok && first >= size {
			return errf(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable").
				with("RangeRequested", rg).with("ActualObjectSize", strconv.FormatInt(size, 10))
		}
		if ok {
			data = data[first : last+1]
			status = http.StatusPartialContent
			h.Set("Content-Range", "bytes "+strconv.FormatInt(first, 10)+"-"+strconv.FormatInt(last, 10)+"/"+strconv.FormatInt(size, 10))
			// The stored checksums are of the whole object.
			h.Del("X-Amz-Checksum-Type")
			for k := range checksums {
				h.Del(k)
			}
		}
	}
	if x.r.Method == http.MethodHead {
		h.Set("Content-Length", strconv.Itoa(len(data)))
		s.reply(x, status, nil)
		return nil
	}
	s.reply(x, status, data)
	return nil
}

func (s *Service) opDeleteObject(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	b.mu.Lock()
	_, existed := b.objects[x.key]
	delete(b.objects, x.key)
	b.mu.Unlock()
	if existed {
		s.notifyEvent(b, "ObjectRemoved:Delete", x.key, 0, "", x.caller.UserID, remoteIP(x.r))
	}
	s.reply(x, http.StatusNoContent, nil)
	return nil
}
