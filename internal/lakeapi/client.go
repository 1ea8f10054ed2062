// Package lakeapi is a small client of AWS CloudTrail Lake's ingestion API: the
// cloudtrail-data service's PutAuditEvents (restJson1, API 2021-08-11), and the cloudtrail
// service's GetChannel (awsJson1.1) for configuration checks. The SDK's module for the service
// cannot be used here, so requests are built by hand and signed with the SDK's SigV4 signer,
// with credentials from the aws.Config (internal/awsauth builds it).
//
// The client does not retry: the engine does. IsRetryable, IsThrottle, IsPermanent and IsAuth
// classify its errors; EventErrorRetryable classifies per-event failures.
package lakeapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Protocol facts.
const (
	// SigningName is the SigV4 service name of PutAuditEvents.
	SigningName = "cloudtrail-data"
	// ControlSigningName is the SigV4 service name of GetChannel.
	ControlSigningName = "cloudtrail"
	// APIVersion is the cloudtrail-data API version.
	APIVersion = "2021-08-11"
	// MaxEventsPerCall is the most events one PutAuditEvents call takes.
	MaxEventsPerCall = 100
	// MaxBodyBytes is the largest PutAuditEvents request body.
	MaxBodyBytes = 1 << 20

	getChannelTarget = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetChannel"
	maxResponseBytes = 8 << 20
)

// AuditEvent is one event of a PutAuditEvents call.
type AuditEvent struct {
	// ID is the caller's id of the event: 1-128 characters of [-_A-Za-z0-9], unique in a call.
	ID string
	// EventData is the event, a JSON object as text (valid UTF-8).
	EventData string
	// EventDataChecksum is Checksum(EventData), or empty to send none.
	EventDataChecksum string
}

// PutAuditEventsOutput is the answer of a call the service took. It may be partial: every
// event is in Successful or in Failed.
type PutAuditEventsOutput struct {
	Successful []AuditEventResult `json:"successful"`
	Failed     []AuditEventError  `json:"failed"`
	RequestID  string             `json:"-"`
}

// AuditEventResult is an event the service accepted.
type AuditEventResult struct {
	ID      string `json:"id"`
	EventID string `json:"eventID"`
}

