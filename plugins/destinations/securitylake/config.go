package securitylake

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Config is the Security Lake destination's configuration.
type Config struct {
	// AWS holds the credentials (keys, profile, instance role, the custom source's provider
	// role with its external id), region, endpoint, proxy and TLS. Region is the lake
	// bucket's region, and the region= partition of a record that names none.
	AWS awsauth.Config `yaml:",inline"`
	// Bucket is the Security Lake bucket (aws-security-data-lake-<region>-<id>).
	Bucket string `yaml:"bucket"`
	// SourceName is the custom source's name, as registered in Security Lake.
	SourceName string `yaml:"source_name"`
	// SourceVersion is the custom source's version, when it was registered with one.
	SourceVersion string `yaml:"source_version"`
	// ClassSources names the custom source of an OCSF class (by class_uid) that is not
	// SourceName: Security Lake wants one source per class.
	ClassSources map[int]string `yaml:"class_sources"`
	// Prefix comes before the source name in every key ("ext/").
	Prefix string `yaml:"prefix"`
	// AccountID is the accountId= partition of a record that names no cloud account (or of
	// every record, when AccountFromRecord is off).
	AccountID string `yaml:"account_id"`
	// AccountFromRecord partitions by the account a record names (cloud.account.uid), when it
	// names one.
	AccountFromRecord bool `yaml:"account_from_record"`
	// RegionFromRecord partitions by the region a record names (cloud.region), when it names
	// one.
	RegionFromRecord bool `yaml:"region_from_record"`
	// MaxFileSize closes an object once this much Parquet is written to it.
	MaxFileSize config.ByteSize `yaml:"max_file_size"`
	// MaxFileAge closes an object this long after its first record.
	MaxFileAge time.Duration `yaml:"max_file_age"`
	// MaxFileIdle closes an object once no record was added to it for this long.
	MaxFileIdle time.Duration `yaml:"max_file_idle"`
	// MaxOpenFiles bounds the objects open at once (one per class, source, region, account
	// and day); opening one more closes the one idle longest.
	MaxOpenFiles int `yaml:"max_open_files"`
	// PartSize is the size of a multipart upload's parts (5 MiB at least).
	PartSize config.ByteSize `yaml:"part_size"`
	// RowGroupSize is how much (uncompressed) a Parquet row group holds before it is written.
	RowGroupSize config.ByteSize `yaml:"row_group_size"`
	// PathStyle addresses the bucket in the path (http://host/bucket/key), for cloudsim, moto
	// and endpoints without virtual-hosted buckets.
	PathStyle bool `yaml:"path_style"`
	// AbortStaleUploads aborts, at start, the multipart uploads an earlier run of this
	// instance left unfinished.
	AbortStaleUploads bool `yaml:"abort_stale_uploads"`
	// ValidateMode says which mapped events are checked against the OCSF schema before they are
	// written (an event that fails goes to the dead letters): ValidateAll, ValidateSample or
	// ValidateOff.
	ValidateMode string `yaml:"validate"`
}

// The validate modes.
const (
	ValidateAll    = "all"
	ValidateSample = "sample"
	ValidateOff    = "off"
)

// The limits S3 puts on multipart uploads.
const (
	minPartSize = 5 << 20
	maxPartSize = 5 << 30
	maxParts    = 10000
)

