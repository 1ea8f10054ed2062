// Package mapping loads Netskope Cloud Exchange (CE) mapping files and applies them to records.
//
// A CE mapping file, as users export it from CE, is an object whose "jsonData" string holds the
// mapping proper:
//
//	{"taxonomy": {"alerts": {"dlp": {"header": {...}, "extension": {
//	    "userIdentity.principalId": {"mapping_field": "user", "default_value": "NA",
//	                                 "transformation": "String"}, ...}}}}}
//
// Load accepts that file unchanged, the decoded inner object, and the same structure written as
// plain YAML. Set.For picks the mapping of one kind ("alerts", "events") and subtype ("dlp",
// "Compromised Credential", ...), matched as CE does, ignoring case (and, here, spaces, so the
// API's "compromisedcredential" finds CE's "Compromised Credential"). Mapping.Apply builds the
// target fields of one record: dotted targets become nested objects, field order is the
// mapping's, and the Output encodes itself to JSON by appending to a []byte.
//
// A Set whose file is a CloudTrail Lake mapping (it carries "cloudtrail_map_version", or
// WithPlugin("cloudtrail") was called) also applies the rules CE's CloudTrail Lake plugin applies
// in code after the mapping: eventTime in UTC yyyy-MM-ddTHH:mm:ssZ, UID falling back to _id,
// userIdentity.details, and a check that every required eventData field is there. See
// cloudtrail.go and README.md.
package mapping

import (
	"sort"
	"strings"
)

// Kinds of records, as CE names them in a mapping's taxonomy.
const (
	KindAlerts = "alerts"
	KindEvents = "events"
)

// PluginCloudTrail names the CE CloudTrail Lake plugin; a Set for it applies the plugin's rules.
const PluginCloudTrail = "cloudtrail"

// Set is a loaded mapping file. It is immutable once loaded and safe for concurrent use.
type Set struct {
	name       string
	plugin     string
	mapVersion string
	kinds      map[string]*kindMappings // by normalized kind
	kindOrder  []string                 // kinds as written, in file order
	json       map[string]map[string][]string
	vars       map[string]string
}

type kindMappings struct {
	name  string
	subs  map[string]*Mapping // by normalized subtype
	order []*Mapping
}

// Mapping is the mapping of one kind and subtype. It is immutable and safe for concurrent use.
type Mapping struct {
	// Kind and Subtype are the names as written in the file ("alerts", "Compromised Credential").
	Kind, Subtype string

	c       *compiled
	plugin  string
	vars    map[string]string
	ctRules bool
}

// Name is the mapping's name from the CE export ("AWS CloudTrail Lake Default Mappings"), or "".
func (s *Set) Name() string { return s.name }

// Plugin is the CE plugin the file was written for, taken from its "<plugin>_map_version" key
// ("cloudtrail", "syslog", "qradar", ...), or as set by WithPlugin; "" when unknown.
func (s *Set) Plugin() string { return s.plugin }

// MapVersion is the value of the file's "<plugin>_map_version" key, or "".
func (s *Set) MapVersion() string { return s.mapVersion }

// Kinds lists the kinds the file maps ("alerts", "events", "webtx", "logs"), in file order. The
// syslog file's "json" section (field lists for JSON output) is not a kind: see JSONFields.
func (s *Set) Kinds() []string { return append([]string(nil), s.kindOrder...) }

// Subtypes lists the subtypes of a kind as written in the file, in file order.
func (s *Set) Subtypes(kind string) []string {
	k := s.kind(kind)
	if k == nil {
		return nil
	}
	out := make([]string, len(k.order))
	for i, m := range k.order {
		out[i] = m.Subtype
	}
	return out
}

// For returns the mapping of a kind ("alerts" or "events"; "alert" and "event" work too) and a
// subtype. The subtype matches ignoring case and spaces, so "compromisedcredential",
// "Compromised Credential" and "compromised credential" are one. A subtype the file does not map
// is reported as not found: the caller skips the record and counts it, as CE does.
func (s *Set) For(kind, subtype string) (*Mapping, bool) {
	k := s.kind(kind)
	if k == nil {
		return nil, false
	}
	m, ok := k.subs[normalizeName(subtype)]
	return m, ok
}

func (s *Set) kind(kind string) *kindMappings {
	n := normalizeName(kind)
	if k, ok := s.kinds[n]; ok {
		return k
	}
	if k, ok := s.kinds[n+"s"]; ok { // "alert" -> "alerts"
		return k
	}
	return nil
}

// JSONFields returns the field list the syslog file's "json" section gives a kind and subtype
// (CE sends only those fields when the output is JSON; an empty list means every field).
func (s *Set) JSONFields(kind, subtype string) ([]string, bool) {
	byKind := s.json[normalizeName(kind)]
	if byKind == nil {
		byKind = s.json[normalizeName(kind)+"s"]
	}
	f, ok := byKind[normalizeName(subtype)]
	if !ok {
		return nil, false
	}
	return append([]string{}, f...), true
}

