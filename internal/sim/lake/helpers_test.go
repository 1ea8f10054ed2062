package lake

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

const (
	testAccount  = "111122223333"
	otherAccount = "444455556666"
	testRegion   = "us-east-1"
	testChanID   = "0123abcd-0000-4000-8000-00000000c0de"
)

var (
	testChanARN = "arn:aws:cloudtrail:us-east-1:" + testAccount + ":channel/" + testChanID
	testCaller  = awssim.Caller{AccessKeyID: "AKIDTEST", AccountID: testAccount, Region: testRegion,
		Service: "cloudtrail-data", ARN: "arn:aws:iam::" + testAccount + ":user/shipper"}
)

// withCaller plays the router: it puts c in the request context, ignoring any signature.
func withCaller(h http.Handler, c awssim.Caller) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(awssim.WithCaller(r.Context(), c)))
	})
}

func newTestService(t testing.TB, mod func(*Options)) *Service {
	t.Helper()
	opts := Options{
		Channels: []Channel{{ARN: testChanARN, Name: "shipper-channel"}},
		Seed:     1,
	}
	if mod != nil {
		mod(&opts)
	}
	return New(opts)
}

// baseEvent returns a valid eventData as a map, for tests to modify.
func baseEvent() map[string]any {
	return map[string]any{
		"version": "1.0",
		"userIdentity": map[string]any{
			"type":        "CustomUserIdentity",
			"principalId": "alice@example.com",
			"details":     map[string]any{"tenant": "acme"},
		},
		"userAgent":           "netskope-log-shipper",
		"eventSource":         "netskopealert.dlp",
		"eventName":           "dlp",
		"eventTime":           "2024-05-06T07:08:09Z",
		"UID":                 "f00d",
		"requestParameters":   map[string]any{"app": "Box"},
		"responseElements":    map[string]any{"action": "block"},
		"errorCode":           "",
		"sourceIPAddress":     "10.1.2.3",
		"recipientAccountId":  testAccount,
		"additionalEventData": map[string]any{"severity": "high"},
	}
}

func eventJSON(t testing.TB, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func validEventData(t testing.TB) string { return eventJSON(t, baseEvent()) }

func checksum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

type inEvent struct {
	ID                string  `json:"id,omitempty"`
	EventData         string  `json:"eventData"`
	EventDataChecksum *string `json:"eventDataChecksum,omitempty"`
}

type putResponse struct {
	Successful []struct {
		ID      string `json:"id"`
		EventID string `json:"eventID"`
	} `json:"successful"`
	Failed []struct {
		ID           string `json:"id"`
		ErrorCode    string `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	} `json:"failed"`
}

type callResult struct {
	status int
	code   string // X-Amzn-ErrorType
	msg    string
	resp   putResponse
	body   string
}

func bodyOf(t testing.TB, evs []inEvent) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"auditEvents": evs})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func doPut(t testing.TB, h http.Handler, query url.Values, body string) callResult {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/PutAuditEvents?"+query.Encode(), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := callResult{status: rec.Code, code: rec.Header().Get("X-Amzn-ErrorType"), body: rec.Body.String()}
	if rec.Header().Get("X-Amzn-RequestId") == "" {
		t.Errorf("response has no X-Amzn-RequestId")
	}
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &res.resp); err != nil {
			t.Fatalf("decode response %q: %v", rec.Body.String(), err)
		}
		if !strings.HasPrefix(rec.Body.String(), `{"successful":[`) {
			t.Errorf("response body %q", rec.Body.String())
		}
	} else {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
			t.Fatalf("decode error body %q: %v", rec.Body.String(), err)
		}
		if e.Type != res.code {
			t.Errorf("__type %q != X-Amzn-ErrorType %q", e.Type, res.code)
		}
		res.msg = e.Message
	}
	return res
}

func chanQuery(ref string) url.Values { return url.Values{"channelArn": {ref}} }

// put sends events to the test channel as the test caller.
func put(t testing.TB, s *Service, evs ...inEvent) callResult {
	t.Helper()
	return doPut(t, withCaller(s.DataHandler(), testCaller), chanQuery(testChanARN), bodyOf(t, evs))
}

func ev(id, data string) inEvent { return inEvent{ID: id, EventData: data} }

func strp(s string) *string { return &s }

func ids(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func mustContain(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%q does not contain %q", got, want)
	}
}

func compact(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// readTestdata reads a file of testdata/ (copied from the project's shared AWS documentation
// samples).
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
