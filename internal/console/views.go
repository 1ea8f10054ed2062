package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/console/schema"
)

// --- Flash messages

// flashMessages are the messages a page shows after a change, by the key its address gives
// (?flash=deleted): a fixed text, so that a link cannot make a page show words of its own
// ("your session expired, log in at ..."). "replayed" and "discarded" take two numbers, n and
// of.
var flashMessages = map[string]string{
	"saved":            "Saved.",
	"deleted":          "Deleted.",
	"disabled":         "Disabled.",
	"enabled":          "Enabled.",
	"nothing-selected": "Nothing selected.",
	"replayed":         "Replayed %d of %d selected.",
	"discarded":        "Discarded %d of %d selected.",
}

// flashText is the message of a page's address: none for a key it does not know.
func flashText(q url.Values) string {
	k := q.Get("flash")
	msg := flashMessages[k]
	switch k {
	case "replayed", "discarded":
		n, err1 := strconv.Atoi(q.Get("n"))
		of, err2 := strconv.Atoi(q.Get("of"))
		if err1 != nil || err2 != nil || n < 0 || of < 0 {
			n, of = 0, 0
		}
		return fmt.Sprintf(msg, n, of)
	}
	return msg
}

// --- Overview

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request, ss *session) {
	ov, err := s.backend.Overview(r.Context())
	if err != nil {
		s.backendError(w, r, ss, "overview", err)
		return
	}
	s.render(w, http.StatusOK, "overview", s.page(ss, "overview", "Overview", ov))
}

// overviewLive is the Overview's body alone, which the page's script fetches every few
// seconds.
func (s *Server) overviewLive(w http.ResponseWriter, r *http.Request, ss *session) {
	ov, err := s.backend.Overview(r.Context())
	if err != nil {
		s.backendError(w, r, ss, "overview", err)
		return
	}
	s.renderTemplate(w, http.StatusOK, "overview", "overview-body", s.page(ss, "overview", "Overview", ov))
}

// --- Plugins

type pluginsData struct {
	Plugins []PluginConfig
	Types   []PluginType
	Check   *CheckResult
	Checked string
}

func (s *Server) pluginsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	s.renderPlugins(w, r, ss, http.StatusOK, pluginsData{}, flashText(r.URL.Query()))
}

func (s *Server) renderPlugins(w http.ResponseWriter, r *http.Request, ss *session, code int, d pluginsData, flash string) {
	var err error
	if d.Plugins, err = s.backend.Plugins(r.Context()); err != nil {
		s.backendError(w, r, ss, "plugins", err)
		return
	}
	if d.Types, err = s.backend.PluginTypes(r.Context()); err != nil {
		s.backendError(w, r, ss, "plugin types", err)
		return
	}
	p := s.page(ss, "plugins", "Plugins", d)
	p.Flash = flash
	s.render(w, code, "plugins", p)
}

// formField is one field of a plugin form, with what it shows.
type formField struct {
	schema.Field
	// Value is the text shown; always empty for a secret.
	Value string
	// SecretSet says a secret field has a value (shown as "set, leave empty to keep").
	SecretSet bool
}

// fieldGroup is a fieldset of the form.
type fieldGroup struct {
	Name   string
	Fields []formField
}

type pluginForm struct {
	New       bool
	Original  string
	Name      string
	Type      string
	Kind      string
	Summary   string
	Disabled  bool
	Groups    []fieldGroup
	Problems  []string
	Message   string
	SecretSet map[string]bool
}

func (s *Server) pluginNewPage(w http.ResponseWriter, r *http.Request, ss *session) {
	typ, kind := r.URL.Query().Get("type"), r.URL.Query().Get("kind")
	if t, k, ok := strings.Cut(typ, "/"); ok {
		typ, kind = t, k
	}
	sc, err := s.backend.PluginSchema(r.Context(), typ, kind)
	if err != nil {
		s.backendError(w, r, ss, "plugin schema", err)
		return
	}
	f := buildForm(sc, PluginConfig{Type: typ, Kind: kind}, nil)
	f.New = true
	s.render(w, http.StatusOK, "plugin_form", s.page(ss, "plugins", "New "+typ+" "+kind, f))
}

