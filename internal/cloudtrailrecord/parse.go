package cloudtrailrecord

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Status says whether a record could be read as CloudTrail. A destination that cannot parse
// a record passes it through with parse_status=<Status> rather than dropping it.
type Status string

// The parse statuses.
const (
	StatusOK            Status = "ok"
	StatusNotJSON       Status = "not_json"       // not one well-formed JSON object
	StatusNotCloudTrail Status = "not_cloudtrail" // JSON, but not a CloudTrail record (a digest file, another log, ...)
)

// ErrNotCloudTrail matches (errors.Is) every *ParseError.
var ErrNotCloudTrail = errors.New("not a CloudTrail record")

// ParseError is the error Parse returns for input that is not a CloudTrail record.
type ParseError struct {
	Status Status
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("cloudtrail: %s: %s", e.Status, e.Reason)
}

// Is makes errors.Is(err, ErrNotCloudTrail) true.
func (e *ParseError) Is(target error) bool { return target == ErrNotCloudTrail }

// StatusOf returns the parse status an error from Parse stands for: StatusOK for nil,
// the error's Status for a *ParseError, StatusNotCloudTrail otherwise.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.Status
	}
	return StatusNotCloudTrail
}

// Tri is a boolean that may be absent from the record.
type Tri uint8

// The values of a Tri.
const (
	Unset Tri = iota
	False
	True
)

func (t Tri) String() string {
	switch t {
	case False:
		return "false"
	case True:
		return "true"
	}
	return ""
}

func triOf(v []byte) Tri {
	switch strings.ToLower(string(v)) {
	case "true", "yes":
		return True
	case "false", "no":
		return False
	}
	return Unset
}

// Identity is the record's userIdentity, with a derived UserName.
type Identity struct {
	Type        string // IAMUser, AssumedRole, Root, AWSService, FederatedUser, AWSAccount, ...
	PrincipalID string
	ARN         string
	AccountID   string
	AccessKeyID string
	InvokedBy   string
	// UserName is derived: userName when the record has one; else for AssumedRole the
	// session name from the ARN, for FederatedUser the name from the ARN, for Root "root",
	// for AWSService (or a service event without a type) invokedBy.
	UserName string
	// SessionIssuerARN and SessionIssuerName are sessionContext.sessionIssuer arn and
	// userName (the role behind an AssumedRole session).
	SessionIssuerARN  string
	SessionIssuerName string
	// RoleName and SessionName are derived for an AssumedRole identity: the role is
	// SessionIssuerName, else the role in the ARN (arn:aws:sts::<account>:assumed-role/<role>/
	// <session>); the session is the one in the ARN, else what follows the colon of
	// principalId (<role id>:<session>). Both are empty for the other types.
	RoleName    string
	SessionName string
	// OnBehalfOfUserID is onBehalfOf.userId: the IAM Identity Center user a request was made
	// for (type IdentityCenterUser, and sessions that carry the user's identity).
	OnBehalfOfUserID string
	// MFAAuthenticated is sessionContext.attributes.mfaAuthenticated.
	MFAAuthenticated Tri
}

// OCSF places a record in the Open Cybersecurity Schema Framework (1.1).
type OCSF struct {
	ClassUID     int    // 3001 Account Change, 3002 Authentication, 6003 API Activity
	ClassName    string //
	CategoryUID  int    // 3 Identity & Access Management, 6 Application Activity
	ActivityID   int    // per class; 99 Other
	ActivityName string
}

// TypeUID is the OCSF type_uid: class_uid * 100 + activity_id.
func (o OCSF) TypeUID() int { return o.ClassUID*100 + o.ActivityID }

// Outcome is whether the call succeeded.
type Outcome string

// The outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeUnknown Outcome = "unknown"
)

