package config_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/config"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want config.ByteSize
		ok   bool
	}{
		{"0", 0, true},
		{"512", 512, true},
		{"512B", 512, true},
		{"64KiB", 64 << 10, true},
		{"1KB", 1000, true},
		{"1MB", 1000 * 1000, true},
		{"10MiB", 10 << 20, true},
		{"1GiB", 1 << 30, true},
		{"2GB", 2 * 1000 * 1000 * 1000, true},
		{" 4 KiB ", 4 << 10, true},
		{"100 B", 100, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"8589934591GiB", 8589934591 << 30, true}, // the largest GiB that fits

		{"", 0, false},
		{"KiB", 0, false},
		{"B", 0, false},
		{"-1", 0, false},
		{"-1KiB", 0, false},
		{"1.5MiB", 0, false},
		{"1e3", 0, false},
		{"0x10", 0, false},
		{"1_000", 0, false},
		{"10kb", 10_000, true}, // units are read without regard to case
		{"10 kib", 10 << 10, true},
		{"1TB", 0, false},
		{"1TiB", 0, false},
		{"1 2", 0, false},
		{"fast", 0, false},
		{"64KiBKiB", 0, false},
		{"9223372036854775808", 0, false},
		{"8589934592GiB", 0, false}, // 2^63: would wrap to a negative size
		{"9223372036854775807KiB", 0, false},
		{"9300000000GB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := config.ParseByteSize(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatalf("= %d, want an error", got)
				}
				want := strconv.Quote(tt.in) + " is not a size (use a number of bytes or a unit: KiB, MiB, GiB, KB, MB, GB)"
				if err.Error() != want {
					t.Errorf("err = %q, want %q", err, want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestByteSizeString(t *testing.T) {
	for b, want := range map[config.ByteSize]string{
		0:             "0B",
		1:             "1B",
		1023:          "1023B",
		1024:          "1KiB",
		1536:          "1536B",
		64 << 10:      "64KiB",
		1 << 20:       "1MiB",
		1<<20 + 1024:  "1025KiB",
		4 << 20:       "4MiB",
		1 << 30:       "1GiB",
		3<<30 + 1<<20: "3073MiB",
		1000 * 1000:   "1000000B",
		math.MaxInt64: "9223372036854775807B",
	} {
		if got := b.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(b), got, want)
		}
		// What String writes, ParseByteSize reads back.
		if back, err := config.ParseByteSize(b.String()); err != nil || back != b {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", b.String(), back, err, b)
		}
	}
}

func TestByteSizeUnmarshalYAML(t *testing.T) {
	var v struct {
		A config.ByteSize `yaml:"a"`
		B config.ByteSize `yaml:"b"`
		C config.ByteSize `yaml:"c"`
	}
	if err := yaml.Unmarshal([]byte("a: 64KiB\nb: 100\nc: '2 MB'\n"), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 64<<10 || v.B != 100 || v.C != 2000000 {
		t.Errorf("%+v", v)
	}

	// A bad size is a type error with its line; the decoder goes on with the other keys.
	v.A, v.B, v.C = 0, 0, 0
	err := yaml.Unmarshal([]byte("a: huge\nb: 5KiB\nc: -1\n"), &v)
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		t.Fatalf("err = %T %v, want a *yaml.TypeError", err, err)
	}
	want := []string{
		`line 1: "huge" is not a size (use a number of bytes or a unit: KiB, MiB, GiB, KB, MB, GB)`,
		`line 3: "-1" is not a size (use a number of bytes or a unit: KiB, MiB, GiB, KB, MB, GB)`,
	}
	if strings.Join(te.Errors, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(te.Errors, "\n"), strings.Join(want, "\n"))
	}
	if v.B != 5<<10 {
		t.Errorf("b = %d: decoding stopped at the first bad size", v.B)
	}
}

func TestSecretUnmarshalYAML(t *testing.T) {
	var v struct {
		S config.Secret `yaml:"s"`
		N int           `yaml:"n"`
	}
	if err := yaml.Unmarshal([]byte("s: 'hunter2'\n"), &v); err != nil || v.S.Value() != "hunter2" {
		t.Fatalf("%v %q", err, v.S.Value())
	}
	err := yaml.Unmarshal([]byte("s: {a: 1}\nn: 4\n"), &v)
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) != 1 || te.Errors[0] != "line 1: a secret must be a string" {
		t.Fatalf("err = %v", err)
	}
	if v.N != 4 {
		t.Errorf("n = %d: decoding stopped at the secret", v.N)
	}
}

func TestFileMode(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    config.FileMode
		dir     os.FileMode
		invalid bool
	}{
		{in: "0600", want: 0o600, dir: 0o700},
		{in: "600", want: 0o600, dir: 0o700},
		{in: "0o640", want: 0o640, dir: 0o750},
		{in: "0644", want: 0o644, dir: 0o755},
		{in: "0400", want: 0o400, dir: 0o500},
		{in: "0800", invalid: true},
		{in: "01777", invalid: true},
		{in: "rw-------", invalid: true},
		{in: "", invalid: true},
	} {
		m, err := config.ParseFileMode(tc.in)
		if (err != nil) != tc.invalid {
			t.Errorf("%q: error %v, want invalid=%v", tc.in, err, tc.invalid)
			continue
		}
		if tc.invalid {
			continue
		}
		if m != tc.want || m.Dir() != tc.dir || m.String() != fmt.Sprintf("%#o", uint32(tc.want)) {
			t.Errorf("%q: %v (dir %v); want %v (dir %v)", tc.in, m, m.Dir(), tc.want, tc.dir)
		}
	}
}
