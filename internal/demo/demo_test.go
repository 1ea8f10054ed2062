package demo

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/plugins/all"
)

// The embedded configuration loads, and its defaults are cloudsim's demo world, so that
// `demo --print-config` runs as it is against `cloudsim serve`.
func TestDemoEmbeddedConfig(t *testing.T) {
	def := cloudsim.Default()
	acct := def.AWS.Accounts[0]
	for _, want := range []string{
		cloudsim.DemoChannelARN,
		"${AWS_ACCESS_KEY_ID:-" + acct.AccessKeyID + "}",
		"${AWS_SECRET_ACCESS_KEY:-" + acct.SecretAccessKey + "}",
		"${NETSKOPE_API_TOKEN:-" + def.Netskope.Tokens[0].Value + "}",
		"${NETSKOPE_TENANT:-http://" + def.Netskope.Listen + "}",
		"${AWS_ENDPOINT_URL:-http://" + def.AWS.Listen + "}",
	} {
		if !strings.Contains(string(Config), want) {
			t.Errorf("demo.yaml lacks %q", want)
		}
	}
	res := config.Resolver{Env: func(k string) (string, bool) {
		if k == "DEMO_DIR" {
			return t.TempDir(), true
		}
		return "", false
	}}
	cfg, err := config.Parse(Config, "demo.yaml", all.Registry(), res)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Rules.Get(ruleName); !ok {
		t.Fatalf("no rule %s", ruleName)
	}
	names := map[string]bool{}
	for _, p := range cfg.Plugins {
		names[p.Name] = true
	}
	for _, n := range []string{sourceName, lakeName, archiveName} {
		if !names[n] {
			t.Errorf("no plugin configuration %s", n)
		}
	}
}

func TestDemoSettled(t *testing.T) {
	// Of the 10 records read, the lake's route filters 4 and refuses 1 for its kind (a UBA
	// alert) before the lake is given the other 5.
	base := func() counts {
		return counts{
			mReceived: {sourceName: 10, lakeName: 5, archiveName: 10},
			mSent:     {lakeName: 5, archiveName: 10},
			mDropped:  {lakeName + "/filtered": 4, lakeName + "/unsupported_by_destination": 1},
		}
	}
	if !settled(base(), 10) {
		t.Error("everything accounted for: not settled")
	}
	if settled(base(), 11) {
		t.Error("fewer read than the tenant holds: settled")
	}
	c := base()
	c[mSent][lakeName] = 4
	if settled(c, 10) {
		t.Error("a record in flight to the lake: settled")
	}
	c = base()
	c[mReceived][archiveName] = 9
	if settled(c, 10) {
		t.Error("a record not yet routed to the archive: settled")
	}
	if !settled(counts{}, 0) {
		t.Error("nothing read, nothing wanted: not settled")
	}
}

func TestDemoPrettyEventData(t *testing.T) {
	text, note, err := prettyEventData([]byte(`{"version":"1.0","UID":"7","additionalEventData":{"b":1,"a":{"x":[1,2]},"c":"3"}}`), 2)
	if err != nil {
		t.Fatal(err)
	}
	want := `  {
    "version": "1.0",
    "UID": "7",
    "additionalEventData": {
      "b": 1,
      "a": {
        "x": [
          1,
          2
        ]
      }
    }
  }`
	if text != want || !strings.Contains(note, "the first 2 of its 3 fields") {
		t.Errorf("got\n%s\n%s", text, note)
	}
	if _, _, err := prettyEventData([]byte(`[1]`), 2); err == nil {
		t.Error("an array: no error")
	}
}

