// Command gen rebuilds fields.json, the compact field table the Netskope
// simulator generates records from, out of Netskope's field dictionary
// (netskopeoss/Data-Schema, schema/event_schema.json, BSD-3-Clause).
//
// Usage (from the package directory, see the go:generate line in schema.go):
//
//	go run ./gen -in ../../../../shared/testdata/netskope/field-dictionary.json -out fields.json
//
// Only fields applicable to the REST API v2 data export are kept, with their
// value kind, a few example values (verbatim, big integers included) and the
// dictionary event/alert types they appear in.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/big"
	"os"
	"sort"
	"strings"
)

type dictField struct {
	Name          string            `json:"parameter_name"`
	Type          string            `json:"type"`
	Examples      []json.RawMessage `json:"example"`
	EventTypes    []string          `json:"event_types"`
	ApplicableFor []string          `json:"applicable_for"`
}

// outField is one row of fields.json.
type outField struct {
	Name     string            `json:"name"`
	Kind     string            `json:"kind"`
	Types    []string          `json:"types"`
	Examples []json.RawMessage `json:"examples,omitempty"`
}

type outFile struct {
	Source  string     `json:"source"`
	License string     `json:"license"`
	Fields  []outField `json:"fields"`
}

const (
	maxExamples     = 10
	maxExampleBytes = 2500
)

// usedTypes are the dictionary event_types the simulator serves.
var usedTypes = map[string]bool{
	"page": true, "application": true, "audit": true, "infrastructure": true,
	"network": true, "incident": true, "epdlp": true,
	"alert_type_compromised_credential": true, "alert_type_policy": true,
	"alert_type_malsite": true, "alert_type_malware": true, "alert_type_dlp": true,
	"alert_type_security_assessment": true, "alert_type_watchlist": true,
	"alert_type_quarantine": true, "alert_type_remediation": true,
	"alert_type_uba": true, "alert_type_ctep": true, "alert_type_ips": true,
	"alert_type_c2": true, "alert_type_device": true, "alert_type_content": true,
}

// bigIDs are 64-bit identifiers whose dictionary examples happen to be small
// but which hold 19-digit values in real records.
var bigIDs = map[string]bool{"app_session_id": true}

func main() {
	in := flag.String("in", "../../../../shared/testdata/netskope/field-dictionary.json", "field dictionary (netskopeoss/Data-Schema schema/event_schema.json)")
	out := flag.String("out", "fields.json", "output file")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var dict []dictField
	if err := dec.Decode(&dict); err != nil {
		return fmt.Errorf("decode %s: %w", in, err)
	}
	byName := map[string]*outField{}
	var order []string
	for _, f := range dict {
		if !contains(f.ApplicableFor, "data_export") {
			continue
		}
		var types []string
		for _, t := range f.EventTypes {
			if usedTypes[t] {
				types = append(types, t)
			}
		}
		if len(types) == 0 {
			continue
		}
		o := byName[f.Name]
		if o == nil {
			o = &outField{Name: f.Name, Kind: kindOf(f)}
			byName[f.Name] = o
			order = append(order, f.Name)
		}
		o.Types = mergeSorted(o.Types, types)
		for _, ex := range f.Examples {
			c, ok := compact(ex)
			if !ok || len(o.Examples) >= maxExamples || hasExample(o.Examples, c) {
				continue
			}
			if !exampleFits(o.Kind, c) {
				continue
			}
			o.Examples = append(o.Examples, c)
		}
	}
	sort.Strings(order)
	file := outFile{
		Source:  "netskopeoss/Data-Schema schema/event_schema.json (derived: data_export fields, kinds, examples, types)",
		License: "BSD-3-Clause, Copyright (c) 2024 Netskope OSS",
	}
	for _, n := range order {
		file.Fields = append(file.Fields, *byName[n])
	}
	var buf bytes.Buffer
	buf.WriteString("{\"source\":")
	writeJSON(&buf, file.Source)
	buf.WriteString(",\n\"license\":")
	writeJSON(&buf, file.License)
	buf.WriteString(",\n\"fields\":[\n")
	for i, f := range file.Fields {
		if i > 0 {
			buf.WriteString(",\n")
		}
		writeJSON(&buf, f)
	}
	buf.WriteString("\n]}\n")
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

func writeJSON(buf *bytes.Buffer, v any) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	buf.Truncate(buf.Len() - 1) // drop the encoder's newline
}

func kindOf(f dictField) string {
	switch f.Type {
	case "String":
		return "string"
	case "Boolean":
		return "bool"
	case "Float":
		return "float"
	case "List":
		return "list"
	case "Map":
		return "map"
	case "Integer32":
		return "int32"
	case "Integer64", "Integer":
		if bigIDs[f.Name] {
			return "id64"
		}
		allEpoch, allEpochMS, n := true, true, 0
		for _, ex := range f.Examples {
			v, ok := new(big.Int).SetString(strings.TrimSpace(string(ex)), 10)
			if !ok {
				continue
			}
			n++
			if v.CmpAbs(big.NewInt(1<<53)) > 0 {
				return "id64"
			}
			x := v.Int64()
			if x < 1_000_000_000 || x > 2_000_000_000 {
				allEpoch = false
			}
			if x < 1_000_000_000_000 || x > 2_000_000_000_000 {
				allEpochMS = false
			}
		}
		switch {
		case n > 0 && allEpoch && f.Name != "tunnel_up_time":
			return "epoch"
		case n > 0 && allEpochMS:
			return "epochms"
		case strings.Contains(f.Name, "timestamp") || strings.HasSuffix(f.Name, "_time") && !strings.Contains(f.Name, "up_time") && !strings.Contains(f.Name, "response_time") && !strings.Contains(f.Name, "threshold"):
			return "epoch"
		}
		return "int64"
	}
	return "string"
}

func exampleFits(kind string, c json.RawMessage) bool {
	if len(c) > maxExampleBytes {
		return false
	}
	first := c[0]
	switch kind {
	case "string":
		return first == '"'
	case "bool":
		return first == 't' || first == 'f'
	case "list":
		return first == '['
	case "map":
		return first == '{'
	case "float":
		var f float64
		return json.Unmarshal(c, &f) == nil && !math.IsInf(f, 0)
	default: // integers
		_, ok := new(big.Int).SetString(string(c), 10)
		return ok
	}
}

func compact(m json.RawMessage) (json.RawMessage, bool) {
	var b bytes.Buffer
	if err := json.Compact(&b, m); err != nil || b.Len() == 0 {
		return nil, false
	}
	return json.RawMessage(b.Bytes()), true
}

func hasExample(list []json.RawMessage, c json.RawMessage) bool {
	for _, e := range list {
		if bytes.Equal(e, c) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mergeSorted(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range [][]string{a, b} {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}
