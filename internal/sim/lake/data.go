package lake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// Call-level error codes of PutAuditEvents (all HTTP 400).
const (
	ErrChannelInsufficientPermission = "ChannelInsufficientPermission"
	ErrChannelNotFound               = "ChannelNotFound"
	ErrChannelUnsupportedSchema      = "ChannelUnsupportedSchema"
	ErrDuplicatedAuditEventID        = "DuplicatedAuditEventId"
	ErrInvalidChannelARN             = "InvalidChannelARN"
	ErrUnsupportedOperation          = "UnsupportedOperationException"
)

// MaxEventsPerCall is the most auditEvents one call takes.
const MaxEventsPerCall = 100

var (
	idRe         = regexp.MustCompile(`^[-_A-Za-z0-9]{1,128}$`)
	externalIDRe = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
)

// auditEvent is one entry of the request's auditEvents.
type auditEvent struct {
	id          string
	hasID       bool
	data        []byte
	checksum    string
	hasChecksum bool
}

// result is what happened to one event.
type result struct {
	eventID string
	code    string
	msg     string
	pe      parsedEvent
	hash    uint64
}

// DataHandler serves the cloudtrail-data API: POST /PutAuditEvents.
func (s *Service) DataHandler() http.Handler { return http.HandlerFunc(s.serveData) }

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (s *Service) serveData(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	if r.URL.Path != "/PutAuditEvents" || r.Method != http.MethodPost {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusNotFound, "UnknownOperationException",
			"No operation matches %s %s", r.Method, r.URL.Path))
		return
	}
	caller, ok := awssim.CallerFrom(r.Context())
	if !ok {
		awssim.WriteJSONError(w, awssim.Errorf(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"))
		return
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4<<20 {
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	buf.Reset()
	resp, cut, aerr := s.putAuditEvents(r.Context(), caller, r, buf)
	if aerr != nil {
		s.mu.Lock()
		s.stats.callErrors[aerr.Code]++
		s.mu.Unlock()
		awssim.WriteJSONError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
	if cut {
		s.mu.Lock()
		s.stats.cut++
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(resp[:len(resp)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // net/http closes the connection without logging
	}
	_, _ = w.Write(resp)
}

func validationError(format string, args ...any) *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: "+format, args...)
}

// putAuditEvents answers one call; cut says the (successful) answer must be cut short.
func (s *Service) putAuditEvents(ctx context.Context, caller awssim.Caller, r *http.Request, buf *bytes.Buffer) ([]byte, bool, *awssim.Error) {
	s.cfgMu.Lock()
	faults, mode := s.faults, s.mode
	callRoll, serverRoll, which := s.rng.Float64(), s.rng.Float64(), s.rng.IntN(2)
	// Drawn only when switched on, so that seeded runs without them draw as before.
	slow := faults.SlowRate > 0 && faults.SlowDelay > 0 && s.rng.Float64() < faults.SlowRate
	cut := faults.CutRate > 0 && s.rng.Float64() < faults.CutRate
	s.cfgMu.Unlock()

	s.mu.Lock()
	s.stats.calls++
	if slow {
		s.stats.slow++
	}
	s.mu.Unlock()

	// The body is read before any wait, its errors reported in their place below: net/http
	// notices that a caller went away (and cancels ctx) only once the body has been read.
	n, readErr := buf.ReadFrom(io.LimitReader(r.Body, int64(s.maxBody)+1))

	delay := faults.Latency
	if slow {
		delay += faults.SlowDelay
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, false, awssim.Errorf(http.StatusInternalServerError, "InternalFailure", "request cancelled")
		}
	}

	if !s.quota.Allow(caller.AccountID, caller.Region, "PutAuditEvents") {
		return nil, false, awssim.Errorf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	}
	if callRoll < faults.CallThrottleRate {
		return nil, false, awssim.Errorf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	}
	if serverRoll < faults.CallServerErrorRate {
		if which == 0 {
			return nil, false, awssim.Errorf(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
		}
		return nil, false, awssim.Errorf(http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
	}
	if s.unsupported[caller.Region] {
		return nil, false, awssim.Errorf(http.StatusBadRequest, ErrUnsupportedOperation, "PutAuditEvents is not supported in %s", caller.Region)
	}

	// Input: the query string, then the body.
	q := r.URL.Query()
	ref := q.Get("channelArn")
	if ref == "" {
		return nil, false, validationError("Value null at 'channelArn' failed to satisfy constraint: Member must not be null")
	}
	externalID, hasExternalID := q.Get("externalId"), q.Has("externalId")
	if hasExternalID && (len(externalID) < 2 || len(externalID) > 1224 || !externalIDRe.MatchString(externalID)) {
		return nil, false, validationError("Value '%s' at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224 and satisfy regular expression pattern: ^[\\w+=,.@:\\/-]*$", externalID)
	}
	if readErr != nil {
		return nil, false, awssim.Errorf(http.StatusBadRequest, "SerializationException", "failed to read the request body: %v", readErr)
	}
	if n > int64(s.maxBody) {
		return nil, false, validationError("Request body exceeds the PutAuditEvents limit of %d bytes", s.maxBody)
	}
	events, aerr := parseRequestBody(buf.Bytes())
	if aerr != nil {
		return nil, false, aerr
	}

	// The channel.
	a, ok := resolveRef(ref, caller)
	if !ok {
		return nil, false, awssim.Errorf(http.StatusBadRequest, ErrInvalidChannelARN, "The channel ARN %s is not valid.", ref)
	}
	if a.region != caller.Region {
		return nil, false, awssim.Errorf(http.StatusBadRequest, ErrChannelNotFound, "Channel %s was not found in %s.", a, caller.Region)
	}
	s.mu.RLock()
	st := s.lookupChannel(a)
	var cfg Channel
	var rules validateRules
	var allowed bool
	if st != nil {
		cfg, rules, allowed = st.cfg, st.rules, st.allowed[caller.AccountID]
	}
	s.mu.RUnlock()
	switch {
	case st == nil && a.account != caller.AccountID:
		return nil, false, awssim.Errorf(http.StatusBadRequest, ErrChannelInsufficientPermission,
			"The caller's account ID %s must be the same as the channel owner's account ID %s.", caller.AccountID, a.account)
	case st == nil:
		return nil, false, awssim.Errorf(http.StatusBadRequest, ErrChannelNotFound, "Channel %s was not found.", a)
	case !allowed:
		return nil, false, awssim.Errorf(http.StatusBadRequest, ErrChannelInsufficientPermission,
			"The caller's account ID %s must be the same as the channel owner's account ID %s.", caller.AccountID, a.account)
	case cfg.ServiceLinked:
		return nil, false, awssim.Errorf(http.StatusBadRequest, ErrChannelUnsupportedSchema,
			"Channel %s is a service-linked channel and does not accept audit events.", a)
	case cfg.ExternalID != "" && externalID != cfg.ExternalID:
		return nil, false, awssim.Errorf(http.StatusBadRequest, ErrChannelInsufficientPermission,
			"The external ID is missing or does not match the external ID of channel %s.", a)
	}
	if len(events) > 1 {
		seen := make(map[string]struct{}, len(events))
		for _, ev := range events {
			if _, dup := seen[ev.id]; dup {
				return nil, false, awssim.Errorf(http.StatusBadRequest, ErrDuplicatedAuditEventID,
					"Two or more entries in the request have the same event ID: %s.", ev.id)
			}
			seen[ev.id] = struct{}{}
		}
	}

	// Each event.
	results := make([]result, len(events))
	notSubscribed := s.notSubscribed[a.account]
	valid := 0
	for i := range events {
		ev, res := &events[i], &results[i]
		if ev.hasChecksum {
			sum := sha256.Sum256(ev.data)
			var enc [44]byte
			base64.StdEncoding.Encode(enc[:], sum[:])
			if ev.checksum != string(enc[:]) {
				res.code, res.msg = CodeInvalidChecksum, "The eventDataChecksum does not match the SHA-256 of eventData."
				continue
			}
		}
		pe, e := validateEventData(ev.data, &rules)
		if e != nil {
			res.code, res.msg = e.code, e.msg
			continue
		}
		if notSubscribed {
			res.code, res.msg = CodeAccountNotSubscribed, fmt.Sprintf("Account %s is not subscribed to CloudTrail Lake.", a.account)
			continue
		}
		res.pe = pe
		valid++
	}
	if valid > 0 && (faults.EventThrottleRate > 0 || faults.EventInternalFailureRate > 0) {
		s.cfgMu.Lock()
		for i := range results {
			if results[i].code != "" {
				continue
			}
			switch x := s.rng.Float64(); {
			case x < faults.EventThrottleRate:
				results[i].code, results[i].msg = CodeThrottling, "Rate exceeded"
				valid--
			case x < faults.EventThrottleRate+faults.EventInternalFailureRate:
				results[i].code, results[i].msg = CodeInternalFailure, "The event could not be ingested because of an internal failure."
				valid--
			}
		}
		s.cfgMu.Unlock()
	}

	// Commit.
	now := s.now().UTC()
	ids := newUUIDs(valid)
	for i, k := 0, 0; i < len(results); i++ {
		if results[i].code == "" {
			results[i].eventID = ids[k]
			results[i].hash = maphash.Bytes(s.seed, events[i].data)
			k++
		}
	}
	stored := make([]StoredEvent, 0, valid)
	s.mu.Lock()
	st = s.lookupChannel(a)
	lastFail, lastOK := "", ""
	for i := range results {
		res := &results[i]
		if res.code != "" {
			s.stats.failed[res.code]++
			lastFail = res.code
			continue
		}
		dup := false
		if prev, seen := st.ids[events[i].id]; seen {
			dup = true
			s.stats.duplicates++
			if prev.hash != res.hash {
				s.stats.duplicateConflicts++
			}
			switch mode {
			case DuplicateDedupe:
				res.eventID = prev.eventID
				lastOK = prev.eventID
				continue
			case DuplicateReject:
				res.code = CodeInvalidData
				res.msg = fmt.Sprintf("An event with id %s was already ingested on this channel (eventID %s).", events[i].id, prev.eventID)
				s.stats.failed[res.code]++
				lastFail = res.code
				continue
			}
		} else {
			st.ids[events[i].id] = idEntry{eventID: res.eventID, hash: res.hash}
		}
		lastOK = res.eventID
		stored = append(stored, StoredEvent{
			EventID:       res.eventID,
			ID:            events[i].id,
			ChannelARN:    st.cfg.ARN,
			Account:       a.account,
			Region:        a.region,
			CallerAccount: caller.AccountID,
			ReceivedAt:    now,
			EventSource:   res.pe.eventSource,
			EventName:     res.pe.eventName,
			EventTime:     res.pe.eventTime,
			Duplicate:     dup,
			EventData:     compactIfMultiline(events[i].data),
		})
		s.stats.byEventSource[res.pe.eventSource]++
	}
	s.stats.stored += int64(len(stored))
	s.stats.byChannel[st.cfg.ARN] += int64(len(stored))
	s.log.append(stored)
	if s.maxStored > 0 && s.log.len() > s.maxStored {
		drop := s.log.len() - s.maxStored
		s.stats.evicted += int64(drop)
		s.log.dropOldest(drop)
	}
	st.ingest.attemptTime = now
	if lastOK != "" {
		st.ingest.successTime, st.ingest.successEventID, st.ingest.attemptEventID = now, lastOK, lastOK
	}
	if lastFail != "" {
		st.ingest.errorCode = lastFail
	}
	s.mu.Unlock()

	if s.out != nil && len(stored) > 0 {
		s.writeNDJSON(stored)
	}
	return encodeResponse(events, results), cut, nil
}

// compactIfMultiline makes eventData one line so that it can be written as NDJSON.
func compactIfMultiline(d []byte) []byte {
	if bytes.IndexByte(d, '\n') < 0 && bytes.IndexByte(d, '\r') < 0 {
		return d
	}
	var b bytes.Buffer
	if err := json.Compact(&b, d); err != nil {
		return d
	}
	return b.Bytes()
}

func (s *Service) writeNDJSON(evs []StoredEvent) {
	buf := make([]byte, 0, 2048)
	s.outMu.Lock()
	defer s.outMu.Unlock()
	for i := range evs {
		buf = appendStoredEvent(buf[:0], &evs[i])
		buf = append(buf, '\n')
		_, _ = s.out.Write(buf)
	}
	_ = s.out.Flush()
}

func encodeResponse(events []auditEvent, results []result) []byte {
	b := make([]byte, 0, 64+len(results)*80)
	b = append(b, `{"successful":[`...)
	first := true
	for i := range results {
		if results[i].code != "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"id":`...)
		b = appendJSONString(b, events[i].id)
		b = append(b, `,"eventID":`...)
		b = appendJSONString(b, results[i].eventID)
		b = append(b, '}')
	}
	b = append(b, `],"failed":[`...)
	first = true
	for i := range results {
		if results[i].code == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"id":`...)
		b = appendJSONString(b, events[i].id)
		b = append(b, `,"errorCode":`...)
		b = appendJSONString(b, results[i].code)
		b = append(b, `,"errorMessage":`...)
		b = appendJSONString(b, results[i].msg)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func serializationError(format string, args ...any) *awssim.Error {
	return awssim.Errorf(http.StatusBadRequest, "SerializationException", format, args...)
}

// parseRequestBody decodes {"auditEvents":[{"id","eventData","eventDataChecksum"}]} and checks
// the model's constraints (1 to 100 events; id required, 1-128 chars of [-_A-Za-z0-9];
// eventData required). The body is scanned once.
func parseRequestBody(d []byte) ([]auditEvent, *awssim.Error) {
	bad := serializationError("The request body is not valid JSON")
	i := skipSpace(d, 0)
	if i >= len(d) || d[i] != '{' {
		return nil, serializationError("The request body must be a JSON object")
	}
	var events []auditEvent
	found := false
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		i++
	} else {
		for {
			if i >= len(d) || d[i] != '"' {
				return nil, bad
			}
			end, esc, err := scanString(d, i)
			if err != nil {
				return nil, bad
			}
			key := member{key: d[i+1 : end-1], keyEsc: esc}
			i = skipSpace(d, end)
			if i >= len(d) || d[i] != ':' {
				return nil, bad
			}
			i = skipSpace(d, i+1)
			if i >= len(d) {
				return nil, bad
			}
			switch {
			case !key.keyIs("auditEvents"):
				if i, err = skipValue(d, i, 1); err != nil {
					return nil, bad
				}
			case d[i] == 'n':
				if i, err = scanLiteral(d, i, "null"); err != nil {
					return nil, bad
				}
				events, found = events[:0], false
			case d[i] == '[':
				var aerr *awssim.Error
				if events, i, aerr = parseEventList(d, i, events[:0]); aerr != nil {
					return nil, aerr
				}
				found = true
			default:
				if _, err = skipValue(d, i, 1); err != nil {
					return nil, bad
				}
				return nil, serializationError("auditEvents must be a list")
			}
			i = skipSpace(d, i)
			if i >= len(d) {
				return nil, bad
			}
			if d[i] == '}' {
				i++
				break
			}
			if d[i] != ',' {
				return nil, bad
			}
			i = skipSpace(d, i+1)
		}
	}
	if skipSpace(d, i) != len(d) {
		return nil, serializationError("The request body is not valid JSON: data after the top-level object")
	}
	if !found {
		return nil, validationError("Value null at 'auditEvents' failed to satisfy constraint: Member must not be null")
	}
	if len(events) < 1 || len(events) > MaxEventsPerCall {
		return nil, validationError("Value '%d' at 'auditEvents' failed to satisfy constraint: Member must have length less than or equal to %d and greater than or equal to 1", len(events), MaxEventsPerCall)
	}
	for k, ev := range events {
		if !ev.hasID {
			return nil, validationError("Value null at 'auditEvents.%d.member.id' failed to satisfy constraint: Member must not be null", k+1)
		}
		if !idRe.MatchString(ev.id) {
			return nil, validationError("Value '%s' at 'auditEvents.%d.member.id' failed to satisfy constraint: Member must have length between 1 and 128 and satisfy regular expression pattern: ^[-_A-Za-z0-9]+$", ev.id, k+1)
		}
		if ev.data == nil {
			return nil, validationError("Value null at 'auditEvents.%d.member.eventData' failed to satisfy constraint: Member must not be null", k+1)
		}
	}
	return events, nil
}

// parseEventList parses the auditEvents array starting at d[i] == '[' and returns the index
// just past it.
func parseEventList(d []byte, i int, events []auditEvent) ([]auditEvent, int, *awssim.Error) {
	bad := serializationError("The request body is not valid JSON")
	// Decoded eventData is never longer than the body, but for invalid UTF-8 (which then
	// gets an allocation of its own).
	arena := make([]byte, 0, len(d)-i)
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == ']' {
		return events, i + 1, nil
	}
	for {
		if i >= len(d) {
			return nil, 0, bad
		}
		switch d[i] {
		case '{':
			var ev auditEvent
			it := newObjectIter(d, i, 2)
			it.unescapeKey, it.arena = "eventData", arena
			for {
				m, ok := it.next()
				if !ok {
					break
				}
				const (
					fID = iota
					fData
					fChecksum
				)
				var f int
				switch {
				case m.keyIs("id"):
					f = fID
				case m.keyIs("eventData"):
					f = fData
				case m.keyIs("eventDataChecksum"):
					f = fChecksum
				default:
					continue
				}
				if m.valueFirst == 'n' { // null: absent
					switch f {
					case fID:
						ev.id, ev.hasID = "", false
					case fData:
						ev.data = nil
					case fChecksum:
						ev.checksum, ev.hasChecksum = "", false
					}
					continue
				}
				if m.valueFirst != '"' {
					return nil, 0, serializationError("auditEvents member %s must be a string", m.keyString())
				}
				raw := d[m.valStart+1 : m.valEnd-1]
				switch f {
				case fID:
					ev.id, ev.hasID = stringValue(raw, m.valEsc), true
				case fData:
					ev.data = m.decoded
				case fChecksum:
					ev.checksum, ev.hasChecksum = stringValue(raw, m.valEsc), true
				}
			}
			if it.err != nil {
				return nil, 0, bad
			}
			arena = it.arena
			events = append(events, ev)
			i = it.i
		case 'n':
			if _, err := scanLiteral(d, i, "null"); err != nil {
				return nil, 0, bad
			}
			return nil, 0, validationError("Value null at 'auditEvents.%d.member' failed to satisfy constraint: Member must not be null", len(events)+1)
		default:
			if _, err := skipValue(d, i, 2); err != nil {
				return nil, 0, bad
			}
			return nil, 0, serializationError("auditEvents must be a list of objects")
		}
		i = skipSpace(d, i)
		if i >= len(d) {
			return nil, 0, bad
		}
		switch d[i] {
		case ']':
			return events, i + 1, nil
		case ',':
			i = skipSpace(d, i+1)
		default:
			return nil, 0, bad
		}
	}
}
