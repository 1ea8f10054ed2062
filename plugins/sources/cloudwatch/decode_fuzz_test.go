package cloudwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/schemas"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// sdkDecode decodes a 2xx FilterLogEvents body as the SDK client does (its awsJson 1.1
// protocol with the operation's schema). A panic of the SDK's decoder is returned as an error.
func sdkDecode(body []byte) (out *cloudwatchlogs.FilterLogEventsOutput, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("the SDK's decoder panicked: %v", r)
		}
	}()
	p := awsjson.New11(schemas.Logs_20140328)
	op := smithy.NewOperationSchema(schemas.FilterLogEvents, schemas.FilterLogEventsRequest, schemas.FilterLogEventsResponse)
	resp := &smithyhttp.Response{Response: &http.Response{StatusCode: 200, Header: http.Header{},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}}
	out = &cloudwatchlogs.FilterLogEventsOutput{}
	if err := p.DeserializeResponse(context.Background(), op, cloudwatchlogs.TypeRegistry, resp, out); err != nil {
		return nil, err
	}
	return out, nil
}

// firstValueIsJSON reports whether body starts with one well-formed JSON value (what follows
// it is not looked at, as neither decoder looks at it).
func firstValueIsJSON(body []byte) bool {
	var v json.RawMessage
	return json.NewDecoder(bytes.NewReader(body)).Decode(&v) == nil
}

// sameOutput compares the decoded members of two answers (not their metadata).
func sameOutput(a, b *cloudwatchlogs.FilterLogEventsOutput) bool {
	return reflect.DeepEqual(a.Events, b.Events) && reflect.DeepEqual(a.NextToken, b.NextToken) &&
		reflect.DeepEqual(a.SearchedLogStreams, b.SearchedLogStreams)
}

// FuzzFilterLogEventsDecode holds pageDecoder to the SDK's decoder: for any body both give the
// same answer or both fail (a panic of the SDK's counts as failing), and pageDecoder refuses
// every body but the empty one that does not start with a JSON value.
func FuzzFilterLogEventsDecode(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.body))
	}
	var pd pageDecoder
	f.Fuzz(func(t *testing.T, body []byte) {
		want, werr := sdkDecode(body)
		got, gerr := pd.decode(bytes.Clone(body)) // ours writes into it
		switch {
		case werr != nil && gerr != nil:
		case werr != nil:
			t.Fatalf("the SDK fails (%v), ours gives %s", werr, dump(got))
		case gerr != nil:
			t.Fatalf("ours fails (%v), the SDK gives %s", gerr, dump(want))
		case !sameOutput(got, want):
			t.Fatalf("ours gives %s\nthe SDK gives %s", dump(got), dump(want))
		}
		if gerr == nil && len(body) > 0 && !firstValueIsJSON(body) {
			t.Fatalf("ours accepts a body that is not JSON: %s", dump(got))
		}
	})
}

// dump shows an answer with its pointers followed and nil and empty told apart.
func dump(o *cloudwatchlogs.FilterLogEventsOutput) string {
	if o == nil {
		return "<nil>"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "events(nil=%v)=[", o.Events == nil)
	for _, e := range o.Events {
		fmt.Fprintf(&b, "{id=%s ing=%s stream=%s msg=%s ts=%s}", ps(e.EventId), pi(e.IngestionTime), ps(e.LogStreamName), ps(e.Message), pi(e.Timestamp))
	}
	fmt.Fprintf(&b, "] nextToken=%s searched(nil=%v)=[", ps(o.NextToken), o.SearchedLogStreams == nil)
	for _, s := range o.SearchedLogStreams {
		c := "<nil>"
		if s.SearchedCompletely != nil {
			c = fmt.Sprint(*s.SearchedCompletely)
		}
		fmt.Fprintf(&b, "{%s %s}", ps(s.LogStreamName), c)
	}
	return b.String() + "]"
}

func ps(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *p)
}

func pi(p *int64) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}
