package lake

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestPutAuditEventsSuccess(t *testing.T) {
	s := newTestService(t, nil)
	data := validEventData(t)
	res := put(t, s, ev("evt-1", data), inEvent{ID: "evt_2", EventData: data, EventDataChecksum: strp(checksum(data))})
	if res.status != 200 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	if len(res.resp.Successful) != 2 || len(res.resp.Failed) != 0 {
		t.Fatalf("response %s", res.body)
	}
	for i, want := range []string{"evt-1", "evt_2"} {
		if got := res.resp.Successful[i]; got.ID != want || !uuidRe.MatchString(got.EventID) {
			t.Errorf("successful[%d] = %+v", i, got)
		}
	}
	if res.resp.Successful[0].EventID == res.resp.Successful[1].EventID {
		t.Error("eventIDs are not unique")
	}
	if !strings.Contains(res.body, `"failed":[]`) {
		t.Errorf("failed must be present and empty: %s", res.body)
	}
	got := s.Query(Filter{})
	if len(got) != 2 {
		t.Fatalf("stored %d events", len(got))
	}
	e := got[0]
	if e.ID != "evt-1" || e.EventID != res.resp.Successful[0].EventID || e.ChannelARN != testChanARN ||
		e.Account != testAccount || e.Region != testRegion || e.CallerAccount != testAccount ||
		e.EventSource != "netskopealert.dlp" || e.EventName != "dlp" ||
		!e.EventTime.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) || e.ReceivedAt.IsZero() ||
		string(e.EventData) != data || e.Duplicate {
		t.Errorf("stored %+v", e)
	}
}

func TestPutAuditEventsAWSDocsExample(t *testing.T) {
	const arn = "arn:aws:cloudtrail:us-east-1:152089810396:channel/01234567890"
	s := New(Options{Channels: []Channel{{ARN: arn}}})
	c := testCaller
	c.AccountID = "152089810396"
	res := doPut(t, withCaller(s.DataHandler(), c), chanQuery(arn),
		string(readTestdata(t, "query-lake-cli__block11__put-audit-events-custom-events.json")))
	if res.status != 200 || len(res.resp.Successful) != 1 || res.resp.Successful[0].ID != "1" {
		t.Fatalf("%d %s", res.status, res.body)
	}
}

func TestPutAuditEventsPartialSuccess(t *testing.T) {
	s := newTestService(t, nil)
	good := validEventData(t)
	noVersion := baseEvent()
	delete(noVersion, "version")
	wrongRecipient := baseEvent()
	wrongRecipient["recipientAccountId"] = otherAccount
	res := put(t, s,
		ev("a", good),
		ev("b", eventJSON(t, noVersion)),
		inEvent{ID: "c", EventData: good, EventDataChecksum: strp(checksum(good + " "))},
		ev("d", "not json"),
		ev("e", eventJSON(t, wrongRecipient)),
		ev("f", good),
	)
	if res.status != 200 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var okIDs []string
	for _, s := range res.resp.Successful {
		okIDs = append(okIDs, s.ID)
	}
	if strings.Join(okIDs, ",") != "a,f" {
		t.Errorf("successful %v", okIDs)
	}
	var failed []string
	for _, f := range res.resp.Failed {
		if f.ErrorMessage == "" {
			t.Errorf("%s has no message", f.ID)
		}
		failed = append(failed, f.ID+"="+f.ErrorCode)
	}
	want := "b=FieldNotFound,c=InvalidChecksum,d=InvalidData,e=InvalidRecipient"
	if strings.Join(failed, ",") != want {
		t.Errorf("failed %v, want %s", failed, want)
	}
	st := s.Stats()
	if st.Total != 2 || st.Failed[CodeFieldNotFound] != 1 || st.Failed[CodeInvalidChecksum] != 1 || st.ByEventSource["netskopealert.dlp"] != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestPutAuditEventsChecksum(t *testing.T) {
	data := validEventData(t)
	tests := []struct {
		name     string
		checksum *string
		code     string
	}{
		{"absent", nil, ""},
		{"right", strp(checksum(data)), ""},
		{"wrong", strp(checksum(data + "x")), CodeInvalidChecksum},
		{"hex instead of base64", strp(fmt.Sprintf("%x", checksum(data))), CodeInvalidChecksum},
		{"empty", strp(""), CodeInvalidChecksum},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestService(t, nil)
			res := put(t, s, inEvent{ID: "x", EventData: data, EventDataChecksum: tc.checksum})
			code := ""
			if len(res.resp.Failed) == 1 {
				code = res.resp.Failed[0].ErrorCode
			}
			if res.status != 200 || code != tc.code {
				t.Errorf("status %d code %q, want %q: %s", res.status, code, tc.code, res.body)
			}
		})
	}
}