// Event is one CloudTrail record, normalised. Strings share one copy of the record; the
// json-valued fields (RequestParameters, ...) are sub-slices of Raw.
type Event struct {
	// Raw is the record as given to Parse (not copied).
	Raw []byte

	EventVersion       string // eventVersion (or "version" in a CloudTrail Lake event)
	EventTime          time.Time
	EventSource        string // for an Insight event, insightDetails.eventSource
	EventName          string // for an Insight event, insightDetails.eventName
	AWSRegion          string
	SourceIPAddress    string
	UserAgent          string
	EventID            string
	EventType          string // AwsApiCall, AwsConsoleSignIn, AwsServiceEvent, AwsCloudTrailInsight, ...
	EventCategory      string // Management, Data, Insight, NetworkActivity
	RequestID          string
	RecipientAccountID string // recipientAccountId as the record has it; see AccountID
	ErrorCode          string
	ErrorMessage       string
	ReadOnly           Tri
	ManagementEvent    Tri
	Identity           Identity
	// MFAUsed is additionalEventData.MFAUsed (console sign-in).
	MFAUsed Tri
	// ConsoleLogin is responseElements.ConsoleLogin ("Success" or "Failure"); for the other
	// sign-in events (CheckMfa, PasswordUpdated, ...) responseElements.<eventName>.
	ConsoleLogin string

	// The json of requestParameters, responseElements, additionalEventData and resources;
	// nil when absent or null.
	RequestParameters   []byte
	ResponseElements    []byte
	AdditionalEventData []byte
	Resources           []byte

	// Derived.

	// AccountID is the account the event belongs to: recipientAccountId, else (records
	// written before CloudTrail added recipientAccountId) userIdentity.accountId.
	AccountID string
	Category  string // see README.md for the list
	// Action is the category the call has whatever its result: for a denied StopLogging,
	// Category is "error.access_denied" and Action "logging.tampering".
	Action   string
	Outcome  Outcome
	Severity int // 0-10, the CEF scale
	OCSF     OCSF
	// Technique is the MITRE ATT&CK technique id of a call the attack table (attack.go) lists
	// ("T1648", "T1098.001"), and TechniqueName its ATT&CK name; empty for the other calls.
	// Category and Action of such a call are attack.<tactic>.<technique>.
	Technique     string
	TechniqueName string
}

// Parse reads one CloudTrail record (a JSON object) and derives its category, outcome,
// severity and OCSF class. Input that is not a CloudTrail record gives a *ParseError.
func Parse(record []byte) (*Event, error) {
	ev := new(Event)
	if err := parseZeroed(ev, record); err != nil {
		return nil, err
	}
	return ev, nil
}

// ParseInto is Parse into an Event the caller owns (overwritten in full).
func ParseInto(ev *Event, record []byte) error {
	*ev = Event{}
	return parseZeroed(ev, record)
}

