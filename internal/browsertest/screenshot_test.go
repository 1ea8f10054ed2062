package browsertest

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestSavePNGTakesTheWholePage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := New(t)
	Navigate(t, ctx, s.URL+"/login")
	Fill(t, ctx, Name("user"), siteUser)
	Fill(t, ctx, Name("password"), sitePassword)
	Submit(t, ctx, ID("login"))
	WaitVisible(t, ctx, TestID("welcome"))

	path := filepath.Join(t.TempDir(), "pictures", "live.png")
	SavePNG(t, ctx, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	// The page is 2500 px of space below the lines, taller than the 900 px window.
	if b := img.Bounds(); b.Dx() != viewportWidth || b.Dy() < 2500 {
		t.Errorf("the screenshot is %dx%d, want %d wide and the page's height (over 2500)", b.Dx(), b.Dy(), viewportWidth)
	}
}

// TestScreenshotOnlyWithTheVariable checks that Screenshot writes name.png into the directory
// that LOGSHIPPER_SCREENSHOTS names, and nothing without it.
func TestScreenshotOnlyWithTheVariable(t *testing.T) {
	s := newSite(t)
	ctx := New(t)
	Navigate(t, ctx, s.URL+"/login")

	dir := t.TempDir()
	t.Setenv(ScreenshotsEnv, "")
	Screenshot(t, ctx, "off")
	if _, err := os.Stat(filepath.Join(dir, "off.png")); !os.IsNotExist(err) {
		t.Errorf("a screenshot without %s: %v", ScreenshotsEnv, err)
	}

	t.Setenv(ScreenshotsEnv, dir)
	Screenshot(t, ctx, "login")
	data, err := os.ReadFile(filepath.Join(dir, "login.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Errorf("login.png is not a PNG: %v", err)
	}

	if msg := failure(t, func(tb testing.TB) { Screenshot(tb, ctx, "../escape") }); msg == "" {
		t.Error("a screenshot name with a directory was taken")
	}
}
