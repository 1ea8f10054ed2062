package s3

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// Shapes of the notification messages put on a queue.
const (
	// FormatS3 is S3's own event message, {"Records":[...]}: what S3 sends to SQS directly, and
	// what SNS with raw message delivery passes on.
	FormatS3 = "s3"
	// FormatSNS is the S3 event inside an SNS notification ({"Type":"Notification",
	// "Message":"<the S3 event as a JSON string>",...}): S3 → SNS topic → SQS.
	FormatSNS = "sns"
	// FormatEventBridge is an EventBridge event ({"source":"aws.s3","detail-type":"Object
	// Created","detail":{...}}): S3 → EventBridge rule → SQS. EventBridge sends no test event.
	FormatEventBridge = "eventbridge"
)

// Notification is one queue configuration of a bucket's event notifications.
type Notification struct {
	ID     string   // the configuration id (configurationId in the event); default generated
	Queue  string   // the queue's ARN
	Events []string // e.g. s3:ObjectCreated:* (default), s3:ObjectCreated:Put, s3:ObjectRemoved:*
	Prefix string   // key filter
	Suffix string   // key filter
	// Format is how the message is shaped: FormatS3 (default), FormatSNS or FormatEventBridge.
	Format string
}

func (n Notification) matches(eventName, key string) bool {
	if !strings.HasPrefix(key, n.Prefix) || !strings.HasSuffix(key, n.Suffix) {
		return false
	}
	for _, e := range n.Events {
		e = strings.TrimPrefix(e, "s3:")
		if e == eventName || strings.HasSuffix(e, ":*") && strings.HasPrefix(eventName, strings.TrimSuffix(e, "*")) {
			return true
		}
	}
	return false
}

// SetNotifications replaces the event notifications of a bucket (the Go API) and, as S3 does,
// sends an s3:TestEvent to each queue (in the configuration's format; none for EventBridge).
func (s *Service) SetNotifications(bucketName string, ns []Notification) error {
	b := s.bucket(bucketName)
	if b == nil {
		return errNoBucket(bucketName)
	}
	if e := s.setNotifications(b, ns); e != nil {
		return e
	}
	return nil
}

func (s *Service) setNotifications(b *bucket, ns []Notification) *s3Error {
	clean := make([]Notification, len(ns))
	for i, n := range ns {
		if n.ID == "" {
			n.ID = fmt.Sprintf("cloudsim-%s-%d", b.name, i+1)
		}
		if len(n.Events) == 0 {
			n.Events = []string{"s3:ObjectCreated:*"}
		}
		switch n.Format {
		case "":
			n.Format = FormatS3
		case FormatS3, FormatSNS, FormatEventBridge:
		default:
			return errInvalidArgument("Format", n.Format, "Unknown notification format %q (s3, sns or eventbridge).", n.Format)
		}
		for _, e := range n.Events {
			if !strings.HasPrefix(e, "s3:ObjectCreated:") && !strings.HasPrefix(e, "s3:ObjectRemoved:") {
				return errInvalidArgument("Event", e, "The event is not supported for notifications")
			}
		}
		if s.queues == nil || !s.queues.QueueExists(n.Queue) {
			return errInvalidArgument(n.Queue, "The destination queue does not exist", "Unable to validate the following destination configurations")
		}
		clean[i] = n
	}
	b.mu.Lock()
	b.notify = clean
	b.mu.Unlock()
	for _, n := range clean {
		if n.Format == FormatEventBridge {
			continue
		}
		msg := map[string]string{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": s.now().UTC().Format(lastModifiedAt),
			"Bucket": b.name, "RequestId": awssim.NewRequestID(), "HostId": hostID(b.name)}
		body, _ := json.Marshal(msg)
		s.deliver(b, n, string(body))
	}
	return nil
}