func TestDemoReadFrames(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      bool
	}{
		{"octet counting", "5 <1>ab3 <2>", []string{"<1>ab", "<2>"}, false},
		{"newline", "<1>a b\n<2>c\r\n", []string{"<1>a b", "<2>c"}, false},
		{"mixed, last line unterminated", "4 <1>x\n<2>y", []string{"<1>x", "<2>y"}, false},
		{"a frame cut short", "9 <1>ab", nil, true},
		{"not syslog", "hello", nil, true},
		{"a length too large", "99999999999 <1>", nil, true},
		{"empty", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := ReadFrames(strings.NewReader(tc.in), func(b []byte) { got = append(got, string(b)) })
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

func FuzzReadFrames(f *testing.F) {
	f.Add("5 <1>ab3 <2>")
	f.Add("<1>a\n<2>b")
	f.Add("12 <166>1 - - -")
	f.Fuzz(func(t *testing.T, in string) {
		total := 0
		_ = ReadFrames(strings.NewReader(in), func(b []byte) { total += len(b) })
		if total > len(in) {
			t.Fatalf("%d bytes of messages from %d bytes of input", total, len(in))
		}
	})
}

func TestDemoCEFExtension(t *testing.T) {
	msg := `<166>1 2026-01-01T00:00:00.000Z h logshipper - - - CEF:0|AWS|Cloud\|Trail|1.05|ConsoleLogin|ConsoleLogin|3|rt=1 cat=authentication.console.success act=ConsoleLogin msg=a\=b c\\ d cs4Label=errorCode cs4=AccessDenied dvchost=console-signin`
	got := cefExtension(msg)
	want := map[string]string{
		"rt": "1", "cat": "authentication.console.success", "act": "ConsoleLogin", "msg": `a=b c\ d`,
		"cs4Label": "errorCode", "cs4": "AccessDenied", "dvchost": "console-signin",
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if !isDenied(got) {
		t.Error("AccessDenied in cs4 (errorCode): not denied")
	}
	if len(cefExtension("<1>1 - - - not CEF")) != 0 || len(cefExtension("CEF:0|a|b")) != 0 {
		t.Error("not CEF: an extension")
	}
}

func FuzzCEFExtension(f *testing.F) {
	f.Add(`CEF:0|AWS|CloudTrail|1.05|X|X|3|rt=1 cat=a.b msg=x\=y`)
	f.Add(`CEF:0|a|b|c|d|e|f|=x k= =`)
	f.Fuzz(func(t *testing.T, msg string) {
		for k := range cefExtension(msg) {
			if k == "" {
				t.Fatalf("an empty key from %q", msg)
			}
		}
	})
}

// The replay keeps every record, moves its eventTime into the span (consistent with the
// event's timestamp, in the records' order) and sends it to the region it names.
func TestDemoReplay(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	data := []byte(`{"eventTime":"2019-01-01T00:00:02Z","awsRegion":"us-west-2","eventName":"B"}
{"eventTime":"2019-01-01T00:00:01Z","awsRegion":"us-east-1","eventName":"A"}

{"eventTime":"redacted","awsRegion":"ap-east-1","eventName":"C"}
`)
	evs, err := replay(data, []string{"us-east-1", "us-west-2", "eu-west-1"}, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	wantRegions := []string{"us-east-1", "us-west-2", "eu-west-1"}
	for i, e := range evs {
		if e.region != wantRegions[i] {
			t.Errorf("event %d in %s, want %s", i, e.region, wantRegions[i])
		}
		if e.ts < now.Add(-time.Minute).UnixMilli() || e.ts > now.UnixMilli() || (i > 0 && e.ts < evs[i-1].ts) {
			t.Errorf("event %d at %d: not in the span, in order", i, e.ts)
		}
	}
	if want := `"eventTime":"` + time.UnixMilli(evs[0].ts).UTC().Format("2006-01-02T15:04:05Z") + `"`; !strings.Contains(evs[0].msg, want) || !strings.Contains(evs[0].msg, `"eventName":"A"`) {
		t.Errorf("first event %s, want %s", evs[0].msg, want)
	}
	if !strings.Contains(evs[2].msg, `"eventTime":"redacted"`) {
		t.Errorf("a record without a time changed: %s", evs[2].msg)
	}
	if _, err := replay([]byte("{"), []string{"a"}, now, time.Minute); err == nil {
		t.Error("not JSON: no error")
	}
	all, err := replay(trailRecords, trailRegions, now, time.Minute)
	if err != nil || len(all) != 395 {
		t.Errorf("the embedded records: %d, %v", len(all), err)
	}
}

// The receiver writes every message it gets over TCP as one line.
func TestDemoReceiver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "siem", "received.log")
	r, err := startReceiver(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	first := "<166>1 CEF:0|a|b|c|d|e|f|cat=x\nnext"
	if _, err := fmt.Fprintf(c, "%d %s<1>two\n", len(first), first); err != nil {
		t.Fatal(err)
	}
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for r.Lines() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readReceived(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.lines != 2 || got.categories["x\nnext"] != 1 || got.categories["(none)"] != 1 {
		t.Errorf("%+v", got)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "<166>1 CEF:0|a|b|c|d|e|f|cat=x\\nnext\n<1>two\n" {
		t.Errorf("file %q", b)
	}
}

func TestDemoOnly(t *testing.T) {
	cfg := &config.Config{SIEMMappings: []config.RouteConfig{{Source: "a", Destination: "x"}, {Source: "b", Destination: "y"}, {Source: "a", Destination: "z"}}}
	got := only(cfg, "a")
	if len(got.SIEMMappings) != 2 || got.SIEMMappings[1].Destination != "z" || len(cfg.SIEMMappings) != 3 {
		t.Errorf("%+v", got.SIEMMappings)
	}
}
