package cwlogs

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

var groupNameRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)

const groupNamePattern = `[\.\-_/#A-Za-z0-9]+`

func validateGroupName(field, name string) *awssim.Error {
	switch {
	case name == "":
		return errValidation(name, field, "Member must have length greater than or equal to 1")
	case len(name) > 512:
		return errValidation(name, field, "Member must have length less than or equal to 512")
	case !groupNameRE.MatchString(name):
		return errValidation(name, field, "Member must satisfy regular expression pattern: "+groupNamePattern)
	}
	return nil
}

func validateStreamName(field, name string) *awssim.Error {
	switch {
	case name == "":
		return errValidation(name, field, "Member must have length greater than or equal to 1")
	case len(name) > 512:
		return errValidation(name, field, "Member must have length less than or equal to 512")
	case strings.ContainsAny(name, ":*"):
		return errValidation(name, field, "Member must satisfy regular expression pattern: [^:*]*")
	}
	return nil
}

func validateLimit(limit *int32, max int32) *awssim.Error {
	if limit == nil {
		return nil
	}
	if *limit < 1 {
		return errValidation(*limit, "limit", "Member must have value greater than or equal to 1")
	}
	if *limit > max {
		return errValidation(*limit, "limit", fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
	return nil
}

// resolveGroup finds the group named by logGroupName or logGroupIdentifier (a name or an ARN).
func (rs *regionState) resolveGroup(name, ident *string) (*group, *awssim.Error) {
	switch {
	case name != nil && ident != nil:
		return nil, errInvalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name != nil:
		if e := validateGroupName("logGroupName", *name); e != nil {
			return nil, e
		}
		if g := rs.group(*name); g != nil {
			return g, nil
		}
		return nil, errGroupNotFound()
	case ident != nil:
		id := *ident
		if strings.HasPrefix(id, "arn:") {
			// arn:partition:logs:region:account:log-group:name[:*]
			f := strings.Split(strings.TrimSuffix(id, ":*"), ":")
			if len(f) != 7 || f[2] != "logs" || f[5] != "log-group" {
				return nil, errInvalid("Invalid log group ARN: %s", id)
			}
			if f[3] != rs.region || f[4] != rs.account {
				return nil, errGroupNotFound()
			}
			id = f[6]
		}
		if e := validateGroupName("logGroupIdentifier", id); e != nil {
			return nil, e
		}
		if g := rs.group(id); g != nil {
			return g, nil
		}
		return nil, errGroupNotFound()
	}
	return nil, errInvalid("Either logGroupName or logGroupIdentifier must be specified.")
}

// ---------------------------------------------------------------------------------------------

type createLogGroupInput struct {
	LogGroupName *string `json:"logGroupName"`
}

func (s *Service) createLogGroup(rs *regionState, body []byte) (any, *awssim.Error) {
	var in createLogGroupInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	name := deref(in.LogGroupName)
	if e := validateGroupName("logGroupName", name); e != nil {
		return nil, e
	}
	if strings.HasPrefix(name, "aws/") {
		return nil, errInvalid("Log group names cannot start with 'aws/'")
	}
	if _, created := rs.createGroup(name, s.nowMs()); !created {
		return nil, awssim.Errorf(400, "ResourceAlreadyExistsException", "The specified log group already exists")
	}
	return nil, nil
}

type createLogStreamInput struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
}

func (s *Service) createLogStream(rs *regionState, body []byte) (any, *awssim.Error) {
	var in createLogStreamInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	if e := validateGroupName("logGroupName", deref(in.LogGroupName)); e != nil {
		return nil, e
	}
	if e := validateStreamName("logStreamName", deref(in.LogStreamName)); e != nil {
		return nil, e
	}
	g := rs.group(*in.LogGroupName)
	if g == nil {
		return nil, errGroupNotFound()
	}
	g.mu.Lock()
	_, created := g.createStreamLocked(*in.LogStreamName, s.nowMs())
	g.mu.Unlock()
	if !created {
		return nil, awssim.Errorf(400, "ResourceAlreadyExistsException", "The specified log stream already exists")
	}
	return nil, nil
}

func (s *Service) deleteLogGroup(rs *regionState, body []byte) (any, *awssim.Error) {
	var in createLogGroupInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	if e := validateGroupName("logGroupName", deref(in.LogGroupName)); e != nil {
		return nil, e
	}
	if !rs.deleteGroup(*in.LogGroupName) {
		return nil, errGroupNotFound()
	}
	return nil, nil
}

func (s *Service) deleteLogStream(rs *regionState, body []byte) (any, *awssim.Error) {
	var in createLogStreamInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	if e := validateGroupName("logGroupName", deref(in.LogGroupName)); e != nil {
		return nil, e
	}
	if e := validateStreamName("logStreamName", deref(in.LogStreamName)); e != nil {
		return nil, e
	}
	g := rs.group(*in.LogGroupName)
	if g == nil {
		return nil, errGroupNotFound()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	name := *in.LogStreamName
	if g.streams[name] == nil {
		return nil, errStreamNotFound()
	}
	delete(g.streams, name)
	if i, ok := slices.BinarySearch(g.names, name); ok {
		g.names = slices.Delete(g.names, i, i+1)
	}
	return nil, nil
}

// ---------------------------------------------------------------------------------------------

// retentionDays are the values retentionInDays takes.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func validateRetention(days int) *awssim.Error {
	if slices.Contains(retentionDays, days) {
		return nil
	}
	set := make([]string, len(retentionDays))
	for i, d := range retentionDays {
		set[i] = strconv.Itoa(d)
	}
	return errValidation(days, "retentionInDays", "Member must satisfy enum value set: ["+strings.Join(set, ", ")+"]")
}

type putRetentionPolicyInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int    `json:"retentionInDays"`
}

