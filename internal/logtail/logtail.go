// Package logtail keeps the process's latest log lines in memory for the console's Logging
// page: a slog.Handler that passes every record on to the process's own handler and keeps the
// last lines in a ring, to read filtered (by plugin configuration name, level, text) and to
// follow as they are written.
package logtail

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Entry is one log line.
type Entry struct {
	Seq     uint64 // increases by one per line kept, from 1
	Time    time.Time
	Level   slog.Level
	Message string
	// Plugin is the line's `plugin` attribute: the configuration name it belongs to ("" for
	// the process's own lines).
	Plugin string
	// Attrs are the line's other attributes, as key=value in the order given, groups joined
	// with dots.
	Attrs []Attr
}

// Attr is one attribute of a line.
type Attr struct{ Key, Value string }

// Filter selects lines; its zero value selects every line.
type Filter struct {
	Plugin   string     // exactly this configuration name, when set
	MinLevel slog.Level // this level and above (the zero value is Info; use slog.LevelDebug for all)
	Text     string     // in the message or an attribute's key or value, ignoring case, when set
	AllLevel bool       // every level, ignoring MinLevel
}

// Match reports whether e passes f.
func (f Filter) Match(e Entry) bool {
	if f.Plugin != "" && e.Plugin != f.Plugin {
		return false
	}
	if !f.AllLevel && e.Level < f.MinLevel {
		return false
	}
	if f.Text == "" {
		return true
	}
	t := strings.ToLower(f.Text)
	if strings.Contains(strings.ToLower(e.Message), t) || strings.Contains(strings.ToLower(e.Plugin), t) {
		return true
	}
	for _, a := range e.Attrs {
		if strings.Contains(strings.ToLower(a.Key), t) || strings.Contains(strings.ToLower(a.Value), t) {
			return true
		}
	}
	return false
}

// String is the line as the console shows it: time, level, plugin, message, attributes.
func (e Entry) String() string {
	var b strings.Builder
	b.WriteString(e.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteByte(' ')
	b.WriteString(e.Level.String())
	if e.Plugin != "" {
		b.WriteString(" plugin=")
		b.WriteString(e.Plugin)
	}
	b.WriteByte(' ')
	b.WriteString(e.Message)
	for _, a := range e.Attrs {
		fmt.Fprintf(&b, " %s=%s", a.Key, quoteIfNeeded(a.Value))
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"=") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// Ring holds the last lines. It is safe for concurrent use.
type Ring struct {
	mu      sync.Mutex
	lines   []Entry // a ring of cap lines; next is where the next line goes
	next    int
	full    bool
	seq     uint64
	subs    map[*sub]struct{}
	dropped uint64 // lines a slow follower missed
}

type sub struct {
	f  Filter
	ch chan Entry
}

// NewRing keeps the last n lines (at least 1).
func NewRing(n int) *Ring {
	return &Ring{lines: make([]Entry, max(n, 1)), subs: map[*sub]struct{}{}}
}

func (r *Ring) add(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	e.Seq = r.seq
	r.lines[r.next] = e
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
	for s := range r.subs {
		if !s.f.Match(e) {
			continue
		}
		select {
		case s.ch <- e:
		default:
			r.dropped++ // a follower too slow to keep up misses lines rather than slowing the log
		}
	}
}

// Lines returns the kept lines that pass f, oldest first, at most limit of them (the latest;
// 0: all).
func (r *Ring) Lines(f Filter, limit int) []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Entry
	add := func(es []Entry) {
		for _, e := range es {
			if e.Seq != 0 && f.Match(e) {
				out = append(out, e)
			}
		}
	}
	if r.full {
		add(r.lines[r.next:])
	}
	add(r.lines[:r.next])
	if limit > 0 && len(out) > limit {
		out = slices.Clone(out[len(out)-limit:])
	}
	return out
}

// Follow returns the lines passing f as they are written, until ctx ends (the channel is then
// closed). A follower that does not keep up misses lines (Dropped counts them).
func (r *Ring) Follow(ctx context.Context, f Filter) <-chan Entry {
	s := &sub{f: f, ch: make(chan Entry, 256)}
	r.mu.Lock()
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	out := make(chan Entry)
	go func() {
		defer close(out)
		defer func() {
			r.mu.Lock()
			delete(r.subs, s)
			r.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-s.ch:
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// Dropped is how many lines followers missed for not keeping up.
func (r *Ring) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Handler passes every record to next and keeps it in the ring when it is at minLevel or above.
type Handler struct {
	next     slog.Handler
	ring     *Ring
	minLevel slog.Leveler
	attrs    []Attr // from WithAttrs, with their group prefix
	plugin   string // a `plugin` attribute from WithAttrs
	group    string // the open group's prefix, "a.b." or ""
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler tees next into ring, keeping the lines at minLevel or above (nil: every line next
// takes).
func NewHandler(next slog.Handler, ring *Ring, minLevel slog.Leveler) *Handler {
	return &Handler{next: next, ring: ring, minLevel: minLevel}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l) || h.minLevel != nil && l >= h.minLevel.Level()
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if h.minLevel == nil || r.Level >= h.minLevel.Level() {
		e := Entry{Time: r.Time, Level: r.Level, Message: r.Message, Plugin: h.plugin, Attrs: slices.Clone(h.attrs)}
		r.Attrs(func(a slog.Attr) bool {
			h.collect(&e, h.group, a)
			return true
		})
		h.ring.add(e)
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *Handler) collect(e *Entry, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			h.collect(e, p, g)
		}
		return
	}
	if prefix == "" && a.Key == "plugin" {
		e.Plugin = a.Value.String()
		return
	}
	e.Attrs = append(e.Attrs, Attr{Key: prefix + a.Key, Value: a.Value.String()})
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	e := Entry{Plugin: h.plugin, Attrs: slices.Clone(h.attrs)}
	for _, a := range as {
		c.collect(&e, h.group, a)
	}
	c.attrs, c.plugin = e.Attrs, e.Plugin
	return &c
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.group = h.group + name + "."
	return &c
}
