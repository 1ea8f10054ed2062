package sqs

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/retry"
	"github.com/logshipper/logshipper/internal/sim/awssim"
	"github.com/logshipper/logshipper/internal/sim/simfault"
)

// TargetPrefix is the X-Amz-Target prefix of the SQS JSON API.
const TargetPrefix = "AmazonSQS."

type call struct {
	ctx    context.Context
	caller awssim.Caller
	host   string // scheme://host of the request, for queue URLs
	body   []byte
}

type handlerFunc func(s *Service, c *call) (any, *awssim.Error)

var handlers = map[string]handlerFunc{
	"CreateQueue":                  (*Service).opCreateQueue,
	"GetQueueUrl":                  (*Service).opGetQueueURL,
	"GetQueueAttributes":           (*Service).opGetQueueAttributes,
	"SetQueueAttributes":           (*Service).opSetQueueAttributes,
	"ListQueues":                   (*Service).opListQueues,
	"DeleteQueue":                  (*Service).opDeleteQueue,
	"SendMessage":                  (*Service).opSendMessage,
	"SendMessageBatch":             (*Service).opSendMessageBatch,
	"ReceiveMessage":               (*Service).opReceiveMessage,
	"DeleteMessage":                (*Service).opDeleteMessage,
	"DeleteMessageBatch":           (*Service).opDeleteMessageBatch,
	"ChangeMessageVisibility":      (*Service).opChangeVisibility,
	"ChangeMessageVisibilityBatch": (*Service).opChangeVisibilityBatch,
	"PurgeQueue":                   (*Service).opPurgeQueue,
}

const maxBody = 2 << 20

