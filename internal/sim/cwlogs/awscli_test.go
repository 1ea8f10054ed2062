package cwlogs

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAWSCLI drives the simulator with a second, independent client: the AWS CLI (botocore).
// It is skipped with -short, and when the CLI is not installed unless LOGSHIPPER_REQUIRE_AWSCLI
// is set, which makes its absence a failure.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs the AWS CLI")
	}
	cli, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("LOGSHIPPER_REQUIRE_AWSCLI") != "" {
			t.Fatal("the aws CLI is not on PATH and LOGSHIPPER_REQUIRE_AWSCLI is set")
		}
		t.Skip("the aws CLI is not on PATH (scripts/setup.sh does not install it); set LOGSHIPPER_REQUIRE_AWSCLI=1 to make this a failure")
	}
	e := newEnv(t, Options{ScanBudget: 50, Now: time.Now})
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"logs", "--endpoint-url", e.srv.URL, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(),
			"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=eu-central-1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		m := map[string]any{}
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return m
	}
	run("create-log-group", "--log-group-name", "cli")
	run("create-log-stream", "--log-group-name", "cli", "--log-stream-name", "s1")
	now := time.Now().UnixMilli()
	var evs []string
	for i := range 300 {
		msg := fmt.Sprintf(`{"eventName":"E%d","n":%d}`, i%3, i)
		b, _ := json.Marshal(map[string]any{"timestamp": now - 300_000 + int64(i), "message": msg})
		evs = append(evs, string(b))
	}
	out := run("put-log-events", "--log-group-name", "cli", "--log-stream-name", "s1", "--log-events", "["+strings.Join(evs, ",")+"]")
	if out["rejectedLogEventsInfo"] != nil {
		t.Fatalf("rejected: %v", out)
	}
	// the CLI pages to the end by itself, through the empty pages of a sparse filter
	out = run("filter-log-events", "--log-group-name", "cli", "--filter-pattern", `{ $.eventName = "E1" && $.n > 150 }`)
	if got := len(out["events"].([]any)); got != 50 {
		t.Fatalf("filter-log-events: %d events, want 50", got)
	}
	out = run("describe-log-streams", "--log-group-name", "cli")
	if s := out["logStreams"].([]any); len(s) != 1 || s[0].(map[string]any)["logStreamName"] != "s1" {
		t.Fatalf("describe-log-streams: %v", out)
	}
	out = run("get-log-events", "--log-group-name", "cli", "--log-stream-name", "s1", "--limit", "5", "--start-from-head")
	if got := len(out["events"].([]any)); got != 5 {
		t.Fatalf("get-log-events: %d events", got)
	}
}
