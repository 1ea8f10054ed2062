// Package schema derives the form of a plugin type from the plugin itself: its fields, kinds and
// defaults by reflection over the configuration its factory returns (yaml tags, NewConfig's
// values, config.Secret for secrets), and each field's help from the option tables of the
// plugin's README (and of internal/netconf's README for the shared proxy and tls sections).
package schema

import (
	"fmt"
	"io/fs"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/plugins"
)

// Kind is how a field's text is read.
type Kind string

// The kinds of field.
const (
	KindString   Kind = "string"
	KindInt      Kind = "int"
	KindFloat    Kind = "float"
	KindBool     Kind = "bool"
	KindDuration Kind = "duration" // 1s, 5m, 1h30m
	KindSize     Kind = "size"     // 512, 64KiB, 10MiB
	KindMode     Kind = "mode"     // octal permission bits: 0600
	KindList     Kind = "list"     // one value a line
	KindMap      Kind = "map"      // one "key: value" a line
)

// Field is one option of the form.
type Field struct {
	// Key is the option's path in the YAML entry: "tenant", "tls.ca_file", "batch.max_wait".
	Key  string
	Kind Kind
	// Default is the value the option has when the entry leaves it out (from the factory's
	// NewConfig, as text); DocDefault is the README's default column, which also describes
	// computed defaults ("logshipper_<name>").
	Default    string
	DocDefault string
	// Help is the README's meaning column, in plain text (Markdown's backticks kept).
	Help string
	// Secret fields are write-only: a form never shows their value.
	Secret bool
	// Required says the README marks the option required.
	Required bool
	// Enum lists the values a string option takes, when the README names them all.
	Enum []string
	// Group is "" for the plugin's own options, "delivery" for the keys every destination
	// shares, "common" for those every plugin shares, or the nested section ("tls", "proxy").
	Group string
}

// Schema is the form of one plugin type and kind.
type Schema struct {
	Type    string
	Kind    string
	Summary string
	Fields  []Field
}

// Field returns the field of that key.
func (s Schema) Field(key string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// Of derives the schema of a registered plugin, with help from its README and netconf's.
func Of(f plugin.Factory) (Schema, error) {
	readme, err := README(f.Type, f.Kind)
	if err != nil {
		return Schema{}, err
	}
	return Derive(f, readme, netconf.README)
}

// README returns the README of a plugin type and kind from the plugin folders.
func README(typ string, kind plugin.Kind) ([]byte, error) {
	dir := "sources"
	if kind == plugin.KindDestination {
		dir = "destinations"
	}
	ents, err := fs.ReadDir(plugins.READMEs, dir)
	if err != nil {
		return nil, fmt.Errorf("plugin READMEs: %w", err)
	}
	for _, e := range ents {
		b, err := fs.ReadFile(plugins.READMEs, dir+"/"+e.Name()+"/README.md")
		if err != nil {
			continue
		}
		title, _, _ := strings.Cut(string(b), "\n")
		for _, w := range strings.Fields(strings.TrimPrefix(title, "#")) {
			if strings.Trim(w, "`") == typ {
				return b, nil
			}
		}
	}
	return nil, fmt.Errorf("no README in plugins/%s names the %s type %q in its title", dir, kind, typ)
}

// Derive builds the schema of factory f: the fields of its configuration with their defaults,
// the keys every plugin (or destination) shares, and help from the option tables of docs (the
// plugin's README first, then the shared sections' READMEs).
func Derive(f plugin.Factory, docs ...[]byte) (Schema, error) {
	if f.NewConfig == nil {
		return Schema{}, fmt.Errorf("plugin %q: no NewConfig", f.Type)
	}
	cfg := f.NewConfig()
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return Schema{}, fmt.Errorf("plugin %q: NewConfig returned nil", f.Type)
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return Schema{}, fmt.Errorf("plugin %q: its configuration is a %s, not a struct", f.Type, v.Kind())
	}
	tables := make([]map[string]Option, len(docs))
	for i, d := range docs {
		tables[i] = ParseOptionTables(d)
	}
	s := Schema{Type: f.Type, Kind: f.Kind.String(), Summary: f.Summary}
	s.Fields = append(s.Fields, Field{Key: "eps", Kind: KindInt, Default: "0", Group: "common",
		Help: "The most records per second this configuration reads (a source) or sends (a destination); 0: no limit."})
	if err := walk(v, "", "", &s.Fields); err != nil {
		return Schema{}, fmt.Errorf("plugin %q: %w", f.Type, err)
	}
	if f.Kind == plugin.KindDestination {
		s.Fields = append(s.Fields, deliveryFields(f.DeliveryDefaults())...)
	}
	for i := range s.Fields {
		fd := &s.Fields[i]
		row, ok := lookup(tables, fd.Key)
		if !ok {
			continue
		}
		if fd.Help == "" {
			fd.Help = row.Meaning
		}
		// An empty string written as the README writes it ("" or `""`) is no default to show.
		// An empty string written as the README writes it ("" or `""`) is no default to show.
		if d := strings.Trim(row.Default, "`"); d != `""` && d != "''" {
			fd.DocDefault = row.Default
		}
		fd.Required = strings.Contains(strings.ToLower(row.Default), "required")
		if fd.Kind == KindString && !fd.Secret {
			fd.Enum = enum(row.Meaning, fd.Default)
		}
	}
	return s, nil
}

