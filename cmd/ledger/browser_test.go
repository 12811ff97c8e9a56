package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the browser: required in CI, else the test is skipped.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is required in CI; .ci/run installs it")
	}
	t.Skip("no chromium on this machine")
	return ""
}

// browse is a fresh headless Chromium, for the length of the test.
func browse(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.UserDataDir(t.TempDir()), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The browser lives as long as the first Run's context: start it now,
	// then bound the test's steps.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// The demo as make run serves it, in a browser: the supervisor's dashboard
// is full of the demo's promises, a commitment shows its timeline, the
// bulletin its rankings. The pictures are the README's (written to
// $LEDGER_SCREENSHOTS when set, e.g. docs/screenshots).
func TestRun_DemoInABrowser(t *testing.T) {
	ctx := browse(t)
	url, stop := start(t, "--data", t.TempDir(), "--demo")
	defer stop()
	dir := os.Getenv("LEDGER_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, t)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name), png, 0o644)
		})
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "demo-supervisor"),
		chromedp.SendKeys(chromedp.ID("password"), "demo-password"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("counties")),
		shot("dashboard.png"),
	)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#counties tbody tr").length`))
	if err != nil {
		t.Fatal(err)
	}
	total, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("total-wan")))
	if err != nil {
		t.Fatal(err)
	}
	if rows != 10 || total == "" || total == "0.00" {
		t.Fatalf("the dashboard: %d counties, %q 万元 owed", rows, total)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/counties/532301?overdue=true"), chromedp.WaitVisible(chromedp.ID("commitments"))); err != nil {
		t.Fatal(err)
	}
	commitment, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#commitments tbody a").getAttribute("href")`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url+commitment), chromedp.WaitVisible(chromedp.ID("timeline")), shot("commitment.png")); err != nil {
		t.Fatal(err)
	}
	timeline, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("timeline")))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/bulletin"), chromedp.WaitVisible(chromedp.CSS("article.bulletin")), shot("bulletin.png")); err != nil {
		t.Fatal(err)
	}
	bulletin, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("article.bulletin")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(timeline, "作出承诺") || !strings.Contains(timeline, "演示数据") {
		t.Fatalf("the timeline:\n%s", timeline)
	}
	if !strings.Contains(bulletin, "各县市区逾期未兑现金额排名") || !strings.Contains(bulletin, "楚雄市") {
		t.Fatalf("the bulletin:\n%s", bulletin)
	}
}