// notifyEvent sends the notifications of b that match an event on key.
func (s *Service) notifyEvent(b *bucket, eventName, key string, size int64, etag, principal, sourceIP string) {
	b.mu.RLock()
	var matched []Notification
	for _, n := range b.notify {
		if n.matches(eventName, key) {
			matched = append(matched, n)
		}
	}
	b.mu.RUnlock()
	if len(matched) == 0 {
		return
	}
	now := s.now().UTC()
	seq := fmt.Sprintf("%016X", uint64(now.UnixNano())+s.sequencer.Add(1))
	reqID := awssim.NewRequestID()
	for _, n := range matched {
		var body []byte
		switch n.Format {
		case FormatEventBridge:
			body = eventBridgeEvent(b, eventName, key, size, etag, principal, sourceIP, seq, reqID, now)
		default:
			body = s3Event(b, n.ID, eventName, key, size, etag, principal, sourceIP, seq, reqID, now)
		}
		s.deliver(b, n, string(body))
	}
}

// deliver puts a message on n's queue, in n's format, after the notification delay.
func (s *Service) deliver(b *bucket, n Notification, body string) {
	if n.Format == FormatSNS {
		body = snsEnvelope(b, body, s.now().UTC())
	}
	send := func() {
		copies := 1
		if f := s.Faults(); f.DuplicateNotifyRate > 0 && s.float64() < f.DuplicateNotifyRate {
			copies = 2
		}
		for range copies {
			if _, err := s.queues.Send(n.Queue, body); err != nil {
				s.notifyFailed.Add(1)
				s.logger.Warn("s3: event notification not delivered", "bucket", b.name, "queue", n.Queue, "error", err)
				continue
			}
			s.notified.Add(1)
		}
	}
	if s.notifyDelay <= 0 {
		send()
		return
	}
	s.notifications.Add(1)
	time.AfterFunc(s.notifyDelay, func() {
		defer s.notifications.Done()
		send()
	})
}

// eventKey encodes a key as S3 does in event messages: form-encoded (a space is '+'), '/' kept.
func eventKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}

func s3Event(b *bucket, configID, eventName, key string, size int64, etag, principal, sourceIP, seq, reqID string, now time.Time) []byte {
	obj := map[string]any{"key": eventKey(key), "sequencer": seq}
	if strings.HasPrefix(eventName, "ObjectCreated:") {
		obj["size"] = size
		obj["eTag"] = etag
	}
	rec := map[string]any{
		"eventVersion": "2.1",
		"eventSource":  "aws:s3",
		"awsRegion":    b.region,
		"eventTime":    now.Format(lastModifiedAt),
		"eventName":    eventName,
		"userIdentity": map[string]string{"principalId": "AWS:" + principal},
		"requestParameters": map[string]string{
			"sourceIPAddress": sourceIP,
		},
		"responseElements": map[string]string{"x-amz-request-id": reqID, "x-amz-id-2": hostID(reqID)},
		"s3": map[string]any{
			"s3SchemaVersion": "1.0",
			"configurationId": configID,
			"bucket": map[string]any{
				"name":          b.name,
				"ownerIdentity": map[string]string{"principalId": owner(b.account).ID[:14]},
				"arn":           "arn:" + awssim.Partition(b.region) + ":s3:::" + b.name,
			},
			"object": obj,
		},
	}
	body, _ := json.Marshal(map[string]any{"Records": []any{rec}})
	return body
}

func eventBridgeEvent(b *bucket, eventName, key string, size int64, etag, principal, sourceIP, seq, reqID string, now time.Time) []byte {
	detailType, reason := "Object Created", "PutObject"
	switch {
	case eventName == "ObjectCreated:CompleteMultipartUpload":
		reason = "CompleteMultipartUpload"
	case strings.HasPrefix(eventName, "ObjectRemoved:"):
		detailType, reason = "Object Deleted", "DeleteObject"
	}
	obj := map[string]any{"key": key, "sequencer": seq}
	if detailType == "Object Created" {
		obj["size"] = size
		obj["etag"] = etag
	}
	ev := map[string]any{
		"version":     "0",
		"id":          awssim.NewRequestID(),
		"detail-type": detailType,
		"source":      "aws.s3",
		"account":     b.account,
		"time":        now.Truncate(time.Second).Format(time.RFC3339),
		"region":      b.region,
		"resources":   []string{"arn:" + awssim.Partition(b.region) + ":s3:::" + b.name},
		"detail": map[string]any{
			"version":           "0",
			"bucket":            map[string]string{"name": b.name},
			"object":            obj,
			"request-id":        reqID,
			"requester":         b.account,
			"source-ip-address": sourceIP,
			"reason":            reason,
		},
	}
	body, _ := json.Marshal(ev)
	return body
}

