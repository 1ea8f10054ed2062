package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/config"
	"github.com/logshipper/logshipper/internal/console"
	"github.com/logshipper/logshipper/internal/console/schema"
	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/rules"
)

// The console's editing pages read the configuration file (what it sets, as written) and change
// it with config.Editor: each change is checked as `validate` checks the file (with the checks
// of this machine that `run` makes), written atomically keeping comments and order, and applied
// with Reload. A change with problems is refused as a *console.InvalidError and the file is
// left as it was.
//
// A console SIEM mapping with several destinations is several siem_mappings entries of the
// same source and rule: the first destination's named <name>, each other's <name> (<destination>).
// Reading the file, entries so named are shown again as one mapping.

// editor is the Editor of the running configuration's file, with the checks of `run`.
func (b *consoleBackend) editor() config.Editor {
	return config.Editor{
		Path:     b.a.config().Path,
		Registry: b.reg,
		Options:  append([]config.Option{config.CheckHost()}, LoadOptions()...),
	}
}

// fileConfig is the configuration file as it is now, loaded; when it does not load (edited by
// hand since), the running configuration.
func (b *consoleBackend) fileConfig() *config.Config {
	running := b.a.config()
	cfg, err := config.Load(running.Path, b.reg, config.Resolver{}, LoadOptions()...)
	if err != nil {
		b.a.log.Warn("console: the configuration file does not load; the console shows the running configuration", "config", running.Path, "error", err)
		return running
	}
	return cfg
}

// apply writes edits to the file and applies the result. what describes the change for the
// log.
func (b *consoleBackend) apply(ctx context.Context, what string, edits ...config.Edit) error {
	b.editMu.Lock()
	defer b.editMu.Unlock()
	cfg, err := b.editor().Apply(edits...)
	if err != nil {
		return invalid(err)
	}
	b.a.log.Info("console: configuration written", "config", cfg.Path, "change", what)
	if _, err := b.a.Reload(ctx, cfg); err != nil {
		return fmt.Errorf("%s: written to %s, but not applied: %w", what, cfg.Path, err)
	}
	return nil
}

// check makes edits in memory and checks the result as apply would, writing nothing.
func (b *consoleBackend) check(edits ...config.Edit) error {
	if _, err := b.editor().Check(edits...); err != nil {
		return invalid(err)
	}
	return nil
}

var leadingLine = regexp.MustCompile(`^line \d+: `)

// invalid turns the Editor's *config.Error into the console's *InvalidError: every problem with
// its path (without the line, which is that of the edited text, not of the file on disk).
// Other errors are returned as they are; an entry the file does not have is ErrNotFound.
func invalid(err error) error {
	var ce *config.Error
	if errors.As(err, &ce) {
		inv := &console.InvalidError{}
		for _, p := range ce.Problems {
			inv.Problems = append(inv.Problems, leadingLine.ReplaceAllString(p.Error(), ""))
		}
		return inv
	}
	if errors.Is(err, config.ErrNoEntry) {
		return fmt.Errorf("%w: %w", console.ErrNotFound, err)
	}
	return err
}

// PluginTypes implements console.PluginBackend.
func (b *consoleBackend) PluginTypes(ctx context.Context) ([]console.PluginType, error) {
	var out []console.PluginType
	for _, f := range b.reg.Factories() {
		out = append(out, console.PluginType{Type: f.Type, Kind: f.Kind.String(), Summary: f.Summary})
	}
	slices.SortFunc(out, func(x, y console.PluginType) int {
		return strings.Compare(x.Kind+"\x00"+x.Type, y.Kind+"\x00"+y.Type)
	})
	return out, nil
}

// PluginSchema implements console.PluginBackend.
func (b *consoleBackend) PluginSchema(ctx context.Context, typ, kind string) (schema.Schema, error) {
	k, ok := plugin.ParseKind(kind)
	if !ok {
		return schema.Schema{}, fmt.Errorf("plugin kind %q: %w", kind, console.ErrNotFound)
	}
	f, ok := b.reg.Lookup(typ, k)
	if !ok {
		return schema.Schema{}, fmt.Errorf("%s type %q: %w", kind, typ, console.ErrNotFound)
	}
	sc, err := schema.Of(f)
	if err != nil {
		// A type without a README (a test's) still has its fields, without help.
		return schema.Derive(f)
	}
	return sc, nil
}

