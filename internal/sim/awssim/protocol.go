package awssim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
)

// Error codes of authentication failures, as the JSON protocols (awsJson1.0/1.1, restJson1)
// name them. QueryErrors translates them to the query protocol's names.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeIncompleteSignature        = "IncompleteSignatureException"
	CodeInvalidSignature           = "InvalidSignatureException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
	CodeExpiredToken               = "ExpiredTokenException"
)

// Messages of authentication failures, as AWS words them.
const (
	MsgMissingAuthenticationToken = "Missing Authentication Token"
	MsgInvalidToken               = "The security token included in the request is invalid."
	MsgExpiredToken               = "The security token included in the request is expired"
	MsgSignatureMismatch          = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

// An ErrorWriter writes an AWS error in the wire format of one protocol. The verifier and the
// router use it for authentication failures, so a client's SDK parses them as it would AWS's.
type ErrorWriter interface {
	WriteError(w http.ResponseWriter, r *http.Request, e *Error)
}

// ErrorWriterFunc adapts a function to ErrorWriter.
type ErrorWriterFunc func(w http.ResponseWriter, r *http.Request, e *Error)

// WriteError calls f.
func (f ErrorWriterFunc) WriteError(w http.ResponseWriter, r *http.Request, e *Error) { f(w, r, e) }

// JSONErrors writes errors as awsJson1.0, awsJson1.1 and restJson1 services do (WriteJSONError).
var JSONErrors ErrorWriter = ErrorWriterFunc(func(w http.ResponseWriter, r *http.Request, e *Error) {
	if RequestIDFrom(r.Context()) == "" {
		EnsureRequestID(w, r)
	}
	WriteJSONError(w, e)
})

// QueryErrors writes errors as the AWS query protocol does (STS, IAM, ...): an XML ErrorResponse
// in Namespace, with the codes the query protocol uses for authentication failures
// (InvalidClientTokenId, SignatureDoesNotMatch, MissingAuthenticationToken, ...).
type QueryErrors struct {
	Namespace string // e.g. https://sts.amazonaws.com/doc/2011-06-15/
}

// WriteError writes e, its code translated by QueryError.
func (q QueryErrors) WriteError(w http.ResponseWriter, r *http.Request, e *Error) {
	WriteQueryError(w, r, q.Namespace, QueryError(e))
}

// queryCodes maps JSON-protocol codes to their query-protocol names.
var queryCodes = map[string]struct{ code, message string }{
	CodeMissingAuthenticationToken: {"MissingAuthenticationToken", "Request is missing Authentication Token"},
	CodeIncompleteSignature:        {"IncompleteSignature", ""},
	CodeInvalidSignature:           {"SignatureDoesNotMatch", ""},
	CodeUnrecognizedClient:         {"InvalidClientTokenId", ""},
	CodeExpiredToken:               {"ExpiredToken", ""},
	"AccessDeniedException":        {"AccessDenied", ""},
	"ThrottlingException":          {"Throttling", "Rate exceeded"},
	"ValidationException":          {"ValidationError", ""},
}

// QueryError returns e with its code (and, where the query protocol words it differently, its
// message) as the query protocol has them. Codes it does not know are kept.
func QueryError(e *Error) *Error {
	m, ok := queryCodes[e.Code]
	if !ok {
		return e
	}
	out := *e
	out.Code = m.code
	if m.message != "" {
		out.Message = m.message
	}
	return &out
}

// WriteQueryError writes e, unchanged, as a query-protocol ErrorResponse in namespace:
//
//	<ErrorResponse xmlns="...">
//	  <Error>
//	    <Type>Sender</Type>
//	    <Code>...</Code>
//	    <Message>...</Message>
//	  </Error>
//	  <RequestId>...</RequestId>
//	</ErrorResponse>
//
// Type is Receiver for 5xx statuses.
func WriteQueryError(w http.ResponseWriter, r *http.Request, namespace string, e *Error) {
	_, id := EnsureRequestID(w, r)
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="`)
	xmlEscape(&b, namespace)
	b.WriteString("\">\n  <Error>\n    <Type>")
	b.WriteString(typ)
	b.WriteString("</Type>\n    <Code>")
	xmlEscape(&b, e.Code)
	b.WriteString("</Code>\n")
	if e.Message != "" {
		b.WriteString("    <Message>")
		xmlEscape(&b, e.Message)
		b.WriteString("</Message>\n")
	}
	b.WriteString("  </Error>\n  <RequestId>")
	xmlEscape(&b, id)
	b.WriteString("</RequestId>\n</ErrorResponse>\n")
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b.Bytes())
}

// xmlEscape writes s escaped as XML character data (or an attribute value).
func xmlEscape(b *bytes.Buffer, s string) { _ = xml.EscapeText(b, []byte(s)) }

// XMLEscape returns s escaped as XML character data.
func XMLEscape(s string) string {
	var b bytes.Buffer
	xmlEscape(&b, s)
	return b.String()
}

// DecodeJSON unmarshals a JSON protocol request body into v; an empty body is an empty object,
// and a body that does not unmarshal is AWS's SerializationException.
func DecodeJSON(body []byte, v any) *Error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Errorf(http.StatusBadRequest, "SerializationException", "%v", err)
	}
	return nil
}