// The checksum covers the eventData bytes as decoded from the request, including non-ASCII
// characters sent as \u escapes.
func TestPutAuditEventsChecksumUnicode(t *testing.T) {
	s := newTestService(t, nil)
	m := baseEvent()
	m["eventName"] = "téléchargement 😀"
	data := eventJSON(t, m)
	res := put(t, s, inEvent{ID: "u", EventData: data, EventDataChecksum: strp(checksum(data))})
	if len(res.resp.Successful) != 1 {
		t.Fatalf("%s", res.body)
	}
	if got := s.Query(Filter{})[0].EventName; got != "téléchargement 😀" {
		t.Errorf("eventName %q", got)
	}
}

func TestPutAuditEventsCallErrors(t *testing.T) {
	data := validEventData(t)
	one := func(t testing.TB) string { return bodyOf(t, []inEvent{ev("a", data)}) }
	n := func(k int) func(t testing.TB) string {
		return func(t testing.TB) string {
			evs := make([]inEvent, k)
			for i := range evs {
				evs[i] = ev(fmt.Sprintf("id%d", i), data)
			}
			return bodyOf(t, evs)
		}
	}
	const partnerChan = "arn:aws:cloudtrail:us-east-1:" + otherAccount + ":channel/partner"
	const foreignChan = "arn:aws:cloudtrail:us-east-1:" + otherAccount + ":channel/foreign"
	tests := []struct {
		name    string
		method  string
		path    string
		caller  *awssim.Caller
		query   url.Values
		body    func(testing.TB) string
		rawBody string
		status  int
		code    string
		msg     string
	}{
		{name: "ok", query: chanQuery(testChanARN), body: one, status: 200},
		{name: "ok by channel id", query: chanQuery(testChanID), body: one, status: 200},
		{name: "no caller", caller: &awssim.Caller{}, query: chanQuery(testChanARN), body: one, status: 403, code: "MissingAuthenticationTokenException"},
		{name: "wrong path", path: "/PutEvents", query: chanQuery(testChanARN), body: one, status: 404, code: "UnknownOperationException"},
		{name: "GET", method: http.MethodGet, query: chanQuery(testChanARN), body: one, status: 404, code: "UnknownOperationException"},
		{name: "channelArn missing", query: url.Values{}, body: one, status: 400, code: "ValidationException", msg: "channelArn"},
		{name: "malformed ARN: short account", query: chanQuery("arn:aws:cloudtrail:us-east-1:1234:channel/x"), body: one, status: 400, code: ErrInvalidChannelARN},
		{name: "malformed ARN: service", query: chanQuery("arn:aws:logs:us-east-1:" + testAccount + ":channel/x"), body: one, status: 400, code: ErrInvalidChannelARN},
		{name: "malformed ARN: resource", query: chanQuery("arn:aws:cloudtrail:us-east-1:" + testAccount + ":trail/x"), body: one, status: 400, code: ErrInvalidChannelARN},
		{name: "malformed ARN: region", query: chanQuery("arn:aws:cloudtrail:useast1:" + testAccount + ":channel/x"), body: one, status: 400, code: ErrInvalidChannelARN},
		{name: "malformed id", query: chanQuery("not a channel"), body: one, status: 400, code: ErrInvalidChannelARN},
		{name: "unknown channel", query: chanQuery("arn:aws:cloudtrail:us-east-1:" + testAccount + ":channel/nope"), body: one, status: 400, code: ErrChannelNotFound},
		{name: "unknown channel id", query: chanQuery("nope"), body: one, status: 400, code: ErrChannelNotFound},
		{name: "channel in another region", query: chanQuery("arn:aws:cloudtrail:eu-west-1:" + testAccount + ":channel/" + testChanID), body: one, status: 400, code: ErrChannelNotFound},
		{name: "caller signs another region", caller: &awssim.Caller{AccountID: testAccount, Region: "eu-west-1"}, query: chanQuery(testChanARN), body: one, status: 400, code: ErrChannelNotFound},
		{name: "another account's channel", query: chanQuery(foreignChan), body: one, status: 400, code: ErrChannelInsufficientPermission},
		{name: "another account's missing channel", query: chanQuery("arn:aws:cloudtrail:us-east-1:" + otherAccount + ":channel/none"), body: one, status: 400, code: ErrChannelInsufficientPermission},
		{name: "partner channel without external id", query: chanQuery(partnerChan), body: one, status: 400, code: ErrChannelInsufficientPermission, msg: "external ID"},
		{name: "partner channel wrong external id", query: url.Values{"channelArn": {partnerChan}, "externalId": {"wrong-id"}}, body: one, status: 400, code: ErrChannelInsufficientPermission},
		{name: "external id malformed", query: url.Values{"channelArn": {partnerChan}, "externalId": {"x"}}, body: one, status: 400, code: "ValidationException"},
		{name: "external id bad chars", query: url.Values{"channelArn": {partnerChan}, "externalId": {"a b"}}, body: one, status: 400, code: "ValidationException"},
		{name: "service-linked channel", query: chanQuery("arn:aws:cloudtrail:us-east-1:" + testAccount + ":channel/aws-service-channel"), body: one, status: 400, code: ErrChannelUnsupportedSchema},
		{name: "unsupported region", caller: &awssim.Caller{AccountID: testAccount, Region: "ap-east-2"}, query: chanQuery("arn:aws:cloudtrail:ap-east-2:" + testAccount + ":channel/x"), body: one, status: 400, code: ErrUnsupportedOperation},
		{name: "not JSON", query: chanQuery(testChanARN), rawBody: `{"auditEvents":`, status: 400, code: "SerializationException"},
		{name: "not an object", query: chanQuery(testChanARN), rawBody: `[]`, status: 400, code: "SerializationException"},
		{name: "auditEvents not a list", query: chanQuery(testChanARN), rawBody: `{"auditEvents":{}}`, status: 400, code: "SerializationException"},
		{name: "id not a string", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[{"id":1,"eventData":"{}"}]}`, status: 400, code: "SerializationException"},
		{name: "auditEvents missing", query: chanQuery(testChanARN), rawBody: `{}`, status: 400, code: "ValidationException", msg: "auditEvents"},
		{name: "auditEvents null", query: chanQuery(testChanARN), rawBody: `{"auditEvents":null}`, status: 400, code: "ValidationException"},
		{name: "no events", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[]}`, status: 400, code: "ValidationException"},
		{name: "100 events", query: chanQuery(testChanARN), body: n(100), status: 200},
		{name: "101 events", query: chanQuery(testChanARN), body: n(101), status: 400, code: "ValidationException"},
		{name: "over 1 MB", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[{"id":"a","eventData":"` + strings.Repeat("x", 1<<20) + `"}]}`, status: 400, code: "ValidationException", msg: "1048576"},
		{name: "id missing", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[{"eventData":"{}"}]}`, status: 400, code: "ValidationException", msg: "auditEvents.1.member.id"},
		{name: "id empty", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[{"id":"","eventData":"{}"}]}`, status: 400, code: "ValidationException"},
		{name: "id bad chars", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[{"id":"a.b","eventData":"{}"}]}`, status: 400, code: "ValidationException"},
		{name: "id 128", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[{"id":"` + strings.Repeat("a", 128) + `","eventData":"{}"}]}`, status: 200},
		{name: "id 129", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[{"id":"` + strings.Repeat("a", 129) + `","eventData":"{}"}]}`, status: 400, code: "ValidationException"},
		{name: "eventData missing", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[{"id":"a"}]}`, status: 400, code: "ValidationException", msg: "eventData"},
		{name: "event null", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[null]}`, status: 400, code: "ValidationException"},
		{name: "duplicate ids", query: chanQuery(testChanARN), rawBody: `{"auditEvents":[{"id":"a","eventData":"{}"},{"id":"b","eventData":"{}"},{"id":"a","eventData":"{}"}]}`, status: 400, code: ErrDuplicatedAuditEventID, msg: "a"},
		{name: "unknown members ignored", query: chanQuery(testChanARN), rawBody: `{"x":1,"auditEvents":[{"id":"a","eventData":"{}","y":[1]}]}`, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{
				Channels: []Channel{
					{ARN: testChanARN},
					{ARN: partnerChan, ExternalID: "secret-42", AllowedAccounts: []string{testAccount}},
					{ARN: foreignChan},
					{ARN: "arn:aws:cloudtrail:us-east-1:" + testAccount + ":channel/aws-service-channel", ServiceLinked: true, Source: "aws-service"},
					{ARN: "arn:aws:cloudtrail:ap-east-2:" + testAccount + ":channel/x"},
				},
				UnsupportedRegions: []string{"ap-east-2"},
			})
			var h http.Handler = s.DataHandler()
			switch {
			case tc.caller == nil:
				h = withCaller(h, testCaller)
			case tc.caller.AccountID != "":
				h = withCaller(h, *tc.caller)
			}
			body := tc.rawBody
			if tc.body != nil {
				body = tc.body(t)
			}
			method, path := http.MethodPost, "/PutAuditEvents"
			if tc.method != "" {
				method = tc.method
			}
			if tc.path != "" {
				path = tc.path
			}
			req := httptest.NewRequest(method, path+"?"+tc.query.Encode(), strings.NewReader(body))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			code := rec.Header().Get("X-Amzn-ErrorType")
			if rec.Code != tc.status || code != tc.code {
				t.Fatalf("got %d %q, want %d %q: %s", rec.Code, code, tc.status, tc.code, rec.Body.String())
			}
			if tc.msg != "" {
				mustContain(t, rec.Body.String(), tc.msg)
			}
			if tc.status != 200 {
				if n := s.Stats().Total; n != 0 {
					t.Errorf("a failed call stored %d events", n)
				}
				if tc.code != "MissingAuthenticationTokenException" && tc.code != "UnknownOperationException" && s.Stats().CallErrors[tc.code] != 1 {
					t.Errorf("callErrors %v", s.Stats().CallErrors)
				}
			}
		})
	}
}