// Plugins implements console.PluginBackend.
func (b *consoleBackend) Plugins(ctx context.Context) ([]console.PluginConfig, error) {
	entries, err := b.editor().PluginEntries()
	if err != nil {
		return nil, err
	}
	out := make([]console.PluginConfig, 0, len(entries))
	for _, e := range entries {
		pc, err := b.pluginConfig(ctx, e)
		if err != nil {
			return nil, err
		}
		out = append(out, pc)
	}
	return out, nil
}

// Plugin implements console.PluginBackend.
func (b *consoleBackend) Plugin(ctx context.Context, name string) (console.PluginConfig, error) {
	e, err := b.entry(name)
	if err != nil {
		return console.PluginConfig{}, err
	}
	return b.pluginConfig(ctx, e)
}

// entry is the file's plugin entry named name.
func (b *consoleBackend) entry(name string) (config.PluginEntry, error) {
	entries, err := b.editor().PluginEntries()
	if err != nil {
		return config.PluginEntry{}, err
	}
	for _, e := range entries {
		if e.Name == name {
			return e, nil
		}
	}
	return config.PluginEntry{}, fmt.Errorf("plugin configuration %q: %w", name, console.ErrNotFound)
}

// kindOf is the kind of an entry: its kind key; else its type's, when the type has one; else
// the kind the running configuration gave it.
func (b *consoleBackend) kindOf(e config.PluginEntry) string {
	if e.Kind != "" {
		return e.Kind
	}
	if ks := b.reg.Kinds(e.Type); len(ks) == 1 {
		return ks[0].String()
	}
	if p, ok := b.a.config().Plugin(e.Name); ok {
		return p.Kind.String()
	}
	return ""
}

// pluginConfig is the form's view of entry e: the values it sets by key path, as text, and
// which secrets it sets (never their value).
func (b *consoleBackend) pluginConfig(ctx context.Context, e config.PluginEntry) (console.PluginConfig, error) {
	pc := console.PluginConfig{Name: e.Name, Type: e.Type, Kind: b.kindOf(e), Disabled: e.Disabled,
		Values: map[string]string{}, SecretsSet: map[string]bool{}}
	sc, err := b.PluginSchema(ctx, pc.Type, pc.Kind)
	if err != nil {
		// An entry of an unknown type or kind: nothing can be shown safely but its keys.
		return pc, nil
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			key := prefix + k
			if prefix == "" && slices.Contains([]string{"name", "type", "kind", "disabled"}, k) {
				continue
			}
			fd, isField := sc.Field(key)
			if sub, ok := v.(map[string]any); ok && (!isField || fd.Kind != schema.KindMap) {
				walk(key+".", sub)
				continue
			}
			if isField && fd.Secret {
				pc.SecretsSet[key] = v != nil && formText(v) != ""
				continue
			}
			// A key the schema does not know is not an option of the type; it is no secret
			// of a known path, but the file's value is shown only for the schema's fields.
			if isField {
				pc.Values[key] = formText(v)
			}
		}
	}
	walk("", e.Values)
	return pc, nil
}

// formText writes a value of the file as the form shows it: a list one value a line, a mapping
// one "key: value" a line, sorted.
func formText(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = formText(e)
		}
		return strings.Join(parts, "\n")
	case map[string]any:
		var lines []string
		for _, k := range slices.Sorted(maps.Keys(t)) {
			lines = append(lines, k+": "+formText(t[k]))
		}
		return strings.Join(lines, "\n")
	}
	return fmt.Sprint(v)
}

