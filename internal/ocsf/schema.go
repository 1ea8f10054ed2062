package ocsf

// The OCSF 1.1.0 schema, as far as this package uses it: for each class and object, the
// attributes with their types, requirement, enum values and profile, and the objects'
// at_least_one constraints. Validate checks records against it. Sources (README.md, "Schema
// table"): the OCSF 1.1.0 class exports AWS's Security Lake validator vendors
// (aws-samples/amazon-security-lake-ocsf-validation validate/ocsf_schema_1.1.0/), and the
// OCSF schema server's complete 1.1.0 export (schema/v1.1-schema.json in the Go module
// github.com/valllabh/ocsf-schema-golang v1.0.3), with which every entry agrees except the
// deliberate differences README.md lists.
//
// An attribute a record carries that the table does not list is an error: the table names
// every attribute the mappings emit, so a misspelt or invented attribute fails the tests.

// attrType is an OCSF data type, as JSON carries it.
type attrType uint8

const (
	tString    attrType = iota // string_t and its subtypes (ip_t, hostname_t, email_t, ...)
	tInteger                   // integer_t: a 32-bit integer
	tLong                      // long_t: a 64-bit integer
	tTimestamp                 // timestamp_t: milliseconds since the epoch, a 64-bit integer
	tBoolean                   // boolean_t
	tObject                    // object_t of a named object
	tMap                       // object_t "object": free-form, here an object of strings
)

type attrSpec struct {
	typ      attrType
	object   string // tObject: the object's name in objects
	array    bool
	required bool
	enum     []int64 // the known values of an integer enum; nil: any value
	// profile names the profile that adds the attribute to the class: a record carries it only
	// when metadata.profiles names the profile, and then a required one must be present.
	profile string
}

// The spec constructors: required or optional (OCSF's "recommended" counts as optional).
func req(t attrType) attrSpec      { return attrSpec{typ: t, required: true} }
func opt(t attrType) attrSpec      { return attrSpec{typ: t} }
func reqEnum(e ...int64) attrSpec  { return attrSpec{typ: tInteger, required: true, enum: e} }
func optEnum(e ...int64) attrSpec  { return attrSpec{typ: tInteger, enum: e} }
func reqObj(name string) attrSpec  { return attrSpec{typ: tObject, object: name, required: true} }
func optObj(name string) attrSpec  { return attrSpec{typ: tObject, object: name} }
func optList(name string) attrSpec { return attrSpec{typ: tObject, object: name, array: true} }
func reqList(name string) attrSpec {
	return attrSpec{typ: tObject, object: name, array: true, required: true}
}
func optStrings() attrSpec { return attrSpec{typ: tString, array: true} }

// fromProfile is spec as an attribute the named profile adds.
func fromProfile(profile string, spec attrSpec) attrSpec {
	spec.profile = profile
	return spec
}

