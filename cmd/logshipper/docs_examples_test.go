package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/app"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/plugins/all"
)

// docLinesNotRun names the shell lines of the docs that TestDocExamples cannot run, with why.
// Every other line of a ```sh, ```bash, ```shell or ```console block runs.
var docLinesNotRun = map[string]string{
	"bin/loadrun -journeys cloudtrail -modes crash -crash-records 200000 -kills 20 -seed 7":                                "a crash run with 20 kills: a minute; internal/loadrun's TestSmallRuns runs a crash run small",
	"bin/loadrun -journeys cloudtrail -modes live -records 30000 -rate 500":                                                "a live run of 30,000 records at 500/s: minutes; internal/loadrun's TestLiveRun runs it small",
	"bin/loadrun -journeys cloudtrail -modes plain -records 1000000 -backend moto -peer otel":                              "a million records on moto_server beside the collector: minutes and 7 GB; internal/loadrun's TestMotoRunWithPeer runs it small",
	"bin/loadrun -journeys netskope -modes plain -records 200000 -shipper-b old/logshipper -rounds 3":                      "needs an old build in old/; internal/loadrun's TestRoundsWithPeer runs rounds small",
	"bin/loadrun -journeys cloudtrail,netskope -modes plain -records 1000000":                                              "load runs of a million records: minutes; internal/loadrun's TestSmallRuns runs the same code small",
	"bin/loadrun -journeys cloudtrail -modes plain,fault -records 200000 -seed 1":                                          "a fault run of 200,000 records: a minute; internal/loadrun's TestSmallRuns runs it small",
	"bin/loadrun -journeys netskope -modes crash -crash-records 200000 -kills 20 -lake-duplicates store-duplicate -seed 7": "a crash run with 20 kills: a minute or more; internal/loadrun's TestSmallRuns runs a store-duplicate crash run small",
	"bin/loadrun -journeys cloudtrail -modes plain -records 300000 -peer otel -rounds 3":                                   "three rounds beside the collector: minutes; internal/loadrun's TestRoundsWithPeer runs it small",
	"bin/loadrun -journeys cloudtrail -modes plain -records 300000 -peer otel -rounds 3 -backend moto":                     "three rounds on moto_server: minutes; internal/loadrun's TestMotoRunWithPeer runs it small",
	"bin/loadrun -journeys cloudtrail -modes live -records 15000 -rate 500":                                                "a live run of 15,000 records at 500/s: ten minutes with the default lag; internal/loadrun's TestLiveRun runs it small",
	"bin/loadrun -journeys cloudtrail -modes plain -records 200000 -shipper-b old/logshipper -rounds 3":                    "needs an old build in old/; internal/loadrun's TestRoundsWithSecondShipper runs it small",
	"bin/loadrun -journeys netskope -modes plain -records 200000":                                                          "a load run of 200,000 records: minutes (docs/benchmarks.md); internal/loadrun's TestSmallRuns runs the same code small",
	"bin/loadrun -journeys netskope -modes plain -records 200000 -cluster 1":                                               "a cluster load run of 200,000 records: minutes; internal/loadrun's tests run a small cluster run",
	"bin/loadrun -journeys netskope -modes plain -records 200000 -cluster 3":                                               "a cluster load run of 200,000 records: minutes; internal/loadrun's tests run a small cluster run",
	"scripts/peer.sh": "builds the OpenTelemetry Collector peer: scripts/setup.sh runs it before the tests, and internal/loadrun's TestPeerRun runs the binary",
	"go build -o bin/logshipper ./cmd/logshipper && go build -o bin/loadrun ./cmd/loadrun":                                                      "builds the load run's binaries; this test runs the same code in-process",
	"bin/loadrun -journeys cloudtrail -modes plain -records 200000 -peer otel":                                                                  "a load run of 200,000 records beside the collector: seconds to minutes; internal/loadrun's TestPeerRun runs it small",
	"bin/loadrun -journeys cloudtrail -modes plain -records 200000 -peer otel -peer-first":                                                      "a load run of 200,000 records beside the collector: seconds to minutes; internal/loadrun's TestPeerRun runs it small, in both orders",
	"bin/loadrun -journeys cloudtrail -modes plain -records 200000":                                                                             "a load run of 200,000 records: seconds to minutes (docs/benchmarks.md); internal/loadrun's TestSmallRuns runs the same code small",
	"bin/loadrun -journeys cloudtrail -modes plain,crash -records 200000 -crash-records 200000 -cluster 1":                                      "a cluster load run of 200,000 records: minutes; internal/loadrun's tests run a small cluster run",
	"bin/loadrun -journeys cloudtrail -modes plain,crash -records 200000 -crash-records 200000 -cluster 3":                                      "a cluster crash run of 200,000 records: minutes; internal/loadrun's TestSmallRuns/cloudtrail/crash/cluster3 runs it small",
	"bin/loadrun -journeys netskope -modes crash -crash-records 200000 -cluster 3":                                                              "a cluster crash run of 200,000 records: minutes; internal/loadrun's TestSmallRuns/netskope/crash runs it small",
	`aws cloudtrail describe-query --endpoint-url http://127.0.0.1:4566 --query-id "$id"`:                                                       "the Cloud Exchange-style lake check with the AWS CLI against a cloudsim serve on its fixed port (CI does not install the CLI); internal/sim/lake runs the same queries with the CLI (TestQueryAWSCLI) and with the SDK (TestStartQuerySDK, TestDescribeQuerySDK)",
	`aws cloudtrail get-query-results --endpoint-url http://127.0.0.1:4566 --query-id "$id"`:                                                    "the Cloud Exchange-style lake check with the AWS CLI against a cloudsim serve on its fixed port (CI does not install the CLI); internal/sim/lake runs the same queries with the CLI (TestQueryAWSCLI) and with the SDK (TestStartQuerySDK, TestDescribeQuerySDK)",
	`aws cloudtrail list-event-data-stores --endpoint-url http://127.0.0.1:4566`:                                                                "the Cloud Exchange-style lake check with the AWS CLI against a cloudsim serve on its fixed port (CI does not install the CLI); internal/sim/lake runs the same queries with the CLI (TestQueryAWSCLI) and with the SDK (TestStartQuerySDK, TestDescribeQuerySDK)",
	`export AWS_ACCESS_KEY_ID=AKIACLOUDSIMDEMO0001 AWS_SECRET_ACCESS_KEY=cloudsim/demo/secret/key/not/a/real/one0 AWS_DEFAULT_REGION=us-east-1`: "the Cloud Exchange-style lake check with the AWS CLI against a cloudsim serve on its fixed port (CI does not install the CLI); internal/sim/lake runs the same queries with the CLI (TestQueryAWSCLI) and with the SDK (TestStartQuerySDK, TestDescribeQuerySDK)",
	`id=$(aws cloudtrail start-query --endpoint-url http://127.0.0.1:4566 --output text --query QueryId --query-statement "SELECT eventData FROM 6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01-eds WHERE eventData.eventSource = 'netskopeevent.audit'")`: "the Cloud Exchange-style lake check with the AWS CLI against a cloudsim serve on its fixed port (CI does not install the CLI); internal/sim/lake runs the same queries with the CLI (TestQueryAWSCLI) and with the SDK (TestStartQuerySDK, TestDescribeQuerySDK)",
	`id=$(aws cloudtrail start-query --endpoint-url http://127.0.0.1:4566 --output text --query QueryId --query-statement "SELECT eventData FROM 6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01-eds WHERE eventtime >= '2026-12-01 00:00:00'")`:            "the Cloud Exchange-style lake check with the AWS CLI against a cloudsim serve on its fixed port (CI does not install the CLI); internal/sim/lake runs the same queries with the CLI (TestQueryAWSCLI) and with the SDK (TestStartQuerySDK, TestDescribeQuerySDK)",
	"go run ./cmd/logshipper demo":                                                                       "runs the whole demo; TestDemoRuns covers it",
	"go test -race ./...":                                                                                "the test suite, which runs this test",
	"go build -o logshipper ./cmd/logshipper":                                                            "builds the binary; this test runs the ./logshipper lines in-process, from the same code",
	"./logshipper run -c examples/file-to-file.yaml":                                                     "runs until stopped; the run e2e tests cover it (TestE2EGracefulStopAndRestart)",
	"./logshipper run -c examples/netskope-to-cloudtrail-lake.yaml":                                      "runs until stopped; TestE2ENetskopeIntoCloudTrailLakeWithFaultsAndKills covers the journey",
	"go run ./cmd/cloudsim serve":                                                                        "serves until stopped; this test starts the same cloudsim in-process (cloudsim.Start) in its place",
	"go run ./cmd/cloudsim serve -c examples/cloudsim.yaml":                                              "serves until stopped; internal/sim/cloudsim's tests load examples/cloudsim.yaml",
	"go run ./cmd/cloudsim lake query --event-source netskopealert.dlp --limit 5":                        "asks a cloudsim serve on its fixed admin port, another program than this test's",
	"logshipper backfill -c examples/netskope-to-cloudtrail-lake.yaml --source netskope-acme --from -7d": "reads a week of cloudsim's tenant; TestE2EBackfillNetskopeIntoLake covers a backfill",
	"scripts/loadrun.sh":                                                                                 "the load runs of docs/benchmarks.md: about 12 minutes",
	"scripts/loadrun.sh -journeys netskope -modes plain -records 200000 -profile /tmp/prof":              "a load run of 200,000 records with profiles: minutes",
	"bin/loadrun -shipper bin/logshipper-old -journeys netskope -modes plain -records 300000":            "compares two builds of logshipper over 300,000 records: minutes, and a build of an older commit",
	"bin/loadrun -shipper bin/logshipper -journeys netskope -modes plain -records 300000":                "compares two builds of logshipper over 300,000 records: minutes, and a build of an older commit",
	"go test -run '^$' -bench . -benchtime 2s ./plugins/sources/netskope ./internal/rules ./internal/mapping ./plugins/destinations/cloudtraillake ./internal/lakeapi ./plugins/sources/cloudwatch ./internal/cloudtrailrecord ./plugins/destinations/syslog ./internal/event": "the benchmarks: minutes of CPU; go test ./... compiles and runs each benchmark's package tests",
	"nats-server -c n1.conf &":                                    "starts a NATS server of docs/cluster.md: the cluster's own tests start real 3-node JetStream clusters (internal/cluster/clustertest)",
	"nats-server -c n2.conf &":                                    "starts a NATS server of docs/cluster.md: the cluster's own tests start real 3-node JetStream clusters (internal/cluster/clustertest)",
	"nats-server -c n3.conf &":                                    "starts a NATS server of docs/cluster.md: the cluster's own tests start real 3-node JetStream clusters (internal/cluster/clustertest)",
	"logshipper validate -c /etc/logshipper/cluster.yaml --check": "needs a running NATS JetStream cluster, which this test does not start; TestValidateCheckClusterUnreachable and TestClusterCheckLine cover the check",
	"LOGSHIPPER_NODE=ls-1 LOGSHIPPER_ADMIN=127.0.0.1:9871 logshipper run -c /etc/logshipper/cluster.yaml &":     "runs a cluster member until stopped, against a NATS cluster this test does not start; the cluster e2e tests run members as real processes",
	"LOGSHIPPER_NODE=ls-2 LOGSHIPPER_ADMIN=127.0.0.1:9872 logshipper run -c /etc/logshipper/cluster.yaml &":     "runs a cluster member until stopped, against a NATS cluster this test does not start; the cluster e2e tests run members as real processes",
	"LOGSHIPPER_NODE=ls-3 LOGSHIPPER_ADMIN=127.0.0.1:9873 logshipper run -c /etc/logshipper/cluster.yaml &":     "runs a cluster member until stopped, against a NATS cluster this test does not start; the cluster e2e tests run members as real processes",
	"logshipper cluster status -c /etc/logshipper/cluster.yaml":                                                 "needs a running NATS JetStream cluster, which this test does not start; TestClusterStatusCommand covers the command on a fake cluster",
	"logshipper state import -c examples/cluster.yaml -i state.jsonl":                                           "needs a running NATS JetStream cluster, which this test does not start; TestStateExportImport covers the command on a memory store",
	"go test -run '^$' -fuzz '^FuzzParseAnswer$' -fuzztime 60s -fuzzminimizetime 5s ./plugins/sources/netskope": "fuzzes for a minute; go test runs the fuzz test on its seed corpus",

	"./logshipper run -c examples/netskope-to-security-lake.yaml":                                                    "runs until stopped; TestExampleNetskopeToSecurityLake runs the example against cloudsim",
	"aws s3 ls --recursive s3://aws-security-data-lake-us-east-1-cloudsim/ext/ --endpoint-url http://127.0.0.1:4566": "the AWS CLI against a cloudsim serve on its fixed port (CI does not install the CLI); TestExampleNetskopeToSecurityLake reads the bucket's objects back",

	// The aws_s3_sqs source's README, "Try it against cloudsim".
	"./logshipper run -c examples/cloudtrail-s3-sqs-to-file.yaml":                                                                                                     "runs until stopped; TestExampleS3SQSToFileReadsEveryRecord runs it against cloudsim started with examples/cloudsim.yaml",
	"curl -s -X POST --data-binary @internal/cloudtrailrecord/testdata/panther-rule-tests.ndjson 127.0.0.1:4569/s3/cloudtrail/cloudsim-cloudtrail":                    "writes into a cloudsim serve on its fixed admin port; TestExampleS3SQSToFileReadsEveryRecord makes the same call",
	"curl -s -X PUT --data 'not a CloudTrail file' 127.0.0.1:4569/s3/objects/cloudsim-cloudtrail/AWSLogs/123456789012/CloudTrail/us-east-1/2026/12/06/poison.json.gz": "writes into a cloudsim serve on its fixed admin port; TestExampleS3SQSToFileReadsEveryRecord makes the same call",
	"wc -l logshipper-data/cloudtrail-s3-sqs-to-file/cloudtrail.ndjson":                                                                                               "reads what the run above wrote; TestExampleS3SQSToFileReadsEveryRecord counts the same lines",
	"cat logshipper-data/cloudtrail-s3-sqs-to-file/deadletter/org-trail.ndjson":                                                                                       "reads what the run above dead-lettered; TestExampleS3SQSToFileReadsEveryRecord checks the same file",
	// docs/benchmarks.md section 12.
	"bin/loadrun -journeys netskope -modes plain -records 1000000 -shipper-b old/logshipper -rounds 3": "three alternating pairs of million-record load runs: about ten minutes; internal/loadrun's TestSmallRuns runs the same code small",
}

