package cloudwatch

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/logshipper/logshipper/internal/awsauth"
	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
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
		cfg.AWS = awsauth.Config{AccessKeyID: config.NewSecret(key), SecretAccessKey: config.NewSecret(secret), Endpoint: sim.Endpoints["aws"], Proxy: netconf.Proxy{URL: netconf.ProxyNone}}
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

// Events that reached CloudWatch Logs more than lag+overlap after their timestamp are counted
// as late (events like them may be missed), in the source and in its Prometheus counter;
// events on time are not.
func TestLateEventsCounted(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	cfg := w.config("us-east-1")
	cfg.StartPosition, cfg.Lag, cfg.Overlap = "-1h", 100*time.Millisecond, time.Second
	s := w.source(t, cfg, nil)
	pub := plugintest.NewPublisher(plugintest.AckAsync)
	run := plugintest.Start(t, s, pub)
	late := w.put("us-east-1", ctStream("us-east-1"), 5, 10*time.Minute) // written 10 minutes after their time
	onTime := w.put("us-east-1", ctStream("us-east-1"), 7, 0)
	pub.WaitUntil(t, 0, "every event", func() bool { return len(pub.MissingKeys(rawKey, append(late, onTime...))) == 0 })
	run.Stop(t)
	if got := s.Late(); got != int64(len(late)) {
		t.Errorf("Late() = %d, want %d", got, len(late))
	}
	if got := testutil.ToFloat64(s.set.Metrics.Late); got != float64(len(late)) {
		t.Errorf("logshipper_records_late_total = %v, want %d", got, len(late))
	}
}