func (s *Server) pluginEditPage(w http.ResponseWriter, r *http.Request, ss *session) {
	pc, err := s.backend.Plugin(r.Context(), r.PathValue("name"))
	if err != nil {
		s.backendError(w, r, ss, "plugin", err)
		return
	}
	sc, err := s.backend.PluginSchema(r.Context(), pc.Type, pc.Kind)
	if err != nil {
		s.backendError(w, r, ss, "plugin schema", err)
		return
	}
	f := buildForm(sc, pc, nil)
	p := s.page(ss, "plugins", pc.Name, f)
	p.Flash = flashText(r.URL.Query())
	s.render(w, http.StatusOK, "plugin_form", p)
}

// buildForm lays out the form of schema sc holding pc's values (or, after a refused save,
// the values sent). A secret's value is never put in the form.
func buildForm(sc schema.Schema, pc PluginConfig, sent map[string]string) pluginForm {
	f := pluginForm{Original: pc.Name, Name: pc.Name, Type: sc.Type, Kind: sc.Kind, Summary: sc.Summary, Disabled: pc.Disabled, SecretSet: pc.SecretsSet}
	vals := pc.Values
	if sent != nil {
		vals = sent
	}
	idx := map[string]int{}
	for _, fd := range sc.Fields {
		ff := formField{Field: fd}
		if fd.Secret {
			ff.SecretSet = pc.SecretsSet[fd.Key]
		} else {
			ff.Value = vals[fd.Key]
		}
		i, ok := idx[fd.Group]
		if !ok {
			i = len(f.Groups)
			idx[fd.Group] = i
			f.Groups = append(f.Groups, fieldGroup{Name: fd.Group})
		}
		f.Groups[i].Fields = append(f.Groups[i].Fields, ff)
	}
	// The plugin's own options first, then its nested sections, then the shared keys.
	order := func(g string) int {
		switch g {
		case "":
			return 0
		case "common":
			return 2
		case "delivery":
			return 3
		}
		return 1
	}
	sort.SliceStable(f.Groups, func(i, j int) bool { return order(f.Groups[i].Name) < order(f.Groups[j].Name) })
	return f
}

// editFromForm reads a plugin form: every field of the schema by its key; a secret left empty
// keeps its value unless its "clear" box is ticked.
func editFromForm(r *http.Request, sc schema.Schema) PluginEdit {
	e := PluginEdit{
		Original: strings.TrimSpace(r.PostForm.Get("original")),
		Name:     strings.TrimSpace(r.PostForm.Get("name")),
		Type:     sc.Type,
		Kind:     sc.Kind,
		Values:   map[string]string{},
	}
	for _, fd := range sc.Fields {
		raw := r.PostForm.Get("f." + fd.Key)
		if fd.Secret {
			switch {
			case raw != "":
				e.Values[fd.Key] = raw
			case r.PostForm.Get("clear."+fd.Key) != "":
			case e.Original != "":
				e.KeepSecrets = append(e.KeepSecrets, fd.Key)
			}
			continue
		}
		v := strings.TrimSpace(strings.ReplaceAll(raw, "\r\n", "\n"))
		if v != "" {
			e.Values[fd.Key] = v
		}
	}
	return e
}

