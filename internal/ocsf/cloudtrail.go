package ocsf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
	"github.com/logshipper/logshipper/internal/event"
)

// fromCloudTrail maps a CloudTrail record: the calls cloudtrailrecord places in
// Authentication (sign-ins, AssumeRole*, GetSessionToken, ...) to Authentication 3002, every
// other call to API Activity 6003 with the activity cloudtrailrecord gives it.
func fromCloudTrail(r *event.Record) (Event, error) {
	raw := r.RecordBytes()
	ev, ok := cloudtrailrecord.Parsed(r.Parsed, raw)
	if !ok {
		var err error
		if ev, err = cloudtrailrecord.Parse(raw); err != nil {
			return nil, fmt.Errorf("ocsf: cloudtrail record: %w", err)
		}
	}
	if ev.EventTime.IsZero() {
		return nil, fmt.Errorf("ocsf: cloudtrail record %s: eventTime missing", ev.EventID)
	}
	if ev.EventTime.Before(time.Unix(0, 0)) {
		return nil, fmt.Errorf("ocsf: cloudtrail record %s: eventTime %s is before 1970 (OCSF time counts from the epoch)", ev.EventID, ev.EventTime.Format(time.RFC3339))
	}
	if ev.EventName == "" {
		return nil, fmt.Errorf("ocsf: cloudtrail record %s: eventName missing", ev.EventID)
	}
	b := Base{
		Time: ev.EventTime.UnixMilli(),
		Metadata: Metadata{
			Version:   Version,
			Product:   Product{Name: "CloudTrail", VendorName: "AWS", Version: ev.EventVersion},
			UID:       ev.EventID,
			EventCode: ev.EventName,
			Profiles:  []string{"cloud"},
		},
		Cloud:        &Cloud{Provider: "AWS", Region: ev.AWSRegion},
		StatusCode:   ev.ErrorCode,
		StatusDetail: ev.ErrorMessage,
		Unmapped:     cloudTrailUnmapped(ev),
	}
	if ev.AccountID != "" {
		b.Cloud.Account = &Account{UID: ev.AccountID}
	}
	setSeverity(&b, severityFromCEF(ev.Severity))
	switch ev.Outcome {
	case cloudtrailrecord.OutcomeSuccess:
		setStatus(&b, 1)
	case cloudtrailrecord.OutcomeFailure:
		setStatus(&b, 2)
	}
	user := cloudTrailUser(ev)
	src := cloudTrailEndpoint(ev.SourceIPAddress)
	service := ev.EventSource
	if service == "" {
		service = unknown
	}
	var httpReq *HTTPRequest
	if ev.UserAgent != "" {
		httpReq = &HTTPRequest{UserAgent: ev.UserAgent}
	}
	b.Observables = cloudTrailObservables(user, src)

	if ev.OCSF.ClassUID == cloudtrailrecord.ClassAuthentication {
		a := &Authentication{
			Base:        b,
			User:        user,
			DstEndpoint: NetworkEndpoint{SvcName: service},
			Service:     &Service{Name: service},
			HTTPRequest: httpReq,
		}
		setClass(&a.Base, ClassAuthentication, int64(ev.OCSF.ActivityID), "")
		if src != (NetworkEndpoint{}) {
			a.SrcEndpoint = &src
		}
		mfa := ev.MFAUsed
		if mfa == cloudtrailrecord.Unset {
			mfa = ev.Identity.MFAAuthenticated
		}
		if mfa != cloudtrailrecord.Unset {
			v := mfa == cloudtrailrecord.True
			a.IsMFA = &v
		}
		return a, nil
	}

	a := &APIActivity{
		Base:        b,
		Actor:       Actor{InvokedBy: ev.Identity.InvokedBy},
		API:         API{Operation: ev.EventName, Service: &Service{Name: service}},
		SrcEndpoint: orUnknown(src),
		HTTPRequest: httpReq,
		Resources:   cloudTrailResources(ev.Resources),
	}
	if user != (User{}) {
		a.Actor.User = &user
	}
	if id := ev.Identity; id.SessionIssuerARN != "" {
		a.Actor.Session = &Session{Issuer: id.SessionIssuerARN}
	}
	if ev.RequestID != "" {
		a.API.Request = &APIRequest{UID: ev.RequestID}
	}
	if ev.ErrorCode != "" || ev.ErrorMessage != "" {
		a.API.Response = &APIResponse{Error: ev.ErrorCode, ErrorMessage: ev.ErrorMessage}
	}
	setClass(&a.Base, ClassAPIActivity, int64(cloudtrailrecord.APIActivity(ev)), "")
	return a, nil
}