// lookup finds a key's row: the first table with the full path wins; a nested key
// ("tls.ca_file") is found only under its own path, never as the plugin's option of the same
// last name (the http destination's url is not proxy.url).
func lookup(tables []map[string]Option, key string) (Option, bool) {
	for _, t := range tables {
		if r, ok := t[key]; ok {
			return r, true
		}
	}
	return Option{}, false
}

// deliveryFields are the keys every destination shares, with the factory's defaults.
func deliveryFields(d plugin.DeliveryDefaults) []Field {
	g := "delivery"
	return []Field{
		{Key: "batch.max_records", Kind: KindInt, Default: strconv.Itoa(d.BatchMaxRecords), Group: g,
			Help: "The most records in one batch sent to the destination."},
		{Key: "batch.max_bytes", Kind: KindSize, Default: config.ByteSize(d.BatchMaxBytes).String(), Group: g,
			Help: "The most bytes in one batch (at least 1KiB)."},
		{Key: "batch.max_wait", Kind: KindDuration, Default: d.BatchMaxWait.String(), Group: g,
			Help: "How long a batch that is not full waits for more records before it is sent."},
		{Key: "retry.initial_interval", Kind: KindDuration, Default: d.RetryInitialInterval.String(), Group: g,
			Help: "The first wait before a failed batch is sent again; it doubles, with jitter, up to retry.max_interval."},
		{Key: "retry.max_interval", Kind: KindDuration, Default: d.RetryMaxInterval.String(), Group: g,
			Help: "The longest wait between two attempts (a server's longer retry-after is honoured)."},
		{Key: "workers", Kind: KindInt, Default: strconv.Itoa(d.Workers), Group: g,
			Help: "How many batches are delivered at once (1 to 64)."},
		{Key: "queue_size", Kind: KindInt, Default: strconv.Itoa(d.QueueSize), Group: g,
			Help: "How many records wait for the destination before the sources feeding it slow down."},
		{Key: "spool_max_size", Kind: KindSize, Default: config.ByteSize(d.SpoolMaxSize).String(), Group: g,
			Help: "The most records kept on disk while a fatal error has stopped the destination, sent when it runs again; 0 keeps none."},
	}
}

var (
	secretType   = reflect.TypeFor[config.Secret]()
	durationType = reflect.TypeFor[time.Duration]()
	sizeType     = reflect.TypeFor[config.ByteSize]()
	modeType     = reflect.TypeFor[config.FileMode]()
)

// walk appends the fields of struct v under prefix; group is the nested section's name.
func walk(v reflect.Value, prefix, group string, out *[]Field) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		fv := v.Field(i)
		if opts == "inline" {
			if err := walk(fv, prefix, group, out); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			continue
		}
		key := prefix + name
		ft := sf.Type
		if ft.Kind() == reflect.Struct && ft != secretType {
			g := group
			if g == "" {
				g = name
			}
			if err := walk(fv, key+".", g, out); err != nil {
				return err
			}
			continue
		}
		fd := Field{Key: key, Group: group}
		k, secret, err := kindOf(ft)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		fd.Kind, fd.Secret = k, secret
		if !secret {
			fd.Default = Format(fv)
		}
		*out = append(*out, fd)
	}
	return nil
}

