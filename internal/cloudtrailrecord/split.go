package cloudtrailrecord

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// Form names the shape an input had.
type Form uint8

// The input forms Split recognises.
const (
	// FormRecord: the input itself (a bare CloudTrail record, or anything Split did not
	// recognise, which Parse then gives a status).
	FormRecord Form = iota
	// FormRecordsFile: a CloudTrail log file, {"Records":[...]}.
	FormRecordsFile
	// FormCloudWatch: one CloudWatch Logs event as JSON, {"logGroup","logStream",
	// "timestamp","ingestionTime","eventId","message"} (logStreamName also accepted).
	FormCloudWatch
	// FormQRadar: QRadar's text form, {LogStreamName: ..., Timestamp: ..., Message: {...},
	// IngestionTime: ..., EventId: ...}.
	FormQRadar
	// FormSubscription: a subscription-filter delivery {messageType, owner, logGroup,
	// logStream, logEvents[{id,timestamp,message}]}, or a FilterLogEvents page {events[...]}.
	FormSubscription
)

var formNames = [...]string{"record", "records_file", "cloudwatch", "qradar", "subscription"}

func (f Form) String() string {
	if int(f) < len(formNames) {
		return formNames[f]
	}
	return "form(" + strconv.Itoa(int(f)) + ")"
}

// Envelope holds what a wrapper said about the record inside it. Zero values mean absent.
type Envelope struct {
	Form          Form
	MessageType   string // subscription: messageType, DATA_MESSAGE or CONTROL_MESSAGE
	Owner         string // subscription: the account that owns the log group
	LogGroup      string
	LogStream     string
	EventID       string // the CloudWatch Logs event id
	Timestamp     time.Time
	IngestionTime time.Time
}

// ControlMessage is the messageType of the message CloudWatch Logs sends to a subscription's
// destination to check that it can be reached ("CWL CONTROL MESSAGE: Checking health of
// destination ..."): it holds no log event of the group, only that health check.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
const ControlMessage = "CONTROL_MESSAGE"

// Control reports whether e is a subscription delivery's envelope whose messageType is
// CONTROL_MESSAGE: its logEvents are CloudWatch Logs' health check, not records.
func (e *Envelope) Control() bool {
	return e.Form == FormSubscription && e.MessageType == ControlMessage
}

// Item is one record found by Split.
type Item struct {
	// Record is the CloudTrail record's JSON. For a bare record or a {"Records":[...]} file
	// it is a sub-slice of Split's input; for the envelopes, whose message is a JSON string,
	// it is the decoded message.
	Record   []byte
	Envelope Envelope
}

// ErrEmpty is returned by Split for input that holds nothing but white space.
var ErrEmpty = errors.New("cloudtrail: empty input")

// Split returns the CloudTrail records inside one input: a bare record, a {"Records":[...]}
// file, a CloudWatch Logs event as JSON, QRadar's text form, or a subscription envelope. It
// does not judge the records: anything it does not recognise comes back whole as one
// FormRecord item, and Parse then reports its status. Only empty input is an error.
func Split(input []byte) ([]Item, error) {
	b := bytes.TrimSpace(input)
	if len(b) == 0 {
		return nil, ErrEmpty
	}
	whole := []Item{{Record: b}}
	if b[0] != '{' {
		return whole, nil
	}
	if looksQRadar(b) {
		if it, ok := splitQRadar(b); ok {
			return []Item{it}, nil
		}
		return whole, nil
	}

	var (
		s                              = scanner{b: b}
		records, logEvents             []byte
		msg                            []byte
		haveMsg, haveEnvKey, haveCTKey bool
		env                            Envelope
	)
	s.enter('{')
	for {
		k, ok := s.key()
		if !ok {
			break
		}
		var good bool
		switch string(k) {
		case "Records":
			records, good = s.optRaw()
		case "logEvents", "events":
			logEvents, good = s.optRaw()
		case "message":
			if s.peek() == '"' {
				msg, good = s.text()
				haveMsg = good
			} else {
				_, good = s.skip()
			}
		case "messageType":
			good = s.envText(&env.MessageType)
		case "owner":
			good = s.envText(&env.Owner)
		case "logGroup", "logGroupName":
			good = s.envText(&env.LogGroup)
			haveEnvKey = true
		case "logStream", "logStreamName":
			good = s.envText(&env.LogStream)
			haveEnvKey = true
		case "eventId":
			good = s.envText(&env.EventID)
			haveEnvKey = true
		case "timestamp":
			good = s.envTime(&env.Timestamp)
			haveEnvKey = true
		case "ingestionTime":
			good = s.envTime(&env.IngestionTime)
			haveEnvKey = true
		case "eventName", "eventSource", "eventTime":
			haveCTKey = true
			_, good = s.skip()
		default:
			_, good = s.skip()
		}
		if !good {
			return whole, nil
		}
	}
	if s.bad || !s.end() {
		return whole, nil
	}
	switch {
	case haveCTKey:
		return whole, nil
	case records != nil && records[0] == '[':
		var items []Item
		a := scanner{b: records}
		a.enter('[')
		for a.elem() {
			a.ws()
			v, _ := a.skip()
			items = append(items, Item{Record: v, Envelope: Envelope{Form: FormRecordsFile}})
		}
		return items, nil
	case logEvents != nil && logEvents[0] == '[':
		env.Form = FormSubscription
		var items []Item
		a := scanner{b: logEvents}
		a.enter('[')
		for a.elem() {
			v, _ := a.skip()
			items = append(items, logEvent(v, env))
		}
		return items, nil
	case haveMsg && haveEnvKey:
		env.Form = FormCloudWatch
		return []Item{{Record: msg, Envelope: env}}, nil
	}
	return whole, nil
}