// severityFromCEF places cloudtrailrecord's severity (the CEF scale, 0-10) on OCSF's
// severity_id: 0-1 Informational, 2-3 Low, 4-6 Medium, 7-8 High, 9-10 Critical.
func severityFromCEF(sev int) int64 {
	switch {
	case sev <= 1:
		return 1
	case sev <= 3:
		return 2
	case sev <= 6:
		return 3
	case sev <= 8:
		return 4
	}
	return 5
}

func cloudTrailUser(ev *cloudtrailrecord.Event) User {
	id := ev.Identity
	u := User{
		Name:          id.UserName,
		UID:           id.PrincipalID,
		Type:          id.Type,
		CredentialUID: id.AccessKeyID,
	}
	// OCSF's user needs a name, a uid or an account.
	switch {
	case u.Name != "" || u.UID != "":
	case id.ARN != "":
		u.UID = id.ARN
	case id.AccountID != "":
		u.Account = &Account{UID: id.AccountID}
	default:
		u.Name = unknown
	}
	return u
}

// cloudTrailEndpoint reads sourceIPAddress: an IP address, else an AWS service's host name
// ("ec2.amazonaws.com"), else a name ("AWS Internal").
func cloudTrailEndpoint(src string) NetworkEndpoint {
	switch {
	case src == "":
		return NetworkEndpoint{}
	case isIP(src):
		return NetworkEndpoint{IP: src}
	case strings.HasSuffix(src, ".amazonaws.com"):
		return NetworkEndpoint{SvcName: src, Hostname: src}
	}
	return NetworkEndpoint{Name: src}
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func cloudTrailObservables(u User, src NetworkEndpoint) []Observable {
	var out []Observable
	if u.Name != "" && u.Name != unknown {
		out = append(out, Observable{Name: "user.name", TypeID: 4, Type: "User Name", Value: u.Name})
	}
	if src.IP != "" {
		out = append(out, Observable{Name: "src_endpoint.ip", TypeID: 2, Type: "IP Address", Value: src.IP})
	}
	return out
}

// cloudTrailResources reads the record's resources list ([{"ARN","accountId","type"}]).
func cloudTrailResources(raw []byte) []ResourceDetails {
	if len(raw) == 0 {
		return nil
	}
	var list []struct {
		ARN  string `json:"ARN"`
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	out := make([]ResourceDetails, 0, len(list))
	for _, r := range list {
		if r.ARN == "" && r.Type == "" {
			continue
		}
		out = append(out, ResourceDetails{UID: r.ARN, Type: r.Type})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// cloudTrailUnmapped keeps what no OCSF attribute takes: the record's kind of event, the
// identity's ARN and account, our category and ATT&CK technique, and the call's JSON members.
func cloudTrailUnmapped(ev *cloudtrailrecord.Event) map[string]string {
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("eventType", ev.EventType)
	put("eventCategory", ev.EventCategory)
	put("readOnly", ev.ReadOnly.String())
	put("managementEvent", ev.ManagementEvent.String())
	put("userIdentity.arn", ev.Identity.ARN)
	put("userIdentity.accountId", ev.Identity.AccountID)
	put("logshipper.category", ev.Category)
	put("logshipper.attack_technique", ev.Technique)
	put("requestParameters", compactJSON(ev.RequestParameters))
	put("responseElements", compactJSON(ev.ResponseElements))
	put("additionalEventData", compactJSON(ev.AdditionalEventData))
	if len(m) == 0 {
		return nil
	}
	return m
}

// compactJSON is a JSON value's text without insignificant white space.
func compactJSON(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}
