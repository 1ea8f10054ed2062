package browsertest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	// pollInterval is how often a wait checks its condition in the page.
	pollInterval = 50 * time.Millisecond
	// attemptTimeout bounds one check of a condition, so that a check that hangs (the page
	// navigating away under it) is tried again.
	attemptTimeout = 5 * time.Second
	// reportTimeout bounds reading the page for a failure message, after the test's context
	// may have ended.
	reportTimeout = 3 * time.Second
	// reportTextLimit is how much of the page's text a failure message shows.
	reportTextLimit = 1500
)

// Selector is a CSS selector. ID, Name and TestID make one that matches an attribute's exact
// value; CSS takes any selector. The helpers act on the first element that matches and is
// visible.
type Selector string

// CSS is the selector s as it is.
func CSS(s string) Selector { return Selector(s) }

// ID matches the element whose id is id.
func ID(id string) Selector { return attrSelector("id", id) }

// Name matches the form fields whose name is name.
func Name(name string) Selector { return attrSelector("name", name) }

// TestID matches the elements whose data-testid attribute is id.
func TestID(id string) Selector { return attrSelector("data-testid", id) }

// attrSelector matches attr's exact value, quoted as a CSS string.
func attrSelector(attr, value string) Selector {
	var b strings.Builder
	b.WriteString("[" + attr + `="`)
	for _, r := range value {
		switch r {
		case '"', '\\':
			b.WriteRune('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\a `)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(`"]`)
	return Selector(b.String())
}

// findJS defines find(sel): the elements that match sel and are rendered (not display:none,
// not visibility:hidden, in a rendered ancestor), in document order.
const findJS = `const find = (sel) => [...document.querySelectorAll(sel)].filter(e => e.checkVisibility({visibilityProperty: true}));`

// call runs the JavaScript function fn (its source text) in the page with args, which are
// passed as JSON, and decodes its result into T.
func call[T any](ctx context.Context, fn string, args ...any) (T, error) {
	var zero T
	encoded := make([]string, len(args))
	for i, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			return zero, fmt.Errorf("encoding argument %d: %w", i, err)
		}
		encoded[i] = string(b)
	}
	expr := "(" + fn + ")(" + strings.Join(encoded, ", ") + ")"
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// poll checks cond until it reports true or ctx ends. An error of one check (the page
// navigating during it, say) is tried again, and the last one is in the error that poll
// returns when ctx ends.
func poll(ctx context.Context, cond func(ctx context.Context) (bool, error)) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		ok, err := cond(actx)
		cancel()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (the last check failed with: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// failf fails the test with the message, followed by the page's address and text.
func failf(t testing.TB, ctx context.Context, format string, args ...any) {
	t.Helper()
	t.Fatalf("browsertest: "+format+"\n%s", append(args, pageReport(ctx))...)
}

// pageReport describes the page for a failure message. It reads the page with a context of
// its own, since the test's context may be the one that ended.
func pageReport(ctx context.Context) string {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	type report struct {
		URL  string `json:"url"`
		Text string `json:"text"`
	}
	r, err := call[report](rctx, `() => ({url: location.href, text: document.body ? document.body.innerText : ""})`)
	if err != nil {
		return fmt.Sprintf("(the page could not be read: %v)", err)
	}
	text := r.Text
	if len(text) > reportTextLimit {
		text = text[:reportTextLimit] + "…"
	}
	return fmt.Sprintf("page %s shows:\n%s", r.URL, text)
}

// Navigate loads url in the test's tab, waits for its load event, and returns the HTTP status
// of the document.
func Navigate(t testing.TB, ctx context.Context, url string) int {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		failf(t, ctx, "navigating to %s: %v", url, err)
	}
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// URL returns the address of the page in the test's tab.
func URL(t testing.TB, ctx context.Context) string {
	t.Helper()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("browsertest: reading the page's address: %v", err)
	}
	return u
}

// mark waits until sel matches a visible element, marks the first one with an attribute of
// its own, and returns a selector for exactly that element. Input actions (typing, clicking)
// then go to the element that the wait found.
func mark(t testing.TB, ctx context.Context, sel Selector, doing string) chromedp.CSS {
	t.Helper()
	id := rand.Text()
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		return call[bool](ctx, `(sel, id) => { `+findJS+`
			const e = find(sel)[0];
			if (!e) return false;
			e.setAttribute("data-browsertest-mark", id);
			return true;
		}`, string(sel), id)
	})
	if err != nil {
		failf(t, ctx, "%s: no visible element matches %s: %v", doing, sel, err)
	}
	return chromedp.CSS(`[data-browsertest-mark="` + id + `"]`)
}

