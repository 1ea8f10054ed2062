package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// validate prints the deprecation warning of each old proxy key, naming the plugin, the old key
// and the new one, and never the proxy password: not in the warnings, not in a problem.
func TestValidateOldProxyKeys(t *testing.T) {
	const password = "Pr0xyPassw0rd-In-The-File"
	dir := t.TempDir()
	old := filepath.Join(dir, "old.yaml")
	writeFile(t, old, `
data_dir: ./d
plugins:
  - name: cw
    type: aws_cloudwatch_logs
    regions: [us-east-1]
    log_group: g
    proxy_server: proxy.corp
    proxy_port: 3128
    proxy_username: shipper
    proxy_password: `+password+`
  - name: out
    type: http
    url: https://collector.example/in
    proxy: http://shipper:`+password+`@proxy.corp:3128
siem_mappings:
  - {source: cw, destination: out}
`)
	out, errOut, code := runCLI(t, "", "validate", "-c", old)
	if code != 0 {
		t.Fatalf("code %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, w := range []string{
		"warning: plugins[0] (cw): proxy_server: deprecated; write proxy.url instead",
		"warning: plugins[0] (cw): proxy_password: deprecated; write proxy.password instead",
		"warning: plugins[1] (out): proxy: deprecated; write proxy.url, proxy.username, proxy.password instead",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if strings.Contains(out+errOut, password) {
		t.Errorf("the proxy password is shown:\n%s%s", out, errOut)
	}

	// The new form with the password in proxy.url itself is refused, without showing it.
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, `
data_dir: ./d
plugins:
  - {name: in, type: file, paths: [x]}
  - name: out
    type: http
    url: https://collector.example/in
    proxy:
      url: http://shipper:`+password+`@proxy.corp:3128
siem_mappings:
  - {source: in, destination: out}
`)
	out, errOut, code = runCLI(t, "", "validate", "-c", bad)
	if code != 1 || !strings.Contains(errOut, "plugins[1] (out): proxy: url: a user name or password in the URL: give them as proxy.username and proxy.password") {
		t.Fatalf("code %d\nstderr: %s", code, errOut)
	}
	if strings.Contains(out+errOut, password) {
		t.Errorf("the proxy password is shown:\n%s%s", out, errOut)
	}
}
