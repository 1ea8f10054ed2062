package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/sim/lake"
	"github.com/logshipper/logshipper/internal/sim/netskope"
)

// summary prints what the two runs did and what arrived in the lake.
type summary struct {
	out           io.Writer
	show          func(string) string // a path as the user should see it
	total         int64               // the tenant's records
	first, second pass
	lake1, lake2  lake.Stats     // after the first and the second run
	tenant        netskope.Stats // after the first run
	check         check
	archive       string
	lakeFile      string
}

func (s *summary) print(sample []lake.StoredEvent) error {
	w := s.out
	c := s.first.counts
	pulled := c[mReceived][sourceName]
	secs := s.first.elapsed.Seconds()
	fmt.Fprintf(w, "\nfirst run: %.0f records pulled (the tenant holds %d) in %s, %.0f records/s\n",
		pulled, s.total, s.first.elapsed.Round(100*time.Millisecond), pulled/max(secs, 0.001))

	// Every record read is accounted for on the lake's route.
	skipped := dropped(c, lakeName, plugin.ReasonUnsupported)
	line := fmt.Sprintf("  to the lake: %.0f sent + %.0f filtered by the rule %s + %.0f UBA alerts skipped (unsupported_by_destination)",
		c[mSent][lakeName], dropped(c, lakeName, plugin.ReasonFiltered), ruleName, skipped)
	accounted := c[mSent][lakeName] + dropped(c, lakeName, plugin.ReasonFiltered) + skipped
	for _, k := range slices.Sorted(maps.Keys(c[mDropped])) {
		name, reason, _ := strings.Cut(k, "/")
		if name != lakeName || reason == string(plugin.ReasonFiltered) || reason == string(plugin.ReasonUnsupported) || c[mDropped][k] == 0 {
			continue
		}
		label := reason
		switch plugin.Reason(reason) {
		case plugin.ReasonDuplicate:
			label = "duplicates"
		case plugin.ReasonRefused:
			label = "dead-lettered (refused)"
		}
		line += fmt.Sprintf(" + %.0f %s", c[mDropped][k], label)
		accounted += c[mDropped][k]
	}
	fmt.Fprintf(w, "%s = %.0f\n", line, accounted)
	fmt.Fprintf(w, "  to the archive: %.0f records in %s\n", c[mSent][archiveName], s.show(s.archive))

	nf := s.tenant.Faults
	lakeThrottled := s.lake1.Failed["Throttling"] + s.lake1.Failed["InternalFailure"] // per event, in a 200 answer
	var lakeCalls int64
	for _, n := range s.lake1.CallErrors {
		lakeCalls += n
	}
	fmt.Fprintf(w, "  faults survived: Netskope %d answers 5xx, %d cut short (asked again with resend), %d rate-limited (429);\n",
		nf.ServerErrors, nf.CutBodies, s.tenant.ByStatus[429])
	fmt.Fprintf(w, "    CloudTrail Lake %d events throttled, %d calls failed (5xx or throttled): all retried, %.0f records dead-lettered\n",
		lakeThrottled, lakeCalls, dropped(c, lakeName, plugin.ReasonRefused))
	fmt.Fprintf(w, "  records Netskope served twice: %.0f dropped as duplicates within one call, %d deduplicated by the lake (same id): each stored once\n",
		dropped(c, lakeName, plugin.ReasonDuplicate), s.lake1.Duplicates)
	k := s.check
	fmt.Fprintf(w, "  checked against the archive: of the %d records (distinct _ids) the rule kept, UBA aside, %d are missing from the lake and %d stored twice\n",
		k.want, k.missing, k.twice)
	if k.extra > 0 {
		fmt.Fprintf(w, "  and the lake holds %d events the rule did not keep\n", k.extra)
	}

	again := s.second.counts[mReceived][sourceName]
	fmt.Fprintf(w, "\nsecond run on the same data dir: %.0f records pulled again (every endpoint asked; positions were saved after delivery), %d new events in the lake\n",
		again, s.lake2.Total-s.lake1.Total)

	fmt.Fprintf(w, "\nwhat arrived in CloudTrail Lake: %d events in channel %s, by eventSource:\n", s.lake2.Total, channels(s.lake2))
	writeColumns(w, s.lake2.ByEventSource)

	if len(sample) > 0 {
		e := sample[0]
		fmt.Fprintf(w, "\none of them (%s, id %s, eventID %s), its eventData:\n", e.EventSource, e.ID, e.EventID)
		text, note, err := prettyEventData(e.EventData, 5)
		if err != nil {
			return fmt.Errorf("demo: showing a stored event: %w", err)
		}
		fmt.Fprintln(w, text)
		if note != "" {
			fmt.Fprintln(w, note)
		}
	}
	fmt.Fprintf(w, "\nsee more: every event the lake stored is a JSON line in %s, e.g.\n", s.show(s.lakeFile))
	fmt.Fprintf(w, "  grep -m1 '\"eventSource\":\"netskopeevent.audit\"' %s\n", s.show(s.lakeFile))
	fmt.Fprintf(w, "  (the same journey as a service, against go run ./cmd/cloudsim serve: examples/netskope-to-cloudtrail-lake.yaml)\n")
	return nil
}

// writeColumns prints the counts by name in two columns, sorted down the first, then the second.
func writeColumns(w io.Writer, byName map[string]int64) {
	names := slices.Sorted(maps.Keys(byName))
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	rows := (len(names) + 1) / 2
	for i := range rows {
		fmt.Fprintf(w, "  %-*s %5d", width, names[i], byName[names[i]])
		if j := i + rows; j < len(names) {
			fmt.Fprintf(w, "    %-*s %5d", width, names[j], byName[names[j]])
		}
		fmt.Fprintln(w)
	}
}

// channels lists the channels the lake stored events in.
func channels(st lake.Stats) string {
	return strings.Join(slices.Sorted(maps.Keys(st.ByChannel)), ", ")
}

// prettyEventData indents an eventData document, keeping its members' order, and shows only
// the first keep members of additionalEventData (it holds every field the mapping did not
// use); note says how many were left out.
func prettyEventData(data []byte, keep int) (text, note string, err error) {
	members, err := event.Members(data)
	if err != nil {
		return "", "", err
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		val := m.Value
		if m.Key == "additionalEventData" {
			inner, err := event.Members(val)
			if err == nil && len(inner) > keep {
				note = fmt.Sprintf("  (additionalEventData: the first %d of its %d fields shown)", keep, len(inner))
				var ib bytes.Buffer
				ib.WriteByte('{')
				for j, im := range inner[:keep] {
					if j > 0 {
						ib.WriteByte(',')
					}
					writeMember(&ib, im.Key, im.Value)
				}
				ib.WriteByte('}')
				val = ib.Bytes()
			}
		}
		writeMember(&b, m.Key, val)
	}
	b.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "  ", "  "); err != nil {
		return "", "", err
	}
	return "  " + out.String(), note, nil
}

// writeMember writes key (encoded as encoding/json encodes a string), a colon and value.
func writeMember(b *bytes.Buffer, key string, value []byte) {
	k, _ := json.Marshal(key) // a string always encodes
	b.Write(k)
	b.WriteByte(':')
	b.Write(value)
}