// Fill puts value into the form field that sel matches, once it is visible. A text field or
// a text area is cleared and value is typed into it key by key, as a user does (a "\n" is the
// Enter key). A <select> gets the option whose value is value. Fill fails the test when the
// field does not end up holding value. Check boxes, radio buttons and buttons take Click.
func Fill(t testing.TB, ctx context.Context, sel Selector, value string) {
	t.Helper()
	doing := fmt.Sprintf("filling %s", sel)
	m := mark(t, ctx, sel, doing)
	kind, err := call[string](ctx, `(sel, value) => {
		const e = document.querySelector(sel);
		const type = (e.getAttribute("type") || "").toLowerCase();
		if (e.tagName === "SELECT") {
			if (![...e.options].some(o => o.value === value)) {
				return "no option " + JSON.stringify(value) + "; the options are " + JSON.stringify([...e.options].map(o => o.value));
			}
			e.value = value;
			e.dispatchEvent(new Event("input", {bubbles: true}));
			e.dispatchEvent(new Event("change", {bubbles: true}));
			return "selected";
		}
		if (e.tagName === "TEXTAREA" || (e.tagName === "INPUT" && !["checkbox", "radio", "file", "submit", "button", "reset", "image"].includes(type))) {
			e.focus();
			e.value = "";
			e.dispatchEvent(new Event("input", {bubbles: true}));
			return "type";
		}
		return "it is a " + e.tagName.toLowerCase() + (type ? " of type " + type : "") + ", not a text field or a select (use Click)";
	}`, string(m), value)
	switch {
	case err != nil:
		failf(t, ctx, "%s: %v", doing, err)
	case kind == "selected":
		return
	case kind != "type":
		failf(t, ctx, "%s: %s", doing, kind)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(m, value)); err != nil {
		failf(t, ctx, "%s: typing: %v", doing, err)
	}
	if strings.Contains(value, "\n") {
		// Enter can submit the form and leave the page: there is no field left to check.
		return
	}
	got, err := chromedp.Run(ctx, chromedp.Value(m))
	if err != nil {
		failf(t, ctx, "%s: reading the field back: %v", doing, err)
	}
	if got != value {
		failf(t, ctx, "%s: the field holds %q after typing %q", doing, got, value)
	}
}

// Click clicks the element that sel matches, once it is visible, with the mouse at its center.
// It does not wait for what the click does; ClickToPage does when the click loads a page.
func Click(t testing.TB, ctx context.Context, sel Selector) {
	t.Helper()
	doing := fmt.Sprintf("clicking %s", sel)
	m := mark(t, ctx, sel, doing)
	if err := chromedp.Do(ctx, chromedp.Click(m)); err != nil {
		failf(t, ctx, "%s: %v", doing, err)
	}
}

// ClickToPage clicks the element that sel matches (a link, a submit button) and waits until
// the page that the click loads has loaded.
func ClickToPage(t testing.TB, ctx context.Context, sel Selector) {
	t.Helper()
	doing := fmt.Sprintf("clicking %s", sel)
	token := markPage(t, ctx, doing)
	Click(t, ctx, sel)
	waitNewPage(t, ctx, token, doing)
}

