package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/rules"
)

// Error lists every problem found in a configuration file.
type Error struct {
	File     string
	Problems []error
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		b.WriteString(": ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Option changes what Load and Parse check.
type Option func(*loader)

// CheckHost adds the checks of this machine that run would otherwise fail on when it starts,
// without creating anything: data_dir and the files plugins write (HostChecker) must be
// usable (a directory where one is needed, writable). validate and run ask for them; tests
// of configurations written for other machines do not.
func CheckHost() Option { return func(l *loader) { l.host = true } }

// Section adds a top-level section whose type lives in a package internal/config cannot import
// (internal/cluster's `cluster:`). newValue returns a pointer to the section's defaults; when
// the file has the key, the loader checks its keys (an unknown key with "did you mean"), decodes
// it over the defaults, validates it with ValidateTree (Validator at every level, each problem
// with its path and line), collects its Warnings and, with CheckHost, its HostChecker problems,
// and stores it in Config.Sections[name]. A file without the key gets no entry.
func Section(name string, newValue func() any) Option {
	return func(l *loader) { l.sections = append(l.sections, section{name: name, newValue: newValue}) }
}

type section struct {
	name     string
	newValue func() any
}

// Load reads, interpolates, decodes, defaults and validates the file at path. Plugin options
// are decoded with the factories of reg. On failure the error is an *Error listing everything.
func Load(path string, reg *plugin.Registry, res Resolver, opts ...Option) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	if res.Dir == "" {
		res.Dir = filepath.Dir(path)
	}
	return Parse(data, path, reg, res, opts...)
}

// topLevel mirrors Config with the plugin entries left as raw nodes.
type topLevel struct {
	Config  `yaml:",inline"`
	Plugins []yaml.Node `yaml:"plugins"`
}

// Parse is Load on bytes already read; name is used in messages.
func Parse(data []byte, name string, reg *plugin.Registry, res Resolver, opts ...Option) (*Config, error) {
	l := &loader{reg: reg, lines: linePaths{}}
	for _, o := range opts {
		o(l)
	}
	cfg := l.parse(data, res)
	if len(l.errs) > 0 {
		l.placeLines()
		return nil, l.fail(name)
	}
	cfg.Path = name
	cfg.Warnings = append(l.warns, cfg.Warnings...)
	return cfg, nil
}

type loader struct {
	reg   *plugin.Registry
	errs  []error
	subs  substitutions // interpolated values, hidden in messages
	lines linePaths     // line -> path, to put paths on the decoder's type errors
	warns []string      // deprecated keys met (see Upgrader)
	// unreadable names plugin entries that could not be read at all (no or an unknown type):
	// their problem is reported; a mapping naming them is not reported again.
	unreadable []string
	host       bool // CheckHost
	sections   []section
}

func (l *loader) fail(name string) error {
	sort.SliceStable(l.errs, func(i, j int) bool { return lineOf(l.errs[i]) < lineOf(l.errs[j]) })
	// Longest first: a short value that is part of a longer one must not leave the rest of the
	// longer one showing ("[redacted]rest-of-the-token").
	subs := slices.Clone(l.subs.values)
	sort.SliceStable(subs, func(i, j int) bool { return len(subs[i]) > len(subs[j]) })
	for i, e := range l.errs {
		l.errs[i] = redactErr{e, subs}
	}
	return &Error{File: name, Problems: l.errs}
}

// syntaxMessage is the YAML parser's message for data, naming the line where the text stops
// being YAML. The parser names the start of the block it was reading ("line 1: did not find
// expected '-' indicator" for a list item indented one space too few on line 3): the first
// line whose addition makes the text fail with the same message is the one to fix.
func syntaxMessage(data []byte, msg string) string {
	var reported int
	rest, ok := "", false
	if _, err := fmt.Sscanf(msg, "line %d:", &reported); err == nil {
		_, rest, ok = strings.Cut(msg, ": ")
	}
	if !ok {
		return msg
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for n := reported; n <= len(lines) && n <= reported+500; n++ {
		var doc yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:n], nil), &doc)
		if err == nil {
			continue
		}
		if strings.HasSuffix(err.Error(), rest) {
			if n == reported {
				return msg
			}
			return fmt.Sprintf("line %d: %s (the block it belongs to starts on line %d: check the indentation)", n, rest, reported)
		}
		break // a different problem first (a flow collection cut short): keep the parser's line
	}
	return msg
}

