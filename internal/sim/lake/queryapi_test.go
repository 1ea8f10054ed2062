package lake

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
)

// The AWS SDK for Go v2's cloudtrail client is an independent client of the real API: these
// tests run CloudTrail Lake queries through it, as Cloud Exchange's documented check does.

const otherEDSChan = "arn:aws:cloudtrail:us-east-1:" + testAccount + ":channel/second"

var testEDSID = testChanID + "-eds"

// queryEnv is a service holding three events in the test channel's event data store (two
// netskopeevent.audit, one netskopealert.dlp) and one in another event data store.
func queryEnv(t *testing.T) (*Service, *cloudtrail.Client) {
	t.Helper()
	s := newTestService(t, func(o *Options) {
		o.Channels = append(o.Channels,
			Channel{ARN: otherEDSChan},
			Channel{ARN: "arn:aws:cloudtrail:us-east-1:" + otherAccount + ":channel/theirs"})
	})
	event := func(source, eventTime, principal string) string {
		m := baseEvent()
		m["eventSource"], m["eventTime"] = source, eventTime
		m["userIdentity"].(map[string]any)["principalId"] = principal
		return eventJSON(t, m)
	}
	if r := put(t, s,
		ev("a1", event("netskopeevent.audit", "2024-05-06T07:00:00Z", "alice@example.com")),
		ev("d1", event("netskopealert.dlp", "2024-05-06T07:08:09Z", "bob@example.com")),
		ev("a2", event("netskopeevent.audit", "2024-05-06T08:00:00Z", "carol@example.com")),
	); len(r.resp.Successful) != 3 {
		t.Fatalf("put: %s", r.body)
	}
	other := withCaller(s.DataHandler(), testCaller)
	if r := doPut(t, other, chanQuery(otherEDSChan), bodyOf(t, []inEvent{ev("x1", event("netskopeevent.audit", "2024-05-06T07:30:00Z", "eve@example.com"))})); len(r.resp.Successful) != 1 {
		t.Fatalf("put to the second channel: %s", r.body)
	}
	srv := httptest.NewServer(cliRouter(s))
	t.Cleanup(srv.Close)
	return s, sdkClient(srv.URL, "AKIDTEST")
}

