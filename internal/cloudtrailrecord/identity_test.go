package cloudtrailrecord

import (
	"testing"
)

// Issue 14, item 9: the account of a record without recipientAccountId is the caller's
// (userIdentity.accountId); an assumed role gives its role name and its session name; an IAM
// Identity Center user its user id. Records are the panther rule tests' ("panther:<line>")
// where they hold the case.
func TestAccountRoleAndSession(t *testing.T) {
	tests := []struct {
		name, record                        string
		account, role, session, user, onBeh string
	}{
		{"no recipientAccountId", "panther:383", "111111111111", "", "", "", ""},
		{"recipientAccountId wins", `{"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","recipientAccountId":"222222222222","userIdentity":{"type":"AWSAccount","accountId":"111111111111","principalId":"AIDA"}}`,
			"222222222222", "", "", "", ""},
		{"neither", `{"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`, "", "", "", "", ""},
		{"Identity Center permission set", "panther:3", "123456789012", "AWSReservedSSO_DevAdmin_abc123", "bob.ross", "bob.ross", ""},
		{"role from the ARN, no session issuer", "panther:20", "123456789123", "DevAdministrator", "test_user", "test_user", ""},
		{"session from principalId", `{"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:jane","accountId":"333333333333","sessionContext":{"sessionIssuer":{"type":"Role","userName":"Ops"}}}}`,
			"333333333333", "Ops", "jane", "jane", ""},
		{"IAM user has no role", `{"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"IAMUser","userName":"alice","arn":"arn:aws:iam::444444444444:user/alice","accountId":"444444444444"}}`,
			"444444444444", "", "", "alice", ""},
		// The userIdentity of a request made on behalf of an IAM Identity Center user, as the
		// CloudTrail user guide shows it (cloudtrail-event-reference-user-identity).
		{"Identity Center user", `{"eventTime":"2024-01-01T00:00:00Z","eventSource":"sso.amazonaws.com","eventName":"ListApplications","userIdentity":{"type":"IdentityCenterUser","accountId":"123456789012","onBehalfOf":{"userId":"544894e8-80c1-707f-60e3-3ba6510dfac1","identityStoreArn":"arn:aws:identitystore::123456789012:identitystore/d-9067642ac7"},"credentialId":"EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE"},"recipientAccountId":"123456789012"}`,
			"123456789012", "", "", "", "544894e8-80c1-707f-60e3-3ba6510dfac1"},
	}
	panther := pantherRecords(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.record
			if n, ok := cutPanther(rec); ok {
				rec = string(panther[n-1])
			}
			ev, err := Parse([]byte(rec))
			if err != nil {
				t.Fatal(err)
			}
			id := &ev.Identity
			if ev.AccountID != tt.account || id.RoleName != tt.role || id.SessionName != tt.session || id.UserName != tt.user || id.OnBehalfOfUserID != tt.onBeh {
				t.Fatalf("account %q role %q session %q user %q on behalf of %q; want %q %q %q %q %q",
					ev.AccountID, id.RoleName, id.SessionName, id.UserName, id.OnBehalfOfUserID, tt.account, tt.role, tt.session, tt.user, tt.onBeh)
			}
		})
	}
}

// cutPanther reads "panther:<line>".
func cutPanther(s string) (int, bool) {
	const p = "panther:"
	if len(s) <= len(p) || s[:len(p)] != p {
		return 0, false
	}
	n := 0
	for _, c := range s[len(p):] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
