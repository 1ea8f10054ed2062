package console

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/logshipper/logshipper/internal/console/schema"
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/plugins/all"
)

// fakeBackend is a Backend in memory: a few plugin configurations, rules, mappings, log lines
// and dead letters, and a record of every change asked of it.
type fakeBackend struct {
	mu        sync.Mutex
	reg       *plugin.Registry
	plugins   []PluginConfig
	rules     []Rule
	mappings  []Mapping
	logs      []LogLine
	dead      []DeadLetter
	logSubs   []chan LogLine
	subscribe chan LogFilter // receives the filter of each SubscribeLogs, when not nil

	saved     []PluginEdit
	validated []PluginEdit
	deleted   []string
	disabled  map[string]bool
	replayed  []string
	purged    []string
	savedRule []Rule
	savedMap  []Mapping
	tested    []RuleTest
	// invalid, when set, is what ValidatePlugin and SavePlugin refuse with.
	invalid []string
}

var _ Backend = (*fakeBackend)(nil)

const fakeSecret = "SUPER-SECRET-TOKEN-VALUE"

func newFakeBackend() *fakeBackend {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return &fakeBackend{
		reg: all.Registry(),
		plugins: []PluginConfig{
			{Name: "ns1", Type: "netskope", Kind: "source",
				// A backend that (wrongly) hands a secret over must still not see it shown.
				Values:     map[string]string{"tenant": "https://acme.goskope.com", "event_types": "audit\npage", "api_token": fakeSecret},
				SecretsSet: map[string]bool{"api_token": true}},
			{Name: "lake1", Type: "aws_cloudtrail_lake", Kind: "destination",
				Values: map[string]string{"channel_arn": "arn:aws:cloudtrail:eu-west-1:123456789012:channel/abc"}},
		},
		rules:    []Rule{{Name: "dlp-high", Description: "high DLP alerts", Filter: `{"alert_type":"DLP"}`}},
		mappings: []Mapping{{Name: "ns-to-lake", Source: "ns1", Rule: "dlp-high", Destinations: []string{"lake1"}}},
		logs: []LogLine{
			{Time: t0, Level: "info", Plugin: "ns1", Message: "page read", Attrs: map[string]string{"records": "100"}},
			{Time: t0.Add(time.Second), Level: "error", Plugin: "lake1", Message: "put failed"},
		},
		dead: []DeadLetter{
			{ID: "dl1", Time: t0, Destination: "lake1", Source: "ns1", Reason: "refused", Code: "ValidationException", Error: "bad field", Record: `{"alert_type":"DLP","user":"a@acme.com"}`},
			{ID: "dl2", Time: t0, Destination: "lake1", Source: "ns1", Reason: "too_large", Record: `{"x":1}`},
		},
		disabled: map[string]bool{},
	}
}

func (f *fakeBackend) Overview(context.Context) (Overview, error) {
	return Overview{
		Started:    time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC),
		LastReload: Reload{At: time.Date(2026, 5, 1, 12, 30, 0, 0, time.UTC), Trigger: "console", Error: "plugins[1].channel_arn: missing"},
		Plugins: []PluginStatus{
			{Name: "ns1", Type: "netskope", Kind: "source", State: StateRunning, Received: 1234, Rate: []float64{1, 5, 3, 7.5},
				Lag: []PartitionLag{{Partition: "events/audit", Lag: 42 * time.Second}}},
			{Name: "lake1", Type: "aws_cloudtrail_lake", Kind: "destination", State: StateStopped, Error: "AccessDenied: not allowed",
				Received: 1200, Sent: 1100, Dropped: map[string]uint64{"refused": 3, "too_large": 1},
				LastError: "AccessDenied: not allowed", LastErrorAt: time.Date(2026, 5, 1, 12, 1, 0, 0, time.UTC)},
		},
		Mappings: []MappingStatus{{Name: "ns-to-lake", Source: "ns1", Rule: "dlp-high", Destinations: []string{"lake1"}, Matched: 900, Filtered: 334}},
	}, nil
}

func (f *fakeBackend) PluginTypes(context.Context) ([]PluginType, error) {
	var out []PluginType
	for _, fa := range f.reg.Factories() {
		out = append(out, PluginType{Type: fa.Type, Kind: fa.Kind.String(), Summary: fa.Summary})
	}
	return out, nil
}

func (f *fakeBackend) PluginSchema(_ context.Context, typ, kind string) (schema.Schema, error) {
	k, ok := plugin.ParseKind(kind)
	if !ok {
		return schema.Schema{}, fmt.Errorf("kind %q: %w", kind, ErrNotFound)
	}
	fa, ok := f.reg.Lookup(typ, k)
	if !ok {
		return schema.Schema{}, fmt.Errorf("plugin type %s %s: %w", typ, kind, ErrNotFound)
	}
	return schema.Of(fa)
}

func (f *fakeBackend) Plugins(context.Context) ([]PluginConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]PluginConfig(nil), f.plugins...)
	for i := range out {
		out[i].Disabled = f.disabled[out[i].Name]
	}
	return out, nil
}

func (f *fakeBackend) Plugin(_ context.Context, name string) (PluginConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.plugins {
		if p.Name == name {
			return p, nil
		}
	}
	return PluginConfig{}, fmt.Errorf("plugin configuration %q: %w", name, ErrNotFound)
}

