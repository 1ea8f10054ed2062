package ocsf

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// nsRecord reads a Netskope record's fields and remembers which it read: the others go to
// unmapped.
type nsRecord struct {
	r    *event.Record
	m    map[string]any
	used map[string]bool
	kind string // "event" or "alert"
	sub  string // the record's Subtype
}

// str is field k as text: a string as it is, a number or boolean in its JSON spelling; "" when
// absent or null.
func (n *nsRecord) str(k string) string {
	n.used[k] = true
	switch t := n.m[k].(type) {
	case string:
		return strings.TrimSpace(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case uint64:
		return strconv.FormatUint(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return ""
}

// first is the first of keys with a value, as str gives it.
func (n *nsRecord) first(keys ...string) string {
	for _, k := range keys {
		if v := n.str(k); v != "" {
			return v
		}
	}
	return ""
}

// num is field k as an integer: a JSON integer, a whole float or a decimal string.
func (n *nsRecord) num(k string) (int64, bool) {
	n.used[k] = true
	switch t := n.m[k].(type) {
	case int64:
		return t, true
	case uint64:
		if t <= math.MaxInt64 {
			return int64(t), true
		}
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t), true
		}
	case string:
		if v, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64); err == nil {
			return v, true
		}
	}
	return 0, false
}

// fromNetskope maps a Netskope event or alert by its Subtype (README.md has the table).
func fromNetskope(r *event.Record) (Event, error) {
	m, err := r.Fields()
	if err != nil {
		return nil, fmt.Errorf("ocsf: netskope %s record: %w", r.Subtype, err)
	}
	n := &nsRecord{r: r, m: m, used: map[string]bool{}, kind: r.Kind.Class(), sub: r.Subtype}
	if n.sub == "" {
		n.sub = event.NetskopeSubtype(n.first("record_type", "alert_type", "type"))
	}
	b, err := n.base()
	if err != nil {
		return nil, err
	}
	var ev Event
	if r.Kind == event.KindNetskopeAlert {
		ev, err = n.finding(b)
	} else {
		ev, err = n.event(b)
	}
	if err != nil {
		return nil, err
	}
	n.unmapped(baseOf(ev))
	return ev, nil
}

// event maps a Netskope event by its type.
func (n *nsRecord) event(b Base) (Event, error) {
	switch n.sub {
	case "page":
		return n.webResources(b, 2, "")
	case "application":
		if act := n.str("activity"); loginActivity(act) != 0 {
			return n.authentication(b, act)
		}
		id, name := appActivity(n.str("activity"))
		return n.webResources(b, id, name)
	case "network":
		return n.network(b)
	case "audit":
		if ev := n.str("audit_log_event"); loginActivity(ev) != 0 {
			return n.authentication(b, ev)
		}
		return n.audit(b)
	case "incident", "endpoint":
		return n.finding(b)
	case "infrastructure":
		return n.inventory(b)
	}
	// An event type this table does not know: a web record when it names a web resource,
	// a network record when it names an address, else not mapped.
	if n.first("url", "page", "domain", "object") != "" {
		return n.webResources(b, 99, n.sub)
	}
	if n.first("srcip", "dstip") != "" {
		return n.network(b)
	}
	return nil, fmt.Errorf("%w: netskope event type %q without url or address", ErrUnsupported, n.sub)
}

// base fills what every Netskope record has: time, metadata, severity.
func (n *nsRecord) base() (Base, error) {
	t, err := n.time()
	if err != nil {
		return Base{}, err
	}
	id := n.str("_id")
	if id == "" {
		id = n.r.ID
	}
	b := Base{
		Time: t.UnixMilli(),
		Metadata: Metadata{
			Version: Version,
			Product: Product{Name: "Netskope", VendorName: "Netskope"},
			UID:     id,
			LogName: n.kind + "s/" + n.sub,
		},
	}
	if c, ok := n.num("count"); ok && c > 0 && c <= math.MaxInt32 {
		b.Count = int32(c)
	}
	sev := n.severity()
	if sev < 0 {
		sev = 1 // an event without a severity: Informational
		if n.kind == "alert" {
			sev = 0 // an alert without one: Unknown
		}
	}
	setSeverity(&b, sev)
	return b, nil
}

