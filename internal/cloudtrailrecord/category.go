package cloudtrailrecord

import (
	"strings"
)

// OCSF classes and categories used here (OCSF 1.1).
const (
	ClassAccountChange  = 3001
	ClassAuthentication = 3002
	ClassAPIActivity    = 6003

	CategoryIAM         = 3 // Identity & Access Management
	CategoryApplication = 6 // Application Activity
)

// OCSF activity ids.
const (
	// Authentication (3002).
	ActivityLogon  = 1
	ActivityLogoff = 2
	// Account Change (3001).
	ActivityAcctCreate         = 1
	ActivityAcctEnable         = 2
	ActivityAcctPasswordChange = 3
	ActivityAcctPasswordReset  = 4
	ActivityAcctDisable        = 5
	ActivityAcctDelete         = 6
	ActivityAcctAttachPolicy   = 7
	ActivityAcctDetachPolicy   = 8
	ActivityAcctMFAEnable      = 10
	ActivityAcctMFADisable     = 11
	// API Activity (6003).
	ActivityCreate = 1
	ActivityRead   = 2
	ActivityUpdate = 3
	ActivityDelete = 4
	// Every class.
	ActivityOther = 99
)

var acctActivityNames = map[int]string{
	ActivityAcctCreate: "Create", ActivityAcctEnable: "Enable", ActivityAcctPasswordChange: "Password Change",
	ActivityAcctPasswordReset: "Password Reset", ActivityAcctDisable: "Disable", ActivityAcctDelete: "Delete",
	ActivityAcctAttachPolicy: "Attach Policy", ActivityAcctDetachPolicy: "Detach Policy",
	ActivityAcctMFAEnable: "MFA Factor Enable", ActivityAcctMFADisable: "MFA Factor Disable", ActivityOther: "Other",
}

var apiActivityNames = map[int]string{
	ActivityCreate: "Create", ActivityRead: "Read", ActivityUpdate: "Update", ActivityDelete: "Delete", ActivityOther: "Other",
}

// kind says which OCSF class a table entry maps to.
type kind uint8

const (
	kAPI  kind = iota // API Activity, activity from the category's last word or the verb
	kAuth             // Authentication, Logon; category gets .success or .failure
	kAuthLogoff
	kAcct // Account Change with the entry's activity (IAM sources only for policy.*)
)

type rule struct {
	cat  string
	kind kind
	act  int // Account Change activity
}

type group struct {
	cat   string
	kind  kind
	act   int
	names string // space-separated; "source:Name" limits a name to one event source (the host's first label)
}