// Submit submits the form that sel matches, or the form of the field or button that sel
// matches, as pressing Enter in it does (the browser checks the fields and fires the submit
// event), and waits until the page that the server answers with has loaded. It fails the test
// at once with the browser's messages when a field is not valid.
func Submit(t testing.TB, ctx context.Context, sel Selector) {
	t.Helper()
	doing := fmt.Sprintf("submitting the form of %s", sel)
	m := mark(t, ctx, sel, doing)
	token := markPage(t, ctx, doing)
	problem, err := call[string](ctx, `(sel) => {
		const e = document.querySelector(sel);
		const form = e.tagName === "FORM" ? e : (e.form || e.closest("form"));
		if (!form) return "the element is in no form";
		if (!form.checkValidity()) {
			return "the form is not valid: " + [...form.elements].filter(f => f.validationMessage)
				.map(f => (f.name || f.id || f.tagName.toLowerCase()) + ": " + f.validationMessage).join("; ");
		}
		form.requestSubmit();
		return "";
	}`, string(m))
	if err != nil {
		failf(t, ctx, "%s: %v", doing, err)
	}
	if problem != "" {
		failf(t, ctx, "%s: %s", doing, problem)
	}
	waitNewPage(t, ctx, token, doing)
}

// markPage tags the document in the tab, so that waitNewPage can tell when another one has
// replaced it.
func markPage(t testing.TB, ctx context.Context, doing string) string {
	t.Helper()
	token := rand.Text()
	if _, err := call[bool](ctx, `(token) => { window.__browsertestPage = token; return true; }`, token); err != nil {
		failf(t, ctx, "%s: %v", doing, err)
	}
	return token
}

// waitNewPage waits until the document tagged with token is gone and its successor has
// loaded.
func waitNewPage(t testing.TB, ctx context.Context, token, doing string) {
	t.Helper()
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		return call[bool](ctx, `(token) => window.__browsertestPage !== token && document.readyState === "complete"`, token)
	})
	if err != nil {
		failf(t, ctx, "%s: no new page loaded: %v", doing, err)
	}
}

// WaitVisible waits until sel matches a visible element.
func WaitVisible(t testing.TB, ctx context.Context, sel Selector) {
	t.Helper()
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		return call[bool](ctx, `(sel) => { `+findJS+` return find(sel).length > 0; }`, string(sel))
	})
	if err != nil {
		failf(t, ctx, "waiting for %s to be visible: %v", sel, err)
	}
}

// WaitGone waits until sel matches no visible element.
func WaitGone(t testing.TB, ctx context.Context, sel Selector) {
	t.Helper()
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		return call[bool](ctx, `(sel) => { `+findJS+` return find(sel).length === 0; }`, string(sel))
	})
	if err != nil {
		failf(t, ctx, "waiting for %s to go away: %v", sel, err)
	}
}

// WaitText waits until an element that sel matches is visible and shows text (its rendered
// text contains it), and returns that element's whole text. CSS("body") looks at the whole
// page.
func WaitText(t testing.TB, ctx context.Context, sel Selector, text string) string {
	t.Helper()
	var found string
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		got, err := call[*string](ctx, `(sel, text) => { `+findJS+`
			const e = find(sel).find(e => e.innerText.includes(text));
			return e ? e.innerText : null;
		}`, string(sel), text)
		if err != nil || got == nil {
			return false, err
		}
		found = *got
		return true, nil
	})
	if err != nil {
		failf(t, ctx, "waiting for %s to show %q: %v; it shows %s", sel, text, err, shown(ctx, sel))
	}
	return found
}

// Text waits until sel matches a visible element and returns its rendered text.
func Text(t testing.TB, ctx context.Context, sel Selector) string {
	t.Helper()
	var found string
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		got, err := call[*string](ctx, `(sel) => { `+findJS+`
			const e = find(sel)[0];
			return e ? e.innerText : null;
		}`, string(sel))
		if err != nil || got == nil {
			return false, err
		}
		found = *got
		return true, nil
	})
	if err != nil {
		failf(t, ctx, "reading the text of %s: %v", sel, err)
	}
	return found
}

// shown describes the texts of the visible elements that sel matches, for a failure message.
func shown(ctx context.Context, sel Selector) string {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	texts, err := call[[]string](rctx, `(sel) => { `+findJS+` return find(sel).map(e => e.innerText); }`, string(sel))
	switch {
	case err != nil:
		return fmt.Sprintf("(unknown: %v)", err)
	case len(texts) == 0:
		return "nothing (no visible element matches)"
	}
	q := make([]string, len(texts))
	for i, s := range texts {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
