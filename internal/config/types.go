package config

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

const redacted = "[redacted]"

// Secret holds a credential. Every way of printing it (fmt verbs, slog, JSON, YAML) shows
// "[redacted]"; only Value returns the text.
//
// The text is behind a pointer: when fmt meets a verb that does not fit a value (%s of a struct
// pointer), it prints the fields of what it points to without calling their methods, and a
// pointer field then shows only its address.
type Secret struct{ v *string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: &s} }

// Value returns the secret's text, for the one place that must send it.
func (s Secret) Value() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsSet reports whether the secret is not empty.
func (s Secret) IsSet() bool { return s.Value() != "" }

func (s Secret) String() string {
	if !s.IsSet() {
		return ""
	}
	return redacted
}

// GoString keeps %#v from showing the value.
func (s Secret) GoString() string { return "config.Secret{" + strconv.Quote(s.String()) + "}" }

// Format makes every fmt verb print the redacted form.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue keeps slog from showing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoders from showing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML keeps YAML encoders from showing the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML takes a scalar.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return typeError(n, "a secret must be a string")
	}
	*s = NewSecret(n.Value)
	return nil
}

// ByteSize is a size in bytes written as a number or with a unit: 512, 64KiB, 1MB, 10MiB, 1GB.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

// ParseByteSize parses a size with an optional unit.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		// Units are read without regard to case (10kb, 10KB); KiB and KB stay distinct.
		if len(t) >= len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size (use a number of bytes or a unit: KiB, MiB, GiB, KB, MB, GB)", s)
	}
	return ByteSize(n * mult), nil
}

// UnmarshalYAML takes a number or a string with a unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return typeError(n, err.Error())
	}
	*b = v
	return nil
}

// typeError reports a value that does not fit as the decoder reports its own: it goes on
// decoding the other keys (any other error stops it at the first), and the loader puts the key's
// path on the message.
func typeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}

func (b ByteSize) String() string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return strconv.FormatInt(int64(b)>>30, 10) + "GiB"
	case b >= 1<<20 && b%(1<<20) == 0:
		return strconv.FormatInt(int64(b)>>20, 10) + "MiB"
	case b >= 1<<10 && b%(1<<10) == 0:
		return strconv.FormatInt(int64(b)>>10, 10) + "KiB"
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// FileMode is a file's permission bits, written in octal as in chmod: 0600, "0640", 0o600.
// The leading zero is optional (600 is 0600): a mode is always octal.
type FileMode uint32

// ParseFileMode reads an octal permission mode of at most 0777.
func ParseFileMode(s string) (FileMode, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0o"), "0O")
	n, err := strconv.ParseUint(t, 8, 32)
	if err != nil || t == "" || n > 0o777 {
		return 0, fmt.Errorf("%q is not a permission mode: want octal digits such as 0600 or 0640", s)
	}
	return FileMode(n), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (m *FileMode) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseFileMode(n.Value)
	if err != nil {
		return typeError(n, err.Error())
	}
	*m = v
	return nil
}

// String writes the mode as chmod takes it: 0600.
func (m FileMode) String() string { return fmt.Sprintf("%#o", uint32(m)) }

// Perm is the mode as os takes it.
func (m FileMode) Perm() os.FileMode { return os.FileMode(m) & os.ModePerm }

// Dir is the mode of a directory made for files of mode m: whoever may read the files may also
// enter the directory (0600 gives 0700, 0640 gives 0750).
func (m FileMode) Dir() os.FileMode {
	p := m.Perm()
	for _, b := range []struct{ r, x os.FileMode }{{0o400, 0o100}, {0o040, 0o010}, {0o004, 0o001}} {
		if p&b.r != 0 {
			p |= b.x
		}
	}
	return p
}