func TestPutAuditEventsPartnerAccount(t *testing.T) {
	const partnerChan = "arn:aws:cloudtrail:us-east-1:" + otherAccount + ":channel/partner"
	s := New(Options{Channels: []Channel{{ARN: partnerChan, ExternalID: "secret-42", AllowedAccounts: []string{testAccount}}}})
	h := withCaller(s.DataHandler(), testCaller)
	q := url.Values{"channelArn": {partnerChan}, "externalId": {"secret-42"}}
	mine := validEventData(t) // recipientAccountId = the caller's account, not the owner's
	owner := baseEvent()
	owner["recipientAccountId"] = otherAccount
	res := doPut(t, h, q, bodyOf(t, []inEvent{ev("mine", mine), ev("owner", eventJSON(t, owner))}))
	if res.status != 200 || len(res.resp.Successful) != 1 || res.resp.Successful[0].ID != "owner" ||
		len(res.resp.Failed) != 1 || res.resp.Failed[0].ErrorCode != CodeInvalidRecipient {
		t.Fatalf("%d %s", res.status, res.body)
	}
	e := s.Query(Filter{})[0]
	if e.Account != otherAccount || e.CallerAccount != testAccount {
		t.Errorf("stored %+v", e)
	}
}

func TestPutAuditEventsPerEventChannelRules(t *testing.T) {
	s := New(Options{
		Channels:              []Channel{{ARN: testChanARN, EventSources: []string{"netskopeevent.audit"}}},
		NotSubscribedAccounts: []string{},
	})
	res := put(t, s, ev("a", validEventData(t)))
	if len(res.resp.Failed) != 1 || res.resp.Failed[0].ErrorCode != CodeInvalidEventSource {
		t.Errorf("%s", res.body)
	}
	s = New(Options{Channels: []Channel{{ARN: testChanARN}}, NotSubscribedAccounts: []string{testAccount}})
	res = put(t, s, ev("a", validEventData(t)), ev("b", "{}"))
	if len(res.resp.Failed) != 2 || res.resp.Failed[0].ErrorCode != CodeAccountNotSubscribed || res.resp.Failed[1].ErrorCode != CodeFieldNotFound {
		t.Errorf("%s", res.body)
	}
	s = New(Options{Channels: []Channel{{ARN: testChanARN}}, RejectUnknownFields: true, StrictSourceIP: true})
	m := baseEvent()
	m["sourceIPAddress"] = "gateway"
	res = put(t, s, ev("a", eventJSON(t, m)))
	if len(res.resp.Failed) != 1 || res.resp.Failed[0].ErrorCode != CodeInvalidData {
		t.Errorf("%s", res.body)
	}
}

