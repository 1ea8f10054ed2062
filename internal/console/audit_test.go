package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRenameAuditLineNamesTheOriginal(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/plugins/save", url.Values{"type": {"netskope"}, "kind": {"source"}, "original": {"ns1"}, "name": {"ns9"}, "action": {"save"}}},
		{"/rules/save", url.Values{"original": {"dlp-high"}, "name": {"ns9"}, "expr": {"true"}}},
		{"/mappings/save", url.Values{"original": {"ns-to-lake"}, "name": {"ns9"}, "source": {"ns1"}, "destination": {"lake1"}}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			form := url.Values{"csrf_token": {tok}}
			for k, v := range tc.form {
				form[k] = v
			}
			before := len(f.logs.String())
			if resp, body := c.post(tc.path, form); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s\n%s", resp.Status, body)
			}
			line := f.logs.String()[before:]
			if !strings.Contains(line, "target=ns9") || !strings.Contains(line, "original="+tc.form.Get("original")) {
				t.Errorf("the audit line %q does not name the original and the new name", line)
			}
		})
	}
}
