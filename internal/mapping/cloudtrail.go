package mapping

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The CE CloudTrail Lake plugin (cloudtrail/main.py, transform and get_extensions) does more
// than its mapping file says. After the mapping it:
//
//   - replaces a userAgent of "native" (any case) with "AWS CLI";
//   - sets UID to the record's _id (or "NA") when the mapping gave none;
//   - sets userIdentity.details to {"access_method": <record's access_method, or null>};
//   - formats eventTime, epoch seconds, as %Y-%m-%dT%H:%M:%SZ, in the host's local time zone (a
//     bug: CloudTrail wants UTC; here it is always UTC);
//   - leaves _id and the mapping's fields out of additionalEventData (it is the audit event's
//     id); access_method stays there, beside its copy in userIdentity.details.
//
// cloudTrail does the same, with these differences: userIdentity.details is set only when the
// mapping has no userIdentity.details target of its own; eventTime is UTC whatever TZ says, and
// may also be a date string; and the fields CloudTrail Lake requires in eventData are checked,
// so a record that would be refused (FieldNotFound, FieldTooLong) fails here with a reason.
// eventSource and recipientAccountId are the destination's to set.

// Required eventData fields the mapping must produce (eventSource and recipientAccountId come
// from the destination).
var cloudTrailRequired = []string{
	"version",
	"userIdentity.type",
	"userIdentity.principalId",
	"eventName",
	"eventTime",
	"UID",
}

// CloudTrail Lake's field limits, in characters.
var cloudTrailMaxLen = []struct {
	field string
	max   int
}{
	{"userIdentity.type", 128},
	{"userIdentity.principalId", 1024},
	{"errorMessage", 256},
}

func (m *Mapping) cloudTrail(out *Output, rec map[string]any) error {
	if i := out.find("userAgent"); i >= 0 && out.nodes[i].live {
		if v := &out.nodes[i].val; v.k == vString && strings.EqualFold(v.s, "native") {
			v.s = "AWS CLI"
		}
	}

	if !out.Has("UID") {
		uid := "NA"
		if id, ok := rec["_id"]; ok && stateOf(id) == found {
			uid = toString(id)
		}
		if err := out.Set("UID", uid); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrRecord, m.where(), err)
		}
	}
	if _, ok := rec["_id"]; ok {
		out.addUsed("_id")
	}

	if !m.c.definesDetails && !out.Has("userIdentity.details") {
		am, ok := rec["access_method"]
		var v value
		if ok && am != nil {
			var err error
			if v, err = valueOf(am); err != nil {
				v = strValue(toString(am))
			}
			// access_method is not counted as used: CE leaves out of additionalEventData
			// only _id and its mapping's fields, so it keeps access_method there too.
		} else {
			v = value{k: vNull}
		}
		i, err := out.leafFor("userIdentity.details.access_method")
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrRecord, m.where(), err)
		}
		out.setLeaf(i, v)
	}

	if i := out.find("eventTime"); i >= 0 && out.nodes[i].live {
		v := &out.nodes[i].val
		if v.k != vString || !isCloudTrailTime(v.s) {
			t, err := toTime(v.toAny())
			if err != nil {
				return fmt.Errorf("%w: %s: eventTime: %v", ErrRecord, m.where(), err)
			}
			*v = strValue(formatTime(t))
		}
	}

	for _, f := range cloudTrailRequired {
		i := out.find(f)
		if i < 0 || !out.nodes[i].live || out.nodes[i].obj {
			return fmt.Errorf("%w: %s: eventData has no %s, which CloudTrail Lake requires%s", ErrRecord, m.where(), f, m.why(f, rec))
		}
		v := &out.nodes[i].val
		switch v.k {
		case vString:
			if v.s == "" {
				return fmt.Errorf("%w: %s: eventData's %s is empty, and CloudTrail Lake requires it", ErrRecord, m.where(), f)
			}
		case vInt, vUint, vFloat, vBool, vRaw:
			// CloudTrail Lake wants strings here; a number from an Integer transformation is
			// written as its digits.
			*v = strValue(toString(v.toAny()))
		default:
			return fmt.Errorf("%w: %s: eventData's %s must be a string, not an object or list", ErrRecord, m.where(), f)
		}
	}
	for _, lim := range cloudTrailMaxLen {
		f, max := lim.field, lim.max
		i := out.find(f)
		if i < 0 || !out.nodes[i].live {
			continue
		}
		if v := out.nodes[i].val; v.k == vString && len(v.s) > max && utf8.RuneCountInString(v.s) > max {
			return fmt.Errorf("%w: %s: eventData's %s is longer than CloudTrail Lake's %d characters", ErrRecord, m.where(), f, max)
		}
	}
	return nil
}

func (m *Mapping) where() string { return m.Kind + "/" + m.Subtype }

// why explains a missing required field from the mapping.
func (m *Mapping) why(target string, rec map[string]any) string {
	e := m.c.entryFor(target)
	switch {
	case e == nil:
		return fmt.Sprintf(" (%s.extension has no %q)", m.c.kindPath, target)
	case e.field != "" && !e.hasDef:
		if _, st := e.lookup(rec); st == absent {
			return fmt.Sprintf(" (mapped from %q, which the record lacks, with no default_value)", e.field)
		}
		return fmt.Sprintf(" (mapped from %q, which is empty or unusable in the record, with no default_value)", e.field)
	}
	return ""
}

func isCloudTrailTime(s string) bool {
	if len(s) != len(TimeLayout) || s[len(s)-1] != 'Z' {
		return false
	}
	_, err := time.Parse(TimeLayout, s)
	return err == nil
}
