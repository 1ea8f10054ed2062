package lake

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Per-event error codes of PutAuditEvents (ResultErrorEntry.errorCode).
const (
	CodeFieldTooLong         = "FieldTooLong"
	CodeFieldNotFound        = "FieldNotFound"
	CodeInvalidChecksum      = "InvalidChecksum"
	CodeInvalidData          = "InvalidData"
	CodeInvalidRecipient     = "InvalidRecipient"
	CodeInvalidEventSource   = "InvalidEventSource"
	CodeAccountNotSubscribed = "AccountNotSubscribed"
	CodeThrottling           = "Throttling"
	CodeInternalFailure      = "InternalFailure"
)

// Limits of the eventData fields (CloudTrail Lake integrations event schema). String limits
// count characters; JSON-object limits count the bytes of the value as sent.
const (
	MaxVersionLen      = 256
	MaxIdentityTypeLen = 128
	MaxPrincipalIDLen  = 1024
	MaxUserAgentLen    = 1024
	MaxEventSourceLen  = 1024
	MaxEventNameLen    = 1024
	MaxUIDLen          = 1024
	MaxErrorCodeLen    = 256
	MaxErrorMessageLen = 256
	MaxDetailsBytes    = 100 * 1024 // userIdentity.details
	MaxRequestBytes    = 100 * 1024 // requestParameters
	MaxResponseBytes   = 100 * 1024 // responseElements
	MaxAdditionalBytes = 28 * 1024  // additionalEventData
)

// EventTimeLayout is the only eventTime format accepted: UTC, whole seconds, a literal Z.
const EventTimeLayout = "2006-01-02T15:04:05Z"

// eventError is a per-event failure.
type eventError struct {
	code, msg string
}

func evErr(code, format string, args ...any) *eventError {
	return &eventError{code: code, msg: fmt.Sprintf(format, args...)}
}

// span is where a field's value sits in eventData; first is its first byte ('"', '{', 'n'...).
type span struct {
	start, end int
	first      byte
	set        bool
	esc        bool // a string value holds escapes
}

func (s span) present() bool { return s.set && s.first != 'n' } // null counts as absent

// parsedEvent is what the validator extracts from eventData.
type parsedEvent struct {
	eventSource string
	eventName   string
	eventTime   time.Time
	recipient   string
}

// validateRules holds the per-channel and per-service switches the validator applies.
type validateRules struct {
	account             string          // the channel owner: recipientAccountId must equal it
	eventSources        map[string]bool // when non-empty, eventSource must be one of them
	rejectUnknownFields bool
	strictSourceIP      bool
}

// topFields are the positions of the eventData members the schema knows.
type topFields struct {
	version, userIdentity, userAgent, eventSource, eventName, eventTime, uid,
	requestParameters, responseElements, errorCode, errorMessage, sourceIPAddress,
	recipientAccountID, additionalEventData span
	identityType, principalID, details span
}