// groups is the category table. Keep README.md in step.
var groups = []group{
	// Authentication.
	{"authentication.console", kAuth, 0, "ConsoleLogin signin:SwitchRole signin:RenewRole"},
	{"authentication.api", kAuth, 0, "GetSessionToken AssumeRole AssumeRoleWithSAML AssumeRoleWithWebIdentity GetFederationToken AssumeRoot sso:CreateToken sso-oauth:CreateToken sso:CreateTokenWithIAM"},
	{"authentication.federated", kAuth, 0, "ExternalIdPDirectoryLogin GetSigninToken sso:Authenticate sso:Federate UserAuthentication"},
	{"authentication.mfa", kAuth, 0, "CheckMfa CredentialChallenge CredentialVerification"},
	{"authentication.logout", kAuthLogoff, 0, "signin:ExitRole sso:Logout ConsoleLogout"},
	// IAM and account changes.
	{"iam.user.create", kAcct, ActivityAcctCreate, "CreateUser"},
	{"iam.user.update", kAcct, ActivityOther, "UpdateUser TagUser UntagUser"},
	{"iam.user.delete", kAcct, ActivityAcctDelete, "DeleteUser"},
	{"iam.group.create", kAcct, ActivityAcctCreate, "CreateGroup"},
	{"iam.group.update", kAcct, ActivityOther, "UpdateGroup AddUserToGroup RemoveUserFromGroup DetachUserGroup"},
	{"iam.group.delete", kAcct, ActivityAcctDelete, "DeleteGroup"},
	{"iam.role.create", kAcct, ActivityAcctCreate, "CreateRole CreateServiceLinkedRole"},
	{"iam.role.update", kAcct, ActivityOther, "UpdateRole UpdateRoleDescription TagRole UntagRole PutRolePermissionsBoundary"},
	{"iam.role.delete", kAcct, ActivityAcctDelete, "DeleteRole DeleteServiceLinkedRole"},
	{"iam.login_profile.create", kAcct, ActivityAcctEnable, "CreateLoginProfile"},
	{"iam.login_profile.update", kAcct, ActivityAcctPasswordReset, "UpdateLoginProfile"},
	{"iam.login_profile.delete", kAcct, ActivityAcctDisable, "DeleteLoginProfile"},
	{"iam.password.change", kAcct, ActivityAcctPasswordChange, "ChangePassword PasswordUpdated"},
	{"iam.password_policy.change", kAcct, ActivityOther, "UpdateAccountPasswordPolicy DeleteAccountPasswordPolicy"},
	{"iam.access_key.create", kAcct, ActivityAcctCreate, "CreateAccessKey"},
	{"iam.access_key.update", kAcct, ActivityOther, "UpdateAccessKey"},
	{"iam.access_key.delete", kAcct, ActivityAcctDelete, "DeleteAccessKey"},
	{"iam.mfa.create", kAcct, ActivityOther, "CreateVirtualMFADevice"},
	{"iam.mfa.enable", kAcct, ActivityAcctMFAEnable, "EnableMFADevice ResyncMFADevice"},
	{"iam.mfa.disable", kAcct, ActivityAcctMFADisable, "DeactivateMFADevice"},
	{"iam.mfa.delete", kAcct, ActivityAcctMFADisable, "DeleteVirtualMFADevice"},
	{"iam.identity_provider.create", kAcct, ActivityOther, "CreateSAMLProvider CreateOpenIDConnectProvider"},
	{"iam.identity_provider.update", kAcct, ActivityOther, "UpdateSAMLProvider UpdateOpenIDConnectProviderThumbprint AddClientIDToOpenIDConnectProvider"},
	{"iam.identity_provider.delete", kAcct, ActivityOther, "DeleteSAMLProvider DeleteOpenIDConnectProvider"},
	{"iam.credential.change", kAcct, ActivityOther, "UploadSSHPublicKey UploadSigningCertificate CreateServiceSpecificCredential ResetServiceSpecificCredential"},
	{"iam.read", kAPI, 0, "GetCallerIdentity GetAccessKeyLastUsed iam:GetGroup iam:GetGroupPolicy iam:GetRole iam:GetUser iam:GetUserPolicy iam:GetRolePolicy iam:GetPolicy iam:GetPolicyVersion iam:DescribePolicy iam:ListAccessKeys iam:ListAttachedGroupPolicies iam:ListAttachedUserPolicies iam:ListAttachedRolePolicies iam:ListGroups iam:ListGroupsForUser iam:ListUsers iam:ListRoles iam:ListPolicies GetAccountAuthorizationDetails GetCredentialReport GenerateCredentialReport"},
	{"account.create", kAcct, ActivityAcctCreate, "CreateAccount CreateAccountResult CreateGovCloudAccount"},
	{"account.close", kAcct, ActivityAcctDelete, "CloseAccount"},
	{"account.leave_organization", kAcct, ActivityOther, "LeaveOrganization RemoveAccountFromOrganization DeleteOrganization"},
	{"account.change", kAcct, ActivityOther, "PutAlternateContact DeleteAlternateContact PutContactInformation UpdateAccountName EnableRegion DisableRegion InviteAccountToOrganization AcceptHandshake"},
	{"account.read", kAPI, 0, "organizations:DescribeAccount GetAlternateContact GetContactInformation organizations:ListAccounts"},
	// Policies (Account Change when the source is IAM, else API Activity).
	{"policy.create", kAcct, ActivityOther, "CreatePolicy CreatePolicyVersion"},
	{"policy.update", kAcct, ActivityAcctAttachPolicy, "UpdateAssumeRolePolicy SetDefaultPolicyVersion iam:PutPolicy PutBucketPolicy PutBucketAcl PutObjectAcl PutKeyPolicy PutResourcePolicy SetRepositoryPolicy AddPermission RemovePermission sns:SetTopicAttributes CreateGrant"},
	{"policy.delete", kAcct, ActivityOther, "DeletePolicy DeletePolicyVersion DeleteBucketPolicy DeleteResourcePolicy DeleteRepositoryPolicy"},
	{"policy.attach", kAcct, ActivityAcctAttachPolicy, "AttachUserPolicy AttachRolePolicy AttachGroupPolicy PutUserPolicy PutRolePolicy PutGroupPolicy"},
	{"policy.detach", kAcct, ActivityAcctDetachPolicy, "DetachUserPolicy DetachRolePolicy DetachGroupPolicy DeleteUserPolicy DeleteRolePolicy DeleteGroupPolicy DeleteRolePermissionsBoundary"},
	// Logging and audit.
	{"logging.tampering", kAPI, 0, "StopLogging DeleteTrail UpdateTrail PutEventSelectors PutInsightSelectors DeleteEventDataStore StopEventDataStoreIngestion DeleteFlowLogs DeleteLogGroup DeleteLogStream logs:PutRetentionPolicy DeleteDeliveryChannel StopConfigurationRecorder DeleteConfigurationRecorder DeleteConfigRule DeleteResolverQueryLogConfig DisassociateResolverQueryLogConfig DeleteModelInvocationLoggingConfiguration StopActivityStream DeleteBucketLogging"},
	{"logging.change", kAPI, 0, "CreateTrail StartLogging CreateEventDataStore CreateFlowLogs CreateLogGroup CreateLogStream PutDeliveryChannel PutConfigurationRecorder StartConfigurationRecorder PutBucketLogging StartActivityStream PutModelInvocationLoggingConfiguration CreateResolverQueryLogConfig"},
	// Security services.
	{"security.tampering", kAPI, 0, "guardduty:DeleteDetector guardduty:UpdateDetector guardduty:DisassociateFromMasterAccount guardduty:DisassociateFromAdministratorAccount guardduty:StopMonitoringMembers guardduty:DeleteMembers guardduty:CreateFilter guardduty:DeleteThreatIntelSet guardduty:CreateIPSet DisableSecurityHub BatchDisableStandards DisableImportFindingsForProduct DisableMacie macie2:DisableOrganizationAdminAccount DeleteAnalyzer DisableEbsEncryptionByDefault DisassociateWebACL DeleteWebACL DeleteGuardrail DeleteAssessmentTarget DisableOrganizationAdminAccount"},
	{"security.change", kAPI, 0, "securityhub:CreateInsight securityhub:DeleteInsight securityhub:UpdateInsight UpdateFindings BatchUpdateFindings UpdateMacieSession UpdateGuardrail CreateGuardrail EnableSecurityHub CreateDetector EnableMacie"},
	// Data protection and encryption.
	{"data_protection.change", kAPI, 0, "PutBucketEncryption PutBucketVersioning PutBucketReplication PutBucketLifecycle PutBucketLifecycleConfiguration PutBucketPublicAccessBlock PutPublicAccessBlock PutAccountPublicAccessBlock PutObjectLockConfiguration"},
	{"data_protection.disable", kAPI, 0, "DeleteBucketEncryption DeleteBucketPublicAccessBlock DeletePublicAccessBlock DeleteAccountPublicAccessBlock DeleteBucketReplication DeleteBucketLifecycle"},
	{"encryption.key.disable", kAPI, 0, "DisableKey DisableKeyRotation"},
	{"encryption.key.delete", kAPI, 0, "ScheduleKeyDeletion DeleteImportedKeyMaterial"},
	{"encryption.key.use", kAPI, 0, "kms:Decrypt kms:Encrypt kms:GenerateDataKey kms:ReEncrypt"},
	// Secrets and remote access.
	{"secret.read", kAPI, 0, "GetSecretValue BatchGetSecretValue ssm:GetParameter ssm:GetParameters ssm:GetParametersByPath GetPasswordData"},
	{"compute.remote_access", kAPI, 0, "SendCommand StartSession ResumeSession SendSSHPublicKey SendSerialConsoleSSHPublicKey GetSerialConsoleAccessStatus"},
	{"resource.share", kAPI, 0, "ModifySnapshotAttribute ModifyImageAttribute ModifyDBSnapshotAttribute ModifyDBClusterSnapshotAttribute UpdateProjectVisibility"},
	{"data.export", kAPI, 0, "StartExportTask CreateExportTask"},
	// Network and security groups.
	{"network.security_group.change", kAPI, 0, "AuthorizeSecurityGroupIngress AuthorizeSecurityGroupEgress RevokeSecurityGroupIngress RevokeSecurityGroupEgress CreateSecurityGroup DeleteSecurityGroup ModifySecurityGroupRules UpdateSecurityGroupRuleDescriptionsIngress UpdateSecurityGroupRuleDescriptionsEgress AuthorizeDBSecurityGroupIngress RevokeDBSecurityGroupIngress CreateDBSecurityGroup DeleteDBSecurityGroup"},
	{"network.acl.change", kAPI, 0, "CreateNetworkAcl CreateNetworkAclEntry DeleteNetworkAcl DeleteNetworkAclEntry ReplaceNetworkAclEntry ReplaceNetworkAclAssociation"},
	{"network.route.change", kAPI, 0, "CreateRoute DeleteRoute ReplaceRoute CreateRouteTable DeleteRouteTable ReplaceRouteTableAssociation AssociateRouteTable DisassociateRouteTable"},
	{"network.gateway.change", kAPI, 0, "CreateInternetGateway DeleteInternetGateway AttachInternetGateway DetachInternetGateway CreateNatGateway DeleteNatGateway CreateCustomerGateway DeleteCustomerGateway AttachVpnGateway DetachVpnGateway CreateVpnGateway DeleteVpnGateway CreateTransitGateway DeleteTransitGateway"},
	{"network.vpc.change", kAPI, 0, "CreateVpc DeleteVpc ModifyVpcAttribute CreateVpcPeeringConnection AcceptVpcPeeringConnection DeleteVpcPeeringConnection CreateSubnet DeleteSubnet CreateVpcEndpoint DeleteVpcEndpoints ModifyVpcEndpoint"},
	{"network.traffic_mirror.change", kAPI, 0, "CreateTrafficMirrorFilter CreateTrafficMirrorFilterRule CreateTrafficMirrorSession CreateTrafficMirrorTarget DeleteTrafficMirrorFilter DeleteTrafficMirrorFilterRule DeleteTrafficMirrorSession DeleteTrafficMirrorTarget ModifyTrafficMirrorSession ModifyTrafficMirrorFilterRule"},
	// Plain resource operations named for coverage (the verb fallback agrees or is overridden).
	{"resource.create", kAPI, 0, "RunInstances CreateImage CreateDBInstance CreateDBInstanceReadReplica CreateDBSnapshot CopyDBSnapshot CopyDBClusterSnapshot RestoreDBInstanceFromDBSnapshot CreateProject PutImage PutObject CopyObject CreateBucket"},
	{"resource.read", kAPI, 0, "GetObject ListBucket ListBuckets ListAllMyBuckets HeadObject GetBucketAcl GetBucketPolicy GetBucketLifecycle DescribeInstances DescribeInstanceAttribute DescribeSecurityGroups DescribeNetworkAcls DescribeRouteTables DescribeVpcs DescribeTrafficMirrorTargets DescribeTrail GetEventSelectors DescribeDBSnapshots DescribeDBClusterSnapshots DescribeDBLogFiles DownloadDBLogFilePortion DescribeTable GetRecords GetPartition DescribeParameters ListFunctions ListApplications ListGuardrails ListMembers ListWebACLs ListIdentities GetIdentityVerificationAttributes GetSendQuota GetAccountSendingEnabled StartQueryExecution"},
	{"resource.update", kAPI, 0, "ModifyDBInstance ModifyDBCluster ModifyInstanceAttribute RebootDBInstance RebootDBCluster FailoverDBCluster FailoverGlobalCluster StartInstances StopInstances StartDBInstance StopDBInstance AddRoleToDBCluster AddRoleToDBInstance RemoveRoleFromDBInstance UpdateFunctionCode UpdateFunctionConfiguration SetQueueAttributes"},
	{"resource.delete", kAPI, 0, "TerminateInstances DeleteBucket DeleteObject DeleteObjects DeleteDBInstance DeleteDBCluster DeleteDBSnapshot DeleteDBClusterSnapshot DeleteDBInstanceAutomatedBackup DeleteDBClusterAutomatedBackup DeleteFunction DeleteRule"},
}