// time reads timestamp: epoch seconds (a number or a decimal string) or "2006-01-02
// 15:04:05[.fraction]" in UTC; else the record's Time; else _insertion_epoch_timestamp.
func (n *nsRecord) time() (time.Time, error) {
	for _, k := range []string{"timestamp", "_insertion_epoch_timestamp"} {
		raw, present := n.m[k]
		n.used[k] = true
		if !present || raw == nil {
			if k == "timestamp" && !n.r.Time.IsZero() {
				return n.r.Time, nil
			}
			continue
		}
		if sec, ok := n.num(k); ok {
			if sec < 0 || sec > 1<<40 {
				return time.Time{}, fmt.Errorf("ocsf: netskope %s record %s: %s %d is out of range", n.sub, n.str("_id"), k, sec)
			}
			return time.Unix(sec, 0).UTC(), nil
		}
		if f, ok := raw.(float64); ok && f >= 0 && f < 1<<40 {
			return time.UnixMilli(int64(f * 1000)).UTC(), nil
		}
		if s, ok := raw.(string); ok {
			for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
				if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil && t.Year() >= 1970 {
					return t.UTC(), nil
				}
			}
		}
		return time.Time{}, fmt.Errorf("ocsf: netskope %s record %s: %s %s is not a time", n.sub, n.str("_id"), k, jsonText(raw))
	}
	return time.Time{}, fmt.Errorf("ocsf: netskope %s record %s: no timestamp", n.sub, n.str("_id"))
}

// severity is the record's severity on OCSF's scale from severity, the DLP rule's, the
// malware's or the security assessment rule's severity, severity_level, or the risk level;
// -1 when it has none we know.
func (n *nsRecord) severity() int64 {
	for _, k := range []string{"severity", "dlp_rule_severity", "malware_severity", "sa_rule_severity", "severity_level", "risk_level"} {
		s, _ := n.m[k].(string)
		if id, ok := severityWord(strings.TrimSpace(s)); ok {
			n.used[k] = true // a value it does not know stays in unmapped
			return id
		}
	}
	return -1
}

func severityWord(s string) (int64, bool) {
	switch strings.ToLower(s) {
	case "info", "informational":
		return 1, true
	case "low":
		return 2, true
	case "medium", "med", "moderate":
		return 3, true
	case "high":
		return 4, true
	case "critical", "very high":
		return 5, true
	}
	return 0, false
}

// riskLevel is a finding's risk_level_id (0 Info ... 4 Critical) from the same words.
func riskLevel(s string) (int32, bool) {
	id, ok := severityWord(s)
	if !ok {
		return 0, false
	}
	return int32(id - 1), true
}

func (n *nsRecord) user() *User {
	name := n.first("user", "ur_normalized", "userkey")
	if name == "" {
		return nil
	}
	u := &User{Name: name}
	if strings.Contains(name, "@") {
		u.EmailAddr = name
	}
	return u
}

func (n *nsRecord) actor() *Actor {
	u := n.user()
	if u == nil {
		return nil
	}
	return &Actor{User: u}
}

// src is the client: srcip (userip when srcip is absent), srcport, the client's host name and
// where it is.
func (n *nsRecord) src() NetworkEndpoint {
	ep := NetworkEndpoint{IP: n.ip("srcip", "userip"), Hostname: n.str("hostname")}
	if p, ok := n.num("srcport"); ok && p > 0 && p < 65536 {
		ep.Port = int32(p)
	}
	ep.Location = location(n.str("src_country"), n.str("src_region"), n.str("src_location"))
	return ep
}

// dst is the server: dstip, dstport, its host (dsthost, else the domain) and where it is.
func (n *nsRecord) dst() NetworkEndpoint {
	ep := NetworkEndpoint{IP: n.ip("dstip"), Hostname: n.first("dsthost", "domain")}
	if p, ok := n.num("dstport"); ok && p > 0 && p < 65536 {
		ep.Port = int32(p)
	}
	ep.Location = location(n.str("dst_country"), n.str("dst_region"), n.str("dst_location"))
	return ep
}

