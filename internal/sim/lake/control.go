package lake

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// TargetPrefix is the awsJson1.1 X-Amz-Target prefix of the CloudTrail control-plane API, as
// botocore (the AWS CLI) sends it.
const TargetPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."

// ShortTargetPrefix is the same API's prefix as the AWS SDK for Go v2 (cloudtrail v1.56)
// sends it; the service takes both.
const ShortTargetPrefix = "CloudTrail_20131101."

var channelParamRe = regexp.MustCompile(`^[a-zA-Z0-9._/\-:]{3,256}$`)

// ControlHandler serves the cloudtrail API (awsJson1.1): GetChannel, ListChannels,
// ListEventDataStores, StartQuery, DescribeQuery and GetQueryResults.
func (s *Service) ControlHandler() http.Handler { return http.HandlerFunc(s.serveControl) }

func (s *Service) serveControl(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, TargetPrefix)
	if !ok {
		op, ok = strings.CutPrefix(target, ShortTargetPrefix)
	}
	if r.Method != http.MethodPost || !ok {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusBadRequest, "UnknownOperationException", "Unknown operation %q", target))
		return
	}
	caller, ok := awssim.CallerFrom(r.Context())
	if !ok {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusBadRequest, "SerializationException", "failed to read the request body: %v", err))
		return
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	var out any
	var aerr *awssim.Error
	switch op {
	case "GetChannel":
		out, aerr = s.getChannel(caller, body)
	case "ListChannels":
		out, aerr = s.listChannels(caller, body)
	case "ListEventDataStores":
		out, aerr = s.listEventDataStores(caller, body)
	case "StartQuery":
		out, aerr = s.startQuery(caller, body)
	case "DescribeQuery":
		out, aerr = s.describeQuery(caller, body)
	case "GetQueryResults":
		out, aerr = s.getQueryResults(caller, body)
	default:
		aerr = awssim.Errorf(http.StatusBadRequest, "UnknownOperationException",
			"cloudsim does not implement CloudTrail %s (it implements GetChannel, ListChannels, ListEventDataStores, StartQuery, DescribeQuery and GetQueryResults)", op)
	}
	if aerr != nil {
		awssim.WriteJSONError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// GetChannel response shapes (botocore cloudtrail 2013-11-01).
type (
	getChannelOutput struct {
		ChannelArn      string           `json:"ChannelArn"`
		Name            string           `json:"Name"`
		Source          string           `json:"Source"`
		SourceConfig    *sourceConfig    `json:"SourceConfig,omitempty"`
		Destinations    []destination    `json:"Destinations"`
		IngestionStatus *ingestionOutput `json:"IngestionStatus"`
	}
	sourceConfig struct {
		ApplyToAllRegions      bool                    `json:"ApplyToAllRegions"`
		AdvancedEventSelectors []advancedEventSelector `json:"AdvancedEventSelectors"`
	}
	advancedEventSelector struct {
		Name           string          `json:"Name,omitempty"`
		FieldSelectors []fieldSelector `json:"FieldSelectors"`
	}
	fieldSelector struct {
		Field  string   `json:"Field"`
		Equals []string `json:"Equals,omitempty"`
	}
	destination struct {
		Type     string `json:"Type"`
		Location string `json:"Location"`
	}
	ingestionOutput struct {
		LatestIngestionSuccessTime    *epochSeconds `json:"LatestIngestionSuccessTime,omitempty"`
		LatestIngestionSuccessEventID string        `json:"LatestIngestionSuccessEventID,omitempty"`
		LatestIngestionErrorCode      string        `json:"LatestIngestionErrorCode,omitempty"`
		LatestIngestionAttemptTime    *epochSeconds `json:"LatestIngestionAttemptTime,omitempty"`
		LatestIngestionAttemptEventID string        `json:"LatestIngestionAttemptEventID,omitempty"`
	}
	listChannelsOutput struct {
		Channels  []channelSummary `json:"Channels"`
		NextToken string           `json:"NextToken,omitempty"`
	}
	channelSummary struct {
		ChannelArn string `json:"ChannelArn"`
		Name       string `json:"Name"`
	}
)

// epochSeconds is an awsJson timestamp: seconds since the epoch, with milliseconds.
type epochSeconds time.Time

func (t *epochSeconds) MarshalJSON() ([]byte, error) {
	ms := time.Time(*t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

func tsPtr(t time.Time) *epochSeconds {
	if t.IsZero() {
		return nil
	}
	e := epochSeconds(t)
	return &e
}

func (s *Service) getChannel(caller awssim.Caller, body []byte) (any, *awssim.Error) {
	var in struct {
		Channel *string `json:"Channel"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, awssim.Errorf(http.StatusBadRequest, "SerializationException", "The request body is not valid: %v", err)
	}
	if in.Channel == nil {
		return nil, validationError("Value null at 'channel' failed to satisfy constraint: Member must not be null")
	}
	ref := *in.Channel
	if !channelParamRe.MatchString(ref) {
		return nil, validationError("Value '%s' at 'channel' failed to satisfy constraint: Member must have length between 3 and 256 and satisfy regular expression pattern: ^[a-zA-Z0-9._/\\-:]+$", ref)
	}
	a, ok := resolveRef(ref, caller)
	if !ok {
		return nil, awssim.Errorf(http.StatusBadRequest, "ChannelARNInvalidException", "The channel ARN %s is not valid.", ref)
	}
	if a.account != caller.AccountID {
		return nil, awssim.Errorf(http.StatusBadRequest, "AccessDeniedException",
			"User: %s is not authorized to perform: cloudtrail:GetChannel on resource: %s because no resource-based policy allows the cloudtrail:GetChannel action",
			callerARN(caller), a)
	}
	notFound := awssim.Errorf(http.StatusBadRequest, "ChannelNotFoundException", "Channel %s not found.", ref)
	if a.region != caller.Region {
		return nil, notFound
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.lookupChannel(a)
	if st == nil {
		return nil, notFound
	}
	out := getChannelOutput{
		ChannelArn: st.cfg.ARN,
		Name:       st.cfg.Name,
		Source:     st.cfg.Source,
		IngestionStatus: &ingestionOutput{
			LatestIngestionSuccessTime:    tsPtr(st.ingest.successTime),
			LatestIngestionSuccessEventID: st.ingest.successEventID,
			LatestIngestionErrorCode:      st.ingest.errorCode,
			LatestIngestionAttemptTime:    tsPtr(st.ingest.attemptTime),
			LatestIngestionAttemptEventID: st.ingest.attemptEventID,
		},
	}
	if st.cfg.ServiceLinked {
		out.Destinations = []destination{{Type: "AWS_SERVICE", Location: st.cfg.Source}}
	} else {
		out.SourceConfig = &sourceConfig{
			ApplyToAllRegions: false,
			AdvancedEventSelectors: []advancedEventSelector{{
				FieldSelectors: []fieldSelector{{Field: "eventCategory", Equals: []string{"ActivityAuditLog"}}},
			}},
		}
		out.Destinations = []destination{{Type: "EVENT_DATA_STORE", Location: st.cfg.EventDataStore}}
	}
	return out, nil
}

func callerARN(c awssim.Caller) string {
	if c.ARN != "" {
		return c.ARN
	}
	return "arn:aws:iam::" + c.AccountID + ":root"
}

func (s *Service) listChannels(caller awssim.Caller, body []byte) (any, *awssim.Error) {
	var in struct {
		MaxResults *int    `json:"MaxResults"`
		NextToken  *string `json:"NextToken"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, awssim.Errorf(http.StatusBadRequest, "SerializationException", "The request body is not valid: %v", err)
	}
	limit := 1000
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, validationError("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000", *in.MaxResults)
		}
		limit = *in.MaxResults
	}
	start := 0
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "offset:") || n < 0 {
			return nil, awssim.Errorf(http.StatusBadRequest, "InvalidNextTokenException", "The NextToken is not valid.")
		}
		start = n
	}
	s.mu.RLock()
	var all []channelSummary
	for _, st := range s.channels {
		if st.arn.account == caller.AccountID && st.arn.region == caller.Region {
			all = append(all, channelSummary{ChannelArn: st.cfg.ARN, Name: st.cfg.Name})
		}
	}
	s.mu.RUnlock()
	sort.Slice(all, func(i, j int) bool { return all[i].ChannelArn < all[j].ChannelArn })
	if start > len(all) {
		return nil, awssim.Errorf(http.StatusBadRequest, "InvalidNextTokenException", "The NextToken is not valid.")
	}
	out := listChannelsOutput{Channels: all[start:min(len(all), start+limit)]}
	if out.Channels == nil {
		out.Channels = []channelSummary{}
	}
	if start+limit < len(all) {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(start+limit)))
	}
	return out, nil
}
