package cloudtraillake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/netconf"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/plugintest"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/lake"
)

func startSim(t *testing.T) *cloudsim.Sim {
	t.Helper()
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	s, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func newDest(t *testing.T, s *cloudsim.Sim, edit func(*Config)) *Destination {
	t.Helper()
	c := NewConfig().(*Config)
	a := cloudsim.Default().AWS.Accounts[0]
	c.AWS.AccessKeyID, c.AWS.SecretAccessKey = config.NewSecret(a.AccessKeyID), config.NewSecret(a.SecretAccessKey)
	c.AWS.Endpoint = s.Endpoints["aws"]
	c.AWS.Proxy = netconf.Proxy{URL: netconf.ProxyNone}
	c.ChannelARN = cloudsim.DemoChannelARN
	if edit != nil {
		edit(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := New(context.Background(), c, plugintest.Settings(t, "lake", nil))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func alert(id, typ, extra string) *event.Record {
	raw := fmt.Sprintf(`{"_id":%q,"alert_type":%q,"timestamp":1795420800,"user":"alice@example.com","srcip":"10.1.2.3","alert_name":"DLP rule","app":"Box","transaction_id":9223372036854775807%s}`, id, typ, extra)
	return &event.Record{ID: id, Raw: []byte(raw), Subtype: strings.ToLower(typ)}
}

func TestWriteMapsAndDelivers(t *testing.T) {
	s := startSim(t)
	d := newDest(t, s, nil)
	recs := []*event.Record{
		alert("a1", "DLP", ""),
		alert("a2", "uba", ""),
		alert("a1", "DLP", ""), // the same id again in one call
		alert("a3", "malware", `,"dstip":"x"`),
	}
	err := d.Write(context.Background(), recs)
	var be *plugin.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Write: %v, want a BatchError for the skipped records", err)
	}
	var se *plugin.SkippedError
	if !errors.As(be.Failed[1], &se) || se.Reason != plugin.ReasonUnsupported {
		t.Errorf("uba: %v", be.Failed[1])
	}
	if !errors.As(be.Failed[2], &se) || se.Reason != plugin.ReasonDuplicate {
		t.Errorf("duplicate: %v", be.Failed[2])
	}
	if len(be.Failed) != 2 {
		t.Errorf("failed %v", be.Failed)
	}
	got := s.Lake.Query(lake.Filter{})
	if len(got) != 2 {
		t.Fatalf("lake holds %d events, want 2", len(got))
	}
	a1 := ""
	for _, e := range got {
		if e.ID == "a1" {
			a1 = e.EventSource + " " + string(e.EventData)
		}
	}
	for _, want := range []string{"netskopealert.dlp", "2026-11-", "9223372036854775807", "123456789012"} {
		if !strings.Contains(a1, want) {
			t.Errorf("a1 lacks %q: %s", want, a1)
		}
	}
}

func TestPerEventFailuresAreClassified(t *testing.T) {
	s := startSim(t)
	s.Lake.SetFaults(lake.Faults{EventThrottleRate: 1})
	d := newDest(t, s, nil)
	err := d.Write(context.Background(), []*event.Record{alert("t1", "dlp", "")})
	var be *plugin.BatchError
	var te *plugin.ThrottledError
	if !errors.As(err, &be) || !errors.As(be.Failed[0], &te) {
		t.Fatalf("per-event Throttling: %v, want a throttled record", err)
	}
	s.Lake.SetFaults(lake.Faults{})
	if err := d.Write(context.Background(), []*event.Record{alert("t1", "dlp", "")}); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

func TestConfigurationErrorsAreFatal(t *testing.T) {
	s := startSim(t)
	d := newDest(t, s, func(c *Config) {
		c.ChannelARN = "arn:aws:cloudtrail:us-east-1:123456789012:channel/00000000-0000-0000-0000-000000000000"
	})
	err := d.Write(context.Background(), []*event.Record{alert("x", "dlp", "")})
	if !plugin.IsFatal(err) || !strings.Contains(err.Error(), "ChannelNotFound") {
		t.Fatalf("unknown channel: %v, want fatal ChannelNotFound", err)
	}
	if err := d.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "no channel") {
		t.Fatalf("Check: %v", err)
	}
	wrong := newDest(t, s, func(c *Config) { c.AWS.SecretAccessKey = config.NewSecret("wrong") })
	if err := wrong.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "credentials were refused") {
		t.Fatalf("Check with a wrong secret: %v", err)
	}
	if err := newDest(t, s, nil).Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct{ arn, want string }{
		{"", "channel_arn: missing"},
		{"arn:aws:cloudtrail:us-east-1:123:channel/x", "channel_arn:"},
		{cloudsim.DemoChannelARN, ""},
	} {
		c := NewConfig().(*Config)
		c.ChannelARN = tc.arn
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q: %v, want %q", tc.arn, err, tc.want)
		}
	}
}