// ip is the first of keys that holds an IP address; a value that is not one is left for
// unmapped.
func (n *nsRecord) ip(keys ...string) string {
	for _, k := range keys {
		s, _ := n.m[k].(string)
		s = strings.TrimSpace(s)
		if isIP(s) {
			n.used[k] = true
			return s
		}
	}
	return ""
}

func location(country, region, city string) *Location {
	if country == "" && region == "" && city == "" {
		return nil
	}
	return &Location{Country: country, Region: region, City: city}
}

// endpointPtr is ep for an optional endpoint attribute: nil when the record says nothing of
// it, else ep made to meet network_endpoint's constraint (orUnknown).
func endpointPtr(ep NetworkEndpoint) *NetworkEndpoint {
	if ep == (NetworkEndpoint{}) {
		return nil
	}
	ep = orUnknown(ep)
	return &ep
}

// orUnknown is ep named "Unknown" when it has none of the attributes OCSF's network_endpoint
// needs one of (ip, uid, name, hostname, svc_name, ...): an endpoint the class requires, or one
// known only by its port or place, that the record does not name.
func orUnknown(ep NetworkEndpoint) NetworkEndpoint {
	if ep.IP == "" && ep.UID == "" && ep.Name == "" && ep.Hostname == "" && ep.SvcName == "" {
		ep.Name = unknown
	}
	return ep
}

// status sets status from the policy action: allow is Success, block Failure.
func (n *nsRecord) status(b *Base) {
	switch strings.ToLower(n.str("action")) {
	case "allow", "allowed", "alert", "bypass":
		setStatus(b, 1)
	case "block", "blocked", "deny", "denied":
		setStatus(b, 2)
		if p := n.first("policy", "policy_name"); p != "" {
			b.StatusDetail = "blocked by policy " + p
		}
	}
}

func (n *nsRecord) observables(u *User, src, dst NetworkEndpoint, url string) []Observable {
	var out []Observable
	if u != nil && u.Name != unknown {
		if u.EmailAddr != "" {
			out = append(out, Observable{Name: "actor.user.email_addr", TypeID: 5, Type: "Email Address", Value: u.EmailAddr})
		} else {
			out = append(out, Observable{Name: "actor.user.name", TypeID: 4, Type: "User Name", Value: u.Name})
		}
	}
	if src.IP != "" {
		out = append(out, Observable{Name: "src_endpoint.ip", TypeID: 2, Type: "IP Address", Value: src.IP})
	}
	if dst.IP != "" {
		out = append(out, Observable{Name: "dst_endpoint.ip", TypeID: 2, Type: "IP Address", Value: dst.IP})
	}
	if dst.Hostname != "" {
		out = append(out, Observable{Name: "dst_endpoint.hostname", TypeID: 1, Type: "Hostname", Value: dst.Hostname})
	}
	if url != "" {
		out = append(out, Observable{Name: "http_request.url.url_string", TypeID: 6, Type: "URL String", Value: url})
	}
	return out
}

// webResources maps page and application events (and unknown ones with a URL) to Web
// Resources Activity 6001.
func (n *nsRecord) webResources(b Base, activity int64, name string) (Event, error) {
	url := n.str("url")
	res := WebResource{
		Name:      n.first("object", "page", "domain", "site", "app"),
		Type:      n.first("object_type", "appcategory", "category"),
		URLString: url,
	}
	if res.Name == "" && res.URLString == "" {
		return nil, fmt.Errorf("ocsf: netskope %s event %s: no url, object, page, domain, site or app to name the web resource", n.sub, b.Metadata.UID)
	}
	w := &WebResourcesActivity{Base: b, WebResources: []WebResource{res}, Actor: n.actor()}
	if w.Actor != nil {
		w.Metadata.Profiles = []string{"host"}
	}
	src, dst := n.src(), n.dst()
	dst.SvcName = n.str("app") // the cloud app serving the resource
	w.SrcEndpoint, w.DstEndpoint = endpointPtr(src), endpointPtr(dst)
	req := HTTPRequest{UserAgent: n.str("useragent"), Version: n.str("protocol")}
	if url != "" {
		req.URL = &URL{URLString: url, Hostname: n.str("domain")}
	}
	if req != (HTTPRequest{}) {
		w.HTTPRequest = &req
	}
	n.status(&w.Base)
	w.Observables = n.observables(userOf(w.Actor), src, dst, url)
	setClass(&w.Base, ClassWebResourcesActivity, activity, name)
	return w, nil
}

