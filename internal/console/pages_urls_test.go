package console

import (
	"net/http"
	"strings"
	"testing"
)

func TestNamesAreEscapedInURLPaths(t *testing.T) {
	const name = "a b/../../deadletters/purge?x=1#y"
	const esc = "a%20b%2F..%2F..%2Fdeadletters%2Fpurge%3Fx=1%23y"
	f := newFixture(t, nil)
	f.backend.plugins[0].Name = name
	f.backend.rules[0].Name = name
	f.backend.mappings[0].Name = name
	f.backend.dead[0].ID = name
	c := f.client()
	c.login("admin", adminPassword)
	for _, tc := range []struct {
		page string
		want []string
	}{
		{"/plugins", []string{
			`href="/plugins/edit/` + esc + `"`,
			`action="/plugins/check/` + esc + `"`,
			`action="/plugins/disable/` + esc + `"`,
			`action="/plugins/delete/` + esc + `"`,
		}},
		{"/plugins/edit/" + esc, []string{`action="/plugins/check/` + esc + `"`}},
		{"/rules?edit=" + esc, []string{`action="/rules/delete/` + esc + `"`}},
		{"/mappings?edit=" + esc, []string{`action="/mappings/delete/` + esc + `"`}},
		{"/deadletters", []string{`href="/deadletters/` + esc + `"`}},
	} {
		t.Run(tc.page, func(t *testing.T) {
			resp, page := c.get(tc.page)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s", resp.Status)
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("the page lacks %s", w)
				}
			}
		})
	}
}
