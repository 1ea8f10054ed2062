// Package sts simulates AWS Security Token Service in the query protocol (API 2011-06-15):
// GetCallerIdentity for any verified caller and AssumeRole, which mints temporary credentials into
// the shared keyring. It runs behind awssim's SigV4 verification (Register on an awssim.Router).
package sts

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// Protocol facts.
const (
	// Service is the SigV4 signing name.
	Service = "sts"
	// Version is the only API version STS has.
	Version = "2011-06-15"
	// Namespace is the XML namespace of STS answers and of most of its errors.
	Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"
	// FaultNamespace is the XML namespace of the InvalidAction error.
	FaultNamespace = "http://webservices.amazon.com/AWSFault/2005-15-09"
	// redirect is where STS sends requests that name no action.
	redirect = "https://aws.amazon.com/iam"
)

// Errors writes errors, authentication failures included, as STS does.
var Errors = awssim.QueryErrors{Namespace: Namespace}

// Config configures the STS simulator.
type Config struct {
	// Keys receives the temporary credentials AssumeRole issues. Without it AssumeRole answers
	// InvalidAction, as an action STS does not have.
	Keys *awssim.Keyring
	// Now is the clock of credential expirations (default time.Now).
	Now func() time.Time
	// CanAssume decides whether caller may assume roleARN; nil lets any caller assume any role
	// with a well-formed ARN. A refusal is answered with AccessDenied, as STS does.
	CanAssume func(caller awssim.Caller, roleARN string) bool
	// MaxSessionDuration is every role's maximum session (default one hour, IAM's default).
	MaxSessionDuration time.Duration
}

// Handler serves the STS query API. Use Register to put it on a router.
type Handler struct {
	cfg Config
}

// New returns an STS handler.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxSessionDuration <= 0 {
		cfg.MaxSessionDuration = time.Hour
	}
	return &Handler{cfg: cfg}
}

// Register serves h on rt for the signing name "sts", with STS's error format.
func (h *Handler) Register(rt *awssim.Router) {
	rt.Handle(Service, h, awssim.RouteErrors(Errors))
}

// ServeHTTP answers one query-protocol request: parameters from the query string and, for a
// POST, from the form body.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r, _ = awssim.EnsureRequestID(w, r)
	params, ok := readParams(r)
	if !ok || !has(params, "Action") {
		loc := redirect
		if r.Method == http.MethodGet && r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
		return
	}
	action := first(params, "Action")
	version := "NO_VERSION_SPECIFIED"
	if has(params, "Version") {
		version = first(params, "Version")
	}
	if version != Version {
		invalidAction(w, r, action, version)
		return
	}
	caller, ok := awssim.CallerFrom(r.Context())
	if !ok {
		Errors.WriteError(w, r, &awssim.Error{Status: http.StatusForbidden, Code: awssim.CodeMissingAuthenticationToken})
		return
	}
	switch action {
	case "GetCallerIdentity":
		writeResult(w, r, action, fmt.Sprintf("    <Arn>%s</Arn>\n    <UserId>%s</UserId>\n    <Account>%s</Account>\n",
			awssim.XMLEscape(caller.ARN), awssim.XMLEscape(caller.UserID), awssim.XMLEscape(caller.AccountID)))
	case "AssumeRole":
		if h.cfg.Keys == nil {
			invalidAction(w, r, action, version)
			return
		}
		h.assumeRole(w, r, caller, params)
	default:
		invalidAction(w, r, action, version)
	}
}

// readParams returns the request's parameters, or false when a POST is not a form.
func readParams(r *http.Request) (url.Values, bool) {
	params := url.Values{}
	if r.Method == http.MethodPost {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "application/x-www-form-urlencoded" {
			return nil, false
		}
		if err := r.ParseForm(); err != nil {
			return nil, false
		}
		for k, v := range r.PostForm {
			params[k] = append(params[k], v...)
		}
	}
	for k, v := range r.URL.Query() {
		params[k] = append(params[k], v...)
	}
	return params, true
}

func has(p url.Values, k string) bool { _, ok := p[k]; return ok }