func userOf(a *Actor) *User {
	if a == nil {
		return nil
	}
	return a.User
}

// appActivity places a Netskope application activity on Web Resources Activity's.
func appActivity(act string) (int64, string) {
	switch strings.ToLower(act) {
	case "create", "post", "create folder", "create file":
		return 1, ""
	case "view", "browse", "read", "preview", "open":
		return 2, ""
	case "edit", "update", "rename", "move", "modify", "copy":
		return 3, ""
	case "delete", "trash", "remove", "purge":
		return 4, ""
	case "search", "query":
		return 5, ""
	case "upload", "import", "attach":
		return 6, ""
	case "download", "export", "sync":
		return 7, ""
	case "share", "invite", "unshare", "send", "collaborate":
		return 8, ""
	case "":
		return 0, ""
	}
	return 99, act
}

// loginActivity is Authentication's activity for a Netskope activity or audit event that is a
// sign-in (1 Logon) or a sign-out (2 Logoff); 0 for anything else.
func loginActivity(s string) int64 {
	l := strings.ToLower(s)
	switch {
	case strings.Contains(l, "logout"), strings.Contains(l, "logged out"), strings.Contains(l, "log out"),
		strings.Contains(l, "logoff"), strings.Contains(l, "sign out"):
		return 2
	case strings.Contains(l, "login"), strings.Contains(l, "log in"), strings.Contains(l, "logon"),
		strings.Contains(l, "sign in"), strings.Contains(l, "signin"):
		return 1
	}
	return 0
}

// authentication maps a sign-in or sign-out (an application event's activity, an admin audit
// event) to Authentication 3002.
func (n *nsRecord) authentication(b Base, what string) (Event, error) {
	u := n.user()
	if u == nil {
		return nil, fmt.Errorf("ocsf: netskope %s event %s: %q has no user", n.sub, b.Metadata.UID, what)
	}
	a := &Authentication{Base: b, User: *u}
	app := n.first("app", "site", "instance_id")
	if n.sub == "audit" && app == "" {
		app = "Netskope"
	}
	a.DstEndpoint = n.dst()
	a.DstEndpoint.SvcName = app
	a.DstEndpoint = orUnknown(a.DstEndpoint)
	if app != "" {
		a.Service = &Service{Name: app}
	}
	src := n.src()
	if src.IP == "" && n.sub == "audit" {
		src.IP = n.auditIP()
	}
	a.SrcEndpoint = endpointPtr(src)
	if ua := n.str("useragent"); ua != "" {
		a.HTTPRequest = &HTTPRequest{UserAgent: ua}
	}
	l := strings.ToLower(what)
	switch {
	case strings.Contains(l, "fail"), strings.Contains(l, "denied"), strings.Contains(l, "because of"):
		setStatus(&a.Base, 2)
		a.StatusDetail = what
	case strings.Contains(l, "success"), loginActivity(what) == 2:
		setStatus(&a.Base, 1)
	}
	a.Message = what
	a.Observables = n.observables(u, src, NetworkEndpoint{}, "")
	setClass(&a.Base, ClassAuthentication, loginActivity(what), "")
	return a, nil
}

// auditIP is the address an admin audit record's supporting_data names (data_type "user",
// values [ip, user]).
func (n *nsRecord) auditIP() string {
	sd, _ := n.m["supporting_data"].(map[string]any)
	vals, _ := sd["data_values"].([]any)
	for _, v := range vals {
		if s, ok := v.(string); ok && isIP(s) {
			return s
		}
	}
	return ""
}

