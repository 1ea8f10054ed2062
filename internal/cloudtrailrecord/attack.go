package cloudtrailrecord

import (
	"bytes"
	"strings"
)

// technique is one row of the attack table: the calls by which a known attack technique on
// AWS shows in CloudTrail.
type technique struct {
	// tactic is the ATT&CK tactic the source files the technique under, in snake case
	// (initial_access, execution, persistence, privilege_escalation, defense_evasion,
	// credential_access, discovery, lateral_movement, exfiltration, impact).
	tactic string
	// name is the technique's short name (the source's own id, in snake case): Category and
	// Action of a matching call are attack.<tactic>.<name>.
	name string
	// id and idName are the MITRE ATT&CK (Enterprise, IaaS) technique.
	id, idName string
	// sev is the least severity of a matching call (0-10).
	sev int
	// calls are space-separated event names, each "source:Name" (the event source's first
	// label: "lambda" for lambda.amazonaws.com), as in the category table.
	calls string
	// when, if set, must hold for a call to match (what in the record makes it the attack).
	when func(*Event) bool
	// source is where the row comes from: the attack-simulation technique whose detonation
	// makes these calls, and the ATT&CK technique page.
	source string
}

const (
	stratus = "https://stratus-red-team.cloud/attack-techniques/AWS/"
	attack  = "https://attack.mitre.org/techniques/"
)

