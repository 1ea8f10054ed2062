package syslog

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/mapping"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
)

// Protocols, framings, headers, formats and oversize policies, as written in the configuration.
const (
	ProtoUDP = "udp"
	ProtoTCP = "tcp"
	ProtoTLS = "tls"

	FramingOctetCounting = "octet_counting"
	FramingNewline       = "newline"

	HeaderRFC5424 = "rfc5424"
	HeaderRFC3164 = "rfc3164"

	FormatCEF  = "cef"
	FormatLEEF = "leef"
	FormatJSON = "json"

	OversizeRefuse   = "refuse"
	OversizeTruncate = "truncate"
)

// Default message limits by protocol: RFC 5426 asks every UDP receiver to take 2048-byte
// messages; over TCP and TLS, 64 KiB holds every CloudTrail record but the rare giant.
const (
	DefaultMaxUDP = 2048
	DefaultMaxTCP = 64 << 10
)

// Config is the syslog destination's configuration.
type Config struct {
	// Address is the receiver, host:port.
	Address string `yaml:"address"`
	// Protocol is udp, tcp or tls.
	Protocol string `yaml:"protocol"`
	// Framing is octet_counting (RFC 6587 §3.4.1) or newline (§3.4.2), for tcp and tls; empty:
	// octet_counting with rfc5424 headers, newline with rfc3164.
	Framing string `yaml:"framing"`
	// Header is rfc5424 or rfc3164.
	Header string `yaml:"header"`
	// Facility is the syslog facility name (kern ... local7) or number (0-23).
	Facility string `yaml:"facility"`
	// Severity is the syslog severity of every message (emerg ... debug, or 0-7).
	Severity string `yaml:"severity"`
	// AppName is the RFC 5424 APP-NAME, or the RFC 3164 TAG.
	AppName string `yaml:"app_name"`
	// Hostname is the HOSTNAME when the record carries no log-source identifier; empty: the
	// machine's host name.
	Hostname string `yaml:"hostname"`
	// StructuredData adds an RFC 5424 SD element naming the record's source, type and id.
	StructuredData bool `yaml:"structured_data"`
	// Format is cef, leef or json.
	Format string `yaml:"format"`
	// Mapping is a Cloud Exchange syslog mapping file; the kinds it defines replace the
	// built-in ones (alerts and events: Netskope; cloudtrail: CloudTrail records).
	Mapping string `yaml:"mapping"`
	// TenantName replaces "$tenant_name" in Netskope mapping headers; empty: the record's
	// source configuration name.
	TenantName string `yaml:"tenant_name"`
	// LEEFDelimiter separates LEEF attributes: one character, or "tab".
	LEEFDelimiter string `yaml:"leef_delimiter"`
	// JSONEnvelope wraps each JSON record with where it came from.
	JSONEnvelope bool `yaml:"json_envelope"`
	// MaxMessageBytes is the largest message (syslog header included, framing excluded); 0:
	// 2048 over UDP, 65536 over TCP and TLS.
	MaxMessageBytes config.ByteSize `yaml:"max_message_bytes"`
	// Oversize says what happens to a longer message: refuse (dead-letter the record) or
	// truncate (send its first max_message_bytes, counted).
	Oversize string `yaml:"oversize"`
	// TLS is the trust and client certificate for protocol tls (RFC 5425): netconf.TLS, the
	// section every plugin shares; server_name defaults to the host of address.
	TLS netconf.TLS `yaml:"tls"`
	// DialTimeout bounds connecting (and the TLS handshake).
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// WriteTimeout bounds writing one batch to the connection.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// KeepAlive is the TCP keep-alive period; negative turns keep-alives off.
	KeepAlive time.Duration `yaml:"keepalive"`
	// Reconnects is how many times one Write reconnects and sends its batch again before it
	// gives the batch back to the engine to retry later.
	Reconnects int `yaml:"reconnects"`
	// AckEvery is how many messages of a batch are written before the records they carry are
	// acknowledged to their sources (which save their positions), within the batch; 0: once
	// the whole batch is written. A receiver never answers: what a kill -9 makes a restart send
	// again is what was written and not yet saved.
	AckEvery int `yaml:"ack_every"`
}

var _ plugin.Config = (*Config)(nil)

// NewConfig returns the defaults.
func NewConfig() plugin.Config {
	return &Config{
		Protocol:      ProtoTCP,
		Header:        HeaderRFC5424,
		Facility:      "local4",
		Severity:      "info",
		AppName:       "logshipper",
		Format:        FormatCEF,
		LEEFDelimiter: "tab",
		Oversize:      OversizeRefuse,
		DialTimeout:   10 * time.Second,
		WriteTimeout:  30 * time.Second,
		KeepAlive:     30 * time.Second,
		Reconnects:    3,
		AckEvery:      DefaultAckEvery,
	}
}

// DefaultAckEvery is the messages written between two acknowledgements within a batch.
const DefaultAckEvery = 50

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "console": 14,
	"solaris-cron": 15, "local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20,
	"local5": 21, "local6": 22, "local7": 23,
}