// docEnv holds the environment variables the docs' YAML examples leave to the reader, with a
// value of the right shape. Any other variable reads as unset.
var docEnv = map[string]string{
	"NETSKOPE_API_TOKEN": "doc-example-token",
	"NATS_TOKEN":         "doc-example-nats-token",
	"LOGSHIPPER_NODE":    "ls-1",
	"PROXY_PASSWORD":     "doc-example-password",
}

// docPaths names the files the docs' YAML examples expect on the reader's machine, with what
// each holds: the test puts a file of that kind in each one's place.
var docPaths = map[string]string{
	"/etc/logshipper/corp-ca.pem":    "certificate",
	"/etc/logshipper/client.pem":     "certificate",
	"/etc/logshipper/client-key.pem": "key",
}

// notValidatedMarker, on the line before a ```yaml fence, says the block is deliberately not
// a valid configuration (it shows an error): `<!-- not-validated: why -->`.
var notValidatedMarker = regexp.MustCompile(`^<!--\s*not-validated:\s*\S.*-->$`)

// docBlock is one fenced block of a Markdown file.
type docBlock struct {
	file   string // relative to the project's root, with slashes
	line   int    // the opening fence's line
	lang   string // the fence's info word, lower case; "" for none
	text   string
	before string // the last non-blank line before the fence
}