// snsEnvelope wraps an S3 message as SNS delivers it to an SQS subscription without raw message
// delivery. The signature is not a real one: cloudsim has no SNS signing certificate.
func snsEnvelope(b *bucket, message string, now time.Time) string {
	part := awssim.Partition(b.region)
	topic := "arn:" + part + ":sns:" + b.region + ":" + b.account + ":cloudsim-s3-" + strings.ReplaceAll(b.name, ".", "-")
	env := map[string]string{
		"Type":             "Notification",
		"MessageId":        awssim.NewRequestID(),
		"TopicArn":         topic,
		"Subject":          "Amazon S3 Notification",
		"Message":          message,
		"Timestamp":        now.Format(lastModifiedAt),
		"SignatureVersion": "1",
		"Signature":        base64.StdEncoding.EncodeToString([]byte("cloudsim does not sign SNS messages")),
		"SigningCertURL":   "https://sns." + b.region + ".amazonaws.com/SimpleNotificationService-cloudsim.pem",
		"UnsubscribeURL":   "https://sns." + b.region + ".amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topic + ":" + awssim.NewRequestID(),
	}
	out, _ := json.Marshal(env)
	return string(out)
}

// notificationXML is the body of Put/GetBucketNotificationConfiguration (queue configurations
// only; topic and Lambda configurations are not simulated).
type notificationXML struct {
	XMLName xml.Name   `xml:"NotificationConfiguration"`
	Xmlns   string     `xml:"xmlns,attr,omitempty"`
	Queues  []queueXML `xml:"QueueConfiguration"`
	Topics  []struct{} `xml:"TopicConfiguration"`
	Lambdas []struct{} `xml:"CloudFunctionConfiguration"`
	Funcs   []struct{} `xml:"LambdaFunctionConfiguration"`
	Bridge  *struct{}  `xml:"EventBridgeConfiguration"`
}

type queueXML struct {
	ID     string       `xml:"Id,omitempty"`
	Queue  string       `xml:"Queue"`
	Events []string     `xml:"Event"`
	Rules  []filterRule `xml:"Filter>S3Key>FilterRule,omitempty"`
}

type filterRule struct {
	Name  string
	Value string
}

func (s *Service) opPutNotification(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	var in notificationXML
	if err := xml.Unmarshal(x.body, &in); err != nil {
		return errf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	if len(in.Topics)+len(in.Lambdas)+len(in.Funcs) > 0 || in.Bridge != nil {
		return errf(http.StatusNotImplemented, "NotImplemented", "cloudsim's S3 notifies SQS queues only (set the SNS or EventBridge shape in cloudsim's configuration).")
	}
	var ns []Notification
	for _, q := range in.Queues {
		n := Notification{ID: q.ID, Queue: q.Queue, Events: q.Events}
		for _, r := range q.Rules {
			switch strings.ToLower(r.Name) {
			case "prefix":
				n.Prefix = r.Value
			case "suffix":
				n.Suffix = r.Value
			default:
				return errInvalidArgument("FilterRule", r.Name, "filter rule name must be either prefix or suffix")
			}
		}
		if len(n.Events) == 0 {
			return errf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
		ns = append(ns, n)
	}
	if e := s.setNotifications(b, ns); e != nil {
		return e
	}
	s.reply(x, http.StatusOK, nil)
	return nil
}

func (s *Service) opGetNotification(x *req) *s3Error {
	b, e := s.ownBucket(x)
	if e != nil {
		return e
	}
	out := notificationXML{Xmlns: xmlns}
	b.mu.RLock()
	for _, n := range b.notify {
		q := queueXML{ID: n.ID, Queue: n.Queue, Events: n.Events}
		if n.Prefix != "" {
			q.Rules = append(q.Rules, filterRule{"Prefix", n.Prefix})
		}
		if n.Suffix != "" {
			q.Rules = append(q.Rules, filterRule{"Suffix", n.Suffix})
		}
		out.Queues = append(out.Queues, q)
	}
	b.mu.RUnlock()
	s.reply(x, http.StatusOK, xmlBody(out))
	return nil
}
