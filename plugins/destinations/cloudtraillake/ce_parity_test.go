package cloudtraillake

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/mapping"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ce-parity")

// With Cloud Exchange's own CloudTrail Lake mapping file (netskopeoss/ta_cloud_exchange_plugins
// cloudtrail/mappings.json, unchanged, in testdata/ce-parity), eventData holds what CE builds
// where CE keeps or shapes data: access_method in additionalEventData besides
// userIdentity.details, Netskope's 64-bit ids as strings there; and keeps what CE loses: a srcip
// that is not an IP, which CE drops with sourceIPAddress, stays in additionalEventData. The
// goldens (testdata/ce-parity/*.golden.json) are the whole eventData; go test -run
// TestCEMappingParity -update rewrites them (read the diff).
func TestCEMappingParity(t *testing.T) {
	maps, err := mapping.LoadFile(filepath.Join("testdata", "ce-parity", "ce-cloudtrail-mappings.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := &Destination{cfg: NewConfig().(*Config), maps: maps, account: "123456789012"}
	tests := []struct {
		name          string
		rec           *event.Record
		strings       map[string]string // additionalEventData members that must be these strings
		noSourceIP    bool
		detailsAccess string
	}{
		{"alert_dlp", &event.Record{ID: "a1", Kind: event.KindNetskopeAlert, Subtype: "dlp",
			Raw: []byte(`{"_id":"a1","alert_type":"DLP","timestamp":1709294400,"user":"alice@example.com","srcip":"10.1.2.3","access_method":"Client","browser":"Chrome","transaction_id":7147084621365701239,"app_session_id":2630153463706674373,"request_id":12,"count":5}`)},
			map[string]string{"access_method": "Client", "app_session_id": "2630153463706674373", "request_id": "12"}, false, "Client"},
		{"alert_policy_srcip_not_an_ip", &event.Record{ID: "p1", Kind: event.KindNetskopeAlert, Subtype: "policy",
			Raw: []byte(`{"_id":"p1","alert_type":"policy","timestamp":1709294400,"user":"bob@example.com","srcip":"unknown","access_method":"API Connector","connection_id":8877956901418159072}`)},
			map[string]string{"srcip": "unknown", "access_method": "API Connector", "connection_id": "8877956901418159072"}, true, "API Connector"},
		{"event_incident", &event.Record{ID: "i1", Kind: event.KindNetskopeEvent, Subtype: "incident",
			Raw: []byte(`{"event_type":"incident","_id":"i1","timestamp":1709294400,"user":"carol@example.com","incident_id":7327365099046161410,"dlp_incident_id":1936958343825673310,"transaction_id":1423426221819520383}`)},
			map[string]string{"incident_id": "7327365099046161410", "dlp_incident_id": "1936958343825673310"}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := d.prepare(tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				SourceIPAddress     *string `json:"sourceIPAddress"`
				UserIdentity        struct{ Details map[string]any }
				AdditionalEventData map[string]any
			}
			dec := json.NewDecoder(bytes.NewReader([]byte(p.ev.EventData)))
			dec.UseNumber()
			if err := dec.Decode(&ev); err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.strings {
				if got, ok := ev.AdditionalEventData[k].(string); !ok || got != want {
					t.Errorf("additionalEventData.%s = %#v, want the string %q", k, ev.AdditionalEventData[k], want)
				}
			}
			if tc.noSourceIP != (ev.SourceIPAddress == nil) {
				t.Errorf("sourceIPAddress %v, want it absent: %v", ev.SourceIPAddress, tc.noSourceIP)
			}
			if tc.detailsAccess != "" && ev.UserIdentity.Details["access_method"] != tc.detailsAccess {
				t.Errorf("userIdentity.details %v, want access_method %q", ev.UserIdentity.Details, tc.detailsAccess)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, []byte(p.ev.EventData), "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden := filepath.Join("testdata", "ce-parity", tc.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestCEMappingParity -update writes it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("eventData differs from %s:\n got %s\nwant %s", golden, pretty.Bytes(), want)
			}
		})
	}
}
