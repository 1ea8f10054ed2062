package deadletter

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
)

// SetEvent stores r's bytes (SetRecord) and what its source said of it: ID, source, kind,
// subtype, time, attributes and payload, so that Event gives it back for a replay.
func (e *Entry) SetEvent(r *event.Record) {
	e.SetRecord(r.Raw)
	if e.ID == "" {
		e.ID = r.ID
	}
	if e.Source == "" {
		e.Source = r.Source
	}
	e.Kind, e.Subtype = string(r.Kind), r.Subtype
	if !r.Time.IsZero() {
		t := r.Time
		e.RecordTime = &t
	}
	if len(r.Meta) > 0 {
		e.Meta = maps.Clone(r.Meta)
	}
	switch {
	case r.Payload == nil:
	case utf8.Valid(r.Payload):
		e.PayloadText = string(r.Payload)
	default:
		e.PayloadBase64 = base64.StdEncoding.EncodeToString(r.Payload)
	}
}

// RecordBytes returns the record's bytes, from whichever field holds them.
func (e *Entry) RecordBytes() ([]byte, error) {
	n := 0
	var out []byte
	if e.Record != nil {
		n++
		out = []byte(e.Record)
	}
	if e.RecordText != "" {
		n++
		out = []byte(e.RecordText)
	}
	if e.RecordBase64 != "" {
		n++
		b, err := base64.StdEncoding.DecodeString(e.RecordBase64)
		if err != nil {
			return nil, fmt.Errorf("record_base64: %w", err)
		}
		out = b
	}
	switch n {
	case 0:
		return nil, errors.New("the entry holds no record")
	case 1:
		return out, nil
	}
	return nil, errors.New("the entry holds its record in more than one field")
}

// Event rebuilds the record as its source handed it on, for a replay. Raw is checked again to
// set ValidJSON: the file may have been edited by hand.
func (e *Entry) Event() (*event.Record, error) {
	raw, err := e.RecordBytes()
	if err != nil {
		return nil, err
	}
	r := &event.Record{Raw: raw, ID: e.ID, Source: e.Source, Kind: event.Kind(e.Kind), Subtype: e.Subtype, Meta: maps.Clone(e.Meta)}
	r.ValidJSON = len(raw) > 0 && raw[0] == '{' && jsonx.Valid(raw) && utf8.Valid(raw)
	if e.RecordTime != nil {
		r.Time = *e.RecordTime
	}
	switch {
	case e.PayloadBase64 != "":
		b, err := base64.StdEncoding.DecodeString(e.PayloadBase64)
		if err != nil {
			return nil, fmt.Errorf("payload_base64: %w", err)
		}
		r.Payload = b
	case e.PayloadText != "":
		r.Payload = []byte(e.PayloadText)
	}
	return r, nil
}
