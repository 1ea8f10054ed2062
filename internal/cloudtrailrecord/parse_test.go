package cloudtrailrecord

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseFields(t *testing.T) {
	rec := `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:bob","arn":"arn:aws:sts::123456789012:assumed-role/Admin/bob","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::123456789012:role/Admin","userName":"Admin"},"attributes":{"mfaAuthenticated":"true","creationDate":"2023-11-14T22:00:00Z"}}},"eventTime":"2023-11-14T22:13:20.123Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.5","userAgent":"caf\u00e9 \"cli\"","errorCode":"AccessDenied","errorMessage":"User is not authorized","requestParameters":{"name":"t"},"responseElements":null,"requestID":"r-1","eventID":"e-1","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"eventCategory":"Management","recipientAccountId":"123456789012","resources":[{"ARN":"x"}]}`
	ev, err := Parse([]byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{
		Raw: ev.Raw, EventVersion: "1.08", EventTime: time.Date(2023, 11, 14, 22, 13, 20, 123e6, time.UTC),
		EventSource: "cloudtrail.amazonaws.com", EventName: "StopLogging", AWSRegion: "us-east-1",
		SourceIPAddress: "203.0.113.5", UserAgent: `café "cli"`, EventID: "e-1", EventType: "AwsApiCall",
		EventCategory: "Management", RequestID: "r-1", RecipientAccountID: "123456789012",
		ErrorCode: "AccessDenied", ErrorMessage: "User is not authorized", ReadOnly: False, ManagementEvent: True,
		Identity: Identity{Type: "AssumedRole", PrincipalID: "AROAEXAMPLE:bob", ARN: "arn:aws:sts::123456789012:assumed-role/Admin/bob",
			AccountID: "123456789012", AccessKeyID: "ASIAEXAMPLE", UserName: "bob",
			SessionIssuerARN: "arn:aws:iam::123456789012:role/Admin", SessionIssuerName: "Admin", MFAAuthenticated: True,
			RoleName: "Admin", SessionName: "bob"},
		RequestParameters: []byte(`{"name":"t"}`), Resources: []byte(`[{"ARN":"x"}]`), AccountID: "123456789012",
		Category: "error.access_denied", Action: "attack.defense_evasion.cloudtrail_stop", Outcome: OutcomeFailure, Severity: 7,
		OCSF:      OCSF{ClassUID: 6003, ClassName: "API Activity", CategoryUID: 6, ActivityID: 4, ActivityName: "Delete"},
		Technique: "T1562.008", TechniqueName: "Impair Defenses: Disable or Modify Cloud Logs",
	}
	got, _ := json.Marshal(ev)
	exp, _ := json.Marshal(&want)
	if string(got) != string(exp) {
		t.Errorf("Parse:\n got %s\nwant %s", got, exp)
	}
	if ev.OCSF.TypeUID() != 600304 {
		t.Errorf("TypeUID %d", ev.OCSF.TypeUID())
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name, in string
		want     Status
	}{
		{"ok", `{"eventName":"GetObject","eventSource":"s3.amazonaws.com","eventTime":"2023-01-01T00:00:00Z"}`, StatusOK},
		{"panther time", `{"eventName":"GetObject","eventSource":"s3.amazonaws.com","eventTime":"2023-01-01 00:00:00.000000000"}`, StatusOK},
		{"empty", ``, StatusNotJSON},
		{"text", `LogStreamName: x`, StatusNotJSON},
		{"truncated", `{"eventName":"GetObject","eventSource":"s3.amazonaws.com"`, StatusNotJSON},
		{"trailing", `{"eventName":"GetObject"} {}`, StatusNotJSON},
		{"array", `[1,2]`, StatusNotCloudTrail},
		{"no eventName", `{"eventSource":"s3.amazonaws.com","eventTime":"2023-01-01T00:00:00Z"}`, StatusNotCloudTrail},
		{"no eventSource", `{"eventName":"GetObject","eventTime":"2023-01-01T00:00:00Z"}`, StatusNotCloudTrail},
		{"no eventTime", `{"eventName":"GetObject","eventSource":"s3.amazonaws.com"}`, StatusNotCloudTrail},
		{"bad eventTime", `{"eventName":"GetObject","eventSource":"s3.amazonaws.com","eventTime":"yesterday"}`, StatusNotCloudTrail},
		{"eventName not a string", `{"eventName":5,"eventSource":"s3.amazonaws.com","eventTime":"2023-01-01T00:00:00Z"}`, StatusNotCloudTrail},
		{"digest", `{"awsAccountId":"1","digestStartTime":"2015-08-17T14:01:31Z","digestEndTime":"2015-08-17T15:01:31Z","logFiles":[]}`, StatusNotCloudTrail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse([]byte(tt.in))
			if got := StatusOf(err); got != tt.want {
				t.Fatalf("status %s (%v), want %s", got, err, tt.want)
			}
			if err != nil {
				if ev != nil || !errors.Is(err, ErrNotCloudTrail) {
					t.Errorf("err %v, event %v", err, ev)
				}
			}
		})
	}
}