func (f *fakeBackend) ValidatePlugin(_ context.Context, e PluginEdit) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.validated = append(f.validated, e)
	if f.invalid != nil {
		return &InvalidError{Problems: f.invalid}
	}
	return nil
}

func (f *fakeBackend) SavePlugin(_ context.Context, e PluginEdit) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.invalid != nil {
		return &InvalidError{Problems: f.invalid}
	}
	f.saved = append(f.saved, e)
	return nil
}

func (f *fakeBackend) SetPluginDisabled(_ context.Context, name string, disabled bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disabled[name] = disabled
	return nil
}

func (f *fakeBackend) DeletePlugin(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, name)
	return nil
}

func (f *fakeBackend) CheckPlugin(_ context.Context, name string) (CheckResult, error) {
	return CheckResult{OK: false, Detail: name + ": AccessDenied on PutAuditEvents"}, nil
}

func (f *fakeBackend) Rules(context.Context) ([]Rule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Rule(nil), f.rules...), nil
}

func (f *fakeBackend) SaveRule(_ context.Context, _ string, r Rule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Expr != "" && r.Filter != "" {
		return &InvalidError{Problems: []string{"business_rules[0]: give expr or filter, not both"}}
	}
	f.savedRule = append(f.savedRule, r)
	return nil
}

func (f *fakeBackend) DeleteRule(context.Context, string) error { return nil }

func (f *fakeBackend) TestRule(_ context.Context, t RuleTest) (RuleTestResult, error) {
	f.mu.Lock()
	f.tested = append(f.tested, t)
	f.mu.Unlock()
	var res RuleTestResult
	recs := strings.Split(strings.TrimSpace(t.Records), "\n")
	if t.Source != "" {
		recs = []string{`{"alert_type":"DLP"}`, `{"alert_type":"malware"}`}
	}
	for _, r := range recs {
		m := strings.Contains(r, `"DLP"`)
		why := `alert_type is "DLP"`
		if !m {
			why = `alert_type is not "DLP"`
		}
		res.Records = append(res.Records, RuleTestRecord{Record: r, Match: m, Why: why})
	}
	return res, nil
}

func (f *fakeBackend) Sources(context.Context) ([]string, error) { return []string{"ns1"}, nil }

func (f *fakeBackend) Mappings(context.Context) ([]Mapping, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Mapping(nil), f.mappings...), nil
}

func (f *fakeBackend) SaveMapping(_ context.Context, _ string, m Mapping) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.savedMap = append(f.savedMap, m)
	return nil
}

func (f *fakeBackend) DeleteMapping(context.Context, string) error { return nil }

func (f *fakeBackend) PreviewMapping(_ context.Context, p MappingPreview) (MappingPreviewResult, error) {
	res := MappingPreviewResult{Matched: true, Why: `alert_type is "DLP"`}
	for _, d := range p.Mapping.Destinations {
		res.Outputs = append(res.Outputs, MappingOutput{Destination: d, Output: `{"eventVersion":"1.10","eventSource":"netskope"}`})
	}
	return res, nil
}

func (f *fakeBackend) Logs(_ context.Context, fl LogFilter) ([]LogLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []LogLine
	for _, l := range f.logs {
		if fl.Plugin == "" || l.Plugin == fl.Plugin {
			out = append(out, l)
		}
	}
	return out, nil
}

func (f *fakeBackend) SubscribeLogs(ctx context.Context, fl LogFilter) (<-chan LogLine, error) {
	ch := make(chan LogLine, 16)
	f.mu.Lock()
	f.logSubs = append(f.logSubs, ch)
	sub := f.subscribe
	f.mu.Unlock()
	if sub != nil {
		sub <- fl
	}
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, c := range f.logSubs {
			if c == ch {
				f.logSubs = append(f.logSubs[:i], f.logSubs[i+1:]...)
				break
			}
		}
		close(ch)
	}()
	return ch, nil
}

// publish sends a log line to every subscriber.
func (f *fakeBackend) publish(l LogLine) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.logSubs {
		c <- l
	}
}

func (f *fakeBackend) DeadLetters(_ context.Context, fl DeadLetterFilter) (DeadLetterPage, error) {
	var pg DeadLetterPage
	counts := map[[2]string]int{}
	for _, d := range f.dead {
		counts[[2]string{d.Destination, d.Reason}]++
		if (fl.Destination == "" || d.Destination == fl.Destination) && (fl.Reason == "" || d.Reason == fl.Reason) {
			pg.Entries = append(pg.Entries, d)
		}
	}
	pg.Total = len(pg.Entries)
	for k, n := range counts {
		pg.Counts = append(pg.Counts, DeadLetterCount{Destination: k[0], Reason: k[1], Count: n})
	}
	return pg, nil
}

func (f *fakeBackend) DeadLetter(_ context.Context, id string) (DeadLetter, error) {
	for _, d := range f.dead {
		if d.ID == id {
			return d, nil
		}
	}
	return DeadLetter{}, fmt.Errorf("dead letter %q: %w", id, ErrNotFound)
}

func (f *fakeBackend) ReplayDeadLetters(_ context.Context, ids []string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replayed = append(f.replayed, ids...)
	return len(ids), nil
}

func (f *fakeBackend) PurgeDeadLetters(_ context.Context, ids []string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purged = append(f.purged, ids...)
	return len(ids), nil
}