func (s *Service) putRetentionPolicy(rs *regionState, body []byte) (any, *awssim.Error) {
	var in putRetentionPolicyInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	if e := validateGroupName("logGroupName", deref(in.LogGroupName)); e != nil {
		return nil, e
	}
	if in.RetentionInDays == nil {
		return nil, errValidation("null", "retentionInDays", "Member must not be null")
	}
	return nil, rs.setRetention(*in.LogGroupName, *in.RetentionInDays, s.nowMs())
}

func (s *Service) deleteRetentionPolicy(rs *regionState, body []byte) (any, *awssim.Error) {
	var in createLogGroupInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	if e := validateGroupName("logGroupName", deref(in.LogGroupName)); e != nil {
		return nil, e
	}
	return nil, rs.setRetention(*in.LogGroupName, 0, s.nowMs())
}

// setRetention sets a group's retentionInDays (0: never expire) at nowMs.
func (rs *regionState) setRetention(name string, days int, nowMs int64) *awssim.Error {
	if days != 0 {
		if e := validateRetention(days); e != nil {
			return e
		}
	}
	g := rs.group(name)
	if g == nil {
		return errGroupNotFound()
	}
	g.mu.Lock()
	g.setRetentionLocked(days, nowMs)
	g.mu.Unlock()
	return nil
}

// SetRetention sets the retentionInDays of a group of an account and region, as
// PutRetentionPolicy does (0 removes it, as DeleteRetentionPolicy does): from then on its
// events older than that are gone, and PutLogEvents refuses them; events that expired before
// stay gone. It is meant for loaders and tests.
func (s *Service) SetRetention(account, region, group string, days int) error {
	rs := s.region(account, region, false)
	if rs == nil {
		return errGroupNotFound()
	}
	if e := rs.setRetention(group, days, s.nowMs()); e != nil {
		return e
	}
	return nil
}

// ---------------------------------------------------------------------------------------------

type inputLogEvent struct {
	Timestamp *int64  `json:"timestamp"`
	Message   *string `json:"message"`
}

