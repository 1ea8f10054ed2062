package httpdest

import (
	"bytes"
	"errors"
	"sort"
	"strconv"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
)

// encoder turns records into the pieces of a request body. It holds only what the
// configuration fixes, so one encoder serves every Write at once.
type encoder struct {
	hec    bool
	array  bool
	host   string // HEC host when the record has no log-source identifier
	suffix []byte // HEC: `,"source":..,"sourcetype":..,"index":..,"fields":{..},"event":`
}

func newEncoder(c *Config) *encoder {
	e := &encoder{hec: c.Mode == ModeSplunkHEC, array: c.Format == FormatJSONArray && c.Mode != ModeSplunkHEC, host: c.Host}
	if !e.hec {
		return e
	}
	var b []byte
	for _, kv := range [][2]string{{"source", c.Source}, {"sourcetype", c.Sourcetype}, {"index", c.Index}} {
		if kv[1] != "" {
			b = append(b, `,"`+kv[0]+`":`...)
			b = jsonx.AppendString(b, kv[1])
		}
	}
	if len(c.Fields) > 0 {
		keys := make([]string, 0, len(c.Fields))
		for k := range c.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, `,"fields":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonx.AppendString(b, k)
			b = append(b, ':')
			b = jsonx.AppendString(b, c.Fields[k])
		}
		b = append(b, '}')
	}
	e.suffix = append(b, `,"event":`...)
	return e
}

// open and close frame the body; sep goes between two records.
func (e *encoder) open() []byte {
	if e.array {
		return []byte{'['}
	}
	return nil
}

func (e *encoder) close() []byte {
	if e.array {
		return []byte{']'}
	}
	return nil
}

func (e *encoder) sep() []byte {
	if e.array {
		return []byte{','}
	}
	return nil
}

// errNotObject is why a record cannot be sent: its bytes are not one JSON object.
var errNotObject = errors.New("the record is not a JSON object")

// appendRecord appends the encoding of r (without a separator) to dst. The record's bytes are
// sent as they are; only a record spread over several lines (a pretty-printed object) is
// compacted, since a line break would cut it in two in NDJSON. Full JSON validation is left to
// the receiver: a record it refuses is found by splitting the batch, and dead-lettered.
func (e *encoder) appendRecord(dst []byte, r *event.Record) ([]byte, error) {
	raw := r.Raw
	if len(raw) < 2 || raw[0] != '{' || raw[len(raw)-1] != '}' ||
		bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		compact, err := jsonx.AppendCompact(nil, raw)
		if err != nil {
			return dst, errNotObject
		}
		raw = compact
		if len(raw) < 2 || raw[0] != '{' {
			return dst, errNotObject
		}
	}
	if !e.hec {
		dst = append(dst, raw...)
		if !e.array {
			dst = append(dst, '\n')
		}
		return dst, nil
	}
	dst = append(dst, '{')
	comma := false
	if !r.Time.IsZero() {
		if ms := r.Time.UnixMilli(); ms >= 0 {
			dst = append(dst, `"time":`...)
			dst = strconv.AppendInt(dst, ms/1000, 10)
			f := ms % 1000
			dst = append(dst, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
			comma = true
		}
	}
	host := r.Meta[event.MetaLogSourceID]
	if host == "" {
		host = e.host
	}
	if host != "" {
		if comma {
			dst = append(dst, ',')
		}
		dst = append(dst, `"host":`...)
		dst = jsonx.AppendString(dst, host)
		comma = true
	}
	suffix := e.suffix
	if !comma {
		suffix = suffix[1:] // no leading comma after '{'
	}
	dst = append(dst, suffix...)
	dst = append(dst, raw...)
	return append(dst, '}', '\n'), nil
}