type tableKey struct{ source, name string }

// table is built once from groups and never written after.
var table = buildTable()

func buildTable() map[tableKey]rule {
	m := make(map[tableKey]rule, 512)
	for _, g := range groups {
		for _, n := range strings.Fields(g.names) {
			var k tableKey
			if src, name, ok := strings.Cut(n, ":"); ok {
				k = tableKey{src, name}
			} else {
				k = tableKey{"", n}
			}
			if _, dup := m[k]; dup {
				panic("cloudtrail: category table lists " + n + " twice")
			}
			m[k] = rule{cat: g.cat, kind: g.kind, act: g.act}
		}
	}
	return m
}

// sourceKey is the first label of an event source: "iam" for "iam.amazonaws.com".
func sourceKey(src string) string {
	if i := strings.IndexByte(src, '.'); i >= 0 {
		return src[:i]
	}
	return src
}

// trimAPIVersion removes the API version some services append to event names
// (UpdateFunctionCode20150331v2 → UpdateFunctionCode).
func trimAPIVersion(name string) string {
	i := len(name)
	// optional v<digits>
	j := i
	for j > 0 && name[j-1] >= '0' && name[j-1] <= '9' {
		j--
	}
	if j < i && j > 0 && name[j-1] == 'v' {
		i = j - 1
	}
	j = i
	for j > 0 && name[j-1] >= '0' && name[j-1] <= '9' {
		j--
	}
	if i-j == 8 && j > 0 {
		return name[:j]
	}
	return name
}

