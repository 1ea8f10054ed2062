package lake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

func doControl(t *testing.T, h http.Handler, op, body string) (int, string, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if op != "" {
		req.Header.Set("X-Amz-Target", TargetPrefix+op)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s: %v", rec.Body.String(), err)
	}
	return rec.Code, rec.Header().Get("X-Amzn-ErrorType"), out
}

func TestGetChannel(t *testing.T) {
	const linked = "arn:aws:cloudtrail:us-east-1:" + testAccount + ":channel/linked"
	const eds = "arn:aws:cloudtrail:us-east-1:" + testAccount + ":eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
	s := New(Options{Channels: []Channel{
		{ARN: testChanARN, Name: "shipper-channel", EventDataStore: eds},
		{ARN: linked, Name: "aws-service-channel/config/abc", Source: "config.amazonaws.com", ServiceLinked: true},
		{ARN: "arn:aws:cloudtrail:us-east-1:" + otherAccount + ":channel/foreign"},
	}})
	c := testCaller
	c.Service = "cloudtrail"
	h := withCaller(s.ControlHandler(), c)

	tests := []struct {
		name   string
		body   string
		status int
		code   string
		check  func(t *testing.T, out map[string]any)
	}{
		{name: "by ARN", body: `{"Channel":"` + testChanARN + `"}`, status: 200, check: func(t *testing.T, out map[string]any) {
			want := map[string]any{
				"ChannelArn": testChanARN,
				"Name":       "shipper-channel",
				"Source":     "Custom",
				"SourceConfig": map[string]any{
					"ApplyToAllRegions": false,
					"AdvancedEventSelectors": []any{map[string]any{"FieldSelectors": []any{
						map[string]any{"Field": "eventCategory", "Equals": []any{"ActivityAuditLog"}}}}},
				},
				"Destinations":    []any{map[string]any{"Type": "EVENT_DATA_STORE", "Location": eds}},
				"IngestionStatus": map[string]any{},
			}
			gotJSON, _ := json.Marshal(out)
			wantJSON, _ := json.Marshal(want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("got  %s\nwant %s", gotJSON, wantJSON)
			}
		}},
		{name: "by UUID", body: `{"Channel":"` + testChanID + `"}`, status: 200, check: func(t *testing.T, out map[string]any) {
			if out["ChannelArn"] != testChanARN {
				t.Errorf("%v", out)
			}
		}},
		{name: "service-linked", body: `{"Channel":"` + linked + `"}`, status: 200, check: func(t *testing.T, out map[string]any) {
			d := out["Destinations"].([]any)[0].(map[string]any)
			if d["Type"] != "AWS_SERVICE" || d["Location"] != "config.amazonaws.com" || out["SourceConfig"] != nil {
				t.Errorf("%v", out)
			}
		}},
		{name: "unknown ARN", body: `{"Channel":"arn:aws:cloudtrail:us-east-1:` + testAccount + `:channel/nope"}`, status: 400, code: "ChannelNotFoundException"},
		{name: "unknown UUID", body: `{"Channel":"nope-nope"}`, status: 400, code: "ChannelNotFoundException"},
		{name: "other region", body: `{"Channel":"arn:aws:cloudtrail:eu-west-1:` + testAccount + `:channel/` + testChanID + `"}`, status: 400, code: "ChannelNotFoundException"},
		{name: "other account", body: `{"Channel":"arn:aws:cloudtrail:us-east-1:` + otherAccount + `:channel/foreign"}`, status: 400, code: "AccessDeniedException"},
		{name: "malformed ARN", body: `{"Channel":"arn:aws:cloudtrail:us-east-1:12:channel/x"}`, status: 400, code: "ChannelARNInvalidException"},
		{name: "bad characters", body: `{"Channel":"a b c"}`, status: 400, code: "ValidationException"},
		{name: "too short", body: `{"Channel":"ab"}`, status: 400, code: "ValidationException"},
		{name: "missing", body: `{}`, status: 400, code: "ValidationException"},
		{name: "empty body", body: ``, status: 400, code: "ValidationException"},
		{name: "not JSON", body: `{`, status: 400, code: "SerializationException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, code, out := doControl(t, h, "GetChannel", tc.body)
			if status != tc.status || code != tc.code {
				t.Fatalf("got %d %q, want %d %q: %v", status, code, tc.status, tc.code, out)
			}
			if tc.check != nil {
				tc.check(t, out)
			}
			if tc.code == "AccessDeniedException" {
				mustContain(t, out["message"].(string), "is not authorized to perform: cloudtrail:GetChannel")
			}
		})
	}
}

