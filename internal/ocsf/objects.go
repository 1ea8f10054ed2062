package ocsf

// The OCSF 1.1.0 objects the classes of this package use, with the attributes the mappings
// fill. Each field carries its OCSF attribute name in both its json and parquet tags. Scalars
// that may be absent are parquet-optional (their zero value is written as null) and
// json-omitempty; objects that may be absent are pointers; lists are parquet LIST groups.
// Integers are int32 where OCSF says integer_t and int64 where it says long_t or timestamp_t
// (milliseconds since the epoch).

// Metadata is the OCSF metadata object (required: product, version).
type Metadata struct {
	Version      string   `json:"version" parquet:"version"`
	Product      Product  `json:"product" parquet:"product"`
	UID          string   `json:"uid,omitempty" parquet:"uid,optional"`
	EventCode    string   `json:"event_code,omitempty" parquet:"event_code,optional"`
	LogName      string   `json:"log_name,omitempty" parquet:"log_name,optional"`
	OriginalTime string   `json:"original_time,omitempty" parquet:"original_time,optional"`
	Profiles     []string `json:"profiles,omitempty" parquet:"profiles,list,optional"`
}

// Product is the OCSF product object (required: vendor_name).
type Product struct {
	Name       string `json:"name,omitempty" parquet:"name,optional"`
	VendorName string `json:"vendor_name" parquet:"vendor_name"`
	Version    string `json:"version,omitempty" parquet:"version,optional"`
}

// Cloud is the OCSF cloud object of the cloud profile (required: provider).
type Cloud struct {
	Provider string   `json:"provider" parquet:"provider"`
	Region   string   `json:"region,omitempty" parquet:"region,optional"`
	Account  *Account `json:"account,omitempty" parquet:"account,optional"`
}

// Account is the OCSF account object.
type Account struct {
	UID  string `json:"uid,omitempty" parquet:"uid,optional"`
	Name string `json:"name,omitempty" parquet:"name,optional"`
}

// User is the OCSF user object.
type User struct {
	Name          string   `json:"name,omitempty" parquet:"name,optional"`
	UID           string   `json:"uid,omitempty" parquet:"uid,optional"`
	Type          string   `json:"type,omitempty" parquet:"type,optional"`
	TypeID        int32    `json:"type_id,omitempty" parquet:"type_id,optional"`
	EmailAddr     string   `json:"email_addr,omitempty" parquet:"email_addr,optional"`
	CredentialUID string   `json:"credential_uid,omitempty" parquet:"credential_uid,optional"`
	Account       *Account `json:"account,omitempty" parquet:"account,optional"`
}

// Session is the OCSF session object.
type Session struct {
	UID    string `json:"uid,omitempty" parquet:"uid,optional"`
	Issuer string `json:"issuer,omitempty" parquet:"issuer,optional"`
}

// Actor is the OCSF actor object.
type Actor struct {
	User      *User    `json:"user,omitempty" parquet:"user,optional"`
	Session   *Session `json:"session,omitempty" parquet:"session,optional"`
	InvokedBy string   `json:"invoked_by,omitempty" parquet:"invoked_by,optional"`
}

// Location is the OCSF location object.
type Location struct {
	Country string `json:"country,omitempty" parquet:"country,optional"`
	Region  string `json:"region,omitempty" parquet:"region,optional"`
	City    string `json:"city,omitempty" parquet:"city,optional"`
}

// NetworkEndpoint is the OCSF network_endpoint object.
type NetworkEndpoint struct {
	IP       string    `json:"ip,omitempty" parquet:"ip,optional"`
	Port     int32     `json:"port,omitempty" parquet:"port,optional"`
	Hostname string    `json:"hostname,omitempty" parquet:"hostname,optional"`
	Domain   string    `json:"domain,omitempty" parquet:"domain,optional"`
	Name     string    `json:"name,omitempty" parquet:"name,optional"`
	SvcName  string    `json:"svc_name,omitempty" parquet:"svc_name,optional"`
	UID      string    `json:"uid,omitempty" parquet:"uid,optional"`
	Location *Location `json:"location,omitempty" parquet:"location,optional"`
}

// API is the OCSF api object (required: operation).
type API struct {
	Operation string       `json:"operation" parquet:"operation"`
	Version   string       `json:"version,omitempty" parquet:"version,optional"`
	Service   *Service     `json:"service,omitempty" parquet:"service,optional"`
	Request   *APIRequest  `json:"request,omitempty" parquet:"request,optional"`
	Response  *APIResponse `json:"response,omitempty" parquet:"response,optional"`
}

// Service is the OCSF service object.
type Service struct {
	Name string `json:"name,omitempty" parquet:"name,optional"`
	UID  string `json:"uid,omitempty" parquet:"uid,optional"`
}

// APIRequest is the OCSF request object (required: uid).
type APIRequest struct {
	UID string `json:"uid" parquet:"uid"`
}

// APIResponse is the OCSF response object.
type APIResponse struct {
	Code         int32  `json:"code,omitempty" parquet:"code,optional"`
	Error        string `json:"error,omitempty" parquet:"error,optional"`
	ErrorMessage string `json:"error_message,omitempty" parquet:"error_message,optional"`
}

// HTTPRequest is the OCSF http_request object.
type HTTPRequest struct {
	HTTPMethod string `json:"http_method,omitempty" parquet:"http_method,optional"`
	URL        *URL   `json:"url,omitempty" parquet:"url,optional"`
	UserAgent  string `json:"user_agent,omitempty" parquet:"user_agent,optional"`
	Version    string `json:"version,omitempty" parquet:"version,optional"`
}