// ServeHTTP implements the JSON protocol.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r, _ = awssim.EnsureRequestID(w, r)
	caller, ok := awssim.CallerFrom(r.Context())
	if !ok {
		WriteError(w, r, awssim.Errorf(http.StatusForbidden, awssim.CodeMissingAuthenticationToken, awssim.MsgMissingAuthenticationToken))
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, found := strings.CutPrefix(target, TargetPrefix)
	h := handlers[op]
	if r.Method != http.MethodPost || !found || h == nil {
		if r.Header.Get("X-Amz-Target") == "" {
			// The query protocol (Action=... forms) is not simulated: the current SDKs and the
			// aws CLI speak JSON.
			WriteError(w, r, awssim.Errorf(http.StatusBadRequest, "InvalidAction", "cloudsim's SQS speaks the JSON protocol (X-Amz-Target: AmazonSQS.<Operation>) only."))
			return
		}
		WriteError(w, r, awssim.Errorf(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this endpoint.", op))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		WriteError(w, r, awssim.Errorf(http.StatusBadRequest, "SerializationException", "The request body could not be read or is too large."))
		return
	}
	f := s.Faults()
	if f.applies(op) {
		wait, slowed := s.rnd.Delay(f.Latency, f.SlowDelay, f.SlowRate)
		if slowed {
			s.slow.Add(1)
		}
		if !retry.Sleep(r.Context(), wait) {
			return
		}
		if f.ThrottleRate > 0 || f.UnavailableRate > 0 || f.InternalErrorRate > 0 {
			x := s.float64()
			switch {
			case x < f.ThrottleRate:
				WriteError(w, r, awssim.Errorf(http.StatusForbidden, "RequestThrottled", "Request is throttled."))
				return
			case x < f.ThrottleRate+f.UnavailableRate:
				WriteError(w, r, awssim.Errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."))
				return
			case x < f.ThrottleRate+f.UnavailableRate+f.InternalErrorRate:
				WriteError(w, r, awssim.Errorf(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again."))
				return
			}
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	out, e := h(s, &call{ctx: r.Context(), caller: caller, host: scheme + "://" + r.Host, body: body})
	if e != nil {
		WriteError(w, r, e)
		return
	}
	s.countCall(op)
	var b []byte
	if out != nil {
		b, _ = json.Marshal(out)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if f.CutRate > 0 && f.applies(op) && s.float64() < f.CutRate {
		s.cut.Add(1)
		simfault.WriteCut(w, b)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// QueueURL returns the URL of a queue served at endpoint (scheme://host[:port]), as cloudsim
// hands them out: <endpoint>/<account>/<name>.
func QueueURL(endpoint, account, name string) string {
	return strings.TrimSuffix(endpoint, "/") + "/" + account + "/" + name
}

// queueFromURL finds the queue a QueueUrl names: its path's last two segments are the account
// and the name, whatever its host (AWS's https://sqs.<region>.amazonaws.com/... or cloudsim's);
// the region is the caller's.
func (s *Service) queueFromURL(c *call, raw string) (*queue, *awssim.Error) {
	if raw == "" {
		return nil, errMissing("QueueUrl")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errNoQueue()
	}
	p := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(p) < 2 {
		return nil, errNoQueue()
	}
	account, name := p[len(p)-2], p[len(p)-1]
	q := s.lookup(account, c.caller.Region, name)
	if q == nil {
		return nil, errNoQueue()
	}
	if account != c.caller.AccountID {
		// cloudsim keeps no queue policies: another account's queue is out of reach.
		return nil, awssim.Errorf(http.StatusForbidden, "AccessDenied", "Access to the resource %s is denied.", raw)
	}
	return q, nil
}

func (s *Service) opCreateQueue(c *call) (any, *awssim.Error) {
	var in struct {
		QueueName  string
		Attributes map[string]string
		Tags       map[string]string
	}
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	if in.QueueName == "" {
		return nil, errMissing("QueueName")
	}
	q, e := s.createQueue(c.caller.AccountID, c.caller.Region, in.QueueName, in.Attributes)
	if e != nil {
		return nil, e
	}
	return map[string]string{"QueueUrl": QueueURL(c.host, q.account, q.name)}, nil
}

func (s *Service) opGetQueueURL(c *call) (any, *awssim.Error) {
	var in struct{ QueueName, QueueOwnerAWSAccountId string }
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	if in.QueueName == "" {
		return nil, errMissing("QueueName")
	}
	account := c.caller.AccountID
	if in.QueueOwnerAWSAccountId != "" {
		account = in.QueueOwnerAWSAccountId
	}
	q := s.lookup(account, c.caller.Region, in.QueueName)
	if q == nil {
		return nil, errNoQueue()
	}
	return map[string]string{"QueueUrl": QueueURL(c.host, q.account, q.name)}, nil
}

func (s *Service) opListQueues(c *call) (any, *awssim.Error) {
	var in struct{ QueueNamePrefix string }
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	s.mu.RLock()
	var urls []string
	for k, q := range s.queues {
		if k.account == c.caller.AccountID && k.region == c.caller.Region && strings.HasPrefix(k.name, in.QueueNamePrefix) {
			urls = append(urls, QueueURL(c.host, q.account, q.name))
		}
	}
	s.mu.RUnlock()
	sort.Strings(urls)
	if len(urls) > 1000 {
		urls = urls[:1000]
	}
	if len(urls) == 0 {
		return struct{}{}, nil
	}
	return map[string][]string{"QueueUrls": urls}, nil
}

func (s *Service) opDeleteQueue(c *call) (any, *awssim.Error) {
	var in struct{ QueueUrl string }
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	delete(s.queues, queueKey{q.account, q.region, q.name})
	s.mu.Unlock()
	return nil, nil
}

// readOnlyAttributes are computed by GetQueueAttributes.
var readOnlyAttributes = []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"}

func (s *Service) opGetQueueAttributes(c *call) (any, *awssim.Error) {
	var in struct {
		QueueUrl       string
		AttributeNames []string
	}
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	now := s.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.expireLocked(now)
	vis, infl, del := q.countsLocked(now)
	all := map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(vis),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(infl),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(del),
		"CreatedTimestamp":                      strconv.FormatInt(q.created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(q.modified.Unix(), 10),
		"QueueArn":                              q.arn,
	}
	for k := range queueAttributes {
		if v := q.attr(k); v != "" {
			all[k] = v
		}
	}
	out := map[string]string{}
	for _, n := range in.AttributeNames {
		if n == "All" {
			out = all
			break
		}
		if _, known := queueAttributes[n]; !known && !contains(readOnlyAttributes, n) {
			return nil, awssim.Errorf(http.StatusBadRequest, "InvalidAttributeName", "Unknown Attribute %s.", n)
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	if len(out) == 0 {
		return struct{}{}, nil
	}
	return map[string]map[string]string{"Attributes": out}, nil
}

func (s *Service) opSetQueueAttributes(c *call) (any, *awssim.Error) {
	var in struct {
		QueueUrl   string
		Attributes map[string]string
	}
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	clean, e := s.validateAttributes(q.account, q.region, in.Attributes)
	if e != nil {
		return nil, e
	}
	q.mu.Lock()
	for k, v := range clean {
		q.attrs[k] = v
	}
	q.modified = s.now()
	q.mu.Unlock()
	return nil, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// msgAttr is a message attribute as the JSON protocol carries it.
type msgAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

// attributesMD5 is the MD5 of message attributes the SDKs can check: for each attribute, by
// name, the name, the data type (each with a 4-byte big-endian length) and a transport byte (1
// string or number, 2 binary) followed by the length-prefixed value.
func attributesMD5(attrs map[string]msgAttr) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	put := func(b []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(a.DataType))
		if strings.HasPrefix(a.DataType, "Binary") {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func validateBody(body string, maxSize int) *awssim.Error {
	if body == "" {
		return errMissing("MessageBody")
	}
	if len(body) > maxSize {
		return errInvalidParam("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", maxSize)
	}
	if !utf8.ValidString(body) {
		return errInvalidParam("Invalid binary character in the message body.")
	}
	for _, r := range body {
		// The characters SQS allows: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
		if r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 {
			continue
		}
		return errInvalidParam("Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", r)
	}
	return nil
}

type sendEntry struct {
	Id                string
	MessageBody       string
	DelaySeconds      *int
	MessageAttributes map[string]msgAttr
}

type sendResult struct {
	Id                     string `json:"Id,omitempty"`
	MessageId              string
	MD5OfMessageBody       string
	MD5OfMessageAttributes string `json:",omitempty"`
}

func (s *Service) sendOne(q *queue, e sendEntry) (*sendResult, *awssim.Error) {
	if err := validateBody(e.MessageBody, q.maxSize()); err != nil {
		return nil, err
	}
	delay := -1
	if e.DelaySeconds != nil {
		if *e.DelaySeconds < 0 || *e.DelaySeconds > MaxDelaySeconds {
			return nil, errInvalidParam("Value %d for parameter DelaySeconds is invalid. Reason: must be >= 0 and <= %d.", *e.DelaySeconds, MaxDelaySeconds)
		}
		delay = *e.DelaySeconds
	}
	if len(e.MessageAttributes) > 10 {
		return nil, errInvalidParam("Number of message attributes [%d] exceeds the allowed maximum [10].", len(e.MessageAttributes))
	}
	for n, a := range e.MessageAttributes {
		t := strings.SplitN(a.DataType, ".", 2)[0]
		if n == "" || (t != "String" && t != "Number" && t != "Binary") {
			return nil, errInvalidParam("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", n)
		}
	}
	m := q.send(s, e.MessageBody, e.MessageAttributes, delay)
	return &sendResult{MessageId: m.id, MD5OfMessageBody: m.md5, MD5OfMessageAttributes: m.attrsMD5}, nil
}

func (s *Service) opSendMessage(c *call) (any, *awssim.Error) {
	var in struct {
		QueueUrl string
		sendEntry
	}
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	return s.sendOne(q, in.sendEntry)
}

// batchID is the pattern of a batch entry's Id.
var batchID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// checkBatch applies the rules every batch call shares to its entries' ids.
func checkBatch(ids []string) *awssim.Error {
	if len(ids) == 0 {
		return awssim.Errorf(http.StatusBadRequest, "EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.")
	}
	if len(ids) > MaxBatchEntries {
		return awssim.Errorf(http.StatusBadRequest, "TooManyEntriesInBatchRequest", "Maximum number of entries per request are %d. You have sent %d.", MaxBatchEntries, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !batchID.MatchString(id) {
			return awssim.Errorf(http.StatusBadRequest, "InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return awssim.Errorf(http.StatusBadRequest, "BatchEntryIdsNotDistinct", "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

type batchFailure struct {
	Id          string
	Code        string
	Message     string
	SenderFault bool
}

func failure(id string, e *awssim.Error) batchFailure {
	return batchFailure{Id: id, Code: e.Code, Message: e.Message, SenderFault: e.Status < 500}
}

func (s *Service) opSendMessageBatch(c *call) (any, *awssim.Error) {
	var in struct {
		QueueUrl string
		Entries  []sendEntry
	}
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	ids := make([]string, len(in.Entries))
	total := 0
	for i, en := range in.Entries {
		ids[i] = en.Id
		total += len(en.MessageBody)
	}
	if e := checkBatch(ids); e != nil {
		return nil, e
	}
	if total > MaxMessageSize {
		return nil, awssim.Errorf(http.StatusBadRequest, "BatchRequestTooLong", "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", MaxMessageSize, total)
	}
	out := struct {
		Successful []sendResult
		Failed     []batchFailure
	}{Successful: []sendResult{}, Failed: []batchFailure{}}
	for _, en := range in.Entries {
		r, e := s.sendOne(q, en)
		if e != nil {
			out.Failed = append(out.Failed, failure(en.Id, e))
			continue
		}
		r.Id = en.Id
		out.Successful = append(out.Successful, *r)
	}
	return out, nil
}

// parseRedrive reads a RedrivePolicy.
func parseRedrive(v string) (dlqARN string, maxReceive int, e *awssim.Error) {
	var p struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return "", 0, awssim.Errorf(http.StatusBadRequest, "InvalidAttributeValue", "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.")
	}
	switch n := p.MaxReceiveCount.(type) {
	case float64:
		maxReceive = int(n)
	case string:
		maxReceive, _ = atoi(n)
	}
	if p.DeadLetterTargetArn == "" || maxReceive < 1 || maxReceive > 1000 {
		return "", 0, awssim.Errorf(http.StatusBadRequest, "InvalidAttributeValue", "Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory attribute: deadLetterTargetArn, or maxReceiveCount is not between 1 and 1000.", v)
	}
	return p.DeadLetterTargetArn, maxReceive, nil
}

type outMessage struct {
	MessageId              string
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attributes             map[string]string  `json:",omitempty"`
	MD5OfMessageAttributes string             `json:",omitempty"`
	MessageAttributes      map[string]msgAttr `json:",omitempty"`
}

func (s *Service) opReceiveMessage(c *call) (any, *awssim.Error) {
	var in struct {
		QueueUrl                    string
		MaxNumberOfMessages         *int
		WaitTimeSeconds             *int
		VisibilityTimeout           *int
		AttributeNames              []string
		MessageSystemAttributeNames []string
		MessageAttributeNames       []string
		ReceiveRequestAttemptId     string
	}
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	maxN := 1
	if in.MaxNumberOfMessages != nil {
		maxN = *in.MaxNumberOfMessages
		if maxN < 1 || maxN > MaxMessagesPerCall {
			return nil, errInvalidParam("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", maxN)
		}
	}
	q.mu.Lock()
	wait := q.intAttr("ReceiveMessageWaitTimeSeconds")
	vis := q.intAttr("VisibilityTimeout")
	redrive := q.attr("RedrivePolicy")
	q.mu.Unlock()
	if in.WaitTimeSeconds != nil {
		wait = *in.WaitTimeSeconds
		if wait < 0 || wait > MaxWaitSeconds {
			return nil, errInvalidParam("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", wait)
		}
	}
	if in.VisibilityTimeout != nil {
		vis = *in.VisibilityTimeout
		if vis < 0 || vis > int(MaxVisibilityTimeout/time.Second) {
			return nil, errInvalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", vis)
		}
	}
	var dlq *queue
	maxReceive := 0
	if redrive != "" {
		arn, n, _ := parseRedrive(redrive)
		if account, region, name, err := ParseARN(arn); err == nil {
			dlq = s.lookup(account, region, name)
		}
		if dlq == q {
			dlq = nil
		}
		maxReceive = n
	}
	sysAttrs := append(append([]string{}, in.AttributeNames...), in.MessageSystemAttributeNames...)
	// The wait runs on real time; the service's clock decides visibility, so a test clock that
	// stands still cannot make a long poll wait forever.
	end := time.NewTimer(time.Duration(wait) * time.Second)
	defer end.Stop()
	for {
		wake := q.wakeChan() // taken before looking, so a send in between is not missed
		msgs, next, e := s.receive(q, maxN, time.Duration(vis)*time.Second, dlq, maxReceive, sysAttrs, in.MessageAttributeNames)
		if e != nil {
			return nil, e
		}
		if len(msgs) > 0 {
			return map[string][]outMessage{"Messages": msgs}, nil
		}
		if wait == 0 {
			return struct{}{}, nil
		}
		// Long poll: wait for a send, for an in-flight message to become visible again, or for
		// the end of the wait.
		var visible <-chan time.Time
		var vt *time.Timer
		if !next.IsZero() {
			vt = time.NewTimer(max(next.Sub(s.now()), time.Millisecond))
			visible = vt.C
		}
		canceled := false
		select {
		case <-wake:
		case <-visible:
		case <-end.C:
			wait = 0 // one last look
		case <-c.ctx.Done():
			canceled = true
		}
		if vt != nil {
			vt.Stop()
		}
		if canceled {
			return nil, awssim.Errorf(http.StatusBadRequest, "RequestCanceled", "The request was canceled.")
		}
	}
}

func (q *queue) wakeChan() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.wake
}

// receive takes up to n visible messages, oldest first, and makes them invisible for vis. It
// moves a message that was received maxReceive times to dlq instead. It also returns when the
// next invisible message becomes visible (zero if none).
func (s *Service) receive(q *queue, n int, vis time.Duration, dlq *queue, maxReceive int, sysAttrs, msgAttrs []string) ([]outMessage, time.Time, *awssim.Error) {
	now := s.now()
	var moved []*message
	q.mu.Lock()
	q.expireLocked(now)
	_, inflight, _ := q.countsLocked(now)
	var out []outMessage
	var next time.Time
	for i := 0; i < len(q.order) && len(out) < n; i++ {
		m := q.order[i]
		if m.visibleAt.After(now) {
			if next.IsZero() || m.visibleAt.Before(next) {
				next = m.visibleAt
			}
			continue
		}
		if dlq != nil && maxReceive > 0 && m.receiveCount >= maxReceive {
			moved = append(moved, m)
			q.removeLocked(m)
			i--
			continue
		}
		if inflight >= MaxInflight {
			q.mu.Unlock()
			return nil, time.Time{}, awssim.Errorf(http.StatusForbidden, "OverLimit", "Too many messages in flight (the limit is %d).", MaxInflight)
		}
		inflight++
		m.receiveCount++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.receivedAt = now
		m.visibleAt = now.Add(vis)
		m.handle = newHandle(q, m)
		om := outMessage{MessageId: m.id, ReceiptHandle: m.handle, MD5OfBody: m.md5, Body: m.body,
			Attributes: systemAttributes(m, sysAttrs, q.account)}
		if sel := selectAttributes(m.attrs, msgAttrs); len(sel) > 0 {
			om.MessageAttributes = sel
			om.MD5OfMessageAttributes = attributesMD5(sel)
		}
		out = append(out, om)
	}
	q.mu.Unlock()
	for _, m := range moved {
		// dlq differs from q: a queue cannot be its own dead-letter queue (receive's caller checks).
		dlq.mu.Lock()
		dlq.seq++
		m.seq = dlq.seq
		m.visibleAt = now
		m.handle = ""
		dlq.order = append(dlq.order, m)
		dlq.byID[m.id] = m
		close(dlq.wake)
		dlq.wake = make(chan struct{})
		dlq.mu.Unlock()
		s.moved.Add(1)
		s.logger.Info("sqs: message moved to the dead-letter queue", "queue", q.arn, "dlq", dlq.arn, "message_id", m.id, "receive_count", m.receiveCount)
	}
	return out, next, nil
}

func systemAttributes(m *message, names []string, account string) map[string]string {
	if len(names) == 0 {
		return nil
	}
	all := contains(names, "All")
	out := map[string]string{}
	add := func(k, v string) {
		if all || contains(names, k) {
			out[k] = v
		}
	}
	add("ApproximateReceiveCount", strconv.Itoa(m.receiveCount))
	add("SentTimestamp", strconv.FormatInt(m.sent.UnixMilli(), 10))
	add("ApproximateFirstReceiveTimestamp", strconv.FormatInt(m.firstReceive.UnixMilli(), 10))
	add("SenderId", account)
	if len(out) == 0 {
		return nil
	}
	return out
}

func selectAttributes(attrs map[string]msgAttr, names []string) map[string]msgAttr {
	if len(attrs) == 0 || len(names) == 0 {
		return nil
	}
	out := map[string]msgAttr{}
	for n, a := range attrs {
		for _, want := range names {
			if want == "All" || want == ".*" || want == n || strings.HasSuffix(want, ".*") && strings.HasPrefix(n, strings.TrimSuffix(want, "*")) {
				out[n] = a
				break
			}
		}
	}
	return out
}

// findHandle resolves a receipt handle of q. It answers ReceiptHandleIsInvalid for a handle
// that is not one of q's; for a well-formed handle it returns the message (nil when it was
// deleted) and whether the handle is that of the message's latest receive.
func (q *queue) findHandleLocked(h string) (*message, bool, *awssim.Error) {
	ref, ok := parseHandle(h)
	if !ok || ref.arn != q.arn {
		return nil, false, errHandleInvalid(h)
	}
	m := q.byID[ref.id]
	if m == nil {
		return nil, false, nil
	}
	return m, m.handle == h, nil
}

// deleteOne deletes the message of handle h. As AWS documents, deleting with a handle of an
// earlier receive of a message that was received again succeeds without deleting it, and
// deleting a message already deleted succeeds.
func (s *Service) deleteOne(q *queue, h string) *awssim.Error {
	if h == "" {
		return errMissing("ReceiptHandle")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	m, current, e := q.findHandleLocked(h)
	if e != nil {
		return e
	}
	if m != nil && current {
		q.removeLocked(m)
	}
	return nil
}

func (s *Service) opDeleteMessage(c *call) (any, *awssim.Error) {
	var in struct{ QueueUrl, ReceiptHandle string }
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	return nil, s.deleteOne(q, in.ReceiptHandle)
}

func (s *Service) opDeleteMessageBatch(c *call) (any, *awssim.Error) {
	var in struct {
		QueueUrl string
		Entries  []struct{ Id, ReceiptHandle string }
	}
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		ids[i] = en.Id
	}
	return eachEntry(ids, func(i int) *awssim.Error { return s.deleteOne(q, in.Entries[i].ReceiptHandle) })
}

// changeOne sets the visibility timeout of the message of handle h to vis seconds from now.
// The message must be in flight under this handle, and its total time in flight since it was
// received cannot pass 12 hours.
func (s *Service) changeOne(q *queue, h string, vis *int) *awssim.Error {
	if h == "" {
		return errMissing("ReceiptHandle")
	}
	if vis == nil {
		return errMissing("VisibilityTimeout")
	}
	if *vis < 0 || *vis > int(MaxVisibilityTimeout/time.Second) {
		return errInvalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200.", *vis)
	}
	now := s.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	m, current, e := q.findHandleLocked(h)
	if e != nil {
		return e
	}
	if m == nil || !current {
		return errHandleExpired(h)
	}
	if !m.visibleAt.After(now) {
		return errNotInflight()
	}
	until := now.Add(time.Duration(*vis) * time.Second)
	if until.Sub(m.receivedAt).Truncate(time.Second) > MaxVisibilityTimeout {
		return errInvalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]", *vis)
	}
	m.visibleAt = until
	if *vis == 0 {
		close(q.wake)
		q.wake = make(chan struct{})
	}
	return nil
}

func (s *Service) opChangeVisibility(c *call) (any, *awssim.Error) {
	var in struct {
		QueueUrl, ReceiptHandle string
		VisibilityTimeout       *int
	}
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	return nil, s.changeOne(q, in.ReceiptHandle, in.VisibilityTimeout)
}

func (s *Service) opChangeVisibilityBatch(c *call) (any, *awssim.Error) {
	var in struct {
		QueueUrl string
		Entries  []struct {
			Id, ReceiptHandle string
			VisibilityTimeout *int
		}
	}
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		ids[i] = en.Id
	}
	return eachEntry(ids, func(i int) *awssim.Error {
		return s.changeOne(q, in.Entries[i].ReceiptHandle, in.Entries[i].VisibilityTimeout)
	})
}

// eachEntry answers a batch operation whose entries have ids: the batch is checked as a whole
// (checkBatch), then do runs for each entry, and the answer lists the entries that succeeded
// and those that failed with their error (HTTP 200 either way, as SQS answers).
func eachEntry(ids []string, do func(i int) *awssim.Error) (any, *awssim.Error) {
	if e := checkBatch(ids); e != nil {
		return nil, e
	}
	type ok struct{ Id string }
	out := struct {
		Successful []ok
		Failed     []batchFailure
	}{Successful: []ok{}, Failed: []batchFailure{}}
	for i, id := range ids {
		if e := do(i); e != nil {
			out.Failed = append(out.Failed, failure(id, e))
			continue
		}
		out.Successful = append(out.Successful, ok{id})
	}
	return out, nil
}

func (s *Service) opPurgeQueue(c *call) (any, *awssim.Error) {
	var in struct{ QueueUrl string }
	if e := awssim.DecodeJSON(c.body, &in); e != nil {
		return nil, e
	}
	q, e := s.queueFromURL(c, in.QueueUrl)
	if e != nil {
		return nil, e
	}
	now := s.now()
	q.mu.Lock()
	if !q.purged.IsZero() && now.Sub(q.purged) < time.Minute {
		q.mu.Unlock()
		return nil, awssim.Errorf(http.StatusBadRequest, "PurgeQueueInProgress", "Only one PurgeQueue operation on %s is allowed every 60 seconds.", q.name)
	}
	q.purged = now
	clear(q.byID)
	clear(q.order)
	q.order = q.order[:0]
	q.mu.Unlock()
	return nil, nil
}
