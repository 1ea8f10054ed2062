package browsertest

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

// Follower reads the lines that a page adds to an element as they appear: the output of a
// Server-Sent Events stream (a live log, a counter) that the page's script writes into the
// element. Each element or text that is added as a child of the element is one line, whether
// the script appends it or puts it first, and lines that the script removes later are still
// read. A Follower lasts as long as the page: a navigation or a reload ends it.
type Follower struct {
	ctx  context.Context
	sel  Selector
	id   string
	next int // the index of the next line to read
}

// Follow starts following the element that sel matches, once it is visible. It reads only
// the lines added after it starts; WaitText looks at what the element shows already.
func Follow(t testing.TB, ctx context.Context, sel Selector) *Follower {
	t.Helper()
	f := &Follower{ctx: ctx, sel: sel, id: rand.Text()}
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		return call[bool](ctx, `(sel, id) => { `+findJS+`
			const e = find(sel)[0];
			if (!e) return false;
			const lines = [];
			window.__browsertestFollow = window.__browsertestFollow || {};
			window.__browsertestFollow[id] = lines;
			new MutationObserver(records => {
				for (const r of records) {
					for (const n of r.addedNodes) {
						const text = (n.nodeType === Node.ELEMENT_NODE ? n.innerText : n.textContent) || "";
						if (text.trim() !== "") lines.push(text.trim());
					}
				}
			}).observe(e, {childList: true});
			return true;
		}`, string(sel), f.id)
	})
	if err != nil {
		failf(t, ctx, "following %s: no visible element matches: %v", sel, err)
	}
	return f
}

// errFollowerGone is what a Follower reads once its page is gone.
var errFollowerGone = errors.New("the page was replaced (a navigation or a reload), and the follower with it")

// Next waits for the next line and returns it.
func (f *Follower) Next(t testing.TB) string {
	t.Helper()
	line, err := f.read()
	if err != nil {
		failf(t, f.ctx, "waiting for line %d of %s: %v", f.next+1, f.sel, err)
	}
	return line
}

// WaitFor reads lines until one contains text and returns it; it fails the test, listing the
// lines it read, when none does before the test's timeout.
func (f *Follower) WaitFor(t testing.TB, text string) string {
	t.Helper()
	var read []string
	for {
		line, err := f.read()
		if err != nil {
			failf(t, f.ctx, "waiting for a line of %s with %q: %v; the lines read were %q", f.sel, text, err, read)
		}
		if strings.Contains(line, text) {
			return line
		}
		read = append(read, line)
	}
}

// read waits for the next line and moves past it.
func (f *Follower) read() (string, error) {
	type result struct {
		Line string `json:"line"`
		Gone bool   `json:"gone"`
	}
	var got *result
	err := poll(f.ctx, func(ctx context.Context) (bool, error) {
		r, err := call[*result](ctx, `(id, i) => {
			const lines = (window.__browsertestFollow || {})[id];
			if (!lines) return {gone: true};
			return i < lines.length ? {line: lines[i]} : null;
		}`, f.id, f.next)
		if err != nil || r == nil {
			return false, err
		}
		got = r
		return true, nil
	})
	switch {
	case err != nil:
		return "", err
	case got.Gone:
		return "", errFollowerGone
	}
	f.next++
	return got.Line, nil
}
