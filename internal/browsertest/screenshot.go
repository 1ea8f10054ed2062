package browsertest

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ScreenshotsEnv names the environment variable that turns on Screenshot: the directory that
// the screenshots go to (the pictures of docs/console.md).
const ScreenshotsEnv = "LOGSHIPPER_SCREENSHOTS"

// Screenshot saves a full-page PNG of the tab as name.png in the directory that
// LOGSHIPPER_SCREENSHOTS names, creating it; without the variable it does nothing. name is a
// file name without a directory or an extension, such as "overview".
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		t.Fatalf("browsertest: screenshot name %q: want a file name without a directory", name)
	}
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return
	}
	path := filepath.Join(dir, name+".png")
	SavePNG(t, ctx, path)
	t.Logf("browsertest: screenshot %s", path)
}

// SavePNG saves a PNG of the whole page in the tab to path, creating its directory: as wide
// as the window and as tall as the page, beyond what the window shows.
func SavePNG(t testing.TB, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, fullPagePNG())
	if err != nil {
		failf(t, ctx, "screenshot for %s: %v", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
}

// fullPagePNG captures the page's whole scrollable area, at one device pixel to a CSS pixel.
func fullPagePNG() chromedp.Action[[]byte] {
	return func(ctx context.Context, tgt *chromedp.Target) ([]byte, error) {
		metrics, err := cdp.Call(ctx, tgt, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, fmt.Errorf("reading the page's size: %w", err)
		}
		width, height := float64(viewportWidth), float64(viewportHeight)
		if size := metrics.CSSContentSize; size != nil {
			width = math.Max(width, math.Ceil(size.Width))
			height = math.Max(height, math.Ceil(size.Height))
		}
		beyond := true
		res, err := cdp.Call(ctx, tgt, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  &page.Viewport{Width: width, Height: height, Scale: 1},
			CaptureBeyondViewport: &beyond,
		})
		if err != nil {
			return nil, fmt.Errorf("capturing: %w", err)
		}
		return res.Data, nil
	}
}
