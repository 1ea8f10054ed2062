package netskope

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
)

//go:generate go run ./gen -in ../../../../shared/testdata/netskope/field-dictionary.json -out fields.json

// fieldsJSON is derived from Netskope's field dictionary
// (netskopeoss/Data-Schema, schema/event_schema.json, BSD-3-Clause); see
// README.md and gen/.
//
//go:embed fields.json
var fieldsJSON []byte

type schemaField struct {
	Name     string            `json:"name"`
	Kind     string            `json:"kind"`
	Types    []string          `json:"types"`
	Examples []json.RawMessage `json:"examples"`
}

type schemaFile struct {
	Source  string        `json:"source"`
	License string        `json:"license"`
	Fields  []schemaField `json:"fields"`
}

// variantDef says how one endpoint's records look: which dictionary type
// their fields come from and the constant values Netskope puts in them.
type variantDef struct {
	dict      string            // dictionary event type ("page", "alert_type_dlp", ...)
	typeValue string            // record "type"; "" when the dictionary has none for it
	alertType string            // record "alert_type" (alerts only)
	weight    int               // relative frequency among an endpoint's variants
	fixed     map[string]string // field -> raw JSON value
}

// typeDefs maps every data-export endpoint to its record variants. The
// "type" and "alert_type" values follow public samples (Netskope Cloud
// Exchange constants, Elastic's and Exabeam's Netskope parsers and test
// data): page events are "connection", application events "nspolicy",
// audit "admin_audit_logs", compromised credentials "breach", malsite
// "malsite", device alerts "endpoint", and so on.
var typeDefs = map[Endpoint][]variantDef{
	{Events, "page"}:           {{dict: "page", typeValue: "connection", weight: 1}},
	{Events, "application"}:    {{dict: "application", typeValue: "nspolicy", weight: 1}},
	{Events, "audit"}:          {{dict: "audit", typeValue: "admin_audit_logs", weight: 1}},
	{Events, "infrastructure"}: {{dict: "infrastructure", weight: 1}},
	{Events, "network"}:        {{dict: "network", typeValue: "network", weight: 1}},
	{Events, "incident"}:       {{dict: "incident", weight: 1}},
	{Events, "endpoint"}:       {{dict: "epdlp", typeValue: "endpoint", weight: 1}},

	{Alerts, "compromisedcredential"}: {{dict: "alert_type_compromised_credential", typeValue: "breach", alertType: "Compromised Credential", weight: 1}},
	{Alerts, "policy"}:                {{dict: "alert_type_policy", typeValue: "nspolicy", alertType: "policy", weight: 1}},
	{Alerts, "malsite"}:               {{dict: "alert_type_malsite", typeValue: "malsite", alertType: "malsite", weight: 1}},
	{Alerts, "malware"}:               {{dict: "alert_type_malware", typeValue: "nspolicy", alertType: "Malware", weight: 1}},
	{Alerts, "dlp"}:                   {{dict: "alert_type_dlp", typeValue: "nspolicy", alertType: "DLP", weight: 1}},
	{Alerts, "securityassessment"}:    {{dict: "alert_type_security_assessment", typeValue: "nspolicy", alertType: "Security Assessment", weight: 1}},
	{Alerts, "watchlist"}:             {{dict: "alert_type_watchlist", typeValue: "nspolicy", alertType: "watchlist", weight: 1}},
	{Alerts, "quarantine"}:            {{dict: "alert_type_quarantine", typeValue: "nspolicy", alertType: "quarantine", weight: 1}},
	{Alerts, "remediation"}:           {{dict: "alert_type_remediation", typeValue: "nspolicy", alertType: "Remediation", weight: 1}},
	{Alerts, "uba"}: {
		{dict: "alert_type_uba", typeValue: "anomaly", alertType: "uba", weight: 1, fixed: map[string]string{"event_type": `"uba_analytics"`}},
		{dict: "alert_type_uba", typeValue: "nspolicy", alertType: "uba", weight: 1, fixed: map[string]string{"event_type": `"sequence"`}},
	},
	{Alerts, "ctep"}: {
		{dict: "alert_type_ctep", typeValue: "nspolicy", alertType: "ctep", weight: 2},
		{dict: "alert_type_ips", typeValue: "nspolicy", alertType: "ips", weight: 1},
		{dict: "alert_type_c2", typeValue: "nspolicy", alertType: "c2", weight: 1},
	},
	{Alerts, "device"}:  {{dict: "alert_type_device", typeValue: "endpoint", alertType: "Device", weight: 1}},
	{Alerts, "content"}: {{dict: "alert_type_content", typeValue: "endpoint", alertType: "Content", weight: 1}},
}

