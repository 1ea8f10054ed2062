package cwlogs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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
// stamped with the current time.
//
// CloudWatch Logs takes no event older than MaxEventAge (14 days) nor more than MaxEventFuture
// (2 hours) ahead, and samples are often years old: when any record's time is outside that
// range, the records' times are moved (see retime) so that the newest is now, their order and
// spacing kept; a load spanning more than MaxEventAge less an hour has its spacing scaled down
// to fit. Each moved record's eventTime is rewritten to its new time, in its own layout, so the
// record and its event agree; the move is logged (Options.Logger). Records within the range
// keep their times.
//
// The records are visible as CloudTrail delivers them: Options.IngestDelay (plus jitter) after
// their (new) eventTime, so past records are visible at once and only recent ones arrive late.
// It returns how many records it stored; on error (input that is not JSON, or a record that is
// not an object) it stores none.
func (s *Service) LoadCloudTrail(account, region, group string, r io.Reader) (int, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	var recs []loadedRecord
	add := func(raw json.RawMessage) error {
		var rec struct {
			EventTime *string `json:"eventTime"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("record %d: %w", len(recs)+1, err)
		}
		var buf bytes.Buffer
		buf.Grow(len(raw))
		if err := json.Compact(&buf, raw); err != nil {
			return fmt.Errorf("record %d: %w", len(recs)+1, err)
		}
		lr := loadedRecord{msg: buf.String()}
		if t, layout, ok := parseEventTimeLayout(rec.EventTime); ok {
			lr.t, lr.layout, lr.timeOK, lr.oldTime = t, layout, true, *rec.EventTime
		}
		recs = append(recs, lr)
		return nil
	}
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, fmt.Errorf("cloudtrail input after %d records: %w", len(recs), err)
		}
		switch firstByte(raw) {
		case '[':
			var arr []json.RawMessage
			if err := json.Unmarshal(raw, &arr); err != nil {
				return 0, err
			}
			for _, rec := range arr {
				if err := add(rec); err != nil {
					return 0, err
				}
			}
		case '{':
			var file struct {
				Records *[]json.RawMessage `json:"Records"`
			}
			if err := json.Unmarshal(raw, &file); err != nil {
				return 0, fmt.Errorf("record %d: %w", len(recs)+1, err)
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
			return 0, fmt.Errorf("record %d: not a JSON object or array", len(recs)+1)
		}
	}
	if len(recs) == 0 {
		return 0, nil
	}
	now := s.now()
	if m, moved := retime(recs, now); moved {
		s.logger.Info("cwlogs: moved the times of loaded CloudTrail records into the range CloudWatch Logs accepts (14 days back to 2 hours ahead): the newest at now, order kept, spacing multiplied by spacing_scale",
			"account", account, "region", region, "group", group, "records", len(recs), "moved", m.moved,
			"from_oldest", m.oldest.UTC().Format(time.RFC3339), "from_newest", m.newest.UTC().Format(time.RFC3339),
			"shift", m.shift.String(), "spacing_scale", m.scale)
	}
	events := make([]InputEvent, len(recs))
	for i, lr := range recs {
		ts := now.UnixMilli()
		if lr.timeOK {
			ts = lr.t.UnixMilli()
		}
		events[i] = InputEvent{Timestamp: ts, Message: lr.msg}
	}
	if err := s.put(account, region, group, CloudTrailStream(account, region), events, true); err != nil {
		return 0, err
	}
	return len(recs), nil
}

// loadedRecord is a CloudTrail record being loaded.
type loadedRecord struct {
	msg     string    // the record, compact
	t       time.Time // its eventTime, when timeOK
	layout  string    // the layout its eventTime was written in
	oldTime string    // its eventTime as written
	timeOK  bool
}

// retimeMove describes how retime moved a load's times.
type retimeMove struct {
	moved          int       // records whose time was moved
	oldest, newest time.Time // the records' times before the move
	shift          time.Duration
	scale          float64 // 1 unless the spacing was scaled down to fit
}

// retimeMargin keeps moved records this far inside CloudWatch Logs' 14-day limit.
const retimeMargin = time.Hour

// retime moves the times of recs that have one, when any lies outside what PutLogEvents takes
// at now (older than MaxEventAge, or more than MaxEventFuture ahead): the newest goes to now
// (rounded down to a whole second) and every other keeps its distance from it, so order and
// spacing stay; when the times span more than MaxEventAge - retimeMargin, the distances are
// scaled down to fit. Each moved record's eventTime is rewritten in the layout it had. moved
// is false when nothing needed moving.
func retime(recs []loadedRecord, now time.Time) (retimeMove, bool) {
	var m retimeMove
	first := true
	for _, r := range recs {
		if !r.timeOK {
			continue
		}
		if first || r.t.Before(m.oldest) {
			m.oldest = r.t
		}
		if first || r.t.After(m.newest) {
			m.newest = r.t
		}
		first = false
	}
	if first || !m.oldest.Before(now.Add(-MaxEventAge)) && !m.newest.After(now.Add(MaxEventFuture)) {
		return m, false
	}
	target := now.Truncate(time.Second)
	m.shift = target.Sub(m.newest).Truncate(time.Second)
	m.scale = 1
	window := MaxEventAge - retimeMargin
	if span := m.newest.Sub(m.oldest); span > window {
		m.scale = float64(window) / float64(span)
	}
	for i := range recs {
		r := &recs[i]
		if !r.timeOK {
			continue
		}
		t := r.t.Add(m.shift)
		if m.scale != 1 {
			t = target.Add(-time.Duration(float64(m.newest.Sub(r.t)) * m.scale))
		}
		digits := fractionDigits(r.oldTime)
		t = t.Truncate(max(time.Millisecond, time.Duration(math.Pow10(9-digits)))).In(r.t.Location())
		old := `"eventTime":` + jsonQuote(r.oldTime)
		r.msg = strings.Replace(r.msg, old, `"eventTime":`+jsonQuote(formatLike(t, r.layout, r.oldTime)), 1)
		r.t = t
		m.moved++
	}
	return m, true
}

// fractionDigits counts the digits of the fractional seconds of a time as written.
func fractionDigits(s string) int {
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range s[i+1:] {
		if c < '0' || c > '9' {
			break
		}
		n++
	}
	return min(n, 9)
}

// formatLike formats t in layout as old was written: exactly as many fractional digits (none
// when 0), and a numeric offset (+00:00) where old had one instead of Z.
func formatLike(t time.Time, layout, old string) string {
	frac := ""
	if digits := fractionDigits(old); digits > 0 {
		frac = "." + strings.Repeat("0", digits)
	}
	layout = strings.Replace(layout, ".999999999", frac, 1)
	if !strings.HasSuffix(old, "Z") {
		layout = strings.Replace(layout, "Z07:00", "-07:00", 1)
	}
	return t.Format(layout)
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var eventTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// parseEventTime reads a CloudTrail eventTime (UTC unless it says otherwise) as ms.
func parseEventTime(s *string) (int64, bool) {
	t, _, ok := parseEventTimeLayout(s)
	return t.UnixMilli(), ok
}

// parseEventTimeLayout reads a CloudTrail eventTime and tells the layout it was written in.
func parseEventTimeLayout(s *string) (time.Time, string, bool) {
	if s == nil {
		return time.Time{}, "", false
	}
	for _, layout := range eventTimeLayouts {
		if t, err := time.Parse(layout, *s); err == nil {
			return t, layout, true
		}
	}
	return time.Time{}, "", false
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}
