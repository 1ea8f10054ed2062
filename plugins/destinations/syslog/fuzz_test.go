package syslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

// fuzzKinds are the kinds a record may have: none, another product's, cloudtrail (bare, or
// "cloudtrail+cloudwatch": in the CloudWatch source's envelope), or a Netskope kind.
var fuzzKinds = []event.Kind{"", "acme/audit", event.KindCloudTrail, "cloudtrail+cloudwatch", event.KindNetskopeAlert, event.KindNetskopeAlert, event.KindNetskopeEvent, event.KindNetskopeEvent}

// FuzzEncodeRecord: any record, in every format (CEF, LEEF with a tab or another delimiter,
// JSON bare or in an envelope) and header (RFC 5424 with or without structured data, RFC 3164),
// is encoded or refused or skipped with a classified error. Every message holds no line break
// (newline framing would cut it), is valid UTF-8 when the input is, and parses back: CEF with
// seven header fields and word keys, LEEF with its header and key=value attributes, the JSON
// envelope as JSON.
func FuzzEncodeRecord(f *testing.F) {
	for i, raw := range pantherRecords(f, 20) {
		f.Add(raw, uint8(2<<5|i%32), "", "", "")
		if i < 3 {
			f.Add(raw, uint8(3<<5|i*7%32), "aws-account-1", "", "")
		}
	}
	for i, r := range netskopeRecords(f) {
		k := 6
		if r.Kind == event.KindNetskopeAlert {
			k = 4
		}
		f.Add(r.Raw, uint8(k<<5|(2+i%6)), r.Source, r.Subtype, r.ID)
	}
	f.Add([]byte(`{"hello":"a=b|c\\d","n":1}`), uint8(1), "host\nname", "custom", "x-1")
	f.Add([]byte("<13>not json = at all|\n\r"), uint8(0x21), "", "t\"y]pe", `i\d`)
	f.Add([]byte("{\"eventName\":\"x\xff\",\n\"eventSource\":\"s3.amazonaws.com\"}"), uint8(0x42), "", "", "")

	f.Fuzz(func(t *testing.T, raw []byte, flags uint8, logSource, typ, id string) {
		cfg := testConfig("127.0.0.1:514")
		cfg.Format = [...]string{FormatCEF, FormatLEEF, FormatJSON}[int(flags&3)%3]
		if flags&4 != 0 {
			cfg.LEEFDelimiter = "^"
		}
		switch flags >> 3 & 3 {
		case 1:
			cfg.StructuredData = true
		case 2:
			cfg.Header = HeaderRFC3164
		}
		cfg.JSONEnvelope = flags&0x20 != 0
		e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
		e.now = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
		r := &event.Record{Raw: raw, Subtype: typ, ID: id, Source: "fuzz", Time: time.UnixMilli(int64(flags) * 1e9)}
		switch k := fuzzKinds[int(flags>>5)%len(fuzzKinds)]; k {
		case "cloudtrail+cloudwatch":
			r = asCloudWatch(t, raw, int(flags))
			r.ID, r.Source, r.Time = id, "fuzz", time.UnixMilli(int64(flags)*1e9)
		default:
			r.Kind = k
		}
		if logSource != "" {
			if r.Meta == nil {
				r.Meta = map[string]string{}
			}
			r.Meta[event.MetaLogSourceID] = logSource
		}
		msg, err := e.message(nil, r)
		if err != nil {
			var re *plugin.RefusedError
			var se *plugin.SkippedError
			if !errors.As(err, &re) && !errors.As(err, &se) {
				t.Fatalf("error %T %v is neither Refused nor Skipped", err, err)
			}
			return
		}
		inUTF8 := utf8.Valid(raw) && utf8.ValidString(logSource) && utf8.ValidString(typ) && utf8.ValidString(id)
		if bytes.ContainsAny(msg, "\r\n") {
			t.Fatalf("message holds a line break: %q", msg)
		}
		if inUTF8 && !utf8.Valid(msg) {
			t.Fatalf("message is not valid UTF-8: %q", msg)
		}
		if cfg.Header != HeaderRFC5424 || cfg.StructuredData {
			return
		}
		body := msgOf(t, string(msg))
		switch {
		case cfg.Format == FormatCEF:
			if _, err := parseCEF(body); err != nil {
				t.Fatalf("CEF %v: %q", err, body)
			}
		case cfg.Format == FormatLEEF:
			if m, err := parseLEEF(body); err != nil || m.Delim != e.delim {
				t.Fatalf("LEEF %v (delimiter %q): %q", err, m.Delim, body)
			}
		case cfg.JSONEnvelope:
			if !json.Valid([]byte(body)) {
				t.Fatalf("JSON envelope is not JSON: %q", body)
			}
		}
	})
}
