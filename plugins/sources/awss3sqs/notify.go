package awss3sqs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// objectRef names one object a notification announced.
type objectRef struct {
	Bucket string
	Key    string // as stored (URL-decoded)
	Region string // the bucket's region, when the notification says
	Size   int64
}

// notice is what one SQS message body announced.
type notice struct {
	objects []objectRef
	// test says the body is S3's s3:TestEvent (sent when a notification configuration is
	// saved): nothing to read.
	test bool
	// skipped counts events that announce no new object (ObjectRemoved:*, other EventBridge
	// detail types): nothing to read.
	skipped int
	// form names the notification's shape: "s3", "sns", "eventbridge".
	form string
}

// errNotNotification marks a body that is no S3 notification in any shape this source knows.
var errNotNotification = errors.New("not an S3 event notification (direct, SNS-wrapped or EventBridge)")

// body is every top-level field the known shapes use. encoding/json matches names without
// regard to case, so no two of the shapes' fields may differ only by it (they do not).
type body struct {
	Records  *[]s3Record `json:"Records"`
	Type     string      `json:"Type"`
	TopicArn string      `json:"TopicArn"`
	Message  *string     `json:"Message"`
	Event    string      `json:"Event"`
	Service  string      `json:"Service"`

	Source     string          `json:"source"`
	DetailType *string         `json:"detail-type"`
	Region     string          `json:"region"`
	Detail     *eventBridgeObj `json:"detail"`
}

type s3Record struct {
	EventVersion string `json:"eventVersion"`
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	AWSRegion    string `json:"awsRegion"`
	S3           *struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
		} `json:"object"`
	} `json:"s3"`
}

type eventBridgeObj struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key  string `json:"key"`
		Size int64  `json:"size"`
	} `json:"object"`
}

// parseNotice reads an SQS message body: an S3 event notification sent to SQS directly
// ({"Records":[...]}, keys URL-encoded with + for a space), the same wrapped by SNS (its
// Message a JSON string; raw message delivery gives the direct shape), an EventBridge "Object
// Created" event (keys as they are), or S3's s3:TestEvent, direct or wrapped. Anything else is
// errNotNotification, and so is an object event without a bucket or key.
func parseNotice(raw []byte) (notice, error) {
	return parseNoticeDepth(raw, 0)
}

func parseNoticeDepth(raw []byte, depth int) (notice, error) {
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		return notice{}, fmt.Errorf("%w: %v", errNotNotification, err)
	}
	switch {
	case b.Records != nil:
		n := notice{form: "s3"}
		for i, r := range *b.Records {
			if r.EventSource != "" && r.EventSource != "aws:s3" || !strings.HasPrefix(r.EventName, "ObjectCreated:") {
				n.skipped++
				continue
			}
			if r.S3 == nil || r.S3.Bucket.Name == "" || r.S3.Object.Key == "" {
				return notice{}, fmt.Errorf("%w: record %d has no s3.bucket.name or s3.object.key", errNotNotification, i)
			}
			key, err := url.QueryUnescape(r.S3.Object.Key)
			if err != nil {
				return notice{}, fmt.Errorf("%w: record %d: key %q is not URL-encoded: %v", errNotNotification, i, r.S3.Object.Key, err)
			}
			n.objects = append(n.objects, objectRef{Bucket: r.S3.Bucket.Name, Key: key, Region: r.AWSRegion, Size: r.S3.Object.Size})
		}
		return n, nil
	case b.Type == "Notification" && b.TopicArn != "" && b.Message != nil && depth == 0:
		n, err := parseNoticeDepth([]byte(*b.Message), depth+1)
		if err != nil {
			return notice{}, fmt.Errorf("SNS message of topic %s: %w", b.TopicArn, err)
		}
		n.form = "sns"
		return n, nil
	case b.Source == "aws.s3" && b.Detail != nil:
		n := notice{form: "eventbridge"}
		// Security Lake's subscriber queue sends this shape without detail-type.
		if b.DetailType != nil && *b.DetailType != "Object Created" {
			n.skipped++
			return n, nil
		}
		if b.Detail.Bucket.Name == "" || b.Detail.Object.Key == "" {
			return notice{}, fmt.Errorf("%w: EventBridge event without detail.bucket.name or detail.object.key", errNotNotification)
		}
		n.objects = []objectRef{{Bucket: b.Detail.Bucket.Name, Key: b.Detail.Object.Key, Region: b.Region, Size: b.Detail.Object.Size}}
		return n, nil
	case b.Event == "s3:TestEvent":
		return notice{test: true, form: "s3"}, nil
	}
	return notice{}, errNotNotification
}

// isDigest reports whether key is a CloudTrail digest file (log file integrity validation),
// which holds no records.
func isDigest(key string) bool {
	return strings.Contains(key, "/CloudTrail-Digest/") || strings.HasPrefix(key, "CloudTrail-Digest/") ||
		strings.Contains(key, "_CloudTrail-Digest_")
}
