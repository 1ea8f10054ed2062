// Package imds simulates the EC2 instance metadata service (IMDS) of one instance with an IAM
// role: IMDSv2 session tokens (IMDSv1 refused unless allowed), the instance's metadata, its
// identity document, and the role's temporary credentials, which it adds to the simulator's
// keyring and rotates before they expire, as EC2 does.
package imds

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// Protocol facts.
const (
	TokenPath      = "/latest/api/token"
	TokenHeader    = "X-Aws-Ec2-Metadata-Token"
	TokenTTLHeader = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	MaxTokenTTL    = 21600 // seconds
)

// Defaults of Config.
const (
	DefaultRoleName           = "cloudsim-instance-role"
	DefaultAccountID          = "123456789012"
	DefaultRegion             = "us-east-1"
	DefaultInstanceID         = "i-0c10d5133e4a7f001"
	DefaultInstanceType       = "m5.large"
	DefaultImageID            = "ami-0c2b8ca1dad447f8a"
	DefaultPrivateIP          = "172.31.16.20"
	DefaultCredentialLifetime = 6 * time.Hour
	DefaultRotateBefore       = 15 * time.Minute
)

// Config describes the simulated instance.
type Config struct {
	// Keys receives the role's temporary credentials, so that the verifier accepts them.
	Keys *awssim.Keyring
	// RoleName is the instance profile's role (default DefaultRoleName).
	RoleName string
	// AccountID is the instance's account (default DefaultAccountID).
	AccountID string
	// Region is the instance's region (default DefaultRegion); AvailabilityZone defaults to
	// Region + "a".
	Region           string
	AvailabilityZone string
	InstanceID       string
	InstanceType     string
	ImageID          string
	PrivateIP        string
	// UserData, when set, is served at /latest/user-data.
	UserData string
	// CredentialLifetime is how long each set of role credentials is valid (default 6 h).
	CredentialLifetime time.Duration
	// RotateBefore is how long before expiry new credentials replace the current ones (default
	// 15 min; EC2 promises at least 5). The old ones keep working until they expire.
	RotateBefore time.Duration
	// AllowIMDSv1 serves GETs that carry no session token. By default the instance requires
	// IMDSv2 (HttpTokens=required) and answers them 401.
	AllowIMDSv1 bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is the metadata service. It is an http.Handler to serve on its own listener, the
// simulator's 169.254.169.254 (clients reach it through AWS_EC2_METADATA_SERVICE_ENDPOINT).
type Server struct {
	cfg Config

	mu       sync.Mutex
	tokens   map[string]time.Time // session token -> expiry
	cred     *awssim.Credential   // current role credentials
	issuedAt time.Time
	v1       bool
}

// New returns a metadata server for cfg; Keys is required.
func New(cfg Config) *Server {
	if cfg.Keys == nil {
		panic("imds: Config.Keys is required")
	}
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&cfg.RoleName, DefaultRoleName)
	def(&cfg.AccountID, DefaultAccountID)
	def(&cfg.Region, DefaultRegion)
	def(&cfg.AvailabilityZone, cfg.Region+"a")
	def(&cfg.InstanceID, DefaultInstanceID)
	def(&cfg.InstanceType, DefaultInstanceType)
	def(&cfg.ImageID, DefaultImageID)
	def(&cfg.PrivateIP, DefaultPrivateIP)
	if cfg.CredentialLifetime <= 0 {
		cfg.CredentialLifetime = DefaultCredentialLifetime
	}
	if cfg.RotateBefore <= 0 {
		cfg.RotateBefore = DefaultRotateBefore
	}
	if cfg.RotateBefore >= cfg.CredentialLifetime {
		cfg.RotateBefore = cfg.CredentialLifetime / 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg, tokens: map[string]time.Time{}, v1: cfg.AllowIMDSv1}
}

// SetIMDSv1 switches whether GETs without a session token are served.
func (s *Server) SetIMDSv1(allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.v1 = allowed
}

// RoleARN returns the IAM role's ARN.
func (s *Server) RoleARN() string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", awssim.Partition(s.cfg.Region), s.cfg.AccountID, s.cfg.RoleName)
}

// AssumedRoleARN returns the ARN the role's credentials sign as:
// arn:aws:sts::<account>:assumed-role/<role>/<instance-id>.
func (s *Server) AssumedRoleARN() string {
	return fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", awssim.Partition(s.cfg.Region), s.cfg.AccountID, s.cfg.RoleName, s.cfg.InstanceID)
}