// first returns the first value of k: STS takes the first of repeated parameters.
func first(p url.Values, k string) string {
	if v := p[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func invalidAction(w http.ResponseWriter, r *http.Request, action, version string) {
	awssim.WriteQueryError(w, r, FaultNamespace, awssim.Errorf(http.StatusBadRequest, "InvalidAction",
		"Could not find operation %s for version %s", action, version))
}

func validationError(w http.ResponseWriter, r *http.Request, format string, args ...any) {
	awssim.WriteQueryError(w, r, Namespace, awssim.Errorf(http.StatusBadRequest, "ValidationError", format, args...))
}

// writeResult writes <ActionResponse><ActionResult>inner</ActionResult><ResponseMetadata>...
// laid out as STS lays it out.
func writeResult(w http.ResponseWriter, r *http.Request, action, inner string) {
	id := awssim.RequestIDFrom(r.Context())
	var b strings.Builder
	fmt.Fprintf(&b, "<%sResponse xmlns=\"%s\">\n  <%sResult>\n", action, Namespace, action)
	b.WriteString(inner)
	fmt.Fprintf(&b, "  </%sResult>\n  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n</%sResponse>\n",
		action, id, action)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}

var (
	roleARNPattern     = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::([0-9]{12}):role/(?:[\x21-\x7e]+/)?([\w+=,.@-]{1,64})$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
)

// assumeRole issues temporary credentials for a role, as sts:AssumeRole does.
func (h *Handler) assumeRole(w http.ResponseWriter, r *http.Request, caller awssim.Caller, p url.Values) {
	roleARN, session := first(p, "RoleArn"), first(p, "RoleSessionName")
	var problems []string
	if !has(p, "RoleArn") {
		problems = append(problems, "Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	} else if n := len([]rune(roleARN)); n < 20 || n > 2048 {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleArn' failed to satisfy constraint: Member must have length %s", roleARN, lengthRule(n, 20, 2048)))
	}
	if !has(p, "RoleSessionName") {
		problems = append(problems, "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	} else {
		if n := len(session); n < 2 || n > 64 {
			problems = append(problems, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length %s", session, lengthRule(n, 2, 64)))
		}
		if !sessionNamePattern.MatchString(session) {
			problems = append(problems, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", session))
		}
	}
	duration := time.Hour
	if has(p, "DurationSeconds") {
		n, err := strconv.Atoi(first(p, "DurationSeconds"))
		switch {
		case err != nil:
			validationError(w, r, "Value '%s' for parameter DurationSeconds is invalid. It must be an integer.", first(p, "DurationSeconds"))
			return
		case n < 900:
			problems = append(problems, fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", n))
		case n > 43200:
			problems = append(problems, fmt.Sprintf("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200", n))
		}
		duration = time.Duration(n) * time.Second
	}
	if len(problems) > 0 {
		noun := "error"
		if len(problems) > 1 {
			noun = "errors"
		}
		validationError(w, r, "%d validation %s detected: %s", len(problems), noun, strings.Join(problems, "; "))
		return
	}
	m := roleARNPattern.FindStringSubmatch(roleARN)
	if m == nil {
		validationError(w, r, "%s is invalid", roleARN)
		return
	}
	partition, account, roleName := m[1], m[2], m[3]
	if h.cfg.CanAssume != nil && !h.cfg.CanAssume(caller, roleARN) {
		awssim.WriteQueryError(w, r, Namespace, awssim.Errorf(http.StatusForbidden, "AccessDenied",
			"User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.ARN, roleARN))
		return
	}
	if duration > h.cfg.MaxSessionDuration {
		validationError(w, r, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		return
	}
	now := h.cfg.Now()
	h.cfg.Keys.PruneExpired(now.Add(-24 * time.Hour))
	roleID := awssim.StableID("AROA", roleARN) + ":" + session
	arn := fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", partition, account, roleName, session)
	cred := awssim.NewTemporaryCredential(account, arn, roleID, now.Add(duration))
	h.cfg.Keys.Add(cred)
	writeResult(w, r, "AssumeRole", fmt.Sprintf(
		"    <AssumedRoleUser>\n      <AssumedRoleId>%s</AssumedRoleId>\n      <Arn>%s</Arn>\n    </AssumedRoleUser>\n"+
			"    <Credentials>\n      <AccessKeyId>%s</AccessKeyId>\n      <SecretAccessKey>%s</SecretAccessKey>\n"+
			"      <SessionToken>%s</SessionToken>\n      <Expiration>%s</Expiration>\n    </Credentials>\n",
		awssim.XMLEscape(roleID), awssim.XMLEscape(arn), cred.AccessKeyID, awssim.XMLEscape(cred.SecretAccessKey),
		awssim.XMLEscape(cred.SessionToken), cred.Expiration.Format(time.RFC3339)))
}

func lengthRule(n, lo, hi int) string {
	if n < lo {
		return fmt.Sprintf("greater than or equal to %d", lo)
	}
	return fmt.Sprintf("less than or equal to %d", hi)
}