func (s *Server) pluginSave(w http.ResponseWriter, r *http.Request, ss *session) {
	typ, kind := r.PostForm.Get("type"), r.PostForm.Get("kind")
	sc, err := s.backend.PluginSchema(r.Context(), typ, kind)
	if err != nil {
		s.backendError(w, r, ss, "plugin schema", err)
		return
	}
	e := editFromForm(r, sc)
	validateOnly := r.PostForm.Get("action") == "validate"
	if validateOnly {
		err = s.backend.ValidatePlugin(r.Context(), e)
	} else {
		err = s.backend.SavePlugin(r.Context(), e)
		s.auditLogFrom(r, ss, "plugin.save", e.Original, e.Name, err)
	}
	var inv *InvalidError
	if err != nil && !errors.As(err, &inv) {
		s.backendError(w, r, ss, "saving the plugin configuration", err)
		return
	}
	if err == nil && !validateOnly {
		http.Redirect(w, r, "/plugins/edit/"+url.PathEscape(e.Name)+"?flash=saved", http.StatusSeeOther)
		return
	}
	if validateOnly && wantsJSON(r) {
		// The form's script validates in place: the page, and the secrets typed in it, stay.
		res := validateAnswer{Valid: inv == nil, Message: "Valid: validate finds no problem."}
		if inv != nil {
			res.Problems, res.Message = inv.Problems, ""
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(res)
		return
	}
	// Show the form again with what was typed (never a secret) and the problems.
	var current PluginConfig
	if e.Original != "" {
		if pc, err := s.backend.Plugin(r.Context(), e.Original); err == nil {
			current = pc
		}
	}
	current.Name, current.Type, current.Kind = e.Original, sc.Type, sc.Kind
	f := buildForm(sc, current, e.Values)
	f.New = e.Original == ""
	f.Name = e.Name
	code := http.StatusOK
	if inv != nil {
		f.Problems = inv.Problems
		code = http.StatusUnprocessableEntity
	} else {
		f.Message = "Valid: validate finds no problem."
	}
	s.render(w, code, "plugin_form", s.page(ss, "plugins", e.Name, f))
}

// validateAnswer is the JSON answer to a plugin form's Validate sent by its script.
type validateAnswer struct {
	Valid    bool     `json:"valid"`
	Message  string   `json:"message,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// wantsJSON reports whether the request asks for a JSON answer (the pages' script).
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (s *Server) pluginDelete(w http.ResponseWriter, r *http.Request, ss *session) {
	name := r.PathValue("name")
	err := s.backend.DeletePlugin(r.Context(), name)
	s.auditLog(r, ss, "plugin.delete", name, err)
	if err != nil {
		s.backendError(w, r, ss, "deleting "+name, err)
		return
	}
	http.Redirect(w, r, "/plugins?flash=deleted", http.StatusSeeOther)
}

func (s *Server) pluginDisable(disabled bool) handler {
	return func(w http.ResponseWriter, r *http.Request, ss *session) {
		name := r.PathValue("name")
		action := "plugin.enable"
		if disabled {
			action = "plugin.disable"
		}
		err := s.backend.SetPluginDisabled(r.Context(), name, disabled)
		s.auditLog(r, ss, action, name, err)
		if err != nil {
			s.backendError(w, r, ss, action+" "+name, err)
			return
		}
		http.Redirect(w, r, "/plugins?flash="+strings.TrimPrefix(action, "plugin.")+"d", http.StatusSeeOther)
	}
}

func (s *Server) pluginCheck(w http.ResponseWriter, r *http.Request, ss *session) {
	name := r.PathValue("name")
	res, err := s.backend.CheckPlugin(r.Context(), name)
	s.auditLog(r, ss, "plugin.check", name, err)
	if err != nil {
		s.backendError(w, r, ss, "checking "+name, err)
		return
	}
	s.renderPlugins(w, r, ss, http.StatusOK, pluginsData{Check: &res, Checked: name}, "")
}

// --- Business rules

type rulesData struct {
	Rules   []Rule
	Sources []string
	Edit    Rule
	// Original is the name of the rule edited; empty: a new one.
	Original string
	Problems []string
	Test     *RuleTestResult
	Samples  string
	Source   string
	Last     int
}

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request, ss *session) {
	d := rulesData{Last: 20}
	rs, err := s.backend.Rules(r.Context())
	if err != nil {
		s.backendError(w, r, ss, "business rules", err)
		return
	}
	if name := r.URL.Query().Get("edit"); name != "" {
		for _, ru := range rs {
			if ru.Name == name {
				d.Edit, d.Original = ru, ru.Name
			}
		}
	}
	s.renderRules(w, r, ss, http.StatusOK, d, flashText(r.URL.Query()))
}

func (s *Server) renderRules(w http.ResponseWriter, r *http.Request, ss *session, code int, d rulesData, flash string) {
	var err error
	if d.Rules, err = s.backend.Rules(r.Context()); err != nil {
		s.backendError(w, r, ss, "business rules", err)
		return
	}
	if d.Sources, err = s.backend.Sources(r.Context()); err != nil {
		s.backendError(w, r, ss, "sources", err)
		return
	}
	p := s.page(ss, "rules", "Business rules", d)
	p.Flash = flash
	s.render(w, code, "rules", p)
}

func ruleFromForm(r *http.Request) Rule {
	return Rule{
		Name:        strings.TrimSpace(r.PostForm.Get("name")),
		Description: strings.TrimSpace(r.PostForm.Get("description")),
		Expr:        strings.TrimSpace(r.PostForm.Get("expr")),
		Filter:      strings.TrimSpace(r.PostForm.Get("filter")),
	}
}

func (s *Server) ruleSave(w http.ResponseWriter, r *http.Request, ss *session) {
	ru := ruleFromForm(r)
	orig := r.PostForm.Get("original")
	err := s.backend.SaveRule(r.Context(), orig, ru)
	s.auditLogFrom(r, ss, "rule.save", orig, ru.Name, err)
	var inv *InvalidError
	switch {
	case errors.As(err, &inv):
		s.renderRules(w, r, ss, http.StatusUnprocessableEntity, rulesData{Edit: ru, Original: orig, Problems: inv.Problems, Last: 20}, "")
	case err != nil:
		s.backendError(w, r, ss, "saving the rule", err)
	default:
		http.Redirect(w, r, "/rules?edit="+url.QueryEscape(ru.Name)+"&flash=saved", http.StatusSeeOther)
	}
}

func (s *Server) ruleDelete(w http.ResponseWriter, r *http.Request, ss *session) {
	name := r.PathValue("name")
	err := s.backend.DeleteRule(r.Context(), name)
	s.auditLog(r, ss, "rule.delete", name, err)
	if err != nil {
		s.backendError(w, r, ss, "deleting "+name, err)
		return
	}
	http.Redirect(w, r, "/rules?flash=deleted", http.StatusSeeOther)
}

// maxRuleTestLast is the most records a rule test takes from a source's last ones.
const maxRuleTestLast = 1000

func (s *Server) ruleTest(w http.ResponseWriter, r *http.Request, ss *session) {
	ru := ruleFromForm(r)
	last, _ := strconv.Atoi(r.PostForm.Get("last"))
	last = min(max(last, 1), maxRuleTestLast)
	t := RuleTest{Rule: ru, Records: r.PostForm.Get("records"), Source: r.PostForm.Get("source"), Last: last}
	if t.Source == "" && strings.TrimSpace(t.Records) == "" {
		res := RuleTestResult{Error: "give sample records, or a source whose last records to test"}
		s.renderRules(w, r, ss, http.StatusOK, rulesData{Edit: ru, Original: r.PostForm.Get("original"), Test: &res, Last: last}, "")
		return
	}
	res, err := s.backend.TestRule(r.Context(), t)
	if err != nil {
		s.backendError(w, r, ss, "testing the rule", err)
		return
	}
	s.renderRules(w, r, ss, http.StatusOK, rulesData{Edit: ru, Original: r.PostForm.Get("original"), Test: &res, Samples: t.Records, Source: t.Source, Last: last}, "")
}

// --- SIEM mappings

type mappingsData struct {
	Mappings     []Mapping
	Sources      []string
	Destinations []string
	Rules        []string
	Edit         Mapping
	Original     string
	Problems     []string
	Preview      *MappingPreviewResult
	Record       string
}

func (s *Server) mappingsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	d := mappingsData{}
	ms, err := s.backend.Mappings(r.Context())
	if err != nil {
		s.backendError(w, r, ss, "SIEM mappings", err)
		return
	}
	if name := r.URL.Query().Get("edit"); name != "" {
		for _, m := range ms {
			if m.Name == name {
				d.Edit, d.Original = m, m.Name
			}
		}
	}
	s.renderMappings(w, r, ss, http.StatusOK, d, flashText(r.URL.Query()))
}

func (s *Server) renderMappings(w http.ResponseWriter, r *http.Request, ss *session, code int, d mappingsData, flash string) {
	ctx := r.Context()
	var err error
	if d.Mappings, err = s.backend.Mappings(ctx); err != nil {
		s.backendError(w, r, ss, "SIEM mappings", err)
		return
	}
	pcs, err := s.backend.Plugins(ctx)
	if err != nil {
		s.backendError(w, r, ss, "plugins", err)
		return
	}
	for _, pc := range pcs {
		if pc.Kind == "source" {
			d.Sources = append(d.Sources, pc.Name)
		} else {
			d.Destinations = append(d.Destinations, pc.Name)
		}
	}
	rs, err := s.backend.Rules(ctx)
	if err != nil {
		s.backendError(w, r, ss, "business rules", err)
		return
	}
	for _, ru := range rs {
		d.Rules = append(d.Rules, ru.Name)
	}
	p := s.page(ss, "mappings", "SIEM mappings", d)
	p.Flash = flash
	s.render(w, code, "mappings", p)
}

func mappingFromForm(r *http.Request) Mapping {
	m := Mapping{
		Name:   strings.TrimSpace(r.PostForm.Get("name")),
		Source: r.PostForm.Get("source"),
		Rule:   r.PostForm.Get("rule"),
	}
	for _, d := range r.PostForm["destination"] {
		if d != "" {
			m.Destinations = append(m.Destinations, d)
		}
	}
	return m
}

func (s *Server) mappingSave(w http.ResponseWriter, r *http.Request, ss *session) {
	m := mappingFromForm(r)
	orig := r.PostForm.Get("original")
	err := s.backend.SaveMapping(r.Context(), orig, m)
	s.auditLogFrom(r, ss, "mapping.save", orig, m.Name, err)
	var inv *InvalidError
	switch {
	case errors.As(err, &inv):
		s.renderMappings(w, r, ss, http.StatusUnprocessableEntity, mappingsData{Edit: m, Original: orig, Problems: inv.Problems}, "")
	case err != nil:
		s.backendError(w, r, ss, "saving the mapping", err)
	default:
		http.Redirect(w, r, "/mappings?edit="+url.QueryEscape(m.Name)+"&flash=saved", http.StatusSeeOther)
	}
}

func (s *Server) mappingDelete(w http.ResponseWriter, r *http.Request, ss *session) {
	name := r.PathValue("name")
	err := s.backend.DeleteMapping(r.Context(), name)
	s.auditLog(r, ss, "mapping.delete", name, err)
	if err != nil {
		s.backendError(w, r, ss, "deleting "+name, err)
		return
	}
	http.Redirect(w, r, "/mappings?flash=deleted", http.StatusSeeOther)
}

func (s *Server) mappingPreview(w http.ResponseWriter, r *http.Request, ss *session) {
	m := mappingFromForm(r)
	rec := r.PostForm.Get("record")
	res, err := s.backend.PreviewMapping(r.Context(), MappingPreview{Mapping: m, Record: rec})
	if err != nil {
		s.backendError(w, r, ss, "previewing the mapping", err)
		return
	}
	s.renderMappings(w, r, ss, http.StatusOK, mappingsData{Edit: m, Original: r.PostForm.Get("original"), Preview: &res, Record: rec}, "")
}

// --- Logging

type logsData struct {
	Filter  LogFilter
	Lines   []LogLine
	Plugins []string
	Levels  []string
	// StreamURL is the Server-Sent Events address of the same filter.
	StreamURL string
}

func logFilterFrom(q url.Values) LogFilter {
	f := LogFilter{Plugin: q.Get("plugin"), Level: q.Get("level"), Text: q.Get("text"), Limit: 500}
	switch strings.ToLower(f.Level) {
	case "", "debug", "info", "warn", "error":
		f.Level = strings.ToLower(f.Level)
	default:
		f.Level = ""
	}
	return f
}

// logFilterFor is the filter of a request's query for the session: a viewer's leaves out the
// audit lines.
func logFilterFor(q url.Values, ss *session) LogFilter {
	f := logFilterFrom(q)
	f.HideAudit = !ss.role.CanChange()
	return f
}

// visible drops the audit lines a filter hides, whether or not the backend did.
func visible(lines []LogLine, f LogFilter) []LogLine {
	if !f.HideAudit {
		return lines
	}
	out := lines[:0:0]
	for _, l := range lines {
		if !isAudit(l) {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) logsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	f := logFilterFor(r.URL.Query(), ss)
	lines, err := s.backend.Logs(r.Context(), f)
	if err != nil {
		s.backendError(w, r, ss, "logs", err)
		return
	}
	lines = visible(lines, f)
	d := logsData{Filter: f, Lines: lines, Levels: []string{"debug", "info", "warn", "error"}}
	if pcs, err := s.backend.Plugins(r.Context()); err == nil {
		for _, pc := range pcs {
			d.Plugins = append(d.Plugins, pc.Name)
		}
	}
	q := url.Values{}
	for k, v := range map[string]string{"plugin": f.Plugin, "level": f.Level, "text": f.Text} {
		if v != "" {
			q.Set(k, v)
		}
	}
	d.StreamURL = "/logs/stream?" + q.Encode()
	s.render(w, http.StatusOK, "logs", s.page(ss, "logs", "Logging", d))
}

// The most log streams open at once: for one session (a few tabs of the Logging page) and in
// all. Each holds a connection, a goroutine and a subscription that every log line is matched
// against.
const (
	maxStreamsPerSession = 3
	maxStreams           = 32
)

// streamLimits counts the open log streams.
type streamLimits struct {
	mu         sync.Mutex
	bySession  map[string]int
	open       int
	perSession int
	total      int
}

// acquire takes a stream for the session id; false: too many are open.
func (l *streamLimits) acquire(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.total || l.bySession[id] >= l.perSession {
		return false
	}
	l.open++
	l.bySession[id]++
	return true
}

// release gives back a stream acquire took.
func (l *streamLimits) release(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.bySession[id]--; l.bySession[id] <= 0 {
		delete(l.bySession, id)
	}
}

// logsStream sends the log lines that pass the filter as Server-Sent Events ("line" events,
// each a LogLine in JSON), with a comment every 15 s to keep proxies from closing it.
func (s *Server) logsStream(w http.ResponseWriter, r *http.Request, ss *session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	if !s.streams.acquire(ss.id) {
		w.Header().Set("Retry-After", "15")
		http.Error(w, fmt.Sprintf("too many log streams open (at most %d a session and %d in all): close a Logging page", s.streams.perSession, s.streams.total), http.StatusTooManyRequests)
		return
	}
	defer s.streams.release(ss.id)
	filter := logFilterFor(r.URL.Query(), ss)
	ch, err := s.backend.SubscribeLogs(r.Context(), filter)
	if err != nil {
		s.backendError(w, r, ss, "log stream", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, ": stream open\n\n")
	fl.Flush()
	// The stream ends with its session: on a logout or an expiry (done), and a line is sent
	// only while the session is live.
	live := func() bool { _, ok := s.sessions.get(ss.id); return ok }
	expiry := time.NewTimer(ss.expires.Sub(s.now()))
	defer expiry.Stop()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.shutdown:
			return
		case <-ss.done:
			return
		case <-expiry.C:
			if !live() {
				return
			}
		case <-tick.C:
			if !live() {
				return
			}
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
		case l, ok := <-ch:
			if !ok || !live() {
				return
			}
			if filter.HideAudit && isAudit(l) {
				continue
			}
			b, err := json.Marshal(l)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: line\ndata: %s\n\n", b); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// --- Dead letters

type deadLettersData struct {
	Filter       DeadLetterFilter
	Page         DeadLetterPage
	Destinations []string
	Reasons      []string
	Result       string
}

func (s *Server) deadLettersPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q := r.URL.Query()
	f := DeadLetterFilter{Destination: q.Get("destination"), Reason: q.Get("reason"), Limit: 200}
	pg, err := s.backend.DeadLetters(r.Context(), f)
	if err != nil {
		s.backendError(w, r, ss, "dead letters", err)
		return
	}
	d := deadLettersData{Filter: f, Page: pg, Result: flashText(q)}
	seenD, seenR := map[string]bool{}, map[string]bool{}
	for _, c := range pg.Counts {
		if !seenD[c.Destination] {
			seenD[c.Destination] = true
			d.Destinations = append(d.Destinations, c.Destination)
		}
		if !seenR[c.Reason] {
			seenR[c.Reason] = true
			d.Reasons = append(d.Reasons, c.Reason)
		}
	}
	sort.Strings(d.Destinations)
	sort.Strings(d.Reasons)
	p := s.page(ss, "deadletters", "Dead letters", d)
	p.Flash = d.Result
	s.render(w, http.StatusOK, "deadletters", p)
}

func (s *Server) deadLetterPage(w http.ResponseWriter, r *http.Request, ss *session) {
	dl, err := s.backend.DeadLetter(r.Context(), r.PathValue("id"))
	if err != nil {
		s.backendError(w, r, ss, "dead letter", err)
		return
	}
	s.render(w, http.StatusOK, "deadletter", s.page(ss, "deadletters", "Dead letter "+dl.ID, dl))
}

func (s *Server) deadLettersReplay(w http.ResponseWriter, r *http.Request, ss *session) {
	s.deadLettersAct(w, r, ss, "replay", s.backend.ReplayDeadLetters)
}

func (s *Server) deadLettersPurge(w http.ResponseWriter, r *http.Request, ss *session) {
	s.deadLettersAct(w, r, ss, "purge", s.backend.PurgeDeadLetters)
}

func (s *Server) deadLettersAct(w http.ResponseWriter, r *http.Request, ss *session, verb string, act func(ctx context.Context, ids []string) (int, error)) {
	ids := r.PostForm["id"]
	if len(ids) == 0 {
		http.Redirect(w, r, "/deadletters?flash=nothing-selected", http.StatusSeeOther)
		return
	}
	n, err := act(r.Context(), ids)
	s.auditLog(r, ss, "deadletter."+verb, strings.Join(ids, ","), err)
	if err != nil {
		s.backendError(w, r, ss, verb+" dead letters", err)
		return
	}
	past := map[string]string{"replay": "replayed", "purge": "discarded"}[verb]
	q := url.Values{"flash": {past}, "n": {strconv.Itoa(n)}, "of": {strconv.Itoa(len(ids))}}
	for _, k := range []string{"destination", "reason"} {
		if v := r.PostForm.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	http.Redirect(w, r, "/deadletters?"+q.Encode(), http.StatusSeeOther)
}
