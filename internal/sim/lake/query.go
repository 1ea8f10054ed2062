package lake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Filter selects stored events. Zero fields match everything.
type Filter struct {
	// Channel is a channel ARN, id (the ARN suffix) or name.
	Channel     string
	ID          string // the caller's id
	EventSource string
	// From and To bound eventTime: From <= eventTime < To.
	From, To time.Time
	// Limit caps the number of events returned (the oldest ingested first); 0 means all.
	Limit int
}

// Query returns copies of the stored events that match f, in ingestion order. Events dropped
// by MaxStoredEvents are not seen.
func (s *Service) Query(f Filter) []StoredEvent {
	s.mu.RLock()
	defer s.mu.RUnlock()
	match := s.channelMatcher(f.Channel)
	var out []StoredEvent
	s.log.each(func(ev *StoredEvent) bool {
		switch {
		case match != nil && !match(ev.ChannelARN),
			f.ID != "" && ev.ID != f.ID,
			f.EventSource != "" && ev.EventSource != f.EventSource,
			!f.From.IsZero() && ev.EventTime.Before(f.From),
			!f.To.IsZero() && !ev.EventTime.Before(f.To):
			return true
		}
		out = append(out, *ev)
		return f.Limit <= 0 || len(out) < f.Limit
	})
	return out
}

// channelMatcher returns a predicate on channel ARNs for a reference (ARN, id or name); nil
// matches all. Caller holds s.mu.
func (s *Service) channelMatcher(ref string) func(string) bool {
	if ref == "" {
		return nil
	}
	arns := map[string]bool{ref: true}
	for arn, st := range s.channels {
		if st.arn.id == ref || st.cfg.Name == ref {
			arns[arn] = true
		}
	}
	return func(arn string) bool { return arns[arn] }
}

// MarshalJSON encodes the event with its eventData inline.
func (e StoredEvent) MarshalJSON() ([]byte, error) {
	return appendStoredEvent(nil, &e), nil
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (e *StoredEvent) UnmarshalJSON(b []byte) error {
	type plain StoredEvent
	var v struct {
		plain
		EventTime string          `json:"eventTime"`
		EventData json.RawMessage `json:"eventData"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = StoredEvent(v.plain)
	if v.EventTime != "" {
		t, err := time.Parse(EventTimeLayout, v.EventTime)
		if err != nil {
			return err
		}
		e.EventTime = t
	}
	e.EventData = []byte(v.EventData)
	return nil
}

func appendStoredEvent(b []byte, e *StoredEvent) []byte {
	b = append(b, `{"eventID":`...)
	b = appendJSONString(b, e.EventID)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"channelArn":`...)
	b = appendJSONString(b, e.ChannelARN)
	b = append(b, `,"account":`...)
	b = appendJSONString(b, e.Account)
	b = append(b, `,"region":`...)
	b = appendJSONString(b, e.Region)
	b = append(b, `,"callerAccount":`...)
	b = appendJSONString(b, e.CallerAccount)
	b = append(b, `,"receivedAt":"`...)
	b = e.ReceivedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","eventSource":`...)
	b = appendJSONString(b, e.EventSource)
	b = append(b, `,"eventName":`...)
	b = appendJSONString(b, e.EventName)
	b = append(b, `,"eventTime":"`...)
	b = e.EventTime.UTC().AppendFormat(b, EventTimeLayout)
	b = append(b, '"')
	if e.Duplicate {
		b = append(b, `,"duplicate":true`...)
	}
	b = append(b, `,"eventData":`...)
	if len(e.EventData) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, e.EventData...)
	}
	return append(b, '}')
}

// Config is the runtime-switchable part of the service, as the admin API shows it.
type Config struct {
	DuplicateMode DuplicateMode `json:"duplicateMode"`
	Faults        Faults        `json:"faults"`
}

// QueryHandler serves cloudsim's unsigned admin API:
//
//	GET  /lake/events?channel=&id=&eventSource=&from=&to=&limit=   stored events as NDJSON
//	GET  /lake/stats                                               counters as JSON
//	GET  /lake/config, PUT /lake/config                            duplicate mode and faults
//	POST /lake/reset                                               forget events, ids, counters
//
// from and to are RFC 3339 times bounding eventTime (from inclusive, to exclusive).
func (s *Service) QueryHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lake/events", s.serveEvents)
	mux.HandleFunc("GET /lake/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.Stats())
	})
	mux.HandleFunc("GET /lake/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, Config{DuplicateMode: s.DuplicateMode(), Faults: s.Faults()})
	})
	mux.HandleFunc("PUT /lake/config", s.serveSetConfig)
	mux.HandleFunc("POST /lake/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Service) serveEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{Channel: q.Get("channel"), ID: q.Get("id"), EventSource: q.Get("eventSource")}
	var err error
	if f.From, err = parseTimeParam(q.Get("from")); err != nil {
		http.Error(w, "from: "+err.Error(), http.StatusBadRequest)
		return
	}
	if f.To, err = parseTimeParam(q.Get("to")); err != nil {
		http.Error(w, "to: "+err.Error(), http.StatusBadRequest)
		return
	}
	if l := q.Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil || f.Limit < 0 {
			http.Error(w, "limit: want a number >= 0", http.StatusBadRequest)
			return
		}
	}
	evs := s.Query(f)
	w.Header().Set("Content-Type", "application/x-ndjson")
	buf := make([]byte, 0, 64<<10)
	for i := range evs {
		buf = appendStoredEvent(buf, &evs[i])
		buf = append(buf, '\n')
		if len(buf) > 48<<10 {
			if _, err := w.Write(buf); err != nil {
				return
			}
			buf = buf[:0]
		}
	}
	_, _ = w.Write(buf)
}

func parseTimeParam(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time such as 2024-01-02T15:04:05Z: %v", err)
	}
	return t, nil
}

// serveSetConfig sets the members given: "faults", when present, replaces all the faults.
func (s *Service) serveSetConfig(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DuplicateMode *DuplicateMode `json:"duplicateMode"`
		Faults        *Faults        `json:"faults"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		http.Error(w, "config: "+err.Error(), http.StatusBadRequest)
		return
	}
	if f := in.Faults; f != nil {
		for _, rate := range []float64{f.EventThrottleRate, f.EventInternalFailureRate, f.CallThrottleRate, f.CallServerErrorRate, f.SlowRate, f.CutRate} {
			if rate < 0 || rate > 1 {
				http.Error(w, "config: fault rates must be between 0 and 1", http.StatusBadRequest)
				return
			}
		}
		if f.Latency < 0 || f.SlowDelay < 0 {
			http.Error(w, "config: latency and slowDelay must not be negative", http.StatusBadRequest)
			return
		}
	}
	if in.DuplicateMode != nil {
		if err := s.SetDuplicateMode(*in.DuplicateMode); err != nil {
			http.Error(w, "config: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	if in.Faults != nil {
		s.SetFaults(*in.Faults)
	}
	writeJSON(w, Config{DuplicateMode: s.DuplicateMode(), Faults: s.Faults()})
}
