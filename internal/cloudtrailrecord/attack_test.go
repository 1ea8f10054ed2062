package cloudtrailrecord

import (
	"os"
	"strings"
	"testing"
)

// synthetic is a minimal record of one call, for the techniques the public samples have no
// record of.
func synthetic(source, name, extra string) string {
	return `{"eventVersion":"1.08","eventTime":"2024-08-01T13:56:39Z","eventSource":"` + source + `.amazonaws.com","eventName":"` + name +
		`","eventType":"AwsApiCall","userIdentity":{"type":"IAMUser","userName":"mallory","accountId":"111122223333"}` + extra + `}`
}

// Issue 14, item 10: the calls of each technique of the attack table get the category
// attack.<tactic>.<technique>, its ATT&CK id, and at least its severity. Records are the
// panther rule tests' (real records: "panther:<line>") where they hold the call, else
// synthetic. Every row of the table has a case here (TestAttackTableTested).
func TestAttackTechniques(t *testing.T) {
	tests := []struct {
		record    string // "panther:<line>" or the record
		technique string // the row's tactic.name
		id        string
		severity  int
		failed    bool // the call failed: Category is error.*, Action the technique
	}{
		{"panther:49", "initial_access.console_login_without_mfa", "T1078.004", 5, false},
		{"panther:106", "execution.ec2_user_data", "T1059", 6, false},
		{synthetic("ec2", "ModifyInstanceAttribute", `,"requestParameters":{"instanceId":"i-1","attribute":"userData","value":"<sensitiveDataRemoved>"}`), "execution.ec2_user_data", "T1059", 6, false},
		{"panther:360", "execution.ssm_send_command", "T1651", 6, false},
		{"panther:394", "execution.ssm_start_session", "T1651", 6, false},
		{"panther:138", "persistence.iam_backdoor_role", "T1098.003", 7, false},
		{"panther:160", "persistence.iam_backdoor_user", "T1098.001", 6, false},
		{"panther:144", "persistence.iam_create_admin_user", "T1136.003", 6, false},
		{"panther:143", "persistence.iam_create_backdoor_role", "T1136.003", 6, false},
		{synthetic("iam", "CreateLoginProfile", `,"requestParameters":{"userName":"alice","passwordResetRequired":false}`), "persistence.iam_create_user_login_profile", "T1098.001", 7, false},
		{"panther:1", "persistence.lambda_layer_extension", "T1648", 6, false},
		{synthetic("lambda", "PublishLayerVersion20181031", `,"requestParameters":{"layerName":"ext"}`), "persistence.lambda_layer_extension", "T1648", 6, false},
		{"panther:190", "persistence.lambda_overwrite_code", "T1648", 6, false},
		{synthetic("rolesanywhere", "CreateTrustAnchor", `,"requestParameters":{"enabled":true,"name":"anchor","source":{"sourceType":"CERTIFICATE_BUNDLE"}}`), "persistence.rolesanywhere_create_trust_anchor", "T1098.001", 7, false},
		{synthetic("rolesanywhere", "CreateProfile", `,"requestParameters":{"enabled":true,"name":"profile","roleArns":["arn:aws:iam::111122223333:role/r"]}`), "persistence.rolesanywhere_create_trust_anchor", "T1098.001", 7, false},
		{synthetic("sts", "GetFederationToken", `,"requestParameters":{"name":"stratus_red_team"}`), "persistence.sts_federation_token", "T1098.001", 5, false},
		{"panther:29", "privilege_escalation.iam_update_user_login_profile", "T1098.001", 7, false},
		{"panther:341", "defense_evasion.cloudtrail_delete", "T1562.008", 8, false},
		{"panther:26", "defense_evasion.cloudtrail_event_selectors", "T1562.008", 8, false},
		{"panther:42", "defense_evasion.cloudtrail_stop", "T1562.008", 8, false},
		{"panther:73", "defense_evasion.dns_delete_logs", "T1562.008", 8, false},
		{"panther:22", "defense_evasion.organizations_leave", "T1666", 7, true},
		{"panther:374", "defense_evasion.vpc_remove_flow_logs", "T1562.008", 8, false},
		{"panther:15", "defense_evasion.bedrock_model_invocation_logging_delete", "T1562.008", 8, false},
		{"panther:18", "defense_evasion.bedrock_guardrail_delete", "T1562", 8, false},
		{"panther:88", "credential_access.ec2_get_password_data", "T1552", 5, true},
		{"panther:340", "credential_access.secretsmanager_retrieve_secrets", "T1555.006", 5, true},
		{synthetic("secretsmanager", "BatchGetSecretValue", `,"requestParameters":{"filters":[{"key":"name","values":["prod"]}]}`), "credential_access.secretsmanager_retrieve_secrets", "T1555.006", 5, false},
		{"panther:355", "credential_access.ssm_retrieve_securestring_parameters", "T1555.006", 5, false},
		{"panther:75", "discovery.ec2_download_user_data", "T1580", 3, false},
		{"panther:36", "discovery.ses_enumerate", "T1526", 2, false},
		{"panther:95", "lateral_movement.ec2_instance_connect", "T1021.008", 6, false},
		{synthetic("ec2-instance-connect", "SendSerialConsoleSSHPublicKey", `,"requestParameters":{"instanceId":"i-1","serialPort":0}`), "lateral_movement.ec2_serial_console_send_ssh_public_key", "T1021.008", 6, false},
		{synthetic("ec2", "EnableSerialConsoleAccess", `,"requestParameters":{"EnableSerialConsoleAccessRequest":""}`), "lateral_movement.ec2_serial_console_send_ssh_public_key", "T1021.008", 6, false},
		{"panther:86", "exfiltration.ec2_security_group_open_port_22_ingress", "T1562.007", 6, false},
		{"panther:6", "exfiltration.ec2_share_ami", "T1537", 7, false},
		{"panther:349", "exfiltration.ec2_share_ebs_snapshot", "T1537", 7, false},
		{"panther:265", "exfiltration.rds_share_snapshot", "T1537", 7, false},
		{"panther:268", "exfiltration.s3_backdoor_bucket_policy", "T1537", 7, false},
		{synthetic("bedrock", "InvokeModel", `,"requestParameters":{"modelId":"anthropic.claude-v2"}`), "impact.bedrock_invoke_model", "T1496.004", 4, false},
		{synthetic("bedrock", "PutFoundationModelEntitlement", `,"requestParameters":{"modelId":"anthropic.claude-v2"}`), "impact.bedrock_model_entitlement", "T1496.004", 6, false},
		{synthetic("bedrock", "PutUseCaseForModelAccess", `,"requestParameters":{"formData":"<sensitiveDataRemoved>"}`), "impact.bedrock_model_entitlement", "T1496.004", 6, false},
		{"panther:302", "impact.s3_ransomware_batch_deletion", "T1485", 5, false},
	}
	panther := pantherRecords(t)
	for _, tt := range tests {
		rec := tt.record
		if n, ok := cutPanther(rec); ok {
			rec = string(panther[n-1])
		}
		t.Run(tt.technique+"/"+tt.record[:min(len(tt.record), 12)], func(t *testing.T) {
			ev, err := Parse([]byte(rec))
			if err != nil {
				t.Fatal(err)
			}
			want := "attack." + tt.technique
			if ev.Action != want || ev.Technique != tt.id || ev.TechniqueName == "" || ev.Severity < tt.severity {
				t.Fatalf("%s: action %q technique %q (%q) severity %d; want %q %q, severity at least %d",
					ev.EventName, ev.Action, ev.Technique, ev.TechniqueName, ev.Severity, want, tt.id, tt.severity)
			}
			if tt.failed != (ev.Category != ev.Action) || tt.failed != strings.HasPrefix(ev.Category, "error.") {
				t.Fatalf("%s: category %q, action %q (failed call: %v)", ev.EventName, ev.Category, ev.Action, tt.failed)
			}
		})
	}
}

