package lakeapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/logshipper/logshipper/internal/jsonx"
)

// jsonx.AppendString, as appendPutBody uses it, decodes back to its input (valid UTF-8) and to what encoding/json makes
// of invalid UTF-8, for strings that put every kind of byte at every offset of a word.
func TestAppendJSONString(t *testing.T) {
	cases := []string{"", "a", `"`, `\`, "\x00", "\x1f", "\x7f", "plain ascii text longer than eight",
		`{"k":"v","n":1,"e":"a\"b\\c"}`, "tab\there\r\nnewline", "é", "日本語", "😀", "\u2028\u2029",
		"bad \xff byte", "\xc3", "cut \xe2\x82", "\xed\xa0\x80 surrogate", strings.Repeat("x", 17) + "\x01" + strings.Repeat("y", 9)}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", " ", `"`, `\`, "\n", "\x01", "\x1f", "é", "€", "😀", "\xff", "<", "&", "~", "\x7f"}
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		out := jsonx.AppendString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q -> %s: %v", s, out, err)
		}
		want := s
		if !utf8.ValidString(s) {
			std, _ := json.Marshal(s)
			_ = json.Unmarshal(std, &want)
		}
		if got != want {
			t.Fatalf("%q -> %s -> %q, want %q", s, out, got, want)
		}
	}
}