func TestPutAuditEventsResentIDs(t *testing.T) {
	data := validEventData(t)
	m := baseEvent()
	m["eventName"] = "changed"
	changed := eventJSON(t, m)
	tests := []struct {
		mode       DuplicateMode
		wantStored int
	}{
		{DuplicateDedupe, 2},
		{DuplicateStore, 4},
		{DuplicateReject, 2},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			s := newTestService(t, func(o *Options) { o.DuplicateMode = tc.mode })
			first := put(t, s, ev("a", data), ev("b", data))
			second := put(t, s, ev("a", data), ev("b", changed), ev("c", data))
			if first.status != 200 || second.status != 200 {
				t.Fatalf("%s / %s", first.body, second.body)
			}
			switch tc.mode {
			case DuplicateDedupe:
				if len(second.resp.Successful) != 3 || second.resp.Successful[0].EventID != first.resp.Successful[0].EventID ||
					second.resp.Successful[1].EventID != first.resp.Successful[1].EventID {
					t.Errorf("dedupe: %s then %s", first.body, second.body)
				}
				if got := s.Query(Filter{ID: "b"}); len(got) != 1 || got[0].EventName != "dlp" {
					t.Errorf("dedupe kept %+v", got)
				}
			case DuplicateStore:
				if len(second.resp.Successful) != 3 || second.resp.Successful[0].EventID == first.resp.Successful[0].EventID {
					t.Errorf("store-duplicate: %s then %s", first.body, second.body)
				}
				got := s.Query(Filter{ID: "a"})
				if len(got) != 2 || got[0].Duplicate || !got[1].Duplicate {
					t.Errorf("store-duplicate stored %+v", got)
				}
			case DuplicateReject:
				if len(second.resp.Successful) != 1 || second.resp.Successful[0].ID != "c" || len(second.resp.Failed) != 2 ||
					second.resp.Failed[0].ErrorCode != CodeInvalidData || !strings.Contains(second.resp.Failed[0].ErrorMessage, first.resp.Successful[0].EventID) {
					t.Errorf("reject: %s", second.body)
				}
			}
			st := s.Stats()
			if st.Total != int64(tc.wantStored+1) || len(s.Query(Filter{})) != tc.wantStored+1 {
				t.Errorf("stored %d, want %d", st.Total, tc.wantStored+1)
			}
			if st.Duplicates != 2 || st.DuplicateConflicts != 1 {
				t.Errorf("duplicates %d conflicts %d", st.Duplicates, st.DuplicateConflicts)
			}
		})
	}
}

