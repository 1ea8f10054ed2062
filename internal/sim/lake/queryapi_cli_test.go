package lake

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// requireAWSCLI skips the test when the aws CLI is not on PATH, unless LOGSHIPPER_REQUIRE_AWSCLI
// is set, which makes its absence a failure (scripts/setup.sh does not install it).
func requireAWSCLI(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		if os.Getenv("LOGSHIPPER_REQUIRE_AWSCLI") != "" {
			t.Fatal("the aws CLI is not on PATH and LOGSHIPPER_REQUIRE_AWSCLI is set")
		}
		t.Skip("the aws CLI is not on PATH (scripts/setup.sh does not install it); set LOGSHIPPER_REQUIRE_AWSCLI=1 to make this a failure")
	}
}

// Cloud Exchange's check after setup, as its user runs it with the AWS CLI: find the event
// data store, start the SQL query, wait for it, read the results.
func TestQueryAWSCLI(t *testing.T) {
	requireAWSCLI(t)
	s, _ := queryEnv(t)
	srv := httptest.NewServer(cliRouter(s))
	defer srv.Close()
	env := cliEnv{t: t, url: srv.URL, dir: t.TempDir()}

	stdout, stderr, code := env.run("AKIDTEST", "cloudtrail", "list-event-data-stores")
	if code != 0 || !strings.Contains(stdout, `"EventDataStoreArn": "arn:aws:cloudtrail:us-east-1:`+testAccount+`:eventdatastore/`+testEDSID+`"`) {
		t.Fatalf("list-event-data-stores: exit %d: %s %s", code, stdout, stderr)
	}

	stmt := "SELECT eventData FROM " + testEDSID + " WHERE eventData.eventSource = 'netskopeevent.audit'"
	stdout, stderr, code = env.run("AKIDTEST", "cloudtrail", "start-query", "--query-statement", stmt)
	var started struct{ QueryId string }
	if code != 0 || json.Unmarshal([]byte(stdout), &started) != nil || started.QueryId == "" {
		t.Fatalf("start-query: exit %d: %s %s", code, stdout, stderr)
	}

	stdout, stderr, code = env.run("AKIDTEST", "cloudtrail", "describe-query", "--query-id", started.QueryId)
	var described struct {
		QueryStatus     string
		QueryString     string
		QueryStatistics struct{ EventsMatched, EventsScanned int }
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &described) != nil || described.QueryStatus != "FINISHED" ||
		described.QueryString != stmt || described.QueryStatistics.EventsMatched != 2 || described.QueryStatistics.EventsScanned != 3 {
		t.Fatalf("describe-query: exit %d: %s %s", code, stdout, stderr)
	}

	stdout, stderr, code = env.run("AKIDTEST", "cloudtrail", "get-query-results", "--query-id", started.QueryId)
	var results struct {
		QueryStatus     string
		QueryResultRows [][]map[string]string
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &results) != nil || results.QueryStatus != "FINISHED" || len(results.QueryResultRows) != 2 {
		t.Fatalf("get-query-results: exit %d: %s %s", code, stdout, stderr)
	}
	for _, row := range results.QueryResultRows {
		var data struct{ EventSource string }
		if len(row) != 1 || json.Unmarshal([]byte(row[0]["eventData"]), &data) != nil || data.EventSource != "netskopeevent.audit" {
			t.Errorf("row %q: want one eventData column holding a netskopeevent.audit event", row)
		}
	}

	stdout, stderr, code = env.run("AKIDTEST", "cloudtrail", "start-query", "--query-statement", "SELECT eventData FROM "+testEDSID+" GROUP BY eventID")
	if code == 0 || !strings.Contains(stderr, "InvalidQueryStatementException") || !strings.Contains(stderr, "cloudsim runs SELECT") {
		t.Errorf("unsupported statement: exit %d: %s %s", code, stdout, stderr)
	}
}