func merge(maps ...map[string]attrSpec) map[string]attrSpec {
	out := map[string]attrSpec{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

type classSpec struct {
	name         string
	categoryUID  int64
	categoryName string
	activities   map[int64]string
	attrs        map[string]attrSpec
}

// severityNames are the captions of severity_id (base event).
var severityNames = map[int64]string{0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal", 99: "Other"}

// statusNames are the captions of the base event's status_id.
var statusNames = map[int64]string{0: "Unknown", 1: "Success", 2: "Failure", 99: "Other"}

// findingStatusNames are the captions of a finding's status_id (Detection Finding).
var findingStatusNames = map[int64]string{0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved", 99: "Other"}

func keys(m map[int64]string) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// baseAttrs are the base event's attributes and the cloud profile's cloud.
var baseAttrs = map[string]attrSpec{
	"activity_id":   {typ: tInteger, required: true}, // enum: the class's activities
	"activity_name": opt(tString),
	"category_uid":  {typ: tInteger, required: true}, // must be the class's category
	"category_name": opt(tString),
	"class_uid":     {typ: tInteger, required: true},
	"class_name":    opt(tString),
	"type_uid":      {typ: tLong, required: true}, // class_uid*100 + activity_id
	"type_name":     opt(tString),
	"severity_id":   reqEnum(keys(severityNames)...),
	"severity":      opt(tString),
	"time":          req(tTimestamp),
	"metadata":      reqObj("metadata"),
	"message":       opt(tString),
	"status_id":     optEnum(keys(statusNames)...),
	"status":        opt(tString),
	"status_code":   opt(tString),
	"status_detail": opt(tString),
	"count":         opt(tInteger),
	"cloud":         fromProfile("cloud", reqObj("cloud")),
	"observables":   optList("observable"),
	"unmapped":      opt(tMap),
}

// classes is the table of the classes FromRecord produces, by class_uid.
var classes = map[int64]classSpec{
	ClassAPIActivity: {
		name: "API Activity", categoryUID: 6, categoryName: "Application Activity",
		activities: map[int64]string{0: "Unknown", 1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other"},
		attrs: merge(baseAttrs, map[string]attrSpec{
			"actor":        reqObj("actor"),
			"api":          reqObj("api"),
			"src_endpoint": reqObj("network_endpoint"),
			"dst_endpoint": optObj("network_endpoint"),
			"http_request": optObj("http_request"),
			"resources":    optList("resource_details"),
		}),
	},
	ClassAuthentication: {
		name: "Authentication", categoryUID: 3, categoryName: "Identity & Access Management",
		activities: map[int64]string{0: "Unknown", 1: "Logon", 2: "Logoff", 3: "Authentication Ticket",
			4: "Service Ticket Request", 5: "Service Ticket Renew", 99: "Other"},
		attrs: merge(baseAttrs, map[string]attrSpec{
			"user":          reqObj("user"),
			"dst_endpoint":  reqObj("network_endpoint"),
			"src_endpoint":  optObj("network_endpoint"),
			"actor":         optObj("actor"),
			"service":       optObj("service"),
			"http_request":  optObj("http_request"),
			"is_mfa":        opt(tBoolean),
			"auth_protocol": opt(tString),
		}),
	},
	ClassWebResourcesActivity: {
		name: "Web Resources Activity", categoryUID: 6, categoryName: "Application Activity",
		activities: map[int64]string{0: "Unknown", 1: "Create", 2: "Read", 3: "Update", 4: "Delete",
			5: "Search", 6: "Import", 7: "Export", 8: "Share", 99: "Other"},
		attrs: merge(baseAttrs, map[string]attrSpec{
			"web_resources": reqList("web_resource"),
			"actor":         fromProfile("host", optObj("actor")),
			"src_endpoint":  optObj("network_endpoint"),
			"dst_endpoint":  optObj("network_endpoint"),
			"http_request":  optObj("http_request"),
		}),
	},
	ClassNetworkActivity: {
		name: "Network Activity", categoryUID: 4, categoryName: "Network Activity",
		activities: map[int64]string{0: "Unknown", 1: "Open", 2: "Close", 3: "Reset", 4: "Fail", 5: "Refuse",
			6: "Traffic", 99: "Other"},
		attrs: merge(baseAttrs, map[string]attrSpec{
			"src_endpoint":    reqObj("network_endpoint"),
			"dst_endpoint":    reqObj("network_endpoint"),
			"actor":           fromProfile("host", optObj("actor")),
			"connection_info": optObj("network_connection_info"),
			"traffic":         optObj("network_traffic"),
			"app_name":        opt(tString),
		}),
	},
	ClassDeviceInventoryInfo: {
		name: "Device Inventory Info", categoryUID: 5, categoryName: "Discovery",
		activities: map[int64]string{0: "Unknown", 1: "Log", 2: "Collect", 99: "Other"},
		attrs: merge(baseAttrs, map[string]attrSpec{
			"device": reqObj("device"),
		}),
	},
	ClassDetectionFinding: {
		name: "Detection Finding", categoryUID: 2, categoryName: "Findings",
		activities: map[int64]string{0: "Unknown", 1: "Create", 2: "Update", 3: "Close", 99: "Other"},
		attrs: merge(baseAttrs, map[string]attrSpec{
			"status_id":     optEnum(keys(findingStatusNames)...),
			"finding_info":  reqObj("finding_info"),
			"evidences":     optList("evidences"),
			"resources":     optList("resource_details"),
			"confidence_id": optEnum(0, 1, 2, 3, 99),
			"risk_score":    opt(tInteger),
			"risk_level_id": optEnum(0, 1, 2, 3, 4),
			"risk_level":    opt(tString),
		}),
	},
}

// objects is the table of the objects the classes use, by OCSF object name.
var objects = map[string]map[string]attrSpec{
	"metadata": {
		"version": req(tString), "product": reqObj("product"), "uid": opt(tString),
		"event_code": opt(tString), "log_name": opt(tString), "original_time": opt(tString),
		"profiles": optStrings(),
	},
	"product": {"name": opt(tString), "vendor_name": req(tString), "version": opt(tString)},
	"cloud":   {"provider": req(tString), "region": opt(tString), "account": optObj("account")},
	"account": {"uid": opt(tString), "name": opt(tString)},
	"user": {
		"name": opt(tString), "uid": opt(tString), "type": opt(tString), "type_id": optEnum(0, 1, 2, 3, 99),
		"email_addr": opt(tString), "credential_uid": opt(tString), "account": optObj("account"),
	},
	"session":  {"uid": opt(tString), "issuer": opt(tString)},
	"actor":    {"user": optObj("user"), "session": optObj("session"), "invoked_by": opt(tString)},
	"location": {"country": opt(tString), "region": opt(tString), "city": opt(tString)},
	"network_endpoint": {
		"ip": opt(tString), "port": opt(tInteger), "hostname": opt(tString), "domain": opt(tString),
		"name": opt(tString), "svc_name": opt(tString), "uid": opt(tString), "location": optObj("location"),
	},
	"api": {
		"operation": req(tString), "version": opt(tString), "service": optObj("service"),
		"request": optObj("request"), "response": optObj("response"),
	},
	"service":  {"name": opt(tString), "uid": opt(tString)},
	"request":  {"uid": req(tString)},
	"response": {"code": opt(tInteger), "error": opt(tString), "error_message": opt(tString)},
	"http_request": {
		"http_method": opt(tString), "url": optObj("url"), "user_agent": opt(tString), "version": opt(tString),
	},
	"url":              {"url_string": opt(tString), "hostname": opt(tString), "path": opt(tString)},
	"web_resource":     {"name": opt(tString), "uid": opt(tString), "type": opt(tString), "url_string": opt(tString)},
	"resource_details": {"name": opt(tString), "uid": opt(tString), "type": opt(tString)},
	"network_connection_info": {
		"direction_id": reqEnum(0, 1, 2, 3, 99), "direction": opt(tString), "protocol_name": opt(tString),
		"protocol_num": opt(tInteger), "uid": opt(tString),
	},
	"network_traffic": {
		"bytes": opt(tLong), "bytes_in": opt(tLong), "bytes_out": opt(tLong),
		"packets": opt(tLong), "packets_in": opt(tLong), "packets_out": opt(tLong),
	},
	"finding_info": {
		"uid": req(tString), "title": req(tString), "desc": opt(tString), "types": optStrings(),
		"created_time": opt(tTimestamp), "analytic": optObj("analytic"),
	},
	"analytic": {
		"type_id": reqEnum(0, 1, 2, 3, 4, 99), "type": opt(tString), "name": opt(tString),
		"uid": opt(tString), "category": opt(tString),
	},
	"evidences": {
		"actor": optObj("actor"), "src_endpoint": optObj("network_endpoint"),
		"dst_endpoint": optObj("network_endpoint"), "file": optObj("file"),
	},
	"file": {
		"name": opt(tString), "type_id": reqEnum(0, 1, 2, 3, 4, 5, 6, 7, 99), "type": opt(tString),
		"size": opt(tLong), "hashes": optList("fingerprint"),
	},
	"fingerprint": {"algorithm_id": reqEnum(0, 1, 2, 3, 4, 5, 6, 7, 99), "algorithm": opt(tString), "value": req(tString)},
	"device": {
		"type_id": optEnum(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 99), "type": opt(tString), "hostname": opt(tString),
		"name": opt(tString), "uid": opt(tString), "ip": opt(tString),
	},
	// observable type_id: the values of 1.1.0 this package uses, with 0 and 99.
	"observable": {
		"name": req(tString), "type_id": reqEnum(0, 1, 2, 4, 5, 6, 7, 8, 99), "type": opt(tString),
		"value": opt(tString),
	},
}

// atLeastOne is OCSF's at_least_one constraint of the objects that have one: an object of
// these must carry one of the attributes listed (1.1.0's lists; the attributes this package
// does not emit are in them too).
var atLeastOne = map[string][]string{
	"actor":            {"process", "user", "invoked_by", "session"},
	"user":             {"account", "name", "uid"},
	"network_endpoint": {"ip", "uid", "name", "hostname", "svc_name", "instance_uid", "interface_uid", "interface_name"},
	"url":              {"url_string", "path"},
	"location":         {"coordinates", "city", "country", "postal_code", "region"},
	"evidences":        {"actor", "api", "connection_info", "data", "dst_endpoint", "file", "process", "query", "src_endpoint"},
}
