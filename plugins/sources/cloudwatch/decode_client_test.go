package cloudwatch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/logshipper/logshipper/internal/sim/cwlogs"
)

// cannedHTTP answers every request with one status, header and body; cut sends fewer bytes
// than its Content-Length says.
type cannedHTTP struct {
	status int
	header http.Header
	body   string
	cut    bool
}

func (c cannedHTTP) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	h := http.Header{"Content-Type": {"application/x-amz-json-1.1"}}
	for k, v := range c.header {
		h[k] = v
	}
	n := int64(len(c.body))
	var body io.Reader = strings.NewReader(c.body)
	if c.cut {
		body = io.MultiReader(strings.NewReader(c.body[:len(c.body)/2]), errReader{io.ErrUnexpectedEOF})
	}
	return &http.Response{StatusCode: c.status, Header: h, Body: io.NopCloser(body), ContentLength: n, Request: r}, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// testClient is an SDK client over h, with the page decoder when dec is set.
func testClient(h cloudwatchlogs.HTTPClient, dec *pageDecoder) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://logs.invalid"), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:  h,
	}, func(o *cloudwatchlogs.Options) {
		if dec != nil {
			o.APIOptions = append(o.APIOptions, withPageDecoder(dec), checkInstalled)
		}
	})
}

// checkInstalled fails a FilterLogEvents call whose stack does not decode with pageDecoder.
func checkInstalled(st *middleware.Stack) error {
	if st.ID() != "FilterLogEvents" {
		return nil
	}
	if m, ok := st.Deserialize.Get(sdkDeserializerID); !ok {
		return errors.New("no operation deserializer")
	} else if _, ok := m.(*deserializer); !ok {
		return fmt.Errorf("the operation deserializer is %T", m)
	}
	return nil
}

// TestClientWithPageDecoder: installed in the SDK client, the decoder gives what the SDK
// gives for answers, and errors keep the SDK's codes and messages (what call and apiError
// rely on).
func TestClientWithPageDecoder(t *testing.T) {
	const page = `{"events":[{"eventId":"1","ingestionTime":2,"logStreamName":"s","message":"{\"a\":\"\u00e9\"}","timestamp":3}],"nextToken":"t","searchedLogStreams":[]}`
	for _, tc := range []struct {
		name     string
		http     cannedHTTP
		code     string // the APIError code expected, "" for none
		deserErr bool   // a smithy.DeserializationError expected
	}{
		{name: "page", http: cannedHTTP{status: 200, body: page}},
		{name: "empty body", http: cannedHTTP{status: 200}},
		{name: "throttled", http: cannedHTTP{status: 400, body: `{"__type":"ThrottlingException","message":"Rate exceeded"}`}, code: "ThrottlingException"},
		{name: "token expired", http: cannedHTTP{status: 400, body: `{"__type":"InvalidParameterException","message":"The specified nextToken has expired."}`}, code: "InvalidParameterException"},
		{name: "missing group", http: cannedHTTP{status: 400, body: `{"__type":"com.amazonaws.logs#ResourceNotFoundException","message":"The specified log group does not exist."}`}, code: "ResourceNotFoundException"},
		{name: "denied, code in a header", http: cannedHTTP{status: 400, header: http.Header{"X-Amzn-Errortype": {"AccessDeniedException:http://internal"}}, body: `{"message":"no"}`}, code: "AccessDeniedException"},
		{name: "server error", http: cannedHTTP{status: 503, body: `{"__type":"ServiceUnavailableException","message":"down"}`}, code: "ServiceUnavailableException"},
		{name: "not JSON", http: cannedHTTP{status: 200, body: `{"events":[`}, deserErr: true},
		{name: "cut short", http: cannedHTTP{status: 200, body: page, cut: true}, deserErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")}
			want, werr := testClient(tc.http, nil).FilterLogEvents(ctx, in)
			got, gerr := testClient(tc.http, &pageDecoder{}).FilterLogEvents(ctx, in)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("ours: %v; the SDK: %v", gerr, werr)
			}
			if gerr == nil {
				if !sameOutput(got, want) {
					t.Fatalf("ours gives %s\nthe SDK gives %s", dump(got), dump(want))
				}
				return
			}
			gc, gm := apiError(gerr)
			wc, wm := apiError(werr)
			if gc != tc.code || gc != wc || gm != wm {
				t.Errorf("ours: code %q message %q; the SDK: %q %q; want code %q", gc, gm, wc, wm, tc.code)
			}
			var de *smithy.DeserializationError
			if errors.As(gerr, &de) != tc.deserErr || errors.As(werr, &de) != tc.deserErr {
				t.Errorf("deserialization error: ours %v, the SDK %v, want one: %v", gerr, werr, tc.deserErr)
			}
		})
	}
}