// placeLines gives a line to each problem found after decoding (a Validate method, a rule, a
// mapping) that has a path but no line: the line of its path's deepest key that the file holds,
// the key its message starts with included ("plugins[0] (in)" + "poll_interval: must be ...").
func (l *loader) placeLines() {
	at := map[string]int{}
	for line, lp := range l.lines {
		if prev, ok := at[lp.path]; !ok || line < prev {
			at[lp.path] = line
		}
	}
	for _, e := range l.errs {
		var le *LineError
		if !errors.As(e, &le) || le.Line > 0 || le.Path == "" && leadingKey(le.Err.Error()) == "" {
			continue
		}
		p := le.Path
		if k := leadingKey(le.Err.Error()); k != "" {
			p = joinPath(p, k)
		}
		for ; p != "" && le.Line == 0; p = parentPath(p) {
			if line, ok := at[p]; ok {
				le.Line = line
				continue
			}
			// Entries other than plugins are noted by index alone ("business_rules[0].filter"
			// for "business_rules[0] (r1): filter").
			if line, ok := at[plainPath(p)]; ok {
				le.Line = line
				continue
			}
			// A key whose line holds deeper keys too (batch: {max_records: 10}) is known by
			// them.
			for q, line := range at {
				if strings.HasPrefix(q, p+".") || strings.HasPrefix(q, p+"[") || strings.HasPrefix(q, p+": ") {
					if le.Line == 0 || line < le.Line {
						le.Line = line
					}
				}
			}
		}
	}
}

// plainPath drops an entry's name from a path, as the key walk notes it: "business_rules[0]
// (r1): filter" is "business_rules[0].filter".
func plainPath(p string) string {
	i := strings.Index(p, " (")
	j := strings.Index(p, ")")
	if i < 0 || j < i {
		return p
	}
	rest := strings.TrimPrefix(p[j+1:], ": ")
	if rest == "" {
		return p[:i]
	}
	return p[:i] + "." + rest
}

// leadingKey is the key a problem's message starts with ("batch.max_records" of
// "batch.max_records: must be ..."), or "".
func leadingKey(msg string) string {
	k, _, ok := strings.Cut(msg, ": ")
	if !ok || k == "" {
		return ""
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '[' || c == ']') {
			return ""
		}
	}
	return k
}

// parentPath is the path one level up: "a.b" -> "a", "x[2]" -> "x", "plugins[1] (n): k" ->
// "plugins[1] (n)" -> "plugins[1]"; "" at the top.
func parentPath(p string) string {
	tail := p
	if i := strings.LastIndex(p, ": "); i >= 0 {
		tail = p[i+2:]
	}
	switch {
	case strings.HasSuffix(p, ")") && strings.Contains(p, " ("):
		return p[:strings.LastIndex(p, " (")]
	case strings.HasSuffix(tail, "]") && strings.Contains(tail, "["):
		return p[:strings.LastIndex(p, "[")]
	case strings.Contains(tail, "."):
		return p[:strings.LastIndex(p, ".")]
	case tail != p:
		return p[:strings.LastIndex(p, ": ")]
	}
	return ""
}

// lineOf orders problems: those with a line first, by line; the others after, as found.
func lineOf(err error) int {
	var le *LineError
	if errors.As(err, &le) && le.Line > 0 {
		return le.Line
	}
	return 1 << 30
}

type redactErr struct {
	err  error
	subs []string
}

func (r redactErr) Error() string {
	s := r.err.Error()
	for _, v := range r.subs {
		s = strings.ReplaceAll(s, v, redacted)
		// A message that quotes the value with %q shows it escaped.
		if q := strconv.Quote(v); q[1:len(q)-1] != v {
			s = strings.ReplaceAll(s, q[1:len(q)-1], redacted)
		}
	}
	return s
}