// audit maps an admin audit event to API Activity 6003: an admin's change in the Netskope
// tenant is an operation on its management API (the console calls it; "Rest API V2 Call"
// records are the API itself).
func (n *nsRecord) audit(b Base) (Event, error) {
	what := n.str("audit_log_event")
	if what == "" {
		return nil, fmt.Errorf("ocsf: netskope audit event %s: audit_log_event missing", b.Metadata.UID)
	}
	a := &APIActivity{
		Base:  b,
		API:   API{Operation: what, Service: &Service{Name: "Netskope"}},
		Actor: Actor{User: n.user()},
	}
	if a.Actor.User == nil {
		a.Actor.User = &User{Name: unknown} // an admin action names its admin; this one does not
	}
	a.Message = what
	a.SrcEndpoint = orUnknown(NetworkEndpoint{IP: n.auditIP()})
	activity, name := auditActivity(what)
	// A REST call's supporting_data: [status code, method, path, "trid=<id>"].
	sd, _ := n.m["supporting_data"].(map[string]any)
	if vals, _ := sd["data_values"].([]any); strings.EqualFold(what, "Rest API V2 Call") && len(vals) >= 3 {
		code, _ := vals[0].(int64)
		method, _ := vals[1].(string)
		path, _ := vals[2].(string)
		a.HTTPRequest = &HTTPRequest{HTTPMethod: method}
		if path != "" {
			a.HTTPRequest.URL = &URL{Path: path}
		}
		if method != "" && path != "" {
			a.API.Operation = method + " " + path
		}
		if code > 0 && code < 1000 {
			a.API.Response = &APIResponse{Code: int32(code)}
			if code >= 400 {
				setStatus(&a.Base, 2)
			} else {
				setStatus(&a.Base, 1)
			}
			a.StatusCode = strconv.FormatInt(code, 10)
		}
		if len(vals) >= 4 {
			if s, _ := vals[3].(string); strings.HasPrefix(s, "trid=") {
				a.API.Request = &APIRequest{UID: strings.TrimPrefix(s, "trid=")}
			}
		}
		activity, name = methodActivity(method), ""
		if activity == 99 {
			name = method
		}
	}
	a.Observables = n.observables(a.Actor.User, a.SrcEndpoint, NetworkEndpoint{}, "")
	setClass(&a.Base, ClassAPIActivity, activity, name)
	return a, nil
}

// auditActivity places an audit event on API Activity's activities by its first word.
func auditActivity(what string) (int64, string) {
	verb, _, _ := strings.Cut(strings.ToLower(what), " ")
	switch verb {
	case "created", "create", "added", "add", "uploaded", "imported", "generated", "new":
		return 1, ""
	case "viewed", "view", "exported", "downloaded", "accessed":
		return 2, ""
	case "edited", "edit", "updated", "update", "modified", "changed", "enabled", "disabled",
		"applied", "renamed", "moved", "reset", "set", "assigned", "unassigned":
		return 3, ""
	case "deleted", "delete", "removed", "remove", "revoked":
		return 4, ""
	}
	return 99, what
}

func methodActivity(method string) int64 {
	switch strings.ToUpper(method) {
	case "GET", "HEAD":
		return 2
	case "PUT", "PATCH":
		return 3
	case "DELETE":
		return 4
	}
	return 99
}

// network maps a network event to Network Activity 4001, activity Traffic (a Netskope network
// event reports a session's traffic).
func (n *nsRecord) network(b Base) (Event, error) {
	src, dst := orUnknown(n.src()), orUnknown(n.dst())
	na := &NetworkActivity{Base: b, SrcEndpoint: src, DstEndpoint: dst, Actor: n.actor(), AppName: n.str("app")}
	if na.Actor != nil {
		na.Metadata.Profiles = []string{"host"}
	}
	if proto := n.str("ip_protocol"); proto != "" {
		ci := &ConnectionInfo{ProtocolName: strings.ToLower(proto), UID: n.str("network_session_id")}
		switch strings.ToLower(proto) {
		case "tcp":
			ci.ProtocolNum = 6
		case "udp":
			ci.ProtocolNum = 17
		case "icmp":
			ci.ProtocolNum = 1
		}
		ci.Direction = "Unknown" // direction_id 0
		na.ConnectionInfo = ci
	}
	var tr Traffic
	tr.BytesOut, _ = n.num("client_bytes")
	tr.BytesIn, _ = n.num("server_bytes")
	if total, ok := n.num("numbytes"); ok {
		tr.Bytes = total
	} else if tr.BytesIn+tr.BytesOut > 0 {
		tr.Bytes = tr.BytesIn + tr.BytesOut
	}
	tr.PacketsOut, _ = n.num("client_packets")
	tr.PacketsIn, _ = n.num("server_packets")
	tr.Packets, _ = n.num("total_packets")
	if tr != (Traffic{}) {
		na.Traffic = &tr
	}
	n.status(&na.Base)
	na.Observables = n.observables(userOf(na.Actor), src, dst, "")
	setClass(&na.Base, ClassNetworkActivity, 6, "")
	return na, nil
}