func TestGetChannelIngestionStatus(t *testing.T) {
	s := newTestService(t, nil)
	res := put(t, s, ev("a", validEventData(t)), ev("b", "{}"))
	_, _, out := doControl(t, withCaller(s.ControlHandler(), testCaller), "GetChannel", `{"Channel":"`+testChanARN+`"}`)
	ing := out["IngestionStatus"].(map[string]any)
	if ing["LatestIngestionSuccessEventID"] != res.resp.Successful[0].EventID ||
		ing["LatestIngestionAttemptEventID"] != res.resp.Successful[0].EventID ||
		ing["LatestIngestionErrorCode"] != CodeFieldNotFound {
		t.Errorf("%v", ing)
	}
	for _, k := range []string{"LatestIngestionSuccessTime", "LatestIngestionAttemptTime"} {
		if v, ok := ing[k].(float64); !ok || v < 1e9 {
			t.Errorf("%s = %v, want epoch seconds", k, ing[k])
		}
	}
}

func TestListChannels(t *testing.T) {
	var chans []Channel
	for _, id := range []string{"c", "a", "b"} {
		chans = append(chans, Channel{ARN: "arn:aws:cloudtrail:us-east-1:" + testAccount + ":channel/" + id})
	}
	chans = append(chans,
		Channel{ARN: "arn:aws:cloudtrail:eu-west-1:" + testAccount + ":channel/elsewhere"},
		Channel{ARN: "arn:aws:cloudtrail:us-east-1:" + otherAccount + ":channel/theirs"})
	s := New(Options{Channels: chans})
	h := withCaller(s.ControlHandler(), testCaller)

	status, _, out := doControl(t, h, "ListChannels", `{}`)
	if status != 200 || len(out["Channels"].([]any)) != 3 || out["NextToken"] != nil {
		t.Fatalf("%d %v", status, out)
	}
	var names []string
	token := ""
	for page := 0; page < 5; page++ {
		body := `{"MaxResults":2}`
		if token != "" {
			body = `{"MaxResults":2,"NextToken":"` + token + `"}`
		}
		status, _, out := doControl(t, h, "ListChannels", body)
		if status != 200 {
			t.Fatalf("%v", out)
		}
		for _, c := range out["Channels"].([]any) {
			names = append(names, c.(map[string]any)["Name"].(string))
		}
		tok, _ := out["NextToken"].(string)
		if tok == "" {
			break
		}
		token = tok
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Errorf("pages gave %v", names)
	}
	if status, code, _ := doControl(t, h, "ListChannels", `{"NextToken":"garbage!"}`); status != 400 || code != "InvalidNextTokenException" {
		t.Errorf("%d %s", status, code)
	}
	if status, code, _ := doControl(t, h, "ListChannels", `{"MaxResults":0}`); status != 400 || code != "ValidationException" {
		t.Errorf("%d %s", status, code)
	}
}

func TestControlHandlerErrors(t *testing.T) {
	s := newTestService(t, nil)
	if status, code, _ := doControl(t, s.ControlHandler(), "GetChannel", `{"Channel":"`+testChanARN+`"}`); status != 403 || code != "MissingAuthenticationTokenException" {
		t.Errorf("no caller: %d %s", status, code)
	}
	h := withCaller(s.ControlHandler(), awssim.Caller{AccountID: testAccount, Region: testRegion})
	if status, code, _ := doControl(t, h, "", `{}`); status != 400 || code != "UnknownOperationException" {
		t.Errorf("no target: %d %s", status, code)
	}
	if status, code, _ := doControl(t, h, "CreateChannel", `{}`); status != 400 || code != "UnknownOperationException" {
		t.Errorf("unimplemented: %d %s", status, code)
	}
}