// logEvent reads one element of logEvents[] (or a FilterLogEvents events[] element).
func logEvent(v []byte, env Envelope) Item {
	it := Item{Record: v, Envelope: env}
	s := scanner{b: v}
	if s.peek() != '{' {
		return it
	}
	s.enter('{')
	for {
		k, ok := s.key()
		if !ok {
			break
		}
		e := &it.Envelope
		switch string(k) {
		case "id", "eventId":
			s.envText(&e.EventID)
		case "timestamp":
			s.envTime(&e.Timestamp)
		case "ingestionTime":
			s.envTime(&e.IngestionTime)
		case "logStreamName":
			s.envText(&e.LogStream)
		case "message":
			if s.peek() == '"' {
				it.Record, _ = s.text()
			} else {
				it.Record, _ = s.skip()
			}
		default:
			s.skip()
		}
	}
	return it
}

func (s *scanner) envText(dst *string) bool {
	switch s.peek() {
	case '"':
		v, ok := s.text()
		*dst = string(v)
		return ok
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		v, ok := s.skip()
		*dst = string(v)
		return ok
	}
	_, ok := s.skip()
	return ok
}

func (s *scanner) envTime(dst *time.Time) bool {
	var v []byte
	ok := true
	if s.peek() == '"' {
		v, ok = s.text()
	} else {
		v, ok = s.skip()
	}
	*dst = millis(v)
	return ok
}

// millis reads epoch milliseconds; anything else gives the zero time.
func millis(v []byte) time.Time {
	ms, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// looksQRadar reports whether b opens like QRadar's text form: '{' then a bare word and ':'.
func looksQRadar(b []byte) bool {
	i := 1
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	start := i
	for i < len(b) && isWord(b[i]) {
		i++
	}
	return i > start && i < len(b) && b[i] == ':'
}

func isWord(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// qradarKeys are the keys QRadar writes; a value other than Message's JSON ends where
// ", <one of them>:" begins.
var qradarKeys = [...]string{"LogStreamName", "LogGroupName", "Timestamp", "Message", "IngestionTime", "EventId"}

// splitQRadar reads {LogStreamName: x, Timestamp: n, Message: {...}, IngestionTime: n,
// EventId: x}. Message's JSON is delimited by scanning it as JSON, so ", " and "}" inside its
// strings do no harm; a Message that is not JSON runs to the next known key.
func splitQRadar(b []byte) (Item, bool) {
	if b[len(b)-1] != '}' {
		return Item{}, false
	}
	last := len(b) - 1 // the closing brace
	it := Item{Envelope: Envelope{Form: FormQRadar}}
	haveMsg := false
	i := 1
	for {
		for i < last && (isSpace(b[i]) || b[i] == ',') {
			i++
		}
		if i >= last {
			break
		}
		start := i
		for i < last && isWord(b[i]) {
			i++
		}
		if i == start || i >= last || b[i] != ':' {
			return Item{}, false
		}
		key := string(b[start:i])
		i++
		for i < last && b[i] == ' ' {
			i++
		}
		var val []byte
		done := false
		if key == "Message" && i < last && (b[i] == '{' || b[i] == '"') {
			s := scanner{b: b[:last], i: i}
			var ok bool
			if b[i] == '"' {
				val, ok = s.text()
			} else {
				val, ok = s.skip()
			}
			if ok {
				j := s.i
				for j < last && isSpace(b[j]) {
					j++
				}
				if j == last || b[j] == ',' {
					i, done = j, true
				}
			}
		}
		if !done {
			end := valueEnd(b[:last], i)
			val = bytes.TrimSpace(b[i:end])
			i = end
		}
		e := &it.Envelope
		switch key {
		case "Message":
			it.Record, haveMsg = val, true
		case "LogStreamName":
			e.LogStream = string(val)
		case "LogGroupName":
			e.LogGroup = string(val)
		case "EventId":
			e.EventID = string(val)
		case "Timestamp":
			e.Timestamp = millis(val)
		case "IngestionTime":
			e.IngestionTime = millis(val)
		}
	}
	return it, haveMsg
}

// valueEnd returns where the value starting at i ends: at the next ", Key:" for a known key,
// or at the end of b.
func valueEnd(b []byte, i int) int {
	for j := i; j < len(b); j++ {
		if b[j] != ',' {
			continue
		}
		k := j + 1
		for k < len(b) && b[k] == ' ' {
			k++
		}
		for _, key := range qradarKeys {
			if bytes.HasPrefix(b[k:], []byte(key)) {
				r := b[k+len(key):]
				for len(r) > 0 && r[0] == ' ' {
					r = r[1:]
				}
				if len(r) > 0 && r[0] == ':' {
					return j
				}
			}
		}
	}
	return len(b)
}