type putLogEventsInput struct {
	LogGroupName  *string         `json:"logGroupName"`
	LogStreamName *string         `json:"logStreamName"`
	LogEvents     []inputLogEvent `json:"logEvents"`
	SequenceToken *string         `json:"sequenceToken"`
}

type rejectedLogEventsInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

type putLogEventsOutput struct {
	NextSequenceToken     string                 `json:"nextSequenceToken"`
	RejectedLogEventsInfo *rejectedLogEventsInfo `json:"rejectedLogEventsInfo,omitempty"`
}

func (s *Service) putLogEvents(rs *regionState, body []byte) (any, *awssim.Error) {
	var in putLogEventsInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	if e := validateGroupName("logGroupName", deref(in.LogGroupName)); e != nil {
		return nil, e
	}
	if e := validateStreamName("logStreamName", deref(in.LogStreamName)); e != nil {
		return nil, e
	}
	n := len(in.LogEvents)
	if n == 0 {
		return nil, errValidation("[]", "logEvents", "Member must have length greater than or equal to 1")
	}
	if n > MaxPutEvents {
		return nil, errValidation(fmt.Sprintf("[%d events]", n), "logEvents", fmt.Sprintf("Member must have length less than or equal to %d", MaxPutEvents))
	}
	size := 0
	for i, ev := range in.LogEvents {
		if ev.Timestamp == nil {
			return nil, errValidation("null", fmt.Sprintf("logEvents.%d.member.timestamp", i+1), "Member must not be null")
		}
		if *ev.Timestamp < 0 {
			return nil, errValidation(*ev.Timestamp, fmt.Sprintf("logEvents.%d.member.timestamp", i+1), "Member must have value greater than or equal to 0")
		}
		if ev.Message == nil {
			return nil, errValidation("null", fmt.Sprintf("logEvents.%d.member.message", i+1), "Member must not be null")
		}
		if *ev.Message == "" {
			return nil, errValidation("", fmt.Sprintf("logEvents.%d.member.message", i+1), "Member must have length greater than or equal to 1")
		}
		size += len(*ev.Message) + EventOverhead
	}
	if size > MaxPutBytes {
		return nil, errInvalid("Upload too large: %d bytes exceeds limit of %d", size, MaxPutBytes)
	}
	for i := 1; i < n; i++ {
		if *in.LogEvents[i].Timestamp < *in.LogEvents[i-1].Timestamp {
			return nil, errInvalid("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	g := rs.group(*in.LogGroupName)
	if g == nil {
		return nil, errGroupNotFound()
	}

	now := s.nowMs()
	// Events are sorted: the too old ones come first, the too new ones last. Events older
	// than the group's retention period are refused as expired.
	oldest := now - MaxEventAge.Milliseconds()
	newest := now + MaxEventFuture.Milliseconds()
	g.mu.RLock()
	kept := g.oldestKeptLocked(now)
	g.mu.RUnlock()
	tooOld := sort.Search(n, func(i int) bool { return *in.LogEvents[i].Timestamp >= oldest })
	expired := sort.Search(n, func(i int) bool { return *in.LogEvents[i].Timestamp >= kept })
	first := max(tooOld, expired)
	end := max(first, sort.Search(n, func(i int) bool { return *in.LogEvents[i].Timestamp > newest }))
	var rej *rejectedLogEventsInfo
	if first > 0 || end < n {
		rej = &rejectedLogEventsInfo{}
		if tooOld > 0 {
			rej.TooOldLogEventEndIndex = &tooOld
		}
		if expired > 0 {
			rej.ExpiredLogEventEndIndex = &expired
		}
		if end < n {
			rej.TooNewLogEventStartIndex = &end
		}
	}
	if first < end && *in.LogEvents[end-1].Timestamp-*in.LogEvents[first].Timestamp > MaxBatchSpan.Milliseconds() {
		return nil, errInvalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}

	g.mu.Lock()
	st := g.streams[*in.LogStreamName]
	if st == nil {
		g.mu.Unlock()
		return nil, errStreamNotFound()
	}
	evs := make([]event, 0, end-first)
	for _, ev := range in.LogEvents[first:end] {
		msg := *ev.Message
		if !utf8.ValidString(msg) {
			msg = strings.ToValidUTF8(msg, "\uFFFD")
		}
		evs = append(evs, event{ts: *ev.Timestamp, seq: s.seq.Add(1), ingest: s.ingestTime(now), msg: msg})
		g.bytes += int64(len(msg))
	}
	sortEvents(evs)
	st.insert(evs)
	g.mu.Unlock()

	return putLogEventsOutput{NextSequenceToken: eventID(key{now, s.seq.Load()}), RejectedLogEventsInfo: rej}, nil
}

// sortEvents sorts by key; events of one call arrive sorted, so this is usually a check.
func sortEvents(evs []event) {
	if !slices.IsSortedFunc(evs, cmpEvent) {
		slices.SortFunc(evs, cmpEvent)
	}
}

func cmpEvent(a, b event) int {
	switch {
	case a.key().less(b.key()):
		return -1
	case b.key().less(a.key()):
		return 1
	}
	return 0
}

// ---------------------------------------------------------------------------------------------

type describeLogGroupsInput struct {
	LogGroupNamePrefix  *string  `json:"logGroupNamePrefix"`
	LogGroupNamePattern *string  `json:"logGroupNamePattern"`
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int32   `json:"limit"`
}

type logGroupOut struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	StoredBytes       int64  `json:"storedBytes"`
	LogGroupClass     string `json:"logGroupClass"`
	LogGroupArn       string `json:"logGroupArn"`
	RetentionInDays   *int   `json:"retentionInDays,omitempty"`
}

type describeLogGroupsOutput struct {
	LogGroups []logGroupOut `json:"logGroups"`
	NextToken *string       `json:"nextToken,omitempty"`
}

func (s *Service) describeLogGroups(rs *regionState, body []byte) (any, *awssim.Error) {
	var in describeLogGroupsInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, errInvalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if e := validateLimit(in.Limit, MaxDescribeLimit); e != nil {
		return nil, e
	}
	limit := int(MaxDescribeLimit)
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	after := ""
	if in.NextToken != nil {
		k, e := s.decodeNameToken(*in.NextToken)
		if e != nil {
			return nil, e
		}
		after = k
	}
	var wanted map[string]bool
	if len(in.LogGroupIdentifiers) > 0 {
		wanted = map[string]bool{}
		for _, id := range in.LogGroupIdentifiers {
			if strings.HasPrefix(id, "arn:") {
				f := strings.Split(strings.TrimSuffix(id, ":*"), ":")
				if len(f) == 7 {
					id = f[6]
				}
			}
			wanted[id] = true
		}
	}
	rs.mu.RLock()
	i := 0
	if in.LogGroupNamePrefix != nil {
		i = sort.SearchStrings(rs.names, *in.LogGroupNamePrefix)
	}
	if after != "" {
		i = max(i, sort.Search(len(rs.names), func(j int) bool { return rs.names[j] > after }))
	}
	var groups []*group
	more := false
	for ; i < len(rs.names); i++ {
		name := rs.names[i]
		if in.LogGroupNamePrefix != nil && !strings.HasPrefix(name, *in.LogGroupNamePrefix) {
			break
		}
		if in.LogGroupNamePattern != nil && !strings.Contains(name, *in.LogGroupNamePattern) {
			continue
		}
		if wanted != nil && !wanted[name] {
			continue
		}
		if len(groups) == limit {
			more = true
			break
		}
		groups = append(groups, rs.groups[name])
	}
	rs.mu.RUnlock()
	out := describeLogGroupsOutput{LogGroups: make([]logGroupOut, 0, len(groups))}
	for _, g := range groups {
		g.mu.RLock()
		b, days := g.bytes, g.retention
		g.mu.RUnlock()
		lg := logGroupOut{
			LogGroupName: g.name, CreationTime: g.created, Arn: g.arn + ":*", StoredBytes: b,
			LogGroupClass: "STANDARD", LogGroupArn: g.arn,
		}
		if days > 0 {
			lg.RetentionInDays = &days
		}
		out.LogGroups = append(out.LogGroups, lg)
	}
	if more {
		t := s.encodeNameToken(groups[len(groups)-1].name)
		out.NextToken = &t
	}
	return out, nil
}

type describeLogStreamsInput struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          *bool   `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int32  `json:"limit"`
}

type logStreamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	UploadSequenceToken string `json:"uploadSequenceToken"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

type describeLogStreamsOutput struct {
	LogStreams []logStreamOut `json:"logStreams"`
	NextToken  *string        `json:"nextToken,omitempty"`
}

type streamRow struct {
	st   *stream
	last int64 // lastEventTimestamp, 0 without events
	out  logStreamOut
}

func (s *Service) describeLogStreams(rs *regionState, body []byte) (any, *awssim.Error) {
	var in describeLogStreamsInput
	if e := awssim.DecodeJSON(body, &in); e != nil {
		return nil, e
	}
	byTime := false
	if in.OrderBy != nil {
		switch *in.OrderBy {
		case "LogStreamName":
		case "LastEventTime":
			byTime = true
		default:
			return nil, errValidation(*in.OrderBy, "orderBy", "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
		}
	}
	if byTime && in.LogStreamNamePrefix != nil {
		return nil, errInvalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	if e := validateLimit(in.Limit, MaxDescribeLimit); e != nil {
		return nil, e
	}
	limit := int(MaxDescribeLimit)
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	desc := in.Descending != nil && *in.Descending
	g, e := rs.resolveGroup(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	var cur *streamCursor
	if in.NextToken != nil {
		c, e := s.decodeStreamToken(*in.NextToken)
		if e != nil {
			return nil, e
		}
		cur = &c
	}

	g.mu.RLock()
	var sts []*stream
	if in.LogStreamNamePrefix != nil {
		sts = g.streamsWithPrefixLocked(*in.LogStreamNamePrefix)
	} else {
		sts = make([]*stream, 0, len(g.names))
		for _, n := range g.names {
			sts = append(sts, g.streams[n])
		}
	}
	rows := make([]streamRow, 0, len(sts))
	for _, st := range sts {
		r := streamRow{st: st, out: logStreamOut{
			LogStreamName: st.name, CreationTime: st.created, Arn: st.arn,
			UploadSequenceToken: eventID(key{st.created, uint64(st.count) + 1}),
		}}
		if st.count > 0 {
			f, l, li := st.firstTs, st.lastTs, st.lastIngest
			r.out.FirstEventTimestamp, r.out.LastEventTimestamp, r.out.LastIngestionTime = &f, &l, &li
			r.last = l
		}
		rows = append(rows, r)
	}
	g.mu.RUnlock()

	cmp := func(a, b streamRow) int { return strings.Compare(a.st.name, b.st.name) }
	if byTime {
		cmp = func(a, b streamRow) int {
			if a.last != b.last {
				if a.last < b.last {
					return -1
				}
				return 1
			}
			return strings.Compare(a.st.name, b.st.name)
		}
		slices.SortFunc(rows, cmp)
	}
	if desc {
		slices.Reverse(rows)
	}
	// skip what the token's page already returned
	i := 0
	if cur != nil {
		ref := streamRow{st: &stream{name: cur.Name}, last: cur.Last}
		i = sort.Search(len(rows), func(j int) bool {
			c := cmp(rows[j], ref)
			if desc {
				return c < 0
			}
			return c > 0
		})
	}
	out := describeLogStreamsOutput{LogStreams: []logStreamOut{}}
	for ; i < len(rows) && len(out.LogStreams) < limit; i++ {
		out.LogStreams = append(out.LogStreams, rows[i].out)
	}
	if i < len(rows) && len(out.LogStreams) > 0 {
		last := rows[i-1]
		t := s.encodeStreamToken(streamCursor{Name: last.st.name, Last: last.last})
		out.NextToken = &t
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
