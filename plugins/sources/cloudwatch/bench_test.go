package cloudwatch

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
)

// pageEvents is the page the brief asks to measure. (The real service caps a page at 1 MB,
// about 750 CloudTrail records; this page is 13 MB.)
const pageEvents = 10_000

// cloudTrailPage is a FilterLogEvents response of 10,000 real CloudTrail records.
func cloudTrailPage(b *testing.B) []byte {
	f, err := os.Open(sampleFile)
	if err != nil {
		b.Fatalf("CloudTrail samples: %v", err)
	}
	defer f.Close()
	var msgs [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			msgs = append(msgs, append([]byte(nil), l...))
		}
	}
	if len(msgs) == 0 {
		b.Skip("no CloudTrail samples")
	}
	out := []byte(`{"events":[`)
	for i := range pageEvents {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"eventId":"`...)
		out = strconv.AppendInt(out, 37_000_000_000_000_000+int64(i), 10)
		out = append(out, `0000000000000000000000000000000000000","ingestionTime":1767225900000,"logStreamName":"123456789012_CloudTrail_us-east-1","message":`...)
		out = jsonx.AppendString(out, string(msgs[i%len(msgs)]))
		out = append(out, `,"timestamp":`...)
		out = strconv.AppendInt(out, 1767225600000+int64(i), 10)
		out = append(out, '}')
	}
	return append(out, `],"searchedLogStreams":[],"nextToken":"next"}`...)
}

// BenchmarkPage measures one FilterLogEvents page of 10,000 CloudTrail events through the SDK
// client as the source installs it (request, signing, pageDecoder; HTTP answered from memory)
// and the building of their records (dedupe included).
func BenchmarkPage(b *testing.B) {
	page := cloudTrailPage(b)
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://logs.invalid"), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:  memoryHTTP(page),
	}, func(o *cloudwatchlogs.Options) { o.APIOptions = append(o.APIOptions, withPageDecoder(&pageDecoder{})) })
	bl := builder{source: "bench", region: "us-east-1", group: "g", extract: true}
	ctx := context.Background()
	for _, mode := range []string{"decode", "decode+build"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				out, err := client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")})
				if err != nil || len(out.Events) != pageEvents {
					b.Fatal(err)
				}
				if mode == "decode" {
					continue
				}
				seen := make(map[string]int64, pageEvents)
				recs := make([]*event.Record, 0, len(out.Events))
				for i := range out.Events {
					fe := &out.Events[i]
					e := logEvent{ID: aws.ToString(fe.EventId), Timestamp: aws.ToInt64(fe.Timestamp), IngestionTime: aws.ToInt64(fe.IngestionTime),
						Stream: aws.ToString(fe.LogStreamName), Message: aws.ToString(fe.Message)}
					if _, ok := seen[e.ID]; ok {
						continue
					}
					seen[e.ID] = e.Timestamp
					recs = appendAll(&bl, recs, &e)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pageEvents), "ns/event")
		})
	}
}

// memoryHTTP answers every request with body, from memory: the benchmark measures the SDK's
// request building, signing and decoding, not loopback networking.
type memoryHTTP []byte

func (m memoryHTTP) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.1")
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(bytes.NewReader(m)), ContentLength: int64(len(m)), Request: r}, nil
}

// BenchmarkBuild is record building alone for one CloudTrail message.
func BenchmarkBuild(b *testing.B) {
	msg := `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"},"eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","userAgent":"aws-cli/2","requestParameters":{"bucketName":"b","key":"k"},"responseElements":null,"eventID":"1","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}`
	ids, _ := parseIdentifierPatterns(`acct-$1="recipientAccountId":"(\d{12})"`)
	for _, bc := range []struct {
		name string
		b    builder
	}{{"extract", builder{extract: true}}, {"envelope", builder{group: "g"}}, {"extract+gateway", builder{extract: true, idents: ids}}} {
		b.Run(bc.name, func(b *testing.B) {
			e := logEvent{ID: "1", Timestamp: 1, IngestionTime: 2, Stream: "s", Message: msg}
			b.ReportAllocs()
			recs := make([]*event.Record, 0, 1)
			for b.Loop() {
				recs = appendAll(&bc.b, recs[:0], &e)
			}
		})
	}
}
