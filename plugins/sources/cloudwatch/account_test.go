package cloudwatch

import (
	"context"
	"testing"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
)

// Two access keys of one account share the account's request limiter: the quota is the
// account's, not the key's. A key of another account does not.
func TestLimiterIsPerAccount(t *testing.T) {
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	a := c.AWS.Accounts[0]
	c.AWS.Accounts = append(c.AWS.Accounts,
		cloudsim.AccountConfig{ID: a.ID, AccessKeyID: "AKIACLOUDSIMSECOND01", SecretAccessKey: "second/secret/key/not/a/real/one/000", User: "second"},
		cloudsim.AccountConfig{ID: "210987654321", AccessKeyID: "AKIACLOUDSIMOTHER001", SecretAccessKey: "other/secret/key/not/a/real/one/0000", User: "other"})
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	lims := newLimiters()
	identity := func(key, secret string) string {
		cfg := NewConfig().(*Config)
		cfg.AWS = awsauth.Config{AccessKeyID: config.NewSecret(key), SecretAccessKey: config.NewSecret(secret), Endpoint: sim.Endpoints["aws"], Proxy: "none"}
		cfg.Regions, cfg.LogGroup = []string{"us-east-1"}, "g"
		s, err := build(cfg, plugintest.Settings(t, "cw-"+key, nil), lims)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.sdkClient(context.Background(), "us-east-1"); err != nil {
			t.Fatal(err)
		}
		return s.limiterIdentity()
	}
	first := identity(a.AccessKeyID, a.SecretAccessKey)
	second := identity("AKIACLOUDSIMSECOND01", "second/secret/key/not/a/real/one/000")
	other := identity("AKIACLOUDSIMOTHER001", "other/secret/key/not/a/real/one/0000")
	if first != second || first != "account:"+a.ID+"@"+sim.Endpoints["aws"] {
		t.Errorf("two keys of account %s: limiter identities %q and %q; want one, the account's", a.ID, first, second)
	}
	if other == first {
		t.Errorf("a key of another account shares the limiter %q", other)
	}
}