// WithPlugin returns a copy of the Set that applies the rules of the named CE plugin after the
// mapping (only PluginCloudTrail has rules; any other name applies none). Use it when the file
// does not say which plugin it is for, or to turn the CloudTrail rules off with "".
func (s *Set) WithPlugin(name string) *Set {
	c := s.clone()
	c.plugin = strings.ToLower(strings.TrimSpace(name))
	c.rewrap()
	return c
}

// WithVariables returns a copy of the Set whose header values equal to a variable's name (CE
// uses "$tenant_name") are replaced by its value. Names match ignoring case, as in CE.
func (s *Set) WithVariables(vars map[string]string) *Set {
	c := s.clone()
	c.vars = make(map[string]string, len(vars))
	for k, v := range vars {
		c.vars[strings.ToLower(k)] = v
	}
	c.rewrap()
	return c
}

func (s *Set) clone() *Set {
	c := *s
	return &c
}

// rewrap gives the copy its own Mapping values carrying its plugin and variables; the compiled
// mappings are shared.
func (s *Set) rewrap() {
	kinds := make(map[string]*kindMappings, len(s.kinds))
	for n, k := range s.kinds {
		nk := &kindMappings{name: k.name, subs: make(map[string]*Mapping, len(k.subs))}
		for _, m := range k.order {
			nm := s.wrap(m.Kind, m.Subtype, m.c)
			nk.order = append(nk.order, nm)
			nk.subs[normalizeName(m.Subtype)] = nm
		}
		kinds[n] = nk
	}
	s.kinds = kinds
}

func (s *Set) wrap(kind, subtype string, c *compiled) *Mapping {
	return &Mapping{
		Kind:    kind,
		Subtype: subtype,
		c:       c,
		plugin:  s.plugin,
		vars:    s.vars,
		ctRules: s.plugin == PluginCloudTrail,
	}
}

// Targets lists the extension targets of the mapping ("version", "userIdentity.type", ...) in
// mapping order.
func (m *Mapping) Targets() []string {
	out := make([]string, len(m.c.ext))
	for i := range m.c.ext {
		out[i] = m.c.ext[i].target
	}
	return out
}

// Fields lists the record fields the mapping reads (mapping_field values), in mapping order,
// without repeats.
func (m *Mapping) Fields() []string {
	var out []string
	seen := map[string]bool{}
	for _, es := range [][]entry{m.c.header, m.c.ext} {
		for i := range es {
			if f := es[i].field; f != "" && !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}

// Plugin is the plugin whose rules Apply follows ("cloudtrail" or "").
func (m *Mapping) Plugin() string { return m.plugin }

// normalizeName folds case and drops spaces: CE matches subtypes ignoring case, and Netskope's
// API names subtypes without the spaces CE's files use ("securityassessment" and
// "Security Assessment").
func normalizeName(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, " ABCDEFGHIJKLMNOPQRSTUVWXYZ\t") {
		return s
	}
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// UsedFields lists every name Output.Used may hold after Apply with this mapping: each
// entry's field as the mapping spells it (a JSON path whole), and _id for CloudTrail Lake
// mappings. A record member whose key is not listed is never in Used, so a caller can skip
// Output.Uses for it.
func (m *Mapping) UsedFields() []string {
	var fields names
	for _, es := range [][]entry{m.c.header, m.c.ext} {
		for i := range es {
			if f := es[i].field; f != "" {
				fields.add(f)
			}
		}
	}
	if m.ctRules {
		fields.add("_id")
	}
	return fields.list
}

// names is a list of names in the order first added, each once.
type names struct {
	list []string
	seen map[string]bool
}

func (n *names) add(f string) {
	if n.seen[f] {
		return
	}
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	n.seen[f] = true
	n.list = append(n.list, f)
}

// TopFields lists the top-level record fields Apply may read: the first key of each field the
// mapping reads, and for CloudTrail Lake mappings _id and access_method. A record decoded with
// only these fields maps as the whole record does. all is true when a JSON path starts with a
// wildcard or a descent, which may read any field.
func (m *Mapping) TopFields() (fields []string, all bool) {
	var top names
	add := top.add
	for _, es := range [][]entry{m.c.header, m.c.ext} {
		for i := range es {
			e := &es[i]
			switch {
			case e.field == "":
			case e.path == nil:
				add(e.field)
			case len(e.path.steps) == 0 || e.path.steps[0].kind != stepName:
				return nil, true
			default:
				add(e.path.steps[0].name)
			}
		}
	}
	if m.ctRules {
		add("_id")
		add("access_method")
	}
	return top.list, false
}
