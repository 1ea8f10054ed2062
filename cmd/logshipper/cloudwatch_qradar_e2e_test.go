package main

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/sim/cloudsim"
	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// lineReceiver is a syslog receiver for newline framing that keeps every message.
type lineReceiver struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
}

func startLineReceiver(t *testing.T) *lineReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &lineReceiver{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
				for sc.Scan() {
					r.mu.Lock()
					r.msgs = append(r.msgs, sc.Text())
					r.mu.Unlock()
				}
			}()
		}
	}()
	return r
}

func (r *lineReceiver) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// jsaRecord is the CloudTrail record of the JSA documentation's sample for the "Amazon Web
// Services" protocol (DescribeTrails), on one line as the documentation asks it to be pasted:
// https://www.juniper.net/documentation/us/en/software/jsa7.5.0/jsa-dsm/topics/concept/jsa-configuring-dsm-sample-event-message-aws-cloudtrial.html
const jsaRecord = `{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","principalId":"AIDAAAAAAAAAAAAAAAAAA","arn":"arn:aws:iam::111111111111:user/test","accountId":"111111111111","accessKeyId":"AAAAAAAAAAAAAAAAAAAA","userName":"test"},"eventTime":"2017-09-18T14:18:37Z","eventSource":"cloudtrail.amazonaws.com","eventName":"DescribeTrails","awsRegion":"us-east-2","sourceIPAddress":"192.0.2.10","userAgent":"console.amazonaws.com","requestParameters":{"trailNameList":[],"includeShadowTrails":false},"responseElements":null,"requestID":"2b7ea8a9-4e8e-4a4b-8d0c-0d0b2b1e0a0b","eventID":"b5b3c2b0-1f2a-4d5e-9a8b-7c6d5e4f3a2b","eventType":"AwsApiCall","recipientAccountId":"111111111111"}`

// Issue 14, item 7: a CloudWatch Logs message in QRadar's text form ({LogStreamName: ...,
// Message: {...}, EventId: ...}, as the JSA documentation shows it) reaches the SIEM as the
// CloudTrail record it wraps (its eventName, category and eventID), not as a message that is
// not CloudTrail. Item 8 on the same path: a subscription CONTROL_MESSAGE stored in the group
// does not reach the SIEM; it is counted as dropped (control_message) and logged.
func TestE2ECloudWatchQRadarTextFormToSyslog(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cloudsim.Default()
	c.AWS.Listen, c.IMDS.Listen, c.Netskope.Listen, c.Admin.Listen = "127.0.0.1:0", "", "", ""
	c.AWS.Logs = cloudsim.LogsConfig{}
	sim, err := cloudsim.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	a := c.AWS.Accounts[0]
	t.Setenv("CW_QRADAR_SECRET", a.SecretAccessKey)
	const group, region = "qradar-forwarded", "us-east-2"
	stream := cwlogs.CloudTrailStream(a.ID, region)
	now := time.Now().Add(-time.Minute).UnixMilli()
	// The JSA form as documented (no space after the commas), and with a space after each.
	forms := []string{
		fmt.Sprintf("{LogStreamName: %s,Timestamp: %d,Message: %s,IngestionTime: %d,EventId: 33577865368733960549686361093419037811738467383245488128}", stream, now, jsaRecord, now+143),
		fmt.Sprintf("{LogStreamName: %s, Timestamp: %d, Message: %s, IngestionTime: %d, EventId: 33577865368733960549686361093419037811738467383245488129}", stream, now, strings.Replace(jsaRecord, "b5b3c2b0", "c5b3c2b0", 1), now+143),
	}
	events := make([]cwlogs.InputEvent, len(forms), len(forms)+1)
	for i, f := range forms {
		events[i] = cwlogs.InputEvent{Timestamp: now, Message: f}
	}
	// The health check CloudWatch Logs sends a subscription destination, as the CloudWatch Logs
	// user guide shows it.
	events = append(events, cwlogs.InputEvent{Timestamp: now, Message: `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1432826855000,"message":"CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]}`})
	if err := sim.Logs.Put(a.ID, region, group, stream, events); err != nil {
		t.Fatal(err)
	}

	rcv := startLineReceiver(t)
	dir := t.TempDir()
	admin := freeAddr(t)
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf(`
data_dir: ./data
admin: {listen: "%s"}
log: {level: info, format: json}
plugins:
  - name: in
    type: aws_cloudwatch_logs
    access_key_id: %s
    secret_access_key: ${CW_QRADAR_SECRET}
    endpoint: %s
    proxy: none
    regions: [%s]
    log_group: %s
    start_position: beginning
    max_window: 876000h
    lag: 1s
    overlap: 5s
    poll_interval: 200ms
  - name: out
    type: syslog
    address: %s
    protocol: tcp
    framing: newline
    format: cef
    batch: {max_wait: 10ms}
siem_mappings:
  - {source: in, destination: out}
`, admin, a.AccessKeyID, sim.Endpoints["aws"], region, group, rcv.ln.Addr()))
	p := startShipper(t, dir, "run", "-c", "c.yaml")
	waitFor(t, 60*time.Second, "both messages at the SIEM", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("the shipper exited: %v\n%s", err, lastChars(p.stderr.String(), 4000))
		default:
		}
		return len(rcv.messages()) >= len(forms)
	})
	const dropped = `logshipper_records_dropped_total{plugin="in",reason="control_message"}`
	waitFor(t, 30*time.Second, "the control message counted as dropped", func() bool {
		return scrapeMetrics(t, admin)[dropped] == 1
	})
	if lines := logLines(p.stderr.String(), map[string]string{"level": "WARN", "plugin": "in", "reason": "control_message"}); len(lines) != 1 {
		t.Errorf("%d WARN lines for the control message, want 1:\n%s", len(lines), lastChars(p.stderr.String(), 4000))
	}
	msgs := rcv.messages()
	if len(msgs) != len(forms) {
		t.Fatalf("%d messages for %d events:\n%s", len(msgs), len(forms), strings.Join(msgs, "\n"))
	}
	for i, m := range msgs {
		_, cef, ok := strings.Cut(m, "CEF:")
		if !ok {
			t.Fatalf("message %d is not CEF: %s", i+1, m)
		}
		for _, want := range []string{"|AWS|CloudTrail|1.05|DescribeTrails|", "externalId=", "5b3c2b0-1f2a-4d5e-9a8b-7c6d5e4f3a2b", "suser=test"} {
			if !strings.Contains(cef, want) {
				t.Errorf("message %d lacks %q: %s", i+1, want, m)
			}
		}
		if strings.Contains(cef, "parse_status=") {
			t.Errorf("message %d went out with a parse status (not read as CloudTrail): %s", i+1, m)
		}
	}
}
