package ocsf

import "time"

// Base holds the OCSF base event attributes every class has. Each class embeds it, so its
// attributes sit at the top level of the class in JSON and in Parquet alike.
type Base struct {
	ActivityID   int32    `json:"activity_id" parquet:"activity_id"`
	ActivityName string   `json:"activity_name,omitempty" parquet:"activity_name,optional"`
	CategoryID   int32    `json:"category_uid" parquet:"category_uid"`
	CategoryName string   `json:"category_name,omitempty" parquet:"category_name,optional"`
	ClassID      int32    `json:"class_uid" parquet:"class_uid"`
	ClassName    string   `json:"class_name,omitempty" parquet:"class_name,optional"`
	TypeID       int64    `json:"type_uid" parquet:"type_uid"`
	TypeName     string   `json:"type_name,omitempty" parquet:"type_name,optional"`
	SeverityID   int32    `json:"severity_id" parquet:"severity_id"`
	Severity     string   `json:"severity,omitempty" parquet:"severity,optional"`
	Time         int64    `json:"time" parquet:"time"`
	Metadata     Metadata `json:"metadata" parquet:"metadata"`
	Message      string   `json:"message,omitempty" parquet:"message,optional"`
	StatusID     int32    `json:"status_id,omitempty" parquet:"status_id,optional"`
	Status       string   `json:"status,omitempty" parquet:"status,optional"`
	StatusCode   string   `json:"status_code,omitempty" parquet:"status_code,optional"`
	StatusDetail string   `json:"status_detail,omitempty" parquet:"status_detail,optional"`
	Count        int32    `json:"count,omitempty" parquet:"count,optional"`
	// Cloud is the cloud profile's object: set on CloudTrail records (metadata.profiles then
	// names "cloud").
	Cloud       *Cloud       `json:"cloud,omitempty" parquet:"cloud,optional"`
	Observables []Observable `json:"observables,omitempty" parquet:"observables,list,optional"`
	// Unmapped holds source attributes no OCSF attribute takes, as text (JSON text for
	// objects, lists and numbers).
	Unmapped map[string]string `json:"unmapped,omitempty" parquet:"unmapped,optional"`
}

// ClassUID is the record's class_uid.
func (b *Base) ClassUID() int { return int(b.ClassID) }

// EventTime is the record's time.
func (b *Base) EventTime() time.Time { return time.UnixMilli(b.Time).UTC() }

// CloudAccount is cloud.account.uid; empty when the record has none.
func (b *Base) CloudAccount() string {
	if b.Cloud == nil || b.Cloud.Account == nil {
		return ""
	}
	return b.Cloud.Account.UID
}

// CloudRegion is cloud.region; empty when the record has none.
func (b *Base) CloudRegion() string {
	if b.Cloud == nil {
		return ""
	}
	return b.Cloud.Region
}

func (b *Base) base() *Base { return b }

// The OCSF 1.1.0 classes this package maps records to, with their class_uid.
const (
	ClassDetectionFinding     = 2004
	ClassAuthentication       = 3002
	ClassNetworkActivity      = 4001
	ClassDeviceInventoryInfo  = 5001
	ClassWebResourcesActivity = 6001
	ClassAPIActivity          = 6003
)

// APIActivity is OCSF class 6003, API Activity (category 6, Application Activity).
type APIActivity struct {
	Base
	Actor       Actor             `json:"actor" parquet:"actor"`
	API         API               `json:"api" parquet:"api"`
	SrcEndpoint NetworkEndpoint   `json:"src_endpoint" parquet:"src_endpoint"`
	DstEndpoint *NetworkEndpoint  `json:"dst_endpoint,omitempty" parquet:"dst_endpoint,optional"`
	HTTPRequest *HTTPRequest      `json:"http_request,omitempty" parquet:"http_request,optional"`
	Resources   []ResourceDetails `json:"resources,omitempty" parquet:"resources,list,optional"`
}

// Authentication is OCSF class 3002, Authentication (category 3, Identity & Access
// Management).
type Authentication struct {
	Base
	User         User             `json:"user" parquet:"user"`
	DstEndpoint  NetworkEndpoint  `json:"dst_endpoint" parquet:"dst_endpoint"`
	SrcEndpoint  *NetworkEndpoint `json:"src_endpoint,omitempty" parquet:"src_endpoint,optional"`
	Actor        *Actor           `json:"actor,omitempty" parquet:"actor,optional"`
	Service      *Service         `json:"service,omitempty" parquet:"service,optional"`
	HTTPRequest  *HTTPRequest     `json:"http_request,omitempty" parquet:"http_request,optional"`
	IsMFA        *bool            `json:"is_mfa,omitempty" parquet:"is_mfa,optional"`
	AuthProtocol string           `json:"auth_protocol,omitempty" parquet:"auth_protocol,optional"`
}

// WebResourcesActivity is OCSF class 6001, Web Resources Activity (category 6, Application
// Activity).
type WebResourcesActivity struct {
	Base
	WebResources []WebResource    `json:"web_resources" parquet:"web_resources,list"`
	Actor        *Actor           `json:"actor,omitempty" parquet:"actor,optional"`
	SrcEndpoint  *NetworkEndpoint `json:"src_endpoint,omitempty" parquet:"src_endpoint,optional"`
	DstEndpoint  *NetworkEndpoint `json:"dst_endpoint,omitempty" parquet:"dst_endpoint,optional"`
	HTTPRequest  *HTTPRequest     `json:"http_request,omitempty" parquet:"http_request,optional"`
}

// NetworkActivity is OCSF class 4001, Network Activity (category 4, Network Activity).
type NetworkActivity struct {
	Base
	SrcEndpoint    NetworkEndpoint `json:"src_endpoint" parquet:"src_endpoint"`
	DstEndpoint    NetworkEndpoint `json:"dst_endpoint" parquet:"dst_endpoint"`
	Actor          *Actor          `json:"actor,omitempty" parquet:"actor,optional"`
	ConnectionInfo *ConnectionInfo `json:"connection_info,omitempty" parquet:"connection_info,optional"`
	Traffic        *Traffic        `json:"traffic,omitempty" parquet:"traffic,optional"`
	AppName        string          `json:"app_name,omitempty" parquet:"app_name,optional"`
}

// DeviceInventoryInfo is OCSF class 5001, Device Inventory Info (category 5, Discovery).
type DeviceInventoryInfo struct {
	Base
	Device Device `json:"device" parquet:"device"`
}

// DetectionFinding is OCSF class 2004, Detection Finding (category 2, Findings).
type DetectionFinding struct {
	Base
	FindingInfo  FindingInfo       `json:"finding_info" parquet:"finding_info"`
	Evidences    []Evidence        `json:"evidences,omitempty" parquet:"evidences,list,optional"`
	Resources    []ResourceDetails `json:"resources,omitempty" parquet:"resources,list,optional"`
	ConfidenceID int32             `json:"confidence_id,omitempty" parquet:"confidence_id,optional"`
	RiskScore    int32             `json:"risk_score,omitempty" parquet:"risk_score,optional"`
	RiskLevelID  *int32            `json:"risk_level_id,omitempty" parquet:"risk_level_id,optional"`
	RiskLevel    string            `json:"risk_level,omitempty" parquet:"risk_level,optional"`
}

// Compile-time checks that every class is an Event.
var (
	_ Event = (*APIActivity)(nil)
	_ Event = (*Authentication)(nil)
	_ Event = (*WebResourcesActivity)(nil)
	_ Event = (*NetworkActivity)(nil)
	_ Event = (*DeviceInventoryInfo)(nil)
	_ Event = (*DetectionFinding)(nil)
)
