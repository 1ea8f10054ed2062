package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestFlashShowsOnlyItsOwnMessages(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	const phish = "Your session expired: log in again at evil.example"
	for _, page := range []string{"/plugins", "/plugins/edit/ns1", "/rules", "/mappings", "/deadletters"} {
		t.Run(page, func(t *testing.T) {
			for _, q := range []url.Values{
				{"flash": {phish}},
				{"flash": {"replayed"}, "n": {phish}, "of": {"1"}},
			} {
				_, body := c.get(page + "?" + q.Encode())
				if strings.Contains(body, "evil.example") {
					t.Errorf("%s?%s shows the address's text", page, q.Encode())
				}
			}
		})
	}
	for _, tc := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/plugins/delete/lake1", nil, "Deleted."},
		{"/plugins/disable/ns1", nil, "Disabled."},
		{"/rules/delete/dlp-high", nil, "Deleted."},
		{"/mappings/delete/ns-to-lake", nil, "Deleted."},
		{"/deadletters/replay", url.Values{"id": {"dl1", "dl2"}}, "Replayed 2 of 2 selected."},
		{"/deadletters/purge", url.Values{"id": {"dl2"}}, "Discarded 1 of 1 selected."},
		{"/deadletters/purge", nil, "Nothing selected."},
	} {
		t.Run(tc.path, func(t *testing.T) {
			form := url.Values{"csrf_token": {tok}}
			for k, v := range tc.form {
				form[k] = v
			}
			resp, _ := c.post(tc.path, form)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s", resp.Status)
			}
			_, body := c.get(resp.Header.Get("Location"))
			if !strings.Contains(body, `data-testid="flash">`+tc.want+"<") {
				t.Errorf("after %s, the page does not say %q", tc.path, tc.want)
			}
		})
	}
}
