// Package browsertest drives a real headless Chromium from Go tests, through chromedp.
//
// A test binary starts one browser, on the first call of New, and gives each test a tab of
// its own in a browser context of its own (its own cookies and storage), so tests can log in
// as different users and run in parallel. The package's TestMain calls Main, which closes the
// browser when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
//
//	func TestLogin(t *testing.T) {
//		ctx := browsertest.New(t)
//		browsertest.Navigate(t, ctx, srv.URL+"/login")
//		browsertest.Fill(t, ctx, browsertest.Name("user"), "ada")
//		...
//	}
//
// The browser is Debian's chromium, which scripts/setup.sh installs (chromium-browser,
// google-chrome, or the program that LOGSHIPPER_CHROMIUM names also do). A test that finds no
// browser fails, naming scripts/setup.sh: it never skips.
//
// The helpers take the test and the context that New returned, and fail the test with what
// they were doing and what the page showed. Every wait is a condition polled until it holds
// or the test's timeout ends.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumEnv names the environment variable that chooses the browser program (a path, or a
// name looked up in PATH). Without it the package looks for chromium, chromium-browser and
// google-chrome, in that order.
const ChromiumEnv = "LOGSHIPPER_CHROMIUM"

// browserNames are the programs looked up in PATH when ChromiumEnv is not set.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome"}

// DefaultTimeout bounds everything a test does in its tab, unless the test sets its own with
// Timeout.
const DefaultTimeout = 60 * time.Second

const (
	// startTimeout bounds the start of the browser process (a busy 2-core machine can take
	// several seconds).
	startTimeout = 60 * time.Second
	// tabTimeout bounds opening a test's tab.
	tabTimeout = 30 * time.Second
	// closeTimeout bounds the graceful close of the browser.
	closeTimeout = 10 * time.Second
	// deadlineMargin is kept between a test's timeout and the deadline of `go test -timeout`,
	// so that a stuck wait fails the test with its own message and not with a panic.
	deadlineMargin = 5 * time.Second
	// viewportWidth and viewportHeight are the size of the browser window; full-page
	// screenshots are as wide as it and as tall as the page.
	viewportWidth  = 1280
	viewportHeight = 900
)

// findChromium returns the browser program to run. getenv and lookPath are os.Getenv and
// exec.LookPath outside tests.
func findChromium(getenv func(string) string, lookPath func(string) (string, error)) (string, error) {
	if v := getenv(ChromiumEnv); v != "" {
		p, err := lookPath(v)
		if err != nil {
			return "", fmt.Errorf("%s=%s is not an executable program (%w); unset it to use Debian's chromium, which scripts/setup.sh installs", ChromiumEnv, v, err)
		}
		return p, nil
	}
	for _, name := range browserNames {
		if p, err := lookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found (looked for %s in PATH, and %s is not set): run scripts/setup.sh, which installs Debian's chromium", strings.Join(browserNames, ", "), ChromiumEnv)
}

// Browser is one headless Chromium process whose tabs tests use. Its zero value is ready: the
// process starts on the first call of New. Close stops it. A Browser is safe for concurrent
// use by parallel tests.
type Browser struct {
	mu      sync.Mutex
	started bool
	closed  bool
	err     error // why the start failed; kept so that every later test fails with it
	ctx     context.Context
	cancel  context.CancelFunc // cancels ctx and the allocator, and waits for the process
	output  *tailBuffer
}

// start starts the browser process once; a failure is kept and returned again.
func (b *Browser) start() (context.Context, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("browsertest: the browser is closed")
	}
	if b.started {
		return b.ctx, b.err
	}
	b.started = true
	path, err := findChromium(os.Getenv, exec.LookPath)
	if err != nil {
		b.err = fmt.Errorf("browsertest: %w", err)
		return nil, b.err
	}
	b.output = newTailBuffer(8 << 10)
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		// Root in a container: Chromium's sandbox needs user namespaces it does not have.
		chromedp.NoSandbox,
		// No GPU in a container or on CI; pages render in software.
		chromedp.Flag("disable-gpu", true),
		// /dev/shm is small in containers; shared memory goes to the temporary directory.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(viewportWidth, viewportHeight),
		chromedp.Flag("lang", "en-US"),
		chromedp.CombinedOutput(b.output),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx,
		chromedp.WithErrorf(b.output.printf), chromedp.WithLogf(b.output.printf))
	cancelAll := func() { cancel(); allocCancel() }

	// The first Do starts the process and binds its life to ctx, so it gets no deadline of its
	// own: a timer cancels it instead when the start takes too long.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case err = <-started:
	case <-timer.C:
		cancelAll()
		err = fmt.Errorf("no answer after %s", startTimeout)
		<-started
	}
	if err != nil {
		cancelAll()
		b.err = fmt.Errorf("browsertest: starting %s: %w; its output:\n%s", path, err, b.output.String())
		return nil, b.err
	}
	b.ctx, b.cancel = ctx, cancelAll
	return b.ctx, nil
}