// Ids are remembered per channel: the same id on another channel is a new event.
func TestPutAuditEventsIDsPerChannel(t *testing.T) {
	const second = "arn:aws:cloudtrail:us-east-1:" + testAccount + ":channel/second"
	s := New(Options{Channels: []Channel{{ARN: testChanARN}, {ARN: second}}})
	h := withCaller(s.DataHandler(), testCaller)
	body := bodyOf(t, []inEvent{ev("a", validEventData(t))})
	r1 := doPut(t, h, chanQuery(testChanARN), body)
	r2 := doPut(t, h, chanQuery(second), body)
	if r1.resp.Successful[0].EventID == r2.resp.Successful[0].EventID || s.Stats().Total != 2 || s.Stats().Duplicates != 0 {
		t.Errorf("%s %s %+v", r1.body, r2.body, s.Stats())
	}
}

// A failed event's id is not remembered: resending it after a fix ingests it.
func TestPutAuditEventsFailedIDNotRemembered(t *testing.T) {
	s := newTestService(t, func(o *Options) { o.DuplicateMode = DuplicateReject })
	put(t, s, ev("a", "{}"))
	res := put(t, s, ev("a", validEventData(t)))
	if len(res.resp.Successful) != 1 || s.Stats().Duplicates != 0 {
		t.Errorf("%s", res.body)
	}
}

