package console

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEveryPageRenders(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.login("admin", adminPassword)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{`id="overview-body"`, `data-testid="plugin-row-ns1"`, `data-state="running"`, "1234", "events/audit", "42s",
			`data-state="stopped"`, "AccessDenied: not allowed", "refused", "too_large", "<polyline points=", "7.5/s",
			`data-testid="mapping-row-ns-to-lake"`, "900", "refused, the running pipelines kept going: plugins[1].channel_arn: missing"}},
		{"/overview/live", []string{`data-testid="plugin-row-lake1"`, "1100"}},
		{"/plugins", []string{`id="plugin-list"`, `id="edit-ns1"`, `id="delete-lake1"`, `id="check-ns1"`, `id="new-plugin-type"`,
			`value="aws_cloudtrail_lake/destination"`, `value="netskope/source"`}},
		{"/plugins/new?type=netskope&kind=source", []string{"New netskope source", `id="field-name"`, `id="field-tenant"`,
			`id="field-api_token"`, `type="password" name="f.api_token"`, `id="field-proxy-url"`, `id="field-tls-ca_file"`,
			"The tenant&#39;s URL", "required", `id="plugin-save"`, `id="plugin-validate"`}},
		{"/plugins/new?type=syslog/destination", []string{`<select name="f.protocol"`, `<option value="udp">`, `id="field-batch-max_records"`,
			"Delivery (every destination)"}},
		{"/plugins/edit/ns1", []string{`value="https://acme.goskope.com"`, "audit\npage</textarea>", "set: leave empty to keep",
			`id="clear-field-api_token"`, `id="plugin-check"`}},
		{"/rules", []string{`id="rule-list"`, `id="rule-dlp-high"`, `id="rule-form"`, `id="rule-test"`, `<option value="ns1"`}},
		{"/rules?edit=dlp-high", []string{"Edit dlp-high", `{&#34;alert_type&#34;:&#34;DLP&#34;}`, `id="rule-delete"`}},
		{"/mappings", []string{`id="mapping-list"`, `id="mapping-ns-to-lake"`, `id="mapping-source"`, `id="mapping-destination-lake1"`, `id="mapping-preview"`}},
		{"/mappings?edit=ns-to-lake", []string{"Edit ns-to-lake", `value="lake1" id="mapping-destination-lake1" data-testid="mapping-destination-lake1" checked`,
			`<option value="dlp-high" selected>`}},
		{"/logs?plugin=ns1", []string{`id="log-lines"`, `data-stream="/logs/stream?plugin=ns1"`, "page read", "records=100", `<option value="ns1" selected>`}},
		{"/deadletters", []string{`id="deadletter-list"`, `id="dl-select-dl1"`, `id="dl-replay"`, `id="dl-purge"`, "ValidationException", "too_large"}},
		{"/deadletters?reason=too_large", []string{`id="dl-select-dl2"`, "1 shown of 1"}},
		{"/deadletters/dl1", []string{"Dead letter dl1", `{&#34;alert_type&#34;:&#34;DLP&#34;,&#34;user&#34;:&#34;a@acme.com&#34;}`, `id="dl-replay-one"`}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := c.get(tc.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s\n%s", resp.Status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("page:\n%s", body)
			}
		})
	}
	t.Run("log filter excludes other configurations", func(t *testing.T) {
		_, body := c.get("/logs?plugin=ns1")
		if strings.Contains(body, "put failed") {
			t.Error("the lake1 line shows under the ns1 filter")
		}
	})
	t.Run("unknown plugin is 404", func(t *testing.T) {
		if resp, _ := c.get("/plugins/edit/nope"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("got %s", resp.Status)
		}
	})
}

func TestStaticAssetsAreServed(t *testing.T) {
	f := newFixture(t, nil)
	for path, ctype := range map[string]string{"/static/console.css": "text/css", "/static/console.js": "javascript"} {
		resp, body := f.client().get(path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), ctype) || len(body) < 100 {
			t.Errorf("%s: %s %s (%d bytes)", path, resp.Status, resp.Header.Get("Content-Type"), len(body))
		}
	}
}