// TestClientWithPageDecoderOtherOperations: the option leaves the other operations to the SDK.
func TestClientWithPageDecoderOtherOperations(t *testing.T) {
	h := cannedHTTP{status: 200, body: `{"logStreams":[{"logStreamName":"s","firstEventTimestamp":5}]}`}
	out, err := testClient(h, &pageDecoder{}).DescribeLogStreams(context.Background(), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")})
	if err != nil || len(out.LogStreams) != 1 || aws.ToString(out.LogStreams[0].LogStreamName) != "s" || aws.ToInt64(out.LogStreams[0].FirstEventTimestamp) != 5 {
		t.Fatalf("DescribeLogStreams: %v %+v", err, out)
	}
}

// recordingHTTP passes requests on and keeps the bodies of the answers.
type recordingHTTP struct {
	next   cloudwatchlogs.HTTPClient
	bodies [][]byte
}

func (r *recordingHTTP) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	if err != nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.bodies = append(r.bodies, b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// TestCloudsimAnswersDecodeAsTheSDK pages through cloudsim's CloudWatch Logs holding real
// CloudTrail records (and odd messages: escapes, non-ASCII, invalid UTF-8) and checks every
// answer against the SDK's decoding. With LOGSHIPPER_WRITE_FUZZ_SEEDS=1 it writes a few of
// the answers as seeds of FuzzFilterLogEventsDecode.
func TestCloudsimAnswersDecodeAsTheSDK(t *testing.T) {
	w := newWorld(t, cwlogs.Options{})
	f, err := os.Open(sampleFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msgs []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() && len(msgs) < 60 {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			msgs = append(msgs, l)
		}
	}
	msgs = append(msgs, "plain text \"quoted\" \\ back\tslash", "caf\u00e9 \U0001F600 \u2028", "bad \xff\xfe utf-8", "\x00\x01\x1f control", "")
	now := time.Now().Add(-time.Minute).UnixMilli()
	for s := range 3 {
		evs := make([]cwlogs.InputEvent, 0, len(msgs))
		for i, m := range msgs {
			if (i+s)%3 == 0 {
				evs = append(evs, cwlogs.InputEvent{Timestamp: now + int64(i), Message: m})
			}
		}
		if err := w.svc.Put(testAccount, "us-east-1", testGroup, fmt.Sprintf("%s_CloudTrail_us-east-1_%d", testAccount, s), evs); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recordingHTTP{next: http.DefaultClient}
	client := cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(w.srv.URL), HTTPClient: rec,
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
	})
	ctx := context.Background()
	for _, limit := range []int32{7, 10_000} {
		in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(testGroup), Limit: aws.Int32(limit)}
		for {
			out, err := client.FilterLogEvents(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	// an empty page
	if _, err := client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(testGroup), StartTime: aws.Int64(1), EndTime: aws.Int64(2)}); err != nil {
		t.Fatal(err)
	}
	if len(rec.bodies) < 3 {
		t.Fatalf("%d answers", len(rec.bodies))
	}
	var pd pageDecoder
	for i, b := range rec.bodies {
		want, werr := sdkDecode(b)
		got, gerr := pd.decode(bytes.Clone(b))
		if werr != nil || gerr != nil || !sameOutput(got, want) {
			t.Fatalf("answer %d: ours %v %s\nthe SDK %v %s", i, gerr, dump(got), werr, dump(want))
		}
	}
	if os.Getenv("LOGSHIPPER_WRITE_FUZZ_SEEDS") == "" {
		return
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzFilterLogEventsDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, len(rec.bodies) - 2, len(rec.bodies) - 1} {
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", rec.bodies[i])
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("cloudsim-%d", i)), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadBody reads bodies whatever their Content-Length says.
func TestReadBody(t *testing.T) {
	body := strings.Repeat("0123456789", 10_000)
	for _, tc := range []struct {
		name   string
		r      io.Reader
		length int64
		err    bool
	}{
		{"length given", strings.NewReader(body), int64(len(body)), false},
		{"length unknown", strings.NewReader(body), -1, false},
		{"length short", strings.NewReader(body), 10, false},
		{"length long", strings.NewReader(body), int64(len(body)) * 3, false},
		{"a byte at a time", iotest.OneByteReader(strings.NewReader(body)), int64(len(body)), false},
		{"cut", io.MultiReader(strings.NewReader(body[:100]), errReader{io.ErrUnexpectedEOF}), int64(len(body)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readBody(tc.r, tc.length)
			if tc.err {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil || string(got) != body {
				t.Fatalf("%d bytes, %v", len(got), err)
			}
		})
	}
}