func TestPutAuditEventsInjectedEventFaults(t *testing.T) {
	data := validEventData(t)
	evs := make([]inEvent, 100)
	for i := range evs {
		evs[i] = ev(fmt.Sprintf("e%d", i), data)
	}
	tests := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, res callResult)
	}{
		{"all throttled", Faults{EventThrottleRate: 1}, func(t *testing.T, res callResult) {
			if len(res.resp.Failed) != 100 || res.resp.Failed[0].ErrorCode != CodeThrottling {
				t.Errorf("%s", res.body)
			}
		}},
		{"all internal failures", Faults{EventInternalFailureRate: 1}, func(t *testing.T, res callResult) {
			if len(res.resp.Failed) != 100 || res.resp.Failed[99].ErrorCode != CodeInternalFailure {
				t.Errorf("%s", res.body)
			}
		}},
		{"mixed", Faults{EventThrottleRate: 0.2, EventInternalFailureRate: 0.2}, func(t *testing.T, res callResult) {
			n := map[string]int{}
			for _, f := range res.resp.Failed {
				n[f.ErrorCode]++
			}
			if n[CodeThrottling] < 5 || n[CodeInternalFailure] < 5 || len(res.resp.Successful) < 30 {
				t.Errorf("mixed faults: %v, %d successful", n, len(res.resp.Successful))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestService(t, func(o *Options) { o.Faults = tc.faults })
			res := put(t, s, evs...)
			if res.status != 200 {
				t.Fatalf("%d %s", res.status, res.body)
			}
			tc.check(t, res)
			if int(s.Stats().Total) != len(res.resp.Successful) {
				t.Errorf("stored %d, successful %d", s.Stats().Total, len(res.resp.Successful))
			}
			// Invalid events keep their own error, whatever the faults.
			res = put(t, s, ev("bad", "{}"))
			if res.resp.Failed[0].ErrorCode != CodeFieldNotFound {
				t.Errorf("%s", res.body)
			}
			// A throttled event sent again once the faults stop is ingested.
			s.SetFaults(Faults{})
			res = put(t, s, evs...)
			if len(res.resp.Successful) != 100 {
				t.Errorf("after faults: %s", res.body)
			}
		})
	}
}

func TestPutAuditEventsInjectedCallFaults(t *testing.T) {
	s := newTestService(t, func(o *Options) { o.Faults = Faults{CallThrottleRate: 1} })
	res := put(t, s, ev("a", validEventData(t)))
	if res.status != 400 || res.code != "ThrottlingException" {
		t.Errorf("%d %s", res.status, res.body)
	}
	s.SetFaults(Faults{CallServerErrorRate: 1})
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		res := put(t, s, ev("a", validEventData(t)))
		seen[fmt.Sprintf("%d %s", res.status, res.code)] = true
	}
	if !seen["500 InternalFailure"] || !seen["503 ServiceUnavailable"] || len(seen) != 2 {
		t.Errorf("server errors seen: %v", seen)
	}
	if s.Stats().Total != 0 || s.Stats().CallErrors["ThrottlingException"] != 1 {
		t.Errorf("%+v", s.Stats())
	}
	s.SetFaults(Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	if res := put(t, s, ev("a", validEventData(t))); res.status != 200 {
		t.Errorf("%s", res.body)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("latency %v", d)
	}
}

