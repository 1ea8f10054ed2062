package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
)

// The example lines of the --help texts and of the docs run the same way: in-process, from a
// copy of the project's examples/, against a cloudsim of the test's own.

// startExampleWorld starts a cloudsim on free ports for the rest of the test, points the
// examples' environment variables at it, and makes a temporary directory holding a copy of the
// project's examples/ the working directory.
func startExampleWorld(t *testing.T) {
	t.Helper()
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	c.Netskope.Generate = cloudsim.GenerateConfig{Backlog: 20, BacklogSpan: time.Hour, Endpoints: []string{"alerts/dlp"}}
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	// The examples fall back to cloudsim's fixed ports; point them at this test's cloudsim.
	t.Setenv("NETSKOPE_TENANT", sim.Endpoints["netskope"])
	t.Setenv("AWS_ENDPOINT", sim.Endpoints["aws"])
	t.Setenv("AWS_ENDPOINT_URL", sim.Endpoints["aws"])

	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS(filepath.Join("..", "..", "examples"))); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
}

// shellLines returns the command lines of a shell text as a shell reads them: blank lines and
// comments left out (a whole-line comment, or a " #" outside quotes and what follows it),
// backslash continuations joined, and runs of spaces made one.
func shellLines(text string) []string {
	var out []string
	var joined string
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(stripShellComment(l))
		if l == "" && joined == "" {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			joined += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		out = append(out, strings.Join(strings.Fields(joined+l), " "))
		joined = ""
	}
	if strings.TrimSpace(joined) != "" {
		out = append(out, strings.Join(strings.Fields(joined), " "))
	}
	return out
}

// stripShellComment cuts a shell line before its comment: a # that starts a word outside
// quotes.
func stripShellComment(l string) string {
	var quote rune
	prevSpace := true
	for i, r := range l {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && prevSpace:
			return l[:i]
		}
		prevSpace = r == ' ' || r == '\t'
	}
	return l
}

// runExampleOK runs one example line (see runExampleLine) and fails the test unless it
// succeeds: exit 0, and no record left unsent. where says where the line is shown.
func runExampleOK(t *testing.T, where, line string) {
	t.Helper()
	stdout, stderr, code := runExampleLine(t, line)
	if code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", where, code, stdout, stderr)
	}
	if strings.Contains(stdout, "not sent:") {
		t.Errorf("%s: records not sent:\n%s", where, stdout)
	}
}

// runExampleLine runs one example line in-process: "[VAR=value ...] logshipper ARGS [< FILE]
// [> FILE]" (or ./logshipper, the binary the docs build), with arguments split on spaces (the
// examples quote nothing).
func runExampleLine(t *testing.T, line string) (stdout, stderr string, code int) {
	t.Helper()
	fields := strings.Fields(line)
	for len(fields) > 0 && strings.Contains(fields[0], "=") {
		k, v, _ := strings.Cut(fields[0], "=")
		t.Setenv(k, v)
		fields = fields[1:]
	}
	if len(fields) == 0 || (fields[0] != "logshipper" && fields[0] != "./logshipper") {
		t.Fatalf("example %q does not run logshipper", line)
	}
	if strings.ContainsAny(line, `'"`) {
		t.Fatalf("example %q: quoted arguments are not run by this test", line)
	}
	var args []string
	var stdin []byte
	var outFile string
	for i := 1; i < len(fields); i++ {
		switch fields[i] {
		case "<", ">":
			if i+1 == len(fields) {
				t.Fatalf("example %q: %s without a file", line, fields[i])
			}
			if fields[i] == "<" {
				b, err := os.ReadFile(fields[i+1])
				if err != nil {
					t.Fatal(err)
				}
				stdin = b
			} else {
				outFile = fields[i+1]
			}
			i++
		case "|", "&&", "||", ";":
			t.Fatalf("example %q: %s is not run by this test", line, fields[i])
		default:
			args = append(args, fields[i])
		}
	}
	// lockedBuffer: a command may write from several goroutines, as a process may to its files.
	var out, errb lockedBuffer
	cmd := newRootCmd(&out, &errb)
	cmd.SetIn(bytes.NewReader(stdin))
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	var ec exitCode
	switch {
	case err == nil:
	case errors.As(err, &ec):
		code = int(ec)
	default:
		fmt.Fprintln(&errb, "logshipper:", err)
		code = 1
	}
	if outFile != "" {
		if err := os.WriteFile(outFile, []byte(out.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out.String(), errb.String(), code
}