func TestAppendPutBody(t *testing.T) {
	events := []AuditEvent{
		{ID: "a", EventData: `{"x":"1"}`, EventDataChecksum: Checksum([]byte(`{"x":"1"}`))},
		{ID: "b", EventData: "{\"y\":\"line\\n2 é\"}"},
	}
	body := appendPutBody(nil, events)
	var doc struct {
		AuditEvents []struct {
			ID                string  `json:"id"`
			EventData         string  `json:"eventData"`
			EventDataChecksum *string `json:"eventDataChecksum"`
		} `json:"auditEvents"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if len(doc.AuditEvents) != 2 || doc.AuditEvents[0].EventData != events[0].EventData || *doc.AuditEvents[0].EventDataChecksum != events[0].EventDataChecksum ||
		doc.AuditEvents[1].EventData != events[1].EventData || doc.AuditEvents[1].EventDataChecksum != nil {
		t.Fatalf("%s", body)
	}
}

// Encoding into a reused buffer allocates nothing, however many events.
func TestAppendPutBodyAllocations(t *testing.T) {
	events := benchEvents(100)
	buf := appendPutBody(nil, events)
	if n := testing.AllocsPerRun(20, func() { buf = appendPutBody(buf[:0], events) }); n != 0 {
		t.Fatalf("%v allocations per body", n)
	}
}

// The signed request carries what SigV4 and the service need, and its body goes back to the
// pool only once both the call and the transport are done with it.
func TestPutRequest(t *testing.T) {
	c := New(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "tok")},
		func(o *Options) { o.Now = func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) } })
	arn := "arn:aws:cloudtrail:eu-west-1:123456789012:channel/abc"
	creds, _ := c.opts.Credentials.Retrieve(context.Background())
	req, body, err := c.newPutRequest(context.Background(), "eu-west-1", arn, "ext/1", benchEvents(2), creds)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.URL.String(); got != "https://cloudtrail-data.eu-west-1.amazonaws.com/PutAuditEvents?channelArn=arn%3Aaws%3Acloudtrail%3Aeu-west-1%3A123456789012%3Achannel%2Fabc&externalId=ext%2F1" {
		t.Errorf("URL %s", got)
	}
	auth := req.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/eu-west-1/cloudtrail-data/aws4_request") ||
		req.Header.Get("X-Amz-Security-Token") != "tok" || req.Header.Get("X-Amz-Date") != "20261123T090000Z" ||
		req.Header.Get("Content-Type") != "application/json" || req.ContentLength != int64(len(body.b)) {
		t.Errorf("headers %v", req.Header)
	}
	if n := body.refs.Load(); n != 2 {
		t.Fatalf("%d references, want 2 (the call and the body)", n)
	}
	r2, _ := req.GetBody()
	r2.Close()
	req.Body.Close()
	req.Body.Close() // twice is harmless
	if n := body.refs.Load(); n != 1 {
		t.Fatalf("%d references", n)
	}
	body.release()
	if n := body.refs.Load(); n != 0 {
		t.Fatalf("%d references", n)
	}
	if got := defaultEndpoint(SigningName, "cn-north-1"); got != "https://cloudtrail-data.cn-north-1.amazonaws.com.cn" {
		t.Errorf("China endpoint %s", got)
	}
}

// benchEvents returns n events of about 1.3 kB, as the Netskope mapping makes them.
func benchEvents(n int) []AuditEvent {
	events := make([]AuditEvent, n)
	for i := range events {
		id := fmt.Sprintf("f3b1c2d4e5f6a7b8c9d0e1f2%08d", i)
		d := fmt.Sprintf(`{"version":"1.0","userIdentity":{"type":"User","principalId":"alice.smith@example.com",`+
			`"details":{"userkey":"alice.smith@example.com","organization_unit":"corp/finance/emea","groups":["finance","vpn-users"]}},`+
			`"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",`+
			`"eventSource":"netskopealert.dlp","eventName":"DLP","eventTime":"2026-11-23T09:00:00Z","UID":%q,"recipientAccountId":"123456789012",`+
			`"sourceIPAddress":"203.0.113.17","requestParameters":{"app":"Google Drive","activity":"Upload","object":"Q3 forecast – final.xlsx",`+
			`"url":"https://drive.google.com/upload?id=1a2b3c4d5e6f","policy":"PCI \"strict\"","action":"block"},`+
			`"responseElements":{"dlp_profile":"PCI-DSS","dlp_rule":"Credit card numbers","dlp_rule_count":14,"severity":"high"},`+
			`"additionalEventData":{"alert_type":"DLP","access_method":"Client","device":"Windows Device","os":"Windows 11",`+
			`"site":"Google Drive","traffic_type":"CloudApp","src_location":"Paris","dst_location":"Mountain View","md5":"9e107d9d372bb6826bd81d3542a419d6",`+
			`"file_size":482133,"instance_id":"corp.example.com","note":"line one\nline two\ttabbed"}}`, id)
		events[i] = AuditEvent{ID: id, EventData: d, EventDataChecksum: Checksum([]byte(d))}
	}
	return events
}

// BenchmarkPutAuditEventsEncodeSign encodes and signs a 100-event batch of ~1.3 kB events, as
// a PutAuditEvents call does before it is sent.
func BenchmarkPutAuditEventsEncodeSign(b *testing.B) {
	events := benchEvents(100)
	size := 0
	for _, e := range events {
		size += len(e.EventData)
	}
	c := New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	creds, _ := c.opts.Credentials.Retrieve(context.Background())
	arn := "arn:aws:cloudtrail:us-east-1:123456789012:channel/6b1b5a5e-0f3e-4b3c-9a8e-2f1d6c0a9e01"
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, body, err := c.newPutRequest(ctx, "us-east-1", arn, "", events, creds)
		if err != nil {
			b.Fatal(err)
		}
		req.Body.Close()
		body.release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(events)), "ns/event")
}

// BenchmarkAppendPutBody builds the body of a 100-event batch of ~1.3 kB events into a reused
// buffer: the escaping of eventData, without the signature's hash.
func BenchmarkAppendPutBody(b *testing.B) {
	events := benchEvents(100)
	size := 0
	for _, e := range events {
		size += len(e.EventData)
	}
	buf := appendPutBody(nil, events)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendPutBody(buf[:0], events)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(events)), "ns/event")
}

// A request body goes back to its client's free list when its last reader is done, and is
// there after garbage collections (which empty a sync.Pool); the list holds at most
// freeBodies.
func TestBodyReuse(t *testing.T) {
	c := New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	creds, _ := c.opts.Credentials.Retrieve(context.Background())
	arn := "arn:aws:cloudtrail:us-east-1:123456789012:channel/abc"
	events := benchEvents(100)
	req, body, err := c.newPutRequest(context.Background(), "us-east-1", arn, "", events, creds)
	if err != nil {
		t.Fatal(err)
	}
	first := &body.b[:1][0]
	body.release()
	if len(c.bodies) != 0 {
		t.Fatal("the body went back before the transport closed it")
	}
	req.Body.Close()
	if len(c.bodies) != 1 {
		t.Fatalf("%d bodies free after the last reader closed, want 1", len(c.bodies))
	}
	runtime.GC()
	runtime.GC()
	req, body, err = c.newPutRequest(context.Background(), "us-east-1", arn, "", events, creds)
	if err != nil {
		t.Fatal(err)
	}
	if &body.b[:1][0] != first {
		t.Error("the second call did not reuse the first call's body")
	}
	req.Body.Close()
	body.release()
	var held []*sharedBuf
	for range freeBodies + 4 {
		held = append(held, getBuf(c.bodies))
	}
	for _, s := range held {
		s.release()
	}
	if len(c.bodies) != freeBodies {
		t.Fatalf("%d bodies free, want %d", len(c.bodies), freeBodies)
	}
}
