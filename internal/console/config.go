package console

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
)

// Role is what a console user may do: a viewer looks, an admin also changes.
type Role string

// The roles.
const (
	RoleViewer Role = "viewer"
	RoleAdmin  Role = "admin"
)

// CanChange reports whether the role may change the configuration or the dead letters.
func (r Role) CanChange() bool { return r == RoleAdmin }

// SectionKey is the top-level key of the console's configuration (config.Section).
const SectionKey = "console"

// DefaultListen is where the console listens when the section leaves `listen` out.
const DefaultListen = "127.0.0.1:9871"

// DefaultSessionTTL is how long a session lasts after its login.
const DefaultSessionTTL = 12 * time.Hour

// MinTokenLength is the shortest token a token_file may hold.
const MinTokenLength = 16

// Config is the `console:` section.
type Config struct {
	// Listen is host:port of the console; empty turns it off.
	Listen string `yaml:"listen"`
	// TLS serves the console over HTTPS with a certificate file.
	TLS TLS `yaml:"tls"`
	// Users may log in with a name and a password, checked against a bcrypt hash.
	Users []User `yaml:"users"`
	// TokenFile holds a token that logs in as an admin (the first line of the file).
	TokenFile string `yaml:"token_file"`
	// SessionTTL is how long a session lasts after its login.
	SessionTTL time.Duration `yaml:"session_ttl"`
}

// String is the section as `validate` prints it: where it serves and who may log in, no
// secret.
func (c *Config) String() string {
	if c.Listen == "" {
		return "off (no listen)"
	}
	scheme := "http"
	if c.TLS.Enabled() {
		scheme = "https"
	}
	var who []string
	if n := len(c.Users); n > 0 {
		roles := map[Role]int{}
		for _, u := range c.Users {
			roles[u.Role]++
		}
		who = append(who, fmt.Sprintf("%d user(s): %d admin, %d viewer", n, roles[RoleAdmin], roles[RoleViewer]))
	}
	if c.TokenFile != "" {
		who = append(who, "an admin token from "+c.TokenFile)
	}
	return fmt.Sprintf("%s://%s, login: %s, sessions of %s", scheme, c.Listen, strings.Join(who, " and "), c.SessionTTL)
}

// User is one console login.
type User struct {
	Name string `yaml:"name"`
	// PasswordHash is a bcrypt hash of the password (`htpasswd -nbBC 12 "" PASSWORD` prints
	// one after the colon).
	PasswordHash config.Secret `yaml:"password_hash"`
	// Role is viewer or admin.
	Role Role `yaml:"role"`
}

// TLS is the console's server certificate. netconf.TLS describes how a client checks a server
// (ca_file, server_name, insecure_skip_verify), which a server has no use for, so the console
// takes only the keys a server needs, with the same names and meaning.
type TLS struct {
	// CertFile and KeyFile are the server's certificate chain and key (PEM); both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// MinVersion is the lowest TLS version accepted: "1.2" (empty: the default) or "1.3".
	MinVersion string `yaml:"min_version"`
}

// Enabled reports whether the console serves HTTPS.
func (t TLS) Enabled() bool { return t.CertFile != "" }

var _ config.Validator = TLS{}

// Validate implements config.Validator: the checks of every TLS section (netconf).
func (t TLS) Validate() error {
	var p config.Problems
	netconf.CheckKeyPair(&p, t.CertFile, t.KeyFile, t.MinVersion)
	return p.Err()
}

// ServerConfig returns the TLS configuration of the console's listener.
func (t TLS) ServerConfig() (*tls.Config, error) {
	v, ok := netconf.TLSVersion(t.MinVersion)
	if !ok {
		return nil, fmt.Errorf("console.tls.min_version: %q is not 1.2 or 1.3", t.MinVersion)
	}
	pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("console.tls.cert_file, console.tls.key_file: %w", err)
	}
	return &tls.Config{MinVersion: v, Certificates: []tls.Certificate{pair}}, nil
}

