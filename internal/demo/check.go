package demo

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/rules"
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
)

// check is the end-to-end comparison of what the source read (the archive holds every record
// as read) with what the lake stored.
type check struct {
	want    int // distinct _ids the rule keeps, UBA alerts left out
	missing int // of those, not in the lake
	twice   int // stored more than once
	extra   int // stored, though not expected
}

func (c check) ok() bool { return c.want > 0 && c.missing == 0 && c.twice == 0 && c.extra == 0 }

// compare reads the archive (its rotated files too), applies the rule to each record, and
// looks for each kept _id among the events the lake stored (its NDJSON file, one line each).
func compare(archive string, rule *rules.Rule, lakeFile string) (check, error) {
	files, err := filepath.Glob(archive + "*")
	if err != nil {
		return check{}, fmt.Errorf("reading the archive: %w", err)
	}
	if len(files) == 0 {
		return check{}, fmt.Errorf("reading the archive: no %s", archive)
	}
	want := map[string]bool{}
	for _, name := range files {
		if err := keptIDs(name, rule, want); err != nil {
			return check{}, err
		}
	}
	seen, err := storedIDs(lakeFile)
	if err != nil {
		return check{}, err
	}
	c := check{want: len(want)}
	for id := range want {
		if seen[id] == 0 {
			c.missing++
		}
	}
	for id, n := range seen {
		if n > 1 {
			c.twice++
		}
		if !want[id] {
			c.extra++
		}
	}
	return c, nil
}

// keptIDs adds the _id of every record of an NDJSON file that the rule keeps, UBA alerts aside.
func keptIDs(name string, rule *rules.Rule, want map[string]bool) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("reading the archive: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		r := &event.Record{Raw: append([]byte(nil), sc.Bytes()...)}
		fields, err := r.Fields()
		if err != nil {
			return fmt.Errorf("archive %s: %w", name, err)
		}
		// The archive holds the records as read: an alert names its type, which the file
		// source would spell as its endpoint's.
		if at, ok := fields["alert_type"].(string); ok && event.NetskopeUBA(event.KindNetskopeAlert, event.NetskopeSubtype(at)) {
			continue
		}
		if ok, err := rule.Match(r); err == nil && ok {
			id, _ := fields["_id"].(string)
			want[id] = true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	return nil
}

// storedIDs counts the record ids (the _ids) of the events in the lake's NDJSON file, as their
// audit event ids were made from them (cloudtraillake.AuditEventID).
func storedIDs(name string) (map[string]int, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("reading the lake's events: %w", err)
	}
	defer f.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var e struct {
			ID string `json:"id"` // the caller's id (lake.StoredEvent's)
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("lake events %s: %w", name, err)
		}
		seen[cloudtraillake.RecordIDOf(e.ID)]++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("lake events %s: %w", name, err)
	}
	return seen, nil
}