func lookup(source, name string) (rule, bool) {
	name = trimAPIVersion(name)
	if r, ok := table[tableKey{sourceKey(source), name}]; ok {
		return r, true
	}
	r, ok := table[tableKey{"", name}]
	return r, ok
}

// verbs maps an event name's leading verb to a CRUD activity.
var verbs = map[string]int{
	"Create": ActivityCreate, "Put": ActivityCreate, "Run": ActivityCreate, "Start": ActivityCreate,
	"Launch": ActivityCreate, "Copy": ActivityCreate, "Restore": ActivityCreate, "Import": ActivityCreate,
	"Allocate": ActivityCreate, "Register": ActivityCreate, "Upload": ActivityCreate, "Request": ActivityCreate,
	"Issue": ActivityCreate, "Generate": ActivityCreate, "Send": ActivityCreate, "Publish": ActivityCreate,
	"Invoke": ActivityCreate, "Add": ActivityCreate, "Clone": ActivityCreate, "Duplicate": ActivityCreate,
	"Get": ActivityRead, "Describe": ActivityRead, "List": ActivityRead, "Head": ActivityRead,
	"Lookup": ActivityRead, "Search": ActivityRead, "Query": ActivityRead, "Scan": ActivityRead,
	"Select": ActivityRead, "Check": ActivityRead, "Validate": ActivityRead, "Preview": ActivityRead,
	"View": ActivityRead, "Download": ActivityRead, "Read": ActivityRead, "Test": ActivityRead,
	"Verify": ActivityRead, "Estimate": ActivityRead, "Simulate": ActivityRead, "Export": ActivityRead,
	"Update": ActivityUpdate, "Modify": ActivityUpdate, "Set": ActivityUpdate, "Attach": ActivityUpdate,
	"Detach": ActivityUpdate, "Associate": ActivityUpdate, "Disassociate": ActivityUpdate, "Enable": ActivityUpdate,
	"Disable": ActivityUpdate, "Reboot": ActivityUpdate, "Reset": ActivityUpdate, "Change": ActivityUpdate,
	"Tag": ActivityUpdate, "Untag": ActivityUpdate, "Replace": ActivityUpdate, "Authorize": ActivityUpdate,
	"Apply": ActivityUpdate, "Assign": ActivityUpdate, "Unassign": ActivityUpdate, "Edit": ActivityUpdate,
	"Rotate": ActivityUpdate, "Restart": ActivityUpdate, "Resume": ActivityUpdate, "Accept": ActivityUpdate,
	"Reject": ActivityUpdate, "Rename": ActivityUpdate, "Move": ActivityUpdate, "Configure": ActivityUpdate,
	"Delete": ActivityDelete, "Remove": ActivityDelete, "Terminate": ActivityDelete, "Stop": ActivityDelete,
	"Deregister": ActivityDelete, "Release": ActivityDelete, "Cancel": ActivityDelete, "Purge": ActivityDelete,
	"Destroy": ActivityDelete, "Revoke": ActivityDelete, "Deactivate": ActivityDelete, "Unregister": ActivityDelete,
	"Close": ActivityDelete, "Abort": ActivityDelete, "Expire": ActivityDelete,
}