// NewConfig returns the section's defaults: listen on 127.0.0.1:9871, sessions of 12 hours, no
// TLS and no login (which Validate refuses while the console listens: give users or
// token_file).
func NewConfig() *Config {
	return &Config{Listen: DefaultListen, SessionTTL: DefaultSessionTTL}
}

var _ config.Validator = (*Config)(nil)

// Validate implements config.Validator: each problem starts with its key below console.
func (c *Config) Validate() error {
	var p config.Problems
	if c.Listen == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		p.Addf("listen: %q is not host:port", c.Listen)
	} else if _, err := net.LookupPort("tcp", port); err != nil {
		p.Addf("listen: %q: the port is not 0-65535 (or a service name of this machine)", c.Listen)
	}
	if c.SessionTTL <= 0 {
		p.Addf("session_ttl: must be positive")
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		switch {
		case u.Name == "":
			p.Addf("users[%d].name: missing", i)
		case seen[u.Name]:
			p.Addf("users[%d].name: %q is given twice", i, u.Name)
		case strings.ContainsAny(u.Name, " \t\r\n"):
			p.Addf("users[%d].name: %q must not hold spaces", i, u.Name)
		case u.Name == tokenUser:
			p.Addf("users[%d].name: %q is reserved: it is who a login with the token_file's token is", i, u.Name)
		case len(u.Name) > maxLoginName:
			p.Addf("users[%d].name: longer than %d bytes (the login takes no longer name)", i, maxLoginName)
		}
		seen[u.Name] = true
		if !u.PasswordHash.IsSet() {
			p.Addf("users[%d].password_hash: missing (a bcrypt hash, such as htpasswd -nbBC 12 \"\" PASSWORD prints after the colon)", i)
		} else if _, err := bcrypt.Cost([]byte(u.PasswordHash.Value())); err != nil {
			p.Addf("users[%d].password_hash: not a bcrypt hash ($2a$, $2b$ or $2y$ followed by the cost): %v", i, err)
		}
		if u.Role != RoleViewer && u.Role != RoleAdmin {
			p.Addf("users[%d].role: %q is not viewer or admin", i, u.Role)
		}
	}
	if c.TokenFile != "" {
		if _, err := ReadTokenFile(c.TokenFile); err != nil {
			p.Addf("token_file: %v", err)
		}
	}
	if len(c.Users) == 0 && c.TokenFile == "" {
		p.Addf("users, token_file: the console needs a login: give users (name, password_hash, role) or a token_file, or set listen to \"\" to turn the console off")
	}
	if err == nil && !isLoopback(host) && !c.TLS.Enabled() {
		p.Addf("listen: %q is reachable from other machines, and without tls.cert_file the passwords and the session cookies would cross the network in clear: give tls.cert_file and tls.key_file, or listen on 127.0.0.1", c.Listen)
	}
	return p.Err()
}

var _ config.Warner = (*Config)(nil)

// Warnings implements config.Warner: a token file other users of the machine can read.
func (c *Config) Warnings() []string {
	if c.Listen == "" || c.TokenFile == "" {
		return nil
	}
	fi, err := os.Stat(c.TokenFile)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return nil // Validate reports a missing file
	}
	return []string{fmt.Sprintf("token_file: %s is readable by other users of this machine (mode %#o), and its token logs in as admin: chmod 600 it", c.TokenFile, fi.Mode().Perm())}
}

// ReadTokenFile returns the token of a token file: its first line, trimmed. A missing file,
// an empty one, or a token shorter than MinTokenLength is an error.
func ReadTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	tok = strings.TrimSpace(tok)
	if len(tok) < MinTokenLength {
		return "", fmt.Errorf("%s: the token (its first line) must be at least %d characters", path, MinTokenLength)
	}
	return tok, nil
}

// isLoopback reports whether host is a name or address only this machine reaches.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
