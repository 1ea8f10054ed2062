package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// validate warns of a SIEM mapping whose destination refuses every kind of record its source
// gives: at run it would send nothing.
func TestValidateWarnsOfRefusedKinds(t *testing.T) {
	const lakeARN = "arn:aws:cloudtrail:us-east-1:123456789012:channel/6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01"
	tests := []struct {
		name   string
		source string // the plugin entry named in
		want   string // "" = no such warning
	}{
		{"file without record_kind", `{name: in, type: file, paths: ["x"]}`,
			`warning: siem_mappings[0] (in->lake): destination "lake" (aws_cloudtrail_lake) refuses every record of source "in" (record_kind is not set): CloudTrail Lake's mappings cover Netskope events and alerts; this record has no kind (its source does not say what it is); the mapping would send nothing (each record counted unsupported_by_destination); set record_kind: netskope on "in" if its records are such`},
		{"file of cloudtrail records", `{name: in, type: file, paths: ["x"], record_kind: cloudtrail}`,
			`refuses every record of source "in" (record_kind is "cloudtrail"): CloudTrail Lake's mappings cover Netskope events and alerts, not cloudtrail records;`},
		{"file of netskope records", `{name: in, type: file, paths: ["x"], record_kind: netskope}`, ""},
		{"netskope source", `{name: in, type: netskope, tenant: tenant.example.com, api_token: t, event_types: [audit]}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			writeFile(t, p, fmt.Sprintf(`
plugins:
  - %s
  - {name: lake, type: aws_cloudtrail_lake, channel_arn: %s}
siem_mappings: [{source: in, destination: lake}]
`, tc.source, lakeARN))
			_, errOut, code := runCLI(t, "", "validate", "-c", p)
			if code != 0 {
				t.Fatalf("exit %d, want 0:\n%s", code, errOut)
			}
			switch {
			case tc.want == "" && strings.Contains(errOut, "refuses every record"):
				t.Errorf("warned:\n%s", errOut)
			case tc.want != "" && !strings.Contains(errOut, tc.want):
				t.Errorf("output lacks %q:\n%s", tc.want, errOut)
			}
		})
	}
}