// verbActivity returns the CRUD activity of an event name's leading verb (the first
// capitalised word, after an optional "Batch"), or ActivityOther.
func verbActivity(name string) int {
	name = strings.TrimPrefix(name, "Batch")
	if name == "" {
		return ActivityOther
	}
	end := 1
	for end < len(name) && (name[end] < 'A' || name[end] > 'Z') && (name[end] < '0' || name[end] > '9') {
		end++
	}
	if a, ok := verbs[name[:end]]; ok {
		return a
	}
	return ActivityOther
}

var crudNames = [...]string{ActivityCreate: "create", ActivityRead: "read", ActivityUpdate: "update", ActivityDelete: "delete"}

// isAccessDenied reports whether an errorCode means the caller was not allowed.
func isAccessDenied(code string) bool {
	return strings.Contains(code, "AccessDenied") || strings.Contains(code, "Unauthorized") ||
		strings.Contains(code, "Forbidden") || code == "AuthFailure" || code == "Client.AuthFailure"
}

// classify derives Action, Category, Outcome, Severity and OCSF.
func classify(ev *Event) {
	// Outcome.
	switch {
	case ev.ErrorCode != "" || strings.EqualFold(ev.ConsoleLogin, "Failure"):
		ev.Outcome = OutcomeFailure
	case ev.EventType == "AwsCloudTrailInsight" || ev.EventCategory == "Insight":
		ev.Outcome = OutcomeUnknown
	case ev.EventType == "AwsConsoleSignIn" && ev.ErrorMessage != "":
		ev.Outcome = OutcomeFailure
	default:
		ev.Outcome = OutcomeSuccess
	}

	if ev.EventType == "AwsCloudTrailInsight" || ev.EventCategory == "Insight" {
		ev.Action, ev.Category = "insight", "insight"
		ev.OCSF = apiOCSF(ActivityOther)
		ev.Severity = 5
		return
	}

	r, known := lookup(ev.EventSource, ev.EventName)
	verb := verbActivity(trimAPIVersion(ev.EventName))
	if !known {
		act := verb
		if act == ActivityOther && ev.ReadOnly == True {
			act = ActivityRead
		}
		r = rule{cat: "resource.other", kind: kAPI}
		if act != ActivityOther {
			r.cat = "resource." + crudNames[act]
		}
	}
	ev.Action = r.cat
	ev.Category = r.cat

	switch r.kind {
	case kAuth:
		if ev.Outcome == OutcomeFailure {
			ev.Action += ".failure"
		} else {
			ev.Action += ".success"
		}
		ev.Category = ev.Action
		ev.OCSF = authOCSF(ActivityLogon)
	case kAuthLogoff:
		ev.OCSF = authOCSF(ActivityLogoff)
	case kAcct:
		if strings.HasPrefix(r.cat, "policy.") && sourceKey(ev.EventSource) != "iam" {
			ev.OCSF = apiOCSF(apiActivity(r.cat, verb, ev.ReadOnly))
		} else {
			ev.OCSF = OCSF{ClassUID: ClassAccountChange, ClassName: "Account Change", CategoryUID: CategoryIAM,
				ActivityID: r.act, ActivityName: acctActivityNames[r.act]}
		}
	default:
		ev.OCSF = apiOCSF(apiActivity(r.cat, verb, ev.ReadOnly))
	}

	if ev.ErrorCode != "" && r.kind != kAuth {
		if isAccessDenied(ev.ErrorCode) {
			ev.Category = "error.access_denied"
		} else {
			ev.Category = "error.other"
		}
	}
	t := matchTechnique(ev)
	if t == nil {
		ev.Severity = severity(ev, baseSeverity[ev.Action])
		return
	}
	// A known attack technique: its severity at least, and a category naming its tactic.
	ev.Severity = severity(ev, max(baseSeverity[ev.Action], t.sev))
	ev.Technique, ev.TechniqueName = t.id, t.idName
	ev.Action = "attack." + t.tactic + "." + t.name
	if !strings.HasPrefix(ev.Category, "error.") {
		ev.Category = ev.Action
	}
}

