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

	"github.com/spf13/cobra"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
)

// notRunByTest names the --help example lines that TestHelpExamplesRun cannot run, with why.
// Every other example line runs.
var notRunByTest = map[string]string{
	"logshipper run -c examples/file-to-file.yaml":                   "runs until stopped; the run e2e tests cover it",
	"LOGSHIPPER_DATA=/srv/ls logshipper run -c /etc/logshipper.yaml": "a template for an installed configuration",
	"logshipper demo": "runs the whole demo; TestDemo covers it",
	"logshipper demo --records 50000 --dir /tmp/ls-demo":                                                 "runs the whole demo; TestDemo covers it",
	"logshipper backfill -c examples/netskope-to-cloudtrail-lake.yaml --source netskope-acme --from -7d": "reads a week of cloudsim's tenant; TestE2EBackfillNetskopeIntoLake covers a backfill",
}

// helpExample is one command line of a command's Example text.
type helpExample struct {
	command string // the command whose help shows it
	line    string
}

// helpExamples returns every example line of cmd and its subcommands, with comment lines and
// backslash continuations handled as a shell would.
func helpExamples(cmd *cobra.Command) []helpExample {
	var out []helpExample
	var joined string
	for _, l := range strings.Split(cmd.Example, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			joined += strings.TrimSuffix(l, `\`)
			continue
		}
		out = append(out, helpExample{command: cmd.CommandPath(), line: strings.Join(strings.Fields(joined+l), " ")})
		joined = ""
	}
	for _, c := range cmd.Commands() {
		out = append(out, helpExamples(c)...)
	}
	return out
}

// Every example in a --help runs, from a copy of the project's examples/, against cloudsim
// where it needs the outside world, and succeeds: exit 0, and no record left unsent.
func TestHelpExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts cloudsim")
	}
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	c.Netskope.Generate = cloudsim.GenerateConfig{Backlog: 20, BacklogSpan: time.Hour, Endpoints: []string{"alerts/dlp"}}
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	// The examples fall back to cloudsim's fixed ports; point them at this test's cloudsim.
	t.Setenv("NETSKOPE_TENANT", sim.Endpoints["netskope"])
	t.Setenv("AWS_ENDPOINT", sim.Endpoints["aws"])
	t.Setenv("AWS_ENDPOINT_URL", sim.Endpoints["aws"])

	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS(filepath.Join("..", "..", "examples"))); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)

	examples := helpExamples(newRootCmd(&bytes.Buffer{}, &bytes.Buffer{}))
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	seen := map[string]bool{}
	for _, ex := range examples {
		seen[ex.line] = true
		t.Run(ex.line, func(t *testing.T) {
			if why, ok := notRunByTest[ex.line]; ok {
				t.Skipf("%s: %s", ex.command, why)
			}
			stdout, stderr, code := runExampleLine(t, ex.line)
			if code != 0 {
				t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", ex.command, code, stdout, stderr)
			}
			if strings.Contains(stdout, "not sent:") {
				t.Errorf("%s: records not sent:\n%s", ex.command, stdout)
			}
		})
	}
	for line := range notRunByTest {
		if !seen[line] {
			t.Errorf("notRunByTest names %q, which no --help shows", line)
		}
	}
}

// runExampleLine runs one example line in-process: "[VAR=value ...] logshipper ARGS [< FILE]
// [> FILE]", with arguments split on spaces (the examples quote nothing).
func runExampleLine(t *testing.T, line string) (stdout, stderr string, code int) {
	t.Helper()
	fields := strings.Fields(line)
	for len(fields) > 0 && strings.Contains(fields[0], "=") {
		k, v, _ := strings.Cut(fields[0], "=")
		t.Setenv(k, v)
		fields = fields[1:]
	}
	if len(fields) == 0 || fields[0] != "logshipper" {
		t.Fatalf("example %q does not run logshipper", line)
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
		case "|":
			t.Fatalf("example %q: pipes are not run by this test", line)
		default:
			args = append(args, fields[i])
		}
	}
	var out, errb bytes.Buffer
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
		if err := os.WriteFile(outFile, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out.String(), errb.String(), code
}