func TestUserName(t *testing.T) {
	tests := []struct{ identity, want string }{
		{`{"type":"IAMUser","arn":"arn:aws:iam::1:user/path/carol"}`, "carol"},
		{`{"type":"IAMUser","userName":"dave","arn":"arn:aws:iam::1:user/other"}`, "dave"},
		{`{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R/sess"}`, "sess"},
		{`{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R","principalId":"AROA:p"}`, "p"},
		{`{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/R","sessionContext":{"sessionIssuer":{"userName":"R"}}}`, "R"},
		{`{"type":"Root","arn":"arn:aws:iam::1:root"}`, "root"},
		{`{"type":"AWSService","invokedBy":"s3.amazonaws.com"}`, "s3.amazonaws.com"},
		{`{"accountId":"1","invokedBy":"AWS Internal"}`, "AWS Internal"},
		{`{"type":"FederatedUser","arn":"arn:aws:sts::1:federated-user/eve"}`, "eve"},
		{`{"type":"AWSAccount","principalId":"AIDA"}`, ""},
		{`null`, ""},
	}
	for _, tt := range tests {
		rec := `{"eventName":"GetObject","eventSource":"s3.amazonaws.com","eventTime":"2023-01-01T00:00:00Z","userIdentity":` + tt.identity + `}`
		ev, err := Parse([]byte(rec))
		if err != nil {
			t.Fatalf("%s: %v", tt.identity, err)
		}
		if ev.Identity.UserName != tt.want {
			t.Errorf("%s: user name %q, want %q", tt.identity, ev.Identity.UserName, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name, extra                string
		source, event              string
		category, action, ocsfName string
		outcome                    Outcome
		severity, class, activity  int
	}{
		{"console ok", `,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"Yes"},"eventType":"AwsConsoleSignIn"`, "signin.amazonaws.com", "ConsoleLogin",
			"authentication.console.success", "", "Logon", OutcomeSuccess, 3, 3002, 1},
		{"console no mfa", `,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}`, "signin.amazonaws.com", "ConsoleLogin",
			"attack.initial_access.console_login_without_mfa", "", "Logon", OutcomeSuccess, 5, 3002, 1},
		{"console failed", `,"responseElements":{"ConsoleLogin":"Failure"},"errorMessage":"Failed authentication"`, "signin.amazonaws.com", "ConsoleLogin",
			"authentication.console.failure", "", "Logon", OutcomeFailure, 5, 3002, 1},
		{"root console", `,"userIdentity":{"type":"Root"},"responseElements":{"ConsoleLogin":"Success"}`, "signin.amazonaws.com", "ConsoleLogin",
			"authentication.console.success", "", "Logon", OutcomeSuccess, 8, 3002, 1},
		{"assume role denied", `,"errorCode":"AccessDenied"`, "sts.amazonaws.com", "AssumeRole",
			"authentication.api.failure", "", "Logon", OutcomeFailure, 4, 3002, 1},
		{"access key", ``, "iam.amazonaws.com", "CreateAccessKey", "attack.persistence.iam_backdoor_user", "", "Create", OutcomeSuccess, 6, 3001, 1},
		{"login profile", ``, "iam.amazonaws.com", "UpdateLoginProfile", "attack.privilege_escalation.iam_update_user_login_profile", "", "Password Reset", OutcomeSuccess, 7, 3001, 4},
		{"attach", ``, "iam.amazonaws.com", "AttachUserPolicy", "policy.attach", "", "Attach Policy", OutcomeSuccess, 6, 3001, 7},
		{"detach", ``, "iam.amazonaws.com", "DetachRolePolicy", "policy.detach", "", "Detach Policy", OutcomeSuccess, 5, 3001, 8},
		{"mfa off", ``, "iam.amazonaws.com", "DeactivateMFADevice", "iam.mfa.disable", "", "MFA Factor Disable", OutcomeSuccess, 7, 3001, 11},
		{"bucket policy", ``, "s3.amazonaws.com", "PutBucketPolicy", "attack.exfiltration.s3_backdoor_bucket_policy", "", "Update", OutcomeSuccess, 7, 6003, 3},
		{"stop logging", ``, "cloudtrail.amazonaws.com", "StopLogging", "attack.defense_evasion.cloudtrail_stop", "", "Delete", OutcomeSuccess, 8, 6003, 4},
		{"update trail", ``, "cloudtrail.amazonaws.com", "UpdateTrail", "logging.tampering", "", "Update", OutcomeSuccess, 8, 6003, 3},
		{"guardduty", ``, "guardduty.amazonaws.com", "DeleteDetector", "security.tampering", "", "Delete", OutcomeSuccess, 8, 6003, 4},
		{"other DeleteDetector", ``, "example.amazonaws.com", "DeleteDetector", "resource.delete", "", "Delete", OutcomeSuccess, 4, 6003, 4},
		{"sg", ``, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", "network.security_group.change", "", "Update", OutcomeSuccess, 5, 6003, 3},
		{"root api", `,"userIdentity":{"type":"Root"}`, "ec2.amazonaws.com", "CreateVpc", "network.vpc.change", "", "Update", OutcomeSuccess, 6, 6003, 3},
		{"denied", `,"errorCode":"Client.UnauthorizedOperation"`, "ec2.amazonaws.com", "RunInstances", "error.access_denied", "resource.create", "Create", OutcomeFailure, 5, 6003, 1},
		{"other error", `,"errorCode":"ValidationError"`, "ec2.amazonaws.com", "CreateVpc", "error.other", "network.vpc.change", "Update", OutcomeFailure, 3, 6003, 3},
		{"fallback create", ``, "x.amazonaws.com", "CreateWidget", "resource.create", "", "Create", OutcomeSuccess, 3, 6003, 1},
		{"fallback read", ``, "x.amazonaws.com", "BatchGetWidgets", "resource.read", "", "Read", OutcomeSuccess, 1, 6003, 2},
		{"fallback update", ``, "x.amazonaws.com", "AttachWidget", "resource.update", "", "Update", OutcomeSuccess, 3, 6003, 3},
		{"fallback delete", ``, "x.amazonaws.com", "TerminateWidget", "resource.delete", "", "Delete", OutcomeSuccess, 4, 6003, 4},
		{"fallback readonly", `,"readOnly":true`, "x.amazonaws.com", "Frobnicate", "resource.read", "", "Read", OutcomeSuccess, 1, 6003, 2},
		{"fallback other", ``, "x.amazonaws.com", "Frobnicate", "resource.other", "", "Other", OutcomeSuccess, 2, 6003, 99},
		{"versioned name", ``, "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", "attack.persistence.lambda_overwrite_code", "", "Update", OutcomeSuccess, 6, 6003, 3},
		{"other UpdateFunctionCode", ``, "x.amazonaws.com", "UpdateFunctionCode", "resource.update", "", "Update", OutcomeSuccess, 3, 6003, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := `{"eventTime":"2023-01-01T00:00:00Z","eventSource":"` + tt.source + `","eventName":"` + tt.event + `"` + tt.extra + `}`
			ev, err := Parse([]byte(rec))
			if err != nil {
				t.Fatal(err)
			}
			action := tt.action
			if action == "" {
				action = tt.category
			}
			if ev.Category != tt.category || ev.Action != action || ev.Outcome != tt.outcome || ev.Severity != tt.severity ||
				ev.OCSF.ClassUID != tt.class || ev.OCSF.ActivityID != tt.activity || ev.OCSF.ActivityName != tt.ocsfName {
				t.Errorf("got %s", describe(ev))
			}
		})
	}
}

// TestTableCoversPanther checks that every event name in the panther records is in the
// table (not left to the verb fallback), except the rule tests' made-up names.
func TestTableCoversPanther(t *testing.T) {
	madeUp := map[string]bool{"NotCreateUser": true}
	seen := map[string]bool{}
	for _, rec := range pantherRecords(t) {
		var r struct{ EventSource, EventName string }
		if err := json.Unmarshal(rec, &r); err != nil {
			t.Fatal(err)
		}
		if madeUp[r.EventName] || seen[r.EventSource+r.EventName] {
			continue
		}
		seen[r.EventSource+r.EventName] = true
		if _, ok := lookup(r.EventSource, r.EventName); !ok {
			t.Errorf("%s %s is not in the category table", r.EventSource, r.EventName)
		}
	}
	if len(seen) < 180 {
		t.Errorf("saw %d event names, want the panther set's 180+", len(seen))
	}
}

// TestSeveritiesDefined checks that every category in the table has a severity.
func TestSeveritiesDefined(t *testing.T) {
	for _, g := range groups {
		cats := []string{g.cat}
		if g.kind == kAuth {
			cats = []string{g.cat + ".success", g.cat + ".failure"}
		}
		for _, c := range cats {
			if _, ok := baseSeverity[c]; !ok {
				t.Errorf("category %s has no severity", c)
			}
		}
	}
}

func TestTrimAPIVersion(t *testing.T) {
	for in, want := range map[string]string{
		"UpdateFunctionCode20150331v2": "UpdateFunctionCode", "ListFunctions20150331": "ListFunctions",
		"CreateUser": "CreateUser", "Get1234": "Get1234", "20150331": "20150331", "v2": "v2", "": "",
	} {
		if got := trimAPIVersion(in); got != want {
			t.Errorf("trimAPIVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestScannerMatchesEncodingJSON checks validity and string decoding against encoding/json.
func TestScannerMatchesEncodingJSON(t *testing.T) {
	for _, in := range scannerSeeds {
		checkScanner(t, []byte(in))
	}
}

var scannerSeeds = []string{
	`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":"d"}`, `{"a":1,}`, `[1,]`, `[,1]`, `{"a" 1}`, `01`, `-`, `1.`, `1e`, `1.5e+10`,
	`"\u00e9\ud83d\ude00\ud83d x\udc00"`, `"bad \x"`, "\"ctl \x01\"", "\"\xff\xfe\"", `"\/\b\f\n\r\t\"\\"`, `tru`, `nul`, ` true `,
	`{"k\u0065y":"v"}`, strings.Repeat("[", 600) + strings.Repeat("]", 600),
}

func checkScanner(t *testing.T, in []byte) {
	t.Helper()
	s := scanner{b: in}
	_, ok := s.skip()
	ok = ok && s.end()
	// Beyond maxDepth the scanner refuses what encoding/json accepts; that is intended.
	if ok != json.Valid(in) && !(s.depth > maxDepth || strings.Count(string(in), "[")+strings.Count(string(in), "{") > maxDepth) {
		t.Fatalf("valid(%q): scanner %v, encoding/json %v", in, ok, !ok)
	}
	if ok && len(in) > 0 {
		s := scanner{b: in}
		if s.peek() == '"' {
			got, _ := s.text()
			var want string
			if err := json.Unmarshal(in, &want); err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Fatalf("decode(%q): scanner %q, encoding/json %q", in, got, want)
			}
		}
	}
}