func sdkClient(url, accessKey string) *cloudtrail.Client {
	return cloudtrail.New(cloudtrail.Options{
		Region:           testRegion,
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// runQuery starts a query and reads every page of its results, MaxQueryResults at a time.
func runQuery(t *testing.T, c *cloudtrail.Client, stmt string, pageSize int32) (string, [][]map[string]string) {
	t.Helper()
	ctx := context.Background()
	sq, err := c.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(stmt)})
	if err != nil {
		t.Fatalf("StartQuery(%s): %v", stmt, err)
	}
	var rows [][]map[string]string
	in := &cloudtrail.GetQueryResultsInput{QueryId: sq.QueryId}
	if pageSize > 0 {
		in.MaxQueryResults = aws.Int32(pageSize)
	}
	for {
		out, err := c.GetQueryResults(ctx, in)
		if err != nil {
			t.Fatalf("GetQueryResults(%s): %v", stmt, err)
		}
		if out.QueryStatus != types.QueryStatusFinished {
			t.Fatalf("QueryStatus %s", out.QueryStatus)
		}
		if got := int(aws.ToInt32(out.QueryStatistics.ResultsCount)); got != len(out.QueryResultRows) {
			t.Errorf("ResultsCount %d, %d rows in the page", got, len(out.QueryResultRows))
		}
		rows = append(rows, out.QueryResultRows...)
		if out.NextToken == nil {
			if total := int(aws.ToInt32(out.QueryStatistics.TotalResultsCount)); total != len(rows) {
				t.Errorf("TotalResultsCount %d, %d rows read", total, len(rows))
			}
			return aws.ToString(sq.QueryId), rows
		}
		in.NextToken = out.NextToken
	}
}

func TestListEventDataStoresSDK(t *testing.T) {
	_, c := queryEnv(t)
	out, err := c.ListEventDataStores(context.Background(), &cloudtrail.ListEventDataStoresInput{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range out.EventDataStores {
		got = append(got, aws.ToString(e.EventDataStoreArn)+" "+aws.ToString(e.Name))
	}
	prefix := "arn:aws:cloudtrail:us-east-1:" + testAccount + ":eventdatastore/"
	want := []string{prefix + testEDSID + " " + testEDSID, prefix + "second-eds second-eds"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event data stores %q, want %q (the caller's account only)", got, want)
	}
	page, err := c.ListEventDataStores(context.Background(), &cloudtrail.ListEventDataStoresInput{MaxResults: aws.Int32(1)})
	if err != nil || len(page.EventDataStores) != 1 || page.NextToken == nil {
		t.Fatalf("first page of 1: %+v, %v", page, err)
	}
	page, err = c.ListEventDataStores(context.Background(), &cloudtrail.ListEventDataStoresInput{MaxResults: aws.Int32(1), NextToken: page.NextToken})
	if err != nil || len(page.EventDataStores) != 1 || page.NextToken != nil || aws.ToString(page.EventDataStores[0].Name) != "second-eds" {
		t.Fatalf("second page: %+v, %v", page, err)
	}
}

func TestStartQuerySDK(t *testing.T) {
	s, c := queryEnv(t)
	data := map[string]string{}
	for _, e := range s.Query(Filter{}) {
		data[e.ID] = string(e.EventData)
	}
	eventData := func(ids ...string) [][]map[string]string {
		var out [][]map[string]string
		for _, id := range ids {
			out = append(out, []map[string]string{{"eventData": data[id]}})
		}
		return out
	}
	tests := []struct {
		name string
		stmt string
		want [][]map[string]string
	}{
		{"Cloud Exchange's check by time", "SELECT eventData FROM " + testEDSID + " WHERE eventtime >= '2024-05-06 07:05:00'",
			eventData("d1", "a2")},
		{"Cloud Exchange's check by eventSource", "SELECT eventData FROM " + testEDSID + " WHERE eventData.eventSource = 'netskopeevent.audit'",
			eventData("a1", "a2")},
		{"both, keywords in any case, RFC 3339 literal", "select eventData from " + testEDSID +
			" where eventTime < timestamp '2024-05-06T07:30:00Z' and EVENTDATA.EVENTSOURCE != 'netskopealert.dlp';",
			eventData("a1")},
		{"columns, nested member, order and limit", "SELECT eventTime, eventData.userIdentity.principalId AS who, awsRegion FROM " + testEDSID +
			" WHERE eventData.eventSource = 'netskopeevent.audit' ORDER BY eventTime DESC LIMIT 1",
			[][]map[string]string{{{"eventTime": "2024-05-06 08:00:00.000"}, {"who": "carol@example.com"}, {"awsRegion": testRegion}}}},
		{"count", "SELECT COUNT(*) FROM " + testEDSID, [][]map[string]string{{{"_col0": "3"}}}},
		{"by ARN", "SELECT eventData.eventSource FROM arn:aws:cloudtrail:us-east-1:" + testAccount + ":eventdatastore/second-eds",
			[][]map[string]string{{{"eventSource": "netskopeevent.audit"}}}},
		{"absent member matches nothing", "SELECT eventData FROM " + testEDSID + " WHERE eventData.nosuch = 'x'", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, pageSize := range []int32{0, 1} {
				_, rows := runQuery(t, c, tt.stmt, pageSize)
				if !reflect.DeepEqual(rows, tt.want) {
					t.Errorf("page size %d: rows\n%q\nwant\n%q", pageSize, rows, tt.want)
				}
			}
		})
	}
}

func TestDescribeQuerySDK(t *testing.T) {
	_, c := queryEnv(t)
	stmt := "SELECT eventData FROM " + testEDSID + " WHERE eventData.eventSource = 'netskopeevent.audit'"
	id, _ := runQuery(t, c, stmt, 0)
	out, err := c.DescribeQuery(context.Background(), &cloudtrail.DescribeQueryInput{QueryId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	st := out.QueryStatistics
	if out.QueryStatus != types.QueryStatusFinished || aws.ToString(out.QueryString) != stmt || aws.ToString(out.QueryId) != id ||
		aws.ToInt64(st.EventsMatched) != 2 || aws.ToInt64(st.EventsScanned) != 3 || aws.ToInt64(st.BytesScanned) == 0 || st.CreationTime == nil {
		b, _ := json.Marshal(out)
		t.Errorf("DescribeQuery: %s", b)
	}
}

func TestQueryErrorsSDK(t *testing.T) {
	s, c := queryEnv(t)
	ctx := context.Background()
	start := func(stmt string) error {
		_, err := c.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(stmt)})
		return err
	}
	id, _ := runQuery(t, c, "SELECT COUNT(*) FROM "+testEDSID, 0)
	srv := httptest.NewServer(cliRouter(s))
	defer srv.Close()
	docs := sdkClient(srv.URL, "AKIDDOCS") // another account

	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"not a SELECT", func() error { return start("DELETE FROM " + testEDSID) }, "InvalidQueryStatementException"},
		{"OR", func() error {
			return start("SELECT eventData FROM " + testEDSID + " WHERE eventID = 'a' OR eventID = 'b'")
		}, "InvalidQueryStatementException"},
		{"unknown column", func() error { return start("SELECT userIdentity FROM " + testEDSID) }, "InvalidQueryStatementException"},
		{"bad time", func() error {
			return start("SELECT eventData FROM " + testEDSID + " WHERE eventTime > 'yesterday'")
		}, "InvalidQueryStatementException"},
		{"unterminated string", func() error {
			return start("SELECT eventData FROM " + testEDSID + " WHERE eventID = 'a")
		}, "InvalidQueryStatementException"},
		{"unknown event data store", func() error { return start("SELECT eventData FROM 0000-nosuch") }, "EventDataStoreNotFoundException"},
		{"another account's event data store", func() error {
			_, err := docs.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT eventData FROM " + testEDSID)})
			return err
		}, "EventDataStoreNotFoundException"},
		{"S3 delivery", func() error {
			_, err := c.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT eventData FROM " + testEDSID), DeliveryS3Uri: aws.String("s3://b/p")})
			return err
		}, "UnsupportedOperationException"},
		{"unknown query id", func() error {
			_, err := c.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: aws.String("00000000-0000-4000-8000-000000000000")})
			return err
		}, "QueryIdNotFoundException"},
		{"another account's query", func() error {
			_, err := docs.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: aws.String(id)})
			return err
		}, "QueryIdNotFoundException"},
		{"MaxQueryResults out of range", func() error {
			_, err := c.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: aws.String(id), MaxQueryResults: aws.Int32(1001)})
			return err
		}, "InvalidMaxResultsException"},
		{"bad NextToken", func() error {
			_, err := c.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: aws.String(id), NextToken: aws.String("not-a-token")})
			return err
		}, "InvalidNextTokenException"},
		{"an operation cloudsim lacks", func() error {
			_, err := c.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: aws.String(id)})
			return err
		}, "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := errorCode(err); got != tt.want {
				t.Errorf("error %v (code %q), want %s", err, got, tt.want)
			}
		})
	}
	err := start("SELECT eventData FROM " + testEDSID + " WHERE eventID = 'a' OR eventID = 'b'")
	mustContain(t, err.Error(), "cloudsim runs SELECT")
}
