package app

import (
	"context"
	"errors"

	"github.com/logshipper/logshipper/internal/console"
	"github.com/logshipper/logshipper/internal/console/schema"
)

// errNotBuilt marks the console's editing pages that the backend does not serve yet.
var errNotBuilt = errors.New("not built yet")

// PluginTypes implements console.PluginBackend.
func (b *consoleBackend) PluginTypes(ctx context.Context) ([]console.PluginType, error) {
	return nil, errNotBuilt
}

// PluginSchema implements console.PluginBackend.
func (b *consoleBackend) PluginSchema(ctx context.Context, typ, kind string) (schema.Schema, error) {
	return schema.Schema{}, errNotBuilt
}

// Plugins implements console.PluginBackend.
func (b *consoleBackend) Plugins(ctx context.Context) ([]console.PluginConfig, error) {
	return nil, errNotBuilt
}

// Plugin implements console.PluginBackend.
func (b *consoleBackend) Plugin(ctx context.Context, name string) (console.PluginConfig, error) {
	return console.PluginConfig{}, errNotBuilt
}

// ValidatePlugin implements console.PluginBackend.
func (b *consoleBackend) ValidatePlugin(ctx context.Context, edit console.PluginEdit) error {
	return errNotBuilt
}

// SavePlugin implements console.PluginBackend.
func (b *consoleBackend) SavePlugin(ctx context.Context, edit console.PluginEdit) error {
	return errNotBuilt
}

// SetPluginDisabled implements console.PluginBackend.
func (b *consoleBackend) SetPluginDisabled(ctx context.Context, name string, disabled bool) error {
	return errNotBuilt
}

// DeletePlugin implements console.PluginBackend.
func (b *consoleBackend) DeletePlugin(ctx context.Context, name string) error { return errNotBuilt }

// CheckPlugin implements console.PluginBackend.
func (b *consoleBackend) CheckPlugin(ctx context.Context, name string) (console.CheckResult, error) {
	return console.CheckResult{}, errNotBuilt
}

// Rules implements console.RuleBackend.
func (b *consoleBackend) Rules(ctx context.Context) ([]console.Rule, error) { return nil, errNotBuilt }

// SaveRule implements console.RuleBackend.
func (b *consoleBackend) SaveRule(ctx context.Context, original string, r console.Rule) error {
	return errNotBuilt
}

// DeleteRule implements console.RuleBackend.
func (b *consoleBackend) DeleteRule(ctx context.Context, name string) error { return errNotBuilt }

// TestRule implements console.RuleBackend.
func (b *consoleBackend) TestRule(ctx context.Context, t console.RuleTest) (console.RuleTestResult, error) {
	return console.RuleTestResult{}, errNotBuilt
}

// Sources implements console.RuleBackend.
func (b *consoleBackend) Sources(ctx context.Context) ([]string, error) { return nil, errNotBuilt }

// Mappings implements console.MappingBackend.
func (b *consoleBackend) Mappings(ctx context.Context) ([]console.Mapping, error) {
	return b.mappingsOf(b.a.config()), nil
}

// SaveMapping implements console.MappingBackend.
func (b *consoleBackend) SaveMapping(ctx context.Context, original string, m console.Mapping) error {
	return errNotBuilt
}

// DeleteMapping implements console.MappingBackend.
func (b *consoleBackend) DeleteMapping(ctx context.Context, name string) error { return errNotBuilt }

// PreviewMapping implements console.MappingBackend.
func (b *consoleBackend) PreviewMapping(ctx context.Context, p console.MappingPreview) (console.MappingPreviewResult, error) {
	return console.MappingPreviewResult{}, errNotBuilt
}
