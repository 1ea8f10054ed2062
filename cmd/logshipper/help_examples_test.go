package main

import (
	"bytes"
	"testing"

	"github.com/spf13/cobra"
)

// notRunByTest names the --help example lines that TestHelpExamplesRun cannot run, with why.
// Every other example line runs.
var notRunByTest = map[string]string{
	"logshipper run -c examples/file-to-file.yaml":                   "runs until stopped; the run e2e tests cover it",
	"LOGSHIPPER_DATA=/srv/ls logshipper run -c /etc/logshipper.yaml": "a template for an installed configuration",
	"logshipper demo": "runs the whole demo; TestDemoRuns covers it",
	"logshipper demo --records 50000 --dir /tmp/ls-demo":                                                 "runs the whole demo; TestDemoRuns covers it",
	"logshipper backfill -c examples/netskope-to-cloudtrail-lake.yaml --source netskope-acme --from -7d": "reads a week of cloudsim's tenant; TestE2EBackfillNetskopeIntoLake covers a backfill",
	"logshipper cluster status -c examples/cluster.yaml":                                                 "needs a NATS JetStream cluster, which this test does not start yet, and internal/cluster's connection that does not join (cluster.Observe); TestClusterStatusCommand covers the command on a fake cluster",
	"logshipper cluster status -c examples/cluster.yaml --json":                                          "needs a NATS JetStream cluster, which this test does not start yet, and internal/cluster's connection that does not join (cluster.Observe); TestClusterStatusCommand covers the command on a fake cluster",
	"logshipper state import -c examples/cluster.yaml -i state.jsonl":                                    "needs a NATS JetStream cluster, which this test does not start yet; TestStateExportImport covers the command on a memory store",
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
	for _, l := range shellLines(cmd.Example) {
		out = append(out, helpExample{command: cmd.CommandPath(), line: l})
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
	startExampleWorld(t)

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
			runExampleOK(t, ex.command, ex.line)
		})
	}
	for line := range notRunByTest {
		if !seen[line] {
			t.Errorf("notRunByTest names %q, which no --help shows", line)
		}
	}
}
