package cwlogs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// InputEvent is an event to store with Put.
type InputEvent struct {
	Timestamp int64 // ms since the epoch
	Message   string
}

// Put stores events in a stream of a group of an account and region, creating the group and
// the stream as needed. Unlike PutLogEvents it takes events of any age and order, and any
// number of them; they become visible as PutLogEvents' would (see Options.IngestDelay).
// It is meant for loaders, tests and benchmarks.
func (s *Service) Put(account, region, group, stream string, events []InputEvent) error {
	return s.put(account, region, group, stream, events, false)
}

// put stores events as Put does. With delivered, each event becomes visible as CloudTrail
// delivers: the ingestion delay counts from its timestamp, not from now, so an event whose
// delay has passed is visible at once.
func (s *Service) put(account, region, group, stream string, events []InputEvent, delivered bool) error {
	if e := validateGroupName("logGroupName", group); e != nil {
		return e
	}
	if e := validateStreamName("logStreamName", stream); e != nil {
		return e
	}
	now := s.nowMs()
	evs := make([]event, len(events))
	var size int64
	for i, in := range events {
		msg := in.Message
		if !utf8.ValidString(msg) {
			msg = strings.ToValidUTF8(msg, "\uFFFD")
		}
		ts := min(max(in.Timestamp, 0), maxTimestamp)
		ingest := s.ingestTime(now)
		if delivered {
			ingest = max(now, s.ingestTime(ts))
		}
		evs[i] = event{ts: ts, seq: s.seq.Add(1), ingest: ingest, msg: msg}
		size += int64(len(msg))
	}
	sortEvents(evs)
	g, _ := s.region(account, region, true).createGroup(group, now)
	g.mu.Lock()
	defer g.mu.Unlock()
	st, _ := g.createStreamLocked(stream, now)
	st.insert(evs)
	g.bytes += size
	return nil
}

// CloudTrailStream is the name of the stream CloudTrail writes an account's and region's
// records to.
func CloudTrailStream(account, region string) string {
	return account + "_CloudTrail_" + region
}

// LoadCloudTrail reads CloudTrail records and stores each as one event, its message the record
// as compact JSON and its timestamp the record's eventTime, in the stream
// <account>_CloudTrail_<region> of group (created as needed). The input may hold records one
// per line (NDJSON) or concatenated, CloudTrail log files {"Records":[...]}, or JSON arrays of
// records, in any mix. CloudTrail writes eventTime as 2006-01-02T15:04:05Z; the space-separated
// forms that some tools write are accepted too, and a record without a readable eventTime is
// stamped with the current time. The records are visible as CloudTrail delivers them:
// Options.IngestDelay (plus jitter) after their eventTime, so past records are visible at once
// and only recent ones arrive late. It returns how many records it stored; on error (input that
// is not JSON, or a record that is not an object) it stores none.
func (s *Service) LoadCloudTrail(account, region, group string, r io.Reader) (int, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	var events []InputEvent
	add := func(raw json.RawMessage) error {
		var rec struct {
			EventTime *string `json:"eventTime"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("record %d: %w", len(events)+1, err)
		}
		ts, ok := parseEventTime(rec.EventTime)
		if !ok {
			ts = s.nowMs()
		}
		var buf bytes.Buffer
		buf.Grow(len(raw))
		if err := json.Compact(&buf, raw); err != nil {
			return fmt.Errorf("record %d: %w", len(events)+1, err)
		}
		events = append(events, InputEvent{Timestamp: ts, Message: buf.String()})
		return nil
	}
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, fmt.Errorf("cloudtrail input after %d records: %w", len(events), err)
		}
		switch firstByte(raw) {
		case '[':
			var recs []json.RawMessage
			if err := json.Unmarshal(raw, &recs); err != nil {
				return 0, err
			}
			for _, rec := range recs {
				if err := add(rec); err != nil {
					return 0, err
				}
			}
		case '{':
			var file struct {
				Records *[]json.RawMessage `json:"Records"`
			}
			if err := json.Unmarshal(raw, &file); err != nil {
				return 0, fmt.Errorf("record %d: %w", len(events)+1, err)
			}
			if file.Records == nil {
				if err := add(raw); err != nil {
					return 0, err
				}
				continue
			}
			for _, rec := range *file.Records {
				if err := add(rec); err != nil {
					return 0, err
				}
			}
		default:
			return 0, fmt.Errorf("record %d: not a JSON object or array", len(events)+1)
		}
	}
	if len(events) == 0 {
		return 0, nil
	}
	if err := s.put(account, region, group, CloudTrailStream(account, region), events, true); err != nil {
		return 0, err
	}
	return len(events), nil
}

var eventTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// parseEventTime reads a CloudTrail eventTime (UTC unless it says otherwise) as ms.
func parseEventTime(s *string) (int64, bool) {
	if s == nil {
		return 0, false
	}
	for _, layout := range eventTimeLayouts {
		if t, err := time.Parse(layout, *s); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}