// techniques is the attack table, built from the public catalogues of cloud attack
// techniques: Stratus Red Team's AWS techniques (each row names the one it comes from; their
// detonation logs list the calls), mapped to MITRE ATT&CK for IaaS, with the Threat Technique
// Catalog for AWS (https://aws-samples.github.io/threat-technique-catalog-for-aws/) where
// Stratus cites it. Keep README.md ("Attack techniques") in step.
//
// Left out, because one record cannot tell the attack from routine use: launching unusual
// instances (which instance types are unusual is the account's own), S3 lifecycle rules on
// the CloudTrail bucket (the bucket is not named as CloudTrail's in the record), S3 objects
// deleted one by one, discovery run from an instance (ordinary Describe and List calls).
var techniques = []technique{
	// Initial access.
	{"initial_access", "console_login_without_mfa", "T1078.004", "Valid Accounts: Cloud Accounts", 5,
		"signin:ConsoleLogin", consoleLoginWithoutMFA,
		stratus + "aws.initial-access.console-login-without-mfa/ " + attack + "T1078/004/"},
	// Execution.
	{"execution", "ec2_user_data", "T1059", "Command and Scripting Interpreter", 6,
		"ec2:ModifyInstanceAttribute", setsUserData,
		stratus + "aws.execution.ec2-user-data/ " + attack + "T1059/"},
	{"execution", "ssm_send_command", "T1651", "Cloud Administration Command", 6,
		"ssm:SendCommand", nil,
		stratus + "aws.execution.ssm-send-command/ " + attack + "T1651/"},
	{"execution", "ssm_start_session", "T1651", "Cloud Administration Command", 6,
		"ssm:StartSession", nil,
		stratus + "aws.execution.ssm-start-session/ " + attack + "T1651/"},
	// Persistence.
	{"persistence", "iam_backdoor_role", "T1098.003", "Account Manipulation: Additional Cloud Roles", 7,
		"iam:UpdateAssumeRolePolicy", nil,
		stratus + "aws.persistence.iam-backdoor-role/ " + attack + "T1098/003/"},
	{"persistence", "iam_backdoor_user", "T1098.001", "Account Manipulation: Additional Cloud Credentials", 6,
		"iam:CreateAccessKey", nil,
		stratus + "aws.persistence.iam-backdoor-user/ " + attack + "T1098/001/"},
	{"persistence", "iam_create_admin_user", "T1136.003", "Create Account: Cloud Account", 6,
		"iam:CreateUser", nil,
		stratus + "aws.persistence.iam-create-admin-user/ " + attack + "T1136/003/"},
	{"persistence", "iam_create_backdoor_role", "T1136.003", "Create Account: Cloud Account", 6,
		"iam:CreateRole", nil,
		stratus + "aws.persistence.iam-create-backdoor-role/ " + attack + "T1136/003/"},
	{"persistence", "iam_create_user_login_profile", "T1098.001", "Account Manipulation: Additional Cloud Credentials", 7,
		"iam:CreateLoginProfile", nil,
		stratus + "aws.persistence.iam-create-user-login-profile/ " + attack + "T1098/001/"},
	{"persistence", "lambda_layer_extension", "T1648", "Serverless Execution", 6,
		"lambda:UpdateFunctionConfiguration lambda:PublishLayerVersion", nil,
		stratus + "aws.persistence.lambda-layer-extension/ " + attack + "T1648/"},
	{"persistence", "lambda_overwrite_code", "T1648", "Serverless Execution", 6,
		"lambda:UpdateFunctionCode", nil,
		stratus + "aws.persistence.lambda-overwrite-code/ " + attack + "T1648/"},
	{"persistence", "rolesanywhere_create_trust_anchor", "T1098.001", "Account Manipulation: Additional Cloud Credentials", 7,
		"rolesanywhere:CreateTrustAnchor rolesanywhere:UpdateTrustAnchor rolesanywhere:CreateProfile rolesanywhere:UpdateProfile", nil,
		stratus + "aws.persistence.rolesanywhere-create-trust-anchor/ " + attack + "T1098/001/"},
	{"persistence", "sts_federation_token", "T1098.001", "Account Manipulation: Additional Cloud Credentials", 5,
		"sts:GetFederationToken", nil,
		stratus + "aws.persistence.sts-federation-token/ (Threat Technique Catalog for AWS T1098.001) " + attack + "T1098/001/"},
	// Privilege escalation.
	{"privilege_escalation", "iam_update_user_login_profile", "T1098.001", "Account Manipulation: Additional Cloud Credentials", 7,
		"iam:UpdateLoginProfile", nil,
		stratus + "aws.privilege-escalation.iam-update-user-login-profile/ " + attack + "T1098/001/"},
	// Defense evasion.
	{"defense_evasion", "cloudtrail_delete", "T1562.008", "Impair Defenses: Disable or Modify Cloud Logs", 8,
		"cloudtrail:DeleteTrail", nil,
		stratus + "aws.defense-evasion.cloudtrail-delete/ (Threat Technique Catalog for AWS T1562.008) " + attack + "T1562/008/"},
	{"defense_evasion", "cloudtrail_event_selectors", "T1562.008", "Impair Defenses: Disable or Modify Cloud Logs", 8,
		"cloudtrail:PutEventSelectors", nil,
		stratus + "aws.defense-evasion.cloudtrail-event-selectors/ " + attack + "T1562/008/"},
	{"defense_evasion", "cloudtrail_stop", "T1562.008", "Impair Defenses: Disable or Modify Cloud Logs", 8,
		"cloudtrail:StopLogging", nil,
		stratus + "aws.defense-evasion.cloudtrail-stop/ (Threat Technique Catalog for AWS T1562.008) " + attack + "T1562/008/"},
	{"defense_evasion", "dns_delete_logs", "T1562.008", "Impair Defenses: Disable or Modify Cloud Logs", 8,
		"route53resolver:DeleteResolverQueryLogConfig route53resolver:DisassociateResolverQueryLogConfig", nil,
		stratus + "aws.defense-evasion.dns-delete-logs/ " + attack + "T1562/008/"},
	{"defense_evasion", "organizations_leave", "T1666", "Modify Cloud Resource Hierarchy", 8,
		"organizations:LeaveOrganization", nil,
		stratus + "aws.defense-evasion.organizations-leave/ " + attack + "T1666/"},
	{"defense_evasion", "vpc_remove_flow_logs", "T1562.008", "Impair Defenses: Disable or Modify Cloud Logs", 8,
		"ec2:DeleteFlowLogs", nil,
		stratus + "aws.defense-evasion.vpc-remove-flow-logs/ " + attack + "T1562/008/"},
	{"defense_evasion", "bedrock_model_invocation_logging_delete", "T1562.008", "Impair Defenses: Disable or Modify Cloud Logs", 8,
		"bedrock:DeleteModelInvocationLoggingConfiguration", nil,
		stratus + "aws.defense-evasion.bedrock-model-invocation-logging-delete/ " + attack + "T1562/008/"},
	{"defense_evasion", "bedrock_guardrail_delete", "T1562", "Impair Defenses", 8,
		"bedrock:DeleteGuardrail", nil,
		stratus + "aws.defense-evasion.bedrock-guardrail-delete/ " + attack + "T1562/"},
	// Credential access.
	{"credential_access", "ec2_get_password_data", "T1552", "Unsecured Credentials", 5,
		"ec2:GetPasswordData", nil,
		stratus + "aws.credential-access.ec2-get-password-data/ " + attack + "T1552/"},
	{"credential_access", "secretsmanager_retrieve_secrets", "T1555.006", "Credentials from Password Stores: Cloud Secrets Management Stores", 5,
		"secretsmanager:GetSecretValue secretsmanager:BatchGetSecretValue", nil,
		stratus + "aws.credential-access.secretsmanager-retrieve-secrets/ " + attack + "T1555/006/"},
	{"credential_access", "ssm_retrieve_securestring_parameters", "T1555.006", "Credentials from Password Stores: Cloud Secrets Management Stores", 5,
		"ssm:GetParameter ssm:GetParameters ssm:GetParametersByPath", decrypts,
		stratus + "aws.credential-access.ssm-retrieve-securestring-parameters/ " + attack + "T1555/006/"},
	// Discovery.
	{"discovery", "ec2_download_user_data", "T1580", "Cloud Infrastructure Discovery", 3,
		"ec2:DescribeInstanceAttribute", readsUserData,
		stratus + "aws.discovery.ec2-download-user-data/ " + attack + "T1580/"},
	{"discovery", "ses_enumerate", "T1526", "Cloud Service Discovery", 2,
		"ses:GetAccountSendingEnabled ses:GetSendQuota ses:ListIdentities ses:GetIdentityVerificationAttributes", nil,
		stratus + "aws.discovery.ses-enumerate/ " + attack + "T1526/"},
	// Lateral movement.
	{"lateral_movement", "ec2_instance_connect", "T1021.008", "Remote Services: Direct Cloud VM Connections", 6,
		"ec2-instance-connect:SendSSHPublicKey", nil,
		stratus + "aws.lateral-movement.ec2-instance-connect/ " + attack + "T1021/008/"},
	{"lateral_movement", "ec2_serial_console_send_ssh_public_key", "T1021.008", "Remote Services: Direct Cloud VM Connections", 6,
		"ec2-instance-connect:SendSerialConsoleSSHPublicKey ec2:EnableSerialConsoleAccess", nil,
		stratus + "aws.lateral-movement.ec2-serial-console-send-ssh-public-key/ (its warm-up enables serial console access) " + attack + "T1021/008/"},
	// Exfiltration.
	{"exfiltration", "ec2_security_group_open_port_22_ingress", "T1562.007", "Impair Defenses: Disable or Modify Cloud Firewall", 6,
		"ec2:AuthorizeSecurityGroupIngress", opensToInternet,
		stratus + "aws.exfiltration.ec2-security-group-open-port-22-ingress/ " + attack + "T1562/007/"},
	{"exfiltration", "ec2_share_ami", "T1537", "Transfer Data to Cloud Account", 7,
		"ec2:ModifyImageAttribute", nil,
		stratus + "aws.exfiltration.ec2-share-ami/ " + attack + "T1537/"},
	{"exfiltration", "ec2_share_ebs_snapshot", "T1537", "Transfer Data to Cloud Account", 7,
		"ec2:ModifySnapshotAttribute", nil,
		stratus + "aws.exfiltration.ec2-share-ebs-snapshot/ " + attack + "T1537/"},
	{"exfiltration", "rds_share_snapshot", "T1537", "Transfer Data to Cloud Account", 7,
		"rds:ModifyDBSnapshotAttribute rds:ModifyDBClusterSnapshotAttribute", nil,
		stratus + "aws.exfiltration.rds-share-snapshot/ " + attack + "T1537/"},
	{"exfiltration", "s3_backdoor_bucket_policy", "T1537", "Transfer Data to Cloud Account", 7,
		"s3:PutBucketPolicy", nil,
		stratus + "aws.exfiltration.s3-backdoor-bucket-policy/ " + attack + "T1537/"},
	// Impact.
	{"impact", "bedrock_invoke_model", "T1496.004", "Resource Hijacking: Cloud Service Hijacking", 4,
		"bedrock:InvokeModel bedrock:InvokeModelWithResponseStream bedrock:Converse bedrock:ConverseStream", nil,
		stratus + "aws.impact.bedrock-invoke-model/ " + attack + "T1496/004/"},
	{"impact", "bedrock_model_entitlement", "T1496.004", "Resource Hijacking: Cloud Service Hijacking", 6,
		"bedrock:PutFoundationModelEntitlement bedrock:PutUseCaseForModelAccess", nil,
		stratus + "aws.impact.bedrock-invoke-model/ (its detection section: the calls that enable a model before it is invoked) " + attack + "T1496/004/"},
	{"impact", "s3_ransomware_batch_deletion", "T1485", "Data Destruction", 5,
		"s3:DeleteObjects", nil,
		stratus + "aws.impact.s3-ransomware-batch-deletion/ " + attack + "T1485/"},
}

