package app

import (
	"reflect"
	"slices"
	"strings"

	"github.com/logshipper/logshipper/internal/config"
)

// component is a connected part of the routing graph: plugin configurations linked by SIEM
// mappings (a source, every destination it feeds, every other source feeding those, and so
// on). Each component runs in its own pipeline.Engine, so that a reload can stop and start
// one without pausing the others.
type component struct {
	// plugins are the names of its plugin configurations, sorted.
	plugins []string
	// mappings are its SIEM mappings, in the file's order.
	mappings []config.RouteConfig
}

// key names the component by its plugin configurations: "in+out".
func (c component) key() string { return strings.Join(c.plugins, "+") }

// components splits mappings into connected components, ordered by their first mapping in
// the file.
func components(mappings []config.RouteConfig) []component {
	parent := map[string]string{}
	var find func(string) string
	find = func(n string) string {
		if parent[n] == n {
			return n
		}
		root := find(parent[n])
		parent[n] = root
		return root
	}
	add := func(n string) {
		if _, ok := parent[n]; !ok {
			parent[n] = n
		}
	}
	for _, r := range mappings {
		add(r.Source)
		add(r.Destination)
		if a, b := find(r.Source), find(r.Destination); a != b {
			parent[a] = b
		}
	}
	index := map[string]int{}
	var out []component
	for _, r := range mappings {
		root := find(r.Source)
		i, ok := index[root]
		if !ok {
			i = len(out)
			index[root] = i
			out = append(out, component{})
		}
		out[i].mappings = append(out[i].mappings, r)
	}
	for i := range out {
		seen := map[string]bool{}
		for _, r := range out[i].mappings {
			for _, n := range []string{r.Source, r.Destination} {
				if !seen[n] {
					seen[n] = true
					out[i].plugins = append(out[i].plugins, n)
				}
			}
		}
		slices.Sort(out[i].plugins)
	}
	return out
}

// sameComponent reports whether component c runs the same under configurations a and b: the
// same plugin configurations with the same decoded settings and options, the same mappings,
// and the same business rules behind them. The file's text (comments, order, lines,
// ${...} references that resolve to the same value) does not matter.
func sameComponent(c component, a *config.Config, d component, b *config.Config) bool {
	if !slices.Equal(c.plugins, d.plugins) || !slices.Equal(c.mappings, d.mappings) {
		return false
	}
	for _, name := range c.plugins {
		p, ok1 := a.Plugin(name)
		q, ok2 := b.Plugin(name)
		if !ok1 || !ok2 || !samePlugin(p, q) {
			return false
		}
	}
	for _, r := range c.mappings {
		if !reflect.DeepEqual(ruleConfig(a, r.Rule), ruleConfig(b, r.Rule)) {
			return false
		}
	}
	return true
}

// samePlugin compares what building a plugin configuration reads: its shared keys and its
// decoded options (secrets by value), not where it sits in the file.
func samePlugin(p, q *config.Plugin) bool {
	return p.Name == q.Name && p.Type == q.Type && p.Kind == q.Kind && p.EPS == q.EPS &&
		p.Batch == q.Batch && p.Retry == q.Retry && p.Workers == q.Workers &&
		p.QueueSize == q.QueueSize && p.SpoolMaxSize == q.SpoolMaxSize &&
		reflect.DeepEqual(p.Options, q.Options)
}

// ruleConfig is the business rule named name as written, or nil for the built-in All.
func ruleConfig(cfg *config.Config, name string) *config.RuleConfig {
	for i := range cfg.BusinessRules {
		if cfg.BusinessRules[i].Name == name {
			return &cfg.BusinessRules[i]
		}
	}
	return nil
}
