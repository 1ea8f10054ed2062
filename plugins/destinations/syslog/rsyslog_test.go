package syslog

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// rsyslogd is the integration test's receiver: a real rsyslog (Debian package "rsyslog",
// installed by scripts/setup.sh) started as the test's child on free ports, writing every
// message it receives, raw, one per line, to a file.
type rsyslogd struct {
	tcp, udp, tcpNL string
	out             string
}

func startRsyslog(t *testing.T) *rsyslogd {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/rsyslogd"); statErr == nil {
			bin = "/usr/sbin/rsyslogd"
		} else if os.Getenv("LOGSHIPPER_REQUIRE_RSYSLOG") != "" {
			t.Fatal("rsyslogd is not installed and LOGSHIPPER_REQUIRE_RSYSLOG is set: run scripts/setup.sh")
		} else {
			t.Skip("rsyslogd is not installed (scripts/setup.sh installs it); set LOGSHIPPER_REQUIRE_RSYSLOG=1 to make this a failure")
		}
	}
	dir := t.TempDir()
	r := &rsyslogd{tcp: freePort(t, "tcp"), udp: freePort(t, "udp"), tcpNL: freePort(t, "tcp"), out: filepath.Join(dir, "out.log")}
	port := func(a string) string { _, p, _ := net.SplitHostPort(a); return p }
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k" parser.escapeControlCharactersOnReceive="off")
module(load="imtcp")
module(load="imudp")
template(name="raw" type="string" string="%%rawmsg%%\n")
ruleset(name="out") {
  action(type="omfile" file=%q template="raw" flushOnTXEnd="on" asyncWriting="off")
}
input(type="imtcp" address="127.0.0.1" port=%q ruleset="out")
input(type="imtcp" address="127.0.0.1" port=%q ruleset="out")
input(type="imudp" address="127.0.0.1" port=%q ruleset="out")
`, dir, r.out, port(r.tcp), port(r.tcpNL), port(r.udp))
	confFile := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslog.pid"))
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", stderr.String())
		}
	})
	// Ready when both TCP inputs accept and a UDP probe reaches the file.
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range []string{r.tcp, r.tcpNL} {
		for {
			c, err := net.Dial("tcp", a)
			if err == nil {
				_ = c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rsyslogd does not listen on %s: %v\n%s", a, err, stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	uc, err := net.Dial("udp", r.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	for !strings.Contains(r.read(t), "readiness-probe") {
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd does not receive on udp %s\n%s", r.udp, stderr.String())
		}
		_, _ = uc.Write([]byte("<14>1 2024-01-01T00:00:00Z probe t - - - readiness-probe"))
		time.Sleep(100 * time.Millisecond)
	}
	return r
}

func freePort(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func (r *rsyslogd) read(t *testing.T) string {
	b, err := os.ReadFile(r.out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// lines returns what rsyslog wrote with the given app name, one message per line.
func (r *rsyslogd) lines(t *testing.T, app string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(r.read(t)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), " "+app+" ") {
			out = append(out, sc.Text())
		}
	}
	return out
}

func TestRsyslogIntegration(t *testing.T) {
	rs := startRsyslog(t)
	tricky := &event.Record{Raw: []byte(`{"msg":"pipe | backslash \\ equals = newline \n tab \t end","ü":"日本"}`), Subtype: "custom", ID: "tricky-1", Time: time.Unix(1700000000, 0)}
	ct := pantherRecords(t, 30)
	base := func() []*event.Record {
		recs := []*event.Record{tricky}
		for _, raw := range ct {
			r := asCloudTrail(raw)
			r.Meta = map[string]string{event.MetaLogSourceID: "acct-1"}
			recs = append(recs, r)
		}
		return recs
	}

	cases := []struct {
		name, addr, protocol, framing, format string
	}{
		{"cef-tcp-octet", rs.tcp, ProtoTCP, FramingOctetCounting, FormatCEF},
		{"leef-tcp-newline", rs.tcpNL, ProtoTCP, FramingNewline, FormatLEEF},
		{"json-udp", rs.udp, ProtoUDP, "", FormatJSON},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(c.addr)
			cfg.Protocol, cfg.Framing, cfg.Format = c.protocol, c.framing, c.format
			cfg.AppName = "it-" + c.name
			cfg.MaxMessageBytes = 8192
			d := newDest(t, cfg)
			recs := base()
			for i := 0; i < len(recs); i += 10 {
				if err := d.Write(context.Background(), recs[i:min(i+10, len(recs))]); err != nil {
					t.Fatal(err)
				}
			}
			_ = d.Close(context.Background())
			var got []string
			deadline := time.Now().Add(20 * time.Second)
			for {
				got = rs.lines(t, cfg.AppName)
				if len(got) >= len(recs) || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if len(got) != len(recs) {
				t.Fatalf("rsyslog wrote %d messages, want %d", len(got), len(recs))
			}
			for i, line := range got {
				body := msgOf(t, line)
				switch c.format {
				case FormatCEF:
					m, err := parseCEF(body)
					if err != nil {
						t.Fatalf("line %d does not parse as CEF: %v\n%s", i, err, line)
					}
					if i == 0 {
						if v, _ := m.get("msg"); v != string(tricky.Raw) {
							t.Errorf("escaping did not survive:\n got  %q\n want %q", v, tricky.Raw)
						}
					} else if h, _ := m.get("dvchost"); h != "acct-1" || m.Header[1] != "AWS" {
						t.Errorf("line %d: dvchost %q, vendor %q", i, h, m.Header[1])
					}
				case FormatLEEF:
					if !strings.HasPrefix(body, "LEEF:2.0|") || !strings.Contains(body, "\t") {
						t.Errorf("line %d is not tab-delimited LEEF 2.0: %q", i, body)
					}
				case FormatJSON:
					if body != string(recs[i].Raw) {
						t.Errorf("line %d:\n got  %s\n want %s", i, body, recs[i].Raw)
					}
				}
				if i > 0 && !strings.Contains(line, " acct-1 ") {
					t.Errorf("line %d: HOSTNAME is not the log-source identifier: %.120s", i, line)
				}
			}
		})
	}
}