var severities = map[string]int{
	"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7,
}

func lookupCode(s string, names map[string]int, max int) (int, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if n, ok := names[s]; ok {
		return n, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n <= max
}

// pri is the PRI value: facility*8 + severity.
func (c *Config) pri() int {
	f, _ := lookupCode(c.Facility, facilities, 23)
	s, _ := lookupCode(c.Severity, severities, 7)
	return f*8 + s
}

func (c *Config) framing() string {
	if c.Framing != "" {
		return c.Framing
	}
	if c.Header == HeaderRFC3164 {
		return FramingNewline
	}
	return FramingOctetCounting
}

func (c *Config) maxMessage() int {
	if c.MaxMessageBytes > 0 {
		return int(c.MaxMessageBytes)
	}
	if c.Protocol == ProtoUDP {
		return DefaultMaxUDP
	}
	return DefaultMaxTCP
}

func (c *Config) leefDelimiter() byte {
	if c.LEEFDelimiter == "" || strings.EqualFold(c.LEEFDelimiter, "tab") {
		return '\t'
	}
	return c.LEEFDelimiter[0]
}

// Validate implements plugin.Config, reporting every problem.
func (c *Config) Validate() error {
	var p config.Problems
	if c.Address == "" {
		p.Addf("address: missing (host:port of the syslog receiver)")
	} else if host, port, err := net.SplitHostPort(c.Address); err != nil || host == "" {
		p.Addf("address: %q is not host:port", c.Address)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		p.Addf("address: port %q is not 1-65535", port)
	}
	oneOf(&p, "protocol", c.Protocol, ProtoUDP, ProtoTCP, ProtoTLS)
	if c.Framing != "" {
		oneOf(&p, "framing", c.Framing, FramingOctetCounting, FramingNewline)
	}
	oneOf(&p, "header", c.Header, HeaderRFC5424, HeaderRFC3164)
	oneOf(&p, "format", c.Format, FormatCEF, FormatLEEF, FormatJSON)
	oneOf(&p, "oversize", c.Oversize, OversizeRefuse, OversizeTruncate)
	if _, ok := lookupCode(c.Facility, facilities, 23); !ok {
		p.Addf("facility: %q is not a facility name (kern ... local7) or 0-23", c.Facility)
	}
	if _, ok := lookupCode(c.Severity, severities, 7); !ok {
		p.Addf("severity: %q is not a severity name (emerg ... debug) or 0-7", c.Severity)
	}
	if !printable(c.AppName) || len(c.AppName) > 48 {
		p.Addf("app_name: %q must be 1 to 48 printable ASCII characters without spaces (RFC 5424)", c.AppName)
	}
	if c.Hostname != "" && (!printable(c.Hostname) || len(c.Hostname) > 255) {
		p.Addf("hostname: %q must be up to 255 printable ASCII characters without spaces", c.Hostname)
	}
	if d := c.LEEFDelimiter; !strings.EqualFold(d, "tab") && (len(d) != 1 || d == "|" || d == "=" || d == `\` || d[0] <= 0x20 || d[0] > 0x7e || isKeyByte(d[0])) {
		p.Addf(`leef_delimiter: %q must be "tab" or one printable ASCII punctuation character other than |, = and \`, d)
	}
	if c.MaxMessageBytes < 0 || (c.MaxMessageBytes > 0 && c.MaxMessageBytes < 480) {
		p.Addf("max_message_bytes: must be 0 (the protocol's default) or at least 480 (RFC 5424 §6.1)")
	}
	if c.Protocol == ProtoUDP && c.MaxMessageBytes > 65507 {
		p.Addf("max_message_bytes: a UDP datagram holds at most 65507 bytes")
	}
	if c.DialTimeout <= 0 {
		p.Addf("dial_timeout: must be positive")
	}
	if c.WriteTimeout <= 0 {
		p.Addf("write_timeout: must be positive")
	}
	if c.Reconnects < 0 || c.Reconnects > 100 {
		p.Addf("reconnects: must be 0 to 100")
	}
	if c.AckEvery < 0 {
		p.Addf("ack_every: must be 0 (once per batch) or more")
	}
	if c.Mapping != "" {
		if _, err := mapping.LoadFile(c.Mapping); err != nil {
			// LoadFile's error starts with "mapping: " when the file cannot be read.
			p.Addf("mapping: %s", strings.TrimPrefix(err.Error(), "mapping: "))
		}
	}
	if c.Protocol != ProtoTLS && !c.TLS.IsZero() {
		p.Addf("tls: set, but protocol is %q (use protocol: tls)", c.Protocol)
	}
	return p.Err()
}

func oneOf(p *config.Problems, key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	p.Addf("%s: %q is not one of %s", key, v, strings.Join(allowed, ", "))
}

// printable reports whether s is non-empty PRINTUSASCII (33-126), as RFC 5424 header fields are.
func printable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}
