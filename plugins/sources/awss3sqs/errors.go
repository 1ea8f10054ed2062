package awss3sqs

import (
	"errors"
	"fmt"
	"net"
	"strings"

	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/logshipper/logshipper/internal/plugin"
)

// accessCodes are the error codes of credentials AWS does not take or of a denied call.
var accessCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "InvalidSecurity": true, "InvalidClientTokenId": true,
	"UnrecognizedClientException": true, "SignatureDoesNotMatch": true, "ExpiredToken": true,
	"KMS.AccessDeniedException": true, "AuthorizationHeaderMalformed": true, "InvalidAccessKeyId": true,
}

// queueMissingCodes say the queue does not exist (the query-mode code and the JSON one).
var queueMissingCodes = map[string]bool{
	"AWS.SimpleQueueService.NonExistentQueue": true, "QueueDoesNotExist": true, "InvalidAddress": true,
}

// errorCode is the AWS error code of err, "" when it has none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of the answer err came with, 0 when there was none.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// throttled reports whether err is AWS throttling the caller: SQS answers RequestThrottled
// with 403, which is no denial.
func throttled(err error) bool {
	code := errorCode(err)
	if _, ok := awsretry.DefaultThrottleErrorCodes[code]; ok {
		return true
	}
	return strings.Contains(code, "Throttl") || httpStatus(err) == 429
}

// configError returns a fatal error naming the option to fix when err from the SQS call op
// says the configuration is wrong (the queue does not exist, access is denied, the endpoint is
// not SQS or its host does not resolve), else nil. first says op is the first call to the
// queue: there any other 4xx answer also means an endpoint that is no SQS.
func (s *Source) configError(op string, err error, first bool) error {
	if throttled(err) {
		return nil
	}
	code := errorCode(err)
	status := httpStatus(err)
	switch {
	case queueMissingCodes[code]:
		return plugin.Fatal(fmt.Errorf("queue_url: the queue %s does not exist in region %s (%s: %s); check queue_url, region and endpoint", s.cfg.QueueURL, s.region, op, code))
	case accessCodes[code] || status == 403:
		return plugin.Fatal(fmt.Errorf("access_key_id, assume_role_arn: %s on %s was denied (%s): the credentials need sqs:ReceiveMessage, sqs:DeleteMessage, sqs:ChangeMessageVisibility, sqs:GetQueueAttributes and s3:GetObject: %w", op, s.cfg.QueueURL, code, err))
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return plugin.Fatal(fmt.Errorf("endpoint, region, queue_url: the host %s does not resolve (%s): %w", dns.Name, op, err))
	}
	if first && status >= 400 && status < 500 && status != 408 {
		return plugin.Fatal(fmt.Errorf("endpoint, region, queue_url: %s answered %d (%s): is the endpoint SQS, in the queue's region? %w", op, status, code, err))
	}
	return nil
}

// s3ConfigError returns a fatal error naming the option to fix when err from GetObject says
// the configuration is wrong (access denied: every object would be), else nil.
func (s *Source) s3ConfigError(ref objectRef, err error) error {
	if throttled(err) {
		return nil
	}
	code := errorCode(err)
	if accessCodes[code] || httpStatus(err) == 403 {
		return plugin.Fatal(fmt.Errorf("access_key_id, assume_role_arn: s3:GetObject on s3://%s/%s was denied (%s): the credentials need s3:GetObject on the bucket (and kms:Decrypt for a KMS-encrypted trail): %w", ref.Bucket, ref.Key, code, err))
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return plugin.Fatal(fmt.Errorf("endpoint, path_style: the S3 host %s does not resolve: %w", dns.Name, err))
	}
	return nil
}

// s3Poison reports whether err from GetObject means the object can never be read: it or its
// bucket is gone, or it is archived.
func s3Poison(err error) bool {
	switch errorCode(err) {
	case "NoSuchKey", "NotFound", "NoSuchBucket", "InvalidObjectState", "NoSuchVersion":
		return true
	}
	return httpStatus(err) == 404
}

// handleGone reports whether err from ChangeMessageVisibility or DeleteMessage says the
// receipt handle is no longer valid (the message was received again by another reader, or
// deleted): nothing more to do with it.
func handleGone(err error) bool {
	switch errorCode(err) {
	case "ReceiptHandleIsInvalid", "InvalidParameterValue", "AWS.SimpleQueueService.MessageNotInflight", "MessageNotInflight":
		return true
	}
	return false
}
