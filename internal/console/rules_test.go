package console

import (
	"net/http"
	"net/url"
	"testing"
)

func TestRuleTestTakesAtMostAThousandRecords(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("viewer", viewerPassword)
	for _, tc := range []struct {
		last string
		want int
	}{
		{"20", 20},
		{"1000000000", maxRuleTestLast},
		{"-5", 1},
		{"", 1},
	} {
		t.Run(tc.last, func(t *testing.T) {
			before := len(f.backend.tested)
			resp, body := c.post("/rules/test", url.Values{"csrf_token": {tok}, "filter": {`{"alert_type":"DLP"}`}, "source": {"ns1"}, "last": {tc.last}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s\n%s", resp.Status, body)
			}
			if len(f.backend.tested) != before+1 {
				t.Fatal("the rule was not tested")
			}
			if got := f.backend.tested[before].Last; got != tc.want {
				t.Errorf("last %q: the backend was asked for %d records, want %d", tc.last, got, tc.want)
			}
		})
	}
}
