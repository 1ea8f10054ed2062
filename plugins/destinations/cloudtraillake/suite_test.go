package cloudtraillake

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/lake"
)

// asDLPAlert makes a suite record a Netskope DLP alert the default mapping maps: the fields the
// mapping requires are put before the record's own members, which stay as they are (they go to
// additionalEventData). The audit event's id is made from the record's ID (the suite's ids are
// plain ASCII, quoted alike by %q and JSON).
func asDLPAlert(r *event.Record) *event.Record {
	raw := fmt.Appendf(nil, `{"_id":%q,"alert_type":"DLP","timestamp":1795420800,"user":"alice@example.com","alert_name":"DLP rule"`, r.ID)
	if body := bytes.TrimSpace(r.Raw[1:]); len(body) > 1 { // r.Raw is not {}
		raw = append(append(raw, ','), body...)
	} else {
		raw = append(raw, '}')
	}
	r.Raw, r.Kind, r.Subtype = raw, event.KindNetskopeAlert, "dlp"
	return r
}

// The lake passes the destination conformance suite against cloudsim's CloudTrail Lake, with
// the suite's records made into Netskope DLP alerts; arrivals are the records' ids the audit
// events' ids were made from (RecordIDOf), in ingestion order.
func TestDestinationSuite(t *testing.T) {
	var s *cloudsim.Sim
	plugintest.RunDestinationSuite(t, plugintest.DestinationHarness{
		Setup: func(t *testing.T) { s = startSim(t) },
		New:   func(t *testing.T) plugin.Destination { return newDest(t, s, nil) },
		Delivered: func(*testing.T) []string {
			var ids []string
			for _, ev := range s.Lake.Query(lake.Filter{}) {
				ids = append(ids, RecordIDOf(ev.ID))
			}
			return ids
		},
		Key:   func(r *event.Record) string { return r.ID },
		Adapt: asDLPAlert,
	})
}
