package lakeapi

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

var (
	partitionRe = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	accountRe   = regexp.MustCompile(`^[0-9]{12}$`)
	channelIDRe = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`)
)

// ParseChannelARN splits a channel ARN, arn:<partition>:cloudtrail:<region>:<account>:channel/<id>,
// into its region (the signing region of PutAuditEvents), owner account and channel id. The
// error, an *InvalidInputError, names what is wrong.
func ParseChannelARN(arn string) (region, account, id string, err error) {
	bad := func(format string, args ...any) (string, string, string, error) {
		return "", "", "", &InvalidInputError{Msg: fmt.Sprintf("channel ARN %q: %s (want arn:aws:cloudtrail:<region>:<12-digit account>:channel/<id>)",
			arn, fmt.Sprintf(format, args...))}
	}
	if strings.TrimSpace(arn) == "" {
		return bad("empty")
	}
	if strings.TrimSpace(arn) != arn {
		return bad("spaces around it")
	}
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		if !strings.HasPrefix(arn, "arn:") && channelIDRe.MatchString(arn) {
			return bad("a channel id, not its ARN")
		}
		return bad("not an ARN")
	}
	switch {
	case !partitionRe.MatchString(f[1]):
		return bad("partition %q is not an AWS partition", f[1])
	case f[2] != "cloudtrail":
		return bad("service %q is not cloudtrail", f[2])
	case f[3] == "":
		return bad("no region")
	case !regionRe.MatchString(f[3]):
		return bad("region %q is not a region name", f[3])
	case !accountRe.MatchString(f[4]):
		return bad("account %q is not 12 digits", f[4])
	}
	rest, ok := strings.CutPrefix(f[5], "channel/")
	switch {
	case !ok:
		return bad("resource %q is not channel/<id>", f[5])
	case rest == "":
		return bad("no channel id")
	case !channelIDRe.MatchString(rest):
		return bad("channel id %q has characters other than letters, digits and ._-", rest)
	}
	return f[3], f[4], rest, nil
}

// Checksum is the eventDataChecksum of eventData: base64(SHA-256(eventData)).
func Checksum(eventData []byte) string {
	sum := sha256.Sum256(eventData)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// defaultEndpoint is the regional endpoint of an AWS service.
func defaultEndpoint(service, region string) string {
	suffix := ".amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = ".amazonaws.com.cn"
	}
	return "https://" + service + "." + region + suffix
}
