package sqs

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// queryCodes are the codes the query protocol gives the modeled errors; the SDKs read them from
// the x-amzn-query-error header (sqs schemas, awsQueryError trait).
var queryCodes = map[string]string{
	"QueueDoesNotExist":            "AWS.SimpleQueueService.NonExistentQueue",
	"MessageNotInflight":           "AWS.SimpleQueueService.MessageNotInflight",
	"TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
	"EmptyBatchRequest":            "AWS.SimpleQueueService.EmptyBatchRequest",
	"BatchEntryIdsNotDistinct":     "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
	"InvalidBatchEntryId":          "AWS.SimpleQueueService.InvalidBatchEntryId",
	"BatchRequestTooLong":          "AWS.SimpleQueueService.BatchRequestTooLong",
	"UnsupportedOperation":         "AWS.SimpleQueueService.UnsupportedOperation",
	"PurgeQueueInProgress":         "AWS.SimpleQueueService.PurgeQueueInProgress",
	"QueueDeletedRecently":         "AWS.SimpleQueueService.QueueDeletedRecently",
	"QueueNameExists":              "QueueAlreadyExists",
	"QueueAlreadyExists":           "QueueAlreadyExists",
	"ReceiptHandleIsInvalid":       "ReceiptHandleIsInvalid",
	"InvalidAttributeName":         "InvalidAttributeName",
	"InvalidAttributeValue":        "InvalidAttributeValue",
	"OverLimit":                    "OverLimit",
	"RequestThrottled":             "RequestThrottled",
}

// jsonTypes are the __type names of errors whose query code differs from their JSON name.
var jsonTypes = map[string]string{"QueueAlreadyExists": "QueueNameExists"}

// WriteError writes e as SQS does in the JSON protocol: __type com.amazonaws.sqs#<Code>, the
// message, and x-amzn-query-error: <query code>;Sender|Receiver. Authentication failures keep
// the JSON code in __type and get their query-protocol code (InvalidClientTokenId, ...) in the
// header.
func WriteError(w http.ResponseWriter, r *http.Request, e *awssim.Error) {
	if awssim.RequestIDFrom(r.Context()) == "" {
		awssim.EnsureRequestID(w, r)
	}
	typ := e.Code
	if t, ok := jsonTypes[typ]; ok {
		typ = t
	}
	q, ok := queryCodes[e.Code]
	if !ok {
		q = awssim.QueryError(e).Code
	}
	fault := "Sender"
	if e.Status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Query-Error", q+";"+fault)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + typ, "message": e.Message})
}

// Errors is the awssim.ErrorWriter of the SQS route (authentication failures).
var Errors awssim.ErrorWriter = awssim.ErrorWriterFunc(WriteError)

func errNoQueue() *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "QueueDoesNotExist", "The specified queue does not exist.")
}

func errInvalidParam(format string, args ...any) *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "InvalidParameterValue", format, args...)
}

func errMissing(name string) *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter %s.", name)
}

func errUnsupported(msg string) *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "UnsupportedOperation", "%s", msg)
}

func errHandleInvalid(h string) *awssim.Error {
	return awssim.Errorf(http.StatusNotFound, "ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", h)
}

func errHandleExpired(h string) *awssim.Error {
	return errInvalidParam("Value %s for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.", h)
}

func errNotInflight() *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "MessageNotInflight", "The message referred to isn't in flight.")
}

func encodeHandle(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }

func decodeHandle(h string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return "", false
	}
	return string(b), true
}

func atoi(s string) (int, error) { return strconv.Atoi(s) }
