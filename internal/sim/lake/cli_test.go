package lake

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// The AWS CLI (botocore) is an independent client of the real API: these tests check that
// cloudsim's CloudTrail Lake answers in shapes it parses.

const docsAccount = "152089810396" // the account of the awsdocs put-audit-events example

var credentialRe = regexp.MustCompile(`Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// cliRouter stands in for cloudsim's SigV4 router: it reads the credential scope of the
// Authorization header (without checking the signature) and dispatches on the service.
func cliRouter(s *Service) http.Handler {
	data, control := s.DataHandler(), s.ControlHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := credentialRe.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil {
			data.ServeHTTP(w, r) // no caller: MissingAuthenticationTokenException
			return
		}
		account := testAccount
		if m[1] == "AKIDDOCS" {
			account = docsAccount
		}
		c := awssim.Caller{AccessKeyID: m[1], AccountID: account, Region: m[2], Service: m[3],
			ARN: "arn:aws:iam::" + account + ":user/cli"}
		r = r.WithContext(awssim.WithCaller(r.Context(), c))
		if m[3] == "cloudtrail" {
			control.ServeHTTP(w, r)
			return
		}
		data.ServeHTTP(w, r)
	})
}

type cliEnv struct {
	t   *testing.T
	url string
	dir string
}

func (e cliEnv) write(name, content string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// run runs aws with the given access key and arguments; it returns stdout, stderr and the exit
// code.
func (e cliEnv) run(accessKey string, args ...string) (string, string, int) {
	e.t.Helper()
	args = append(args, "--endpoint-url", e.url, "--region", testRegion, "--output", "json")
	cmd := exec.Command("aws", args...)
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			base = append(base, kv)
		}
	}
	cmd.Env = append(base,
		"AWS_ACCESS_KEY_ID="+accessKey,
		"AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE="+e.write("config", ""),
		"AWS_SHARED_CREDENTIALS_FILE="+e.write("credentials", ""),
		"AWS_MAX_ATTEMPTS=1",
		"AWS_RETRY_MODE=standard",
		"AWS_EC2_METADATA_DISABLED=true",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			e.t.Fatalf("aws: %v", err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

func TestAWSCLI(t *testing.T) {
	requireAWSCLI(t)
	if testing.Short() {
		t.Skip("starts the AWS CLI several times")
	}
	const partnerChan = "arn:aws:cloudtrail:us-east-1:" + otherAccount + ":channel/partner"
	const docsChan = "arn:aws:cloudtrail:us-east-1:" + docsAccount + ":channel/01234567890"
	s := New(Options{Channels: []Channel{
		{ARN: testChanARN, Name: "shipper-channel"},
		{ARN: partnerChan, ExternalID: "secret-42", AllowedAccounts: []string{testAccount}},
		{ARN: docsChan},
	}})
	srv := httptest.NewServer(cliRouter(s))
	defer srv.Close()
	env := cliEnv{t: t, url: srv.URL, dir: t.TempDir()}

	good := validEventData(t)
	bad := baseEvent()
	delete(bad, "UID")
	events, _ := json.Marshal([]map[string]any{
		{"id": "cli-1", "eventData": good, "eventDataChecksum": checksum(good)},
		{"id": "cli-2", "eventData": eventJSON(t, bad)},
		{"id": "cli-3", "eventData": good, "eventDataChecksum": checksum("other")},
	})
	eventsFile := env.write("events.json", string(events))

	t.Run("partial success", func(t *testing.T) {
		stdout, stderr, code := env.run("AKIDTEST", "cloudtrail-data", "put-audit-events",
			"--channel-arn", testChanARN, "--audit-events", "file://"+eventsFile)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var out putResponse
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("%q: %v", stdout, err)
		}
		if len(out.Successful) != 1 || out.Successful[0].ID != "cli-1" || !uuidRe.MatchString(out.Successful[0].EventID) ||
			len(out.Failed) != 2 || out.Failed[0].ErrorCode != CodeFieldNotFound || out.Failed[1].ErrorCode != CodeInvalidChecksum {
			t.Errorf("%s", stdout)
		}
		if got := s.Query(Filter{ID: "cli-1"}); len(got) != 1 || string(got[0].EventData) != good {
			t.Errorf("stored %+v", got)
		}
	})

	t.Run("awsdocs example with cli-input-json", func(t *testing.T) {
		input := env.write("input.json", string(readTestdata(t, "query-lake-cli__block11__put-audit-events-custom-events.json")))
		stdout, stderr, code := env.run("AKIDDOCS", "cloudtrail-data", "put-audit-events",
			"--channel-arn", docsChan, "--cli-input-json", "file://"+input)
		if code != 0 || !strings.Contains(stdout, `"id": "1"`) {
			t.Fatalf("exit %d: %s %s", code, stdout, stderr)
		}
	})

	t.Run("external id", func(t *testing.T) {
		owner := baseEvent()
		owner["recipientAccountId"] = otherAccount
		f := env.write("partner.json", `[{"id":"p1","eventData":`+jsonString(eventJSON(t, owner))+`}]`)
		stdout, stderr, code := env.run("AKIDTEST", "cloudtrail-data", "put-audit-events",
			"--channel-arn", partnerChan, "--external-id", "secret-42", "--audit-events", "file://"+f)
		if code != 0 || !strings.Contains(stdout, `"id": "p1"`) {
			t.Fatalf("exit %d: %s %s", code, stdout, stderr)
		}
	})

	callErrors := []struct {
		name string
		args []string
		code string
	}{
		{"unknown channel", []string{"--channel-arn", "arn:aws:cloudtrail:us-east-1:" + testAccount + ":channel/missing"}, ErrChannelNotFound},
		{"malformed channel ARN", []string{"--channel-arn", "arn:aws:cloudtrail:us-east-1:42:channel/x"}, ErrInvalidChannelARN},
		{"no external id", []string{"--channel-arn", partnerChan}, ErrChannelInsufficientPermission},
	}
	for _, tc := range callErrors {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"cloudtrail-data", "put-audit-events", "--audit-events", "file://" + eventsFile}, tc.args...)
			stdout, stderr, code := env.run("AKIDTEST", args...)
			if code == 0 {
				t.Fatalf("exit 0: %s", stdout)
			}
			mustContain(t, stderr, "An error occurred ("+tc.code+") when calling the PutAuditEvents operation")
		})
	}

	t.Run("duplicated ids", func(t *testing.T) {
		f := env.write("dups.json", `[{"id":"d","eventData":"{}"},{"id":"d","eventData":"{}"}]`)
		_, stderr, code := env.run("AKIDTEST", "cloudtrail-data", "put-audit-events",
			"--channel-arn", testChanARN, "--audit-events", "file://"+f)
		if code == 0 {
			t.Fatal("exit 0")
		}
		mustContain(t, stderr, "("+ErrDuplicatedAuditEventID+")")
		mustContain(t, stderr, "same event ID")
	})

	t.Run("get-channel", func(t *testing.T) {
		stdout, stderr, code := env.run("AKIDTEST", "cloudtrail", "get-channel", "--channel", testChanARN)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var out struct {
			ChannelArn, Name, Source string
			Destinations             []struct{ Type, Location string }
			IngestionStatus          struct {
				LatestIngestionSuccessTime    float64 // CLI v1 prints timestamps as received
				LatestIngestionSuccessEventID string
			}
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("%q: %v", stdout, err)
		}
		if out.ChannelArn != testChanARN || out.Name != "shipper-channel" || out.Source != "Custom" ||
			len(out.Destinations) != 1 || out.Destinations[0].Type != "EVENT_DATA_STORE" ||
			out.IngestionStatus.LatestIngestionSuccessTime < 1e9 || !uuidRe.MatchString(out.IngestionStatus.LatestIngestionSuccessEventID) {
			t.Errorf("%s", stdout)
		}
		_, stderr, code = env.run("AKIDTEST", "cloudtrail", "get-channel", "--channel", "arn:aws:cloudtrail:us-east-1:"+testAccount+":channel/nope")
		if code == 0 {
			t.Fatal("exit 0 for an unknown channel")
		}
		mustContain(t, stderr, "(ChannelNotFoundException) when calling the GetChannel operation")
	})

	t.Run("list-channels", func(t *testing.T) {
		stdout, stderr, code := env.run("AKIDTEST", "cloudtrail", "list-channels")
		if code != 0 || !strings.Contains(stdout, testChanARN) || strings.Contains(stdout, partnerChan) {
			t.Fatalf("exit %d: %s %s", code, stdout, stderr)
		}
	})
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
