package lakeapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Call error codes of PutAuditEvents (HTTP 400; retrying the same call cannot help).
const (
	ErrCodeChannelInsufficientPermission = "ChannelInsufficientPermission"
	ErrCodeChannelNotFound               = "ChannelNotFound"
	ErrCodeChannelUnsupportedSchema      = "ChannelUnsupportedSchema"
	ErrCodeDuplicatedAuditEventID        = "DuplicatedAuditEventId"
	ErrCodeInvalidChannelARN             = "InvalidChannelARN"
	ErrCodeUnsupportedOperation          = "UnsupportedOperationException"
)

// Per-event error codes of PutAuditEvents (Failed[].ErrorCode).
const (
	EventErrFieldTooLong         = "FieldTooLong"
	EventErrFieldNotFound        = "FieldNotFound"
	EventErrInvalidChecksum      = "InvalidChecksum"
	EventErrInvalidData          = "InvalidData"
	EventErrInvalidRecipient     = "InvalidRecipient"
	EventErrInvalidEventSource   = "InvalidEventSource"
	EventErrAccountNotSubscribed = "AccountNotSubscribed"
	EventErrThrottling           = "Throttling"
	EventErrInternalFailure      = "InternalFailure"
)

// EventErrorRetryable reports whether a per-event error code (Failed[].ErrorCode) is worth
// sending again: Throttling and InternalFailure are; the others (FieldTooLong, FieldNotFound,
// InvalidChecksum, InvalidData, InvalidRecipient, InvalidEventSource, AccountNotSubscribed)
// refuse the event itself. An unknown code is taken as retryable: the event may be fine.
func EventErrorRetryable(code string) bool {
	switch code {
	case EventErrFieldTooLong, EventErrFieldNotFound, EventErrInvalidChecksum, EventErrInvalidData,
		EventErrInvalidRecipient, EventErrInvalidEventSource, EventErrAccountNotSubscribed:
		return false
	}
	return true
}

