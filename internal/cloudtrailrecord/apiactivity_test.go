package cloudtrailrecord

import (
	"fmt"
	"testing"
)

// TestAPIActivity checks APIActivity gives every call its API Activity activity, whatever
// class OCSF places it in.
func TestAPIActivity(t *testing.T) {
	tests := []struct {
		source, name string
		readOnly     string
		class        int
		want         int
	}{
		{"iam.amazonaws.com", "CreateUser", "false", ClassAccountChange, ActivityCreate},
		{"iam.amazonaws.com", "DeleteUser", "false", ClassAccountChange, ActivityDelete},
		{"iam.amazonaws.com", "AttachRolePolicy", "false", ClassAccountChange, ActivityUpdate},
		{"iam.amazonaws.com", "UpdateUser", "false", ClassAccountChange, ActivityUpdate},
		{"iam.amazonaws.com", "EnableMFADevice", "false", ClassAccountChange, ActivityUpdate},
		{"signin.amazonaws.com", "ConsoleLogin", "", ClassAuthentication, ActivityOther},
		{"sts.amazonaws.com", "AssumeRole", "true", ClassAuthentication, ActivityRead},
		{"s3.amazonaws.com", "GetObject", "true", ClassAPIActivity, ActivityRead},
		{"ec2.amazonaws.com", "TerminateInstances", "false", ClassAPIActivity, ActivityDelete},
		{"example.amazonaws.com", "FrobnicateWidget", "false", ClassAPIActivity, ActivityOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":%q,"eventName":%q,"readOnly":%q,"userIdentity":{"type":"IAMUser"}}`,
				tt.source, tt.name, tt.readOnly)
			ev, err := Parse([]byte(rec))
			if err != nil {
				t.Fatal(err)
			}
			if ev.OCSF.ClassUID != tt.class {
				t.Fatalf("class %d, want %d", ev.OCSF.ClassUID, tt.class)
			}
			if got := APIActivity(ev); got != tt.want {
				t.Fatalf("APIActivity = %d, want %d", got, tt.want)
			}
		})
	}
}