// pluginEdits are the file edits of a plugin form: the entry written (typed by the schema),
// the secrets cleared, and on a rename, the mappings that name it.
func (b *consoleBackend) pluginEdits(ctx context.Context, edit console.PluginEdit) ([]config.Edit, error) {
	sc, err := b.PluginSchema(ctx, edit.Type, edit.Kind)
	if err != nil {
		return nil, err
	}
	var old *config.PluginEntry
	if edit.Original != "" {
		e, err := b.entry(edit.Original)
		if err != nil {
			return nil, err
		}
		old = &e
	}
	entry := map[string]any{"name": edit.Name, "type": edit.Type}
	if old != nil && old.Kind != "" || old == nil && len(b.reg.Kinds(edit.Type)) > 1 {
		entry["kind"] = edit.Kind
	}
	if old != nil && old.Disabled {
		entry["disabled"] = true
	}
	inv := &console.InvalidError{}
	for _, key := range slices.Sorted(maps.Keys(edit.Values)) {
		fd, ok := sc.Field(key)
		if !ok {
			inv.Problems = append(inv.Problems, fmt.Sprintf("%s: not an option of the %s %s", key, edit.Type, edit.Kind))
			continue
		}
		v, err := typedValue(fd, edit.Values[key])
		if err != nil {
			inv.Problems = append(inv.Problems, fmt.Sprintf("%s: %v", key, err))
			continue
		}
		setPath(entry, strings.Split(key, "."), v)
	}
	if len(inv.Problems) > 0 {
		return nil, inv
	}
	edits := []config.Edit{config.SetPlugin(edit.Original, entry)}
	if old != nil {
		// A secret neither sent nor kept is one the form cleared.
		var cleared []string
		for _, fd := range sc.Fields {
			if _, sent := edit.Values[fd.Key]; fd.Secret && !sent && !slices.Contains(edit.KeepSecrets, fd.Key) {
				cleared = append(cleared, fd.Key)
			}
		}
		if len(cleared) > 0 {
			edits = append(edits, config.UnsetPluginKeys(edit.Name, cleared...))
		}
	}
	if old != nil && edit.Original != edit.Name {
		edits = append(edits, config.RenamePlugin(edit.Original, edit.Name))
		// A mapping's entry named after the destination renamed follows it.
		for _, g := range b.mappingGroups(b.fileConfig()) {
			for i, d := range g.Destinations {
				if i > 0 && d == edit.Original {
					r := g.route(i)
					r.Destination, r.Name = edit.Name, groupEntryName(g.Name, edit.Name)
					edits = append(edits, config.SetMapping(g.entries[i], r))
				}
			}
		}
	}
	return edits, nil
}

// typedValue reads a form's text as the option's kind wants it in the YAML entry. A text with
// a ${...} reference is written as it is, for the loader to interpolate.
func typedValue(fd schema.Field, text string) (any, error) {
	if strings.Contains(text, "${") && fd.Kind != schema.KindList && fd.Kind != schema.KindMap {
		return text, nil
	}
	switch fd.Kind {
	case schema.KindInt:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", text)
		}
		return n, nil
	case schema.KindFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", text)
		}
		return f, nil
	case schema.KindBool:
		v, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", text)
		}
		return v, nil
	case schema.KindDuration:
		if _, err := time.ParseDuration(strings.TrimSpace(text)); err != nil {
			return nil, fmt.Errorf("%q is not a duration (a number with a unit: 500ms, 30s, 5m, 1h)", text)
		}
		return strings.TrimSpace(text), nil
	case schema.KindSize:
		if _, err := config.ParseByteSize(text); err != nil {
			return nil, err
		}
		return strings.TrimSpace(text), nil
	case schema.KindMode:
		if _, err := config.ParseFileMode(text); err != nil {
			return nil, err
		}
		return strings.TrimSpace(text), nil
	case schema.KindList:
		var items []any
		for line := range strings.SplitSeq(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			if n, err := strconv.ParseInt(line, 10, 64); err == nil {
				items = append(items, n)
			} else {
				items = append(items, line)
			}
		}
		return items, nil
	case schema.KindMap:
		m := map[string]any{}
		for line := range strings.SplitSeq(text, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("%q is not key: value", line)
			}
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		return m, nil
	}
	return text, nil
}

// setPath sets m[path[0]][path[1]]... to v, making the sections on the way.
func setPath(m map[string]any, path []string, v any) {
	if len(path) == 1 {
		m[path[0]] = v
		return
	}
	sub, ok := m[path[0]].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[path[0]] = sub
	}
	setPath(sub, path[1:], v)
}