func (r redactErr) Unwrap() error { return r.err }

func (l *loader) parse(data []byte, res Resolver) *Config {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			l.errs = append(l.errs, errors.New("the file is empty"))
		} else {
			l.errs = append(l.errs, errors.New(syntaxMessage(data, strings.TrimPrefix(err.Error(), "yaml: "))))
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.errs = append(l.errs, &LineError{Line: extra.Line, Err: errors.New("a second YAML document (after ---): a configuration is one document")})
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		l.errs = append(l.errs, &LineError{Line: root.Line, Err: errors.New("the top level must be a mapping of keys (data_dir, log, admin, plugins, business_rules, siem_mappings)")})
		return nil
	}
	res.interpolate(root, "", &l.errs, &l.subs)

	top := topLevel{Config: *Default()}
	dropExtensionKeys(root)
	fields := yamlFields(reflect.TypeOf(top))
	values := map[string]any{}
	for _, s := range l.sections {
		values[s.name] = s.newValue()
		fields[s.name] = reflect.TypeOf(values[s.name])
	}
	checkFields(root, fields, "", &l.errs, l.lines)
	l.decode(root, &top)
	cfg := &top.Config
	for j := 0; j+1 < len(root.Content); j += 2 {
		name := root.Content[j].Value
		if v, ok := values[name]; ok {
			l.decode(root.Content[j+1], v)
			if cfg.Sections == nil {
				cfg.Sections = map[string]any{}
			}
			cfg.Sections[name] = v
		}
	}
	// A top-level section with a problem of its own (a value of the wrong type, an unknown
	// key) is half-set: checking its values would only add noise. Every other section is
	// still checked, and a plugin entry that does not decode stops only its own checks
	// (below): every problem is reported in one pass.
	failed := map[string]bool{}
	for _, e := range l.errs {
		failed[topSection(e)] = true
	}

	// How the mappings use each name tells a source from a destination for types that are both.
	roles := map[string]map[plugin.Kind]bool{}
	use := func(name string, k plugin.Kind) {
		if roles[name] == nil {
			roles[name] = map[plugin.Kind]bool{}
		}
		roles[name][k] = true
	}
	for _, r := range cfg.SIEMMappings {
		// Not a map literal keyed by name: a mapping from a name to itself must record both.
		use(r.Source, plugin.KindSource)
		use(r.Destination, plugin.KindDestination)
	}
	names := map[string]int{}
	broken := map[*Plugin]bool{} // entries that did not decode: their values are not checked
	for i := range top.Plugins {
		before := len(l.errs)
		p := l.plugin(&top.Plugins[i], i, roles)
		if p == nil {
			if name := entryName(&top.Plugins[i]); name != "" {
				l.unreadable = append(l.unreadable, name)
			}
			continue
		}
		broken[p] = len(l.errs) > before
		if prev, dup := names[p.Name]; dup && p.Name != "" {
			l.errs = append(l.errs, &LineError{Line: p.Line, Path: fmt.Sprintf("plugins[%d] (%s)", i, p.Name), Err: fmt.Errorf("name: already used by plugins[%d]", prev)})
		}
		names[p.Name] = i
		cfg.Plugins = append(cfg.Plugins, p)
	}
	if failed[""] {
		return nil // a problem of no section: the file's shape
	}
	if len(failed) == 0 {
		l.errs = append(l.errs, ValidateTree(cfg, "")...)
		cfg.Warnings = append(cfg.Warnings, WarnTree(cfg, "")...)
	} else {
		// The top-level scalars that decoded are checked, then the sections that decoded, one
		// by one.
		var top []error
		addErrs(&top, "", cfg.Validate())
		for _, e := range top {
			if !failed[leadingKey(e.Error())] {
				l.errs = append(l.errs, e)
			}
		}
		v := reflect.ValueOf(cfg).Elem()
		for i := range v.NumField() {
			key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			if key == "" || key == "-" || failed[key] || !v.Field(i).CanAddr() {
				continue
			}
			l.errs = append(l.errs, ValidateTree(v.Field(i).Addr().Interface(), key)...)
		}
	}
	for i, p := range cfg.Plugins {
		if broken[p] {
			continue
		}
		l.errs = append(l.errs, ValidateTree(p, pluginPath(i, p.Name))...)
		// Options has no yaml key, so the walk above does not reach it.
		l.errs = append(l.errs, ValidateTree(p.Options, pluginPath(i, p.Name))...)
		cfg.Warnings = append(cfg.Warnings, WarnTree(p.Options, pluginPath(i, p.Name))...)
		if l.host {
			l.errs = append(l.errs, hostTree(p.Options, pluginPath(i, p.Name))...)
		}
	}
	for _, s := range l.sections {
		v, ok := cfg.Sections[s.name]
		if !ok || failed[s.name] {
			continue
		}
		l.errs = append(l.errs, ValidateTree(v, s.name)...)
		cfg.Warnings = append(cfg.Warnings, WarnTree(v, s.name)...)
		if l.host {
			l.errs = append(l.errs, hostTree(v, s.name)...)
		}
	}
	l.claims(cfg, broken)
	if l.host && !failed["data_dir"] && cfg.DataDir != "" {
		if err := CheckDirUsable(cfg.DataDir); err != nil {
			l.errs = append(l.errs, &LineError{Err: fmt.Errorf("data_dir: %w", err)})
		}
	}
	if failed["business_rules"] {
		return nil
	}
	l.rules(cfg)
	if !failed["siem_mappings"] {
		l.routes(cfg)
	}
	if len(l.errs) > 0 {
		return nil
	}
	return cfg
}