// kindOf is the form kind of a Go type, and whether it holds a secret.
func kindOf(t reflect.Type) (Kind, bool, error) {
	switch t {
	case secretType:
		return KindString, true, nil
	case durationType:
		return KindDuration, false, nil
	case sizeType:
		return KindSize, false, nil
	case modeType:
		return KindMode, false, nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return kindOf(t.Elem())
	case reflect.String:
		return KindString, false, nil
	case reflect.Bool:
		return KindBool, false, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return KindInt, false, nil
	case reflect.Float32, reflect.Float64:
		return KindFloat, false, nil
	case reflect.Slice:
		_, secret, err := kindOf(t.Elem())
		return KindList, secret, err
	case reflect.Map:
		_, secret, err := kindOf(t.Elem())
		return KindMap, secret, err
	}
	return "", false, fmt.Errorf("no form kind for a %s", t)
}

// Format writes a configuration value as a form shows it: a list one value a line, a map one
// "key: value" a line sorted by key, a nil pointer empty, and other values as they print
// (durations as 1m30s, sizes as 4MiB, modes as 0600). A config.Secret prints as empty.
func Format(v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	if v.Type() == secretType {
		return ""
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ""
		}
		return Format(v.Elem())
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = Format(v.Index(i))
		}
		return strings.Join(parts, "\n")
	case reflect.Map:
		lines := make([]string, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			lines = append(lines, Format(it.Key())+": "+Format(it.Value()))
		}
		sort.Strings(lines)
		return strings.Join(lines, "\n")
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		if v.Type() == sizeType && v.Int() == 0 {
			return "0"
		}
		return s.String()
	}
	return fmt.Sprint(v.Interface())
}

// Option is one row of a README's option table: the default and meaning columns, in plain
// text (Markdown's links and bold removed, backticks kept).
type Option struct {
	Default string
	Meaning string
}

var (
	headingRE = regexp.MustCompile("^#{2,}\\s+`([a-z_]+)`\\s*$")
	backtick  = regexp.MustCompile("`([^`]+)`")
)

// ParseOptionTables reads the option tables of a README: rows of three or more columns whose
// first names one or more options in backticks (`a`, `b`), the second the default and the
// third the meaning. Under a heading that is one name in backticks ("## `tls`") the options
// are that section's: `ca_file` there is tls.ca_file. A header row's or a separator's first
// column names no option and is skipped. The first row for an option wins.
func ParseOptionTables(md []byte) map[string]Option {
	out := map[string]Option{}
	prefix := ""
	for line := range strings.SplitSeq(string(md), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			prefix = ""
			if m := headingRE.FindStringSubmatch(line); m != nil {
				prefix = m[1] + "."
			}
			continue
		}
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cols := splitRow(line)
		if len(cols) < 3 {
			continue
		}
		names := backtick.FindAllStringSubmatch(cols[0], -1)
		if len(names) == 0 || strings.Trim(backtick.ReplaceAllString(cols[0], ""), " ,/or") != "" {
			continue
		}
		row := Option{Default: plain(cols[1]), Meaning: plain(strings.Join(cols[2:], " | "))}
		for _, n := range names {
			key := n[1]
			if !strings.Contains(key, ".") {
				key = prefix + key
			}
			if _, ok := out[key]; !ok {
				out[key] = row
			}
		}
	}
	return out
}

// splitRow splits a Markdown table row at the pipes that are not inside backticks or escaped.
func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cols []string
	var cur strings.Builder
	inCode := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '`':
			inCode = !inCode
			cur.WriteByte(c)
		case c == '|' && !inCode:
			cols = append(cols, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(cols, strings.TrimSpace(cur.String()))
}

var linkRE = regexp.MustCompile(`\[([^\]]+)\]\([^)]*\)`)

// plain removes Markdown's links and emphasis from a cell, keeping the text.
func plain(s string) string {
	s = linkRE.ReplaceAllString(s, "$1")
	s = strings.ReplaceAll(s, "**", "")
	return strings.TrimSpace(s)
}

var enumRE = regexp.MustCompile("^`[^`]+`(?:(?:, | or |, or )`[^`]+`)+$")

// enum reads the values of a string option from the start of its meaning when it is only a
// list of them ("`udp`, `tcp` or `tls`", "`stdout` or `stderr` (exactly ...)"), and the
// default, when there is one, is among them.
func enum(meaning, def string) []string {
	head := meaning
	for _, sep := range []string{" (", ";", ": ", ". "} {
		if i := strings.Index(head, sep); i >= 0 {
			head = head[:i]
		}
	}
	head = strings.TrimSuffix(strings.TrimSpace(head), ".")
	if !enumRE.MatchString(head) {
		return nil
	}
	var vals []string
	found := def == ""
	for _, m := range backtick.FindAllStringSubmatch(head, -1) {
		vals = append(vals, m[1])
		found = found || m[1] == def
	}
	if !found {
		return nil
	}
	return vals
}