// ValidatePlugin implements console.PluginBackend.
func (b *consoleBackend) ValidatePlugin(ctx context.Context, edit console.PluginEdit) error {
	edits, err := b.pluginEdits(ctx, edit)
	if err != nil {
		return err
	}
	return b.check(edits...)
}

// SavePlugin implements console.PluginBackend.
func (b *consoleBackend) SavePlugin(ctx context.Context, edit console.PluginEdit) error {
	edits, err := b.pluginEdits(ctx, edit)
	if err != nil {
		return err
	}
	what := "plugin " + edit.Name + " saved"
	switch {
	case edit.Original == "":
		what = "plugin " + edit.Name + " added"
	case edit.Original != edit.Name:
		what = "plugin " + edit.Original + " saved as " + edit.Name
	}
	return b.apply(ctx, what, edits...)
}

// SetPluginDisabled implements console.PluginBackend.
func (b *consoleBackend) SetPluginDisabled(ctx context.Context, name string, disabled bool) error {
	what := "plugin " + name + " enabled"
	if disabled {
		what = "plugin " + name + " disabled"
	}
	return b.apply(ctx, what, config.SetPluginDisabled(name, disabled))
}

// DeletePlugin implements console.PluginBackend: refused while a SIEM mapping names it.
func (b *consoleBackend) DeletePlugin(ctx context.Context, name string) error {
	var users []string
	for _, g := range b.mappingGroups(b.fileConfig()) {
		if g.Source == name || slices.Contains(g.Destinations, name) {
			users = append(users, g.Name)
		}
	}
	if len(users) > 0 {
		return &console.InvalidError{Problems: []string{fmt.Sprintf("%s is used by the SIEM mapping(s) %s: change or delete them first", name, strings.Join(users, ", "))}}
	}
	return b.apply(ctx, "plugin "+name+" deleted", config.DeletePlugin(name))
}

// CheckPlugin implements console.PluginBackend: the live check of `validate --check`, on the
// configuration as the file has it.
func (b *consoleBackend) CheckPlugin(ctx context.Context, name string) (console.CheckResult, error) {
	p, ok := b.fileConfig().Plugin(name)
	if !ok {
		return console.CheckResult{}, fmt.Errorf("plugin configuration %q: %w", name, console.ErrNotFound)
	}
	switch err := CheckPlugin(ctx, b.reg, b.a.log, p, ""); {
	case errors.Is(err, ErrNoCheck):
		return console.CheckResult{OK: true, Detail: err.Error()}, nil
	case err != nil:
		return console.CheckResult{Detail: err.Error()}, nil
	}
	return console.CheckResult{OK: true, Detail: fmt.Sprintf("%s (%s) answers as configured", p.Name, p.Type)}, nil
}

// Rules implements console.RuleBackend.
func (b *consoleBackend) Rules(ctx context.Context) ([]console.Rule, error) {
	var out []console.Rule
	for _, r := range b.fileConfig().BusinessRules {
		out = append(out, console.Rule{Name: r.Name, Description: r.Description, Expr: r.Expr, Filter: filterText(r.Filter)})
	}
	return out, nil
}

// filterText is a rule's filter as the console shows it: the file's text, or its mapping as
// JSON.
func filterText(f any) string {
	switch t := f.(type) {
	case nil:
		return ""
	case string:
		return t
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Sprint(f)
	}
	return string(data)
}

// SaveRule implements console.RuleBackend. A filter sent with the same value as the file's
// mapping keeps the mapping as written.
func (b *consoleBackend) SaveRule(ctx context.Context, original string, r console.Rule) error {
	rc := config.RuleConfig{Name: r.Name, Description: r.Description, Expr: strings.TrimSpace(r.Expr)}
	if f := strings.TrimSpace(r.Filter); f != "" {
		rc.Filter = f
		for _, old := range b.fileConfig().BusinessRules {
			if old.Name == original && old.Filter != nil && sameJSON(old.Filter, f) {
				rc.Filter = old.Filter
			}
		}
	}
	edits := []config.Edit{config.SetRule(original, rc)}
	what := "business rule " + r.Name + " saved"
	if original == "" {
		what = "business rule " + r.Name + " added"
	} else if original != r.Name {
		edits = append(edits, config.RenameRule(original, r.Name))
		what = "business rule " + original + " saved as " + r.Name
	}
	return b.apply(ctx, what, edits...)
}

