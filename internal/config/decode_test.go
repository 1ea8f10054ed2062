package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
)

type decodeTarget struct {
	Listen string `yaml:"listen"`
	Gen    struct {
		Rate float64       `yaml:"rate"`
		Span time.Duration `yaml:"span"`
	} `yaml:"generate"`
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each a problem's text, in order; none: no error
	}{
		{"valid", "listen: a\ngenerate: {rate: 2, span: 1h}\n", nil},
		{"empty", "", nil},
		{"only comments", "# nothing\n", nil},
		{"unknown key with suggestion", "listen: a\ngenerate:\n  rat: 2\n",
			[]string{`c.yaml: line 3: generate.rat: unknown key`, `did you mean "rate"`}},
		{"type error in words", "generate:\n  rate: fast\n",
			[]string{"c.yaml: line 2: generate.rate: cannot use a string `fast` as a number"}},
		{"every problem at once", "lisen: a\ngenerate:\n  span: soon\n",
			[]string{"line 1: lisen", "line 3: generate.span: cannot use a string `soon` as a duration"}},
		{"not a mapping", "- a\n", []string{"line 1: the top level must be a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out decodeTarget
			err := config.DecodeStrict([]byte(tt.yaml), "c.yaml", &out)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want *config.Error", err, err)
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q (in order)", msg, w)
				}
				at += i
			}
		})
	}
}