// coreFields are always present when the endpoint's dictionary type has
// them; every other field appears in about half of the records, as in real
// data where many fields are empty and left out.
var coreFields = stringSet(
	"_id", "timestamp", "_insertion_epoch_timestamp", "type", "alert_type", "record_type",
	"alert", "alert_name", "acked", "user", "ur_normalized", "app", "site", "category",
	"appcategory", "access_method", "action", "activity", "srcip", "dstip", "userip",
	"hostname", "device", "os", "policy", "severity", "count", "organization_unit", "url",
	"page", "domain", "object", "object_type", "file_type", "md5", "transaction_id",
	"app_session_id", "connection_id", "request_id", "browser_session_id", "incident_id",
	"dlp_incident_id", "dlp_parent_id", "latest_incident_id", "audit_log_event",
	"supporting_data", "severity_level", "metric_name", "metric_value", "metric_type",
	"serial", "package_version", "anomalyData", "event_type", "breach_id", "breach_date",
	"malsite_category", "malware_name", "malware_type", "dlp_profile", "dlp_rule",
	"sa_rule_name", "watchlist_name", "signature_id", "traffic_type", "instance_id",
	"dlp_match_info", "conn_starttime", "conn_endtime", "numbytes", "protocol",
)

var userFields = stringSet("user", "ur_normalized", "userPrincipalName", "acting_user")

func stringSet(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, x := range s {
		m[x] = true
	}
	return m
}

type fieldKind uint8

const (
	fkString fieldKind = iota
	fkInt
	fkID64
	fkEpoch
	fkEpochMS
	fkEpochStart // a start time shortly before the record's timestamp
	fkEpochEnd   // an end time: the record's timestamp
	fkFloat
	fkBool
	fkRaw // list or map: an example verbatim
	fkGroup
	fkID
	fkTimestamp
	fkInsertion
	fkConst
	fkUser
	fkUserLocal
	fkIP
	fkLatitude
	fkLongitude
)

type fieldSpec struct {
	name     string
	key      []byte // `"name":`
	kind     fieldKind
	core     bool
	examples [][]byte
	empty    []byte // value when there is no example ([] or {})
	constant []byte
	children []*fieldSpec
}

type variantSpec struct {
	def    variantDef
	fields []*fieldSpec
}

type typeSpec struct {
	ep       Endpoint
	variants []*variantSpec
	total    int
}

var (
	specsOnce sync.Once
	specs     map[Endpoint]*typeSpec
	specsErr  error
)

func typeSpecs() (map[Endpoint]*typeSpec, error) {
	specsOnce.Do(func() { specs, specsErr = buildSpecs(fieldsJSON) })
	return specs, specsErr
}

func buildSpecs(data []byte) (map[Endpoint]*typeSpec, error) {
	var sf schemaFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return nil, fmt.Errorf("netskope: embedded fields.json: %w", err)
	}
	byDict := map[string][]schemaField{}
	for _, f := range sf.Fields {
		for _, t := range f.Types {
			byDict[t] = append(byDict[t], f)
		}
	}
	out := make(map[Endpoint]*typeSpec, len(typeDefs))
	for ep, defs := range typeDefs {
		ts := &typeSpec{ep: ep}
		for _, def := range defs {
			fields, ok := byDict[def.dict]
			if !ok {
				return nil, fmt.Errorf("netskope: fields.json has no fields for %q", def.dict)
			}
			ts.variants = append(ts.variants, buildVariant(ep, def, fields))
			ts.total += def.weight
		}
		out[ep] = ts
	}
	return out, nil
}