// sameJSON reports whether v, a filter as the file holds it, is the JSON text s.
func sameJSON(v any, s string) bool {
	var a, c any
	data, err := json.Marshal(v)
	if err != nil || json.Unmarshal(data, &a) != nil || json.Unmarshal([]byte(s), &c) != nil {
		return false
	}
	return reflect.DeepEqual(a, c)
}

// DeleteRule implements console.RuleBackend: refused while a SIEM mapping uses it.
func (b *consoleBackend) DeleteRule(ctx context.Context, name string) error {
	var users []string
	for _, g := range b.mappingGroups(b.fileConfig()) {
		if g.Rule == name {
			users = append(users, g.Name)
		}
	}
	if len(users) > 0 {
		return &console.InvalidError{Problems: []string{fmt.Sprintf("business rule %s is used by the SIEM mapping(s) %s: change or delete them first", name, strings.Join(users, ", "))}}
	}
	return b.apply(ctx, "business rule "+name+" deleted", config.DeleteRule(name))
}

// TestRule implements console.RuleBackend: the rule, compiled as the loader compiles it, over
// the sample records (read as `rules test` reads them) or the last records the source read.
func (b *consoleBackend) TestRule(ctx context.Context, t console.RuleTest) (console.RuleTestResult, error) {
	name := t.Rule.Name
	if name == "" {
		name = "test"
	}
	rc := config.RuleConfig{Name: name, Expr: strings.TrimSpace(t.Rule.Expr)}
	if f := strings.TrimSpace(t.Rule.Filter); f != "" {
		rc.Filter = f
	}
	rule, err := config.CompileRule(rc)
	if err != nil {
		return console.RuleTestResult{Error: err.Error()}, nil
	}
	samples, err := b.samples(t.Records, t.Source, t.Last)
	if err != nil {
		return console.RuleTestResult{Error: err.Error()}, nil
	}
	var res console.RuleTestResult
	for _, s := range samples {
		ok, why := explain(rule, s.Record)
		res.Records = append(res.Records, console.RuleTestRecord{Record: string(s.Record.Raw), Match: ok, Why: why})
	}
	return res, nil
}

// samples are the records given (NDJSON or a JSON array), or else the last n records source
// read (all those kept when n is 0).
func (b *consoleBackend) samples(records, source string, n int) ([]event.Sample, error) {
	if strings.TrimSpace(records) != "" {
		s, err := event.ParseSamples([]byte(records), "records")
		if err != nil {
			return nil, err
		}
		if len(s) == 0 {
			return nil, errors.New("no record given")
		}
		return s, nil
	}
	if source == "" {
		return nil, errors.New("give sample records, or a source whose last records to use")
	}
	if b.recent == nil {
		return nil, errors.New("the last records of the sources are not kept")
	}
	last := b.recent.Last(source, n)
	if len(last) == 0 {
		return nil, fmt.Errorf("source %s has read no record since logshipper started", source)
	}
	out := make([]event.Sample, len(last))
	for i, r := range last {
		out[i] = event.Sample{Where: fmt.Sprintf("%s, %s", source, r.Seen.Format(time.RFC3339)), Record: r.Event(source)}
	}
	return out, nil
}

// explain evaluates rule on rec, as `rules test` does, and says why it matches or not: the
// error evaluating it, or the values of the fields it reads.
func explain(rule *rules.Rule, rec *event.Record) (bool, string) {
	ok, err := rule.Match(rec)
	if err != nil {
		return false, "no match: " + err.Error()
	}
	verdict := "no match"
	if ok {
		verdict = "match"
	}
	names, all := rule.Needs()
	if rule.MatchesAll() {
		return ok, verdict + ": the rule matches every record"
	}
	fields, err := rec.Fields()
	if err != nil || all || len(names) == 0 {
		return ok, verdict
	}
	parts := make([]string, 0, len(names))
	for _, n := range names {
		v, present := fields[n]
		if !present {
			parts = append(parts, n+" is missing")
			continue
		}
		text, err := json.Marshal(v)
		if err != nil {
			text = []byte(fmt.Sprint(v))
		}
		const most = 80
		if len(text) > most {
			text = append(text[:most:most], "..."...)
		}
		parts = append(parts, n+" = "+string(text))
	}
	return ok, verdict + " with " + strings.Join(parts, ", ")
}

