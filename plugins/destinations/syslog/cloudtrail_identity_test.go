package syslog

import (
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/cloudtrailrecord"
)

// Issue 14, items 9 and 10, in the SIEM's message: the account of a record without
// recipientAccountId (cs3, from userIdentity.accountId), an assumed role's role name (CEF
// spriv, LEEF role) beside its session name (suser / usrName), an IAM Identity Center user's
// id (suid), and the ATT&CK technique of a known attack (AttackTechniqueKey) with its tactic in
// cat. Both the fast path and the built-in mapping, CEF and LEEF.
func TestCloudTrailIdentityAndTechniqueKeys(t *testing.T) {
	const head = `{"eventVersion":"1.05","eventTime":"2024-01-02T03:04:05Z","eventType":"AwsApiCall",`
	tests := []struct {
		name   string
		record string
		cef    []string // key=value pairs the CEF extension holds
		leef   []string // the same in LEEF
		absent []string // keys neither holds
	}{
		{"no recipientAccountId",
			head + `"eventSource":"s3.amazonaws.com","eventName":"ListAllMyBuckets","userIdentity":{"type":"IAMUser","accountId":"111111111111","arn":"arn:aws:iam::111111111111:user/ann","userName":"ann"}}`,
			[]string{"cs3Label=recipientAccountId", "cs3=111111111111", "suser=ann"},
			[]string{"cs3=111111111111", "usrName=ann"},
			[]string{"spriv=", "role=", AttackTechniqueKey + "="}},
		{"assumed role",
			head + `"eventSource":"s3.amazonaws.com","eventName":"ListAllMyBuckets","recipientAccountId":"123456789012","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:bob.ross","arn":"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_DevAdmin_abc123/bob.ross","accountId":"123456789012","sessionContext":{"sessionIssuer":{"type":"Role","userName":"AWSReservedSSO_DevAdmin_abc123"}}}}`,
			[]string{"suser=bob.ross", "spriv=AWSReservedSSO_DevAdmin_abc123", "cs3=123456789012"},
			[]string{"usrName=bob.ross", "role=AWSReservedSSO_DevAdmin_abc123"},
			nil},
		{"Identity Center user",
			head + `"eventSource":"sso.amazonaws.com","eventName":"ListApplications","recipientAccountId":"123456789012","userIdentity":{"type":"IdentityCenterUser","accountId":"123456789012","onBehalfOf":{"userId":"544894e8-80c1-707f-60e3-3ba6510dfac1","identityStoreArn":"arn:aws:identitystore::123456789012:identitystore/d-9067642ac7"}}}`,
			[]string{"suid=544894e8-80c1-707f-60e3-3ba6510dfac1", "cs5=IdentityCenterUser"},
			[]string{"suid=544894e8-80c1-707f-60e3-3ba6510dfac1"},
			[]string{"spriv="}},
		{"attack technique",
			head + `"eventSource":"sts.amazonaws.com","eventName":"GetFederationToken","recipientAccountId":"742491224508","userIdentity":{"type":"IAMUser","userName":"u","accountId":"742491224508"}}`,
			[]string{"cat=attack.persistence.sts_federation_token", AttackTechniqueKey + "=T1098.001"},
			[]string{"cat=attack.persistence.sts_federation_token", AttackTechniqueKey + "=T1098.001"},
			nil},
	}
	for _, format := range []string{FormatCEF, FormatLEEF} {
		cfg := testConfig("127.0.0.1:514")
		cfg.Format = format
		for _, fast := range []bool{true, false} {
			enc := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
			enc.noFast = !fast
			for _, tt := range tests {
				t.Run(format+"/"+tt.name, func(t *testing.T) {
					if _, err := cloudtrailrecord.Parse([]byte(tt.record)); err != nil {
						t.Fatal(err)
					}
					b, err := enc.message(nil, asCloudTrail([]byte(tt.record)))
					if err != nil {
						t.Fatal(err)
					}
					msg := string(b)
					sep := " "
					want := tt.cef
					if format == FormatLEEF {
						sep, want = "\t", tt.leef
					}
					// kv is a whole pair (followed by the separator or the end), or "key=" a key.
					has := func(kv string) bool {
						if strings.HasSuffix(kv, "=") {
							return strings.Contains(msg, sep+kv)
						}
						return strings.Contains(msg, sep+kv+sep) || strings.HasSuffix(msg, sep+kv)
					}
					for _, kv := range want {
						if !has(kv) {
							t.Errorf("fast %v: no %s in %s", fast, kv, msg)
						}
					}
					for _, k := range tt.absent {
						if has(k) {
							t.Errorf("fast %v: %s present in %s", fast, k, msg)
						}
					}
				})
			}
		}
	}
}

// The enricher gives a mapping of one's own the same values (logshipper.<name>).
func TestCloudTrailEnricherIdentityAndTechnique(t *testing.T) {
	rec := `{"eventTime":"2024-01-02T03:04:05Z","eventSource":"lambda.amazonaws.com","eventName":"UpdateFunctionCode20150331v2","userIdentity":{"type":"AssumedRole","principalId":"AROA:s1","arn":"arn:aws:sts::9:assumed-role/Deployer/s1","accountId":"999999999999"}}`
	ev, err := cloudtrailrecord.Parse([]byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	c := map[string]any{}
	CloudTrailEnricher.Enrich(ev, &cloudtrailrecord.Envelope{}, c)
	want := map[string]any{"account_id": "999999999999", "role_name": "Deployer", "session_name": "s1", "user_name": "s1",
		"attack_technique": "T1648", "attack_technique_name": "Serverless Execution",
		"category": "attack.persistence.lambda_overwrite_code", "action": "attack.persistence.lambda_overwrite_code", "severity": int64(6)}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if _, ok := c["recipient_account_id"]; ok {
		t.Errorf("recipient_account_id set for a record without one: %v", c["recipient_account_id"])
	}
}

// The JSON envelope carries the ATT&CK technique of a known attack's call, and nothing for
// another call.
func TestJSONEnvelopeAttackTechnique(t *testing.T) {
	cfg := testConfig("127.0.0.1:514")
	cfg.Format, cfg.JSONEnvelope = FormatJSON, true
	enc := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	tests := []struct{ record, want string }{
		{`{"eventTime":"2024-01-02T03:04:05Z","eventSource":"ec2.amazonaws.com","eventName":"EnableSerialConsoleAccess"}`, `"attack_technique":"T1021.008","event":`},
		{`{"eventTime":"2024-01-02T03:04:05Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances"}`, `,"event":`},
	}
	for _, tt := range tests {
		b, err := enc.message(nil, asCloudTrail([]byte(tt.record)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tt.want) || strings.Count(string(b), "attack_technique") != strings.Count(tt.want, "attack_technique") {
			t.Errorf("%s\nwant it to hold %s", b, tt.want)
		}
	}
}