// apiActivity picks the API Activity activity: the category's last word when it is a CRUD
// verb, else the event name's verb, else Read for a read-only call, else Other.
func apiActivity(cat string, verb int, readOnly Tri) int {
	switch cat[strings.LastIndexByte(cat, '.')+1:] {
	case "create":
		return ActivityCreate
	case "read":
		return ActivityRead
	case "update", "change", "share", "attach", "detach":
		return ActivityUpdate
	case "delete":
		return ActivityDelete
	}
	if verb == ActivityOther && readOnly == True {
		return ActivityRead
	}
	return verb
}

// APIActivity is the API Activity (6003) activity of ev's call whatever class ev.OCSF names
// it: for a call OCSF places in Account Change or Authentication, the activity API Activity
// would give it. A destination that carries every call as API Activity asks it.
func APIActivity(ev *Event) int {
	if ev.OCSF.ClassUID == ClassAPIActivity {
		return ev.OCSF.ActivityID
	}
	r, _ := lookup(ev.EventSource, ev.EventName)
	verb := verbActivity(trimAPIVersion(ev.EventName))
	if r.cat == "" {
		return apiActivity("resource.other", verb, ev.ReadOnly)
	}
	return apiActivity(r.cat, verb, ev.ReadOnly)
}

func apiOCSF(act int) OCSF {
	return OCSF{ClassUID: ClassAPIActivity, ClassName: "API Activity", CategoryUID: CategoryApplication,
		ActivityID: act, ActivityName: apiActivityNames[act]}
}