// validateEventData checks one eventData document against the integrations event schema.
func validateEventData(d []byte, rules *validateRules) (parsedEvent, *eventError) {
	var pe parsedEvent
	var f topFields
	i := skipSpace(d, 0)
	if i >= len(d) || d[i] != '{' {
		if _, err := skipValue(d, i, 0); err != nil || i >= len(d) {
			return pe, evErr(CodeInvalidData, "eventData is not valid JSON")
		}
		return pe, evErr(CodeInvalidData, "eventData must be a JSON object")
	}
	it := newObjectIter(d, i, 0)
	unknown := ""
	for {
		m, ok := it.next()
		if !ok {
			break
		}
		sp := span{start: m.valStart, end: m.valEnd, first: m.valueFirst, set: true, esc: m.valEsc}
		var key string
		if m.keyEsc {
			key = m.keyString()
		}
		k := func(name string) bool {
			if m.keyEsc {
				return key == name
			}
			return string(m.key) == name
		}
		switch {
		case k("version"):
			f.version = sp
		case k("userIdentity"):
			f.userIdentity = sp
		case k("userAgent"):
			f.userAgent = sp
		case k("eventSource"):
			f.eventSource = sp
		case k("eventName"):
			f.eventName = sp
		case k("eventTime"):
			f.eventTime = sp
		case k("UID"):
			f.uid = sp
		case k("requestParameters"):
			f.requestParameters = sp
		case k("responseElements"):
			f.responseElements = sp
		case k("errorCode"):
			f.errorCode = sp
		case k("errorMessage"):
			f.errorMessage = sp
		case k("sourceIPAddress"):
			f.sourceIPAddress = sp
		case k("recipientAccountId"):
			f.recipientAccountID = sp
		case k("additionalEventData"):
			f.additionalEventData = sp
		default:
			if unknown == "" {
				unknown = m.keyString()
			}
		}
	}
	if it.err != nil {
		if errors.Is(it.err, errTooDeep) {
			return pe, evErr(CodeInvalidData, "eventData is nested too deeply")
		}
		return pe, evErr(CodeInvalidData, "eventData is not valid JSON")
	}
	if j := skipSpace(d, it.i); j != len(d) {
		return pe, evErr(CodeInvalidData, "eventData is not valid JSON: data after the top-level object")
	}

	// userIdentity's members.
	if f.userIdentity.present() && f.userIdentity.first == '{' {
		uit := newObjectIter(d, f.userIdentity.start, 1)
		for {
			m, ok := uit.next()
			if !ok {
				break
			}
			sp := span{start: m.valStart, end: m.valEnd, first: m.valueFirst, set: true, esc: m.valEsc}
			switch {
			case m.keyIs("type"):
				f.identityType = sp
			case m.keyIs("principalId"):
				f.principalID = sp
			case m.keyIs("details"):
				f.details = sp
			default:
				if unknown == "" {
					unknown = "userIdentity." + m.keyString()
				}
			}
		}
		// The document was validated above: uit.err cannot be set.
	}

	var e *eventError
	// str checks a string field and returns its value when want is set.
	str := func(name string, s span, required bool, maxLen int, want bool) string {
		if e != nil {
			return ""
		}
		if !s.present() {
			if required {
				e = evErr(CodeFieldNotFound, "Required field %s is missing", name)
			}
			return ""
		}
		if s.first != '"' {
			e = evErr(CodeInvalidData, "Field %s must be a string", name)
			return ""
		}
		esc, raw := s.esc, d[s.start+1:s.end-1]
		if required && len(raw) == 0 {
			e = evErr(CodeFieldNotFound, "Required field %s is empty", name)
			return ""
		}
		if maxLen > 0 && len(raw) > maxLen { // cheap pre-check: bytes >= characters
			if n := runeLen(raw, esc); n > maxLen {
				e = evErr(CodeFieldTooLong, "Field %s is %d characters long; the maximum is %d", name, n, maxLen)
				return ""
			}
		}
		if !want {
			return ""
		}
		return stringValue(raw, esc)
	}
	obj := func(name string, s span, required bool, maxBytes int) {
		if e != nil {
			return
		}
		if !s.present() {
			if required {
				e = evErr(CodeFieldNotFound, "Required field %s is missing", name)
			}
			return
		}
		if s.first != '{' {
			e = evErr(CodeInvalidData, "Field %s must be a JSON object", name)
			return
		}
		if maxBytes > 0 && s.end-s.start > maxBytes {
			e = evErr(CodeFieldTooLong, "Field %s is %d bytes; the maximum is %d", name, s.end-s.start, maxBytes)
		}
	}

	str("version", f.version, true, MaxVersionLen, false)
	obj("userIdentity", f.userIdentity, true, 0)
	str("userIdentity.type", f.identityType, true, MaxIdentityTypeLen, false)
	str("userIdentity.principalId", f.principalID, true, MaxPrincipalIDLen, false)
	obj("userIdentity.details", f.details, false, MaxDetailsBytes)
	str("userAgent", f.userAgent, false, MaxUserAgentLen, false)
	pe.eventSource = str("eventSource", f.eventSource, true, MaxEventSourceLen, true)
	pe.eventName = str("eventName", f.eventName, true, MaxEventNameLen, true)
	eventTime := str("eventTime", f.eventTime, true, 0, true)
	str("UID", f.uid, true, MaxUIDLen, false)
	obj("requestParameters", f.requestParameters, false, MaxRequestBytes)
	obj("responseElements", f.responseElements, false, MaxResponseBytes)
	str("errorCode", f.errorCode, false, MaxErrorCodeLen, false)
	str("errorMessage", f.errorMessage, false, MaxErrorMessageLen, false)
	sourceIP := str("sourceIPAddress", f.sourceIPAddress, false, 0, rules.strictSourceIP)
	pe.recipient = str("recipientAccountId", f.recipientAccountID, true, 0, true)
	obj("additionalEventData", f.additionalEventData, false, MaxAdditionalBytes)
	if e != nil {
		return pe, e
	}

	t, err := time.Parse(EventTimeLayout, eventTime)
	if err != nil || len(eventTime) != len(EventTimeLayout) {
		return pe, evErr(CodeInvalidData, "Field eventTime %q is not a UTC time in the format yyyy-MM-ddTHH:mm:ssZ", eventTime)
	}
	pe.eventTime = t
	if rules.strictSourceIP && sourceIP != "" {
		if _, err := netip.ParseAddr(sourceIP); err != nil {
			return pe, evErr(CodeInvalidData, "Field sourceIPAddress %q is not an IPv4 or IPv6 address", sourceIP)
		}
	}
	if rules.rejectUnknownFields && unknown != "" {
		return pe, evErr(CodeInvalidData, "Field %s is not part of the event schema", unknown)
	}
	if pe.recipient != rules.account {
		return pe, evErr(CodeInvalidRecipient, "recipientAccountId %s does not match the channel owner's account ID", pe.recipient)
	}
	if len(rules.eventSources) > 0 && !rules.eventSources[pe.eventSource] {
		return pe, evErr(CodeInvalidEventSource, "eventSource %s is not accepted by this channel", pe.eventSource)
	}
	return pe, nil
}