func buildVariant(ep Endpoint, def variantDef, fields []schemaField) *variantSpec {
	isAlert := ep.Kind == Alerts
	flat := map[string]*fieldSpec{}
	for _, f := range fields {
		if !isAlert && (f.Name == "alert_type" || f.Name == "alert_name" || f.Name == "acked") {
			continue // events carry alert "no"
		}
		flat[f.Name] = specFor(f)
	}
	set := func(name string, kind fieldKind, constant string) {
		fs := &fieldSpec{name: name, kind: kind, core: true}
		if constant != "" {
			fs.constant = []byte(constant)
		}
		flat[name] = fs
	}
	set("_id", fkID, "")
	set("timestamp", fkTimestamp, "")
	set("_insertion_epoch_timestamp", fkInsertion, "")
	if def.typeValue != "" {
		set("type", fkConst, quote(def.typeValue))
	} else {
		delete(flat, "type")
	}
	recordType := ep.Type
	if isAlert {
		recordType = "alert"
		set("alert_type", fkConst, quote(def.alertType))
		set("alert", fkConst, `"yes"`)
		set("acked", fkConst, `"false"`)
	} else if _, ok := flat["alert"]; ok {
		set("alert", fkConst, `"no"`)
	}
	set("record_type", fkConst, quote(recordType))
	for name, raw := range def.fixed {
		set(name, fkConst, raw)
	}
	// Nest dotted names ("a.b") into objects.
	root := &fieldSpec{kind: fkGroup}
	names := make([]string, 0, len(flat))
	for n := range flat {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fs := flat[n]
		parts := strings.Split(n, ".")
		parent := root
		for _, p := range parts[:len(parts)-1] {
			var g *fieldSpec
			for _, c := range parent.children {
				if c.name == p && c.kind == fkGroup {
					g = c
				}
			}
			if g == nil {
				g = &fieldSpec{name: p, kind: fkGroup}
				parent.children = append(parent.children, g)
			}
			if fs.core {
				g.core = true
			}
			parent = g
		}
		fs.name = parts[len(parts)-1]
		parent.children = append(parent.children, fs)
	}
	finish(root)
	return &variantSpec{def: def, fields: root.children}
}

func finish(fs *fieldSpec) {
	fs.key = append(append([]byte(nil), quote(fs.name)...), ':')
	sort.SliceStable(fs.children, func(i, j int) bool { return fs.children[i].name < fs.children[j].name })
	for _, c := range fs.children {
		finish(c)
	}
}

func specFor(f schemaField) *fieldSpec {
	fs := &fieldSpec{name: f.Name, core: coreFields[f.Name]}
	for _, e := range f.Examples {
		fs.examples = append(fs.examples, []byte(e))
	}
	lower := strings.ToLower(f.Name)
	switch f.Kind {
	case "string":
		fs.kind = fkString
		switch {
		case userFields[f.Name]:
			fs.kind = fkUser
		case f.Name == "sAMAccountName":
			fs.kind = fkUserLocal
		case allIPv4(f.Examples):
			fs.kind = fkIP
		}
	case "int32", "int64":
		fs.kind = fkInt
	case "id64":
		fs.kind = fkID64
	case "epoch":
		fs.kind = fkEpoch
		switch {
		case strings.HasSuffix(lower, "endtime") || strings.HasSuffix(lower, "end_time"):
			fs.kind = fkEpochEnd
		case strings.HasSuffix(lower, "starttime") || strings.HasSuffix(lower, "start_time"):
			fs.kind = fkEpochStart
		}
	case "epochms":
		fs.kind = fkEpochMS
	case "float":
		fs.kind = fkFloat
		switch {
		case strings.Contains(lower, "latitude"):
			fs.kind = fkLatitude
		case strings.Contains(lower, "longitude"):
			fs.kind = fkLongitude
		}
	case "bool":
		fs.kind = fkBool
	case "list":
		fs.kind, fs.empty = fkRaw, []byte("[]")
	case "map":
		fs.kind, fs.empty = fkRaw, []byte("{}")
	default:
		fs.kind = fkString
	}
	return fs
}

func allIPv4(examples []json.RawMessage) bool {
	if len(examples) == 0 {
		return false
	}
	for _, e := range examples {
		var s string
		if json.Unmarshal(e, &s) != nil {
			return false
		}
		ip := net.ParseIP(s)
		if ip == nil || ip.To4() == nil {
			return false
		}
	}
	return true
}

func quote(s string) string {
	return string(appendString(nil, s))
}