// consoleLoginWithoutMFA: a console sign-in that succeeded without MFA
// (additionalEventData.MFAUsed "No").
func consoleLoginWithoutMFA(ev *Event) bool {
	return ev.Outcome == OutcomeSuccess && ev.MFAUsed == False
}

// setsUserData: ModifyInstanceAttribute changing the instance's user data (the script it
// runs at boot): requestParameters has userData, or attribute "userData".
func setsUserData(ev *Event) bool {
	return hasMember(ev.RequestParameters, "userData") || string(subText(ev.RequestParameters, "attribute")) == "userData"
}

// readsUserData: DescribeInstanceAttribute reading the instance's user data.
func readsUserData(ev *Event) bool {
	return string(subText(ev.RequestParameters, "attribute")) == "userData"
}

// decrypts: an SSM parameter read with withDecryption true (SecureString values in clear).
func decrypts(ev *Event) bool {
	return subBool(ev.RequestParameters, "withDecryption") == True
}

// opensToInternet: an ingress rule for every address (0.0.0.0/0 or ::/0).
func opensToInternet(ev *Event) bool {
	return bytes.Contains(ev.RequestParameters, []byte(`"0.0.0.0/0"`)) || bytes.Contains(ev.RequestParameters, []byte(`"::/0"`))
}