func (b docBlock) where() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

// docFiles lists the project's Markdown files, relative to root, leaving out hidden folders.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			rel, _ := filepath.Rel(root, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fenceLine opens a fenced block, at any indentation (a block inside a list item too).
var fenceLine = regexp.MustCompile("^[ \\t]*(```+|~~~+)\\s*([^\\s`]*)")

// fencedBlocks returns the fenced blocks of a Markdown text.
func fencedBlocks(file, text string) []docBlock {
	var out []docBlock
	var cur *docBlock
	var fence, before string
	var body []string
	for i, l := range strings.Split(text, "\n") {
		if cur != nil {
			if t := strings.TrimSpace(l); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				cur.text = strings.Join(body, "\n")
				out = append(out, *cur)
				cur, body = nil, nil
				continue
			}
			body = append(body, l)
			continue
		}
		if m := fenceLine.FindStringSubmatch(l); m != nil {
			fence = m[1]
			cur = &docBlock{file: file, line: i + 1, lang: strings.ToLower(m[2]), before: before}
			continue
		}
		if strings.TrimSpace(l) != "" {
			before = strings.TrimSpace(l)
		}
	}
	return out
}

// docShellLines returns the command lines of a shell block; in a console block, only the
// lines after a "$ " prompt are commands, the others are their output.
func docShellLines(b docBlock) []string {
	if b.lang != "console" {
		return shellLines(b.text)
	}
	var cmds []string
	for _, l := range strings.Split(b.text, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(l), "$ "); ok {
			cmds = append(cmds, c)
		}
	}
	return shellLines(strings.Join(cmds, "\n"))
}