// InstanceID returns the instance id.
func (s *Server) InstanceID() string { return s.cfg.InstanceID }

// Credentials returns the role's current credentials, issuing new ones (and adding them to the
// keyring) when there are none yet or the current ones are due for rotation.
func (s *Server) Credentials() awssim.Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if s.cred == nil || !now.Before(s.cred.Expiration.Add(-s.cfg.RotateBefore)) {
		s.rotateLocked(now)
	}
	return *s.cred
}

// Rotate issues new role credentials now; the previous ones keep working until they expire.
func (s *Server) Rotate() awssim.Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotateLocked(s.cfg.Now())
	return *s.cred
}

func (s *Server) rotateLocked(now time.Time) {
	userID := awssim.StableID("AROA", s.RoleARN()) + ":" + s.cfg.InstanceID
	c := awssim.NewTemporaryCredential(s.cfg.AccountID, s.AssumedRoleARN(), userID, now.Add(s.cfg.CredentialLifetime))
	s.cfg.Keys.PruneExpired(now.Add(-24 * time.Hour))
	s.cfg.Keys.Add(c)
	s.cred = &c
	s.issuedAt = now.UTC().Truncate(time.Second)
}

// ServeHTTP answers one metadata request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "EC2ws")
	if r.URL.Path == TokenPath {
		if r.Method != http.MethodPut {
			w.Header().Set("Allow", "OPTIONS, PUT")
			httpError(w, http.StatusMethodNotAllowed)
			return
		}
		s.putToken(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "OPTIONS, GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed)
		return
	}
	ttl, ok := s.authorize(r)
	if !ok {
		httpError(w, http.StatusUnauthorized)
		return
	}
	if ttl > 0 {
		w.Header().Set(TokenTTLHeader, strconv.Itoa(ttl))
	}
	body, found := s.lookup(strings.TrimPrefix(r.URL.Path, "/"))
	if !found {
		httpError(w, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

// putToken issues an IMDSv2 session token.
func (s *Server) putToken(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Forwarded-For") != "" {
		// IMDS refuses token requests that went through a proxy.
		httpError(w, http.StatusForbidden)
		return
	}
	raw := r.Header.Get(TokenTTLHeader)
	ttl, err := strconv.Atoi(strings.TrimSpace(raw))
	if raw == "" || err != nil || ttl < 1 || ttl > MaxTokenTTL {
		httpError(w, http.StatusBadRequest)
		return
	}
	b := make([]byte, 42)
	_, _ = rand.Read(b)
	token := "AQAEA" + base64.RawURLEncoding.EncodeToString(b)
	now := s.cfg.Now()
	s.mu.Lock()
	for t, exp := range s.tokens {
		if !now.Before(exp) {
			delete(s.tokens, t)
		}
	}
	s.tokens[token] = now.Add(time.Duration(ttl) * time.Second)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set(TokenTTLHeader, strconv.Itoa(ttl))
	w.Header().Set("Content-Length", strconv.Itoa(len(token)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(token))
}

// authorize checks the session token of a GET: a token, when sent, must be valid; without one
// the request is served only when IMDSv1 is allowed. It returns the token's remaining seconds.
func (s *Server) authorize(r *http.Request) (int, bool) {
	token := r.Header.Get(TokenHeader)
	s.mu.Lock()
	defer s.mu.Unlock()
	if token == "" {
		return 0, s.v1
	}
	exp, ok := s.tokens[token]
	now := s.cfg.Now()
	if !ok || !now.Before(exp) {
		return 0, false
	}
	return int(exp.Sub(now).Seconds() + 0.5), true
}

// lookup returns the document at path (without the leading slash), or the listing of the
// directory there.
func (s *Server) lookup(path string) (string, bool) {
	leaves := s.leaves()
	key := strings.TrimSuffix(path, "/")
	if f, ok := leaves[key]; ok && !strings.HasSuffix(path, "/") {
		return f(), true
	}
	prefix := key + "/"
	if key == "" {
		prefix = ""
	}
	dirs := map[string]bool{} // entry name -> whether it is a directory
	for k := range leaves {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		head, _, deeper := strings.Cut(rest, "/")
		dirs[head] = dirs[head] || deeper
	}
	if len(dirs) == 0 {
		return "", false
	}
	names := make([]string, 0, len(dirs))
	for n, dir := range dirs {
		// The version and category listings name their entries without slashes.
		if dir && key != "" && key != "latest" {
			n += "/"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "\n"), true
}

// leaves returns the documents the service serves, by path.
func (s *Server) leaves() map[string]func() string {
	c := s.cfg
	static := func(v string) func() string { return func() string { return v } }
	hostname := "ip-" + strings.ReplaceAll(c.PrivateIP, ".", "-") + "." + c.Region + ".compute.internal"
	if c.Region == "us-east-1" {
		hostname = "ip-" + strings.ReplaceAll(c.PrivateIP, ".", "-") + ".ec2.internal"
	}
	m := map[string]func() string{
		"latest/meta-data/ami-id":                                 static(c.ImageID),
		"latest/meta-data/hostname":                               static(hostname),
		"latest/meta-data/local-hostname":                         static(hostname),
		"latest/meta-data/local-ipv4":                             static(c.PrivateIP),
		"latest/meta-data/instance-id":                            static(c.InstanceID),
		"latest/meta-data/instance-type":                          static(c.InstanceType),
		"latest/meta-data/placement/availability-zone":            static(c.AvailabilityZone),
		"latest/meta-data/placement/region":                       static(c.Region),
		"latest/meta-data/iam/info":                               s.iamInfo,
		"latest/meta-data/iam/security-credentials/" + c.RoleName: s.credentialDocument,
		"latest/dynamic/instance-identity/document":               s.identityDocument,
	}
	if c.UserData != "" {
		m["latest/user-data"] = static(c.UserData)
	}
	return m
}

// credentialDocument is the role credentials document, laid out as IMDS lays it out.
func (s *Server) credentialDocument() string {
	c := s.Credentials()
	s.mu.Lock()
	issued := s.issuedAt
	s.mu.Unlock()
	return prettyJSON([][2]any{
		{"Code", "Success"},
		{"LastUpdated", issued.Format(time.RFC3339)},
		{"Type", "AWS-HMAC"},
		{"AccessKeyId", c.AccessKeyID},
		{"SecretAccessKey", c.SecretAccessKey},
		{"Token", c.SessionToken},
		{"Expiration", c.Expiration.UTC().Format(time.RFC3339)},
	})
}

func (s *Server) iamInfo() string {
	s.Credentials()
	s.mu.Lock()
	issued := s.issuedAt
	s.mu.Unlock()
	profile := fmt.Sprintf("arn:%s:iam::%s:instance-profile/%s", awssim.Partition(s.cfg.Region), s.cfg.AccountID, s.cfg.RoleName)
	return prettyJSON([][2]any{
		{"Code", "Success"},
		{"LastUpdated", issued.Format(time.RFC3339)},
		{"InstanceProfileArn", profile},
		{"InstanceProfileId", awssim.StableID("AIPA", profile)},
	})
}

func (s *Server) identityDocument() string {
	c := s.cfg
	return prettyJSON([][2]any{
		{"accountId", c.AccountID},
		{"architecture", "x86_64"},
		{"availabilityZone", c.AvailabilityZone},
		{"billingProducts", nil},
		{"devpayProductCodes", nil},
		{"marketplaceProductCodes", nil},
		{"imageId", c.ImageID},
		{"instanceId", c.InstanceID},
		{"instanceType", c.InstanceType},
		{"kernelId", nil},
		{"pendingTime", "2024-01-02T03:04:05Z"},
		{"privateIp", c.PrivateIP},
		{"ramdiskId", nil},
		{"region", c.Region},
		{"version", "2017-09-30"},
	})
}

// prettyJSON writes an object with IMDS's layout: two-space indent and " : " between name and
// value.
func prettyJSON(fields [][2]any) string {
	var b strings.Builder
	b.WriteString("{\n")
	for i, f := range fields {
		k, _ := json.Marshal(f[0])
		v, _ := json.Marshal(f[1])
		b.WriteString("  ")
		b.Write(k)
		b.WriteString(" : ")
		b.Write(v)
		if i < len(fields)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}")
	return b.String()
}

// httpError answers with status and the HTML page IMDS sends with it.
func httpError(w http.ResponseWriter, status int) {
	title := fmt.Sprintf("%d - %s", status, http.StatusText(status))
	body := `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
	"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>` + title + `</title>
 </head>
 <body>
  <h1>` + title + `</h1>
 </body>
</html>
`
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
