package cloudtraillake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/lakeapi"
	"github.com/logshipper/logshipper/internal/mapping"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/sim/lake"
)

const fuzzAccount = "123456789012"

var validID = regexp.MustCompile(`^[-_A-Za-z0-9]{1,128}$`)

// bodyBytes is what one audit event adds to a PutAuditEvents body, as lakeapi writes it:
// {"id":"…","eventData":"…","eventDataChecksum":"…"} and the comma before the next.
func bodyBytes(ev lakeapi.AuditEvent) int {
	return len(`{"id":"","eventData":"","eventDataChecksum":""},`) + len(ev.ID) + escapedLen(ev.EventData) + len(ev.EventDataChecksum)
}

// escapedLen is the length of s inside a JSON string as lakeapi escapes it.
func escapedLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n += 2
		case c < 0x20:
			n += 6
		case c < utf8.RuneSelf:
			n++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				n += 6
			} else {
				n += size
			}
			i += size
			continue
		}
		i++
	}
	return n
}

// FuzzPrepare: any record is mapped into an audit event, or refused or skipped with a
// classified error. An audit event has an id CloudTrail Lake takes, the checksum of its
// eventData, eventData that is a valid UTF-8 JSON object with every required field as a
// non-empty string within its length limit, eventTime in UTC, the Netskope eventSource, the
// channel's account, no sourceIPAddress that is not an IP, additionalEventData within 28 kB;
// and its payload estimate is at least what it adds to the request body, so that a call Write
// fills up to 1 MB never goes over.
func FuzzPrepare(f *testing.F) {
	recs, audit := sampleRecords(f)
	for _, s := range recs {
		f.Add(s.raw, string(s.kind), s.subtype, "", true)
	}
	for _, b := range audit {
		f.Add([]byte(b), string(event.KindNetskopeEvent), "audit", "", false)
	}
	alert := string(event.KindNetskopeAlert)
	f.Add([]byte(`{"_id":"a b/c","alert_type":"DLP","timestamp":1700000000,"user":"u","srcip":"not an ip","x":"\"\"\"\"\"\"\"\""}`), alert, "DLP", "", true)
	f.Add([]byte(`{"_id":"1","alert_type":"uba","timestamp":1700000000}`), alert, "uba", "", true)
	f.Add([]byte(`{"_id":"2","alert_type":"dlp","timestamp":1700000000}`), string(event.KindCloudTrail), "AwsApiCall", "", true)
	f.Add([]byte(`{"_id":"3","alert_type":"dlp","timestamp":1700000000}`), "", "", "", true)
	f.Add([]byte("{\"_id\":\"u8\",\"alert_type\":\"dlp\",\"timestamp\":1700000000,\"user\":\"u\",\"zz\":\"\xff\\u0001\",\"n\":[1,{\"a\":\"\xc3\"}]}"), alert, "dlp", "", true)
	f.Add([]byte(`{"alert_type":"dlp","timestamp":1700000000,"user":"u"}`), alert, "dlp", "r\u00e9c\u00f6rd-id-\u2603", true)

	maps := mapping.DefaultCloudTrail()
	f.Fuzz(func(t *testing.T, raw []byte, kind, subtype, id string, additional bool) {
		cfg := NewConfig().(*Config)
		cfg.AddAdditionalData = additional
		d := &Destination{cfg: cfg, maps: maps, account: fuzzAccount}
		r := &event.Record{Raw: raw, Kind: event.Kind(kind), Subtype: subtype, ID: id}
		p, err := d.prepare(r)
		if err != nil {
			var re *plugin.RefusedError
			var se *plugin.SkippedError
			if !errors.As(err, &re) && !errors.As(err, &se) {
				t.Fatalf("error %T %v is neither Refused nor Skipped", err, err)
			}
			return
		}
		if why, refused := d.RefuseKind(r.Kind, r.Subtype); refused {
			t.Fatalf("mapped a record of kind %q subtype %q, which RefuseKind refuses (%s)", kind, subtype, why)
		}
		ev := p.ev
		if !validID.MatchString(ev.ID) {
			t.Fatalf("id %q is not 1-128 of [-_A-Za-z0-9]", ev.ID)
		}
		if ev.EventDataChecksum != lakeapi.Checksum([]byte(ev.EventData)) {
			t.Fatalf("checksum %q does not match eventData", ev.EventDataChecksum)
		}
		if need := bodyBytes(ev); p.payload < need {
			t.Fatalf("payload estimate %d, but the event adds %d bytes to the body (eventData %d bytes)", p.payload, need, len(ev.EventData))
		}
		if !utf8.ValidString(ev.EventData) {
			t.Fatalf("eventData is not valid UTF-8: %q", ev.EventData)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(ev.EventData), &doc); err != nil {
			t.Fatalf("eventData is not a JSON object: %v: %q", err, ev.EventData)
		}
		str := func(path string) string {
			var v any = doc
			for _, k := range strings.Split(path, ".") {
				m, _ := v.(map[string]any)
				v = m[k]
			}
			s, _ := v.(string)
			return s
		}
		for _, req := range []string{"version", "userIdentity.type", "userIdentity.principalId", "eventSource", "eventName", "eventTime", "UID", "recipientAccountId"} {
			if str(req) == "" {
				t.Fatalf("eventData has no %s: %s", req, ev.EventData)
			}
		}
		for path, limit := range map[string]int{"userIdentity.type": 128, "userIdentity.principalId": 1024, "errorMessage": 256} {
			if n := utf8.RuneCountInString(str(path)); n > limit {
				t.Fatalf("%s has %d characters, more than %d", path, n, limit)
			}
		}
		if _, err := time.Parse("2006-01-02T15:04:05Z", str("eventTime")); err != nil {
			t.Fatalf("eventTime %q: %v", str("eventTime"), err)
		}
		if src := str("eventSource"); !strings.HasPrefix(src, "netskopealert.") && !strings.HasPrefix(src, "netskopeevent.") || strings.Contains(src, " ") {
			t.Fatalf("eventSource %q", src)
		}
		if str("recipientAccountId") != fuzzAccount {
			t.Fatalf("recipientAccountId %q", str("recipientAccountId"))
		}
		if ip, ok := doc["sourceIPAddress"]; ok {
			if s, _ := ip.(string); !validAddr(s) {
				t.Fatalf("sourceIPAddress %#v is not an IP", ip)
			}
		}
		if extra, ok := doc["additionalEventData"]; ok {
			if !additional {
				t.Fatal("additionalEventData with add_additional_data off")
			}
			b, _ := json.Marshal(extra)
			if _, isObj := extra.(map[string]any); !isObj || len(b) > maxAdditionalData {
				t.Fatalf("additionalEventData is not an object within %d bytes: %d bytes", maxAdditionalData, len(b))
			}
		}
	})
}

func validAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// quoteHeavy is a DLP alert whose unmapped fields make an additionalEventData of about 9 kB in
// which a third of the bytes are quotes: escaped in the request body, it grows by a third.
func quoteHeavy(i int) *event.Record {
	var b strings.Builder
	id := fmt.Sprintf("q%03d", i)
	fmt.Fprintf(&b, `{"_id":%q,"alert_type":"DLP","timestamp":1795420800,"user":"alice@example.com","alert_name":"DLP rule"`, id)
	for k := range 700 {
		fmt.Fprintf(&b, `,"f%04d":"v"`, k)
	}
	b.WriteByte('}')
	return &event.Record{ID: id, Raw: []byte(b.String()), Kind: event.KindNetskopeAlert, Subtype: "dlp"}
}

// Escaping eventData as a JSON string doubles every quote and backslash, so an event's payload
// estimate counts them: it is never below what the event adds to the body, and a full call of
// quote-heavy events stays within CloudTrail Lake's 1 MB body limit (the service refuses a
// larger call whole, with a permanent ValidationException). Write delivers every event.
func TestFullCallOfQuoteHeavyEventsFitsOneMB(t *testing.T) {
	s := startSim(t)
	d := newDest(t, s, nil)
	recs := make([]*event.Record, maxEvents)
	for i := range recs {
		recs[i] = quoteHeavy(i)
	}
	p, err := d.prepare(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if need := bodyBytes(p.ev); p.payload < need {
		t.Errorf("payload estimate %d, the event adds %d bytes to the body", p.payload, need)
	}
	if err := d.Write(context.Background(), recs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := len(s.Lake.Query(lake.Filter{})); got != maxEvents {
		t.Fatalf("lake holds %d events, want %d", got, maxEvents)
	}
}