// Close stops the browser process and removes its profile directory. Tests that call New
// after it fail.
func (b *Browser) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.cancel == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(b.ctx, closeTimeout)
	defer cancel()
	err := chromedp.Cancel(ctx)
	b.cancel()
	b.cancel = nil
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("browsertest: closing the browser: %w", err)
	}
	return nil
}

// Option changes what New gives a test.
type Option func(*tabOptions)

type tabOptions struct {
	timeout time.Duration
}

// Timeout sets how long the test may use its tab, DefaultTimeout without it. The context that
// New returns ends then, and so does every helper's wait.
func Timeout(d time.Duration) Option {
	return func(o *tabOptions) { o.timeout = d }
}

// New opens a tab for the test in b, starting b's browser first when it is not running, and
// returns the context that the helpers of this package take. The tab has a browser context of
// its own (its own cookies and storage), its context ends at the test's timeout, and the tab
// closes when the test ends. The page's console.error calls and uncaught exceptions go to
// the test's log. New fails the test when there is no browser.
func (b *Browser) New(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	o := tabOptions{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	browserCtx, err := b.start()
	if err != nil {
		t.Fatal(err)
	}

	tabCtx, tabCancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	// Opening the tab binds its life to the context of this first Do, so, as for the browser,
	// a timer bounds it rather than a deadline.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(tabCtx) }()
	timer := time.NewTimer(tabTimeout)
	select {
	case err = <-opened:
	case <-timer.C:
		tabCancel()
		err = fmt.Errorf("no answer after %s", tabTimeout)
		<-opened
	}
	timer.Stop()
	if err != nil {
		tabCancel()
		t.Fatalf("browsertest: opening a tab: %v", err)
	}

	// The page's script errors go to the test's log until the tab closes; the cleanup waits
	// for that before the test ends.
	consoleDone := make(chan struct{})
	messages := chromedp.Console(tabCtx)
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			// Failed requests are left out: a test makes some on purpose (a wrong password,
			// a page without the right role), and the page's own handling is what it checks.
			if (m.Type == chromedp.ConsoleError && m.Source != "network") || m.IsException() {
				t.Logf("browser console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
			}
		}
	}()

	timeout := o.timeout
	if d, ok := deadline(t); ok {
		if left := time.Until(d) - deadlineMargin; left < timeout {
			timeout = max(left, time.Second)
		}
	}
	ctx, cancel := context.WithTimeout(tabCtx, timeout)
	t.Cleanup(func() {
		cancel()
		tabCancel()
		<-consoleDone
	})
	return ctx
}

// deadline returns the deadline of `go test -timeout` for t, when t is a *testing.T that has
// one.
func deadline(t testing.TB) (time.Time, bool) {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}

// binaryBrowser holds the browser of the test binary while Main runs the tests. It is the
// package's one process-wide value: a test binary has one browser, whose tabs its tests
// share, and New has only the test to find it with.
var binaryBrowser struct {
	mu sync.Mutex
	b  *Browser
}

// Main runs the tests of a test binary with one browser for all of them, and closes it after
// them; it returns the exit code for os.Exit. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
//
// The browser starts on the first call of New, so a run whose tests open no tab starts none.
func Main(m *testing.M) int {
	b := &Browser{}
	binaryBrowser.mu.Lock()
	binaryBrowser.b = b
	binaryBrowser.mu.Unlock()

	code := m.Run()

	binaryBrowser.mu.Lock()
	binaryBrowser.b = nil
	binaryBrowser.mu.Unlock()
	if err := b.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}

// New opens a tab for the test in the test binary's browser (see Browser.New). The package's
// TestMain must run the tests with Main; New fails the test otherwise.
func New(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	binaryBrowser.mu.Lock()
	b := binaryBrowser.b
	binaryBrowser.mu.Unlock()
	if b == nil {
		t.Fatal("browsertest: New needs the test binary's browser: call os.Exit(browsertest.Main(m)) in TestMain")
	}
	return b.New(t, opts...)
}

// tailBuffer keeps the last bytes written to it: the browser's output, shown when it fails to
// start.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func newTailBuffer(limit int) *tailBuffer { return &tailBuffer{limit: limit} }

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.limit; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) printf(format string, args ...any) {
	fmt.Fprintf(w, format+"\n", args...)
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