// hasMember reports whether the JSON object obj (already checked) has the member key.
func hasMember(obj []byte, key string) bool {
	s := scanner{b: obj}
	if s.peek() != '{' {
		return false
	}
	s.enter('{')
	for {
		k, ok := s.key()
		if !ok {
			return false
		}
		if string(k) == key {
			return true
		}
		if _, ok := s.skip(); !ok {
			return false
		}
	}
}

type attackKey struct{ source, name string }

// attackTable is built once from techniques and never written after: the rows of each call.
var attackTable = buildAttackTable()

func buildAttackTable() map[attackKey][]int {
	m := make(map[attackKey][]int, 64)
	for i, t := range techniques {
		for _, c := range strings.Fields(t.calls) {
			src, name, ok := strings.Cut(c, ":")
			if !ok {
				panic("cloudtrail: attack table call " + c + " names no event source")
			}
			k := attackKey{src, name}
			m[k] = append(m[k], i)
		}
	}
	return m
}

// matchTechnique returns the attack table row ev's call matches, or nil.
func matchTechnique(ev *Event) *technique {
	for _, i := range attackTable[attackKey{sourceKey(ev.EventSource), trimAPIVersion(ev.EventName)}] {
		if t := &techniques[i]; t.when == nil || t.when(ev) {
			return t
		}
	}
	return nil
}