// Sources implements console.RuleBackend.
func (b *consoleBackend) Sources(ctx context.Context) ([]string, error) {
	var out []string
	for _, p := range b.fileConfig().Plugins {
		if p.Kind == plugin.KindSource {
			out = append(out, p.Name)
		}
	}
	return out, nil
}

// mappingGroup is a console SIEM mapping and the names of its entries in the file, one a
// destination.
type mappingGroup struct {
	console.Mapping
	entries []string
}

// route is the siem_mappings entry of the group's i-th destination, as config writes it.
func (g mappingGroup) route(i int) config.RouteConfig {
	r := config.RouteConfig{Name: g.entries[i], Source: g.Source, Destination: g.Destinations[i], Rule: g.Rule}
	return r
}

// groupEntryName names the entry of a console mapping's destination other than its first.
func groupEntryName(name, destination string) string { return name + " (" + destination + ")" }

// mappingGroups reads the SIEM mappings of cfg as the console shows them: an entry named
// "<name> (<destination>)", to that destination, after the entry <name> of the same source and
// rule, is one more destination of <name>.
func (b *consoleBackend) mappingGroups(cfg *config.Config) []mappingGroup {
	var out []mappingGroup
	byName := map[string]int{}
	for _, r := range cfg.SIEMMappings {
		if i := strings.LastIndex(r.Name, " ("); i > 0 && r.Name == groupEntryName(r.Name[:i], r.Destination) {
			if j, ok := byName[r.Name[:i]]; ok && out[j].Source == r.Source && out[j].Rule == r.Rule && !slices.Contains(out[j].Destinations, r.Destination) {
				out[j].Destinations = append(out[j].Destinations, r.Destination)
				out[j].entries = append(out[j].entries, r.Name)
				continue
			}
		}
		byName[r.Name] = len(out)
		out = append(out, mappingGroup{
			Mapping: console.Mapping{Name: r.Name, Source: r.Source, Rule: r.Rule, Destinations: []string{r.Destination}},
			entries: []string{r.Name},
		})
	}
	return out
}

// mappingsOf lists the SIEM mappings of cfg as the console shows them (mappingGroups).
func (b *consoleBackend) mappingsOf(cfg *config.Config) []console.Mapping {
	groups := b.mappingGroups(cfg)
	out := make([]console.Mapping, len(groups))
	for i, g := range groups {
		out[i] = g.Mapping
	}
	return out
}

// Mappings implements console.MappingBackend.
func (b *consoleBackend) Mappings(ctx context.Context) ([]console.Mapping, error) {
	return b.mappingsOf(b.fileConfig()), nil
}

// SaveMapping implements console.MappingBackend: the entries of mapping original are edited in
// place (one a destination kept), added (a destination added) or removed.
func (b *consoleBackend) SaveMapping(ctx context.Context, original string, m console.Mapping) error {
	edits, err := b.mappingEdits(original, m)
	if err != nil {
		return err
	}
	what := "SIEM mapping " + m.Name + " saved"
	if original == "" {
		what = "SIEM mapping " + m.Name + " added"
	}
	return b.apply(ctx, what, edits...)
}