// URL is the OCSF url object.
type URL struct {
	URLString string `json:"url_string,omitempty" parquet:"url_string,optional"`
	Hostname  string `json:"hostname,omitempty" parquet:"hostname,optional"`
	Path      string `json:"path,omitempty" parquet:"path,optional"`
}

// WebResource is the OCSF web_resource object.
type WebResource struct {
	Name      string `json:"name,omitempty" parquet:"name,optional"`
	UID       string `json:"uid,omitempty" parquet:"uid,optional"`
	Type      string `json:"type,omitempty" parquet:"type,optional"`
	URLString string `json:"url_string,omitempty" parquet:"url_string,optional"`
}

// ResourceDetails is the OCSF resource_details object.
type ResourceDetails struct {
	Name string `json:"name,omitempty" parquet:"name,optional"`
	UID  string `json:"uid,omitempty" parquet:"uid,optional"`
	Type string `json:"type,omitempty" parquet:"type,optional"`
}

// ConnectionInfo is the OCSF network_connection_info object (required: direction_id).
type ConnectionInfo struct {
	DirectionID  int32  `json:"direction_id" parquet:"direction_id"`
	Direction    string `json:"direction,omitempty" parquet:"direction,optional"`
	ProtocolName string `json:"protocol_name,omitempty" parquet:"protocol_name,optional"`
	ProtocolNum  int32  `json:"protocol_num,omitempty" parquet:"protocol_num,optional"`
	UID          string `json:"uid,omitempty" parquet:"uid,optional"`
}

// Traffic is the OCSF network_traffic object.
type Traffic struct {
	Bytes      int64 `json:"bytes,omitempty" parquet:"bytes,optional"`
	BytesIn    int64 `json:"bytes_in,omitempty" parquet:"bytes_in,optional"`
	BytesOut   int64 `json:"bytes_out,omitempty" parquet:"bytes_out,optional"`
	Packets    int64 `json:"packets,omitempty" parquet:"packets,optional"`
	PacketsIn  int64 `json:"packets_in,omitempty" parquet:"packets_in,optional"`
	PacketsOut int64 `json:"packets_out,omitempty" parquet:"packets_out,optional"`
}

// FindingInfo is the OCSF finding_info object (required: uid, title).
type FindingInfo struct {
	UID         string    `json:"uid" parquet:"uid"`
	Title       string    `json:"title" parquet:"title"`
	Desc        string    `json:"desc,omitempty" parquet:"desc,optional"`
	Types       []string  `json:"types,omitempty" parquet:"types,list,optional"`
	CreatedTime int64     `json:"created_time,omitempty" parquet:"created_time,optional"`
	Analytic    *Analytic `json:"analytic,omitempty" parquet:"analytic,optional"`
}

// Analytic is the OCSF analytic object (required: type_id).
type Analytic struct {
	TypeID   int32  `json:"type_id" parquet:"type_id"`
	Type     string `json:"type,omitempty" parquet:"type,optional"`
	Name     string `json:"name,omitempty" parquet:"name,optional"`
	UID      string `json:"uid,omitempty" parquet:"uid,optional"`
	Category string `json:"category,omitempty" parquet:"category,optional"`
}

// Evidence is one element of the OCSF evidences list.
type Evidence struct {
	Actor       *Actor           `json:"actor,omitempty" parquet:"actor,optional"`
	SrcEndpoint *NetworkEndpoint `json:"src_endpoint,omitempty" parquet:"src_endpoint,optional"`
	DstEndpoint *NetworkEndpoint `json:"dst_endpoint,omitempty" parquet:"dst_endpoint,optional"`
	File        *File            `json:"file,omitempty" parquet:"file,optional"`
}

// File is the OCSF file object (required: type_id).
type File struct {
	Name   string        `json:"name,omitempty" parquet:"name,optional"`
	TypeID int32         `json:"type_id" parquet:"type_id"`
	Type   string        `json:"type,omitempty" parquet:"type,optional"`
	Size   int64         `json:"size,omitempty" parquet:"size,optional"`
	Hashes []Fingerprint `json:"hashes,omitempty" parquet:"hashes,list,optional"`
}

// Fingerprint is the OCSF fingerprint object (required: algorithm_id, value).
type Fingerprint struct {
	AlgorithmID int32  `json:"algorithm_id" parquet:"algorithm_id"`
	Algorithm   string `json:"algorithm,omitempty" parquet:"algorithm,optional"`
	Value       string `json:"value" parquet:"value"`
}

// Observable is the OCSF observable object (required: name, type_id).
type Observable struct {
	Name   string `json:"name" parquet:"name"`
	TypeID int32  `json:"type_id" parquet:"type_id"`
	Type   string `json:"type,omitempty" parquet:"type,optional"`
	Value  string `json:"value,omitempty" parquet:"value,optional"`
}

// Device is the OCSF device object (required: type_id).
type Device struct {
	TypeID   int32  `json:"type_id" parquet:"type_id"`
	Type     string `json:"type,omitempty" parquet:"type,optional"`
	Hostname string `json:"hostname,omitempty" parquet:"hostname,optional"`
	Name     string `json:"name,omitempty" parquet:"name,optional"`
	UID      string `json:"uid,omitempty" parquet:"uid,optional"`
	IP       string `json:"ip,omitempty" parquet:"ip,optional"`
}