// Quota tests assert only what does not depend on the machine's speed: a full bucket admits a
// burst, and calls made faster than the refill rate are throttled.
func TestPutAuditEventsQuota(t *testing.T) {
	const otherChan = "arn:aws:cloudtrail:us-east-1:" + otherAccount + ":channel/o"
	s := New(Options{Channels: []Channel{{ARN: testChanARN}, {ARN: otherChan}}, CallsPerSecond: 3})
	start := time.Now()
	var got []string
	for i := 0; i < 6; i++ {
		res := put(t, s, ev(fmt.Sprintf("a%d", i), validEventData(t)))
		got = append(got, fmt.Sprintf("%d %s", res.status, res.code))
	}
	if strings.Join(got[:3], ",") != "200 ,200 ,200 " {
		t.Errorf("burst: %v", got)
	}
	if time.Since(start) < 300*time.Millisecond && got[5] != "400 ThrottlingException" {
		t.Errorf("not throttled: %v", got)
	}
	// Another account has its own bucket.
	c := testCaller
	c.AccountID = otherAccount
	m := baseEvent()
	m["recipientAccountId"] = otherAccount
	if res := doPut(t, withCaller(s.DataHandler(), c), chanQuery("o"), bodyOf(t, []inEvent{ev("a", eventJSON(t, m))})); res.status != 200 {
		t.Errorf("other account: %s", res.body)
	}
}

func TestPutAuditEventsDefaultQuotaIs100(t *testing.T) {
	s := newTestService(t, nil)
	h := withCaller(s.DataHandler(), testCaller)
	body := bodyOf(t, []inEvent{ev("a", validEventData(t))})
	start := time.Now()
	throttled := 0
	for i := 0; i < 150; i++ {
		res := doPut(t, h, chanQuery(testChanARN), body)
		if res.code == "ThrottlingException" {
			if i < 100 {
				t.Fatalf("call %d throttled within the burst of 100", i)
			}
			throttled++
		}
	}
	if elapsed := time.Since(start); elapsed < 200*time.Millisecond && throttled == 0 {
		t.Errorf("150 calls in %v, none throttled", elapsed)
	}
	if throttled > 50 {
		t.Errorf("%d throttled; at most 50 should be", throttled)
	}
}

func TestPutAuditEventsConcurrent(t *testing.T) {
	var out bytes.Buffer
	s := newTestService(t, func(o *Options) { o.CallsPerSecond = -1; o.NDJSON = &out })
	h := withCaller(s.DataHandler(), testCaller)
	data := validEventData(t)
	var wg sync.WaitGroup
	const workers, calls, per = 8, 20, 10
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := 0; c < calls; c++ {
				evs := make([]inEvent, per)
				for i := range evs {
					// Workers overlap on half the ids, so that dedupe races are exercised.
					evs[i] = ev(fmt.Sprintf("w%d-c%d-e%d", w%(workers/2), c, i), data)
				}
				if res := doPut(t, h, chanQuery(testChanARN), bodyOf(t, evs)); res.status != 200 || len(res.resp.Successful) != per {
					t.Errorf("%s", res.body)
				}
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	want := int64(workers / 2 * calls * per)
	if st.Total != want || st.Duplicates != want || st.Calls != workers*calls {
		t.Errorf("stats %+v, want %d stored and %d duplicates", st, want, want)
	}
	lines := 0
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e StoredEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("NDJSON line %q: %v", sc.Text(), err)
		}
		lines++
	}
	if int64(lines) != want {
		t.Errorf("NDJSON has %d lines, want %d", lines, want)
	}
}

