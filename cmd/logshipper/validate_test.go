package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validate refuses, in one pass, what run would refuse only when it builds the plugins or
// first reads: a filter_pattern CloudWatch Logs refuses, a mapping file that does not load,
// a $regex that does not compile.
func TestValidateRefusesWhatRunRefuses(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	writeFile(t, p, fmt.Sprintf(`
plugins:
  - {name: cw, type: aws_cloudwatch_logs, regions: [us-east-1], log_group: trail, filter_pattern: '{ $.eventName = '}
  - name: lake
    type: aws_cloudtrail_lake
    channel_arn: arn:aws:cloudtrail:us-east-1:123456789012:channel/6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01
    mapping: %s
business_rules:
  - {name: like, filter: '{"app": {"$regex": "box (personal"}}'}
siem_mappings: [{source: cw, destination: lake, rule: like}]
`, filepath.Join(dir, "missing.json")))
	_, errOut, code := runCLI(t, "", "validate", "-c", p)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, errOut)
	}
	for _, want := range []string{
		`plugins[0] (cw): filter_pattern: "{ $.eventName = " is not CloudWatch Logs filter syntax`,
		"plugins[1] (lake): mapping: open " + filepath.Join(dir, "missing.json"),
		`business_rules[0] (like): filter: app.$regex: missing closing ) in "box (personal"`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("output lacks %q:\n%s", want, errOut)
		}
	}
}

// The warnings run prints at start (from the configuration) are validate's too, in one style.
func TestValidateWarnsAsRun(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, p, `
admin: {listen: "0.0.0.0:9870", pprof: true}
plugins:
  - {name: in, type: file, paths: ["x"]}
  - {name: siem, type: http, url: "http://siem.example.com/ingest", token: s3cret-token}
  - {name: tenant, type: netskope, tenant: "http://tenant.example.com", api_token: s3cret-api, kind: source}
  - name: hec
    type: http
    url: https://hec.example.com/services/collector
    tls: {insecure_skip_verify: true}
  - {name: local, type: http, url: "http://127.0.0.1:8088/x", token: s3cret-local}
siem_mappings:
  - {source: in, destination: siem}
  - {source: tenant, destination: hec}
  - {source: in, destination: local}
`)
	_, errOut, code := runCLI(t, "", "validate", "-c", p)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, errOut)
	}
	for _, want := range []string{
		p + `: warning: admin: pprof: on, and listen "0.0.0.0:9870" serves it on every address of this machine`,
		p + ": warning: plugins[1] (siem): url: token is sent over plain http to siem.example.com",
		p + ": warning: plugins[2] (tenant): tenant: api_token is sent over plain http to tenant.example.com",
		p + ": warning: plugins[3] (hec): tls: insecure_skip_verify: TLS certificate verification is off",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("output lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "(local)") {
		t.Errorf("a token sent to this machine is warned about:\n%s", errOut)
	}
	if strings.Contains(errOut, "s3cret") {
		t.Errorf("a secret was printed:\n%s", errOut)
	}
}

// --check says which plugins it did not check, and builds none of them: their files and
// directories are not created.
func TestValidateCheckCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	writeFile(t, p, fmt.Sprintf(`
data_dir: %[1]s/data
plugins:
  - {name: in, type: file, paths: ["%[1]s/in/*.log"]}
  - {name: out, type: file, path: "%[1]s/out/sub/records.ndjson"}
siem_mappings: [{source: in, destination: out}]
`, dir))
	out, errOut, code := runCLI(t, "", "validate", "-c", p, "--check")
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"check in (file): not checked", "check out (file): not checked"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "c.yaml" {
			t.Errorf("validate --check created %s", filepath.Join(dir, e.Name()))
		}
	}
}