func (b *consoleBackend) mappingEdits(original string, m console.Mapping) ([]config.Edit, error) {
	var dests []string
	for _, d := range m.Destinations {
		if d = strings.TrimSpace(d); d != "" && !slices.Contains(dests, d) {
			dests = append(dests, d)
		}
	}
	if len(dests) == 0 {
		return nil, &console.InvalidError{Problems: []string{"destinations: choose at least one"}}
	}
	rule := strings.TrimSpace(m.Rule)
	if rule == "" {
		rule = rules.All
	}
	name := strings.TrimSpace(m.Name)
	base := name
	if base == "" {
		base = m.Source + "->" + dests[0]
		if rule != rules.All {
			base += " [" + rule + "]"
		}
	}
	var old *mappingGroup
	if original != "" {
		for _, g := range b.mappingGroups(b.fileConfig()) {
			if g.Name == original {
				old = &g
				break
			}
		}
		if old == nil {
			return nil, fmt.Errorf("SIEM mapping %q: %w", original, console.ErrNotFound)
		}
	}
	// First every entry kept takes a name no entry has, then its final name: renames among
	// the entries of the mapping cannot meet each other half-way.
	var edits, finals []config.Edit
	for i, d := range dests {
		r := config.RouteConfig{Name: name, Source: m.Source, Destination: d, Rule: rule}
		if i > 0 {
			r.Name = groupEntryName(base, d)
		}
		j := -1
		if old != nil {
			j = slices.Index(old.Destinations, d)
		}
		if j < 0 {
			finals = append(finals, config.SetMapping("", r))
			continue
		}
		tmp := r
		tmp.Name = fmt.Sprintf("\x00console-edit-%d", i)
		edits = append(edits, config.SetMapping(old.entries[j], tmp))
		finals = append(finals, config.SetMapping(tmp.Name, r))
	}
	if old != nil {
		for j, d := range old.Destinations {
			if !slices.Contains(dests, d) {
				edits = append(edits, config.DeleteMapping(old.entries[j]))
			}
		}
	}
	return append(edits, finals...), nil
}

// DeleteMapping implements console.MappingBackend: every entry of the mapping.
func (b *consoleBackend) DeleteMapping(ctx context.Context, name string) error {
	for _, g := range b.mappingGroups(b.fileConfig()) {
		if g.Name != name {
			continue
		}
		var edits []config.Edit
		for _, e := range g.entries {
			edits = append(edits, config.DeleteMapping(e))
		}
		return b.apply(ctx, "SIEM mapping "+name+" deleted", edits...)
	}
	return fmt.Errorf("SIEM mapping %q: %w", name, console.ErrNotFound)
}

// PreviewMapping implements console.MappingBackend: the mapping's rule on the record (the one
// given, else the last one its source read), and what each destination would send, as
// `mapping preview` shows it. A record given takes the kind of the source's records (the
// last one read) when there is one.
func (b *consoleBackend) PreviewMapping(ctx context.Context, p console.MappingPreview) (console.MappingPreviewResult, error) {
	cfg := b.fileConfig()
	m := p.Mapping
	ruleName := strings.TrimSpace(m.Rule)
	if ruleName == "" {
		ruleName = rules.All
	}
	rule, ok := cfg.Rules.Get(ruleName)
	if !ok {
		return console.MappingPreviewResult{Error: fmt.Sprintf("no business rule is named %q", ruleName)}, nil
	}
	samples, err := b.samples(p.Record, m.Source, 1)
	if err != nil {
		return console.MappingPreviewResult{Error: err.Error()}, nil
	}
	rec := samples[0].Record
	if strings.TrimSpace(p.Record) != "" {
		rec.Source = m.Source
		if b.recent != nil {
			if last := b.recent.Last(m.Source, 1); len(last) == 1 {
				rec.Kind = last[0].Kind
				rec.Subtype = SampleSubtype(rec, rec.Kind, "")
				if rec.Subtype == "" {
					rec.Subtype = last[0].Subtype
				}
			}
		}
	}
	res := console.MappingPreviewResult{}
	res.Matched, res.Why = explain(rule, rec)
	for _, d := range m.Destinations {
		out := console.MappingOutput{Destination: d}
		dp, ok := cfg.Plugin(d)
		if !ok || dp.Kind != plugin.KindDestination {
			out.Error = fmt.Sprintf("no destination is named %q", d)
			res.Outputs = append(res.Outputs, out)
			continue
		}
		pv, err := NewPreviewer(b.reg, b.a.log, dp)
		switch {
		case errors.Is(err, ErrNoPreview):
			out.Output = string(rec.Raw)
		case err != nil:
			out.Error = err.Error()
		default:
			got, perr := pv.Preview(rec)
			if perr != nil {
				out.Error = "not sent: " + perr.Error()
			} else {
				out.Output = got
			}
			if cerr := pv.Close(ctx); cerr != nil {
				b.a.log.Warn("console: closing a preview", "plugin", d, "error", cerr)
			}
		}
		res.Outputs = append(res.Outputs, out)
	}
	return res, nil
}