func authOCSF(act int) OCSF {
	name := "Logon"
	if act == ActivityLogoff {
		name = "Logoff"
	}
	return OCSF{ClassUID: ClassAuthentication, ClassName: "Authentication", CategoryUID: CategoryIAM,
		ActivityID: act, ActivityName: name}
}

// baseSeverity is each action category's severity on the CEF scale (0-10). README.md lists it.
var baseSeverity = map[string]int{
	"authentication.console.success":   3,
	"authentication.console.failure":   5,
	"authentication.api.success":       2,
	"authentication.api.failure":       4,
	"authentication.federated.success": 3,
	"authentication.federated.failure": 5,
	"authentication.mfa.success":       2,
	"authentication.mfa.failure":       5,
	"authentication.logout":            1,
	"iam.user.create":                  5,
	"iam.user.update":                  4,
	"iam.user.delete":                  5,
	"iam.group.create":                 3,
	"iam.group.update":                 5,
	"iam.group.delete":                 3,
	"iam.role.create":                  5,
	"iam.role.update":                  4,
	"iam.role.delete":                  4,
	"iam.login_profile.create":         6,
	"iam.login_profile.update":         6,
	"iam.login_profile.delete":         5,
	"iam.password.change":              4,
	"iam.password_policy.change":       5,
	"iam.access_key.create":            6,
	"iam.access_key.update":            5,
	"iam.access_key.delete":            4,
	"iam.mfa.create":                   3,
	"iam.mfa.enable":                   3,
	"iam.mfa.disable":                  7,
	"iam.mfa.delete":                   6,
	"iam.identity_provider.create":     6,
	"iam.identity_provider.update":     6,
	"iam.identity_provider.delete":     6,
	"iam.credential.change":            5,
	"iam.read":                         2,
	"account.create":                   5,
	"account.close":                    8,
	"account.leave_organization":       8,
	"account.change":                   5,
	"account.read":                     2,
	"policy.create":                    5,
	"policy.update":                    6,
	"policy.delete":                    5,
	"policy.attach":                    6,
	"policy.detach":                    5,
	"logging.tampering":                8,
	"logging.change":                   4,
	"security.tampering":               8,
	"security.change":                  3,
	"data_protection.change":           5,
	"data_protection.disable":          7,
	"encryption.key.disable":           7,
	"encryption.key.delete":            8,
	"encryption.key.use":               1,
	"secret.read":                      4,
	"compute.remote_access":            5,
	"resource.share":                   6,
	"data.export":                      5,
	"network.security_group.change":    5,
	"network.acl.change":               5,
	"network.route.change":             5,
	"network.gateway.change":           5,
	"network.vpc.change":               4,
	"network.traffic_mirror.change":    6,
	"resource.create":                  3,
	"resource.read":                    1,
	"resource.update":                  3,
	"resource.delete":                  4,
	"resource.other":                   2,
}

// severity applies the rules README.md sets out, in order, to base, the severity of the
// call's category (or of its attack technique, when higher).
func severity(ev *Event, base int) int {
	sev := base
	root := ev.Identity.Type == "Root"
	switch {
	case ev.Action == "authentication.console.success" && root:
		return 8
	case ev.Action == "authentication.console.failure" && root:
		return 7
	case ev.Action == "authentication.console.success" && ev.MFAUsed == False:
		sev = max(sev, 4)
	}
	switch ev.Category {
	case "error.access_denied":
		return max(5, sev-1)
	case "error.other":
		return 3
	}
	if root && ev.ReadOnly != True && !strings.HasPrefix(ev.Action, "authentication.") {
		sev = max(sev+2, 6)
	}
	return min(sev, 10)
}