// Every example of the docs is run by this test. Every fenced block says what it holds; each
// ```yaml block loads and validates with logshipper's loader, as a whole configuration or, for
// a fragment, in a configuration around it (docYAMLProblems); each shell line runs as
// TestHelpExamplesRun runs the --help examples and succeeds, or is in docLinesNotRun with why.
func TestDocExamples(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	reg := all.Registry()
	samples := loadSamples(t, root, reg)
	files := writeDocPaths(t)
	var shell []docBlock
	for _, f := range docFiles(t, root) {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range fencedBlocks(f, string(data)) {
			switch b.lang {
			case "":
				t.Errorf("%s: a fenced block without a language: write ```sh for commands (run by this test), ```yaml for configuration (validated), ```text for output", b.where())
			case "sh", "bash", "shell", "console":
				shell = append(shell, b)
			case "yaml", "yml":
				t.Run("yaml/"+b.where(), func(t *testing.T) {
					if notValidatedMarker.MatchString(b.before) {
						t.Skipf("%s: %s", b.where(), b.before)
					}
					if err := docYAMLProblems(b, root, reg, samples, files); err != nil {
						t.Errorf("%s: the example does not validate:\n%v", b.where(), err)
					}
				})
			}
		}
	}
	if len(shell) == 0 {
		t.Fatal("no shell blocks found in the docs")
	}

	seen := map[string]bool{}
	for _, b := range shell {
		for _, l := range docShellLines(b) {
			seen[l] = true
		}
	}
	for line := range docLinesNotRun {
		if !seen[line] {
			t.Errorf("docLinesNotRun names %q, which no doc shows", line)
		}
	}
	if testing.Short() {
		t.Log("shell lines not run: they start cloudsim")
		return
	}
	startExampleWorld(t)
	for _, b := range shell {
		for _, l := range docShellLines(b) {
			t.Run("sh/"+b.where()+"/"+l, func(t *testing.T) {
				if why, ok := docLinesNotRun[l]; ok {
					t.Skipf("%s: %s", b.where(), why)
				}
				f := strings.Fields(l)
				for len(f) > 1 && strings.Contains(f[0], "=") { // VAR=value before the command
					f = f[1:]
				}
				if f[0] != "logshipper" && f[0] != "./logshipper" {
					t.Fatalf("%s: %q runs %s, which this test cannot: make it a logshipper line or name it in docLinesNotRun with why", b.where(), l, f[0])
				}
				runExampleOK(t, b.where(), l)
			})
		}
	}
}

