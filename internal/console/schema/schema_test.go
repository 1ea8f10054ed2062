package schema_test

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/console/schema"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/plugins/all"
)

// TestEveryRegisteredPlugin derives the form of every plugin compiled in: each field has a
// kind and help text from a README, no key twice, no secret with a default, and every option
// of the plugin's configuration is in the form.
func TestEveryRegisteredPlugin(t *testing.T) {
	for _, f := range all.Registry().Factories() {
		t.Run(f.Type+"/"+f.Kind.String(), func(t *testing.T) {
			s, err := schema.Of(f)
			if err != nil {
				t.Fatal(err)
			}
			if s.Type != f.Type || s.Kind != f.Kind.String() {
				t.Errorf("schema of %s %s", s.Type, s.Kind)
			}
			seen := map[string]bool{}
			for _, fd := range s.Fields {
				if seen[fd.Key] {
					t.Errorf("%s: twice", fd.Key)
				}
				seen[fd.Key] = true
				if fd.Kind == "" {
					t.Errorf("%s: no kind", fd.Key)
				}
				if strings.TrimSpace(fd.Help) == "" {
					t.Errorf("%s: no help text (document it in the plugin's README option table)", fd.Key)
				}
				if fd.Secret && fd.Default != "" {
					t.Errorf("%s: a secret with a default %q", fd.Key, fd.Default)
				}
				for _, e := range fd.Enum {
					if e == "" {
						t.Errorf("%s: an empty enum value", fd.Key)
					}
				}
			}
			for _, key := range topKeys(f.NewConfig()) {
				if !seen[key] && !hasPrefix(seen, key+".") {
					t.Errorf("option %s is not in the form", key)
				}
			}
			if f.Kind == plugin.KindDestination && !seen["batch.max_records"] {
				t.Error("a destination's form lacks the delivery keys")
			}
			if f.Kind == plugin.KindSource && seen["batch.max_records"] {
				t.Error("a source's form has the delivery keys")
			}
		})
	}
}

// topKeys are the yaml keys of a configuration struct, inline structs' keys included.
func topKeys(cfg any) []string {
	var keys []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for i := range t.NumField() {
			name, opts, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			switch {
			case opts == "inline":
				walk(t.Field(i).Type)
			case name != "" && name != "-":
				keys = append(keys, name)
			}
		}
	}
	walk(reflect.TypeOf(cfg))
	return keys
}