func TestSecretIsNeverRenderedBack(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	_, page := c.get("/plugins/edit/ns1")
	if strings.Contains(page, fakeSecret) {
		t.Fatal("the edit form shows the secret")
	}
	// A refused save shows the form again with what was typed, but not the typed secret.
	f.backend.invalid = []string{"plugins[0].tenant: not a URL"}
	resp, page := c.post("/plugins/save", url.Values{"csrf_token": {tok}, "original": {"ns1"}, "name": {"ns1"}, "type": {"netskope"},
		"kind": {"source"}, "f.tenant": {"not a url"}, "f.api_token": {"typed-new-secret"}, "action": {"save"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("got %s", resp.Status)
	}
	for _, w := range []string{"plugins[0].tenant: not a URL", `value="not a url"`, `id="form-problems"`} {
		if !strings.Contains(page, w) {
			t.Errorf("the refused form lacks %q", w)
		}
	}
	if strings.Contains(page, "typed-new-secret") || strings.Contains(page, fakeSecret) {
		t.Error("the refused form shows a secret")
	}
}

func TestFormSavesTheRightValues(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	for _, tc := range []struct {
		name string
		form url.Values
		want PluginEdit
	}{
		{
			name: "edit keeps the secret left empty",
			form: url.Values{"original": {"ns1"}, "name": {"ns1"}, "type": {"netskope"}, "kind": {"source"},
				"f.tenant": {" https://acme.goskope.com "}, "f.api_token": {""}, "f.event_types": {"audit\r\npage\r\n"},
				"f.tls.ca_file": {""}, "f.proxy.url": {"none"}, "f.eps": {"100"}, "f.page_timeout": {"45s"}},
			want: PluginEdit{Original: "ns1", Name: "ns1", Type: "netskope", Kind: "source",
				Values:      map[string]string{"tenant": "https://acme.goskope.com", "event_types": "audit\npage", "proxy.url": "none", "eps": "100", "page_timeout": "45s"},
				KeepSecrets: []string{"api_token", "proxy.password"}},
		},
		{
			name: "a new secret replaces it, a ticked box removes one",
			form: url.Values{"original": {"ns1"}, "name": {"ns1"}, "type": {"netskope"}, "kind": {"source"},
				"f.tenant": {"https://acme.goskope.com"}, "f.api_token": {"new-token "}, "clear.proxy.password": {"1"}},
			want: PluginEdit{Original: "ns1", Name: "ns1", Type: "netskope", Kind: "source",
				Values: map[string]string{"tenant": "https://acme.goskope.com", "api_token": "new-token "}},
		},
		{
			name: "new destination with delivery keys and a bool",
			form: url.Values{"name": {"out"}, "type": {"file"}, "kind": {"destination"}, "f.path": {"/var/log/ls.ndjson"},
				"f.sync": {"false"}, "f.batch.max_records": {"100"}, "f.max_size": {""}},
			want: PluginEdit{Name: "out", Type: "file", Kind: "destination",
				Values: map[string]string{"path": "/var/log/ls.ndjson", "sync": "false", "batch.max_records": "100"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.backend.mu.Lock()
			f.backend.saved = nil
			f.backend.mu.Unlock()
			form := url.Values{"csrf_token": {tok}, "action": {"save"}}
			for k, v := range tc.form {
				form[k] = v
			}
			resp, body := c.post("/plugins/save", form)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/plugins/edit/"+tc.want.Name+"?flash=saved" {
				t.Fatalf("got %s to %q\n%s", resp.Status, resp.Header.Get("Location"), body)
			}
			f.backend.mu.Lock()
			defer f.backend.mu.Unlock()
			if len(f.backend.saved) != 1 {
				t.Fatalf("saved %d times", len(f.backend.saved))
			}
			got := f.backend.saved[0]
			slices.Sort(got.KeepSecrets)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("saved\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}

func TestValidateButtonDoesNotSave(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	resp, body := c.post("/plugins/save", url.Values{"csrf_token": {tok}, "action": {"validate"}, "name": {"o"}, "type": {"stdout"}, "kind": {"destination"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="form-message"`) {
		t.Fatalf("%s\n%s", resp.Status, body)
	}
	if len(f.backend.saved) != 0 || len(f.backend.validated) != 1 {
		t.Errorf("saved %v, validated %v", f.backend.saved, f.backend.validated)
	}
}

func TestLiveCheckShowsItsResult(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	resp, body := c.post("/plugins/check/lake1", url.Values{"csrf_token": {tok}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Live check of lake1: FAILED: lake1: AccessDenied on PutAuditEvents") {
		t.Fatalf("%s\n%s", resp.Status, body)
	}
}

func TestRuleTestShowsWhichRecordsMatchAndWhy(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"samples", url.Values{"records": {"{\"alert_type\":\"DLP\"}\n{\"alert_type\":\"malware\"}"}}},
		{"last records of a source", url.Values{"source": {"ns1"}, "last": {"2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"csrf_token": {tok}, "name": {"r"}, "filter": {`{"alert_type":"DLP"}`}}
			for k, v := range tc.form {
				form[k] = v
			}
			resp, body := c.post("/rules/test", form)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s\n%s", resp.Status, body)
			}
			for _, w := range []string{`data-match="true"`, `data-match="false"`, "alert_type is &#34;DLP&#34;", "alert_type is not &#34;DLP&#34;",
				`{&#34;alert_type&#34;:&#34;DLP&#34;}</textarea>`} {
				if !strings.Contains(body, w) {
					t.Errorf("the result lacks %q", w)
				}
			}
		})
	}
}

func TestRuleSaveRefusedShowsTheProblems(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	resp, body := c.post("/rules/save", url.Values{"csrf_token": {tok}, "name": {"both"}, "expr": {"true"}, "filter": {"{}"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "give expr or filter, not both") || !strings.Contains(body, `value="both"`) {
		t.Fatalf("%s\n%s", resp.Status, body)
	}
}

func TestMappingSaveAndPreview(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	resp, body := c.post("/mappings/preview", url.Values{"csrf_token": {tok}, "name": {"m"}, "source": {"ns1"}, "rule": {"dlp-high"},
		"destination": {"lake1"}, "record": {`{"alert_type":"DLP"}`}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s\n%s", resp.Status, body)
	}
	for _, w := range []string{`data-testid="mapping-preview-result"`, "The rule matches", `data-testid="mapping-output-lake1"`, "eventVersion"} {
		if !strings.Contains(body, w) {
			t.Errorf("the preview lacks %q", w)
		}
	}
	resp, _ = c.post("/mappings/save", url.Values{"csrf_token": {tok}, "name": {"m"}, "source": {"ns1"}, "rule": {""}, "destination": {"lake1", "out"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %s", resp.Status)
	}
	want := []Mapping{{Name: "m", Source: "ns1", Destinations: []string{"lake1", "out"}}}
	if !reflect.DeepEqual(f.backend.savedMap, want) {
		t.Errorf("saved %+v, want %+v", f.backend.savedMap, want)
	}
}

func TestDeadLettersReplayAndPurgeSelected(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	resp, _ := c.post("/deadletters/replay", url.Values{"csrf_token": {tok}, "id": {"dl1", "dl2"}, "destination": {"lake1"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "destination=lake1") {
		t.Fatalf("replay: %s to %s", resp.Status, resp.Header.Get("Location"))
	}
	_, page := c.get(resp.Header.Get("Location"))
	if !strings.Contains(page, "Replayed 2 of 2 selected.") {
		t.Error("no message of the replay")
	}
	if resp, _ := c.post("/deadletters/purge", url.Values{"csrf_token": {tok}, "id": {"dl2"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("purge: %s", resp.Status)
	}
	if !reflect.DeepEqual(f.backend.replayed, []string{"dl1", "dl2"}) || !reflect.DeepEqual(f.backend.purged, []string{"dl2"}) {
		t.Errorf("replayed %v, purged %v", f.backend.replayed, f.backend.purged)
	}
}

func TestLogStreamSendsLinesAsServerSentEvents(t *testing.T) {
	f := newFixture(t, nil)
	f.backend.subscribe = make(chan LogFilter, 1)
	c := f.client()
	c.login("admin", adminPassword)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/logs/stream?plugin=ns1&level=WARN&text=put", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	select {
	case fl := <-f.backend.subscribe:
		if want := (LogFilter{Plugin: "ns1", Level: "warn", Text: "put", Limit: 500}); fl != want {
			t.Errorf("filter %+v, want %+v", fl, want)
		}
	case <-ctx.Done():
		t.Fatal("the stream did not subscribe")
	}
	want := LogLine{Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Level: "warn", Plugin: "ns1", Message: "put slow", Attrs: map[string]string{"ms": "900"}}
	f.backend.publish(want)
	sc := bufio.NewScanner(resp.Body)
	var event string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "event: ") {
			event = strings.TrimPrefix(line, "event: ")
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var got LogLine
			if err := json.Unmarshal([]byte(data), &got); err != nil {
				t.Fatal(err)
			}
			if event != "line" || !reflect.DeepEqual(got, want) {
				t.Fatalf("event %q %+v, want line %+v", event, got, want)
			}
			return
		}
	}
	t.Fatalf("the stream ended without the line: %v", sc.Err())
}

func TestSparkline(t *testing.T) {
	for _, tc := range []struct {
		rate []float64
		want string
	}{
		{nil, ""},
		{[]float64{3}, ""},
		{[]float64{0, 0}, "0.0,30.0 120.0,30.0"},
		{[]float64{0, 5, 10}, "0.0,30.0 60.0,16.0 120.0,2.0"},
	} {
		if got := sparkline(tc.rate); got != tc.want {
			t.Errorf("sparkline(%v) = %q, want %q", tc.rate, got, tc.want)
		}
	}
}

func TestStopEndsTheLogStreams(t *testing.T) {
	b := newFakeBackend()
	b.subscribe = make(chan LogFilter, 1)
	s, err := New(testConfig(t), b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := s.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, console: s, backend: b, srv: &httptest.Server{URL: "http://" + addr.String()}}
	c := f.client()
	c.login("admin", adminPassword)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/logs/stream", nil)
	resp, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	<-b.subscribe
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	read := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); read <- err }()
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream is still open after stop")
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not return")
	}
}

// The last reconfiguration names what asked for it when the Backend knows, and reads well
// when it does not.
func TestLastReloadLine(t *testing.T) {
	p, err := loadPages()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		reload Reload
		want   string
	}{
		{"with its trigger", Reload{At: at, Trigger: "sighup", Restarted: []string{"lake"}}, "Last reconfiguration (sighup, 2026-05-01 12:30:00Z):\n  applied, restarted lake."},
		{"without", Reload{At: at, Restarted: []string{"lake"}}, "Last reconfiguration (2026-05-01 12:30:00Z):\n  applied, restarted lake."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := p.sets["overview"].ExecuteTemplate(&b, "overview-body", pageData{Data: Overview{LastReload: tc.reload}}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tc.want) {
				t.Errorf("the Overview shows\n%s\nwant %q", b.String(), tc.want)
			}
		})
	}
}

// The plugin form's script validates in place: asked for JSON, Validate answers whether the
// form is valid and its problems, and saves nothing.
func TestValidateAnswersJSONToTheFormsScript(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	tok := c.login("admin", adminPassword)
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/plugins/save", strings.NewReader(url.Values{
		"csrf_token": {tok}, "action": {"validate"}, "name": {"o"}, "type": {"stdout"}, "kind": {"destination"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, body := c.do(req)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "application/json") ||
		!strings.Contains(body, `"valid":true`) || !strings.Contains(body, `"message":"Valid: validate finds no problem."`) {
		t.Fatalf("%s %s\n%s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	if len(f.backend.saved) != 0 || len(f.backend.validated) != 1 {
		t.Errorf("saved %v, validated %v", f.backend.saved, f.backend.validated)
	}
}