// APIError is an error answer of the service.
type APIError struct {
	Operation string // PutAuditEvents, GetChannel
	Status    int    // HTTP status
	Code      string // e.g. ChannelNotFound; "" when the answer named none (a proxy's page)
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("cloudtrail ")
	b.WriteString(e.Operation)
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
	} else {
		b.WriteString(http.StatusText(e.Status))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	b.WriteString(" (HTTP ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.RequestID != "" {
		b.WriteString(", request id ")
		b.WriteString(e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// ErrorCode, ErrorMessage and ErrorFault make APIError a smithy.APIError, as the SDK's are.
func (e *APIError) ErrorCode() string    { return e.Code }
func (e *APIError) ErrorMessage() string { return e.Message }
func (e *APIError) ErrorFault() smithy.ErrorFault {
	if e.Status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

var _ smithy.APIError = (*APIError)(nil)

// InvalidInputError is a call refused before it was sent (a malformed channel ARN, too many
// events, a body over the limit). Sending it again cannot help.
type InvalidInputError struct{ Msg string }

func (e *InvalidInputError) Error() string { return e.Msg }

// decodeError is a success status whose body could not be read. Whether the events were
// stored is unknown; sending them again is safe (ids are deterministic).
type decodeError struct {
	op  string
	err error
}

func (e *decodeError) Error() string {
	return "cloudtrail " + e.op + ": reading the answer: " + e.err.Error()
}
func (e *decodeError) Unwrap() error { return e.err }

// parseError builds the APIError of a non-2xx answer: the code from X-Amzn-ErrorType, else the
// body's __type, code or Code; the message from message or Message. Codes are cleaned as AWS
// clients do: "aws.protocoltests#FooError:http://..." is FooError.
func parseError(op string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Operation: op, Status: resp.StatusCode, RequestID: requestID(resp.Header)}
	var doc struct {
		Type     string `json:"__type"`
		LowCode  string `json:"code"`
		Code     string `json:"Code"`
		LowMsg   string `json:"message"`
		Msg      string `json:"Message"`
		ErrorMsg string `json:"errorMessage"`
	}
	jsonOK := json.Unmarshal(body, &doc) == nil
	e.Code = sanitizeCode(resp.Header.Get("X-Amzn-ErrorType"))
	if e.Code == "" && jsonOK {
		e.Code = sanitizeCode(firstNonEmpty(doc.Type, doc.LowCode, doc.Code))
	}
	if jsonOK {
		e.Message = firstNonEmpty(doc.LowMsg, doc.Msg, doc.ErrorMsg)
	} else if t := strings.TrimSpace(string(body)); t != "" {
		// Not AWS's answer (a proxy's, a load balancer's): keep its start for the log.
		if len(t) > 256 {
			t = t[:256] + "..."
		}
		e.Message = strings.ToValidUTF8(t, "?")
	}
	return e
}

func requestID(h http.Header) string {
	if id := h.Get("X-Amzn-Requestid"); id != "" {
		return id
	}
	return h.Get("X-Amz-Request-Id")
}

// sanitizeCode strips a "namespace#" prefix and a ":uri" suffix.
func sanitizeCode(c string) string {
	c = strings.TrimSpace(c)
	if i := strings.IndexByte(c, ':'); i >= 0 {
		c = c[:i]
	}
	if i := strings.LastIndexByte(c, '#'); i >= 0 {
		c = c[i+1:]
	}
	return c
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// errorCode returns the AWS error code and HTTP status in err's chain: ours, or an SDK
// client's (the credential chain's STS and IMDS calls).
func errorCode(err error) (code string, status int, ok bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code, ae.Status, true
	}
	var se smithy.APIError
	if errors.As(err, &se) {
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			status = re.HTTPStatusCode()
		}
		return se.ErrorCode(), status, true
	}
	return "", 0, false
}

var throttleCodes = map[string]bool{
	"ThrottlingException": true, "Throttling": true, "ThrottledException": true, "RequestThrottledException": true,
	"TooManyRequestsException": true, "ProvisionedThroughputExceededException": true, "TransactionInProgressException": true,
	"RequestLimitExceeded": true, "BandwidthLimitExceeded": true, "RequestThrottled": true, "SlowDown": true,
	"PriorRequestNotComplete": true, "EC2ThrottledException": true,
}

var transientCodes = map[string]bool{
	"InternalFailure": true, "InternalError": true, "InternalServerError": true, "InternalServerException": true,
	"ServiceUnavailable": true, "ServiceUnavailableException": true, "RequestTimeout": true,
	"RequestTimeoutException": true, "IDPCommunicationError": true,
}

var permanentCodes = map[string]bool{
	// PutAuditEvents call errors.
	ErrCodeChannelInsufficientPermission: true, ErrCodeChannelNotFound: true, ErrCodeChannelUnsupportedSchema: true,
	ErrCodeDuplicatedAuditEventID: true, ErrCodeInvalidChannelARN: true, ErrCodeUnsupportedOperation: true,
	// GetChannel's names for the same.
	"ChannelNotFoundException": true, "ChannelARNInvalidException": true,
	// A request the service's model refuses.
	"ValidationException": true, "SerializationException": true, "UnknownOperationException": true,
}

var authCodes = map[string]bool{
	"UnrecognizedClientException": true, "InvalidSignatureException": true, "IncompleteSignatureException": true,
	"MissingAuthenticationTokenException": true, "MissingAuthenticationToken": true, "InvalidClientTokenId": true,
	"SignatureDoesNotMatch": true, "IncompleteSignature": true, "AuthFailure": true, "NotAuthorized": true,
	"InvalidAccessKeyId": true, "UnauthorizedOperation": true,
}

// IsThrottle reports whether err is the service asking to slow down.
func IsThrottle(err error) bool {
	code, status, ok := errorCode(err)
	return ok && (throttleCodes[code] || status == http.StatusTooManyRequests)
}

// IsAuth reports whether err is an authentication or authorization refusal: unknown or
// expired credentials, a bad signature (or a clock far off), access denied.
func IsAuth(err error) bool {
	code, _, ok := errorCode(err)
	return ok && isAuthCode(code)
}

func isAuthCode(code string) bool {
	return authCodes[code] || strings.HasPrefix(code, "AccessDenied") || strings.HasPrefix(code, "ExpiredToken")
}

// IsPermanent reports whether sending the same call again cannot succeed: the call errors of
// PutAuditEvents (ChannelInsufficientPermission, ChannelNotFound, ChannelUnsupportedSchema,
// DuplicatedAuditEventId, InvalidChannelARN, UnsupportedOperationException), a request the
// service's model refuses (ValidationException, SerializationException), an input refused
// before sending (InvalidInputError), and authentication errors (IsAuth).
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var ie *InvalidInputError
	if errors.As(err, &ie) {
		return true
	}
	code, _, ok := errorCode(err)
	return ok && (permanentCodes[code] || isAuthCode(code))
}

// IsRetryable reports whether the same call may succeed later: throttling, a server error
// (5xx, InternalFailure, ServiceUnavailable), a network error or a timeout, an answer that
// could not be read. A cancelled context is not retryable (the caller stopped), nor is a TLS
// certificate the client does not trust.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if code, status, ok := errorCode(err); ok {
		if throttleCodes[code] || transientCodes[code] || status == http.StatusTooManyRequests || status >= 500 {
			return true
		}
		if code != "" || status != 0 {
			return false
		}
	}
	var de *decodeError
	if errors.As(err, &de) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if isCertificateError(err) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

func isCertificateError(err error) bool {
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
	)
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cve)
}
