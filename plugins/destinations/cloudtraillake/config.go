package cloudtraillake

import (
	"fmt"
	"strings"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/lakeapi"
	"github.com/logshipper/logshipper/internal/mapping"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Config is the CloudTrail Lake destination's configuration.
type Config struct {
	// AWS holds the credentials (keys, profile, EC2 role, assume role), proxy, TLS and the
	// endpoint override (for cloudsim).
	AWS awsauth.Config `yaml:",inline"`
	// ChannelARN is the channel events are put into; its region and account come from it.
	ChannelARN string `yaml:"channel_arn"`
	// ChannelExternalID is the channel's external id, when it has one.
	ChannelExternalID string `yaml:"channel_external_id"`
	// AddAdditionalData puts the record's unmapped fields in additionalEventData (Cloud
	// Exchange's "Add Additional Data"), kept under its 28 kB limit.
	AddAdditionalData bool `yaml:"add_additional_data"`
	// Mapping is a Cloud Exchange mapping file (or our YAML form); empty: the built-in one.
	Mapping string `yaml:"mapping"`
	// CallsPerSecond caps PutAuditEvents calls (the service allows 100 per account).
	CallsPerSecond int `yaml:"calls_per_second"`
}

var (
	_ plugin.Config      = (*Config)(nil)
	_ plugin.KindRefuser = (*Config)(nil)
)

// RefuseKind implements plugin.KindRefuser, for the destination and for validate, which warns
// of a mapping that brings it only records it refuses. The lake's mappings cover Netskope events
// and alerts; of those, UBA alerts are not taken, decided by event.NetskopeUBA: by the endpoint
// the alert came from (its Subtype), as Cloud Exchange decides.
func (c *Config) RefuseKind(kind event.Kind, subtype string) (reason string, refused bool) {
	switch {
	case kind == "":
		return "CloudTrail Lake's mappings cover Netskope events and alerts; this record has no kind (its source does not say what it is)", true
	case kind != event.KindNetskopeEvent && kind != event.KindNetskopeAlert:
		return fmt.Sprintf("CloudTrail Lake's mappings cover Netskope events and alerts, not %s records", kind), true
	case event.NetskopeUBA(kind, subtype):
		return "CloudTrail Lake does not take UBA alerts from the Netskope source", true
	}
	return "", false
}

// NewConfig returns the defaults.
func NewConfig() plugin.Config {
	return &Config{AddAdditionalData: true, CallsPerSecond: 100}
}

// Validate implements plugin.Config. The AWS keys validate themselves (ValidateTree walks in).
func (c *Config) Validate() error {
	var p config.Problems
	if c.ChannelARN == "" {
		p.Addf("channel_arn: missing (arn:aws:cloudtrail:<region>:<account>:channel/<id>)")
	} else if _, _, _, err := lakeapi.ParseChannelARN(c.ChannelARN); err != nil {
		p.Addf("channel_arn: %v", err)
	}
	if c.CallsPerSecond < 1 || c.CallsPerSecond > 100 {
		p.Addf("calls_per_second: must be 1 to 100 (the service allows 100 per account)")
	}
	if c.Mapping != "" {
		if _, err := mapping.LoadFile(c.Mapping); err != nil {
			// LoadFile's error starts with "mapping: " when the file cannot be read.
			p.Addf("mapping: %s", strings.TrimPrefix(err.Error(), "mapping: "))
		}
	}
	return p.Err()
}
