package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// validate prints the console: section's line (where it serves, who may log in, no secret),
// and refuses a console other machines could reach without TLS, naming the line.
func TestValidateConsole(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	writeFile(t, token, "0123456789abcdef0123\n")
	good := filepath.Join(dir, "good.yaml")
	const base = `admin: {listen: ""}
console:
  listen: %s
  token_file: %s
plugins: [{name: in, type: file, paths: [x]}, {name: out, type: stdout}]
siem_mappings: [{source: in, destination: out}]
`
	writeFile(t, good, fmt.Sprintf(base, "127.0.0.1:9871", token))
	out, errOut, code := runCLI(t, "", "validate", "-c", good)
	if code != 0 || !strings.Contains(out, "  console: http://127.0.0.1:9871, login: an admin token from "+token+", sessions of 12h0m0s\n") {
		t.Fatalf("exit %d; output lacks the console line:\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "0123456789abcdef") {
		t.Error("the token was printed")
	}

	open := filepath.Join(dir, "open.yaml")
	writeFile(t, open, fmt.Sprintf(base, "0.0.0.0:9871", token))
	out, errOut, code = runCLI(t, "", "validate", "-c", open)
	if code != 1 || !strings.Contains(errOut, `line 3: console: listen: "0.0.0.0:9871" is reachable from other machines`) {
		t.Fatalf("exit %d; want 1 and the listen refused with its line:\n%s%s", code, out, errOut)
	}
}