func hasPrefix(m map[string]bool, p string) bool {
	for k := range m {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func TestFieldsOfKnownPlugins(t *testing.T) {
	reg := all.Registry()
	for _, tc := range []struct {
		typ, kind, key string
		check          func(t *testing.T, f schema.Field)
	}{
		{"netskope", "source", "api_token", func(t *testing.T, f schema.Field) {
			if !f.Secret || !f.Required || f.Kind != schema.KindString {
				t.Errorf("%+v: want a required secret string", f)
			}
		}},
		{"netskope", "source", "event_types", func(t *testing.T, f schema.Field) {
			if f.Kind != schema.KindList || !strings.HasPrefix(f.Default, "page\napplication\n") {
				t.Errorf("%+v: want a list defaulting to every event type", f)
			}
		}},
		{"netskope", "source", "tls.ca_file", func(t *testing.T, f schema.Field) {
			if f.Group != "tls" || !strings.Contains(f.Help, "PEM file of certificates trusted") {
				t.Errorf("%+v: want the tls group, with netconf's help", f)
			}
		}},
		{"http", "destination", "proxy.url", func(t *testing.T, f schema.Field) {
			// Not the http destination's own url.
			if f.Group != "proxy" || !strings.Contains(f.Help, "the proxy of the environment") {
				t.Errorf("%+v: want the proxy's help", f)
			}
		}},
		{"http", "destination", "headers", func(t *testing.T, f schema.Field) {
			if f.Kind != schema.KindMap || !f.Secret {
				t.Errorf("%+v: want a map of secrets", f)
			}
		}},
		{"syslog", "destination", "protocol", func(t *testing.T, f schema.Field) {
			if !slices.Equal(f.Enum, []string{"udp", "tcp", "tls"}) || f.Default != "tcp" {
				t.Errorf("%+v: want udp, tcp, tls, default tcp", f)
			}
		}},
		{"stdout", "destination", "stream", func(t *testing.T, f schema.Field) {
			if !slices.Equal(f.Enum, []string{"stdout", "stderr"}) || f.Default != "stdout" {
				t.Errorf("%+v", f)
			}
		}},
		{"file", "destination", "mode", func(t *testing.T, f schema.Field) {
			if f.Kind != schema.KindMode || f.Default != "0600" {
				t.Errorf("%+v: want mode 0600", f)
			}
		}},
		{"file", "destination", "max_size", func(t *testing.T, f schema.Field) {
			if f.Kind != schema.KindSize || f.Default != "100MiB" {
				t.Errorf("%+v: want size 100MiB", f)
			}
		}},
		{"file", "source", "poll_interval", func(t *testing.T, f schema.Field) {
			if f.Kind != schema.KindDuration || f.Default != "1s" {
				t.Errorf("%+v: want duration 1s", f)
			}
		}},
		{"aws_cloudwatch_logs", "source", "access_key_id", func(t *testing.T, f schema.Field) {
			if !f.Secret || f.Group != "" {
				t.Errorf("%+v: want a secret among the plugin's own options (inline awsauth)", f)
			}
		}},
		{"aws_cloudtrail_lake", "destination", "batch.max_records", func(t *testing.T, f schema.Field) {
			fa, _ := reg.Lookup("aws_cloudtrail_lake", plugin.KindDestination)
			if f.Group != "delivery" || f.Default != strconv.Itoa(fa.DeliveryDefaults().BatchMaxRecords) {
				t.Errorf("%+v: want the factory's delivery default", f)
			}
		}},
	} {
		t.Run(tc.typ+"/"+tc.key, func(t *testing.T) {
			k, _ := plugin.ParseKind(tc.kind)
			fa, ok := reg.Lookup(tc.typ, k)
			if !ok {
				t.Fatalf("no %s %s", tc.typ, tc.kind)
			}
			s, err := schema.Of(fa)
			if err != nil {
				t.Fatal(err)
			}
			f, ok := s.Field(tc.key)
			if !ok {
				t.Fatalf("no field %s", tc.key)
			}
			tc.check(t, f)
		})
	}
}

func TestParseOptionTables(t *testing.T) {
	md := "# `x` source\n\n" +
		"| option | default | meaning |\n|---|---|---|\n" +
		"| `a` | `1` | the a |\n" +
		"| `b`, `c` | none | both, with a `x \\| y` pipe and a [link](http://e) |\n" +
		"| not an option | 2 | prose |\n" +
		"| `d` | — (required) | d is needed; **really** |\n" +
		"\n## `tls`\n\n| key | default | meaning |\n|---|---|---|\n| `ca_file` | `\"\"` | trusted |\n" +
		"\n## Other\n\n| key | default | why |\n|---|---|---|\n| `batch.max_records` | `500` | fits |\n| `a` | 9 | second row of a |\n"
	got := schema.ParseOptionTables([]byte(md))
	want := map[string][2]string{
		"a":                 {"`1`", "the a"},
		"b":                 {"none", "both, with a `x | y` pipe and a link"},
		"c":                 {"none", "both, with a `x | y` pipe and a link"},
		"d":                 {"— (required)", "d is needed; really"},
		"tls.ca_file":       {"`\"\"`", "trusted"},
		"batch.max_records": {"`500`", "fits"},
	}
	if len(got) != len(want) {
		t.Errorf("got %d options, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		r, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", k)
			continue
		}
		if r.Default != w[0] || r.Meaning != w[1] {
			t.Errorf("%s: (%q, %q), want (%q, %q)", k, r.Default, r.Meaning, w[0], w[1])
		}
	}
}

// A README default written as an empty string is no placeholder to show.
func TestEmptyStringDefaultIsNoDocDefault(t *testing.T) {
	for _, f := range all.Registry().Factories() {
		sc, err := schema.Of(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range sc.Fields {
			if d := strings.Trim(fd.DocDefault, "`"); d == `""` || d == "''" {
				t.Errorf("%s/%s %s: DocDefault %s", f.Type, f.Kind, fd.Key, fd.DocDefault)
			}
		}
	}
}