// sampleConfig is a plugin folder's sample.yaml and the entry in it of the folder's plugin.
type sampleConfig struct {
	folder string // plugins/<kind>/<name>
	path   string
	entry  int // the index in plugins: of the first entry of the folder's plugin
}

// loadSamples reads every plugin folder's sample.yaml (TestExamplesAreValid checks that each
// is valid) and finds the folder's plugin in it: the first source of a source's sample, the
// first destination of a destination's.
func loadSamples(t *testing.T, root string, reg *plugin.Registry) []sampleConfig {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(root, "plugins", "*", "*", "sample.yaml"))
	if len(paths) == 0 {
		t.Fatal("no plugins/*/*/sample.yaml")
	}
	var out []sampleConfig
	for _, p := range paths {
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		s := sampleConfig{folder: filepath.ToSlash(rel), path: p, entry: -1}
		cfg, err := config.Load(p, reg, config.Resolver{Env: func(string) (string, bool) { return "", false }})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		kind := folderKind(s.folder)
		for i, pl := range cfg.Plugins {
			if pl.Kind == kind {
				s.entry = i
				break
			}
		}
		if s.entry < 0 {
			t.Fatalf("%s holds no %s", p, kind)
		}
		out = append(out, s)
	}
	return out
}

// folderKind is the kind of plugin a file under plugins/sources or plugins/destinations
// documents, or 0 elsewhere.
func folderKind(file string) plugin.Kind {
	switch {
	case strings.HasPrefix(file, "plugins/sources/"):
		return plugin.KindSource
	case strings.HasPrefix(file, "plugins/destinations/"):
		return plugin.KindDestination
	}
	return 0
}