func TestPutAuditEventsNDJSON(t *testing.T) {
	var out bytes.Buffer
	s := newTestService(t, func(o *Options) { o.NDJSON = &out })
	pretty, _ := json.MarshalIndent(baseEvent(), "", "  ")
	res := put(t, s, ev("a", validEventData(t)), ev("b", string(pretty)))
	if len(res.resp.Successful) != 2 {
		t.Fatalf("%s", res.body)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("NDJSON %q", out.String())
	}
	for i, l := range lines {
		var e StoredEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if e.ID != []string{"a", "b"}[i] || e.EventID != res.resp.Successful[i].EventID || e.EventSource != "netskopealert.dlp" ||
			compact(t, string(e.EventData)) != validEventData(t) {
			t.Errorf("line %d: %+v %s", i, e, e.EventData)
		}
	}
}

func TestPutAuditEventsMaxStored(t *testing.T) {
	s := newTestService(t, func(o *Options) { o.MaxStoredEvents = 8; o.CallsPerSecond = -1 })
	data := validEventData(t)
	for i := 0; i < 30; i++ {
		put(t, s, ev(fmt.Sprintf("e%d", i), data))
	}
	st := s.Stats()
	got := s.Query(Filter{})
	if st.Total != 30 || len(got) > 8 || st.InMemory != len(got) || st.Evicted != int64(30-len(got)) || got[len(got)-1].ID != "e29" {
		t.Errorf("stats %+v, kept %d", st, len(got))
	}
	// Evicted ids are still deduplicated.
	res := put(t, s, ev("e0", data))
	if s.Stats().Duplicates != 1 || len(res.resp.Successful) != 1 {
		t.Errorf("%s %+v", res.body, s.Stats())
	}
}

func TestIngestionStatusAndReset(t *testing.T) {
	s := newTestService(t, nil)
	put(t, s, ev("a", validEventData(t)), ev("b", "{}"))
	s.mu.RLock()
	ing := s.channels[testChanARN].ingest
	s.mu.RUnlock()
	if ing.successEventID == "" || ing.errorCode != CodeFieldNotFound || ing.attemptTime.IsZero() {
		t.Errorf("ingestion status %+v", ing)
	}
	s.Reset()
	if st := s.Stats(); st.Total != 0 || st.InMemory != 0 || len(st.Failed) != 0 {
		t.Errorf("after reset %+v", st)
	}
	res := put(t, s, ev("a", validEventData(t)))
	if len(res.resp.Successful) != 1 || s.Stats().Duplicates != 0 {
		t.Errorf("after reset: %s", res.body)
	}
}

func TestNewPanicsOnBadChannel(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	New(Options{Channels: []Channel{{ARN: "arn:aws:cloudtrail:us-east-1:1:channel/x"}}})
}

func TestAddChannelAndParse(t *testing.T) {
	s := New(Options{})
	if err := s.AddChannel(Channel{ARN: "bad"}); err == nil {
		t.Error("bad ARN accepted")
	}
	if err := s.AddChannel(Channel{ARN: testChanARN, AllowedAccounts: []string{"12"}}); err == nil {
		t.Error("bad allowed account accepted")
	}
	if err := s.AddChannel(Channel{ARN: testChanARN}); err != nil {
		t.Fatal(err)
	}
	chs := s.Channels()
	if len(chs) != 1 || chs[0].Name != testChanID || chs[0].Source != "Custom" ||
		chs[0].EventDataStore != "arn:aws:cloudtrail:us-east-1:"+testAccount+":eventdatastore/"+testChanID+"-eds" {
		t.Errorf("%+v", chs)
	}
	p, r, a, id, err := ParseChannelARN("arn:aws-cn:cloudtrail:cn-north-1:" + testAccount + ":channel/abc")
	if err != nil || p != "aws-cn" || r != "cn-north-1" || a != testAccount || id != "abc" {
		t.Errorf("%s %s %s %s %v", p, r, a, id, err)
	}
	if _, err := ParseDuplicateMode("nope"); err == nil {
		t.Error("bad mode accepted")
	}
	if err := s.SetDuplicateMode("nope"); err == nil {
		t.Error("bad mode set")
	}
}