// inventory maps an infrastructure event (a Netskope appliance's or publisher's state and
// metrics) to Device Inventory Info 5001, activity Log.
func (n *nsRecord) inventory(b Base) (Event, error) {
	d := Device{
		Hostname: n.first("hostname", "device_name"),
		UID:      n.str("serial"),
		Type:     "Netskope appliance",
	}
	if d.Hostname == "" && d.UID == "" {
		return nil, fmt.Errorf("ocsf: netskope infrastructure event %s: neither hostname nor serial names the device", b.Metadata.UID)
	}
	if metric := n.str("metric_name"); metric != "" {
		b.Message = metric + " = " + n.first("metric_value", "boolean_metric_value")
	}
	di := &DeviceInventoryInfo{Base: b, Device: d}
	setClass(&di.Base, ClassDeviceInventoryInfo, 1, "")
	return di, nil
}

// finding maps an alert (and the incident and endpoint events, which report a detection) to
// Detection Finding 2004, activity Create.
func (n *nsRecord) finding(b Base) (Event, error) {
	uid := b.Metadata.UID
	if uid == "" {
		uid = n.first("alert_id", "dlp_incident_id", "incident_id")
	}
	if uid == "" {
		return nil, fmt.Errorf("ocsf: netskope %s %s: no _id (finding_info.uid)", n.sub, n.kind)
	}
	typ := n.first("alert_type")
	if typ == "" {
		typ = n.sub
	}
	title := n.first("alert_name", "dlp_rule", "malware_name", "policy_name", "policy")
	if title == "" {
		title = "Netskope " + typ + " " + n.kind
		if act := n.str("activity"); act != "" {
			title += " (" + act + ")"
		}
	}
	f := &DetectionFinding{Base: b, FindingInfo: FindingInfo{
		UID: uid, Title: title, Types: []string{typ}, CreatedTime: b.Time,
		Desc: n.first("breach_description", "malware_type", "threat_type"),
	}}
	f.Message = title
	activity := int64(1)
	f.StatusID, f.Status = 1, findingStatusNames[1]
	if n.sub == "incident" {
		// An incident event reports the incident's state: the first (status new) creates the
		// finding, the later ones update it; finding_info.uid is the incident's id.
		if id := n.first("dlp_incident_id", "incident_id"); id != "" {
			f.FindingInfo.UID = id
		}
		var status int32
		status, activity = incidentStatus(n.str("status"))
		f.StatusID, f.Status = status, findingStatusNames[int64(status)]
		if status == 99 {
			f.Status = n.str("status")
		}
	}
	an := Analytic{TypeID: 1, Type: "Rule", Name: n.first("dlp_rule", "signature", "policy", "policy_name"), Category: n.str("dlp_profile")}
	if sid := n.str("signature_id"); sid != "" {
		an.UID = sid
	}
	switch n.sub {
	case "uba":
		an = Analytic{TypeID: 2, Type: "Behavioral", Name: n.first("alert_name", "event_type"), UID: n.str("alert_id")}
	case "compromisedcredential":
		an = Analytic{TypeID: 99, Type: "Breach Intelligence", Name: n.str("breach_id")}
	case "malware":
		an.Name = n.first("malware_name", "malware_id")
	}
	if an.Name != "" || an.UID != "" {
		f.FindingInfo.Analytic = &an
	}
	if score, ok := n.num("score"); ok && score >= 0 && score <= math.MaxInt32 {
		f.RiskScore = int32(score)
	} else if score, ok := n.num("breach_score"); ok && score >= 0 && score <= math.MaxInt32 {
		f.RiskScore = int32(score)
	}
	if rl, ok := riskLevel(n.str("risk_level")); ok {
		f.RiskLevelID = &rl
		f.RiskLevel = []string{"Info", "Low", "Medium", "High", "Critical"}[rl]
	}
	ev := Evidence{Actor: n.actor()}
	src, dst := n.src(), n.dst()
	ev.SrcEndpoint, ev.DstEndpoint = endpointPtr(src), endpointPtr(dst)
	if u := ev.Actor.userName(); u == "" {
		if matched := n.str("matched_username"); matched != "" {
			ev.Actor = &Actor{User: &User{Name: matched, EmailAddr: emailOrEmpty(matched)}}
		}
	}
	if name := n.first("file_name", "dlp_file", "object", "malware_file"); name != "" &&
		(n.str("object_type") == "" || strings.EqualFold(n.str("object_type"), "file") || n.sub == "malware" || n.sub == "dlp") {
		file := &File{Name: name, TypeID: 1, Type: "Regular File"}
		file.Size, _ = n.num("file_size")
		if md5 := n.str("md5"); md5 != "" {
			file.Hashes = append(file.Hashes, Fingerprint{AlgorithmID: 1, Algorithm: "MD5", Value: md5})
		}
		if sha := n.str("sha256"); sha != "" {
			file.Hashes = append(file.Hashes, Fingerprint{AlgorithmID: 3, Algorithm: "SHA-256", Value: sha})
		}
		ev.File = file
	}
	if ev != (Evidence{}) {
		f.Evidences = []Evidence{ev}
	}
	if app := n.first("app", "site"); app != "" {
		f.Resources = append(f.Resources, ResourceDetails{Name: app, UID: n.str("instance_id"), Type: n.first("appcategory", "category")})
	}
	url := n.str("url")
	if url != "" {
		f.Resources = append(f.Resources, ResourceDetails{Name: url, Type: "URL"})
	}
	f.Observables = n.observables(userOf(ev.Actor), src, dst, url)
	for i := range f.Observables {
		// In a finding the user and endpoints sit in evidences; the URL in resources.
		o := &f.Observables[i]
		switch {
		case strings.HasPrefix(o.Name, "actor."), strings.HasPrefix(o.Name, "src_endpoint."), strings.HasPrefix(o.Name, "dst_endpoint."):
			o.Name = "evidences[0]." + o.Name
		case o.TypeID == 6:
			o.Name = "resources.name"
		}
	}
	setClass(&f.Base, ClassDetectionFinding, activity, "")
	return f, nil
}