// parseZeroed is ParseInto into an Event known to be zero (a new one is: clearing it again
// costs a write barrier per pointer field).
func parseZeroed(ev *Event, record []byte) error {
	ev.Raw = record
	var f fields
	if err := f.read(record); err != nil {
		return err
	}
	id := &ev.Identity
	var userName string
	// One allocation backs every string field.
	pairs := [...]struct {
		src []byte
		dst *string
	}{
		{f.eventVersion, &ev.EventVersion}, {f.eventSource, &ev.EventSource}, {f.eventName, &ev.EventName},
		{f.awsRegion, &ev.AWSRegion}, {f.sourceIP, &ev.SourceIPAddress}, {f.userAgent, &ev.UserAgent},
		{f.eventID, &ev.EventID}, {f.eventType, &ev.EventType}, {f.eventCategory, &ev.EventCategory},
		{f.requestID, &ev.RequestID}, {f.recipientAccountID, &ev.RecipientAccountID},
		{f.errorCode, &ev.ErrorCode}, {f.errorMessage, &ev.ErrorMessage}, {f.consoleLogin, &ev.ConsoleLogin},
		{f.idType, &id.Type}, {f.idPrincipalID, &id.PrincipalID}, {f.idARN, &id.ARN},
		{f.idAccountID, &id.AccountID}, {f.idAccessKeyID, &id.AccessKeyID}, {f.idInvokedBy, &id.InvokedBy},
		{f.issuerARN, &id.SessionIssuerARN}, {f.issuerUserName, &id.SessionIssuerName}, {f.idUserName, &userName},
		{f.onBehalfOfUserID, &id.OnBehalfOfUserID},
	}
	n := 0
	for _, p := range pairs {
		n += len(p.src)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, p := range pairs {
		sb.Write(p.src)
	}
	backing := sb.String()
	off := 0
	for _, p := range pairs {
		*p.dst = backing[off : off+len(p.src)]
		off += len(p.src)
	}
	ev.ReadOnly = f.readOnly
	ev.ManagementEvent = f.managementEvent
	ev.MFAUsed = f.mfaUsed
	ev.RequestParameters = f.requestParameters
	ev.ResponseElements = f.responseElements
	ev.AdditionalEventData = f.additionalEventData
	ev.Resources = f.resources
	id.MFAAuthenticated = f.mfaAuthenticated
	id.UserName = deriveUserName(id, userName)
	if id.Type == "AssumedRole" {
		id.RoleName, id.SessionName = roleAndSession(id)
	}
	ev.AccountID = ev.RecipientAccountID
	if ev.AccountID == "" {
		ev.AccountID = id.AccountID
	}

	t, err := parseTime(f.eventTime)
	if err != nil {
		return &ParseError{Status: StatusNotCloudTrail, Reason: fmt.Sprintf("eventTime %q: %v", f.eventTime, err)}
	}
	ev.EventTime = t
	classify(ev)
	return nil
}

func parseTime(v []byte) (time.Time, error) {
	s := string(v)
	// The usual form, 2006-01-02T15:04:05Z, is parsed by hand: time.Parse is slower.
	if len(v) == 20 && v[4] == '-' && v[7] == '-' && v[10] == 'T' && v[13] == ':' && v[16] == ':' && v[19] == 'Z' {
		n := func(a, b int) int {
			x := 0
			for _, c := range v[a:b] {
				if c < '0' || c > '9' {
					return -1
				}
				x = x*10 + int(c-'0')
			}
			return x
		}
		y, mo, d, h, mi, se := n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19)
		if y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(mo, y) && h >= 0 && h < 24 && mi >= 0 && mi < 60 && se >= 0 && se < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC), nil
		}
	}
	// Panther and some exporters write "2006-01-02 15:04:05[.999999999][Z]": read it as UTC.
	if len(v) >= 19 && len(v) <= 40 && v[10] == ' ' {
		var buf [41]byte
		n := copy(buf[:], v)
		buf[10] = 'T'
		if v[len(v)-1] != 'Z' {
			buf[n] = 'Z'
			n++
		}
		s = string(buf[:n])
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("not an RFC 3339 time")
	}
	return t.UTC(), nil
}