// Calls that look like a technique's but are not: the condition of the row does not hold, or
// the event source is another's. They keep their routine category and get no technique.
func TestAttackTechniqueConditions(t *testing.T) {
	panther := pantherRecords(t)
	tests := []struct {
		name, record, category string
	}{
		{"console login with MFA", synthetic("signin", "ConsoleLogin", `,"eventType":"AwsConsoleSignIn","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"Yes"}`), "authentication.console.success"},
		{"failed console login without MFA", string(panther[45]), "authentication.console.failure"},
		{"instance type changed", synthetic("ec2", "ModifyInstanceAttribute", `,"requestParameters":{"instanceId":"i-1","instanceType":{"value":"t3.large"}}`), "resource.update"},
		{"user data named in a value only", synthetic("ec2", "ModifyInstanceAttribute", `,"requestParameters":{"instanceId":"i-1","description":"userData"}`), "resource.update"},
		{"instance attribute read", synthetic("ec2", "DescribeInstanceAttribute", `,"requestParameters":{"instanceId":"i-1","attribute":"instanceType"}`), "resource.read"},
		{"parameter read without decryption", synthetic("ssm", "GetParameter", `,"requestParameters":{"name":"/app/url","withDecryption":false}`), "secret.read"},
		{"ingress from one address", string(panther[102]), "network.security_group.change"},
		{"UpdateFunctionCode of another service", synthetic("example", "UpdateFunctionCode", ``), "resource.update"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse([]byte(tt.record))
			if err != nil {
				t.Fatal(err)
			}
			if ev.Category != tt.category || ev.Technique != "" {
				t.Fatalf("%s: category %q technique %q; want %q and none", ev.EventName, ev.Category, ev.Technique, tt.category)
			}
		})
	}
}

// TestAttackTableTested: every row of the attack table has a case in TestAttackTechniques,
// every row names a source, an ATT&CK id and a known tactic, and no call is listed twice
// without a condition telling the rows apart.
func TestAttackTableTested(t *testing.T) {
	src, err := readFile("attack_test.go")
	if err != nil {
		t.Fatal(err)
	}
	tactics := map[string]bool{"initial_access": true, "execution": true, "persistence": true, "privilege_escalation": true,
		"defense_evasion": true, "credential_access": true, "discovery": true, "lateral_movement": true, "collection": true,
		"exfiltration": true, "impact": true}
	for _, row := range techniques {
		key := row.tactic + "." + row.name
		if !strings.Contains(src, `"`+key+`"`) {
			t.Errorf("row %s has no case in TestAttackTechniques", key)
		}
		if !tactics[row.tactic] || !strings.HasPrefix(row.id, "T1") || row.idName == "" || !strings.Contains(row.source, "https://") || row.sev < 1 || row.sev > 10 {
			t.Errorf("row %s: tactic %q id %q name %q source %q severity %d", key, row.tactic, row.id, row.idName, row.source, row.sev)
		}
	}
	for k, rows := range attackTable {
		unconditional := 0
		for _, i := range rows {
			if techniques[i].when == nil {
				unconditional++
			}
		}
		if unconditional > 1 {
			t.Errorf("%s:%s is in %d rows without a condition", k.source, k.name, unconditional)
		}
	}
}

func readFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}
