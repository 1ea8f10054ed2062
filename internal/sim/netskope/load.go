package netskope

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// LoadFile adds records to an endpoint from a JSON array of objects or from
// NDJSON (one object per line; any whitespace-separated sequence of objects
// works). Every record is kept verbatim apart from insignificant whitespace:
// no field is added, changed or re-encoded, so 19-digit integers keep every
// digit.
//
// A record's place on the iterator clock is its _insertion_epoch_timestamp,
// else its timestamp (epoch seconds, or a "2006-01-02 15:04:05" /
// RFC 3339 string), else the time of loading. Records placed in the
// future stay invisible until the clock reaches them; records placed before
// an index's position are never served to that index, as on the real
// service. It returns the number of records loaded.
func (t *Tenant) LoadFile(kind Kind, typ string, r io.Reader) (int, error) {
	s, err := t.stream(kind, typ)
	if err != nil {
		return 0, err
	}
	now := t.now()
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := firstByte(br)
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	dec := json.NewDecoder(br)
	var batch []record
	add := func(raw json.RawMessage, n int) error {
		rec, err := parseLoaded(raw, now)
		if err != nil {
			return fmt.Errorf("netskope: %s/%s record %d: %w", kind, typ, n, err)
		}
		batch = append(batch, rec)
		return nil
	}
	if first == '[' {
		if _, err := dec.Token(); err != nil {
			return 0, fmt.Errorf("netskope: %s/%s: %w", kind, typ, err)
		}
		for n := 1; dec.More(); n++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return 0, fmt.Errorf("netskope: %s/%s record %d: %w", kind, typ, n, err)
			}
			if err := add(raw, n); err != nil {
				return 0, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return 0, fmt.Errorf("netskope: %s/%s: %w", kind, typ, err)
		}
	} else {
		for n := 1; ; n++ {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, fmt.Errorf("netskope: %s/%s record %d: %w", kind, typ, n, err)
			}
			if err := add(raw, n); err != nil {
				return 0, err
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(now)
	s.merge(batch)
	s.loaded += int64(len(batch))
	s.trim(now)
	return len(batch), nil
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b == ' ' || b == '\t' || b == '\r' || b == '\n' {
			continue
		}
		if b == 0xEF { // UTF-8 byte order mark
			if rest, err := br.Peek(2); err == nil && rest[0] == 0xBB && rest[1] == 0xBF {
				_, _ = br.Discard(2)
				continue
			}
		}
		return b, br.UnreadByte()
	}
}

// merge inserts a batch in iterator order in one pass.
func (s *stream) merge(batch []record) {
	if len(batch) == 0 {
		return
	}
	sort.SliceStable(batch, func(i, j int) bool { return batch[i].ins < batch[j].ins })
	for i := range batch {
		batch[i].seq = s.seq
		s.seq++
	}
	n := len(s.recs)
	if n == 0 || !batch[0].key().less(s.recs[n-1].key()) {
		s.recs = append(s.recs, batch...)
		return
	}
	out := make([]record, 0, n+len(batch))
	i, j := 0, 0
	for i < n && j < len(batch) {
		if batch[j].key().less(s.recs[i].key()) {
			out = append(out, batch[j])
			j++
		} else {
			out = append(out, s.recs[i])
			i++
		}
	}
	out = append(out, s.recs[i:]...)
	out = append(out, batch[j:]...)
	s.recs = out
}

type loadedHead struct {
	ID        json.RawMessage `json:"_id"`
	Timestamp json.RawMessage `json:"timestamp"`
	Insertion json.RawMessage `json:"_insertion_epoch_timestamp"`
}

func parseLoaded(raw json.RawMessage, now time.Time) (record, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return record{}, err
	}
	b := buf.Bytes()
	if len(b) == 0 || b[0] != '{' {
		return record{}, errors.New("not a JSON object")
	}
	var h loadedHead
	if err := json.Unmarshal(b, &h); err != nil {
		return record{}, err
	}
	rec := record{raw: b}
	if len(h.ID) > 0 {
		var s string
		if json.Unmarshal(h.ID, &s) == nil {
			rec.id = s
		} else {
			rec.id = string(h.ID)
		}
	}
	ts, tsOK := epochOf(h.Timestamp)
	ins, insOK := epochOf(h.Insertion)
	if tsOK {
		rec.ts = ts
	}
	switch {
	case insOK:
		rec.ins = ins
	case tsOK:
		rec.ins = ts
	default:
		rec.ins = now.Unix()
	}
	return rec, nil
}

var timeLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05Z07:00"}

// epochOf reads epoch seconds from a JSON number or string.
func epochOf(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	txt := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &txt) != nil {
			return 0, false
		}
		txt = strings.TrimSpace(txt)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, txt); err == nil {
				return t.Unix(), true
			}
		}
	}
	if v, err := strconv.ParseInt(txt, 10, 64); err == nil {
		return v, true
	}
	if f, err := strconv.ParseFloat(txt, 64); err == nil {
		return int64(f), true
	}
	return 0, false
}