// configKeys are the top-level keys of a configuration.
func configKeys() map[string]bool {
	keys := map[string]bool{"plugins": true, app.ClusterSection: true}
	t := reflect.TypeOf(config.Config{})
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k != "" && k != "-" {
			keys[k] = true
		}
	}
	return keys
}

// docYAMLProblems validates a ```yaml block with the loader `logshipper validate` runs. A
// block of top-level configuration keys is a configuration: what it lacks to be whole (a
// plugin entry's counterpart and the SIEM mapping between them, or plugins and a mapping for
// a business_rules section) is added around it. A block of other keys is a fragment of a
// plugin entry: its keys are put into the entry of a plugin's sample.yaml, its own folder's for
// a plugin's README; a fragment of a page shared by several plugins (internal/netconf) must
// validate in the sample of at least one plugin (the syslog destination takes a tls section
// only with protocol: tls, which its sample does not use).
// files maps the paths of docPaths to the files standing in for them.
func docYAMLProblems(b docBlock, root string, reg *plugin.Registry, samples []sampleConfig, files map[string]string) error {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(b.text), &doc); err != nil {
		return fmt.Errorf("not YAML: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return errors.New("neither a configuration nor a fragment of one (not a mapping of keys)")
	}
	top := doc.Content[0]
	replaceScalars(top, files)
	keys := configKeys()
	isConfig := true
	var fragKeys []string
	for i := 0; i < len(top.Content); i += 2 {
		k := top.Content[i].Value
		fragKeys = append(fragKeys, k)
		if !keys[k] && !strings.HasPrefix(k, "x-") {
			isConfig = false
		}
	}
	res := config.Resolver{Env: func(name string) (string, bool) { v, ok := docEnv[name]; return v, ok }}
	if isConfig {
		if err := completeConfig(top, reg, folderKind(b.file)); err != nil {
			return err
		}
		res.Dir = filepath.Join(root, filepath.Dir(b.file))
		return parseProblems(top, b.where(), reg, res)
	}

	var errs []error
	for _, s := range samples {
		own := strings.HasPrefix(b.file, s.folder+"/")
		if folderKind(b.file) != 0 && !own {
			continue
		}
		data, err := os.ReadFile(s.path)
		if err != nil {
			return err
		}
		var sdoc yaml.Node
		if err := yaml.Unmarshal(data, &sdoc); err != nil {
			return fmt.Errorf("%s: %w", s.path, err)
		}
		entry := mapValue(sdoc.Content[0], "plugins").Content[s.entry]
		for i := 0; i < len(top.Content); i += 2 {
			setKey(entry, top.Content[i], top.Content[i+1])
		}
		res.Dir = filepath.Dir(s.path)
		err = parseProblems(sdoc.Content[0], b.where()+" in "+s.folder+"/sample.yaml", reg, res)
		switch {
		case err == nil:
			return nil
		case !own && onlyUnknownKeys(err, fragKeys):
			// this plugin does not take these keys
		default:
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return fmt.Errorf("no plugin takes the keys %v", fragKeys)
	}
	return errors.Join(errs...)
}

// completeConfig adds to a configuration block what it lacks to run: plugin entries without a
// SIEM mapping get a counterpart (a stdout destination for a source, a file source for a
// destination) and a mapping to it; a block with no plugins gets a file source, a stdout
// destination and the mapping between them. kind is the kind of plugin the doc is about, if
// any: it tells the role of a type that is both (file).
func completeConfig(top *yaml.Node, reg *plugin.Registry, kind plugin.Kind) error {
	const (
		source = "{name: doc-example-source, type: file, paths: [./doc-example/*.ndjson]}"
		sink   = "{name: doc-example-sink, type: stdout}"
	)
	if mapValue(top, "siem_mappings") != nil {
		return nil
	}
	plugins := mapValue(top, "plugins")
	var mappings []string
	if plugins == nil {
		setKey(top, scalar("plugins"), parseNode("["+source+", "+sink+"]"))
		mappings = append(mappings, "{source: doc-example-source, destination: doc-example-sink}")
	} else {
		var addSource, addSink bool
		for _, e := range plugins.Content {
			name, typ := scalarValue(e, "name"), scalarValue(e, "type")
			kinds := reg.Kinds(typ)
			k := plugin.Kind(0)
			switch {
			case scalarValue(e, "kind") != "":
				k = plugin.KindSource
				if scalarValue(e, "kind") == "destination" {
					k = plugin.KindDestination
				}
			case len(kinds) == 1:
				k = kinds[0]
			case slices.Contains(kinds, kind):
				k = kind
			default:
				return fmt.Errorf("plugin %q: type %q is a source and a destination: the example cannot say which", name, typ)
			}
			if k == plugin.KindSource {
				addSink = true
				mappings = append(mappings, fmt.Sprintf("{source: %q, destination: doc-example-sink}", name))
			} else {
				addSource = true
				mappings = append(mappings, fmt.Sprintf("{source: doc-example-source, destination: %q}", name))
			}
		}
		if addSource {
			plugins.Content = append(plugins.Content, parseNode(source))
		}
		if addSink {
			plugins.Content = append(plugins.Content, parseNode(sink))
		}
	}
	setKey(top, scalar("siem_mappings"), parseNode("["+strings.Join(mappings, ", ")+"]"))
	return nil
}

// parseProblems runs the loader on the configuration n.
func parseProblems(n *yaml.Node, name string, reg *plugin.Registry, res config.Resolver) error {
	data, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	cfg, err := config.Parse(data, name, reg, res, app.LoadOptions()...)
	if err != nil {
		return fmt.Errorf("%w\nthe configuration validated:\n%s", err, data)
	}
	if len(cfg.Warnings) > 0 {
		return fmt.Errorf("%s: warnings: %s\nthe configuration validated:\n%s", name, strings.Join(cfg.Warnings, "; "), data)
	}
	return nil
}

// onlyUnknownKeys reports whether every problem of err is one of keys being unknown.
func onlyUnknownKeys(err error, keys []string) bool {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return false
	}
	for _, p := range ce.Problems {
		if !slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(p.Error(), " "+k+": unknown key") }) {
			return false
		}
	}
	return true
}