// topSection is the top-level key a problem is under ("log" for "log.level: ..."), or "" when
// it names none.
func topSection(err error) string {
	var le *LineError
	if !errors.As(err, &le) || le.Path == "" {
		return ""
	}
	p := le.Path
	if i := strings.IndexAny(p, ".[ :"); i >= 0 {
		p = p[:i]
	}
	return p
}

// decode fills out from n and puts paths on the decoder's type errors.
func (l *loader) decode(n *yaml.Node, out any) bool {
	err := n.Decode(out)
	if err == nil {
		return true
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		l.errs = append(l.errs, &LineError{Line: n.Line, Err: err})
		return false
	}
	for _, msg := range te.Errors {
		l.errs = append(l.errs, l.typeError(msg))
	}
	return false
}

var (
	typeErrLine = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	// The decoder writes "cannot unmarshal !!TAG `VALUE` into GOTYPE", the value cut to its first
	// seven characters and "..." when longer than ten.
	unmarshalErr = regexp.MustCompile("(?s)^cannot unmarshal !!(\\w+)( `.*`)? into (.+)$")
	tagNames     = map[string]string{"str": "string", "int": "number", "float": "number", "bool": "boolean", "map": "mapping", "seq": "list"}
)

func (l *loader) typeError(msg string) error {
	m := typeErrLine.FindStringSubmatch(msg)
	if m == nil {
		return errors.New(msg)
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	// "cannot unmarshal !!str `abc` into int" reads better as what the key wants.
	if u := unmarshalErr.FindStringSubmatch(text); u != nil {
		tag, value := u[1], u[2]
		if name, ok := tagNames[tag]; ok {
			tag = name
		}
		// A cut value is no longer the whole substituted value, so redaction would not find
		// it: the first characters of a secret would show.
		if strings.HasSuffix(value, "...`") && l.subs.lines[line] {
			value = " `" + redacted + "`"
		}
		text = "cannot use a " + tag + value + " as " + friendlyType(u[3])
	}
	return &LineError{Line: line, Path: l.lines[line].path, Err: errors.New(text)}
}

// friendlyType names a Go type the way a configuration's reader thinks of it.
func friendlyType(goType string) string {
	switch {
	case goType == "time.Duration":
		return "a duration (a number with a unit: 500ms, 30s, 5m, 1h)"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.Contains(goType, "."):
		return "a mapping of keys" // a struct: a section
	}
	return goType
}

// dropExtensionKeys removes top-level keys that start with "x-": they hold YAML anchors that
// plugin entries merge (as in Compose files) and are not configuration themselves.
func dropExtensionKeys(root *yaml.Node) {
	kept := root.Content[:0]
	for j := 0; j+1 < len(root.Content); j += 2 {
		if !strings.HasPrefix(root.Content[j].Value, "x-") {
			kept = append(kept, root.Content[j], root.Content[j+1])
		}
	}
	root.Content = kept
}

// mergedPairs returns the key/value nodes of mapping n with YAML merge keys (<<: *anchor, or a
// list of anchors) expanded, so a plugin entry can take its name, type and shared keys from an
// anchor. Keys written in n win over merged ones, and earlier merged mappings over later ones.
func mergedPairs(n *yaml.Node) []*yaml.Node {
	var own, merged []*yaml.Node
	seen := map[string]bool{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value != "<<" || n.Content[j].Tag == "!!str" && n.Content[j].Style != 0 {
			own = append(own, n.Content[j], n.Content[j+1])
			seen[n.Content[j].Value] = true
			continue
		}
		v := n.Content[j+1]
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, src := range sources {
			if src.Kind == yaml.AliasNode {
				src = src.Alias
			}
			if src == nil || src.Kind != yaml.MappingNode {
				continue // the decoder reports a merge of something that is not a mapping
			}
			merged = append(merged, mergedPairs(src)...)
		}
	}
	out := own
	for j := 0; j+1 < len(merged); j += 2 {
		if k := merged[j].Value; !seen[k] {
			seen[k] = true
			out = append(out, merged[j], merged[j+1])
		}
	}
	return out
}

func pluginPath(i int, name string) string {
	if name == "" {
		return fmt.Sprintf("plugins[%d]", i)
	}
	return fmt.Sprintf("plugins[%d] (%s)", i, name)
}

var sharedKeys = yamlFields(reflect.TypeOf(Plugin{}))

// destinationKeys are the shared keys only a destination takes.
var destinationKeys = []string{"batch", "retry", "workers", "queue_size", "spool_max_size"}

// checkOptionKeys is checkKeys for the keys of a plugin entry that are not shared keys: they
// must be fields of the type's options t. The shared keys of the kind are candidates for the
// "did you mean" suggestion too, so a misspelt "wokers" is recognised.
func checkOptionKeys(n *yaml.Node, t reflect.Type, kind plugin.Kind, path string, errs *[]error, lines linePaths) {
	st := t
	for st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() != reflect.Struct || reflect.PointerTo(st).Implements(unmarshalerType) {
		checkKeys(n, t, path, errs, lines)
		return
	}
	fields := yamlFields(st)
	for k, ft := range sharedKeys {
		if kind == plugin.KindSource && slices.Contains(destinationKeys, k) {
			continue
		}
		if _, ok := fields[k]; !ok {
			fields[k] = ft
		}
	}
	checkFields(n, fields, path, errs, lines)
}

// plugin decodes one entry: the shared keys into Plugin, the rest into the type's options.
func (l *loader) plugin(n *yaml.Node, i int, roles map[string]map[plugin.Kind]bool) *Plugin {
	p := &Plugin{Line: n.Line, set: map[string]bool{}}
	if n.Kind != yaml.MappingNode {
		l.errs = append(l.errs, &LineError{Line: n.Line, Path: pluginPath(i, ""), Err: errors.New("must be a mapping with name, type and the plugin's options")})
		return nil
	}
	shared := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	opts := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	content := mergedPairs(n)
	for j := 0; j+1 < len(content); j += 2 {
		k := content[j].Value
		switch k {
		case "name":
			p.Name = content[j+1].Value
		case "type":
			p.Type = content[j+1].Value
		case "kind":
			p.KindName = content[j+1].Value
		}
		if _, ok := sharedKeys[k]; ok {
			shared.Content = append(shared.Content, content[j], content[j+1])
			p.set[k] = true
		} else {
			opts.Content = append(opts.Content, content[j], content[j+1])
		}
	}
	path := pluginPath(i, p.Name)
	if p.Type == "" {
		l.errs = append(l.errs, &LineError{Line: n.Line, Path: path, Err: fmt.Errorf("type: missing (one of %s)", strings.Join(l.reg.Types(), ", "))})
		return nil
	}
	kind, err := l.kind(p, roles[p.Name])
	if err != nil {
		l.errs = append(l.errs, &LineError{Line: n.Line, Path: path, Err: err})
		return nil
	}
	f, _ := l.reg.Lookup(p.Type, kind)
	p.Kind = f.Kind
	if f.Kind == plugin.KindDestination {
		destinationDefaults(p, f.DeliveryDefaults())
	}
	checkKeys(shared, reflect.TypeOf(p), path, &l.errs, l.lines)
	l.decode(shared, p)
	p.Options = f.NewConfig()
	before := len(l.errs)
	opts = l.upgrade(opts, reflect.TypeOf(p.Options), path)
	if len(l.errs) > before {
		return p
	}
	checkOptionKeys(opts, reflect.TypeOf(p.Options), f.Kind, path, &l.errs, l.lines)
	if len(l.errs) == before && len(opts.Content) > 0 {
		l.decode(opts, p.Options)
	}
	return p
}

// kind decides whether entry p is a source or a destination: from its kind key, else from its
// type when that exists in one kind only, else from how the siem_mappings use its name.
func (l *loader) kind(p *Plugin, used map[plugin.Kind]bool) (plugin.Kind, error) {
	kinds := l.reg.Kinds(p.Type)
	if len(kinds) == 0 {
		return 0, fmt.Errorf("type: unknown plugin type %q (known: %s)", p.Type, strings.Join(l.reg.Types(), ", "))
	}
	if p.KindName != "" {
		k, ok := plugin.ParseKind(p.KindName)
		if !ok {
			return 0, fmt.Errorf("kind: %q is not one of source, destination", p.KindName)
		}
		if _, ok := l.reg.Lookup(p.Type, k); !ok {
			return 0, fmt.Errorf("kind: there is no %s of type %q", k, p.Type)
		}
		return k, nil
	}
	if len(kinds) == 1 {
		return kinds[0], nil
	}
	switch {
	case used[plugin.KindSource] && !used[plugin.KindDestination]:
		return plugin.KindSource, nil
	case used[plugin.KindDestination] && !used[plugin.KindSource]:
		return plugin.KindDestination, nil
	}
	if !used[plugin.KindSource] && !used[plugin.KindDestination] {
		return 0, fmt.Errorf("kind: type %q is both a source and a destination, and no siem_mapping uses the name %q to tell which (is a mapping's name misspelt?); add kind: source or kind: destination", p.Type, p.Name)
	}
	return 0, fmt.Errorf("kind: type %q is both a source and a destination, and siem_mappings use %q as both; add kind: source or kind: destination", p.Type, p.Name)
}

// CompileRule compiles business rule r as the loader does: its expr, or its filter. The error
// starts with the key at fault ("filter: ...", "expr: ...").
func CompileRule(r RuleConfig) (*rules.Rule, error) {
	switch {
	case r.Expr != "" && r.Filter != nil:
		return nil, errors.New("expr and filter: a rule has one or the other, not both")
	case r.Filter != nil:
		rule, err := rules.CompileMongo(r.Name, r.Filter)
		if err != nil {
			// The caller's path names the rule already.
			var fe *rules.FilterError
			if errors.As(err, &fe) {
				err = errors.New(fe.Problem())
			}
			return nil, fmt.Errorf("filter: %w", err)
		}
		return rule, nil
	case r.Expr == "":
		return nil, errors.New("expr: expression is empty (a rule needs expr, an expr-lang expression, or filter, a Mongo-style filter as in Cloud Exchange)")
	}
	rule, err := rules.CompileExpr(r.Name, r.Expr)
	if err != nil {
		return nil, fmt.Errorf("expr: %w", err)
	}
	return rule, nil
}

func (l *loader) rules(cfg *Config) {
	var compiled []*rules.Rule
	seen := map[string]bool{}
	for i, r := range cfg.BusinessRules {
		path := fmt.Sprintf("business_rules[%d]", i)
		if r.Name != "" {
			path += " (" + r.Name + ")"
		}
		switch {
		case r.Name == "":
			l.errs = append(l.errs, &LineError{Path: path, Err: errors.New("name: missing")})
			continue
		case r.Name == rules.All:
			l.errs = append(l.errs, &LineError{Path: path, Err: errors.New("name: All is the built-in rule that matches everything; it cannot be redefined")})
			continue
		case seen[r.Name]:
			l.errs = append(l.errs, &LineError{Path: path, Err: errors.New("name: already used by another rule")})
			continue
		}
		seen[r.Name] = true
		rule, err := CompileRule(r)
		if err != nil {
			l.errs = append(l.errs, &LineError{Path: path, Err: err})
			continue
		}
		compiled = append(compiled, rule)
	}
	set, err := rules.NewSet(compiled...)
	if err != nil {
		l.errs = append(l.errs, err)
		return
	}
	cfg.Rules = set
}

func (l *loader) routes(cfg *Config) {
	used := map[string]bool{}
	seen := map[string]int{}
	names := map[string]int{}
	for i := range cfg.SIEMMappings {
		r := &cfg.SIEMMappings[i]
		if r.Rule == "" {
			r.Rule = rules.All
		}
		if r.Name == "" {
			r.Name = r.Source + "->" + r.Destination
			if r.Rule != rules.All {
				r.Name += " [" + r.Rule + "]"
			}
		}
		path := fmt.Sprintf("siem_mappings[%d]", i)
		var v Problems
		switch src, ok := cfg.Plugin(r.Source); {
		case r.Source == "":
			v.Addf("source: missing")
		case !ok && slices.Contains(l.unreadable, r.Source):
		case !ok:
			v.Addf("source: no plugin configuration is named %q", r.Source)
		case src.Kind != plugin.KindSource:
			v.Addf("source: %q is a %s, not a source", r.Source, src.Kind)
		}
		switch dst, ok := cfg.Plugin(r.Destination); {
		case r.Destination == "":
			v.Addf("destination: missing")
		case !ok && slices.Contains(l.unreadable, r.Destination):
		case !ok:
			v.Addf("destination: no plugin configuration is named %q", r.Destination)
		case dst.Kind != plugin.KindDestination:
			v.Addf("destination: %q is a %s, not a destination", r.Destination, dst.Kind)
		}
		if cfg.Rules != nil {
			// A rule that is defined but failed to compile has its own error already.
			if _, ok := cfg.Rules.Get(r.Rule); !ok && !slices.ContainsFunc(cfg.BusinessRules, func(b RuleConfig) bool { return b.Name == r.Rule }) {
				v.Addf("rule: no business rule is named %q (known: %s)", r.Rule, strings.Join(cfg.Rules.Names(), ", "))
			}
		}
		key := r.Source + "\x00" + r.Destination + "\x00" + r.Rule
		if prev, dup := seen[key]; dup {
			v.Addf("the same source, rule and destination as siem_mappings[%d]", prev)
		}
		seen[key] = i
		if prev, dup := names[r.Name]; dup {
			v.Addf("name: %q is already the name of siem_mappings[%d]", r.Name, prev)
		}
		names[r.Name] = i
		addErrs(&l.errs, path, v.Err())
		used[r.Source], used[r.Destination] = true, true
	}
	pairs := map[string]int{}
	for i, r := range cfg.SIEMMappings {
		pair := r.Source + "\x00" + r.Destination
		if prev, dup := pairs[pair]; dup && cfg.SIEMMappings[prev].Rule != r.Rule {
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("siem_mappings[%d] and siem_mappings[%d] both send %q to %q: a record matching both rules is delivered twice", prev, i, r.Source, r.Destination))
		}
		pairs[pair] = i
	}
	for i, r := range cfg.SIEMMappings {
		if w := refusedKinds(cfg, r); w != "" {
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("siem_mappings[%d] (%s): %s", i, r.Name, w))
		}
	}
	for i, r := range cfg.SIEMMappings {
		for _, name := range []string{r.Source, r.Destination} {
			if p, ok := cfg.Plugin(name); ok && p.Disabled {
				cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("siem_mappings[%d] (%s): %q is disabled: the mapping does not run", i, r.Name, name))
				break
			}
		}
	}
	for _, p := range cfg.Plugins {
		switch {
		case p.Disabled:
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("plugin %q (%s) is disabled: it will not run", p.Name, p.Type))
		case !used[p.Name]:
			cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("plugin %q (%s) is in no siem_mapping: it will not run", p.Name, p.Type))
		}
	}
	if len(cfg.SIEMMappings) == 0 {
		cfg.Warnings = append(cfg.Warnings, "no siem_mappings: nothing will flow")
	}
}

