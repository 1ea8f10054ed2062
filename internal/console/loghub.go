package console

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"unicode/utf8"
)

// LogHub keeps the last lines of the process log and hands them, and the lines logged from
// then on, to the Logging page: it is a LogBackend. Its Handler wraps the process's
// slog.Handler, so that every line the process logs (at the level the process logs) reaches
// both.
type LogHub struct {
	mu   sync.Mutex
	ring []hubLine
	next int
	full bool
	// subs is replaced, never changed in place, when a subscriber comes or goes: a line is
	// matched against a copy of it outside mu.
	subs []*logSub
}

var _ LogBackend = (*LogHub)(nil)

type hubLine struct {
	line LogLine
	lvl  slog.Level
}

// logSub is one subscriber: its filter and its channel, which closes (under mu) once its
// context ends.
type logSub struct {
	f      logMatcher
	mu     sync.Mutex
	ch     chan LogLine
	closed bool
}

// send hands l to the subscriber unless it is closed or has fallen logSubBuffer lines behind.
func (s *logSub) send(l LogLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.ch <- l:
	default:
	}
}

// maxLogValue is the most of a message or an attribute's value a line keeps (its bytes); a
// longer one is cut, and says so, so that no line (such as one quoting what a client sent) holds
// the hub's memory or a browser's page up.
const maxLogValue = 8 << 10

// logSubBuffer is how many lines a subscriber may fall behind; a slower one misses lines
// rather than hold the process's logging up.
const logSubBuffer = 256

// NewLogHub keeps the last size lines.
func NewLogHub(size int) *LogHub {
	return &LogHub{ring: make([]hubLine, max(size, 1))}
}

// Handler returns a handler that records every line it handles in the hub, then passes it to
// next.
func (h *LogHub) Handler(next slog.Handler) slog.Handler {
	return &hubHandler{hub: h, next: next}
}

// Logs implements LogBackend: the kept lines that pass the filter, oldest first, at most the
// filter's Limit (the newest) when it is set. The lines are copied under the lock and matched
// outside it, so that a search does not hold the process's logging up.
func (h *LogHub) Logs(_ context.Context, f LogFilter) ([]LogLine, error) {
	m := newLogMatcher(f)
	h.mu.Lock()
	var kept []hubLine
	if h.full {
		kept = append(append(kept, h.ring[h.next:]...), h.ring[:h.next]...)
	} else {
		kept = append(kept, h.ring[:h.next]...)
	}
	h.mu.Unlock()
	var out []LogLine
	for _, l := range kept {
		if m.match(l, &lowered{}) {
			out = append(out, l.line)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, nil
}

// SubscribeLogs implements LogBackend.
func (h *LogHub) SubscribeLogs(ctx context.Context, f LogFilter) (<-chan LogLine, error) {
	sub := &logSub{f: newLogMatcher(f), ch: make(chan LogLine, logSubBuffer)}
	h.mu.Lock()
	h.subs = append(h.subs[:len(h.subs):len(h.subs)], sub)
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		subs := make([]*logSub, 0, len(h.subs))
		for _, s := range h.subs {
			if s != sub {
				subs = append(subs, s)
			}
		}
		h.subs = subs
		h.mu.Unlock()
		sub.mu.Lock()
		defer sub.mu.Unlock()
		sub.closed = true
		close(sub.ch)
	}()
	return sub.ch, nil
}

// add keeps a line and hands it to the subscribers whose filter it passes, matched outside
// the lock.
func (h *LogHub) add(l hubLine) {
	h.mu.Lock()
	h.ring[h.next] = l
	h.next++
	if h.next == len(h.ring) {
		h.next, h.full = 0, true
	}
	subs := h.subs
	h.mu.Unlock()
	low := &lowered{}
	for _, s := range subs {
		if s.f.match(l, low) {
			s.send(l.line)
		}
	}
}

// logMatcher is a LogFilter made ready to test lines: its text lower-cased once.
type logMatcher struct {
	plugin    string
	level     slog.Level
	anyLevel  bool
	text      string
	hideAudit bool
}

func newLogMatcher(f LogFilter) logMatcher {
	m := logMatcher{plugin: f.Plugin, text: strings.ToLower(f.Text), anyLevel: true, hideAudit: f.HideAudit}
	if f.Level != "" {
		if err := m.level.UnmarshalText([]byte(f.Level)); err == nil {
			m.anyLevel = false
		}
	}
	return m
}

// lowered is a line's message and attributes ("key=value"), lower-cased on first use, once
// for all the filters a line is matched against.
type lowered struct {
	done  bool
	texts []string
}

func (x *lowered) of(l *LogLine) []string {
	if !x.done {
		x.done = true
		x.texts = append(make([]string, 0, 1+len(l.Attrs)), strings.ToLower(l.Message))
		for k, v := range l.Attrs {
			x.texts = append(x.texts, strings.ToLower(k+"="+v))
		}
	}
	return x.texts
}

// match reports whether l passes the filter; low is l's lowered text.
func (m logMatcher) match(l hubLine, low *lowered) bool {
	if m.plugin != "" && l.line.Plugin != m.plugin {
		return false
	}
	if !m.anyLevel && l.lvl < m.level {
		return false
	}
	if m.hideAudit && isAudit(l.line) {
		return false
	}
	if m.text == "" {
		return true
	}
	for _, t := range low.of(&l.line) {
		if strings.Contains(t, m.text) {
			return true
		}
	}
	return false
}

// isAudit reports whether l is an audit line (audit=true).
func isAudit(l LogLine) bool { return l.Attrs["audit"] == "true" }

// hubHandler is LogHub.Handler's slog.Handler.
type hubHandler struct {
	hub    *LogHub
	next   slog.Handler
	attrs  []slog.Attr // the With attributes, their keys prefixed with their groups
	prefix string      // the open groups, "a.b."
}

func (h *hubHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *hubHandler) Handle(ctx context.Context, r slog.Record) error {
	line := LogLine{Time: r.Time, Level: strings.ToLower(r.Level.String()), Message: clipText(r.Message, maxLogValue), Attrs: map[string]string{}}
	for _, a := range h.attrs {
		addAttr(line.Attrs, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(line.Attrs, h.prefix, a)
		return true
	})
	if p, ok := line.Attrs["plugin"]; ok {
		line.Plugin = p
		delete(line.Attrs, "plugin")
	}
	if len(line.Attrs) == 0 {
		line.Attrs = nil
	}
	h.hub.add(hubLine{line: line, lvl: r.Level})
	return h.next.Handle(ctx, r)
}

func (h *hubHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		c.attrs = append(c.attrs, slog.Attr{Key: h.prefix + a.Key, Value: a.Value})
	}
	c.next = h.next.WithAttrs(as)
	return &c
}

func (h *hubHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	c.next = h.next.WithGroup(name)
	return &c
}

// addAttr puts an attribute in m as text, its value resolved (a LogValuer, such as a
// config.Secret, shows what it chooses to) and a group's attributes flattened as "group.key".
func addAttr(m map[string]string, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			addAttr(m, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	m[prefix+a.Key] = clipText(v.String(), maxLogValue)
}

// clipText is s, or when it is longer than n bytes its first n (cut on a character boundary)
// followed by how long it was.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return cutText(s, n) + fmt.Sprintf("…[cut: %d bytes]", len(s))
}

// cutText is the longest prefix of s of at most n bytes that ends on a character boundary.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