// writeDocPaths writes a file for each of docPaths, a self-signed certificate or its key
// (every certificate is the same one, so a certificate and the key make a pair), and returns
// where each stands in.
func writeDocPaths(t *testing.T) map[string]string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "logshipper doc example"},
		DNSNames:              []string{"siem.internal"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	content := map[string][]byte{
		"certificate": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"key":         pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	dir := t.TempDir()
	out := map[string]string{}
	for p, what := range docPaths {
		local := filepath.Join(dir, filepath.Base(p))
		if err := os.WriteFile(local, content[what], 0o600); err != nil {
			t.Fatal(err)
		}
		out[p] = local
	}
	return out
}

// replaceScalars replaces every scalar of n that is a key of with by its value.
func replaceScalars(n *yaml.Node, with map[string]string) {
	if v, ok := with[n.Value]; ok && n.Kind == yaml.ScalarNode {
		n.Value = v
	}
	for _, c := range n.Content {
		replaceScalars(c, with)
	}
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalarValue(m *yaml.Node, key string) string {
	if v := mapValue(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// setKey sets key to value in the mapping m, replacing the key's value if it has one.
func setKey(m, key, value *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key.Value {
			m.Content[i+1] = value
			return
		}
	}
	m.Content = append(m.Content, key, value)
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

// parseNode parses a YAML text the test writes itself.
func parseNode(s string) *yaml.Node {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		panic(err)
	}
	return n.Content[0]
}