// incidentStatus places a Netskope incident's status on a finding's status_id, and says
// whether the event creates the finding (1) or updates it (2) or closes it (3).
func incidentStatus(s string) (status int32, activity int64) {
	switch strings.ToLower(strings.ReplaceAll(s, " ", "_")) {
	case "new", "":
		return 1, 1
	case "in_progress", "open", "assigned":
		return 2, 2
	case "dismissed", "false_positive", "suppressed":
		return 3, 3
	case "resolved", "closed":
		return 4, 3
	}
	return 99, 2
}

func (a *Actor) userName() string {
	if a == nil || a.User == nil {
		return ""
	}
	return a.User.Name
}

func emailOrEmpty(s string) string {
	if strings.Contains(s, "@") {
		return s
	}
	return ""
}

// unmapped puts every field the mapping did not read into b.Unmapped: strings as they are,
// other values as JSON text (64-bit ids keep every digit).
func (n *nsRecord) unmapped(b *Base) {
	for k, v := range n.m {
		if n.used[k] || v == nil {
			continue
		}
		if b.Unmapped == nil {
			b.Unmapped = map[string]string{}
		}
		if s, ok := v.(string); ok {
			b.Unmapped[k] = s
			continue
		}
		b.Unmapped[k] = jsonText(v)
	}
}

func jsonText(v any) string {
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(out)
}

// baseOf is the Base of one of this package's classes.
func baseOf(ev Event) *Base {
	return ev.(interface{ base() *Base }).base()
}
