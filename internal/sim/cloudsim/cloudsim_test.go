package cloudsim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// start runs a cloudsim on free ports with the default world.
func start(t *testing.T, edit func(*Config)) *Sim {
	t.Helper()
	c := Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if edit != nil {
		edit(c)
	}
	s, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func staticConfig(s *Sim, secret string) aws.Config {
	a := s.cfg.AWS.Accounts[0]
	return aws.Config{
		Region:           "eu-west-1",
		Credentials:      credentials.NewStaticCredentialsProvider(a.AccessKeyID, secret, ""),
		RetryMaxAttempts: 1,
	}
}

// The Go SDK's CloudWatch Logs client works unmodified through the SigV4 verifier, with the
// state kept per region, and loaded CloudTrail records are found by a filter pattern.
func TestCloudWatchLogsThroughTheVerifier(t *testing.T) {
	dir := t.TempDir()
	trail := filepath.Join(dir, "trail.json")
	if err := os.WriteFile(trail, []byte(`{"Records":[
{"eventVersion":"1.08","eventTime":"2026-11-23T08:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"eu-west-1"},
{"eventVersion":"1.08","eventTime":"2026-11-23T08:00:01Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"eu-west-1"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, func(c *Config) {
		c.AWS.Logs.Load = []LogsLoad{{Region: "eu-west-1", Group: "trail", File: trail}}
	})
	ctx := context.Background()
	client := cloudwatchlogs.NewFromConfig(staticConfig(s, s.cfg.AWS.Accounts[0].SecretAccessKey), func(o *cloudwatchlogs.Options) {
		o.BaseEndpoint = aws.String(s.Endpoints["aws"])
	})
	out, err := client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName:  aws.String("trail"),
		FilterPattern: aws.String(`{ $.eventName = "ConsoleLogin" }`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 || !strings.Contains(*out.Events[0].Message, "ConsoleLogin") || *out.Events[0].LogStreamName != "123456789012_CloudTrail_eu-west-1" {
		t.Fatalf("events %+v", out.Events)
	}
	// Another region is another world.
	other := cloudwatchlogs.NewFromConfig(staticConfig(s, s.cfg.AWS.Accounts[0].SecretAccessKey), func(o *cloudwatchlogs.Options) {
		o.BaseEndpoint, o.Region = aws.String(s.Endpoints["aws"]), "us-east-1"
	})
	_, err = other.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("trail")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("us-east-1: %v, want ResourceNotFoundException", err)
	}
	// A wrong secret is refused with the real error.
	bad := cloudwatchlogs.NewFromConfig(staticConfig(s, "wrong"), func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(s.Endpoints["aws"]) })
	_, err = bad.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("wrong secret: %v", err)
	}
}

// The SDK's default chain on the simulated EC2 instance gets role credentials from IMDS, and
// STS knows them.
func TestEC2RoleCredentials(t *testing.T) {
	s := start(t, nil)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", s.Endpoints["imds"]+"/")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(s.Endpoints["aws"]) }).
		GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(*id.Arn, ":assumed-role/logshipper-role/") || *id.Account != "123456789012" {
		t.Fatalf("identity %s %s", *id.Arn, *id.Account)
	}
}

// The Netskope tenant serves its backlog to a known token, and refuses an unknown one.
func TestNetskopeTenant(t *testing.T) {
	s := start(t, nil)
	get := func(token, op string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, s.Endpoints["netskope"]+"/api/v2/events/dataexport/alerts/dlp?index=t&operation="+op, nil)
		req.Header.Set("Netskope-Api-Token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := get("cloudsim-demo-token", "head")
	var page struct {
		OK     int               `json:"ok"`
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != 200 || page.OK != 1 || len(page.Result) == 0 {
		t.Fatalf("%d %v %.200s", resp.StatusCode, err, body)
	}
	if resp, _ := get("not-a-token", "head"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", resp.StatusCode)
	}
}

// What the AWS CLI puts into CloudTrail Lake through the verifier is there in the admin query.
func TestLakeWithTheAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil || testing.Short() {
		t.Skip("needs the AWS CLI")
	}
	s := start(t, nil)
	a := s.cfg.AWS.Accounts[0]
	dir := t.TempDir()
	ed := `{"version":"1.0","userIdentity":{"type":"User","principalId":"alice"},"eventSource":"netskopealert.dlp","eventName":"DLP","eventTime":"2026-11-23T09:00:00Z","UID":"u1","recipientAccountId":"123456789012"}`
	events, _ := json.Marshal([]map[string]string{{"id": "e-1", "eventData": ed}})
	if err := os.WriteFile(filepath.Join(dir, "ev.json"), events, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aws", "cloudtrail-data", "put-audit-events", "--endpoint-url", s.Endpoints["aws"], "--region", "us-east-1",
		"--channel-arn", DemoChannelARN, "--audit-events", "file://"+filepath.Join(dir, "ev.json"))
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+a.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+a.SecretAccessKey,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"id": "e-1"`) {
		t.Fatalf("%v\n%s", err, out)
	}
	resp, err := http.Get(s.Endpoints["admin"] + "/lake/events?eventSource=netskopealert.dlp")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"id":"e-1"`) {
		t.Fatalf("lake holds %s", b)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("netskope:\n  listen: \"\"\naws:\n  lake:\n    duplicate_mode: reject\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil || c.Netskope.Listen != "" || c.AWS.Lake.DuplicateMode != "reject" || c.AWS.Listen == "" {
		t.Fatalf("%+v %v", c, err)
	}
	if err := os.WriteFile(p, []byte("netskop: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "netskop") {
		t.Fatalf("unknown key: %v", err)
	}
}

// The example configuration loads and starts, with its CloudTrail file, which is in the
// project (a clone has it).
func TestExampleConfig(t *testing.T) {
	c, err := Load("../../../examples/cloudsim.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	s, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := s.Logs.Stats().EventsStored; n < 300 {
		t.Fatalf("%d CloudTrail events loaded from the sample", n)
	}
}