// AuditEventError is an event the service refused; EventErrorRetryable(ErrorCode) tells
// whether sending it again may help.
type AuditEventError struct {
	ID           string `json:"id"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
}

// Options configure a Client. The zero value takes everything from the aws.Config.
type Options struct {
	// BaseEndpoint replaces the regional endpoints of both services
	// (https://cloudtrail-data.<region>.amazonaws.com, https://cloudtrail.<region>.amazonaws.com).
	// Default: the aws.Config's BaseEndpoint.
	BaseEndpoint string
	// Region signs GetChannel calls that name a channel by id. Default: the aws.Config's.
	// PutAuditEvents always uses the channel ARN's region.
	Region string
	// Credentials sign the calls; retrieved on every call (wrap a provider in an
	// aws.CredentialsCache, as aws.Config's is). Default: the aws.Config's.
	Credentials aws.CredentialsProvider
	// HTTPClient sends the calls. Default: the aws.Config's, else the SDK's default client.
	HTTPClient aws.HTTPClient
	// UserAgent is sent with every call (default "logshipper").
	UserAgent string
	// Now is the signing clock (default time.Now).
	Now func() time.Time
}

// Client calls PutAuditEvents and GetChannel. Safe for concurrent use.
type Client struct {
	opts   Options
	signer *v4.Signer
	bodies chan *sharedBuf // request bodies for reuse (getBuf)
}

// New returns a client using cfg's credentials, HTTP client and endpoint override.
func New(cfg aws.Config, optFns ...func(*Options)) *Client {
	o := Options{
		Region:      cfg.Region,
		Credentials: cfg.Credentials,
		HTTPClient:  cfg.HTTPClient,
		UserAgent:   "logshipper",
		Now:         time.Now,
	}
	if cfg.BaseEndpoint != nil {
		o.BaseEndpoint = *cfg.BaseEndpoint
	}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = awshttp.NewBuildableClient()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.BaseEndpoint = strings.TrimRight(o.BaseEndpoint, "/")
	return &Client{opts: o, signer: v4.NewSigner(), bodies: newFreeBodies()}
}

// endpoint is the base URL of service in region.
func (c *Client) endpoint(service, region string) string {
	if c.opts.BaseEndpoint != "" {
		return c.opts.BaseEndpoint
	}
	return defaultEndpoint(service, region)
}

// PutAuditEvents sends events (1 to 100, at most 1 MiB of body) to the channel. externalID is
// sent when not empty. The answer may be partial (Failed); an error is the whole call's: an
// *APIError for the service's refusals, an *InvalidInputError for a call not sent, else a
// transport or credentials error. ctx bounds the call.
func (c *Client) PutAuditEvents(ctx context.Context, channelARN, externalID string, events []AuditEvent) (*PutAuditEventsOutput, error) {
	const op = "PutAuditEvents"
	region, _, _, err := ParseChannelARN(channelARN)
	if err != nil {
		return nil, fmt.Errorf("cloudtrail %s: %w", op, err)
	}
	creds, err := c.credentials(ctx, op)
	if err != nil {
		return nil, err
	}
	req, body, err := c.newPutRequest(ctx, region, channelARN, externalID, events, creds)
	if err != nil {
		return nil, fmt.Errorf("cloudtrail %s: %w", op, err)
	}
	defer body.release()
	resp, err := c.send(op, req)
	if err != nil {
		return nil, err
	}
	defer putRespBuf(resp.body)
	out := &PutAuditEventsOutput{RequestID: resp.requestID}
	if err := decodePutOutput(resp.body.Bytes(), out); err != nil {
		return nil, &decodeError{op: op, err: err}
	}
	return out, nil
}

// newPutRequest builds and signs a PutAuditEvents request. The caller releases the body when
// the call is over.
func (c *Client) newPutRequest(ctx context.Context, region, channelARN, externalID string, events []AuditEvent, creds aws.Credentials) (*http.Request, *sharedBuf, error) {
	if len(events) == 0 || len(events) > MaxEventsPerCall {
		return nil, nil, &InvalidInputError{Msg: fmt.Sprintf("%d events: a call takes 1 to %d", len(events), MaxEventsPerCall)}
	}
	body := getBuf(c.bodies)
	body.b = appendPutBody(body.b, events)
	if len(body.b) > MaxBodyBytes {
		n := len(body.b)
		body.release()
		return nil, nil, &InvalidInputError{Msg: fmt.Sprintf("request body of %d bytes is over the limit of %d", n, MaxBodyBytes)}
	}
	var u strings.Builder
	ep := c.endpoint(SigningName, region)
	u.Grow(len(ep) + 48 + len(channelARN)*2 + len(externalID)*2)
	u.WriteString(ep)
	u.WriteString("/PutAuditEvents?channelArn=")
	u.WriteString(url.QueryEscape(channelARN))
	if externalID != "" {
		u.WriteString("&externalId=")
		u.WriteString(url.QueryEscape(externalID))
	}
	r := body.reader()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), r)
	if err != nil {
		r.Close()
		body.release()
		return nil, nil, &InvalidInputError{Msg: fmt.Sprintf("endpoint %q: %v", ep, err)}
	}
	req.ContentLength = int64(len(body.b))
	// A connection found dead before anything was written may be retried by the transport.
	req.GetBody = func() (io.ReadCloser, error) { return body.reader(), nil }
	req.Header["Content-Type"] = []string{"application/json"}
	if err := c.sign(ctx, req, body.b, creds, SigningName, region); err != nil {
		r.Close()
		body.release()
		return nil, nil, err
	}
	return req, body, nil
}

func (c *Client) credentials(ctx context.Context, op string) (aws.Credentials, error) {
	if c.opts.Credentials == nil {
		return aws.Credentials{}, &InvalidInputError{Msg: "cloudtrail " + op + ": no credentials provider"}
	}
	creds, err := c.opts.Credentials.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("cloudtrail %s: retrieving credentials: %w", op, err)
	}
	return creds, nil
}

func (c *Client) sign(ctx context.Context, req *http.Request, body []byte, creds aws.Credentials, service, region string) error {
	if c.opts.UserAgent != "" {
		req.Header["User-Agent"] = []string{c.opts.UserAgent}
	}
	sum := sha256.Sum256(body)
	var hexSum [sha256.Size * 2]byte
	hex.Encode(hexSum[:], sum[:])
	return c.signer.SignHTTP(ctx, creds, req, string(hexSum[:]), service, region, c.opts.Now())
}

// response is a 2xx answer, its body in a pooled buffer.
type response struct {
	body      *bytes.Buffer
	requestID string
}

var respPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putRespBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		b.Reset()
		respPool.Put(b)
	}
}

// send does req and reads its answer; a non-2xx answer is an *APIError.
func (c *Client) send(op string, req *http.Request) (response, error) {
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("cloudtrail %s: %w", op, err)
	}
	defer resp.Body.Close()
	buf := respPool.Get().(*bytes.Buffer)
	buf.Reset()
	if n := resp.ContentLength; n > 0 && n < maxResponseBytes {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead free bytes to read EOF into
	}
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := parseError(op, resp, buf.Bytes())
		putRespBuf(buf)
		if strings.HasPrefix(ae.Code, "ExpiredToken") {
			// The cached credentials expired early (revoked session, clock): fetch new ones
			// on the next call.
			if cache, ok := c.opts.Credentials.(*aws.CredentialsCache); ok {
				cache.Invalidate()
			}
		}
		return response{}, ae
	}
	if err != nil {
		putRespBuf(buf)
		return response{}, &decodeError{op: op, err: err}
	}
	return response{body: buf, requestID: requestID(resp.Header)}, nil
}

// GetChannelOutput describes a channel (cloudtrail GetChannel).
type GetChannelOutput struct {
	ChannelARN      string
	Name            string
	Source          string
	SourceConfig    json.RawMessage // as sent: ApplyToAllRegions, AdvancedEventSelectors
	Destinations    []ChannelDestination
	IngestionStatus IngestionStatus
	RequestID       string
}

// ChannelDestination is where a channel's events go: Type EVENT_DATA_STORE (Location: the
// event data store's ARN) or AWS_SERVICE.
type ChannelDestination struct {
	Type     string `json:"Type"`
	Location string `json:"Location"`
}

// IngestionStatus is what the channel last received. Times are zero when absent.
type IngestionStatus struct {
	LatestIngestionSuccessTime    time.Time
	LatestIngestionSuccessEventID string
	LatestIngestionErrorCode      string
	LatestIngestionAttemptTime    time.Time
	LatestIngestionAttemptEventID string
}

// epochSeconds is an awsJson timestamp: seconds since the epoch, possibly fractional.
type epochSeconds struct{ time.Time }

func (t *epochSeconds) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s: %w", b, err)
	}
	sec := int64(f)
	t.Time = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC().Round(time.Millisecond)
	return nil
}

// GetChannel describes a channel, named by ARN (signed in the ARN's region) or by id (signed
// in the client's region).
func (c *Client) GetChannel(ctx context.Context, channel string) (*GetChannelOutput, error) {
	const op = "GetChannel"
	region := c.opts.Region
	if strings.HasPrefix(channel, "arn:") {
		r, _, _, err := ParseChannelARN(channel)
		if err != nil {
			return nil, fmt.Errorf("cloudtrail %s: %w", op, err)
		}
		region = r
	}
	if region == "" {
		return nil, &InvalidInputError{Msg: "cloudtrail " + op + ": no region for channel " + strconv.Quote(channel) + " (give its ARN, or a region)"}
	}
	creds, err := c.credentials(ctx, op)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(struct {
		Channel string `json:"Channel"`
	}{channel})
	if err != nil {
		return nil, err
	}
	ep := c.endpoint(ControlSigningName, region)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep+"/", bytes.NewReader(body))
	if err != nil {
		return nil, &InvalidInputError{Msg: fmt.Sprintf("cloudtrail %s: endpoint %q: %v", op, ep, err)}
	}
	req.Header["Content-Type"] = []string{"application/x-amz-json-1.1"}
	req.Header["X-Amz-Target"] = []string{getChannelTarget}
	if err := c.sign(ctx, req, body, creds, ControlSigningName, region); err != nil {
		return nil, fmt.Errorf("cloudtrail %s: signing: %w", op, err)
	}
	resp, err := c.send(op, req)
	if err != nil {
		return nil, err
	}
	defer putRespBuf(resp.body)
	var wire struct {
		ChannelArn      string               `json:"ChannelArn"`
		Name            string               `json:"Name"`
		Source          string               `json:"Source"`
		SourceConfig    json.RawMessage      `json:"SourceConfig"`
		Destinations    []ChannelDestination `json:"Destinations"`
		IngestionStatus *struct {
			LatestIngestionSuccessTime    epochSeconds `json:"LatestIngestionSuccessTime"`
			LatestIngestionSuccessEventID string       `json:"LatestIngestionSuccessEventID"`
			LatestIngestionErrorCode      string       `json:"LatestIngestionErrorCode"`
			LatestIngestionAttemptTime    epochSeconds `json:"LatestIngestionAttemptTime"`
			LatestIngestionAttemptEventID string       `json:"LatestIngestionAttemptEventID"`
		} `json:"IngestionStatus"`
	}
	if err := json.Unmarshal(resp.body.Bytes(), &wire); err != nil {
		return nil, &decodeError{op: op, err: err}
	}
	out := &GetChannelOutput{
		ChannelARN: wire.ChannelArn, Name: wire.Name, Source: wire.Source, SourceConfig: wire.SourceConfig,
		Destinations: wire.Destinations, RequestID: resp.requestID,
	}
	if s := wire.IngestionStatus; s != nil {
		out.IngestionStatus = IngestionStatus{
			LatestIngestionSuccessTime: s.LatestIngestionSuccessTime.Time, LatestIngestionSuccessEventID: s.LatestIngestionSuccessEventID,
			LatestIngestionErrorCode:   s.LatestIngestionErrorCode,
			LatestIngestionAttemptTime: s.LatestIngestionAttemptTime.Time, LatestIngestionAttemptEventID: s.LatestIngestionAttemptEventID,
		}
	}
	return out, nil
}

// EventDataStoreARN is the event data store the channel delivers to, or "".
func (o *GetChannelOutput) EventDataStoreARN() string {
	for _, d := range o.Destinations {
		if d.Type == "EVENT_DATA_STORE" {
			return d.Location
		}
	}
	return ""
}