func daysIn(m, y int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// deriveUserName picks the name a SIEM shows as the user.
func deriveUserName(id *Identity, userName string) string {
	if userName != "" {
		return userName
	}
	switch id.Type {
	case "Root":
		return "root"
	case "AssumedRole":
		// arn:aws:sts::123456789012:assumed-role/Role/session
		if _, res, ok := strings.Cut(id.ARN, ":assumed-role/"); ok {
			if _, session, ok := strings.Cut(res, "/"); ok && session != "" {
				return session
			}
		}
		if _, session, ok := strings.Cut(id.PrincipalID, ":"); ok && session != "" {
			return session
		}
		if id.SessionIssuerName != "" {
			return id.SessionIssuerName
		}
		if _, res, ok := strings.Cut(id.ARN, ":assumed-role/"); ok {
			return res
		}
	case "FederatedUser":
		if _, name, ok := strings.Cut(id.ARN, ":federated-user/"); ok && name != "" {
			return name
		}
		if _, name, ok := strings.Cut(id.PrincipalID, ":"); ok {
			return name
		}
	case "IAMUser":
		if _, name, ok := strings.Cut(id.ARN, ":user/"); ok {
			if i := strings.LastIndexByte(name, '/'); i >= 0 {
				name = name[i+1:]
			}
			return name
		}
	}
	if id.InvokedBy != "" && (id.Type == "AWSService" || id.Type == "") {
		return id.InvokedBy
	}
	return ""
}

// roleAndSession returns the role and the session name of an AssumedRole identity.
func roleAndSession(id *Identity) (role, session string) {
	// arn:aws:sts::123456789012:assumed-role/Role/session
	if _, res, ok := strings.Cut(id.ARN, ":assumed-role/"); ok {
		role, session, _ = strings.Cut(res, "/")
	}
	if id.SessionIssuerName != "" {
		role = id.SessionIssuerName
	}
	if session == "" {
		if _, s, ok := strings.Cut(id.PrincipalID, ":"); ok {
			session = s
		}
	}
	return role, session
}

// fields holds the raw values Parse reads, as sub-slices of the record (or decoded copies
// when a string had escapes).
type fields struct {
	eventVersion, eventTime, eventSource, eventName, awsRegion, sourceIP, userAgent []byte
	eventID, eventType, eventCategory, requestID, recipientAccountID                []byte
	errorCode, errorMessage, consoleLogin                                           []byte
	idType, idPrincipalID, idARN, idAccountID, idAccessKeyID, idUserName            []byte
	idInvokedBy, issuerARN, issuerUserName, onBehalfOfUserID                        []byte
	readOnly, managementEvent, mfaUsed, mfaAuthenticated                            Tri

	requestParameters, responseElements, additionalEventData, resources []byte
	insightDetails                                                      []byte
	digestKeys                                                          int
}

func notJSON(s *scanner) error {
	return &ParseError{Status: StatusNotJSON, Reason: fmt.Sprintf("invalid JSON near byte %d", s.i)}
}

func (f *fields) read(record []byte) error {
	s := scanner{b: record}
	switch s.peek() {
	case '{':
	case 0:
		return &ParseError{Status: StatusNotJSON, Reason: "empty record"}
	case '[', '"', 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if _, ok := s.skip(); ok && s.end() {
			return &ParseError{Status: StatusNotCloudTrail, Reason: "JSON but not an object"}
		}
		return notJSON(&s)
	default:
		return notJSON(&s)
	}
	s.enter('{')
	for {
		k, ok := s.key()
		if !ok {
			break
		}
		var good bool
		switch string(k) {
		case "eventVersion", "version":
			f.eventVersion, good = s.optText()
		case "eventTime":
			f.eventTime, good = s.optText()
		case "eventSource":
			f.eventSource, good = s.optText()
		case "eventName":
			f.eventName, good = s.optText()
		case "awsRegion":
			f.awsRegion, good = s.optText()
		case "sourceIPAddress":
			f.sourceIP, good = s.optText()
		case "userAgent":
			f.userAgent, good = s.optText()
		case "eventID":
			f.eventID, good = s.optText()
		case "eventType":
			f.eventType, good = s.optText()
		case "eventCategory":
			f.eventCategory, good = s.optText()
		case "requestID":
			f.requestID, good = s.optText()
		case "recipientAccountId":
			f.recipientAccountID, good = s.optText()
		case "errorCode":
			f.errorCode, good = s.optText()
		case "errorMessage":
			f.errorMessage, good = s.optText()
		case "readOnly":
			f.readOnly, good = s.optBool()
		case "managementEvent":
			f.managementEvent, good = s.optBool()
		case "userIdentity":
			good = f.identity(&s)
		case "requestParameters":
			f.requestParameters, good = s.optRaw()
		case "responseElements":
			f.responseElements, good = s.optRaw()
		case "additionalEventData":
			f.additionalEventData, good = s.optRaw()
			if good && f.additionalEventData != nil {
				f.mfaUsed = subBool(f.additionalEventData, "MFAUsed")
			}
		case "resources":
			f.resources, good = s.optRaw()
		case "insightDetails":
			f.insightDetails, good = s.optRaw()
		case "digestStartTime", "digestEndTime", "digestSignatureAlgorithm", "previousDigestSignature", "logFiles":
			f.digestKeys++
			_, good = s.skip()
		default:
			_, good = s.skip()
		}
		if !good {
			return notJSON(&s)
		}
	}
	if s.bad || !s.end() {
		return notJSON(&s)
	}
	if f.insightDetails != nil && (f.eventSource == nil || f.eventName == nil) {
		d := scanner{b: f.insightDetails}
		d.enter('{')
		for {
			k, ok := d.key()
			if !ok {
				break
			}
			switch string(k) {
			case "eventSource":
				f.eventSource, _ = d.optText()
			case "eventName":
				f.eventName, _ = d.optText()
			default:
				d.skip()
			}
		}
	}
	switch {
	case f.digestKeys >= 2:
		return &ParseError{Status: StatusNotCloudTrail, Reason: "a CloudTrail digest file, not an event"}
	case len(f.eventName) == 0:
		return &ParseError{Status: StatusNotCloudTrail, Reason: "no eventName"}
	case len(f.eventSource) == 0:
		return &ParseError{Status: StatusNotCloudTrail, Reason: "no eventSource"}
	case len(f.eventTime) == 0:
		return &ParseError{Status: StatusNotCloudTrail, Reason: "no eventTime"}
	}
	if f.responseElements != nil && (f.eventType == nil || string(f.eventType) == "AwsConsoleSignIn") {
		f.consoleLogin = subText(f.responseElements, string(f.eventName))
	}
	return nil
}

// identity reads userIdentity.
func (f *fields) identity(s *scanner) bool {
	if s.peek() != '{' {
		_, ok := s.skip()
		return ok
	}
	s.enter('{')
	for {
		k, ok := s.key()
		if !ok {
			break
		}
		var good bool
		switch string(k) {
		case "type":
			f.idType, good = s.optText()
		case "principalId":
			f.idPrincipalID, good = s.optText()
		case "arn":
			f.idARN, good = s.optText()
		case "accountId":
			f.idAccountID, good = s.optText()
		case "accessKeyId":
			f.idAccessKeyID, good = s.optText()
		case "userName":
			f.idUserName, good = s.optText()
		case "invokedBy":
			f.idInvokedBy, good = s.optText()
		case "onBehalfOf":
			var raw []byte
			raw, good = s.optRaw()
			if good && raw != nil {
				f.onBehalfOfUserID = subText(raw, "userId")
			}
		case "sessionContext":
			good = f.sessionContext(s)
		default:
			_, good = s.skip()
		}
		if !good {
			return false
		}
	}
	return !s.bad
}

func (f *fields) sessionContext(s *scanner) bool {
	if s.peek() != '{' {
		_, ok := s.skip()
		return ok
	}
	s.enter('{')
	for {
		k, ok := s.key()
		if !ok {
			break
		}
		var good bool
		switch string(k) {
		case "sessionIssuer":
			var raw []byte
			raw, good = s.optRaw()
			if good && raw != nil {
				f.issuerARN = subText(raw, "arn")
				f.issuerUserName = subText(raw, "userName")
			}
		case "attributes":
			var raw []byte
			raw, good = s.optRaw()
			if good && raw != nil {
				f.mfaAuthenticated = subBool(raw, "mfaAuthenticated")
			}
		default:
			_, good = s.skip()
		}
		if !good {
			return false
		}
	}
	return !s.bad
}

// optText reads a string value; any other kind of value is skipped and reads as absent.
func (s *scanner) optText() ([]byte, bool) {
	if s.peek() == '"' {
		return s.text()
	}
	_, ok := s.skip()
	return nil, ok
}

// optBool reads true/false, or the strings "true"/"false".
func (s *scanner) optBool() (Tri, bool) {
	switch s.peek() {
	case 't', 'f':
		v, ok := s.skip()
		return triOf(v), ok
	case '"':
		v, ok := s.text()
		return triOf(v), ok
	}
	_, ok := s.skip()
	return Unset, ok
}

// optRaw reads an object or array value and returns its bytes; null and scalars give nil.
func (s *scanner) optRaw() ([]byte, bool) {
	c := s.peek()
	v, ok := s.skip()
	if c != '{' && c != '[' {
		return nil, ok
	}
	return v, ok
}

// subText returns the string member key of the JSON object obj (already checked).
func subText(obj []byte, key string) []byte {
	s := scanner{b: obj}
	if s.peek() != '{' {
		return nil
	}
	s.enter('{')
	var out []byte
	for {
		k, ok := s.key()
		if !ok {
			break
		}
		if string(k) == key {
			out, _ = s.optText()
			continue
		}
		if _, ok := s.skip(); !ok {
			return nil
		}
	}
	return out
}

func subBool(obj []byte, key string) Tri {
	s := scanner{b: obj}
	if s.peek() != '{' {
		return Unset
	}
	s.enter('{')
	out := Unset
	for {
		k, ok := s.key()
		if !ok {
			break
		}
		if string(k) == key {
			out, _ = s.optBool()
			continue
		}
		if _, ok := s.skip(); !ok {
			return Unset
		}
	}
	return out
}