var (
	_ plugin.Config      = (*Config)(nil)
	_ plugin.KindRefuser = (*Config)(nil)

	// sourceNameRe is what Security Lake takes as a custom source name (and what a key
	// segment holds safely).
	sourceNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	accountRe    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	bucketRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// NewConfig returns the defaults.
func NewConfig() plugin.Config {
	return &Config{
		Prefix:            "ext/",
		AccountFromRecord: true,
		RegionFromRecord:  true,
		MaxFileSize:       256 << 20,
		MaxFileAge:        5 * time.Minute,
		MaxFileIdle:       2 * time.Second,
		MaxOpenFiles:      64,
		PartSize:          8 << 20,
		RowGroupSize:      8 << 20,
		AbortStaleUploads: true,
		ValidateMode:      ValidateSample,
	}
}

// mappedKinds are the kinds of record OCSF mappings exist for (internal/ocsf): Netskope events
// and alerts, and CloudTrail records.
var mappedKinds = []event.Kind{event.KindNetskopeEvent, event.KindNetskopeAlert, event.KindCloudTrail}

// RefuseKind implements plugin.KindRefuser: records of a kind no OCSF mapping covers are never
// handed to Write.
func (c *Config) RefuseKind(kind event.Kind, _ string) (reason string, refused bool) {
	for _, k := range mappedKinds {
		if kind == k {
			return "", false
		}
	}
	if kind == "" {
		return "Security Lake takes OCSF records, mapped from Netskope events and alerts and CloudTrail records; this record has no kind (its source does not say what it is)", true
	}
	return fmt.Sprintf("Security Lake takes OCSF records, mapped from Netskope events and alerts and CloudTrail records, not %s records", kind), true
}

// Validate implements plugin.Config. The AWS keys validate themselves (ValidateTree walks in).
func (c *Config) Validate() error {
	var p config.Problems
	switch {
	case c.Bucket == "":
		p.Addf("bucket: missing (the Security Lake bucket, aws-security-data-lake-<region>-<id>)")
	case !bucketRe.MatchString(c.Bucket):
		p.Addf("bucket: %q is not a bucket name", c.Bucket)
	}
	if c.AWS.Region == "" {
		p.Addf("region: missing (the Security Lake bucket's region)")
	}
	switch {
	case c.SourceName == "":
		p.Addf("source_name: missing (the custom source's name in Security Lake)")
	case !sourceNameRe.MatchString(c.SourceName):
		p.Addf("source_name: %q must be 1-64 letters, digits and ._-", c.SourceName)
	}
	switch c.ValidateMode {
	case ValidateAll, ValidateSample, ValidateOff:
	default:
		p.Addf("validate: %q is not all, sample or off", c.ValidateMode)
	}
	if c.SourceVersion != "" && !sourceNameRe.MatchString(c.SourceVersion) {
		p.Addf("source_version: %q must be 1-64 letters, digits and ._-", c.SourceVersion)
	}
	for class, name := range c.ClassSources {
		if class < 1 {
			p.Addf("class_sources: %d is not an OCSF class_uid", class)
		}
		if !sourceNameRe.MatchString(name) {
			p.Addf("class_sources: %d: %q must be 1-64 letters, digits and ._-", class, name)
		}
	}
	if strings.HasPrefix(c.Prefix, "/") || c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
		p.Addf("prefix: %q must not start with / and must end with / (default ext/)", c.Prefix)
	}
	if c.AccountID != "" && !accountRe.MatchString(c.AccountID) {
		p.Addf("account_id: %q must be an account id (letters, digits and ._-)", c.AccountID)
	}
	if c.AccountID == "" && !c.AccountFromRecord {
		p.Addf("account_id: missing (account_from_record is off, so every record takes this one)")
	}
	if c.PartSize < minPartSize || c.PartSize > maxPartSize {
		p.Addf("part_size: must be 5MiB to 5GiB (S3's limits for a part)")
	}
	if c.MaxFileSize < c.PartSize {
		p.Addf("max_file_size: must be at least part_size (%d bytes)", int64(c.PartSize))
	} else if int64(c.MaxFileSize)/int64(c.PartSize) > maxParts-2 {
		p.Addf("max_file_size: more than %d parts of part_size: raise part_size", maxParts-2)
	}
	if c.RowGroupSize < 64<<10 {
		p.Addf("row_group_size: must be at least 64KiB")
	}
	if c.MaxFileAge < time.Second || c.MaxFileAge > 24*time.Hour {
		p.Addf("max_file_age: must be 1s to 24h (Security Lake asks for objects every 5 minutes to a day)")
	}
	if c.MaxFileIdle <= 0 || c.MaxFileIdle > c.MaxFileAge {
		p.Addf("max_file_idle: must be more than 0 and at most max_file_age")
	}
	if c.MaxOpenFiles < 1 {
		p.Addf("max_open_files: must be at least 1")
	}
	return p.Err()
}

// sourceFor is the custom source of OCSF class class.
func (c *Config) sourceFor(class int) string {
	if s, ok := c.ClassSources[class]; ok {
		return s
	}
	return c.SourceName
}

// sourcePrefixes are the key prefixes of every custom source the configuration names, each
// ending in "/": ext/<source>[/<version>]/.
func (c *Config) sourcePrefixes() []string {
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		p := c.sourcePrefix(name)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	add(c.SourceName)
	for _, name := range c.ClassSources {
		add(name)
	}
	return out
}

// sourcePrefix is the key prefix of one custom source, ending in "/".
func (c *Config) sourcePrefix(name string) string {
	p := c.Prefix + name + "/"
	if c.SourceVersion != "" {
		p += c.SourceVersion + "/"
	}
	return p
}