// refusedKinds is the warning for mapping r when its destination refuses every kind of record
// its source gives (a file source without record_kind feeding CloudTrail Lake): at run the
// mapping would send nothing, each record counted unsupported_by_destination. "" when it sends.
func refusedKinds(cfg *Config, r RouteConfig) string {
	src, ok := cfg.Plugin(r.Source)
	if !ok || src.Kind != plugin.KindSource {
		return ""
	}
	dst, ok := cfg.Plugin(r.Destination)
	if !ok || dst.Kind != plugin.KindDestination {
		return ""
	}
	ks, ok := src.Options.(KindedSource)
	if !ok {
		return ""
	}
	kr, ok := dst.Options.(plugin.KindRefuser)
	if !ok {
		return ""
	}
	takesAny := func(kinds []event.Kind) bool {
		for _, k := range kinds {
			if _, refused := kr.RefuseKind(k, ""); !refused {
				return true
			}
		}
		return false
	}
	key, value, choices := ks.RecordKinds()
	kinds, known := choices[value]
	if !known || len(kinds) == 0 || takesAny(kinds) {
		return ""
	}
	reason, _ := kr.RefuseKind(kinds[0], "")
	what := fmt.Sprintf("%s is %q", key, value)
	if value == "" {
		what = key + " is not set"
	}
	var fixes []string
	for v, ks := range choices {
		if v != "" && takesAny(ks) {
			fixes = append(fixes, key+": "+v)
		}
	}
	sort.Strings(fixes)
	fix := "this destination takes none of its kinds"
	if len(fixes) > 0 {
		fix = fmt.Sprintf("set %s on %q if its records are such", strings.Join(fixes, " or "), r.Source)
	}
	return fmt.Sprintf("destination %q (%s) refuses every record of source %q (%s): %s; the mapping would send nothing (each record counted unsupported_by_destination); %s",
		r.Destination, dst.Type, r.Source, what, reason, fix)
}

// claims reports two plugin entries that claim one thing no two configurations of a process may
// share (Claimer): the second is refused, as its factory would refuse it at run.
func (l *loader) claims(cfg *Config, broken map[*Plugin]bool) {
	owner := map[string]string{} // key -> path of the entry that claimed it
	for i, p := range cfg.Plugins {
		c, ok := p.Options.(Claimer)
		if !ok || broken[p] || p.Name == "" {
			continue
		}
		path := pluginPath(i, p.Name)
		for _, cl := range c.Claims(p.Name) {
			if first, taken := owner[cl.Key]; taken {
				// The first conflict says what to change; the entry's other claims follow
				// from the same setting.
				l.errs = append(l.errs, &LineError{Line: p.Line, Path: path, Err: errors.New(cl.Problem(first))})
				break
			}
			owner[cl.Key] = path
		}
	}
}
