package awss3sqs

import (
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/logshipper/logshipper/internal/plugin"
)

// apiError is err as the SDK returns an answer with status and code.
func apiError(status int, code string) error {
	return &smithy.OperationError{ServiceID: "SQS", OperationName: "ReceiveMessage", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err: &smithy.GenericAPIError{Code: code, Message: code}}}}
}

// Throttling is never a misconfiguration, though SQS answers RequestThrottled with 403; a
// denial, a missing queue and (on the first call) another 4xx are.
func TestConfigErrorClasses(t *testing.T) {
	s := &Source{cfg: &Config{QueueURL: "https://sqs.us-east-1.amazonaws.com/111122223333/q"}, region: "us-east-1"}
	for _, tc := range []struct {
		err   error
		first bool
		fatal bool
	}{
		{apiError(403, "RequestThrottled"), false, false},
		{apiError(403, "RequestThrottled"), true, false},
		{apiError(400, "ThrottlingException"), true, false},
		{apiError(429, "TooManyRequests"), true, false},
		{apiError(503, "ServiceUnavailable"), true, false},
		{apiError(500, "InternalError"), false, false},
		{apiError(403, "AccessDenied"), false, true},
		{apiError(400, "AWS.SimpleQueueService.NonExistentQueue"), false, true},
		{apiError(404, "NotFound"), true, true},
		{apiError(404, "NotFound"), false, false},
	} {
		err := s.configError("sqs:ReceiveMessage", tc.err, tc.first)
		if got := err != nil && plugin.IsFatal(err); got != tc.fatal {
			t.Errorf("%v (first call %v): fatal %v, want %v (%v)", tc.err, tc.first, got, tc.fatal, err)
		}
	}
	ref := objectRef{Bucket: "b", Key: "k"}
	if err := s.s3ConfigError(ref, apiError(503, "SlowDown")); err != nil {
		t.Errorf("SlowDown: %v", err)
	}
	if err := s.s3ConfigError(ref, apiError(403, "AccessDenied")); !plugin.IsFatal(err) {
		t.Errorf("AccessDenied: %v", err)
	}
}
