package mapping

import (
	_ "embed"
	"sync"
)

// defaultCloudTrailFile is logshipper's CloudTrail Lake mapping, in CE's export format so that
// users can take it into CE, or start their own from it, unchanged. README.md lists how it
// differs from CE's "AWS CloudTrail Lake Default Mappings".
//
//go:embed defaults/cloudtrail.json
var defaultCloudTrailFile []byte

var defaultCloudTrail = sync.OnceValue(func() *Set {
	s, err := Parse(defaultCloudTrailFile, "defaults/cloudtrail.json")
	if err != nil {
		panic("mapping: the embedded default CloudTrail Lake mapping does not load: " + err.Error())
	}
	return s
})

// DefaultCloudTrail returns logshipper's CloudTrail Lake mapping: every Netskope event type
// (page, application, audit, infrastructure, network, incident, endpoint) and alert type
// (compromisedcredential, policy, malsite, malware, dlp, securityassessment, watchlist,
// quarantine, remediation, uba, ctep, device, content), with the CloudTrail rules on. The Set is
// shared and immutable.
func DefaultCloudTrail() *Set { return defaultCloudTrail() }

// DefaultCloudTrailFile returns the default CloudTrail Lake mapping file as shipped (CE export
// format), for users to save and edit.
func DefaultCloudTrailFile() []byte { return append([]byte(nil), defaultCloudTrailFile...) }
